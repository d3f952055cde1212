/* Configuration of the module: the MD* directives, the per-server config
 * and the config shared by all servers of one config cycle.
 *
 * Directive semantics follow the stock mod_md 2.x (same names, values and
 * contexts), so an existing configuration works unchanged:
 *
 *   MDomain name... [auto|manual]      server config; auto|manual = MDMembers
 *   <MDomainSet name... [auto|manual]> server config; per-MD directives
 *   <MDomain name... [auto|manual]>    inside apply to that MD only
 *   MDMember(s) name...|auto|manual    names: only inside an MD section
 *   MDCertificateAuthority url|name... LetsEncrypt, LetsEncrypt-Test,
 *                                      Buypass, Buypass-Test or http(s) URLs
 *   MDCertificateAgreement accepted|url
 *   MDCertificateProtocol ACME         accepted for old configs, nothing else
 *   MDContactEmail addr                stored as "mailto:addr"
 *   MDRenewMode (old: MDDriveMode) auto|always|manual
 *   MDRenewWindow, MDWarnWindow        33% / 30d (md_timeslice_parse)
 *   MDPrivateKeys spec...              md_pkey_spec_parse, or "Default"
 *   MDMustStaple on|off
 *   MDRequireHttps off|temporary|permanent
 *   MDCACertificateFile path           global only; must exist
 *   MDStoreDir path                    global only; default "md"
 *   MDStoreLocks on|off|duration       global only; default off, on = 5s
 *   MDPortMap http:N [https:M]         global only; N, M 1..65535 or "-"
 *   MDBaseServer on|off                global only
 *   MDCAChallenges type...             http-01, tls-alpn-01, dns-01 (order kept)
 *   MDChallengeDns01 program [args]    absolute or under ServerRoot; must exist
 *   MDChallengeDns01Version 1|2        2: teardown gets the TXT value too
 *   MDServerStatus on|off              global only; default on
 *   MDCertificateStatus on|off         global only; default on
 *   MDCertificateCheck name url        global only (old name
 *                                      MDCertificateMonitor)
 *   MDCertificateFile path             only inside an MD section, into
 *   MDCertificateKeyFile path          md->cert_files / md->pkey_files
 *   MDExternalAccountBinding kid hmac [HS256|HS384|HS512] | json-file | none
 *   MDHttpProxy url|none               per MD too
 *   MDHttpProxyCACertificateFile path  per MD too
 *   MDProfile name|none, MDProfileMandatory on|off, MDRenewViaARI on|off
 *   MDNotifyCmd, MDMessageCmd cmd [args]   global only
 *   MDActivationAuto on|off            global only; graceful restart by itself
 *   MDActivationDelay duration         global only; 0
 *   MDParallelRenewals N               global only; MDs driven at once
 *   MDCheckInterval duration           global only; 12h
 *   MDInitialDelay duration            global only; 0
 *   MDRetryDelay duration              global only; 5s, doubled per error
 *   MDRetryFailover N                  global only; errors before the next CA
 *   MDStoreBackend file|postgresql [conninfo]  global only; default file
 *   MDStorePollInterval, MDStoreLeaseTime duration  global only; 30s, 60s
 *
 * The per-MD directives (MDMembers .. MDRequireHttps above) are allowed in
 * the server config (outside any VirtualHost: they become the defaults of
 * every MD) and inside an MD section (they apply to that MD and win). As
 * in the stock module they are rejected inside <VirtualHost> (MDomain itself
 * is allowed there, defining the same global MD). The per-
 * server struct still carries and merges them, so a later directive that
 * is allowed per vhost only needs a different context check.
 *
 * Every handler validates fully and returns a message naming the
 * directive, the bad value and what is accepted; httpd prefixes the file
 * and line ("Syntax error on line 12 of /x/httpd.conf:").
 *
 * Lifetime and threads: everything is allocated from pconf and belongs to
 * one config cycle (a restart starts over with a new pconf). No static or
 * process-global state. Written only while httpd reads the config and in
 * the check_config/post_config hooks (single-threaded parent); read-only
 * afterwards, so child threads read it without locks.
 *
 * What mod_md.c must do with this header:
 *   - module struct: create_server_config = mod_md_config_create_svr,
 *     merge_server_config = mod_md_config_merge_svr, cmds = mod_md_cmds,
 *     no per-dir config.
 *   - ap_hook_check_config(mod_md_config_check_config, NULL, NULL,
 *     APR_HOOK_MIDDLE): it finalizes all MDs (mod_md_config_finalize) and
 *     fails the start on a whole-config error. It must be check_config and
 *     not post_config: `apache2 -t` runs check_config but never
 *     post_config, and the bad-config tests rely on -t failing.
 *   - post_config: for each MD with md->contacts empty, add
 *     mod_md_config_mailto(ServerAdmin of its vhost or the base server);
 *     match each server_rec with its MD (kept in mod_md.c: a vhost without
 *     MD directives shares the base server's md_srv_conf_t, so the config
 *     struct cannot hold per-vhost results); warn about MDs
 *     without a vhost (quoting md->defn_name:md->defn_line_number).
 */
