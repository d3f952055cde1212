/* The MD* directives (see mod_md_config.h): the directive table, the
 * generic handlers and the rules every directive goes through, the
 * defaults, and the effective settings of each MD. The directives that need
 * code of their own are in mod_md_config_custom.c.
 *
 * Shape: includes, value words, the directive table, the rules (context,
 * given twice, warnings), the readers of each kind of value, the checks of
 * one word that rows name, config creation, the effective settings of the
 * MDs, finalize and accessors.
 */
#include <stdint.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include "md.h"
#include "md_conf.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_jws.h"
#include "md_keys.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"
#include "mod_md_config.h"
#include "mod_md_config_int.h"

#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(md);
#endif

#define GLOBAL_KEY         "mod_md_global_config"
#define SECS(n)            ((apr_int64_t)(n) * APR_USEC_PER_SEC)
#define DAYS(n)            SECS((apr_int64_t)(n) * MD_SECS_PER_DAY)

/* Enum values are copied as int between mod_md_settings_t and md_t. */
typedef char assert_renew_mode_is_int[sizeof(md_renew_mode_t) == sizeof(int) ? 1 : -1];
typedef char assert_require_is_int[sizeof(md_require_t) == sizeof(int) ? 1 : -1];
typedef char assert_match_is_int[sizeof(md_match_names_t) == sizeof(int) ? 1 : -1];

/* A value that cannot work, kept for the MDs it applies to. */
typedef struct {
    const char *type;
    const char *text;
} problem_t;

/* --- value words ---------------------------------------------------------- */

static const mod_md_word_t on_off[] = {
    { "on", 1 }, { "off", 0 }, { NULL, 0 },
};
/* "automatic" and "stick" as the stock module takes them. */
static const mod_md_word_t renew_modes[] = {
    { "auto", MD_RENEW_AUTO }, { "automatic", MD_RENEW_AUTO }, { "always", MD_RENEW_ALWAYS },
    { "manual", MD_RENEW_MANUAL }, { "stick", MD_RENEW_MANUAL }, { NULL, 0 },
};
static const mod_md_word_t require_https[] = {
    { "off", MD_REQUIRE_OFF }, { "temporary", MD_REQUIRE_TEMPORARY },
    { "permanent", MD_REQUIRE_PERMANENT }, { NULL, 0 },
};
static const mod_md_word_t members[] = {
    { "auto", 1 }, { "manual", 0 }, { NULL, 0 },
};
static const mod_md_word_t match_names[] = {
    { "all", MD_MATCH_ALL }, { "servernames", MD_MATCH_SERVERNAMES }, { NULL, 0 },
};
static const mod_md_word_t dns01_versions[] = {
    { "1", 1 }, { "2", 2 }, { NULL, 0 },
};
/* MDStoreLocks: "on" waits 5s for the lock. */
static const mod_md_word_t store_locks[] = {
    { "on", 5 * APR_USEC_PER_SEC }, { "off", 0 }, { NULL, 0 },
};

/* CA names of MDCertificateAuthority, matched case-insensitively. */
static const struct {
    const char *name;
    const char *url;
} ca_names[] = {
    { "LetsEncrypt", MOD_MD_CA_URL_LETSENCRYPT },
    { "LetsEncrypt-Test", MOD_MD_CA_URL_LETSENCRYPT_TEST },
    { "Buypass", MOD_MD_CA_URL_BUYPASS },
    { "Buypass-Test", MOD_MD_CA_URL_BUYPASS_TEST },
};
#define CA_NAMES_TEXT "LetsEncrypt, LetsEncrypt-Test, Buypass, Buypass-Test"

static const char *const known_challenges[] = {
    MD_CHAL_HTTP01, MD_CHAL_TLSALPN01, MD_CHAL_DNS01,
};
#define CHALLENGES_TEXT MD_CHAL_HTTP01 ", " MD_CHAL_TLSALPN01 ", " MD_CHAL_DNS01

/* --- what rows name: checks of one word, custom parsers ------------------- */

static mod_md_check_fn check_ca;
static mod_md_check_fn check_agreement;
static mod_md_check_fn check_proto;
static mod_md_check_fn check_contact;
static mod_md_check_fn check_challenge;
static mod_md_check_fn check_proxy;
static mod_md_check_fn check_profile;
static mod_md_check_fn check_file;
static mod_md_check_fn check_link;
static mod_md_check_fn check_backend;


/* --- the directive table -------------------------------------------------- */

#define SET(f)   APR_OFFSETOF(mod_md_settings_t, f)
#define GLB(f)   APR_OFFSETOF(mod_md_global_t, f)
#define MDF(f)   APR_OFFSETOF(md_t, f)
#define SRV(f)   APR_OFFSETOF(md_srv_conf_t, f)

/* Contexts: per-MD directives are accepted in a <VirtualHost> and do
 * nothing there (as in the stock module); server-wide ones apply to the
 * whole server from a <VirtualHost> too. Rows with a .srv_off are the
 * exception: a <VirtualHost> sets its own value (MDStapling,
 * MDStapleOthers). */
#define PER_MD          (CTX_SERVER | CTX_VHOST | CTX_SECTION)
#define SERVER_WIDE     (CTX_SERVER | CTX_VHOST)

/* One row, defined where the directive is (a file-scope compound literal
 * has static storage). Unset members are 0: no words, no limits. */
#define ROW(...)        ((void *)&(mod_md_row_t){ __VA_ARGS__ })
#define DIRECTIVE(name, help, ...) \
    AP_INIT_TAKE_ARGV(name, mod_md_config_set_directive, ROW(__VA_ARGS__), RSRC_CONF, help)

#define ONE             .min_args = 1, .max_args = 1
#define FLAG(scope_, off_, def_) \
    .kind = KIND_ENUM, .scope = scope_, .off = off_, .words = on_off, \
    .values = "on, off", .def = def_, ONE
#define MD_FLAG(field, def_) \
    FLAG(SCOPE_MD, SET(field), def_), .contexts = PER_MD, .no_effect = CTX_VHOST, \
    .to_md = TO_MD_INT, .md_off = MDF(field)
#define GLOBAL_FLAG(field, def_, contexts_) \
    FLAG(SCOPE_GLOBAL, GLB(field), def_), .contexts = contexts_
#define GLOBAL_DURATION(field, def_, unit_, contexts_) \
    .kind = KIND_DURATION, .scope = SCOPE_GLOBAL, .off = GLB(field), .def = def_, \
    .unit = unit_, .contexts = contexts_, .max = MOD_MD_DURATION_MAX, \
    .above = LIMIT_CLAMP, ONE
#define MD_WINDOW(field, def_) \
    .kind = KIND_TIMESLICE, .scope = SCOPE_MD, .off = SET(field), .def = def_, \
    .contexts = PER_MD, .no_effect = CTX_VHOST, .to_md = TO_MD_SLICE, .md_off = MDF(field), \
    .max = MOD_MD_DURATION_MAX, .below = LIMIT_CLAMP, .above = LIMIT_CLAMP, ONE

static mod_md_row_t row_renew_mode = {
    .kind = KIND_ENUM, .scope = SCOPE_MD, .off = SET(renew_mode), .words = renew_modes,
    .values = "auto, always, manual", .def = "auto", ONE, .contexts = PER_MD,
    .no_effect = CTX_VHOST, .to_md = TO_MD_INT, .md_off = MDF(renew_mode),
};
static mod_md_row_t row_renew_window = {
    MD_WINDOW(renew_window, "33%"),
};
static mod_md_row_t row_eab = {
    .kind = KIND_CUSTOM, .scope = SCOPE_MD, .off = SET(eab), .parse = mod_md_config_parse_eab,
    .min_args = 1, .max_args = 3, .contexts = PER_MD, .no_effect = CTX_VHOST,
};
static mod_md_row_t row_cert_check = {
    .kind = KIND_PAIR, .scope = SCOPE_GLOBAL, .off = GLB(cert_check_name),
    .off2 = GLB(cert_check_url), .check2 = check_link, .def = "crt.sh https://crt.sh?q=",
    .min_args = 2, .max_args = 2, .contexts = SERVER_WIDE | CTX_SECTION,
};
mod_md_row_t mod_md_row_members = {
    .kind = KIND_ENUM, .scope = SCOPE_MD, .off = SET(transitive), .words = members,
    .values = "auto, manual", .def = "auto", ONE, .contexts = PER_MD,
    .no_effect = CTX_VHOST, .to_md = TO_MD_INT, .md_off = MDF(transitive),
};

