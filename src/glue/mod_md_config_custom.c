/* The MD directives that need code of their own (see mod_md_config.h):
 * MDomain, the <MDomainSet>/<MDomain> sections, MDMember(s),
 * MDCertificateFile and MDCertificateKeyFile, MDPrivateKeys,
 * MDExternalAccountBinding and MDPortMap; the names of an MD; the checks
 * across MDs. Every other directive is a row of the table in
 * mod_md_config.c.
 *
 * Names are taken as the stock module takes them: any word is accepted.
 * One the CA will refuse ("invalid!.example.org") starts the server with a
 * warning and keeps its MD from being renewed (md->config_problem); only a
 * name that cannot be a directory name in the store (it would leave its
 * directory there) stops the start.
 */
#include <string.h>

#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <util_cfgtree.h>

#include "md.h"
#include "md_conf.h"
#include "md_crypt.h"
#include "md_dns.h"
#include "md_json.h"
#include "md_jws.h"
#include "md_keys.h"
#include "md_util.h"
#include "mod_md_config.h"
#include "mod_md_config_int.h"

/* What the CA says of a name it will not issue for (RFC 8555 §6.7); md-status
 * shows it as the problem of such an MD. */
#define PROBLEM_REJECTED_IDENTIFIER "urn:ietf:params:acme:error:rejectedIdentifier"

static int is_word(const char *s, const char *word)
{
    return !ap_cstr_casecmp(s, word);
}

static int is_members_word(const char *word)
{
    return is_word(word, "auto") || is_word(word, "manual");
}

/* --- names ------------------------------------------------------------------ */

/* Why name cannot be a directory name in the store (MDs and http-01
 * challenges are kept under their names), or NULL. md_from_json refuses
 * the same names when it reads md.json back. */
static const char *unsafe_name(const char *name)
{
    const unsigned char *c;

    if (!*name) {
        return "it is empty";
    }
    if (name[0] == '.') {
        return "it starts with a dot";
    }
    for (c = (const unsigned char *)name; *c; ++c) {
        if (*c == '/' || *c == '\\') {
            return "it contains a slash";
        }
        if (*c < 0x20 || *c == 0x7f) {
            return "it contains a control character";
        }
        if (*c >= 0x80) {
            return "it has non-ASCII characters (use the punycode \"xn--\" form)";
        }
    }
    return NULL;
}

/* Add a name, lower case, to md. A name the CA will refuse is kept (as the
 * stock module does) and recorded as the MD's problem in set. */
static const char *add_name(cmd_parms *cmd, md_t *md, mod_md_settings_t *set,
                            const char *word)
{
    apr_size_t len = strlen(word);
    const char *shown = md_util_str_printable(cmd->pool, word, 100);
    const char *reason = NULL;
    const char *name = word;
    const char *why;

    /* An IPv6 address as a ServerAlias writes it. */
    if (len > 2 && word[0] == '[' && word[len - 1] == ']') {
        name = apr_pstrmemdup(cmd->pool, word + 1, len - 2);
    }
    if ((why = unsafe_name(name))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" cannot be the name of an MD: %s",
                            mod_md_config_dname(cmd), shown, why);
    }
    name = md_util_str_tolower(cmd->pool, name);
    if (md_array_str_index(md->domains, name, 0, 0) >= 0) {
        mod_md_config_warn(cmd, "%s: \"%s\" is listed twice in MDomain %s, once is enough",
                           mod_md_config_dname(cmd), shown, md->name);
        return NULL;
    }
    if (!md_dns_is_ip(name) && !md_dns_is_name(name, 1, 1, &reason)) {
        mod_md_config_warn(cmd, "%s \"%s\": not a valid domain name (%s), the CA will "
                           "refuse it; MDomain %s is not renewed until it is fixed",
                           mod_md_config_dname(cmd), shown, reason, md->name ? md->name : name);
        mod_md_config_add_problem(cmd->pool, set, PROBLEM_REJECTED_IDENTIFIER,
                                  apr_psprintf(cmd->pool, "%s \"%s\" (%s:%d): not a valid "
                                               "domain name (%s), the CA will refuse it",
                                               mod_md_config_dname(cmd), shown,
                                               cmd->directive->filename,
                                               cmd->directive->line_num, reason));
    }
    else if (!md_dns_is_ip(name) && !strchr(name, '.')) {
        mod_md_config_warn(cmd, "%s \"%s\": a name of one label, public CAs refuse it%s",
                           mod_md_config_dname(cmd), shown,
                           (is_word(name, "always") || is_word(name, "manual"))
                           ? " (the renew mode is set with MDRenewMode)" : "");
    }
    APR_ARRAY_PUSH(md->domains, const char *) = name;
    if (!md->name) {
        md->name = name;
    }
    return NULL;
}