#ifndef mod_md_config_h
#define mod_md_config_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <httpd.h>
#include <http_config.h>

#include "md.h"

/* Defined in mod_md.c (the module struct). */
extern module AP_MODULE_DECLARE_DATA md_module;

/* ACME directory URLs the CA names of MDCertificateAuthority stand for. */
#define MOD_MD_CA_URL_LETSENCRYPT       "https://acme-v02.api.letsencrypt.org/directory"
#define MOD_MD_CA_URL_LETSENCRYPT_TEST  "https://acme-staging-v02.api.letsencrypt.org/directory"
#define MOD_MD_CA_URL_BUYPASS           "https://api.buypass.com/acme/directory"
#define MOD_MD_CA_URL_BUYPASS_TEST      "https://api.test4.buypass.no/acme/directory"
/* The CA used when no MDCertificateAuthority applies (as stock). */
#define MOD_MD_CA_URL_DEFAULT           MOD_MD_CA_URL_LETSENCRYPT

/* Defaults of the renewal timing directives. */
#define MOD_MD_ACTIVATION_AUTO_DEFAULT  1
#define MOD_MD_PARALLEL_DEFAULT         16
#define MOD_MD_PARALLEL_MAX             256
#define MOD_MD_CHECK_INTERVAL_DEFAULT   apr_time_from_sec(12 * 60 * 60)
#define MOD_MD_RETRY_DELAY_DEFAULT      apr_time_from_sec(5)
#define MOD_MD_RETRY_FAILOVER_DEFAULT   13

/* MDStoreDir default, relative to ServerRoot. */
#define MOD_MD_STORE_DIR_DEFAULT        "md"
/* How long MDStoreLocks on waits for the store lock. */
#define MOD_MD_STORE_LOCKS_WAIT_DEFAULT     apr_time_from_sec(5)
#define MOD_MD_STORE_LOCKS_WAIT_DEFAULT_STR "5s"

/* The settings a single MD can have. Every field starts "unset" (-1,
 * MD_RENEW_DEFAULT, MD_REQUIRE_UNSET or NULL); the effective value is the
 * first one set of: the MD's section, the server config, the defaults
 * table in mod_md_config.c. Arrays and strings are from pconf. */