const command_rec mod_md_cmds[] = {
    /* MDs and their names (mod_md_config_custom.c) */
    AP_INIT_TAKE_ARGV("MDomain", mod_md_config_set_mdomain, NULL, RSRC_CONF,
                      "A group of domain names sharing one certificate; "
                      "auto|manual: add ServerAlias names of its vhosts or not"),
    AP_INIT_RAW_ARGS("<MDomainSet", mod_md_config_set_section, NULL, RSRC_CONF,
                     "Container for a managed domain with its own settings"),
    AP_INIT_RAW_ARGS("<MDomain", mod_md_config_set_section, NULL, RSRC_CONF,
                     "Short form of <MDomainSet>"),
    AP_INIT_TAKE_ARGV("MDMember", mod_md_config_set_members, &mod_md_row_members,
                      RSRC_CONF, "Domain name(s) of the enclosing managed domain, or "
                      "auto|manual"),
    AP_INIT_TAKE_ARGV("MDMembers", mod_md_config_set_members, &mod_md_row_members,
                      RSRC_CONF, "auto|manual: add ServerAlias names of vhosts to the MD "
                      "or not"),
    AP_INIT_TAKE1("MDCertificateFile", mod_md_config_set_cert_file, NULL, RSRC_CONF,
                  "A certificate file (PEM) for the enclosing MD, used instead of the CA"),
    AP_INIT_TAKE1("MDCertificateKeyFile", mod_md_config_set_key_file, NULL, RSRC_CONF,
                  "The private key file for the MDCertificateFile before it"),

    /* per MD: in the server config the default of all MDs */
    DIRECTIVE("MDCertificateAuthority",
              "ACME directory URL(s) or CA name(s) (" CA_NAMES_TEXT ")",
              .kind = KIND_LIST, .scope = SCOPE_MD, .off = SET(ca_urls), .check = check_ca,
              .def = "LetsEncrypt", .min_args = 0, .max_args = -1, .contexts = PER_MD,
              .no_effect = CTX_VHOST, .to_md = TO_MD_ARRAY, .md_off = MDF(ca_urls)),
    DIRECTIVE("MDCertificateAgreement",
              "'accepted' or the URL of the CA's Terms of Service you accept",
              .kind = KIND_STRING, .scope = SCOPE_MD, .off = SET(ca_agreement),
              .check = check_agreement, ONE, .contexts = PER_MD, .no_effect = CTX_VHOST,
              .to_md = TO_MD_STR, .md_off = MDF(ca_agreement)),
    DIRECTIVE("MDCertificateProtocol", "Protocol to obtain certificates with; only ACME",
              .kind = KIND_STRING, .scope = SCOPE_MD, .off = SET(ca_proto),
              .check = check_proto, .def = "ACME", ONE, .contexts = PER_MD,
              .no_effect = CTX_VHOST, .to_md = TO_MD_STR, .md_off = MDF(ca_proto)),
    DIRECTIVE("MDContactEmail", "Email address for the ACME account (default: ServerAdmin)",
              .kind = KIND_LIST, .scope = SCOPE_MD, .off = SET(contacts),
              .check = check_contact, ONE, .contexts = PER_MD, .no_effect = CTX_VHOST,
              .to_md = TO_MD_ARRAY, .md_off = MDF(contacts)),
    AP_INIT_TAKE_ARGV("MDRenewMode", mod_md_config_set_directive, &row_renew_mode, RSRC_CONF,
                      "auto|always|manual: when to obtain and renew certificates"),
    AP_INIT_TAKE_ARGV("MDDriveMode", mod_md_config_set_directive, &row_renew_mode, RSRC_CONF,
                      "Old name of MDRenewMode"),
    AP_INIT_TAKE_ARGV("MDRenewWindow", mod_md_config_set_directive, &row_renew_window, RSRC_CONF,
                      "Renew when this much of the lifetime remains (33%, 30d)"),
    DIRECTIVE("MDWarnWindow", "Warn when this much of the lifetime remains (10%, 7d)",
              MD_WINDOW(warn_window, "10%")),
    DIRECTIVE("MDPrivateKeys",
              "Key type(s) for certificates: RSA [bits], P-256, P-384, ... or Default",
              .kind = KIND_CUSTOM, .scope = SCOPE_MD, .off = SET(pkey_specs),
              .parse = mod_md_config_parse_pkeys, .min_args = 1, .max_args = -1, .contexts = PER_MD,
              .no_effect = CTX_VHOST, .to_md = TO_MD_ARRAY, .md_off = MDF(pkey_specs)),
    DIRECTIVE("MDMustStaple", "on|off: request the OCSP Must-Staple extension",
              MD_FLAG(must_staple, "off")),
    AP_INIT_TAKE_ARGV("MDRequireHttps", mod_md_config_set_directive,
                      ROW(.kind = KIND_ENUM, .scope = SCOPE_MD, .off = SET(require_https),
                          .words = require_https, .values = "off, temporary, permanent",
                          .def = "off", ONE, .contexts = PER_MD | CTX_DIR,
                          .no_effect = CTX_VHOST | CTX_DIR, .to_md = TO_MD_INT,
                          .md_off = MDF(require_https)),
                      RSRC_CONF | OR_AUTHCFG,
                      "off|temporary|permanent: redirect http: requests to https:"),
    DIRECTIVE("MDCAChallenges", "Challenge types to use, in order: " CHALLENGES_TEXT,
              .kind = KIND_LIST, .scope = SCOPE_MD, .off = SET(ca_challenges),
              .check = check_challenge, .min_args = 0, .max_args = -1, .contexts = PER_MD,
              .no_effect = CTX_VHOST, .to_md = TO_MD_ARRAY, .md_off = MDF(ca_challenges)),
    DIRECTIVE("MDChallengeDns01",
              "Program (and arguments) to set up and tear down dns-01 TXT records",
              .kind = KIND_PROGRAM, .scope = SCOPE_MD, .off = SET(dns01_cmd),
              .min_args = 0, .max_args = -1, .contexts = PER_MD, .no_effect = CTX_VHOST,
              .to_md = TO_MD_ARRAY, .md_off = MDF(dns01_cmd)),
    DIRECTIVE("MDChallengeDns01Version",
              "1|2: with 2 the dns-01 teardown also gets the TXT value",
              .kind = KIND_ENUM, .scope = SCOPE_MD, .off = SET(dns01_version),
              .words = dns01_versions, .values = "1, 2", .def = "1", ONE,
              .contexts = PER_MD, .no_effect = CTX_VHOST, .to_md = TO_MD_INT,
              .md_off = MDF(dns01_version)),
    AP_INIT_TAKE_ARGV("MDExternalAccountBinding", mod_md_config_set_directive, &row_eab, RSRC_CONF,
                      "key-id hmac-key [HS256|HS384|HS512], a JSON file with kid and hmac, "
                      "or none: external account binding for new ACME accounts"),
    DIRECTIVE("MDHttpProxy", "http(s)://host:port of a proxy for all traffic to the CA, "
              "or none",
              .kind = KIND_STRING, .scope = SCOPE_MD, .off = SET(http_proxy),
              .check = check_proxy, .none = 1, ONE, .contexts = PER_MD,
              .no_effect = CTX_VHOST, .to_md = TO_MD_STR, .md_off = MDF(http_proxy)),
    DIRECTIVE("MDHttpProxyCACertificateFile",
              "PEM file with the CA certificates to trust for an https proxy",
              .kind = KIND_PATH, .scope = SCOPE_MD, .off = SET(http_proxy_ca_file),
              .check = check_file, ONE, .contexts = PER_MD, .no_effect = CTX_VHOST,
              .to_md = TO_MD_STR, .md_off = MDF(http_proxy_ca_file)),
    DIRECTIVE("MDProfile",
              "ACME profile to order certificates with, if the CA offers it, or none",
              .kind = KIND_STRING, .scope = SCOPE_MD, .off = SET(profile),
              .check = check_profile, .none = 1, ONE, .contexts = PER_MD,
              .no_effect = CTX_VHOST, .to_md = TO_MD_STR, .md_off = MDF(profile)),
    DIRECTIVE("MDProfileMandatory", "on|off: fail when the CA does not offer the MDProfile",
              MD_FLAG(profile_mandatory, "off")),
    DIRECTIVE("MDRenewViaARI",
              "on|off: renew when the CA's ACME Renewal Information (RFC 9773) says",
              MD_FLAG(ari_renewals, "on")),
    DIRECTIVE("MDStapling", "on|off: staple OCSP responses for the MD's certificates; "
              "in a <VirtualHost>, for its certificates not from an MD (with MDStapleOthers)",
              FLAG(SCOPE_MD, SET(stapling), "off"), .contexts = PER_MD, .to_md = TO_MD_INT,
              .md_off = MDF(stapling), .srv_off = SRV(stapling)),

    /* the whole server */
    DIRECTIVE("MDStoreDir", "Directory of the certificate store (default: md under "
              "ServerRoot)",
              .kind = KIND_PATH, .scope = SCOPE_GLOBAL, .off = GLB(store_dir), ONE,
              .contexts = SERVER_WIDE),
    DIRECTIVE("MDCACertificateFile",
              "PEM file with the CA certificates to trust for the ACME server",
              .kind = KIND_PATH, .scope = SCOPE_GLOBAL, .off = GLB(ca_file),
              .check = check_file, ONE, .contexts = SERVER_WIDE | CTX_SECTION),
    DIRECTIVE("MDStoreLocks", "on|off|DURATION: lock the store while syncing at start-up, "
              "waiting at most DURATION (on: 5s)",
              GLOBAL_DURATION(store_locks, "off", "s", SERVER_WIDE), .words = store_locks,
              .below = LIMIT_CLAMP),
    DIRECTIVE("MDPortMap", "http:PORT https:PORT: the local ports the outside reaches as "
              "80 and 443; '-' for not reachable",
              .kind = KIND_CUSTOM, .scope = SCOPE_GLOBAL, .off = GLB(local_http_port),
              .parse = mod_md_config_parse_port_map, .def = "http:80 https:443", .min_args = 1,
              .max_args = 2, .contexts = SERVER_WIDE),
    DIRECTIVE("MDBaseServer", "on|off: manage names of the base server outside vhosts",
              GLOBAL_FLAG(manage_base_server, "off", SERVER_WIDE)),
    DIRECTIVE("MDMatchNames", "all|servernames: match vhosts to MDs by ServerName and "
              "ServerAlias, or by ServerName only",
              .kind = KIND_ENUM, .scope = SCOPE_GLOBAL, .off = GLB(match_names),
              .words = match_names, .values = "all, servernames", .def = "all", ONE,
              .contexts = SERVER_WIDE),
    DIRECTIVE("MDServerStatus", "on|off: show the managed certificates in server-status",
              GLOBAL_FLAG(server_status, "on", SERVER_WIDE | CTX_SECTION)),
    DIRECTIVE("MDCertificateStatus",
              "on|off: answer /.httpd/certificate-status on managed hosts",
              GLOBAL_FLAG(certificate_status, "on", SERVER_WIDE | CTX_SECTION)),
    AP_INIT_TAKE_ARGV("MDCertificateCheck", mod_md_config_set_directive, &row_cert_check, RSRC_CONF,
                      "name url: a site to look certificates up at, linked in server-status"),
    AP_INIT_TAKE_ARGV("MDCertificateMonitor", mod_md_config_set_directive, &row_cert_check,
                      RSRC_CONF,
                      "Old name of MDCertificateCheck"),
    DIRECTIVE("MDNotifyCmd", "Program [args] run with the MD name when its certificate "
              "was renewed",
              .kind = KIND_PROGRAM, .scope = SCOPE_GLOBAL, .off = GLB(notify_argv),
              .min_args = 0, .max_args = -1, .contexts = SERVER_WIDE),
    DIRECTIVE("MDMessageCmd", "Program [args] run with reason and MD name on events of an MD",
              .kind = KIND_PROGRAM, .scope = SCOPE_GLOBAL, .off = GLB(message_argv),
              .min_args = 0, .max_args = -1, .contexts = SERVER_WIDE),
    DIRECTIVE("MDActivationAuto", "on|off: put staged certificates live by a graceful "
              "restart of the server by itself",
              GLOBAL_FLAG(activation_auto, "on", SERVER_WIDE)),
    DIRECTIVE("MDActivationDelay", "How long a new certificate must have been valid before "
              "it goes live (days without a unit)",
              GLOBAL_DURATION(activation_delay, "0", "d", SERVER_WIDE), .below = LIMIT_CLAMP),
    DIRECTIVE("MDCheckInterval", "Longest time between two checks of the certificates "
              "(at least 1s)",
              GLOBAL_DURATION(check_interval, "12h", "s", SERVER_WIDE), .min = SECS(1),
              .below = LIMIT_REFUSE),
    DIRECTIVE("MDInitialDelay", "How long after start the first check waits",
              GLOBAL_DURATION(initial_delay, "0", "s", SERVER_WIDE), .below = LIMIT_REFUSE),
    DIRECTIVE("MDRetryDelay", "Delay before the first retry of a failed renewal, doubled "
              "per error",
              GLOBAL_DURATION(retry_delay, "30s", "s", SERVER_WIDE), .min = 1,
              .below = LIMIT_REFUSE),
    DIRECTIVE("MDRetryFailover", "Failed attempts before the next CA of "
              "MDCertificateAuthority is used",
              .kind = KIND_NUMBER, .scope = SCOPE_GLOBAL, .off = GLB(retry_failover),
              .def = "13", .min = 1, .max = APR_INT32_MAX, .atoi = 1, .below = LIMIT_REFUSE,
              .above = LIMIT_CLAMP, ONE, .contexts = SERVER_WIDE),
    DIRECTIVE("MDParallelRenewals", "How many MDs get certificates at the same time",
              .kind = KIND_NUMBER, .scope = SCOPE_GLOBAL, .off = GLB(parallel_renewals),
              .def = "16", .min = 1, .max = MOD_MD_PARALLEL_MAX, .below = LIMIT_REFUSE,
              .above = LIMIT_REFUSE, ONE, .contexts = SERVER_WIDE),
    DIRECTIVE("MDStapleOthers", "on|off: staple OCSP responses for certificates not "
              "managed here too (with MDStapling on)",
              GLOBAL_FLAG(staple_others, "on", SERVER_WIDE | CTX_SECTION),
              .no_effect = CTX_SECTION, .srv_off = SRV(staple_others)),
    DIRECTIVE("MDStaplingKeepResponse", "How long to keep OCSP responses in the store "
              "(days without a unit)",
              GLOBAL_DURATION(stapling_keep_response, "7d", "d", SERVER_WIDE | CTX_SECTION),
              .below = LIMIT_CLAMP, .norm = DAYS(7)),
    DIRECTIVE("MDStaplingRenewWindow", "Renew OCSP responses when this much of their "
              "lifetime remains (33%, 2d)",
              .kind = KIND_TIMESLICE, .scope = SCOPE_GLOBAL, .off = GLB(stapling_renew_window),
              .def = "33%", .max = MOD_MD_DURATION_MAX, .below = LIMIT_CLAMP,
              .above = LIMIT_CLAMP, ONE, .contexts = SERVER_WIDE | CTX_SECTION),
    DIRECTIVE("MDStoreBackend", "file|postgresql [connection string]: where the store is",
              .kind = KIND_PAIR, .scope = SCOPE_GLOBAL, .off = GLB(store_backend),
              .off2 = GLB(store_backend_args), .check = check_backend, .def = "file",
              .min_args = 1, .max_args = 2, .contexts = CTX_SERVER),
    /* A store shared by a cluster (mod_md_cluster.h). */
    DIRECTIVE("MDStorePollInterval", "How often a server asks a shared store for "
              "certificates of the others (at least 1s)",
              GLOBAL_DURATION(store_poll_interval, "30s", "s", CTX_SERVER), .min = SECS(1),
              .below = LIMIT_REFUSE),
    DIRECTIVE("MDStoreLeaseTime", "How long a server's claim on a renewal lasts without "
              "renewal (at least 1s)",
              GLOBAL_DURATION(store_lease_time, "60s", "s", CTX_SERVER), .min = SECS(1),
              .below = LIMIT_REFUSE),
    AP_INIT_TAKE1(NULL, NULL, NULL, RSRC_CONF, NULL),
};

