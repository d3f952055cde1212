/* Managed domains: defaults, copies, comparisons and the md.json form
 * (see md.h). The JSON form is the stock mod_md's, so that a store can move
 * between the two modules in either direction. */
#include <string.h>

#include <apr_cstr.h>
#include <apr_fnmatch.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "md.h"
#include "md_dns.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_util.h"

#define MD_RENEW_WINDOW_DEF_PCT  33
#define MD_WARN_WINDOW_DEF_PCT   10
#define MD_CA_PROTO_DEF          "ACME"

md_t *md_create_empty(apr_pool_t *p)
{
    md_t *md = apr_pcalloc(p, sizeof(*md));

    md->domains = apr_array_make(p, 5, sizeof(const char *));
    md->contacts = apr_array_make(p, 2, sizeof(const char *));
    md->transitive = 1;
    md->ca_proto = MD_CA_PROTO_DEF;
    md->ca_urls = apr_array_make(p, 2, sizeof(const char *));
    md->renew_mode = MD_RENEW_AUTO;
    md->renew_window.is_percent = 1;
    md->renew_window.percent = MD_RENEW_WINDOW_DEF_PCT;
    md->warn_window.is_percent = 1;
    md->warn_window.percent = MD_WARN_WINDOW_DEF_PCT;
    md->require_https = MD_REQUIRE_UNSET;
    md->dns01_version = 1;
    md->state = MD_S_UNKNOWN;
    md->ari_renewals = 1;
    return md;
}

static const char *str_clone(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrdup(p, s) : NULL;
}

static apr_array_header_t *specs_clone(apr_pool_t *p, const apr_array_header_t *specs)
{
    apr_array_header_t *copy;
    int i;

    if (!specs) {
        return NULL;
    }
    copy = apr_array_make(p, specs->nelts > 0 ? specs->nelts : 1, sizeof(md_pkey_spec_t *));
    for (i = 0; i < specs->nelts; ++i) {
        const md_pkey_spec_t *spec = MD_ARR_IDX(specs, i, const md_pkey_spec_t *);
        md_pkey_spec_t *s2 = apr_pmemdup(p, spec, sizeof(*spec));
        s2->curve = str_clone(p, spec->curve);
        APR_ARRAY_PUSH(copy, md_pkey_spec_t *) = s2;
    }
    return copy;
}

md_t *md_clone(apr_pool_t *p, const md_t *src)
{
    md_t *md;

    if (!src) {
        return NULL;
    }
    md = apr_pmemdup(p, src, sizeof(*src));
    md->name = str_clone(p, src->name);
    md->domains = md_array_str_clone(p, src->domains);
    md->contacts = md_array_str_clone(p, src->contacts);
    md->ca_proto = str_clone(p, src->ca_proto);
    md->ca_urls = md_array_str_clone(p, src->ca_urls);
    md->ca_effective = str_clone(p, src->ca_effective);
    md->ca_account = str_clone(p, src->ca_account);
    md->ca_agreement = str_clone(p, src->ca_agreement);
    md->ca_challenges = md_array_str_clone(p, src->ca_challenges);
    md->pkey_specs = specs_clone(p, src->pkey_specs);
    md->dns01_cmd = md_array_str_clone(p, src->dns01_cmd);
    md->acme_tls_1_domains = md_array_str_clone(p, src->acme_tls_1_domains);
    md->ca_eab_kid = str_clone(p, src->ca_eab_kid);
    md->ca_eab_hmac = str_clone(p, src->ca_eab_hmac);
    md->ca_eab_alg = str_clone(p, src->ca_eab_alg);
    md->ca_certs = str_clone(p, src->ca_certs);
    md->http_proxy = str_clone(p, src->http_proxy);
    md->http_proxy_ca_file = str_clone(p, src->http_proxy_ca_file);
    md->profile = str_clone(p, src->profile);
    md->state_descr = str_clone(p, src->state_descr);
    md->cert_files = md_array_str_clone(p, src->cert_files);
    md->pkey_files = md_array_str_clone(p, src->pkey_files);
    md->defn_name = str_clone(p, src->defn_name);
    md->config_problem = str_clone(p, src->config_problem);
    md->config_problem_type = str_clone(p, src->config_problem_type);
    return md;
}