typedef struct mod_md_settings_t {
    int transitive;                    /* MDMembers auto (1) | manual (0) */
    md_renew_mode_t renew_mode;        /* MDRenewMode / MDDriveMode */
    const md_timeslice_t *renew_window;/* MDRenewWindow */
    const md_timeslice_t *warn_window; /* MDWarnWindow */
    apr_array_header_t *ca_urls;       /* MDCertificateAuthority, const char* */
    const char *ca_agreement;          /* MDCertificateAgreement: "accepted" or URL */
    const char *ca_contact;            /* MDContactEmail, as "mailto:..." */
    apr_array_header_t *pkey_specs;    /* MDPrivateKeys, md_pkey_spec_t*;
                                        * empty array = "Default" */
    int must_staple;                   /* MDMustStaple */
    md_require_t require_https;        /* MDRequireHttps */
    apr_array_header_t *ca_challenges; /* MDCAChallenges, const char* */
    apr_array_header_t *dns01_cmd;     /* MDChallengeDns01: program, args */
    int dns01_version;                 /* MDChallengeDns01Version 1|2 */
    /* MDExternalAccountBinding: kid MOD_MD_NONE for an explicit "none" */
    const char *eab_kid;
    const char *eab_hmac;              /* base64url MAC key; never logged */
    const char *eab_alg;               /* HS256 | HS384 | HS512 */
    const char *http_proxy;            /* MDHttpProxy URL, or MOD_MD_NONE */
    const char *http_proxy_ca_file;    /* MDHttpProxyCACertificateFile, absolute */
    const char *profile;               /* MDProfile name, or MOD_MD_NONE */
    int profile_mandatory;             /* MDProfileMandatory */
    int ari_renewals;                  /* MDRenewViaARI */
} mod_md_settings_t;

/* The "none" of directives that can switch a global value off per MD. */
#define MOD_MD_NONE "none"

/* Shared by all server configs of one config cycle; one per pconf. */
typedef struct mod_md_global_t {
    apr_array_header_t *mds;           /* md_t*, in definition order */
    const char *store_dir;             /* MDStoreDir, absolute; the default
                                        * is resolved by mod_md_config_finalize */
    const char *ca_file;               /* MDCACertificateFile, absolute, or NULL */
    int local_http_port;               /* local port reached as external 80;
                                        * 0: port 80 not reachable ("-") */
    int local_https_port;              /* same for 443 */
    int manage_base_server;            /* MDBaseServer */
    int server_status;                 /* MDServerStatus (default on) */
    int certificate_status;            /* MDCertificateStatus (default on) */
    const char *cert_check_name;       /* MDCertificateCheck name ("crt.sh") */
    const char *cert_check_url;        /* and URL ("https://crt.sh?q="); the
                                        * fingerprint is appended */
    apr_array_header_t *notify_argv;   /* MDNotifyCmd cmd [args] (const char*), or NULL */
    apr_array_header_t *message_argv;  /* MDMessageCmd cmd [args] (const char*), or NULL */
    apr_interval_time_t store_locks;   /* MDStoreLocks: longest wait for the
                                        * store lock at start-up; 0 off */
    int store_locks_set;
    /* Renewal timing and activation (global only). -1 until
     * mod_md_config_finalize puts the defaults in. */
    int activation_auto;               /* MDActivationAuto */
    apr_interval_time_t activation_delay; /* MDActivationDelay */
    int parallel_renewals;             /* MDParallelRenewals */
    apr_interval_time_t check_interval;/* MDCheckInterval */
    apr_interval_time_t initial_delay; /* MDInitialDelay */
    apr_interval_time_t retry_delay;   /* MDRetryDelay */
    int retry_failover;                /* MDRetryFailover */
    /* MDStoreBackend <type> [<connection string>]: NULL for the default
     * file-system store; the arguments as given (a libpq connection string
     * for "postgresql"), never logged. */
    const char *store_backend;
    const char *store_backend_args;
    /* MDStorePollInterval, MDStoreLeaseTime (shared stores); 0: default */
    apr_interval_time_t store_poll_interval;
    apr_interval_time_t store_lease_time;
    mod_md_settings_t *defaults;       /* the base server's settings: what
                                        * every MD inherits unless its
                                        * section sets its own */
    /* private to mod_md_config.c: */
    apr_array_header_t *md_settings;   /* mod_md_settings_t*, index as mds */
    int finalized;
} mod_md_global_t;

/* Per server_rec (base server and each VirtualHost). */
typedef struct md_srv_conf_t {
    server_rec *s;                     /* the server this config was made for */
    mod_md_global_t *global;           /* never NULL */
    mod_md_settings_t settings;        /* directives in this server's scope */
    /* private to mod_md_config.c: the MD whose section is being read */
    md_t *current;
    mod_md_settings_t *current_settings;
} md_srv_conf_t;