/* An MD from the names (and auto|manual) of MDomain or a section. */
static const char *md_define(cmd_parms *cmd, int argc, char *const argv[], md_t **pmd,
                             mod_md_settings_t **pset)
{
    mod_md_global_t *g = mod_md_config_global(cmd);
    mod_md_settings_t *set = mod_md_config_settings_make(cmd->pool);
    const char *err;
    md_t *md;
    int i;

    md = md_create_empty(cmd->pool);
    md->name = NULL;
    md->domains = apr_array_make(cmd->pool, argc > 0 ? argc : 1, sizeof(const char *));
    md->defn_name = cmd->directive->filename;
    md->defn_line_number = (unsigned)(cmd->directive->line_num > 0
                                      ? cmd->directive->line_num : 0);
    for (i = 0; i < argc; ++i) {
        err = is_members_word(argv[i])
              ? mod_md_config_set(cmd, &mod_md_row_members, set, 1, argv + i)
              : add_name(cmd, md, set, argv[i]);
        if (err) {
            return err;
        }
    }
    if (md->domains->nelts == 0) {
        return apr_psprintf(cmd->pool, "%s: needs at least one domain name",
                            mod_md_config_dname(cmd));
    }
    APR_ARRAY_PUSH(g->mds, md_t *) = md;
    APR_ARRAY_PUSH(g->md_settings, mod_md_settings_t *) = set;
    *pmd = md;
    *pset = set;
    return NULL;
}

/* --- MDomain, sections, MDMember(s) ------------------------------------------ */

/* As the stock module: also inside <VirtualHost>, where it defines the same
 * MD as outside (configs put it next to the vhost it serves). */
const char *mod_md_config_set_mdomain(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    mod_md_global_t *g = mod_md_config_global(cmd);
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if (g->current) {
        return apr_psprintf(cmd->pool, "MDomain is not allowed inside <MDomainSet %s>; add "
                            "names to it with MDMember", g->current->name);
    }
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE))) {
        return err;
    }
    return md_define(cmd, argc, argv, &md, &set);
}

/* <MDomainSet names...> / <MDomain names...>: define the MD, then read the
 * directives inside with it as the current MD. In the server config or a
 * <VirtualHost> (where the stock module takes it too). */
const char *mod_md_config_set_section(cmd_parms *cmd, void *dc, const char *arg)
{
    mod_md_global_t *g = mod_md_config_global(cmd);
    apr_array_header_t *words;
    mod_md_settings_t *set;
    const char *endp;
    const char *args;
    const char *err;
    md_t *md;

    (void)dc;
    if (g->current) {
        return apr_psprintf(cmd->pool, "%s is not allowed inside <MDomainSet %s>: sections "
                            "cannot be nested", mod_md_config_dname(cmd), g->current->name);
    }
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE))) {
        return err;
    }
    endp = ap_strrchr_c(arg, '>');
    if (!endp) {
        return apr_psprintf(cmd->pool, "%s: missing closing '>'", mod_md_config_dname(cmd));
    }
    args = apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(endp - arg));
    words = apr_array_make(cmd->pool, 5, sizeof(const char *));
    while (*args) {
        const char *w = ap_getword_conf(cmd->pool, &args);
        if (*w) {
            APR_ARRAY_PUSH(words, const char *) = w;
        }
    }
    if ((err = md_define(cmd, words->nelts, (char *const *)words->elts, &md, &set))) {
        return err;
    }
    g->current = md;
    g->current_settings = set;
    err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
    g->current = NULL;
    g->current_settings = NULL;
    return err;
}