int md_contains(const md_t *md, const char *domain)
{
    int i;

    if (!md || !md->domains || !domain) {
        return 0;
    }
    for (i = 0; i < md->domains->nelts; ++i) {
        if (md_dns_matches(MD_ARR_IDX(md->domains, i, const char *), domain)) {
            return 1;
        }
    }
    return 0;
}

const char *md_common_name(const md_t *md1, const md_t *md2)
{
    int i;

    if (!md1 || !md2 || !md1->domains || !md2->domains) {
        return NULL;
    }
    for (i = 0; i < md1->domains->nelts; ++i) {
        const char *name = MD_ARR_IDX(md1->domains, i, const char *);
        if (md_array_str_index(md2->domains, name, 0, 0) >= 0) {
            return name;
        }
    }
    return NULL;
}

const apr_array_header_t *md_pkey_specs(const md_t *md, apr_pool_t *p)
{
    apr_array_header_t *specs;
    md_pkey_spec_t *spec;

    if (md && md->pkey_specs && md->pkey_specs->nelts > 0) {
        return md->pkey_specs;
    }
    spec = apr_pcalloc(p, sizeof(*spec));
    spec->type = MD_PKEY_TYPE_RSA;
    spec->bits = MD_PKEY_RSA_BITS_DEF;
    specs = apr_array_make(p, 1, sizeof(md_pkey_spec_t *));
    APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = spec;
    return specs;
}

/* --- md.json ------------------------------------------------------------ */

static const char *require_https_str(md_require_t r)
{
    switch (r) {
    case MD_REQUIRE_TEMPORARY:
        return "temporary";
    case MD_REQUIRE_PERMANENT:
        return "permanent";
    default:
        return NULL;
    }
}

static md_require_t require_https_parse(const char *s)
{
    if (!s) {
        return MD_REQUIRE_UNSET;
    }
    if (!apr_cstr_casecmp(s, "temporary")) {
        return MD_REQUIRE_TEMPORARY;
    }
    if (!apr_cstr_casecmp(s, "permanent")) {
        return MD_REQUIRE_PERMANENT;
    }
    if (!apr_cstr_casecmp(s, "off")) {
        return MD_REQUIRE_OFF;
    }
    return MD_REQUIRE_UNSET;
}

static json_t *ca_to_json(const md_t *md)
{
    json_t *ca = json_object();

    if (!ca) {
        return NULL;
    }
    md_json_set_str(ca, MD_KEY_ACCOUNT, md->ca_account);
    md_json_set_str(ca, MD_KEY_PROTO, md->ca_proto);
    md_json_set_str(ca, MD_KEY_URL, md->ca_effective);
    json_object_set_new(ca, MD_KEY_URLS, md_json_from_str_array(md->ca_urls));
    md_json_set_str(ca, MD_KEY_AGREEMENT, md->ca_agreement);
    if (md->ca_challenges && md->ca_challenges->nelts > 0) {
        json_object_set_new(ca, MD_KEY_CHALLENGES, md_json_from_str_array(md->ca_challenges));
    }
    return ca;
}

/* "eab": {"kid"} at the top, where the stock module has it. It keeps the
 * MAC key there too; we do not: md.json is no place for a credential (the
 * configuration has it). */
static void eab_to_json(json_t *j, const md_t *md)
{
    json_t *eab;

    if (!md->ca_eab_kid || !(eab = json_object())) {
        return;
    }
    md_json_set_str(eab, MD_KEY_KID, md->ca_eab_kid);
    json_object_set_new(j, MD_KEY_EAB, eab);
}

/* One spec as an object, several as an array (both forms are read back). */
static json_t *pkeys_to_json(const apr_array_header_t *specs)
{
    json_t *arr;
    int i;

    if (specs->nelts == 1) {
        return md_pkey_spec_to_json(MD_ARR_IDX(specs, 0, const md_pkey_spec_t *));
    }
    arr = json_array();
    for (i = 0; arr && i < specs->nelts; ++i) {
        json_array_append_new(arr,
                              md_pkey_spec_to_json(MD_ARR_IDX(specs, i, const md_pkey_spec_t *)));
    }
    return arr;
}