extern const command_rec mod_md_cmds[];

/* Module struct callbacks. Allocate from p (pconf). create_svr finds or
 * creates the cycle's mod_md_global_t as userdata "mod_md_global_config"
 * of p. Merging keeps the add side's set values and takes the rest from
 * base. */
void *mod_md_config_create_svr(apr_pool_t *p, server_rec *s);
void *mod_md_config_merge_svr(apr_pool_t *p, void *base, void *add);

/* The module config of s (merged with the base server's for a vhost once
 * httpd has merged the vhosts, i.e. from check_config on). */
md_srv_conf_t *mod_md_config_get(const server_rec *s);

/* check_config hook (see the top of this file): runs
 * mod_md_config_finalize on the base server s and, on error, logs the
 * message (MD10002, level emerg, to stderr at that point) and returns
 * !OK so httpd refuses the config. OK otherwise. */
int mod_md_config_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *s);

/* Whole-config step after all directives are read: resolves the MDStoreDir
 * default under ServerRoot, applies the settings to every MD
 * (mod_md_config_apply_defaults with base_server's config) and checks
 * that no name is in two MDs. Returns NULL or the error text (from p).
 * Idempotent; does not block or touch the network. */
const char *mod_md_config_finalize(server_rec *base_server, apr_pool_t *p);

/* A name in two MDs: returns the message naming both MDs with the file and
 * line of their definitions ("MDomain a.test at /x/httpd.conf:12 and
 * MDomain b.test at /x/httpd.conf:20 both contain a.test"), allocated from
 * p, or NULL when all MDs are disjoint. Names compare exactly (they are
 * stored lower case); a wildcard and a name it matches are no overlap. */
const char *mod_md_config_check_overlaps(apr_pool_t *p, const apr_array_header_t *mds);

/* Fill md's settings fields (transitive, renew_mode/window, warn_window,
 * ca_proto/ca_urls/ca_agreement, contacts, pkey_specs, must_staple,
 * require_https, ca_challenges, dns01_cmd, dns01_version) from, in order: the settings of md's own MD section,
 * sc's settings, the defaults table. md must be one of
 * sc->global->mds (found by pointer, then by name); for any other md
 * only sc's settings and the defaults apply. md->contacts is replaced only
 * when an MDContactEmail applies; otherwise it is left as is (mod_md.c
 * adds the ServerAdmin). Arrays are copied into p. */
void mod_md_config_apply_defaults(md_t *md, const md_srv_conf_t *sc, apr_pool_t *p);

/* --- accessors ----------------------------------------------------------- */

apr_array_header_t *mod_md_config_mds(const md_srv_conf_t *sc);
/* MDStoreDir, absolute; NULL before mod_md_config_finalize when the
 * directive is not given. */
const char *mod_md_config_store_dir(const md_srv_conf_t *sc);
/* MDCACertificateFile, absolute, or NULL (use the system's CA store). */
const char *mod_md_config_ca_file(const md_srv_conf_t *sc);
/* The local port that the outside reaches as external_port (80 or 443),
 * 0 if not reachable (MDPortMap "-"), -1 for any other external_port. */
int mod_md_config_local_port(const md_srv_conf_t *sc, int external_port);
int mod_md_config_manage_base_server(const md_srv_conf_t *sc);
/* MDNotifyCmd / MDMessageCmd: program and its configured arguments
 * (const char*), or NULL when not configured. */
const apr_array_header_t *mod_md_config_notify_argv(const md_srv_conf_t *sc);
const apr_array_header_t *mod_md_config_message_argv(const md_srv_conf_t *sc);

/* "mailto:" + email for an ACME contact, or NULL if email is not a plain
 * address (local@domain, no spaces or control characters). An email that
 * already starts with "mailto:" is checked and returned as is. From p. */
const char *mod_md_config_mailto(apr_pool_t *p, const char *email);

#endif /* mod_md_config_h */