/* Inside a section: names of the MD, and auto|manual. Elsewhere only
 * auto|manual, the default of all MDs (as the stock module). */
const char *mod_md_config_set_members(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    mod_md_global_t *g = mod_md_config_global(cmd);
    const char *err;
    int i;

    if (mod_md_config_ctx(cmd) != CTX_SECTION) {
        if (argc != 1 || !is_members_word(argv[0])) {
            return apr_psprintf(cmd->pool, "%s: \"%s\": names can only be added inside an "
                                "<MDomainSet> or <MDomain> section; outside one, only auto "
                                "or manual are accepted", mod_md_config_dname(cmd),
                                argc > 0 ? argv[0] : "");
        }
        return mod_md_config_set_directive(cmd, dc, argc, argv);
    }
    if (argc == 0) {
        return apr_psprintf(cmd->pool, "%s: needs domain names, or auto or manual",
                            mod_md_config_dname(cmd));
    }
    for (i = 0; i < argc; ++i) {
        err = is_members_word(argv[i])
              ? mod_md_config_set(cmd, &mod_md_row_members, g->current_settings, 1, argv + i)
              : add_name(cmd, g->current, g->current_settings, argv[i]);
        if (err) {
            return err;
        }
    }
    return NULL;
}

/* --- static certificates --------------------------------------------------------- */

/* MDCertificateFile / MDCertificateKeyFile: inside an MD section only; the
 * n-th key file belongs to the n-th certificate file. The stock module
 * refuses to start when such a file is missing (mod_ssl cannot load it)
 * or the two do not pair up: here `apache2 -t` says so already. */
static const char *add_md_file(cmd_parms *cmd, const char *value, int is_key)
{
    mod_md_global_t *g = mod_md_config_global(cmd);
    apr_array_header_t **pfiles;
    apr_finfo_t finfo;
    const char *path;

    if (mod_md_config_ctx(cmd) != CTX_SECTION) {
        return apr_psprintf(cmd->pool, "%s is only allowed inside an <MDomainSet> or "
                            "<MDomain> section", mod_md_config_dname(cmd));
    }
    if (!*value || !(path = ap_server_root_relative(cmd->pool, value))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a valid path",
                            mod_md_config_dname(cmd), value);
    }
    if (apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: file \"%s\" does not exist",
                            mod_md_config_dname(cmd), path);
    }
    if (finfo.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a file", mod_md_config_dname(cmd),
                            path);
    }
    pfiles = is_key ? &g->current->pkey_files : &g->current->cert_files;
    if (!*pfiles) {
        *pfiles = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(*pfiles, const char *) = path;
    return NULL;
}

const char *mod_md_config_set_cert_file(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return add_md_file(cmd, value, 0);
}

const char *mod_md_config_set_key_file(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return add_md_file(cmd, value, 1);
}

/* --- MDPrivateKeys, MDExternalAccountBinding, MDPortMap ----------------------------- */

/* RSA bits given with a key type ("RSA 4096", "rsa4096"), or 0. */
static apr_int64_t rsa_bits_of(const char *word, const char *next)
{
    if (is_word(word, "RSA") && next && apr_isdigit(*next)) {
        return apr_atoi64(next);
    }
    if (!ap_cstr_casecmpn(word, "rsa", 3) && apr_isdigit(word[3])) {
        return apr_atoi64(word + 3);
    }
    return 0;
}