json_t *md_to_json(const md_t *md, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, json_object());
    json_t *proto;
    const char *req;

    if (!j) {
        return NULL;
    }
    md_json_set_str(j, MD_KEY_NAME, md->name);
    json_object_set_new(j, MD_KEY_DOMAINS, md_json_from_str_array(md->domains));
    json_object_set_new(j, MD_KEY_CONTACTS, md_json_from_str_array(md->contacts));
    json_object_set_new(j, MD_KEY_TRANSITIVE, json_integer(md->transitive));
    json_object_set_new(j, MD_KEY_CA, ca_to_json(md));
    if (md->pkey_specs && md->pkey_specs->nelts > 0) {
        json_object_set_new(j, MD_KEY_PKEY, pkeys_to_json(md->pkey_specs));
    }
    json_object_set_new(j, MD_KEY_STATE, json_integer(md->state));
    md_json_set_str(j, MD_KEY_STATE_DESCR, md->state_descr);
    json_object_set_new(j, MD_KEY_RENEW_MODE, json_integer(md->renew_mode));
    md_json_set_str(j, MD_KEY_RENEW_WINDOW, md_timeslice_format(&md->renew_window, p));
    md_json_set_str(j, MD_KEY_WARN_WINDOW, md_timeslice_format(&md->warn_window, p));
    json_object_set_new(j, MD_KEY_MUST_STAPLE, json_boolean(md->must_staple));
    req = require_https_str(md->require_https);
    md_json_set_str(j, MD_KEY_REQUIRE_HTTPS, req);
    if (md->dns01_cmd && md->dns01_cmd->nelts > 0) {
        md_json_set_str(j, MD_KEY_CMD_DNS01, md_array_str_join(md->dns01_cmd, " ", p));
        json_object_set_new(j, MD_KEY_CMD_DNS01_VERSION, json_integer(md->dns01_version));
    }
    /* The names whose vhosts offer acme-tls/1, as the stock module lists them. */
    proto = json_object();
    if (proto) {
        json_object_set_new(proto, MD_KEY_ACME_TLS_1,
                            md->acme_tls_1_domains ? md_json_from_str_array(md->acme_tls_1_domains)
                                                   : json_array());
    }
    json_object_set_new(j, MD_KEY_PROTO, proto);
    if (md->cert_files && md->cert_files->nelts > 0) {
        json_object_set_new(j, MD_KEY_CERT_FILES, md_json_from_str_array(md->cert_files));
        json_object_set_new(j, MD_KEY_PKEY_FILES, md_json_from_str_array(md->pkey_files));
    }
    json_object_set_new(j, MD_KEY_STAPLING, json_boolean(md->stapling));
    md_json_set_str(j, MD_KEY_PROFILE, md->profile);
    json_object_set_new(j, MD_KEY_PROFILE_MANDATORY, json_boolean(md->profile_mandatory));
    json_object_set_new(j, MD_KEY_ARI_RENEWALS, json_boolean(md->ari_renewals));
    md_json_set_str(j, MD_KEY_PROXY_URL, md->http_proxy);
    md_json_set_str(j, MD_KEY_PROXY_CA_CERTS, md->http_proxy_ca_file);
    md_json_set_str(j, MD_KEY_CA_CERTS, md->ca_certs);
    eab_to_json(j, md);
    return j;
}

/* An MD name becomes a directory name in the store: refuse anything that
 * could leave it or hide there. */
static int name_is_safe(const char *name)
{
    const unsigned char *s;

    if (!*name || name[0] == '.') {
        return 0;
    }
    for (s = (const unsigned char *)name; *s; ++s) {
        if (*s < 0x20 || *s >= 0x7f || *s == '/' || *s == '\\') {
            return 0;
        }
    }
    return 1;
}

