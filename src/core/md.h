/* A managed domain (MD): a set of names that share one certificate (per key
 * type), and everything configured about getting and renewing it.
 *
 * md_t values from the configuration are read-only after post_config; the
 * store keeps a copy as domains/<name>/md.json (format of the stock mod_md).
 */
#ifndef md_h
#define md_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "md_time.h"
#include "md_crypt.h"

/* md.json member (inside "proto") listing the names whose virtual hosts
 * offer the acme-tls/1 protocol (tls-alpn-01), as the stock module does. */
#define MD_KEY_ACME_TLS_1 "acme-tls/1"

/* Challenge type names (RFC 8555 §8.3, §8.4; RFC 8737). */
#define MD_CHAL_HTTP01      "http-01"
#define MD_CHAL_TLSALPN01   "tls-alpn-01"
#define MD_CHAL_DNS01       "dns-01"
/* The ALPN protocol id of tls-alpn-01 (RFC 8737 §6.2). */
#define MD_PROTO_ACME_TLS_1 "acme-tls/1"

/* Values as the stock module writes them into md.json ("renew-mode"). */
typedef enum {
    MD_RENEW_DEFAULT = -1,  /* unset in this config scope */
    MD_RENEW_MANUAL = 0,
    MD_RENEW_AUTO = 1,
    MD_RENEW_ALWAYS = 2,
} md_renew_mode_t;

/* Values as the stock module writes them into md.json ("state"). */
typedef enum {
    MD_S_UNKNOWN = 0,       /* not yet checked */
    MD_S_INCOMPLETE = 1,    /* certificate missing or not covering all names */
    MD_S_COMPLETE = 2,      /* valid certificate for all names and key types */
    MD_S_EXPIRED = 3,       /* certificate present but expired */
    MD_S_ERROR = 4,         /* unusable, see state_descr */
    MD_S_MISSING_INFORMATION = 5, /* config lacks something needed (e.g. agreement) */
} md_state_t;

/* require-https */
typedef enum {
    MD_REQUIRE_UNSET = -1,
    MD_REQUIRE_OFF = 0,
    MD_REQUIRE_TEMPORARY = 1,
    MD_REQUIRE_PERMANENT = 2,
} md_require_t;

typedef struct md_t {
    const char *name;                 /* unique, the first domain unless set */
    apr_array_header_t *domains;      /* const char*, lower case, unique */
    apr_array_header_t *contacts;     /* const char*, "mailto:..." */
    int transitive;                   /* add ServerAlias names of vhosts (1 default) */

    const char *ca_proto;             /* "ACME" */
    apr_array_header_t *ca_urls;      /* const char*, ACME directory URLs (>= 1) */
    const char *ca_effective;         /* the URL in use ("url" in md.json), may be NULL */
    const char *ca_account;           /* store name of the account in use, or NULL */
    const char *ca_agreement;         /* "accepted" or a ToS URL, or NULL */
    apr_array_header_t *ca_challenges;/* const char*, preferred challenge types, or NULL */

    md_renew_mode_t renew_mode;
    md_timeslice_t renew_window;
    md_timeslice_t warn_window;
    apr_array_header_t *pkey_specs;   /* md_pkey_spec_t*, NULL or empty: default RSA 2048 */
    int must_staple;
    md_require_t require_https;
    int stapling;

    apr_array_header_t *dns01_cmd;    /* const char*: MDChallengeDns01 program and its
                                       * arguments, or NULL */
    int dns01_version;                /* MDChallengeDns01Version: 1 or 2 */
    apr_array_header_t *acme_tls_1_domains; /* const char*: names whose vhosts offer
                                       * acme-tls/1 (set by the glue at start) */
    /* External account binding (MDExternalAccountBinding), RFC 8555 §7.3.4:
     * all NULL for none. The MAC key is never logged or written to md.json. */
    const char *ca_eab_kid;
    const char *ca_eab_hmac;          /* base64url MAC key as configured */
    const char *ca_eab_alg;           /* "HS256", "HS384", "HS512"; NULL: HS256 */
    const char *ca_certs;             /* MDCACertificateFile: PEM to verify the CA's TLS
                                       * ("ca-certs" in md.json), or NULL */
    const char *http_proxy;           /* MDHttpProxy URL for all CA traffic, or NULL */
    const char *http_proxy_ca_file;   /* MDHttpProxyCACertificateFile, or NULL */
    const char *profile;              /* MDProfile (ACME profiles draft), or NULL */
    int profile_mandatory;            /* MDProfileMandatory: fail if not offered */
    int ari_renewals;                 /* MDRenewViaARI (RFC 9773), 1 by default */

    md_state_t state;
    const char *state_descr;          /* why the state, or NULL */

    /* MDCertificateFile / MDCertificateKeyFile: certificates the admin
     * provides instead of the CA (absolute paths, same count, pairwise);
     * NULL or empty for a normal MD. md.json "cert-files"/"pkey-files". */
    apr_array_header_t *cert_files;
    apr_array_header_t *pkey_files;

    /* From the configuration only, never stored: */
    int renew_window_set;             /* MDRenewWindow applies (else the default window,
                                       * and short-lived certificates renew at half
                                       * their lifetime: md_sched_cert_renew_at) */
    const char *defn_name;            /* config file the MD was defined in */
    unsigned defn_line_number;        /* and the line */
    /* Why this MD cannot be renewed as configured (a name the CA will
     * refuse, a key type that cannot be generated, ...), naming directive,
     * value, file and line; NULL when there is nothing wrong. The server
     * starts anyway: such an MD is not driven, and md-status shows this as
     * renewal.last (detail), with config_problem_type as the problem. */
    const char *config_problem;
    const char *config_problem_type;
} md_t;

