/* Configuration of the module: the MD* directives, the settings of each MD
 * and the configuration shared by all servers of one config cycle.
 *
 * Every directive of the stock mod_md 2.6 is accepted with the same
 * values, in the same places, with the same meaning (the README's directive
 * reference lists them with their contexts and defaults):
 *
 *   - per-MD directives (MDRenewMode, MDPrivateKeys, ...) in the server
 *     config set the default of every MD; inside <MDomainSet>/<MDomain>
 *     they apply to that MD and win. Inside <VirtualHost> they are
 *     accepted and have no effect, as in the stock module (with a warning).
 *   - MDStapling and MDStapleOthers inside <VirtualHost> set that server's
 *     own values (md_srv_conf_t), which decide, as in the stock module,
 *     whether its certificates not from an MD are stapled; a VirtualHost
 *     that sets none inherits the server config's (merge_server_config).
 *   - server-wide directives (MDStoreDir, MDPortMap, ...) apply to the
 *     whole server wherever they stand, <VirtualHost> included; inside an
 *     MD section only those the stock module takes there.
 *   - MDRequireHttps is also accepted in <If>, <Files> and .htaccess
 *     (AllowOverride AuthConfig), where, as in the stock module, it has no
 *     effect.
 *   - a directive given twice in one place: the later value wins, with a
 *     warning naming both lines.
 *   - a value the stock module accepts but that cannot work (a name the CA
 *     will refuse, a key type that cannot be generated, a program that does
 *     not exist yet, ...) is accepted with a warning naming directive,
 *     value, file and line; when it makes an MD unrenewable, the MD keeps
 *     the reason in md->config_problem (md.h) and every other MD works.
 *     What the stock module refuses is refused with a message naming the
 *     directive and the value (httpd adds file and line).
 *   - durations are clamped to MOD_MD_DURATION_MAX (with a warning), so
 *     that no time computed from them can overflow.
 *
 * mod_md_config.c holds the directive table (one row per directive:
 * contexts, kind, field, limits, default) and the generic handlers that
 * apply these rules; mod_md_config_custom.c the code of the directives
 * that need their own (MDomain, the sections, MDMember(s),
 * MDCertificateFile/MDCertificateKeyFile, MDPrivateKeys,
 * MDExternalAccountBinding, MDPortMap) and the checks across MDs.
 *
 * Lifetime and threads: everything is allocated from pconf and belongs to
 * one config cycle. Written only while httpd reads the config and in the
 * check_config hook (single-threaded parent); read-only afterwards, so child
 * threads read it without locks. (.htaccess files are read per request:
 * the one directive allowed there writes nothing.)
 *
 * What mod_md.c does with this header: create_server_config =
 * mod_md_config_create_svr, merge_server_config = mod_md_config_merge_svr,
 * cmds = mod_md_cmds; ap_hook_check_config(mod_md_config_check_config)
 * (check_config, not post_config: `apache2 -t` runs only the former) and
 * ap_hook_post_config(mod_md_config_post_config).
 */
#ifndef mod_md_config_h
#define mod_md_config_h

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <httpd.h>
#include <http_config.h>

#include "md.h"
#include "md_conf.h"

/* Defined in mod_md.c (the module struct). */
extern module AP_MODULE_DECLARE_DATA md_module;

/* ACME directory URLs the CA names of MDCertificateAuthority stand for. */
#define MOD_MD_CA_URL_LETSENCRYPT       "https://acme-v02.api.letsencrypt.org/directory"
#define MOD_MD_CA_URL_LETSENCRYPT_TEST  "https://acme-staging-v02.api.letsencrypt.org/directory"
#define MOD_MD_CA_URL_BUYPASS           "https://api.buypass.com/acme/directory"
#define MOD_MD_CA_URL_BUYPASS_TEST      "https://api.test4.buypass.no/acme/directory"

/* The longest duration any directive takes: longer values are taken as
 * this, with a warning (3650 days; a time this far from now cannot
 * overflow apr_time_t). */
#define MOD_MD_DURATION_MAX   ((apr_interval_time_t)3650 * 24 * 3600 * APR_USEC_PER_SEC)
#define MOD_MD_DURATION_MAX_STR "3650d"
/* MDParallelRenewals at most. */
#define MOD_MD_PARALLEL_MAX   256

/* The settings a single MD can have: one per MD section, one for the
 * server config (the defaults of every MD). Which fields a scope sets is
 * private to mod_md_config*.c (a field set to "none" is set to NULL); the
 * effective value for an MD lands in its md_t. Arrays and strings are from
 * pconf. */