const char *mod_md_config_parse_pkeys(mod_md_parse_t *x, void *base, int argc,
                                      char *const argv[])
{
    apr_array_header_t *specs = apr_array_make(x->p, argc, sizeof(md_pkey_spec_t *));
    int i;

    if (is_word(argv[0], "Default")) {
        if (argc > 1) {
            return "\"Default\" takes no other key types";
        }
        /* empty: md.h's default, RSA 2048 */
        *FIELD(base, x->row->off, apr_array_header_t *) = specs;
        return NULL;
    }
    for (i = 0; i < argc; ++i) {
        const char *word = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        apr_int64_t bits = rsa_bits_of(word, next);
        md_pkey_spec_t *spec = NULL;
        const char *perr = NULL;
        int used = 0;
        int k;

        if (bits > 0 && bits < MD_PKEY_RSA_BITS_MIN) {
            /* Refused by the stock module too. */
            return apr_psprintf(x->p, "RSA key size %" APR_INT64_T_FMT " is too small: it "
                                "must be %d or more bits to be considered safe", bits,
                                MD_PKEY_RSA_BITS_MIN);
        }
        if (md_pkey_spec_parse(&spec, word, next, &used, &perr, x->p) != APR_SUCCESS
            || !spec) {
            /* The stock module takes any word as the name of a curve. */
            int with_bits = is_word(word, "RSA") && next && apr_isdigit(*next);

            mod_md_config_value_problem(x, NULL,
                                        apr_psprintf(x->p, "%s%s%s: not a key type this "
                                                     "module can generate (%s)", word,
                                                     with_bits ? " " : "",
                                                     with_bits ? next : "",
                                                     perr ? perr : "unknown"));
            i += with_bits;
            continue;
        }
        for (k = 0; spec && k < specs->nelts; ++k) {
            const md_pkey_spec_t *other = MD_ARR_IDX(specs, k, md_pkey_spec_t *);
            if (strcmp(md_pkey_spec_name(other), md_pkey_spec_name(spec))) {
                continue;
            }
            if (spec->type == MD_PKEY_TYPE_RSA) {
                return "two keys of type RSA are not possible";
            }
            mod_md_config_value_warn(x, "%s is the same key type as one before it, it is "
                                     "ignored", word);
            spec = NULL;
        }
        if (spec) {
            APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = spec;
        }
        if (used) {
            ++i;
        }
    }
    *FIELD(base, x->row->off, apr_array_header_t *) = specs;
    return NULL;
}

/* kid and MAC key as the CA issues them; the key is checked, never shown. */
static const char *eab_check(mod_md_parse_t *x, const md_conf_eab_t *eab, const char *where)
{
    unsigned char *key;
    apr_size_t len;
    const char *c;

    if (!eab->kid || !*eab->kid) {
        return apr_psprintf(x->p, "the key id is empty%s", where);
    }
    x->shown = md_util_str_printable(x->p, eab->kid, 100);
    for (c = eab->kid; *c; ++c) {
        if (apr_iscntrl(*c) || apr_isspace(*c)) {
            return apr_psprintf(x->p, "the key id has spaces or control characters%s", where);
        }
    }
    if (eab->alg && !md_jws_hmac_digest(eab->alg)) {
        return apr_psprintf(x->p, "\"%s\" is not one of HS256, HS384, HS512%s", eab->alg,
                            where);
    }
    if (!eab->hmac || md_util_base64any_decode(&key, &len, eab->hmac, x->p) != APR_SUCCESS
        || len == 0) {
        /* The stock module starts and fails when it signs. */
        mod_md_config_value_problem(x, NULL,
                                    apr_psprintf(x->p, "the MAC key for key id %s is not "
                                                 "valid base64url%s", x->shown, where));
        return NULL;
    }
    md_crypt_cleanse_on_clear(x->p, key, len);
    return NULL;
}

/* The file form (md_conf_eab_file_read), relative to the ServerRoot. */
static const char *eab_from_file(mod_md_parse_t *x, md_conf_eab_t *eab, const char *value)
{
    const char *path = ap_server_root_relative(x->p, value);
    const char *perr = NULL;
    apr_status_t rv;

    rv = path ? md_conf_eab_file_read(eab, path, &perr, x->p) : APR_ENOENT;
    if (APR_STATUS_IS_ENOENT(rv)) {
        return apr_psprintf(x->p, "\"%s\" is neither \"none\", a key id with a MAC key, nor "
                            "a JSON file", value);
    }
    if (rv != APR_SUCCESS) {
        return perr;
    }
    return eab_check(x, eab, apr_psprintf(x->p, " (in %s)", path));
}