static apr_status_t pkeys_from_json(apr_array_header_t **pspecs, const json_t *jp,
                                    apr_pool_t *p)
{
    apr_array_header_t *specs = apr_array_make(p, 2, sizeof(md_pkey_spec_t *));
    md_pkey_spec_t *spec;
    apr_status_t rv;
    json_t *v;
    size_t i;

    *pspecs = NULL;
    if (json_is_object(jp)) {
        if ((rv = md_pkey_spec_from_json(&spec, jp, p)) != APR_SUCCESS) {
            return rv;
        }
        APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = spec;
    }
    else if (json_is_array(jp)) {
        json_array_foreach(jp, i, v) {
            if ((rv = md_pkey_spec_from_json(&spec, v, p)) != APR_SUCCESS) {
                return rv;
            }
            APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = spec;
        }
    }
    else {
        return APR_EINVAL;
    }
    *pspecs = specs;
    return APR_SUCCESS;
}

static void window_from_json(md_timeslice_t *ts, const json_t *j, const char *key,
                             const char *source, apr_pool_t *p)
{
    const char *s = md_json_get_str(j, key);
    md_timeslice_t parsed;
    const char *err;

    if (!s) {
        return;
    }
    if (md_timeslice_parse(&parsed, s, &err, p) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EINVAL, p,
                      "MD06002: %s: %s: %s, using the default", source, key, err);
        return;
    }
    *ts = parsed;
}

/* The EAB of the stock module's md.json (top-level "eab": kid and MAC key)
 * or of our first releases' ("ca"."eab": kid only). */
static void eab_from_json(md_t *md, const json_t *j, apr_pool_t *p)
{
    const json_t *ca = md_json_get_obj(j, MD_KEY_CA);
    const json_t *eab = md_json_get_obj(j, MD_KEY_EAB);

    if (!eab && ca) {
        eab = md_json_get_obj(ca, MD_KEY_EAB);
    }
    if (!eab || !md_json_get_str(eab, MD_KEY_KID)
        || !strcmp(md_json_get_str(eab, MD_KEY_KID), "none")) {
        return;
    }
    md->ca_eab_kid = apr_pstrdup(p, md_json_get_str(eab, MD_KEY_KID));
    md->ca_eab_hmac = str_clone(p, md_json_get_str(eab, MD_KEY_HMAC));
}

static void ca_from_json(md_t *md, const json_t *ca, apr_pool_t *p)
{
    const char *s;

    if (!ca) {
        return;
    }
    md->ca_account = str_clone(p, md_json_get_str(ca, MD_KEY_ACCOUNT));
    if ((s = md_json_get_str(ca, MD_KEY_PROTO))) {
        md->ca_proto = apr_pstrdup(p, s);
    }
    md->ca_effective = str_clone(p, md_json_get_str(ca, MD_KEY_URL));
    md->ca_urls = md_json_get_str_array(ca, MD_KEY_URLS, p);
    if (!md->ca_urls) {
        md->ca_urls = apr_array_make(p, 1, sizeof(const char *));
    }
    /* Older stores know only the one URL in use. */
    if (md->ca_urls->nelts == 0 && md->ca_effective) {
        APR_ARRAY_PUSH(md->ca_urls, const char *) = md->ca_effective;
    }
    md->ca_agreement = str_clone(p, md_json_get_str(ca, MD_KEY_AGREEMENT));
    md->ca_challenges = md_json_get_str_array(ca, MD_KEY_CHALLENGES, p);
}

/* The members an MD cannot be without: a safe "name" and a "domains"
 * array of strings. Logs what is wrong, naming source. */
static apr_status_t names_from_json(const char **pname, apr_array_header_t **pdomains,
                                    const json_t *json, const char *source, apr_pool_t *p)
{
    const char *name = md_json_get_str(json, MD_KEY_NAME);

    if (!name) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD06001: %s: member \"%s\" is missing or not a string", source,
                      MD_KEY_NAME);
        return APR_EINVAL;
    }
    if (!name_is_safe(name)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD06003: %s: \"%s\" is not usable as an MD name", source,
                      md_util_str_printable(p, name, 256));
        return APR_EINVAL;
    }
    *pdomains = md_json_get_str_array(json, MD_KEY_DOMAINS, p);
    if (!*pdomains) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD06004: %s: member \"%s\" is missing or not an array of strings",
                      source, MD_KEY_DOMAINS);
        return APR_EINVAL;
    }
    *pname = name;
    return APR_SUCCESS;
}