typedef struct mod_md_settings_t {
    int transitive;                    /* MDMembers auto (1) | manual (0) */
    int renew_mode;                    /* md_renew_mode_t: MDRenewMode / MDDriveMode */
    const md_timeslice_t *renew_window;/* MDRenewWindow */
    const md_timeslice_t *warn_window; /* MDWarnWindow */
    apr_array_header_t *ca_urls;       /* MDCertificateAuthority, const char* */
    const char *ca_agreement;          /* MDCertificateAgreement */
    const char *ca_proto;              /* MDCertificateProtocol: "ACME" */
    apr_array_header_t *contacts;      /* MDContactEmail, "mailto:..." */
    apr_array_header_t *pkey_specs;    /* MDPrivateKeys, md_pkey_spec_t*;
                                        * empty array = "Default" */
    int must_staple;                   /* MDMustStaple */
    int require_https;                 /* md_require_t: MDRequireHttps */
    apr_array_header_t *ca_challenges; /* MDCAChallenges, const char* */
    apr_array_header_t *dns01_cmd;     /* MDChallengeDns01: program, args */
    int dns01_version;                 /* MDChallengeDns01Version 1|2 */
    /* MDExternalAccountBinding: key id, MAC key (never logged), algorithm
     * (NULL: HS256); NULL: none */
    const md_conf_eab_t *eab;
    const char *http_proxy;            /* MDHttpProxy URL; NULL: none */
    const char *http_proxy_ca_file;    /* MDHttpProxyCACertificateFile, absolute */
    const char *profile;               /* MDProfile; NULL: none */
    int profile_mandatory;             /* MDProfileMandatory */
    int ari_renewals;                  /* MDRenewViaARI */
    int stapling;                      /* MDStapling */
    /* private to mod_md_config*.c: */
    apr_hash_t *set_at;                /* row -> const ap_directive_t*: the
                                        * directive that set the field */
    apr_hash_t *problems;              /* row -> why the value set cannot work */
    apr_array_header_t *own_problems;  /* why the MD itself cannot work (names) */
} mod_md_settings_t;

/* Shared by all server configs of one config cycle; one per pconf. All
 * fields hold their effective value (the default unless a directive set
 * it) once the config is read. */
typedef struct mod_md_global_t {
    apr_array_header_t *mds;           /* md_t*, in definition order */
    const char *store_dir;             /* MDStoreDir, absolute (default "md" under
                                        * ServerRoot, resolved by finalize) */
    const char *ca_file;               /* MDCACertificateFile, absolute, or NULL */
    int local_http_port;               /* MDPortMap: local port reached as external
                                        * 80; 0: port 80 not reachable ("-") */
    int local_https_port;              /* same for 443 */
    int manage_base_server;            /* MDBaseServer */
    int server_status;                 /* MDServerStatus */
    int certificate_status;            /* MDCertificateStatus */
    const char *cert_check_name;       /* MDCertificateCheck name ("crt.sh") */
    const char *cert_check_url;        /* and URL ("https://crt.sh?q="); the
                                        * fingerprint is appended */
    apr_array_header_t *notify_argv;   /* MDNotifyCmd cmd [args] (const char*), or NULL */
    apr_array_header_t *message_argv;  /* MDMessageCmd cmd [args] (const char*), or NULL */
    apr_interval_time_t store_locks;   /* MDStoreLocks: longest wait for the
                                        * store lock at start-up; 0 off */
    int activation_auto;               /* MDActivationAuto */
    apr_interval_time_t activation_delay; /* MDActivationDelay */
    int parallel_renewals;             /* MDParallelRenewals */
    apr_interval_time_t check_interval;/* MDCheckInterval */
    apr_interval_time_t initial_delay; /* MDInitialDelay */
    apr_interval_time_t retry_delay;   /* MDRetryDelay */
    int retry_failover;                /* MDRetryFailover */
    md_match_names_t match_names;      /* MDMatchNames */
    int staple_others;                 /* MDStapleOthers */
    apr_interval_time_t stapling_keep_response; /* MDStaplingKeepResponse */
    const md_timeslice_t *stapling_renew_window; /* MDStaplingRenewWindow */
    const char *store_backend;         /* MDStoreBackend: "file" or "postgresql" */
    const char *store_backend_args;    /* its connection string, or NULL; never logged */
    apr_interval_time_t store_poll_interval; /* MDStorePollInterval (shared stores) */
    apr_interval_time_t store_lease_time;    /* MDStoreLeaseTime (shared stores) */
    mod_md_settings_t *defaults;       /* the server config's MD settings: what
                                        * every MD inherits unless its section
                                        * sets its own */
    struct mod_md_runtime_t *runtime;  /* the generation's runtime, from its
                                        * post_config (mod_md_runtime.h) */
    /* private to mod_md_config*.c: */
    apr_array_header_t *rows;          /* the table's distinct rows (mod_md_row_t*) */
    mod_md_settings_t *builtin;        /* the defaults of the directive table */
    apr_array_header_t *md_settings;   /* mod_md_settings_t*, index as mds */
    apr_hash_t *set_at;                /* row -> directive, for the fields above */
    apr_array_header_t *warnings;      /* "file:line: text" of the config's warnings */
    apr_hash_t *ssl_vhosts;            /* "file:line" of a <VirtualHost> -> "on"|"off"|
                                        * "cert" (on, with SSLCertificateFile) */
    md_t *current;                     /* the MD whose section is being read */
    mod_md_settings_t *current_settings;
    int finalized;
} mod_md_global_t;