/* The distinct rows of the table, in order (aliases share a row). */
static apr_array_header_t *rows_make(apr_pool_t *p)
{
    apr_array_header_t *rows = apr_array_make(p, 64, sizeof(const mod_md_row_t *));
    int i;

    for (i = 0; mod_md_cmds[i].name; ++i) {
        const mod_md_row_t *row = mod_md_cmds[i].cmd_data;
        int k;

        for (k = 0; row && k < rows->nelts; ++k) {
            if (MD_ARR_IDX(rows, k, const mod_md_row_t *) == row) {
                row = NULL;
            }
        }
        if (row) {
            APR_ARRAY_PUSH(rows, const mod_md_row_t *) = row;
        }
    }
    return rows;
}

/* --- the rules every directive goes through ------------------------------- */

mod_md_global_t *mod_md_config_global(cmd_parms *cmd)
{
    return mod_md_config_get(cmd->server)->global;
}

unsigned mod_md_config_ctx(cmd_parms *cmd)
{
    if (cmd->path) {
        return CTX_DIR;
    }
    if (mod_md_config_global(cmd)->current) {
        return CTX_SECTION;
    }
    return cmd->server->is_virtual ? CTX_VHOST : CTX_SERVER;
}

const char *mod_md_config_dname(cmd_parms *cmd)
{
    const char *name = cmd->cmd->name;
    return name[0] == '<' ? apr_pstrcat(cmd->pool, name, ">", NULL) : name;
}