/* A new MD with defaults (renew mode auto, window 33%, warn 10%, RSA 2048,
 * transitive on). */
md_t *md_create_empty(apr_pool_t *p);

/* Deep copy into p. */
md_t *md_clone(apr_pool_t *p, const md_t *src);

/* Does the MD contain the name (case-insensitive, wildcards honoured)? */
int md_contains(const md_t *md, const char *domain);

/* First name the two MDs share, or NULL. */
const char *md_common_name(const md_t *md1, const md_t *md2);

/* The key specs to use: md->pkey_specs or the default (RSA 2048). */
const apr_array_header_t *md_pkey_specs(const md_t *md, apr_pool_t *p);

/* md.json form (stock mod_md keys), owned by p. */
json_t *md_to_json(const md_t *md, apr_pool_t *p);
/* Parse md.json; APR_EINVAL (and a logged message naming source) if the
 * required "name" or "domains" are missing or of the wrong type. */
apr_status_t md_from_json(md_t **pmd, const json_t *json, const char *source, apr_pool_t *p);

/* Do the two MDs differ in what the certificate depends on (names, key
 * specs, must-staple, CA urls)? */
int md_cert_relevant_changed(const md_t *a, const md_t *b);

/* --- which MD a host name belongs to ------------------------------------ */

/* MDMatchNames: which names of a virtual host are matched against the MDs'
 * names. With either, the other names of a matched host join its MD when
 * the MD is transitive (MDMembers auto). */
typedef enum {
    MD_MATCH_ALL = 0,          /* ServerName and ServerAlias (the default) */
    MD_MATCH_SERVERNAMES = 1,  /* ServerName only */
} md_match_names_t;

/* An index of the names of a set of MDs, with wildcards honoured as the
 * stock module does: "*.a.test" covers "www.a.test", but neither "a.test"
 * nor "x.www.a.test". Lookups are linear in the names asked about, not in
 * the number of MDs. Allocated from p; not thread-safe while being added
 * to, read-only lookups afterwards. */
typedef struct md_name_index_t md_name_index_t;

md_name_index_t *md_name_index_make(apr_pool_t *p);

/* Index md's names (names indexed earlier for md are skipped, so it may be
 * called again after names were added to md). Returns NULL, or another MD
 * that has one of md's names, covers one with a wildcard, or has a name
 * covered by one of md's wildcards: then *pname (if not NULL) is md's name
 * concerned and nothing after it is indexed (two MDs may not share a name;
 * the stock module refuses to start then, too). */
md_t *md_name_index_add(md_name_index_t *ix, md_t *md, const char **pname);

/* The MD that has name, else the one whose wildcard covers it, or NULL.
 * Case-insensitive; an IPv6 address in brackets ("[::1]", as a ServerAlias
 * may have it) is looked up without them. */
md_t *md_name_index_find(const md_name_index_t *ix, const char *name, apr_pool_t *p);

/* The MD of a virtual host, matched as the stock module matches: its
 * server_name (may be NULL) against every MD name, a wildcard one included;
 * with MD_MATCH_ALL also its aliases (const char*, may be NULL) against
 * the MDs' names as written (an alias does not match through a wildcard
 * MD name), and its wildcard aliases (patterns with '*' and '?', as
 * httpd's ServerAlias takes them; may be NULL) against every MD name.
 * The MD of the server name comes first, then in the order of the names.
 * *pother is set to a second, different MD that the host also matches
 * (NULL if none): a host with SSL can serve the certificate of one MD only.
 * Patterns cost a pass over all names; plain names are looked up. */
md_t *md_name_index_match_host(const md_name_index_t *ix, const char *server_name,
                               const apr_array_header_t *aliases,
                               const apr_array_header_t *wild_aliases, md_match_names_t mode,
                               md_t **pother, apr_pool_t *p);

#endif /* md_h */