/* Per server_rec (base server and each VirtualHost): all the same cycle's
 * global, and the values a VirtualHost may set for itself (as in the stock
 * module: its own, else the server config's, else the default). */
typedef struct md_srv_conf_t {
    server_rec *s;                     /* the server this config was made for */
    mod_md_global_t *global;           /* never NULL */
    int stapling;                      /* MDStapling of this server: with
                                        * staple_others, staple certificates of
                                        * the server not from an MD */
    int staple_others;                 /* MDStapleOthers of this server */
    /* private to mod_md_config*.c: */
    apr_hash_t *set_at;                /* row -> directive, for the values above
                                        * set in this <VirtualHost> */
} md_srv_conf_t;

extern const command_rec mod_md_cmds[];

/* create_server_config: finds or creates the cycle's mod_md_global_t (as
 * userdata of p, pconf). */
void *mod_md_config_create_svr(apr_pool_t *p, server_rec *s);

/* merge_server_config: a VirtualHost's own values, the base server's
 * (server config or default) where it sets none. */
void *mod_md_config_merge_svr(apr_pool_t *p, void *basev, void *addv);

/* The module config of s. */
md_srv_conf_t *mod_md_config_get(const server_rec *s);

/* Does the <VirtualHost> s set directive (one with a value of its own per
 * server: MDStapling, MDStapleOthers) itself, rather than inherit it? */
int mod_md_config_server_sets(const server_rec *s, const char *directive);

/* check_config hook: runs mod_md_config_finalize on the base server s and,
 * on error, logs it (MD10002, emerg, to stderr at that point) and returns
 * !OK so httpd refuses the config. OK otherwise. */
int mod_md_config_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *s);

/* post_config hook: logs the configuration's warnings (directive, value,
 * file and line) into the error log, once per start or restart. OK. */
int mod_md_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s);

/* Whole-config step after all directives are read: resolves the MDStoreDir
 * default under ServerRoot, gives every MD its effective settings (its
 * section, else the server config, else the defaults), and refuses what the
 * stock module refuses at start (a name in two MDs, an MDCertificateFile
 * without its key file). Returns NULL or the error text (from p).
 * Idempotent; does not block or touch the network. */
const char *mod_md_config_finalize(server_rec *base_server, apr_pool_t *p);

/* A name in two MDs, wildcards honoured ("*.a.test" and "www.a.test"):
 * the message naming both MDs with the file and line of their definitions,
 * from p, or NULL when all MDs are disjoint. */
const char *mod_md_config_check_overlaps(apr_pool_t *p, const apr_array_header_t *mds);

/* Does the virtual host s have SSL (SSLEngine on, in it or inherited from
 * the server config)? Known from mod_md_config_finalize on; the base
 * server counts as without. */
int mod_md_config_server_has_ssl(const server_rec *s);
/* Does it have SSL and SSLCertificateFile (its own or the server config's)?
 * Then mod_ssl will not ask for a fallback certificate for it. */
int mod_md_config_server_has_cert_file(const server_rec *s);

/* The local port that the outside reaches as external_port (80 or 443),
 * 0 if not reachable (MDPortMap "-"), -1 for any other external_port. */
int mod_md_config_local_port(const md_srv_conf_t *sc, int external_port);
/* MDNotifyCmd / MDMessageCmd: program and its configured arguments
 * (const char*), or NULL when not configured. */
const apr_array_header_t *mod_md_config_notify_argv(const md_srv_conf_t *sc);
const apr_array_header_t *mod_md_config_message_argv(const md_srv_conf_t *sc);

/* "mailto:" + email for an ACME contact, or NULL if email is not a plain
 * address (local@domain, no spaces or control characters). An email that
 * already starts with "mailto:" is checked and returned as is. From p. */
const char *mod_md_config_mailto(apr_pool_t *p, const char *email);

#endif /* mod_md_config_h */