/* .htaccess files are read per request: nothing is logged for them. */
static int in_htaccess(const cmd_parms *cmd)
{
    return cmd->pool == cmd->temp_pool;
}

/* Warnings are kept and logged once the config is read: by check_config
 * for `apache2 -t` (to stderr), by post_config into the error log on a
 * start or restart (while the config is read, stderr of a starting server
 * is /dev/null). */
void mod_md_config_warn(cmd_parms *cmd, const char *fmt, ...)
{
    mod_md_global_t *g;
    va_list ap;
    const char *msg;

    if (in_htaccess(cmd)) {
        return;
    }
    g = mod_md_config_global(cmd);
    va_start(ap, fmt);
    msg = apr_pvsprintf(cmd->pool, fmt, ap);
    va_end(ap);
    APR_ARRAY_PUSH(g->warnings, const char *) =
        apr_psprintf(cmd->pool, "%s:%d: %s", cmd->directive->filename,
                     cmd->directive->line_num, msg);
}

static void log_warnings(server_rec *s, const mod_md_global_t *g)
{
    int i;

    for (i = 0; i < g->warnings->nelts; ++i) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MD10003: %s",
                     MD_ARR_IDX(g->warnings, i, const char *));
    }
}

/* Why the directive may not stand where it does, or NULL. */
static const char *check_context(cmd_parms *cmd, const mod_md_row_t *row, unsigned ctx)
{
    mod_md_global_t *g = mod_md_config_global(cmd);
    const char *err;

    if (row->contexts & ctx) {
        /* As the stock module: in <If>, <Files> and .htaccess, not in
         * <Directory> or <Location>. */
        return ctx == CTX_DIR ? ap_check_cmd_context(cmd, NOT_IN_DIRECTORY | NOT_IN_LOCATION)
                              : NULL;
    }
    switch (ctx) {
    case CTX_SECTION:
        return apr_psprintf(cmd->pool, "%s is not allowed inside <MDomainSet %s>: it "
                            "applies to the whole server, put it outside the section",
                            mod_md_config_dname(cmd), g->current->name);
    case CTX_VHOST:
        err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
        return err ? err : apr_psprintf(cmd->pool, "%s is not allowed inside <VirtualHost>",
                                        mod_md_config_dname(cmd));
    case CTX_SERVER:
        return apr_psprintf(cmd->pool, "%s is only allowed inside an <MDomainSet> or "
                            "<MDomain> section", mod_md_config_dname(cmd));
    default:
        return apr_psprintf(cmd->pool, "%s is not allowed here", mod_md_config_dname(cmd));
    }
}

static const char *shown_value(apr_pool_t *p, int argc, char *const argv[])
{
    const char *s = "";
    int i;

    for (i = 0; i < argc; ++i) {
        s = apr_pstrcat(p, s, i ? " " : "", argv[i], NULL);
    }
    return md_util_str_printable(p, s, 200);
}