/* The optional members, each with its default when missing or out of
 * range (a window that does not parse is logged and left as it was). */
static void options_from_json(md_t *md, const json_t *json, const char *source, apr_pool_t *p)
{
    const json_t *jp;
    long long n;

    n = md_json_get_int(json, MD_KEY_STATE, MD_S_UNKNOWN);
    md->state = (n >= MD_S_UNKNOWN && n <= MD_S_MISSING_INFORMATION) ? (md_state_t)n
                                                                     : MD_S_UNKNOWN;
    md->state_descr = str_clone(p, md_json_get_str(json, MD_KEY_STATE_DESCR));
    n = md_json_get_int(json, MD_KEY_RENEW_MODE, MD_RENEW_AUTO);
    md->renew_mode = (n >= MD_RENEW_DEFAULT && n <= MD_RENEW_ALWAYS) ? (md_renew_mode_t)n
                                                                     : MD_RENEW_AUTO;
    window_from_json(&md->renew_window, json, MD_KEY_RENEW_WINDOW, source, p);
    window_from_json(&md->warn_window, json, MD_KEY_WARN_WINDOW, source, p);
    md->must_staple = md_json_get_bool(json, MD_KEY_MUST_STAPLE, 0);
    md->require_https = require_https_parse(md_json_get_str(json, MD_KEY_REQUIRE_HTTPS));
    md->stapling = md_json_get_bool(json, MD_KEY_STAPLING, 0);
    if ((jp = md_json_get_obj(json, MD_KEY_PROTO)) != NULL) {
        md->acme_tls_1_domains = md_json_get_str_array(jp, MD_KEY_ACME_TLS_1, p);
    }
    md->cert_files = md_json_get_str_array(json, MD_KEY_CERT_FILES, p);
    md->pkey_files = md_json_get_str_array(json, MD_KEY_PKEY_FILES, p);
    md->profile = str_clone(p, md_json_get_str(json, MD_KEY_PROFILE));
    md->profile_mandatory = md_json_get_bool(json, MD_KEY_PROFILE_MANDATORY, 0);
    md->ari_renewals = md_json_get_bool(json, MD_KEY_ARI_RENEWALS, 1);
    md->http_proxy = str_clone(p, md_json_get_str(json, MD_KEY_PROXY_URL));
    md->http_proxy_ca_file = str_clone(p, md_json_get_str(json, MD_KEY_PROXY_CA_CERTS));
    md->ca_certs = str_clone(p, md_json_get_str(json, MD_KEY_CA_CERTS));
    /* Other members ("cmd-dns-01" comes from the config, ...) have no place
     * in md_t and are ignored. */
}

apr_status_t md_from_json(md_t **pmd, const json_t *json, const char *source, apr_pool_t *p)
{
    apr_array_header_t *domains;
    const json_t *jp;
    const char *name;
    md_t *md;
    int i;

    *pmd = NULL;
    if (!source) {
        source = "md.json";
    }
    if (names_from_json(&name, &domains, json, source, p) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    md = md_create_empty(p);
    md->name = apr_pstrdup(p, name);
    for (i = 0; i < domains->nelts; ++i) {
        md_array_str_add_missing(md->domains,
                                 md_util_str_tolower(p, MD_ARR_IDX(domains, i, const char *)));
    }
    if ((md->contacts = md_json_get_str_array(json, MD_KEY_CONTACTS, p)) == NULL) {
        md->contacts = apr_array_make(p, 1, sizeof(const char *));
    }
    md->transitive = (int)md_json_get_int(json, MD_KEY_TRANSITIVE, 1) ? 1 : 0;
    ca_from_json(md, md_json_get_obj(json, MD_KEY_CA), p);
    eab_from_json(md, json, p);

    if ((jp = json_object_get(json, MD_KEY_PKEY)) != NULL
        || (jp = json_object_get(json, MD_KEY_PKEY_OLD)) != NULL) {
        if (pkeys_from_json(&md->pkey_specs, jp, p) != APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                          "MD06005: %s: member \"%s\" is not a valid key specification",
                          source, MD_KEY_PKEY);
            return APR_EINVAL;
        }
    }
    options_from_json(md, json, source, p);
    *pmd = md;
    return APR_SUCCESS;
}

