/* The structural MD directives (see mod_md_config.h): MDomain, the
 * <MDomainSet>/<MDomain> sections, MDMember(s), MDCertificateFile and
 * MDCertificateKeyFile; the names of an MD; the checks across MDs.
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

#include "md.h"
#include "md_dns.h"
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