void mod_md_config_value_warn(mod_md_parse_t *x, const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    if (x->quiet || !x->cmd) {
        return;
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(x->p, fmt, ap);
    va_end(ap);
    mod_md_config_warn(x->cmd, "%s \"%s\": %s", mod_md_config_dname(x->cmd), x->shown, msg);
}

void mod_md_config_value_problem(mod_md_parse_t *x, const char *type, const char *why)
{
    if (!x->problem) {
        x->problem = why;
        x->problem_type = type;
    }
    mod_md_config_value_warn(x, "%s; the MDs this applies to are not renewed until it is "
                             "fixed", why);
}

static const char *read_value(mod_md_parse_t *x, void *base, int argc, char *const argv[]);

/* Read a value of row into base (the scope's struct), keeping in set_at
 * where it was set and in problems (NULL for server-wide values) why it
 * cannot work. */
static const char *set_value(cmd_parms *cmd, const mod_md_row_t *row, void *base,
                             apr_hash_t *set_at, apr_hash_t *problems, int argc,
                             char *const argv[])
{
    mod_md_parse_t x;
    const ap_directive_t *prev;
    const char *err;

    memset(&x, 0, sizeof(x));
    x.cmd = cmd;
    x.p = cmd->pool;
    x.row = row;
    x.quiet = in_htaccess(cmd);
    x.shown = shown_value(cmd->pool, argc, argv);
    prev = set_at ? apr_hash_get(set_at, row, sizeof(*row)) : NULL;
    if (prev) {
        mod_md_config_warn(cmd, "%s given again (first at %s:%d): the later value wins",
                           mod_md_config_dname(cmd), prev->filename, prev->line_num);
    }
    if ((err = read_value(&x, base, argc, argv))) {
        return apr_psprintf(cmd->pool, "%s: %s", mod_md_config_dname(cmd), err);
    }
    if (set_at) {
        apr_hash_set(set_at, row, sizeof(*row), cmd->directive);
    }
    if (problems) {
        problem_t *pb = NULL;

        if (x.problem) {
            pb = apr_pcalloc(cmd->pool, sizeof(*pb));
            pb->type = x.problem_type;
            pb->text = apr_psprintf(cmd->pool, "%s \"%s\" (%s:%d): %s",
                                    mod_md_config_dname(cmd), x.shown,
                                    cmd->directive->filename, cmd->directive->line_num,
                                    x.problem);
        }
        apr_hash_set(problems, row, sizeof(*row), pb);
    }
    return NULL;
}

const char *mod_md_config_set(cmd_parms *cmd, const mod_md_row_t *row,
                              mod_md_settings_t *set, int argc, char *const argv[])
{
    return set_value(cmd, row, set, set->set_at, set->problems, argc, argv);
}

/* The struct a row's value is read into, for scope. */
static void *scope_base(const mod_md_row_t *row, mod_md_global_t *g, int in_section)
{
    if (row->scope == SCOPE_GLOBAL) {
        return g;
    }
    return in_section ? g->current_settings : g->defaults;
}

/* A row's value inside a <VirtualHost> that has its own (row->srv_off):
 * read (with the given-twice rule of that vhost) and kept in its config
 * only. */
static const char *set_server_value(cmd_parms *cmd, const mod_md_row_t *row,
                                    md_srv_conf_t *sc, int argc, char *const argv[])
{
    void *scratch = row->scope == SCOPE_MD
                    ? (void *)mod_md_config_settings_make(cmd->pool)
                    : apr_pcalloc(cmd->pool, sizeof(mod_md_global_t));
    const char *err = set_value(cmd, row, scratch, sc->set_at, NULL, argc, argv);

    if (!err) {
        *FIELD(sc, row->srv_off, int) = *FIELD(scratch, row->off, int);
    }
    return err;
}

const char *mod_md_config_set_directive(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    const mod_md_row_t *row = cmd->info;
    mod_md_global_t *g = mod_md_config_global(cmd);
    unsigned ctx = mod_md_config_ctx(cmd);
    const char *err;

    (void)dc;
    if ((err = check_context(cmd, row, ctx))) {
        return err;
    }
    if (row->no_effect & ctx) {
        /* Checked as anywhere else, kept nowhere. */
        void *scratch = row->scope == SCOPE_MD ? (void *)mod_md_config_settings_make(cmd->pool)
                                               : apr_pcalloc(cmd->pool, sizeof(*g));
        if ((err = set_value(cmd, row, scratch, NULL, NULL, argc, argv))) {
            return err;
        }
        if (ctx != CTX_DIR) {
            mod_md_config_warn(cmd, "%s has no effect %s (as with the stock module); %s",
                               mod_md_config_dname(cmd),
                               ctx == CTX_VHOST ? "inside <VirtualHost>"
                                                : "inside an MD section",
                               row->scope == SCOPE_MD
                               ? "set it in the server config or in an <MDomain> section"
                               : "set it in the server config");
        }
        return NULL;
    }
    if (row->srv_off && ctx == CTX_VHOST) {
        return set_server_value(cmd, row, mod_md_config_get(cmd->server), argc, argv);
    }
    if (row->scope == SCOPE_GLOBAL) {
        if (ctx == CTX_SECTION) {
            mod_md_config_warn(cmd, "%s inside <MDomainSet %s> applies to the whole server",
                               mod_md_config_dname(cmd), g->current->name);
        }
        err = set_value(cmd, row, g, g->set_at, NULL, argc, argv);
    }
    else {
        err = mod_md_config_set(cmd, row, scope_base(row, g, ctx == CTX_SECTION), argc, argv);
    }
    if (!err && row->srv_off && ctx == CTX_SERVER) {
        /* The base server's own value: what vhosts inherit. */
        *FIELD(mod_md_config_get(cmd->server), row->srv_off, int) =
            *FIELD(scope_base(row, g, 0), row->off, int);
    }
    return err;
}

/* --- reading each kind of value ------------------------------------------- */

static int is_word(const char *s, const char *word)
{
    return !ap_cstr_casecmp(s, word);
}

static const char *read_enum(mod_md_parse_t *x, int *pvalue, const char *word)
{
    const mod_md_word_t *w;

    for (w = x->row->words; w->word; ++w) {
        if (is_word(word, w->word)) {
            *pvalue = w->value;
            return NULL;
        }
    }
    return apr_psprintf(x->p, "\"%s\" is not one of %s", x->shown, x->row->values);
}

static const char *read_number(mod_md_parse_t *x, int *pvalue, const char *word)
{
    const mod_md_row_t *row = x->row;
    apr_int64_t n;
    int trailing;
    int saturated;

    if (md_conf_int_parse(&n, &trailing, &saturated, word) != APR_SUCCESS) {
        return apr_psprintf(x->p, "\"%s\" is not a number", x->shown);
    }
    if (trailing) {
        if (!row->atoi) {
            return apr_psprintf(x->p, "\"%s\" is not a number", x->shown);
        }
        mod_md_config_value_warn(x, "only the number at its start counts");
    }
    if (n < row->min) {
        if (row->below == LIMIT_REFUSE) {
            return apr_psprintf(x->p, "\"%s\" is not a number of at least %" APR_INT64_T_FMT,
                                x->shown, row->min);
        }
        mod_md_config_value_warn(x, "taken as %" APR_INT64_T_FMT, row->min);
        n = row->min;
    }
    if (n > row->max) {
        if (row->above == LIMIT_REFUSE) {
            return apr_psprintf(x->p, "\"%s\" is not a number in %" APR_INT64_T_FMT "..%"
                                APR_INT64_T_FMT, x->shown, row->min, row->max);
        }
        mod_md_config_value_warn(x, "more than %" APR_INT64_T_FMT ", taken as that", row->max);
        n = row->max;
    }
    *pvalue = (int)n;
    return NULL;
}

/* Durations and windows at most MOD_MD_DURATION_MAX; a negative one that
 * the stock module accepts is taken as the least. */
static const char *clamp_duration(mod_md_parse_t *x, apr_interval_time_t *pdur)
{
    const mod_md_row_t *row = x->row;

    if (*pdur < row->min) {
        if (row->below == LIMIT_REFUSE) {
            return row->min <= 1
                   ? apr_psprintf(x->p, "\"%s\" must be more than 0", x->shown)
                   : apr_psprintf(x->p, "\"%s\" is too short, at least %s", x->shown,
                                  md_duration_format(row->min, x->p));
        }
        mod_md_config_value_warn(x, "%s, taken as %s", *pdur < 0 ? "negative" : "too short",
                                 md_duration_format(row->min, x->p));
        *pdur = row->min;
    }
    if (row->max > 0 && *pdur > row->max) {
        mod_md_config_value_warn(x, "longer than %s, taken as that", MOD_MD_DURATION_MAX_STR);
        *pdur = row->max;
    }
    return NULL;
}

static const char *read_duration(mod_md_parse_t *x, apr_interval_time_t *pdur,
                                 const char *word)
{
    const mod_md_row_t *row = x->row;
    const mod_md_word_t *w;
    apr_int64_t pct;
    int trailing;
    int saturated;

    for (w = row->words; w && w->word; ++w) {
        if (is_word(word, w->word)) {
            *pdur = w->value;
            return NULL;
        }
    }
    if (row->norm > 0 && word[0] && word[strlen(word) - 1] == '%'
        && md_conf_int_parse(&pct, &trailing, &saturated, word) == APR_SUCCESS
        && pct >= 0 && pct <= 1000) {
        /* As the stock module: a percentage of a norm duration. */
        *pdur = (row->norm / 100) * pct;
        return clamp_duration(x, pdur);
    }
    if (md_conf_duration_parse(pdur, NULL, word, row->unit) != APR_SUCCESS) {
        return apr_psprintf(x->p, "\"%s\" is not a duration (a number with a unit d, h, "
                            "mi, s or ms, e.g. 30s, 12h; %s without one)%s", x->shown,
                            row->unit[0] == 'd' ? "days" : "seconds",
                            row->words ? ", on or off" : "");
    }
    return clamp_duration(x, pdur);
}

static const char *read_timeslice(mod_md_parse_t *x, const md_timeslice_t **pts,
                                  const char *word)
{
    md_timeslice_t *ts = apr_pcalloc(x->p, sizeof(*ts));
    const char *err = NULL;
    const char *perr = NULL;

    if (md_conf_timeslice_parse(ts, NULL, word, &perr, x->p) != APR_SUCCESS) {
        return perr;
    }
    if (!ts->is_percent && (err = clamp_duration(x, &ts->duration))) {
        return err;
    }
    *pts = ts;
    return NULL;
}

/* A path under ServerRoot; row->check says whether it must be there. */
static const char *read_path(mod_md_parse_t *x, const char **ppath, const char *word)
{
    const char *path = ap_server_root_relative(x->p, word);

    if (!path) {
        return apr_psprintf(x->p, "\"%s\" is not a valid path", x->shown);
    }
    *ppath = path;
    return x->row->check ? x->row->check(x, path, ppath) : NULL;
}

/* Run without a shell, so the program must be a file we can name; one
 * that is not there (yet) fails when it is run, as with the stock module. */
static const char *read_program(mod_md_parse_t *x, apr_array_header_t **pargv, int argc,
                                char *const argv[])
{
    apr_array_header_t *args;
    apr_finfo_t finfo;
    const char *path;
    int i;

    if (argc < 1 || !*argv[0]) {
        mod_md_config_value_warn(x, "no program given, nothing will be run");
        *pargv = NULL;
        return NULL;
    }
    if (!(path = ap_server_root_relative(x->p, argv[0]))) {
        return apr_psprintf(x->p, "\"%s\" is not a valid path", argv[0]);
    }
    if (apr_stat(&finfo, path, APR_FINFO_TYPE | APR_FINFO_PROT, x->p) != APR_SUCCESS) {
        mod_md_config_value_warn(x, "program %s does not exist (yet): running it will fail", path);
    }
    else if (finfo.filetype != APR_REG
             || !(finfo.protection & (APR_UEXECUTE | APR_GEXECUTE | APR_WEXECUTE))) {
        mod_md_config_value_warn(x, "%s is not an executable file: running it will fail", path);
    }
    args = apr_array_make(x->p, argc, sizeof(const char *));
    /* argv[0] as written, as the stock module passes it; the runtime runs
     * it from path (md_exec_program_path: under ServerRoot if relative). */
    APR_ARRAY_PUSH(args, const char *) = argv[0];
    for (i = 1; i < argc; ++i) {
        APR_ARRAY_PUSH(args, const char *) = argv[i];
    }
    *pargv = args;
    return NULL;
}

static const char *read_list(mod_md_parse_t *x, apr_array_header_t **plist, int argc,
                             char *const argv[])
{
    apr_array_header_t *list;
    const char *err;
    int i;

    if (argc == 0) {
        mod_md_config_value_warn(x, "no value given, the default applies");
        *plist = NULL;
        return NULL;
    }
    list = apr_array_make(x->p, argc, sizeof(const char *));
    for (i = 0; i < argc; ++i) {
        const char *item = argv[i];

        if ((err = x->row->check(x, argv[i], &item))) {
            return err;
        }
        if (!item) {
            continue;
        }
        if (md_array_str_index(list, item, 0, 1) >= 0) {
            mod_md_config_value_warn(x, "%s is given twice", argv[i]);
            continue;
        }
        APR_ARRAY_PUSH(list, const char *) = item;
    }
    if (list->nelts == 0) {
        mod_md_config_value_problem(x, NULL, "none of the values can be used");
    }
    *plist = list;
    return NULL;
}

static const char *read_value(mod_md_parse_t *x, void *base, int argc, char *const argv[])
{
    const mod_md_row_t *row = x->row;
    void *field = FIELD(base, row->off, void);
    const char *err;

    if (argc < row->min_args || (row->max_args >= 0 && argc > row->max_args)) {
        if (row->max_args == 1) {
            return "needs one value";
        }
        return row->min_args == row->max_args
               ? apr_psprintf(x->p, "needs %d values", row->min_args)
               : apr_psprintf(x->p, "needs %d to %d values", row->min_args, row->max_args);
    }
    if (row->max_args == 1 && argc == 1 && !*argv[0]) {
        return "needs a value, not an empty one";
    }
    switch (row->kind) {
    case KIND_ENUM:
        return read_enum(x, field, argv[0]);
    case KIND_NUMBER:
        return read_number(x, field, argv[0]);
    case KIND_DURATION:
        return read_duration(x, field, argv[0]);
    case KIND_TIMESLICE:
        return read_timeslice(x, field, argv[0]);
    case KIND_STRING:
        if (row->none && is_word(argv[0], "none")) {
            *(const char **)field = NULL;
            return NULL;
        }
        *(const char **)field = argv[0];
        return row->check ? row->check(x, argv[0], field) : NULL;
    case KIND_PATH:
        return read_path(x, field, argv[0]);
    case KIND_PROGRAM:
        return read_program(x, field, argc, argv);
    case KIND_LIST:
        return read_list(x, field, argc, argv);
    case KIND_PAIR:
        *(const char **)field = argv[0];
        *FIELD(base, row->off2, const char *) = argc > 1 ? argv[1] : NULL;
        if (row->check && (err = row->check(x, argv[0], field))) {
            return err;
        }
        if (argc > 1 && row->check2) {
            return row->check2(x, argv[1], FIELD(base, row->off2, const char *));
        }
        return NULL;
    case KIND_CUSTOM:
        return row->parse(x, base, argc, argv);
    }
    return "unknown kind of value";
}

/* --- checks of one word ---------------------------------------------------- */

/* An absolute http: or https: URL with a host. */
static int is_http_url(apr_pool_t *p, const char *s)
{
    apr_uri_t uri;

    if (apr_uri_parse(p, s, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname
        || !*uri.hostname) {
        return 0;
    }
    return is_word(uri.scheme, "http") || is_word(uri.scheme, "https");
}

static int has_scheme(apr_pool_t *p, const char *s)
{
    apr_uri_t uri;

    return apr_uri_parse(p, s, &uri) == APR_SUCCESS && uri.scheme && *uri.scheme;
}

static const char *check_ca(mod_md_parse_t *x, const char *word, const char **pout)
{
    apr_size_t k;

    for (k = 0; k < sizeof(ca_names) / sizeof(ca_names[0]); ++k) {
        if (is_word(word, ca_names[k].name)) {
            *pout = ca_names[k].url;
            return NULL;
        }
    }
    if (!has_scheme(x->p, word)) {
        return apr_psprintf(x->p, "\"%s\" is neither a URL nor one of " CA_NAMES_TEXT, word);
    }
    if (!is_http_url(x->p, word)) {
        mod_md_config_value_problem(x, NULL,
                                    apr_psprintf(x->p, "%s is not an http(s) URL with a host, "
                                                 "no ACME server can be reached there", word));
    }
    *pout = word;
    return NULL;
}

static const char *check_agreement(mod_md_parse_t *x, const char *word, const char **pout)
{
    if (is_word(word, "accepted")) {
        *pout = "accepted";
    }
    else if (!is_http_url(x->p, word)) {
        /* Any value agrees to the CA's terms, as with the stock module. */
        mod_md_config_value_warn(x, "neither \"accepted\" nor the URL of the Terms of "
                                 "Service; taken as accepting the CA's terms");
    }
    return NULL;
}

static const char *check_proto(mod_md_parse_t *x, const char *word, const char **pout)
{
    if (is_word(word, "ACME")) {
        *pout = "ACME";
    }
    else {
        mod_md_config_value_problem(x, NULL, "ACME is the only protocol there is");
    }
    return NULL;
}

static const char *check_contact(mod_md_parse_t *x, const char *word, const char **pout)
{
    const char *mailto = mod_md_config_mailto(x->p, word);

    if (!mailto) {
        mod_md_config_value_warn(x, "not an email address (like admin@example.org): the CA "
                                 "may refuse it");
        mailto = ap_cstr_casecmpn(word, "mailto:", 7) ? apr_pstrcat(x->p, "mailto:", word,
                                                                    NULL)
                                                      : word;
    }
    *pout = mailto;
    return NULL;
}

static const char *check_challenge(mod_md_parse_t *x, const char *word, const char **pout)
{
    apr_size_t k;

    for (k = 0; k < sizeof(known_challenges) / sizeof(known_challenges[0]); ++k) {
        if (is_word(word, known_challenges[k])) {
            *pout = known_challenges[k];
            return NULL;
        }
    }
    mod_md_config_value_warn(x, "%s is not a challenge type (" CHALLENGES_TEXT "), it is "
                             "ignored", word);
    *pout = NULL;
    return NULL;
}

/* The stock module takes http and https proxies only. */
static const char *check_proxy(mod_md_parse_t *x, const char *word, const char **pout)
{
    apr_uri_t uri;

    (void)pout;
    if (apr_uri_parse(x->p, word, &uri) != APR_SUCCESS || !uri.scheme
        || !(is_word(uri.scheme, "http") || is_word(uri.scheme, "https"))) {
        return apr_psprintf(x->p, "\"%s\" is not an http:// or https:// URL (e.g. "
                            "http://proxy.example.org:3128), nor none", word);
    }
    if (!uri.hostname || !*uri.hostname) {
        mod_md_config_value_warn(x, "the URL has no host: connections to the CA will fail");
    }
    return NULL;
}

static const char *check_profile(mod_md_parse_t *x, const char *word, const char **pout)
{
    const char *c;

    (void)pout;
    for (c = word; *c; ++c) {
        if (!apr_isgraph(*c)) {
            mod_md_config_value_warn(x, "no CA offers a profile of that name (it has spaces "
                                     "or control characters)");
            break;
        }
    }
    return NULL;
}

/* A file that is not there (yet) fails when it is used, as with the stock
 * module. */
static const char *check_file(mod_md_parse_t *x, const char *path, const char **pout)
{
    apr_finfo_t finfo;

    (void)pout;
    if (apr_stat(&finfo, path, APR_FINFO_TYPE, x->p) != APR_SUCCESS) {
        mod_md_config_value_warn(x, "file %s does not exist (yet)", path);
    }
    else if (finfo.filetype != APR_REG) {
        mod_md_config_value_warn(x, "%s is not a file", path);
    }
    return NULL;
}

/* MDCertificateCheck: the fingerprint is appended to the URL in
 * server-status links. */
static const char *check_link(mod_md_parse_t *x, const char *word, const char **pout)
{
    (void)pout;
    if (!is_http_url(x->p, word)) {
        mod_md_config_value_warn(x, "%s is not an http(s) URL: server-status links with it "
                                 "lead nowhere", word);
    }
    return NULL;
}

static const char *check_backend(mod_md_parse_t *x, const char *word, const char **pout)
{
    if (is_word(word, "file")) {
        *pout = "file";
    }
    else if (is_word(word, "postgresql")) {
        *pout = "postgresql";
    }
    else {
        return apr_psprintf(x->p, "\"%s\" is not one of file, postgresql", word);
    }
    return NULL;
}

/* --- config objects --------------------------------------------------------- */

/* set_at tables are keyed by a row's address (the rows live as long as the
 * module): hash that address, not the row's bytes, which every lookup of
 * the hundreds per MD at start-up would otherwise read through. */
static unsigned int row_address_hash(const char *key, apr_ssize_t *klen)
{
    uintptr_t a = (uintptr_t)key;

    (void)klen;
    return (unsigned int)(a >> 4) ^ (unsigned int)(a >> 20);
}

static apr_hash_t *set_at_make(apr_pool_t *p)
{
    return apr_hash_make_custom(p, row_address_hash);
}


mod_md_settings_t *mod_md_config_settings_make(apr_pool_t *p)
{
    mod_md_settings_t *set = apr_pcalloc(p, sizeof(*set));

    set->set_at = set_at_make(p);
    set->problems = apr_hash_make(p);
    set->own_problems = apr_array_make(p, 1, sizeof(problem_t *));
    return set;
}

/* The defaults of the table, read as if they were directives. */
static void defaults_init(mod_md_global_t *g, apr_pool_t *p)
{
    int i;

    for (i = 0; i < g->rows->nelts; ++i) {
        const mod_md_row_t *row = MD_ARR_IDX(g->rows, i, const mod_md_row_t *);
        mod_md_parse_t x;
        char **argv = NULL;
        int argc = 0;

        if (!row->def) {
            continue;
        }
        memset(&x, 0, sizeof(x));
        x.p = p;
        x.row = row;
        x.quiet = 1;
        x.shown = row->def;
        if (apr_tokenize_to_argv(row->def, &argv, p) == APR_SUCCESS) {
            while (argv[argc]) {
                ++argc;
            }
        }
        /* The table's own defaults are valid; a failure here is a bug
         * that the unit of every start would show at once. */
        ap_assert(read_value(&x, row->scope == SCOPE_MD ? (void *)g->builtin : (void *)g,
                             argc, argv) == NULL);
    }
}

/* One per config cycle: userdata of pconf, gone when pconf is cleared. */
static mod_md_global_t *global_get(apr_pool_t *p)
{
    void *data = NULL;
    mod_md_global_t *g;

    apr_pool_userdata_get(&data, GLOBAL_KEY, p);
    if (data) {
        return data;
    }
    g = apr_pcalloc(p, sizeof(*g));
    g->mds = apr_array_make(p, 5, sizeof(md_t *));
    g->md_settings = apr_array_make(p, 5, sizeof(mod_md_settings_t *));
    g->set_at = set_at_make(p);
    g->warnings = apr_array_make(p, 5, sizeof(const char *));
    g->rows = rows_make(p);
    g->builtin = mod_md_config_settings_make(p);
    g->defaults = mod_md_config_settings_make(p);
    defaults_init(g, p);
    apr_pool_userdata_set(g, GLOBAL_KEY, apr_pool_cleanup_null, p);
    return g;
}

/* The table's default of each value a server has of its own. */
static void server_defaults(md_srv_conf_t *sc, const mod_md_global_t *g, apr_pool_t *p)
{
    int i;

    for (i = 0; i < g->rows->nelts; ++i) {
        const mod_md_row_t *row = MD_ARR_IDX(g->rows, i, const mod_md_row_t *);
        mod_md_parse_t x;
        void *scratch;
        char *argv[1];

        if (!row->srv_off) {
            continue;
        }
        scratch = row->scope == SCOPE_MD ? (void *)mod_md_config_settings_make(p)
                                         : apr_pcalloc(p, sizeof(mod_md_global_t));
        memset(&x, 0, sizeof(x));
        x.p = p;
        x.row = row;
        x.quiet = 1;
        x.shown = row->def;
        ap_assert(row->kind == KIND_ENUM && row->def);
        argv[0] = apr_pstrdup(p, row->def);
        ap_assert(read_value(&x, scratch, 1, argv) == NULL);
        *FIELD(sc, row->srv_off, int) = *FIELD(scratch, row->off, int);
    }
}

void *mod_md_config_create_svr(apr_pool_t *p, server_rec *s)
{
    md_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->s = s;
    sc->global = global_get(p);
    sc->set_at = set_at_make(p);
    server_defaults(sc, sc->global, p);
    return sc;
}

void *mod_md_config_merge_svr(apr_pool_t *p, void *basev, void *addv)
{
    md_srv_conf_t *base = basev;
    const md_srv_conf_t *add = addv;
    md_srv_conf_t *sc = apr_pmemdup(p, add, sizeof(*sc));
    const mod_md_global_t *g = add->global;
    int i;

    for (i = 0; i < g->rows->nelts; ++i) {
        const mod_md_row_t *row = MD_ARR_IDX(g->rows, i, const mod_md_row_t *);

        if (row->srv_off && !apr_hash_get(add->set_at, row, sizeof(*row))) {
            *FIELD(sc, row->srv_off, int) = *FIELD(base, row->srv_off, int);
        }
    }
    return sc;
}

md_srv_conf_t *mod_md_config_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &md_module);
}