/* --- comparison --------------------------------------------------------- */

static int specs_contain(const apr_array_header_t *a, const md_pkey_spec_t *spec)
{
    int i;

    for (i = 0; i < a->nelts; ++i) {
        if (md_pkey_spec_eq(MD_ARR_IDX(a, i, const md_pkey_spec_t *), spec)) {
            return 1;
        }
    }
    return 0;
}

static int specs_same(const apr_array_header_t *a, const apr_array_header_t *b)
{
    int i;

    if (a->nelts != b->nelts) {
        return 0;
    }
    for (i = 0; i < a->nelts; ++i) {
        if (!specs_contain(b, MD_ARR_IDX(a, i, const md_pkey_spec_t *))
            || !specs_contain(a, MD_ARR_IDX(b, i, const md_pkey_spec_t *))) {
            return 0;
        }
    }
    return 1;
}

static int urls_same(const apr_array_header_t *a, const apr_array_header_t *b)
{
    int na = a ? a->nelts : 0;
    int nb = b ? b->nelts : 0;

    if (na == 0 && nb == 0) {
        return 1;
    }
    return md_array_str_eq(a, b, 1);
}

int md_cert_relevant_changed(const md_t *a, const md_t *b)
{
    apr_pool_t *p;
    int changed;

    if (a == b) {
        return 0;
    }
    if (!a || !b) {
        return 1;
    }
    /* Names are a set: order and case do not change the certificate. */
    if (!md_array_str_contains_all(a->domains, b->domains)
        || !md_array_str_contains_all(b->domains, a->domains)) {
        return 1;
    }
    if (!a->must_staple != !b->must_staple) {
        return 1;
    }
    if (!urls_same(a->ca_urls, b->ca_urls)) {
        return 1;
    }
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return 1;
    }
    changed = !specs_same(md_pkey_specs(a, p), md_pkey_specs(b, p));
    apr_pool_destroy(p);
    return changed;
}

/* --- which MD a host name belongs to ------------------------------------ */

struct md_name_index_t {
    apr_pool_t *p;
    apr_hash_t *names;      /* lower case name -> md_t*; wildcards as "*.rest" */
    apr_hash_t *parents;    /* "rest" of a plain name "x.rest" -> apr_array of md_t* */
};

md_name_index_t *md_name_index_make(apr_pool_t *p)
{
    md_name_index_t *ix = apr_pcalloc(p, sizeof(*ix));

    ix->p = p;
    ix->names = apr_hash_make(p);
    ix->parents = apr_hash_make(p);
    return ix;
}

/* What follows the first label of name, or NULL for a single label. */
static const char *parent_of(const char *name)
{
    const char *dot = strchr(name, '.');

    return (dot && dot[1]) ? dot + 1 : NULL;
}

static md_t *other_under(const md_name_index_t *ix, const char *parent, const md_t *md)
{
    const apr_array_header_t *mds = apr_hash_get(ix->parents, parent, APR_HASH_KEY_STRING);
    int i;

    for (i = 0; mds && i < mds->nelts; ++i) {
        md_t *other = MD_ARR_IDX(mds, i, md_t *);
        if (other != md) {
            return other;
        }
    }
    return NULL;
}

static void add_under(md_name_index_t *ix, const char *parent, md_t *md)
{
    apr_array_header_t *mds = apr_hash_get(ix->parents, parent, APR_HASH_KEY_STRING);
    int i;

    if (!mds) {
        mds = apr_array_make(ix->p, 2, sizeof(md_t *));
        apr_hash_set(ix->parents, parent, APR_HASH_KEY_STRING, mds);
    }
    for (i = 0; i < mds->nelts; ++i) {
        if (MD_ARR_IDX(mds, i, md_t *) == md) {
            return;
        }
    }
    APR_ARRAY_PUSH(mds, md_t *) = md;
}