const char *mod_md_config_parse_eab(mod_md_parse_t *x, void *base, int argc,
                                    char *const argv[])
{
    const md_conf_eab_t **peab = FIELD(base, x->row->off, const md_conf_eab_t *);
    md_conf_eab_t *eab = apr_pcalloc(x->p, sizeof(*eab));
    const char *err;

    /* Never quote the MAC key. */
    x->shown = md_util_str_printable(x->p, argv[0], 100);
    if (argc == 1) {
        if (is_word(argv[0], "none")) {
            *peab = NULL;
            return NULL;
        }
        err = eab_from_file(x, eab, argv[0]);
    }
    else {
        eab->kid = argv[0];
        eab->hmac = argv[1];
        eab->alg = argc > 2 ? argv[2] : NULL;
        err = eab_check(x, eab, "");
    }
    if (!err) {
        *peab = eab;
    }
    return err;
}

/* One "EXT:LOCAL" of MDPortMap as the stock module reads it: EXT http,
 * https, 80 or 443; LOCAL a port, or "-..." for not reachable. */
static const char *port_map_one(mod_md_parse_t *x, mod_md_global_t *g, const char *value,
                                int *pseen)
{
    const char *colon = strchr(value, ':');
    const char *ext;
    const char *local;
    apr_int64_t n;
    int trailing;
    int saturated;
    int *pport;
    int bit;

    if (!colon) {
        return apr_psprintf(x->p, "\"%s\" is not of the form http:PORT or https:PORT "
                            "(PORT 1..65535 or -)", value);
    }
    ext = apr_pstrmemdup(x->p, value, (apr_size_t)(colon - value));
    local = colon + 1;
    if (is_word(ext, "http")
        || (md_conf_int_parse(&n, &trailing, &saturated, ext) == APR_SUCCESS && n == 80)) {
        pport = &g->local_http_port;
        bit = 1;
    }
    else if (is_word(ext, "https")
             || (md_conf_int_parse(&n, &trailing, &saturated, ext) == APR_SUCCESS
                 && n == 443)) {
        pport = &g->local_https_port;
        bit = 2;
    }
    else {
        return apr_psprintf(x->p, "\"%s\" maps \"%s\"; only http (80) and https (443) can "
                            "be mapped", value, ext);
    }
    if (*pseen & bit) {
        mod_md_config_value_warn(x, "%s is mapped twice, the later one wins", ext);
    }
    *pseen |= bit;
    if (local[0] == '-') {
        *pport = 0;
        return NULL;
    }
    if (md_conf_int_parse(&n, &trailing, &saturated, local) != APR_SUCCESS || n < 1
        || n > 65535) {
        return apr_psprintf(x->p, "\"%s\": port \"%s\" is not a number in 1..65535 or -",
                            value, local);
    }
    if (trailing) {
        mod_md_config_value_warn(x, "port %s taken as %" APR_INT64_T_FMT, local, n);
    }
    *pport = (int)n;
    return NULL;
}

const char *mod_md_config_parse_port_map(mod_md_parse_t *x, void *base, int argc,
                                         char *const argv[])
{
    const char *err;
    int seen = 0;
    int i;

    for (i = 0; i < argc; ++i) {
        if ((err = port_map_one(x, base, argv[i], &seen))) {
            return err;
        }
    }
    return NULL;
}

/* --- across MDs -------------------------------------------------------------------- */

static const char *md_where(apr_pool_t *p, const md_t *md)
{
    return apr_psprintf(p, "MDomain %s at %s:%u", md->name,
                        md->defn_name ? md->defn_name : "(unknown)", md->defn_line_number);
}

const char *mod_md_config_check_overlaps(apr_pool_t *p, const apr_array_header_t *mds)
{
    md_name_index_t *ix = md_name_index_make(p);
    int i;

    for (i = 0; i < mds->nelts; ++i) {
        md_t *md = MD_ARR_IDX(mds, i, md_t *);
        const char *name = NULL;
        const md_t *other = md_name_index_add(ix, md, &name);

        if (other) {
            return apr_psprintf(p, "%s and %s both contain %s%s", md_where(p, other),
                                md_where(p, md), name,
                                md_dns_is_wildcard(name) ? " or names it covers" : "");
        }
    }
    return NULL;
}