int mod_md_config_server_sets(const server_rec *s, const char *directive)
{
    const md_srv_conf_t *sc = mod_md_config_get(s);
    int i;

    for (i = 0; sc && mod_md_cmds[i].name; ++i) {
        const mod_md_row_t *row = mod_md_cmds[i].cmd_data;

        if (row && row->srv_off && !ap_cstr_casecmp(mod_md_cmds[i].name, directive)) {
            return apr_hash_get(sc->set_at, row, sizeof(*row)) != NULL;
        }
    }
    return 0;
}

void mod_md_config_add_problem(apr_pool_t *p, mod_md_settings_t *set, const char *type,
                               const char *problem)
{
    problem_t *pb = apr_pcalloc(p, sizeof(*pb));

    pb->type = type;
    pb->text = problem;
    APR_ARRAY_PUSH(set->own_problems, problem_t *) = pb;
}

/* --- the effective settings of each MD --------------------------------------- */

/* The first scope of chain that sets row; the last (the table's defaults)
 * counts only where the row has a default. */
static const mod_md_settings_t *scope_of(const mod_md_settings_t *const *chain, int n,
                                         const mod_md_row_t *row)
{
    int k;

    for (k = 0; k < n - 1; ++k) {
        if (chain[k] && apr_hash_get(chain[k]->set_at, row, sizeof(*row))) {
            return chain[k];
        }
    }
    return row->def ? chain[n - 1] : NULL;
}