md_t *md_name_index_add(md_name_index_t *ix, md_t *md, const char **pname)
{
    int i;

    for (i = 0; i < md->domains->nelts; ++i) {
        const char *name = md_util_str_tolower(ix->p, MD_ARR_IDX(md->domains, i, const char *));
        const char *parent = parent_of(name);
        md_t *other = apr_hash_get(ix->names, name, APR_HASH_KEY_STRING);

        if (!other && parent) {
            if (md_dns_is_wildcard(name)) {
                /* A plain name of another MD under this wildcard. */
                other = other_under(ix, parent, md);
            }
            else {
                /* A wildcard of another MD over this name. */
                other = apr_hash_get(ix->names, apr_pstrcat(ix->p, "*.", parent, NULL),
                                     APR_HASH_KEY_STRING);
                other = (other == md) ? NULL : other;
            }
        }
        if (other && other != md) {
            if (pname) {
                *pname = MD_ARR_IDX(md->domains, i, const char *);
            }
            return other;
        }
        apr_hash_set(ix->names, name, APR_HASH_KEY_STRING, md);
        if (parent && !md_dns_is_wildcard(name)) {
            add_under(ix, parent, md);
        }
    }
    return NULL;
}

md_t *md_name_index_find(const md_name_index_t *ix, const char *name, apr_pool_t *p)
{
    apr_size_t len;
    const char *parent;
    md_t *md;

    if (!name || !*name) {
        return NULL;
    }
    len = strlen(name);
    if (len > 2 && name[0] == '[' && name[len - 1] == ']') {
        name = apr_pstrndup(p, name + 1, len - 2);
    }
    name = md_util_str_tolower(p, name);
    if ((md = apr_hash_get(ix->names, name, APR_HASH_KEY_STRING)) != NULL) {
        return md;
    }
    if (md_dns_is_wildcard(name) || !(parent = parent_of(name))) {
        return NULL;
    }
    return apr_hash_get(ix->names, apr_pstrcat(p, "*.", parent, NULL), APR_HASH_KEY_STRING);
}

/* The MD with a name that pattern (a ServerAlias with '*' or '?') matches. */
static md_t *find_by_pattern(const md_name_index_t *ix, const char *pattern, apr_pool_t *p)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, ix->names); hi; hi = apr_hash_next(hi)) {
        const void *name;
        void *md;

        apr_hash_this(hi, &name, NULL, &md);
        if (apr_fnmatch(pattern, name, APR_FNM_CASE_BLIND) == APR_SUCCESS) {
            return md;
        }
    }
    return NULL;
}

/* found: the MD so far; md: one more the host matches. */
static md_t *host_matched(md_t *found, md_t *md, md_t **pother)
{
    if (md && found && md != found && !*pother) {
        *pother = md;
    }
    return found ? found : md;
}

md_t *md_name_index_match_host(const md_name_index_t *ix, const char *server_name,
                               const apr_array_header_t *aliases,
                               const apr_array_header_t *wild_aliases, md_match_names_t mode,
                               md_t **pother, apr_pool_t *p)
{
    md_t *found = md_name_index_find(ix, server_name, p);
    int i;

    *pother = NULL;
    if (mode == MD_MATCH_SERVERNAMES) {
        return found;
    }
    for (i = 0; aliases && i < aliases->nelts; ++i) {
        const char *alias = MD_ARR_IDX(aliases, i, const char *);
        md_t *md = apr_hash_get(ix->names, md_util_str_tolower(p, alias), APR_HASH_KEY_STRING);

        if (!md && alias[0] == '[') {
            /* an IPv6 address in brackets */
            md = md_name_index_find(ix, alias, p);
        }
        found = host_matched(found, md, pother);
    }
    for (i = 0; wild_aliases && i < wild_aliases->nelts; ++i) {
        found = host_matched(found, find_by_pattern(ix, MD_ARR_IDX(wild_aliases, i,
                                                                   const char *), p),
                             pother);
    }
    return found;
}