const char *mod_md_config_check_mds(apr_pool_t *p, const mod_md_global_t *g)
{
    int i;

    for (i = 0; i < g->mds->nelts; ++i) {
        const md_t *md = MD_ARR_IDX(g->mds, i, const md_t *);
        int ncerts = md->cert_files ? md->cert_files->nelts : 0;
        int nkeys = md->pkey_files ? md->pkey_files->nelts : 0;

        if (ncerts != nkeys) {
            return apr_psprintf(p, "%s has %d MDCertificateFile and %d MDCertificateKeyFile; "
                                "each certificate file needs the key file after it",
                                md_where(p, md), ncerts, nkeys);
        }
    }
    return mod_md_config_check_overlaps(p, g->mds);
}

/* --- which virtual hosts have SSL ---------------------------------------------------- */

/* "SSLEngine on" (or "optional"). */
static int engine_on(const ap_directive_t *d)
{
    return !ap_cstr_casecmp(d->directive, "SSLEngine") && d->args
           && (!ap_cstr_casecmpn(d->args, "on", 2) || !ap_cstr_casecmpn(d->args, "optional", 8));
}

static int engine_off(const ap_directive_t *d)
{
    return !ap_cstr_casecmp(d->directive, "SSLEngine") && d->args
           && !ap_cstr_casecmpn(d->args, "off", 3);
}

static const char *vhost_key(apr_pool_t *p, const char *file, int line)
{
    return apr_psprintf(p, "%s:%d", file ? file : "", line);
}

static int cert_file(const ap_directive_t *d)
{
    return !ap_cstr_casecmp(d->directive, "SSLCertificateFile");
}

/* mod_ssl keeps whether a vhost has SSL to itself, and tells only in its
 * post_config, after ours: read it from the configuration tree (Include
 * and <IfModule> are expanded there). A vhost without SSLEngine gets the
 * server config's, as mod_ssl merges it; so does one without
 * SSLCertificateFile ("cert": SSL with certificate files of the admin's,
 * mod_ssl will not want a fallback for it). */
void mod_md_config_find_ssl_vhosts(mod_md_global_t *g, apr_pool_t *p)
{
    const ap_directive_t *d;
    const ap_directive_t *c;
    int global_on = 0;
    int global_cert = 0;

    g->ssl_vhosts = apr_hash_make(p);
    for (d = ap_conftree; d; d = d->next) {
        global_on = engine_on(d) ? 1 : (engine_off(d) ? 0 : global_on);
        global_cert = global_cert || cert_file(d);
    }
    for (d = ap_conftree; d; d = d->next) {
        int on = global_on;
        int cert = global_cert;

        if (ap_cstr_casecmp(d->directive, "<VirtualHost")) {
            continue;
        }
        for (c = d->first_child; c; c = c->next) {
            on = engine_on(c) ? 1 : (engine_off(c) ? 0 : on);
            cert = cert || cert_file(c);
        }
        apr_hash_set(g->ssl_vhosts, vhost_key(p, d->filename, d->line_num),
                     APR_HASH_KEY_STRING, !on ? "off" : (cert ? "cert" : "on"));
    }
}

static const char *vhost_ssl(const server_rec *s)
{
    const mod_md_global_t *g = mod_md_config_get(s)->global;
    apr_pool_t *p = g->ssl_vhosts ? apr_hash_pool_get(g->ssl_vhosts) : NULL;

    if (!p) {
        return NULL;
    }
    return apr_hash_get(g->ssl_vhosts, vhost_key(p, s->defn_name, (int)s->defn_line_number),
                        APR_HASH_KEY_STRING);
}

int mod_md_config_server_has_ssl(const server_rec *s)
{
    const char *on = vhost_ssl(s);

    return on && (!strcmp(on, "on") || !strcmp(on, "cert"));
}

int mod_md_config_server_has_cert_file(const server_rec *s)
{
    const char *on = vhost_ssl(s);

    return on && !strcmp(on, "cert");
}