static void add_md_problem(md_t *md, const problem_t *pb, apr_pool_t *p)
{
    if (!pb) {
        return;
    }
    if (!md->config_problem) {
        md->config_problem = pb->text;
        md->config_problem_type = pb->type;
    }
    else if (!strstr(md->config_problem, pb->text)) {
        md->config_problem = apr_pstrcat(p, md->config_problem, "; ", pb->text, NULL);
    }
}

static void copy_to_md(md_t *md, const mod_md_row_t *row, const void *from, apr_pool_t *p)
{
    const void *field = (const char *)from + row->off;
    void *to = (char *)md + row->md_off;

    switch (row->to_md) {
    case TO_MD_INT:
        *(int *)to = *(const int *)field;
        break;
    case TO_MD_SLICE:
        if (*(const md_timeslice_t *const *)field) {
            *(md_timeslice_t *)to = **(const md_timeslice_t *const *)field;
        }
        break;
    case TO_MD_STR:
        *(const char **)to = *(const char *const *)field;
        break;
    case TO_MD_ARRAY: {
        const apr_array_header_t *arr = *(apr_array_header_t *const *)field;
        *(apr_array_header_t **)to = arr ? apr_array_copy(p, arr) : NULL;
        break;
    }
    case TO_MD_NONE:
        break;
    }
}

/* md gets, for each per-MD directive, the value of its own section, else
 * of the server config, else the default; and the problems of the values
 * it gets. */
static void apply_settings(md_t *md, const mod_md_settings_t *own, const mod_md_global_t *g,
                           apr_pool_t *p)
{
    const mod_md_settings_t *chain[3];
    const mod_md_settings_t *from;
    const mod_md_row_t *row;
    int i;

    chain[0] = own;
    chain[1] = g->defaults;
    chain[2] = g->builtin;
    /* Problems that are about the MD itself (its names) come first. */
    for (i = 0; own && i < own->own_problems->nelts; ++i) {
        add_md_problem(md, MD_ARR_IDX(own->own_problems, i, problem_t *), p);
    }
    for (i = 0; i < g->rows->nelts; ++i) {
        row = MD_ARR_IDX(g->rows, i, const mod_md_row_t *);
        if (row->scope != SCOPE_MD || !(from = scope_of(chain, 3, row))) {
            continue;
        }
        if (row->to_md == TO_MD_ARRAY && !*(apr_array_header_t *const *)
                                           ((const char *)from + row->off)) {
            /* Set without a value (e.g. MDCertificateAuthority alone): the default. */
            from = g->builtin;
        }
        copy_to_md(md, row, from, p);
        add_md_problem(md, apr_hash_get(from->problems, row, sizeof(*row)), p);
    }
    from = scope_of(chain, 3, &row_eab);
    if (from && from->eab) {
        md->ca_eab_kid = from->eab->kid;
        md->ca_eab_hmac = from->eab->hmac;
        md->ca_eab_alg = from->eab->alg;
    }
    md->renew_window_set = (scope_of(chain, 3, &row_renew_window) != g->builtin);
    /* Static certificate files are not renewed, unless the admin says
     * "always" (the stock module shows them as renew mode manual, too). */
    if (md->cert_files && md->cert_files->nelts > 0 && md->renew_mode != MD_RENEW_ALWAYS) {
        md->renew_mode = MD_RENEW_MANUAL;
    }
}

/* --- whole config ------------------------------------------------------------- */

const char *mod_md_config_finalize(server_rec *base_server, apr_pool_t *p)
{
    mod_md_global_t *g = mod_md_config_get(base_server)->global;
    const char *err;
    int i;

    if (g->finalized) {
        return NULL;
    }
    if (!g->store_dir && !(g->store_dir = ap_server_root_relative(p, "md"))) {
        return "MDStoreDir: the default \"md\" under ServerRoot is not a valid path";
    }
    for (i = 0; i < g->mds->nelts; ++i) {
        apply_settings(MD_ARR_IDX(g->mds, i, md_t *),
                       MD_ARR_IDX(g->md_settings, i, mod_md_settings_t *), g, p);
    }
    mod_md_config_find_ssl_vhosts(g, p);
    if ((err = mod_md_config_check_mds(p, g))) {
        return err;
    }
    /* Never quotes the connection string: it may hold a password. */
    if ((err = md_store_check_backend(g->store_backend, g->store_backend_args, p))) {
        return apr_psprintf(p, "MDStoreBackend: %s", err);
    }
    g->finalized = 1;
    return NULL;
}

int mod_md_config_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *s)
{
    const char *err;

    (void)plog;
    (void)ptemp;
    err = mod_md_config_finalize(s, pconf);
    /* The error log is not open yet: this goes to stderr. */
    if (err || ap_state_query(AP_SQ_RUN_MODE) != AP_SQ_RM_NORMAL) {
        log_warnings(s, mod_md_config_get(s)->global);
    }
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "MD10002: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

int mod_md_config_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                              server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    /* Once per start or restart: not in the first pass of a start. */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        log_warnings(s, mod_md_config_get(s)->global);
    }
    return OK;
}

/* --- accessors ---------------------------------------------------------------- */

int mod_md_config_local_port(const md_srv_conf_t *sc, int external_port)
{
    switch (external_port) {
    case 80:
        return sc->global->local_http_port;
    case 443:
        return sc->global->local_https_port;
    default:
        return -1;
    }
}

const apr_array_header_t *mod_md_config_notify_argv(const md_srv_conf_t *sc)
{
    return sc->global->notify_argv;
}

const apr_array_header_t *mod_md_config_message_argv(const md_srv_conf_t *sc)
{
    return sc->global->message_argv;
}

const char *mod_md_config_mailto(apr_pool_t *p, const char *email)
{
    static const char prefix[] = "mailto:";
    const char *addr = email;
    const char *at = NULL;
    const char *c;

    if (!email) {
        return NULL;
    }
    if (!ap_cstr_casecmpn(addr, prefix, sizeof(prefix) - 1)) {
        addr += sizeof(prefix) - 1;
    }
    for (c = addr; *c; ++c) {
        if (apr_iscntrl(*c) || apr_isspace(*c) || strchr("<>()[]\\,;:\"", *c)) {
            return NULL;
        }
        if (*c == '@') {
            if (at) {
                return NULL;
            }
            at = c;
        }
    }
    if (!at || at == addr || !at[1]) {
        return NULL;
    }
    return addr == email ? apr_pstrcat(p, prefix, addr, NULL) : apr_pstrdup(p, email);
}
