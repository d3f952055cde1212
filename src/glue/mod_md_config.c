/* The MD* directives, per-server and per-cycle config (see mod_md_config.h).
 *
 * Shape: includes, defaults table, forward declarations of the handlers,
 * the command table, config creation/merging, the handlers, then the
 * whole-config steps (finalize, overlaps, apply) and accessors.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include "md.h"
#include "md_crypt.h"
#include "md_dns.h"
#include "md_json.h"
#include "md_jws.h"
#include "md_keys.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"
#include "mod_md_config.h"

#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(md);
#endif

#define GLOBAL_KEY      "mod_md_global_config"
#define UNSET           (-1)

/* --- defaults (STYLE §9: in one table) ----------------------------------- */

static const md_timeslice_t def_renew_window = { .percent = 33, .is_percent = 1 };
static const md_timeslice_t def_warn_window = { .percent = 10, .is_percent = 1 };

/* What an MD gets when neither its section nor the server config sets a
 * value. ca_urls NULL stands for { MOD_MD_CA_URL_DEFAULT }; ca_contact NULL
 * leaves the contacts to mod_md.c (ServerAdmin); pkey_specs NULL is RSA
 * 2048 (md_pkey_specs). */
static const mod_md_settings_t settings_defaults = {
    .transitive = 1,
    .renew_mode = MD_RENEW_AUTO,
    .renew_window = &def_renew_window,
    .warn_window = &def_warn_window,
    .ca_urls = NULL,
    .ca_agreement = NULL,
    .ca_contact = NULL,
    .pkey_specs = NULL,
    .must_staple = 0,
    .require_https = MD_REQUIRE_OFF,
    .ca_challenges = NULL,
    .dns01_cmd = NULL,
    .dns01_version = 1,
    .eab_kid = NULL,
    .http_proxy = NULL,
    .http_proxy_ca_file = NULL,
    .profile = NULL,
    .profile_mandatory = 0,
    .ari_renewals = 1,
};

/* Global (non-MD) defaults. */
#define DEF_LOCAL_HTTP_PORT     80
#define DEF_LOCAL_HTTPS_PORT    443
#define DEF_MANAGE_BASE_SERVER  0
#define DEF_SERVER_STATUS       1
#define DEF_CERTIFICATE_STATUS  1
#define DEF_CERT_CHECK_NAME     "crt.sh"
#define DEF_CERT_CHECK_URL      "https://crt.sh?q="

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

/* --- handlers ------------------------------------------------------------ */

static const char *set_mdomain(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
static const char *set_section(cmd_parms *cmd, void *dc, const char *arg);
static const char *set_members(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
static const char *set_ca(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
static const char *set_agreement(cmd_parms *cmd, void *dc, const char *value);
static const char *set_ca_proto(cmd_parms *cmd, void *dc, const char *value);
static const char *set_contact(cmd_parms *cmd, void *dc, const char *value);
static const char *set_renew_mode(cmd_parms *cmd, void *dc, const char *value);
static const char *set_renew_window(cmd_parms *cmd, void *dc, const char *value);
static const char *set_warn_window(cmd_parms *cmd, void *dc, const char *value);
static const char *set_pkeys(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
static const char *set_must_staple(cmd_parms *cmd, void *dc, const char *value);
static const char *set_require_https(cmd_parms *cmd, void *dc, const char *value);
static const char *set_ca_file(cmd_parms *cmd, void *dc, const char *value);
static const char *set_store_dir(cmd_parms *cmd, void *dc, const char *value);
static const char *set_store_locks(cmd_parms *cmd, void *dc, const char *value);
static const char *set_port_map(cmd_parms *cmd, void *dc, const char *v1, const char *v2);
static const char *set_base_server(cmd_parms *cmd, void *dc, const char *value);
static const char *set_ca_challenges(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
static const char *set_dns01_cmd(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
static const char *set_dns01_version(cmd_parms *cmd, void *dc, const char *value);
static const char *set_server_status(cmd_parms *cmd, void *dc, const char *value);
static const char *set_certificate_status(cmd_parms *cmd, void *dc, const char *value);
static const char *set_cert_check(cmd_parms *cmd, void *dc, const char *name, const char *url);
static const char *set_cert_file(cmd_parms *cmd, void *dc, const char *value);
static const char *set_key_file(cmd_parms *cmd, void *dc, const char *value);
/* External account binding, proxy, profiles, ARI, notifications. */
static const char *set_eab(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
static const char *set_http_proxy(cmd_parms *cmd, void *dc, const char *value);
static const char *set_http_proxy_ca_file(cmd_parms *cmd, void *dc, const char *value);
static const char *set_profile(cmd_parms *cmd, void *dc, const char *value);
static const char *set_profile_mandatory(cmd_parms *cmd, void *dc, const char *value);
static const char *set_renew_via_ari(cmd_parms *cmd, void *dc, const char *value);
static const char *set_notify_cmd(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
/* Renewal timing, parallelism and activation. */
static const char *set_activation_auto(cmd_parms *cmd, void *dc, const char *value);
static const char *set_global_duration(cmd_parms *cmd, void *dc, const char *value);
static const char *set_global_number(cmd_parms *cmd, void *dc, const char *value);
/* A store shared by a cluster (issue 12). */
static const char *set_store_backend(cmd_parms *cmd, void *dc, const char *type,
                                     const char *args);
static const char *set_store_cluster_time(cmd_parms *cmd, void *dc, const char *value);

const command_rec mod_md_cmds[] = {
    AP_INIT_TAKE_ARGV("MDomain", set_mdomain, NULL, RSRC_CONF,
                      "A group of domain names sharing one certificate; "
                      "auto|manual: add ServerAlias names of its vhosts or not"),
    AP_INIT_RAW_ARGS("<MDomainSet", set_section, NULL, RSRC_CONF,
                     "Container for a managed domain with its own settings"),
    AP_INIT_RAW_ARGS("<MDomain", set_section, NULL, RSRC_CONF,
                     "Short form of <MDomainSet>"),
    AP_INIT_TAKE_ARGV("MDMember", set_members, NULL, RSRC_CONF,
                      "Domain name(s) of the enclosing managed domain, or auto|manual"),
    AP_INIT_TAKE_ARGV("MDMembers", set_members, NULL, RSRC_CONF,
                      "auto|manual: add ServerAlias names of vhosts to the MD or not"),
    AP_INIT_TAKE_ARGV("MDCertificateAuthority", set_ca, NULL, RSRC_CONF,
                      "ACME directory URL(s) or CA name(s) (" CA_NAMES_TEXT ")"),
    AP_INIT_TAKE1("MDCertificateAgreement", set_agreement, NULL, RSRC_CONF,
                  "'accepted' or the URL of the CA's Terms of Service you accept"),
    AP_INIT_TAKE1("MDCertificateProtocol", set_ca_proto, NULL, RSRC_CONF,
                  "Protocol to obtain certificates with; only ACME"),
    AP_INIT_TAKE1("MDContactEmail", set_contact, NULL, RSRC_CONF,
                  "Email address for the ACME account (default: ServerAdmin)"),
    AP_INIT_TAKE1("MDRenewMode", set_renew_mode, NULL, RSRC_CONF,
                  "auto|always|manual: when to obtain and renew certificates"),
    AP_INIT_TAKE1("MDDriveMode", set_renew_mode, NULL, RSRC_CONF,
                  "Old name of MDRenewMode"),
    AP_INIT_TAKE1("MDRenewWindow", set_renew_window, NULL, RSRC_CONF,
                  "Renew when this much of the lifetime remains (33%, 30d)"),
    AP_INIT_TAKE1("MDWarnWindow", set_warn_window, NULL, RSRC_CONF,
                  "Warn when this much of the lifetime remains (10%, 7d)"),
    AP_INIT_TAKE_ARGV("MDPrivateKeys", set_pkeys, NULL, RSRC_CONF,
                      "Key type(s) for certificates: RSA [bits], P-256, P-384, ... or Default"),
    AP_INIT_TAKE1("MDMustStaple", set_must_staple, NULL, RSRC_CONF,
                  "on|off: request the OCSP Must-Staple extension"),
    AP_INIT_TAKE1("MDRequireHttps", set_require_https, NULL, RSRC_CONF,
                  "off|temporary|permanent: redirect http: requests to https:"),
    AP_INIT_TAKE1("MDCACertificateFile", set_ca_file, NULL, RSRC_CONF,
                  "PEM file with the CA certificates to trust for the ACME server"),
    AP_INIT_TAKE1("MDStoreDir", set_store_dir, NULL, RSRC_CONF,
                  "Directory of the certificate store (default: md under ServerRoot)"),
    AP_INIT_TAKE1("MDStoreLocks", set_store_locks, NULL, RSRC_CONF,
                  "on|off|DURATION: lock the store while syncing at start-up, waiting "
                  "at most DURATION (on: " MOD_MD_STORE_LOCKS_WAIT_DEFAULT_STR ")"),
    AP_INIT_TAKE12("MDPortMap", set_port_map, NULL, RSRC_CONF,
                   "http:PORT https:PORT: the local ports the outside reaches as "
                   "80 and 443; '-' for not reachable"),
    AP_INIT_TAKE1("MDBaseServer", set_base_server, NULL, RSRC_CONF,
                  "on|off: manage names of the base server outside vhosts"),
    AP_INIT_TAKE_ARGV("MDCAChallenges", set_ca_challenges, NULL, RSRC_CONF,
                      "Challenge types to use, in order: http-01, tls-alpn-01, dns-01"),
    AP_INIT_TAKE_ARGV("MDChallengeDns01", set_dns01_cmd, NULL, RSRC_CONF,
                      "Program (and arguments) to set up and tear down dns-01 TXT records"),
    AP_INIT_TAKE1("MDChallengeDns01Version", set_dns01_version, NULL, RSRC_CONF,
                  "1|2: with 2 the dns-01 teardown also gets the TXT value"),
    AP_INIT_TAKE1("MDServerStatus", set_server_status, NULL, RSRC_CONF,
                  "on|off: show the managed certificates in server-status"),
    AP_INIT_TAKE1("MDCertificateStatus", set_certificate_status, NULL, RSRC_CONF,
                  "on|off: answer /.httpd/certificate-status on managed hosts"),
    AP_INIT_TAKE2("MDCertificateCheck", set_cert_check, NULL, RSRC_CONF,
                  "name url: a site to look certificates up at, linked in server-status"),
    AP_INIT_TAKE2("MDCertificateMonitor", set_cert_check, NULL, RSRC_CONF,
                  "Old name of MDCertificateCheck"),
    AP_INIT_TAKE1("MDCertificateFile", set_cert_file, NULL, RSRC_CONF,
                  "A certificate file (PEM) for the enclosing MD, used instead of the CA"),
    AP_INIT_TAKE1("MDCertificateKeyFile", set_key_file, NULL, RSRC_CONF,
                  "The private key file for the MDCertificateFile before it"),
    AP_INIT_TAKE_ARGV("MDExternalAccountBinding", set_eab, NULL, RSRC_CONF,
                      "key-id hmac-key [HS256|HS384|HS512], a JSON file with kid and hmac, "
                      "or none: external account binding for new ACME accounts"),
    AP_INIT_TAKE1("MDHttpProxy", set_http_proxy, NULL, RSRC_CONF,
                  "http(s)://host:port of a proxy for all traffic to the CA, or none"),
    AP_INIT_TAKE1("MDHttpProxyCACertificateFile", set_http_proxy_ca_file, NULL, RSRC_CONF,
                  "PEM file with the CA certificates to trust for an https proxy"),
    AP_INIT_TAKE1("MDProfile", set_profile, NULL, RSRC_CONF,
                  "ACME profile to order certificates with, if the CA offers it, or none"),
    AP_INIT_TAKE1("MDProfileMandatory", set_profile_mandatory, NULL, RSRC_CONF,
                  "on|off: fail when the CA does not offer the MDProfile"),
    AP_INIT_TAKE1("MDRenewViaARI", set_renew_via_ari, NULL, RSRC_CONF,
                  "on|off: renew when the CA's ACME Renewal Information (RFC 9773) says"),
    AP_INIT_TAKE_ARGV("MDNotifyCmd", set_notify_cmd, NULL, RSRC_CONF,
                      "Program [args] run with the MD name when its certificate was renewed"),
    AP_INIT_TAKE_ARGV("MDMessageCmd", set_notify_cmd, (void *)1, RSRC_CONF,
                      "Program [args] run with reason and MD name on events of an MD"),
    AP_INIT_TAKE1("MDActivationAuto", set_activation_auto, NULL, RSRC_CONF,
                  "on|off: put staged certificates live by a graceful restart of the "
                  "server by itself"),
    AP_INIT_TAKE1("MDActivationDelay", set_global_duration,
                  (void *)APR_OFFSETOF(mod_md_global_t, activation_delay), RSRC_CONF,
                  "How long a new certificate must have been valid before it goes live"),
    AP_INIT_TAKE1("MDCheckInterval", set_global_duration,
                  (void *)APR_OFFSETOF(mod_md_global_t, check_interval), RSRC_CONF,
                  "Longest time between two checks of the certificates (at least 1s)"),
    AP_INIT_TAKE1("MDInitialDelay", set_global_duration,
                  (void *)APR_OFFSETOF(mod_md_global_t, initial_delay), RSRC_CONF,
                  "How long after start the first check waits"),
    AP_INIT_TAKE1("MDRetryDelay", set_global_duration,
                  (void *)APR_OFFSETOF(mod_md_global_t, retry_delay), RSRC_CONF,
                  "Delay before the first retry of a failed renewal, doubled per error"),
    AP_INIT_TAKE1("MDRetryFailover", set_global_number,
                  (void *)APR_OFFSETOF(mod_md_global_t, retry_failover), RSRC_CONF,
                  "Failed attempts before the next CA of MDCertificateAuthority is used"),
    AP_INIT_TAKE1("MDParallelRenewals", set_global_number,
                  (void *)APR_OFFSETOF(mod_md_global_t, parallel_renewals), RSRC_CONF,
                  "How many MDs get certificates at the same time"),
    /* A store shared by a cluster. */
    AP_INIT_TAKE12("MDStoreBackend", set_store_backend, NULL, RSRC_CONF,
                   "file | postgresql \"<libpq connection string>\": where the store is; "
                   "MDStoreDir stays this server's local directory"),
    AP_INIT_TAKE1("MDStorePollInterval", set_store_cluster_time,
                  (void *)APR_OFFSETOF(mod_md_global_t, store_poll_interval), RSRC_CONF,
                  "How often a server asks a shared store for certificates of others "
                  "(default 30s)"),
    AP_INIT_TAKE1("MDStoreLeaseTime", set_store_cluster_time,
                  (void *)APR_OFFSETOF(mod_md_global_t, store_lease_time), RSRC_CONF,
                  "How long a server's claim on a renewal lasts without renewal "
                  "(default 60s)"),
    AP_INIT_TAKE1(NULL, NULL, NULL, RSRC_CONF, NULL),
};

/* --- config objects ------------------------------------------------------ */

static void settings_clear(mod_md_settings_t *set)
{
    memset(set, 0, sizeof(*set));
    set->transitive = UNSET;
    set->renew_mode = MD_RENEW_DEFAULT;
    set->must_staple = UNSET;
    set->require_https = MD_REQUIRE_UNSET;
    set->dns01_version = UNSET;
    set->profile_mandatory = UNSET;
    set->ari_renewals = UNSET;
}

/* to = add's value where set, else base's. */
static void settings_merge(mod_md_settings_t *to, const mod_md_settings_t *base,
                           const mod_md_settings_t *add)
{
    to->transitive = add->transitive != UNSET ? add->transitive : base->transitive;
    to->renew_mode = add->renew_mode != MD_RENEW_DEFAULT ? add->renew_mode : base->renew_mode;
    to->renew_window = add->renew_window ? add->renew_window : base->renew_window;
    to->warn_window = add->warn_window ? add->warn_window : base->warn_window;
    to->ca_urls = add->ca_urls ? add->ca_urls : base->ca_urls;
    to->ca_agreement = add->ca_agreement ? add->ca_agreement : base->ca_agreement;
    to->ca_contact = add->ca_contact ? add->ca_contact : base->ca_contact;
    to->pkey_specs = add->pkey_specs ? add->pkey_specs : base->pkey_specs;
    to->must_staple = add->must_staple != UNSET ? add->must_staple : base->must_staple;
    to->require_https = (add->require_https != MD_REQUIRE_UNSET) ? add->require_https
                                                                 : base->require_https;
    to->ca_challenges = add->ca_challenges ? add->ca_challenges : base->ca_challenges;
    to->dns01_cmd = add->dns01_cmd ? add->dns01_cmd : base->dns01_cmd;
    to->dns01_version = add->dns01_version != UNSET ? add->dns01_version
                                                    : base->dns01_version;
    if (add->eab_kid) {
        to->eab_kid = add->eab_kid;
        to->eab_hmac = add->eab_hmac;
        to->eab_alg = add->eab_alg;
    }
    else {
        to->eab_kid = base->eab_kid;
        to->eab_hmac = base->eab_hmac;
        to->eab_alg = base->eab_alg;
    }
    to->http_proxy = add->http_proxy ? add->http_proxy : base->http_proxy;
    to->http_proxy_ca_file = add->http_proxy_ca_file ? add->http_proxy_ca_file
                                                     : base->http_proxy_ca_file;
    to->profile = add->profile ? add->profile : base->profile;
    to->profile_mandatory = add->profile_mandatory != UNSET ? add->profile_mandatory
                                                            : base->profile_mandatory;
    to->ari_renewals = add->ari_renewals != UNSET ? add->ari_renewals : base->ari_renewals;
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
    g->local_http_port = DEF_LOCAL_HTTP_PORT;
    g->local_https_port = DEF_LOCAL_HTTPS_PORT;
    g->manage_base_server = DEF_MANAGE_BASE_SERVER;
    g->server_status = DEF_SERVER_STATUS;
    g->certificate_status = DEF_CERTIFICATE_STATUS;
    g->cert_check_name = DEF_CERT_CHECK_NAME;
    g->cert_check_url = DEF_CERT_CHECK_URL;
    g->activation_auto = UNSET;
    g->activation_delay = UNSET;
    g->parallel_renewals = UNSET;
    g->check_interval = UNSET;
    g->initial_delay = UNSET;
    g->retry_delay = UNSET;
    g->retry_failover = UNSET;
    apr_pool_userdata_set(g, GLOBAL_KEY, apr_pool_cleanup_null, p);
    return g;
}

void *mod_md_config_create_svr(apr_pool_t *p, server_rec *s)
{
    md_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->s = s;
    sc->global = global_get(p);
    settings_clear(&sc->settings);
    if (s && !s->is_virtual) {
        sc->global->defaults = &sc->settings;
    }
    return sc;
}

void *mod_md_config_merge_svr(apr_pool_t *p, void *basev, void *addv)
{
    const md_srv_conf_t *base = basev;
    const md_srv_conf_t *add = addv;
    md_srv_conf_t *nsc = apr_pcalloc(p, sizeof(*nsc));

    nsc->s = add->s;
    nsc->global = add->global ? add->global : base->global;
    settings_merge(&nsc->settings, &base->settings, &add->settings);
    return nsc;
}

md_srv_conf_t *mod_md_config_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &md_module);
}

static md_srv_conf_t *cmd_conf(cmd_parms *cmd)
{
    return mod_md_config_get(cmd->server);
}

/* --- handler helpers ----------------------------------------------------- */

/* The name as written in the config: "<MDomainSet>" for sections. */
static const char *dname(cmd_parms *cmd)
{
    const char *name = cmd->cmd->name;
    return name[0] == '<' ? apr_pstrcat(cmd->pool, name, ">", NULL) : name;
}

static int is_word(const char *s, const char *word)
{
    return !ap_cstr_casecmp(s, word);
}

/* Where a per-MD directive writes: the section's settings inside an MD
 * section, the server's settings in the server config. Like the stock
 * module, not inside a VirtualHost. */
static const char *scope_get(cmd_parms *cmd, mod_md_settings_t **pset, md_t **pmd)
{
    md_srv_conf_t *sc = cmd_conf(cmd);
    const char *err;

    if (sc->current) {
        *pset = sc->current_settings;
        *pmd = sc->current;
        return NULL;
    }
    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    *pset = &sc->settings;
    *pmd = NULL;
    return NULL;
}

/* Directives that configure the server as a whole (store, ports, ...). */
static const char *global_only(cmd_parms *cmd)
{
    md_srv_conf_t *sc = cmd_conf(cmd);

    if (sc->current) {
        return apr_psprintf(cmd->pool, "%s: not allowed inside <MDomainSet %s>, "
                            "only in the server config", dname(cmd), sc->current->name);
    }
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

/* A setting given twice: in an MD section that is a mistake in a few
 * lines, so an error; in the server config (often spread over includes)
 * the later value wins, as in the stock module, with a warning. */
static const char *check_twice(cmd_parms *cmd, int already_set, const md_t *md)
{
    if (!already_set) {
        return NULL;
    }
    if (md) {
        return apr_psprintf(cmd->pool, "%s: given twice for MDomain %s", dname(cmd), md->name);
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, cmd->server,
                 "MD10001: %s:%d: %s given again, this later value wins",
                 cmd->directive->filename, cmd->directive->line_num, dname(cmd));
    return NULL;
}

static const char *set_on_off(cmd_parms *cmd, int *pvalue, const char *value)
{
    if (is_word(value, "on")) {
        *pvalue = 1;
    }
    else if (is_word(value, "off")) {
        *pvalue = 0;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not one of on, off", dname(cmd), value);
    }
    return NULL;
}

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

static int is_ip_literal(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Why name is no domain name, for the message. */
static const char *name_problem(apr_pool_t *p, const char *name)
{
    const char *reason = NULL;
    const char *c;

    for (c = name; *c; ++c) {
        if (!apr_isalnum(*c) && *c != '-' && *c != '.' && *c != '*') {
            if (apr_isprint(*c)) {
                return apr_psprintf(p, "invalid character '%c'", *c);
            }
            return apr_psprintf(p, "invalid character 0x%02x", (unsigned char)*c);
        }
    }
    md_dns_is_name(name, 1, 0, &reason);
    return reason ? reason : "not a host name";
}

/* Validate one name and add it, lower case, to md. Wildcards ("*.a.test")
 * pass here: whether the CA can issue them (dns-01 only) is the drive's
 * business. IP literals are ACME identifiers too (RFC 8738). */
static const char *add_name(cmd_parms *cmd, md_t *md, const char *name)
{
    const char *lname;

    if (!is_ip_literal(name) && !md_dns_is_name(name, 1, 0, NULL)) {
        const char *hint = "";
        if (is_word(name, "always")) {
            hint = "; the renew mode is set with MDRenewMode";
        }
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a valid domain name (%s)%s",
                            dname(cmd), name, name_problem(cmd->pool, name), hint);
    }
    lname = md_util_str_tolower(cmd->pool, name);
    if (md_array_str_index(md->domains, lname, 0, 0) >= 0) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is listed twice in MDomain %s",
                            dname(cmd), name, md->name ? md->name : lname);
    }
    APR_ARRAY_PUSH(md->domains, const char *) = lname;
    if (!md->name) {
        md->name = lname;
    }
    return NULL;
}

/* "auto"/"manual" in a list of names: MDMembers. 1 if word was one. */
static int members_word(const char *word, int *ptransitive)
{
    if (is_word(word, "auto")) {
        *ptransitive = 1;
        return 1;
    }
    if (is_word(word, "manual")) {
        *ptransitive = 0;
        return 1;
    }
    return 0;
}

/* An MD from the names (and auto|manual) of MDomain or a section. Added to
 * the global list only when every word is valid. */
static const char *md_define(cmd_parms *cmd, int argc, const char *const *argv,
                             md_t **pmd, mod_md_settings_t **pset)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    mod_md_settings_t *set;
    md_t *md;
    const char *err;
    int i;

    md = md_create_empty(cmd->pool);
    md->name = NULL;
    md->domains = apr_array_make(cmd->pool, argc > 0 ? argc : 1, sizeof(const char *));
    md->defn_name = cmd->directive->filename;
    md->defn_line_number = (unsigned)(cmd->directive->line_num > 0
                                      ? cmd->directive->line_num : 0);
    set = apr_palloc(cmd->pool, sizeof(*set));
    settings_clear(set);

    for (i = 0; i < argc; ++i) {
        int transitive;
        if (members_word(argv[i], &transitive)) {
            if (set->transitive != UNSET && set->transitive != transitive) {
                return apr_psprintf(cmd->pool, "%s: both auto and manual given", dname(cmd));
            }
            set->transitive = transitive;
        }
        else if ((err = add_name(cmd, md, argv[i]))) {
            return err;
        }
    }
    if (md->domains->nelts == 0) {
        return apr_psprintf(cmd->pool, "%s: needs at least one domain name", dname(cmd));
    }
    APR_ARRAY_PUSH(g->mds, md_t *) = md;
    APR_ARRAY_PUSH(g->md_settings, mod_md_settings_t *) = set;
    *pmd = md;
    *pset = set;
    return NULL;
}

/* --- MD definitions ------------------------------------------------------ */

static const char *set_mdomain(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_srv_conf_t *sc = cmd_conf(cmd);
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if (sc->current) {
        return apr_psprintf(cmd->pool, "MDomain: not allowed inside <MDomainSet %s>; "
                            "add names to it with MDMember", sc->current->name);
    }
    /* As the stock module: also inside <VirtualHost>, where it defines the
     * same global MD (existing configs put it next to the vhost it serves). */
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE))) {
        return err;
    }
    return md_define(cmd, argc, (const char *const *)argv, &md, &set);
}

/* <MDomainSet names...> / <MDomain names...>: define the MD, then read the
 * directives inside with it as the current MD. */
static const char *set_section(cmd_parms *cmd, void *dc, const char *arg)
{
    md_srv_conf_t *sc = cmd_conf(cmd);
    apr_array_header_t *words;
    const char *endp;
    const char *args;
    const char *err;
    mod_md_settings_t *set;
    md_t *md;

    (void)dc;
    if (sc->current) {
        return apr_psprintf(cmd->pool, "%s: sections cannot be nested (inside "
                            "<MDomainSet %s>)", dname(cmd), sc->current->name);
    }
    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    endp = ap_strrchr_c(arg, '>');
    if (!endp) {
        return apr_psprintf(cmd->pool, "%s: missing closing '>'", dname(cmd));
    }
    args = apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(endp - arg));
    words = apr_array_make(cmd->pool, 5, sizeof(const char *));
    while (*args) {
        const char *w = ap_getword_conf(cmd->pool, &args);
        if (*w) {
            APR_ARRAY_PUSH(words, const char *) = w;
        }
    }
    if ((err = md_define(cmd, words->nelts, (const char *const *)words->elts, &md, &set))) {
        return err;
    }

    sc->current = md;
    sc->current_settings = set;
    err = ap_walk_config(cmd->directive->first_child, cmd, cmd->context);
    sc->current = NULL;
    sc->current_settings = NULL;
    return err;
}

static const char *set_members(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    md_srv_conf_t *sc = cmd_conf(cmd);
    mod_md_settings_t *set;
    md_t *md;
    const char *err;
    int transitive;
    int i;

    (void)dc;
    if (argc == 0) {
        return apr_psprintf(cmd->pool, "%s: needs domain names, or auto or manual",
                            dname(cmd));
    }
    if (!sc->current) {
        if (argc != 1 || !members_word(argv[0], &transitive)) {
            return apr_psprintf(cmd->pool, "%s: \"%s\": names can only be added inside "
                                "an <MDomainSet> or <MDomain> section; outside one, only "
                                "auto or manual are accepted", dname(cmd), argv[0]);
        }
        if ((err = scope_get(cmd, &set, &md))
            || (err = check_twice(cmd, set->transitive != UNSET, md))) {
            return err;
        }
        set->transitive = transitive;
        return NULL;
    }
    for (i = 0; i < argc; ++i) {
        if (members_word(argv[i], &transitive)) {
            if (sc->current_settings->transitive != UNSET
                && sc->current_settings->transitive != transitive) {
                return apr_psprintf(cmd->pool, "%s: auto and manual both given for "
                                    "MDomain %s", dname(cmd), sc->current->name);
            }
            sc->current_settings->transitive = transitive;
        }
        else if ((err = add_name(cmd, sc->current, argv[i]))) {
            return err;
        }
    }
    return NULL;
}

/* --- per-MD settings ----------------------------------------------------- */

static const char *set_ca(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    mod_md_settings_t *set;
    apr_array_header_t *urls;
    md_t *md;
    const char *err;
    int i;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md)) || (err = check_twice(cmd, set->ca_urls != NULL, md))) {
        return err;
    }
    if (argc == 0) {
        return apr_psprintf(cmd->pool, "%s: needs a URL or one of " CA_NAMES_TEXT,
                            dname(cmd));
    }
    urls = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 0; i < argc; ++i) {
        const char *url = NULL;
        apr_size_t k;

        for (k = 0; k < sizeof(ca_names) / sizeof(ca_names[0]); ++k) {
            if (is_word(argv[i], ca_names[k].name)) {
                url = ca_names[k].url;
                break;
            }
        }
        if (!url) {
            if (!is_http_url(cmd->pool, argv[i])) {
                return apr_psprintf(cmd->pool, "%s: \"%s\" is neither an http(s) URL nor "
                                    "one of " CA_NAMES_TEXT, dname(cmd), argv[i]);
            }
            url = argv[i];
        }
        if (md_array_str_index(urls, url, 0, 1) >= 0) {
            return apr_psprintf(cmd->pool, "%s: \"%s\" is given twice", dname(cmd), argv[i]);
        }
        APR_ARRAY_PUSH(urls, const char *) = url;
    }
    set->ca_urls = urls;
    return NULL;
}

static const char *set_agreement(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->ca_agreement != NULL, md))) {
        return err;
    }
    if (is_word(value, "accepted")) {
        set->ca_agreement = "accepted";
    }
    else if (is_http_url(cmd->pool, value)) {
        /* The stock module's older form: the ToS URL the admin agreed to. */
        set->ca_agreement = value;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is neither \"accepted\" nor the "
                            "http(s) URL of the Terms of Service", dname(cmd), value);
    }
    return NULL;
}

/* Kept for configs written for the stock module: ACME is all there is. */
static const char *set_ca_proto(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))) {
        return err;
    }
    if (!is_word(value, "ACME")) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not supported, only ACME",
                            dname(cmd), value);
    }
    return NULL;
}

static const char *set_contact(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;
    const char *mailto;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->ca_contact != NULL, md))) {
        return err;
    }
    if (!(mailto = mod_md_config_mailto(cmd->pool, value))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not an email address "
                            "(like admin@example.org)", dname(cmd), value);
    }
    set->ca_contact = mailto;
    return NULL;
}

static const char *set_renew_mode(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;
    md_renew_mode_t mode;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->renew_mode != MD_RENEW_DEFAULT, md))) {
        return err;
    }
    /* "automatic" and "stick" are accepted as the stock module does. */
    if (is_word(value, "auto") || is_word(value, "automatic")) {
        mode = MD_RENEW_AUTO;
    }
    else if (is_word(value, "always")) {
        mode = MD_RENEW_ALWAYS;
    }
    else if (is_word(value, "manual") || is_word(value, "stick")) {
        mode = MD_RENEW_MANUAL;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not one of auto, always, manual",
                            dname(cmd), value);
    }
    set->renew_mode = mode;
    return NULL;
}

/* MDRenewWindow / MDWarnWindow: a percentage of the lifetime or a duration.
 * md_timeslice_parse's message names the value and what is accepted. */
static const char *set_window(cmd_parms *cmd, const md_timeslice_t **pwindow,
                              const char *value)
{
    md_timeslice_t *ts;
    const char *perr = NULL;

    ts = apr_pcalloc(cmd->pool, sizeof(*ts));
    if (md_timeslice_parse(ts, value, &perr, cmd->pool) != APR_SUCCESS) {
        if (perr) {
            return apr_psprintf(cmd->pool, "%s: %s", dname(cmd), perr);
        }
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a duration or percentage "
                            "(e.g. 33%%, 30d)", dname(cmd), value);
    }
    *pwindow = ts;
    return NULL;
}

static const char *set_renew_window(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->renew_window != NULL, md))) {
        return err;
    }
    return set_window(cmd, &set->renew_window, value);
}

static const char *set_warn_window(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->warn_window != NULL, md))) {
        return err;
    }
    return set_window(cmd, &set->warn_window, value);
}

static const char *set_pkeys(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    mod_md_settings_t *set;
    apr_array_header_t *specs;
    md_t *md;
    const char *err;
    int i;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->pkey_specs != NULL, md))) {
        return err;
    }
    if (argc == 0) {
        return apr_psprintf(cmd->pool, "%s: needs a key type (RSA [bits], P-256, P-384, "
                            "or Default)", dname(cmd));
    }
    specs = apr_array_make(cmd->pool, argc, sizeof(md_pkey_spec_t *));
    if (is_word(argv[0], "Default")) {
        if (argc > 1) {
            return apr_psprintf(cmd->pool, "%s: \"Default\" takes no other key types",
                                dname(cmd));
        }
        set->pkey_specs = specs; /* empty: md.h's default, RSA 2048 */
        return NULL;
    }
    for (i = 0; i < argc; ++i) {
        md_pkey_spec_t *spec = NULL;
        const char *perr = NULL;
        int used = 0;
        int k;

        if (md_pkey_spec_parse(&spec, argv[i], i + 1 < argc ? argv[i + 1] : NULL, &used,
                               &perr, cmd->pool) != APR_SUCCESS || !spec) {
            /* md_pkey_spec_parse's message names the word and what is accepted. */
            if (perr) {
                return apr_psprintf(cmd->pool, "%s: %s", dname(cmd), perr);
            }
            return apr_psprintf(cmd->pool, "%s: \"%s\" is not a key type (e.g. RSA, "
                                "RSA 3072, P-256, P-384, or Default alone)", dname(cmd),
                                argv[i]);
        }
        for (k = 0; k < specs->nelts; ++k) {
            const md_pkey_spec_t *other = MD_ARR_IDX(specs, k, md_pkey_spec_t *);
            if (!strcmp(md_pkey_spec_name(other), md_pkey_spec_name(spec))) {
                return apr_psprintf(cmd->pool, "%s: key type \"%s\" is given twice (one "
                                    "certificate per key type)", dname(cmd), argv[i]);
            }
        }
        APR_ARRAY_PUSH(specs, md_pkey_spec_t *) = spec;
        if (used) {
            ++i;
        }
    }
    set->pkey_specs = specs;
    return NULL;
}

static const char *set_must_staple(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->must_staple != UNSET, md))) {
        return err;
    }
    return set_on_off(cmd, &set->must_staple, value);
}

static const char *set_require_https(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->require_https != MD_REQUIRE_UNSET, md))) {
        return err;
    }
    if (is_word(value, "off")) {
        set->require_https = MD_REQUIRE_OFF;
    }
    else if (is_word(value, "temporary")) {
        set->require_https = MD_REQUIRE_TEMPORARY;
    }
    else if (is_word(value, "permanent")) {
        set->require_https = MD_REQUIRE_PERMANENT;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not one of off, temporary, permanent",
                            dname(cmd), value);
    }
    return NULL;
}

/* Challenge types MDCAChallenges accepts. */
static const char *const known_challenges[] = {
    MD_CHAL_HTTP01, MD_CHAL_TLSALPN01, MD_CHAL_DNS01,
};
#define CHALLENGES_TEXT MD_CHAL_HTTP01 ", " MD_CHAL_TLSALPN01 ", " MD_CHAL_DNS01

static const char *set_ca_challenges(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    mod_md_settings_t *set;
    apr_array_header_t *types;
    md_t *md;
    const char *err;
    int i;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->ca_challenges != NULL, md))) {
        return err;
    }
    if (argc == 0) {
        return apr_psprintf(cmd->pool, "%s: needs one or more of " CHALLENGES_TEXT,
                            dname(cmd));
    }
    types = apr_array_make(cmd->pool, argc, sizeof(const char *));
    for (i = 0; i < argc; ++i) {
        const char *type = NULL;
        apr_size_t k;

        for (k = 0; k < sizeof(known_challenges) / sizeof(known_challenges[0]); ++k) {
            if (is_word(argv[i], known_challenges[k])) {
                type = known_challenges[k];
            }
        }
        if (!type) {
            return apr_psprintf(cmd->pool, "%s: \"%s\" is not a challenge type (one of "
                                CHALLENGES_TEXT ")", dname(cmd), argv[i]);
        }
        if (md_array_str_index(types, type, 0, 1) >= 0) {
            return apr_psprintf(cmd->pool, "%s: \"%s\" is given twice", dname(cmd), argv[i]);
        }
        APR_ARRAY_PUSH(types, const char *) = type;
    }
    set->ca_challenges = types;
    return NULL;
}

static const char *set_dns01_cmd(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    mod_md_settings_t *set;
    apr_array_header_t *words;
    apr_finfo_t finfo;
    md_t *md;
    const char *path;
    const char *err;
    int i;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->dns01_cmd != NULL, md))) {
        return err;
    }
    if (argc == 0 || !*argv[0]) {
        return apr_psprintf(cmd->pool, "%s: needs the path of a program", dname(cmd));
    }
    /* Run without a shell: the program must be a file we can name. */
    if (!(path = ap_server_root_relative(cmd->pool, argv[0]))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a valid path", dname(cmd),
                            argv[0]);
    }
    if (apr_stat(&finfo, path, APR_FINFO_TYPE | APR_FINFO_PROT, cmd->pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: program \"%s\" does not exist", dname(cmd),
                            path);
    }
    if (finfo.filetype != APR_REG
        || !(finfo.protection & (APR_UEXECUTE | APR_GEXECUTE | APR_WEXECUTE))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not an executable file", dname(cmd),
                            path);
    }
    words = apr_array_make(cmd->pool, argc, sizeof(const char *));
    APR_ARRAY_PUSH(words, const char *) = path;
    for (i = 1; i < argc; ++i) {
        APR_ARRAY_PUSH(words, const char *) = argv[i];
    }
    set->dns01_cmd = words;
    return NULL;
}

static const char *set_dns01_version(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->dns01_version != UNSET, md))) {
        return err;
    }
    if (!strcmp(value, "1")) {
        set->dns01_version = 1;
    }
    else if (!strcmp(value, "2")) {
        set->dns01_version = 2;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not one of 1, 2", dname(cmd), value);
    }
    return NULL;
}

/* --- server-wide settings ------------------------------------------------ */

static const char *set_ca_file(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    apr_finfo_t finfo;
    const char *path;
    const char *err;

    (void)dc;
    if ((err = global_only(cmd)) || (err = check_twice(cmd, g->ca_file != NULL, NULL))) {
        return err;
    }
    if (!(path = ap_server_root_relative(cmd->pool, value))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a valid path", dname(cmd), value);
    }
    if (apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: file \"%s\" does not exist", dname(cmd), path);
    }
    if (finfo.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a file", dname(cmd), path);
    }
    g->ca_file = path;
    return NULL;
}

static const char *set_store_dir(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    const char *path;
    const char *err;

    (void)dc;
    if ((err = global_only(cmd)) || (err = check_twice(cmd, g->store_dir != NULL, NULL))) {
        return err;
    }
    if (!*value || !(path = ap_server_root_relative(cmd->pool, value))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a valid path", dname(cmd), value);
    }
    g->store_dir = path;
    return NULL;
}

static const char *set_store_locks(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    apr_interval_time_t wait;
    const char *err;

    (void)dc;
    if ((err = global_only(cmd)) || (err = check_twice(cmd, g->store_locks_set, NULL))) {
        return err;
    }
    g->store_locks_set = 1;
    if (!strcasecmp(value, "off")) {
        g->store_locks = 0;
    }
    else if (!strcasecmp(value, "on")) {
        g->store_locks = MOD_MD_STORE_LOCKS_WAIT_DEFAULT;
    }
    else if (md_duration_parse(&wait, value, "s") == APR_SUCCESS && wait > 0) {
        g->store_locks = wait;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not on, off or a duration greater "
                            "than 0 (e.g. 30s, 2mi; seconds if no unit)", dname(cmd), value);
    }
    return NULL;
}

/* One "EXT:LOCAL" of MDPortMap; EXT is http, https, 80 or 443, LOCAL a
 * port or "-". */
static const char *port_map_one(cmd_parms *cmd, const char *value, int *pseen)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    const char *colon = strchr(value, ':');
    const char *ext;
    const char *local;
    int *pport;
    int bit;
    int port;

    if (!colon) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not of the form http:PORT or "
                            "https:PORT (PORT 1..65535 or -)", dname(cmd), value);
    }
    ext = apr_pstrmemdup(cmd->pool, value, (apr_size_t)(colon - value));
    local = colon + 1;
    if (is_word(ext, "http") || !strcmp(ext, "80")) {
        pport = &g->local_http_port;
        bit = 1;
    }
    else if (is_word(ext, "https") || !strcmp(ext, "443")) {
        pport = &g->local_https_port;
        bit = 2;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: \"%s\" maps \"%s\"; only http (80) and "
                            "https (443) can be mapped", dname(cmd), value, ext);
    }
    if (*pseen & bit) {
        return apr_psprintf(cmd->pool, "%s: %s is mapped twice", dname(cmd), ext);
    }
    *pseen |= bit;

    if (!strcmp(local, "-")) {
        port = 0;
    }
    else {
        char *end = NULL;
        apr_int64_t n;

        errno = 0;
        n = apr_strtoi64(local, &end, 10);
        if (!*local || errno || !end || *end || n < 1 || n > 65535) {
            return apr_psprintf(cmd->pool, "%s: \"%s\": port \"%s\" is not a number in "
                                "1..65535 or -", dname(cmd), value, local);
        }
        port = (int)n;
    }
    *pport = port;
    return NULL;
}

static const char *set_port_map(cmd_parms *cmd, void *dc, const char *v1, const char *v2)
{
    const char *err;
    int seen = 0;

    (void)dc;
    if ((err = global_only(cmd)) || (err = port_map_one(cmd, v1, &seen))) {
        return err;
    }
    return v2 ? port_map_one(cmd, v2, &seen) : NULL;
}

static const char *set_base_server(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err;

    (void)dc;
    if ((err = global_only(cmd))) {
        return err;
    }
    return set_on_off(cmd, &cmd_conf(cmd)->global->manage_base_server, value);
}

/* --- status and static certificates ------------------------------------ */

static const char *set_server_status(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err;

    (void)dc;
    if ((err = global_only(cmd))) {
        return err;
    }
    return set_on_off(cmd, &cmd_conf(cmd)->global->server_status, value);
}

static const char *set_certificate_status(cmd_parms *cmd, void *dc, const char *value)
{
    const char *err;

    (void)dc;
    if ((err = global_only(cmd))) {
        return err;
    }
    return set_on_off(cmd, &cmd_conf(cmd)->global->certificate_status, value);
}

static const char *set_cert_check(cmd_parms *cmd, void *dc, const char *name, const char *url)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    const char *err;

    (void)dc;
    if ((err = global_only(cmd))) {
        return err;
    }
    if (!*name) {
        return apr_psprintf(cmd->pool, "%s: needs a name and a URL", dname(cmd));
    }
    if (!is_http_url(cmd->pool, url)) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not an http: or https: URL (the "
                            "certificate's fingerprint is appended to it)", dname(cmd), url);
    }
    g->cert_check_name = name;
    g->cert_check_url = url;
    return NULL;
}

/* MDCertificateFile / MDCertificateKeyFile: inside an MD section only, the
 * file must exist. The n-th key file belongs to the n-th certificate file;
 * mod_md_config_finalize checks that they pair up. */
static const char *add_md_file(cmd_parms *cmd, const char *value, int is_key)
{
    md_srv_conf_t *sc = cmd_conf(cmd);
    apr_array_header_t **pfiles;
    apr_finfo_t finfo;
    const char *path;

    if (!sc->current) {
        return apr_psprintf(cmd->pool, "%s: only allowed inside an <MDomainSet> or "
                            "<MDomain> section", dname(cmd));
    }
    if (!*value || !(path = ap_server_root_relative(cmd->pool, value))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a valid path", dname(cmd), value);
    }
    if (apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: file \"%s\" does not exist", dname(cmd), path);
    }
    if (finfo.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a file", dname(cmd), path);
    }
    pfiles = is_key ? &sc->current->pkey_files : &sc->current->cert_files;
    if (!*pfiles) {
        *pfiles = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(*pfiles, const char *) = path;
    return NULL;
}

static const char *set_cert_file(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return add_md_file(cmd, value, 0);
}

static const char *set_key_file(cmd_parms *cmd, void *dc, const char *value)
{
    (void)dc;
    return add_md_file(cmd, value, 1);
}

/* --- external account binding, proxy, profiles, ARI, notifications ------ */

#define EAB_FILE_MAX_LEN   (64 * 1024)
#define PROFILE_MAX_LEN    64

/* kid and MAC key as the CA issues them; the key is checked, never quoted. */
static const char *eab_check(cmd_parms *cmd, const char *kid, const char *hmac,
                             const char *alg, const char *where)
{
    unsigned char *key;
    apr_size_t len;
    const char *c;

    if (!kid || !*kid) {
        return apr_psprintf(cmd->pool, "%s: the key id is empty%s", dname(cmd), where);
    }
    for (c = kid; *c; ++c) {
        if (apr_iscntrl(*c) || apr_isspace(*c)) {
            return apr_psprintf(cmd->pool, "%s: the key id has spaces or control "
                                "characters%s", dname(cmd), where);
        }
    }
    if (!hmac || md_util_base64any_decode(&key, &len, hmac, cmd->temp_pool) != APR_SUCCESS
        || len == 0) {
        return apr_psprintf(cmd->pool, "%s: the MAC key for key id \"%s\" is not valid "
                            "base64url%s", dname(cmd), kid, where);
    }
    md_crypt_cleanse_on_clear(cmd->temp_pool, key, len);
    if (alg && !md_jws_hmac_digest(alg)) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not one of HS256, HS384, HS512%s",
                            dname(cmd), alg, where);
    }
    return NULL;
}

/* {"kid": "...", "hmac": "...", "alg": "HS256"} from a file (alg optional),
 * so the key need not be in the (often world-readable) config. */
static const char *eab_from_file(cmd_parms *cmd, mod_md_settings_t *set, const char *value)
{
    const char *path = ap_server_root_relative(cmd->pool, value);
    const char *where;
    const char *perr = NULL;
    apr_file_t *f;
    apr_finfo_t finfo;
    apr_size_t len;
    char *data;
    json_t *j;
    const char *err;

    if (!path || apr_stat(&finfo, path, APR_FINFO_TYPE | APR_FINFO_SIZE, cmd->temp_pool)
                 != APR_SUCCESS || finfo.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is neither \"none\", a key id with a MAC "
                            "key, nor a JSON file", dname(cmd), value);
    }
    where = apr_psprintf(cmd->pool, " (in %s)", path);
    if (finfo.size > EAB_FILE_MAX_LEN) {
        return apr_psprintf(cmd->pool, "%s: file %s is too large", dname(cmd), path);
    }
    len = (apr_size_t)finfo.size;
    data = apr_palloc(cmd->temp_pool, len + 1);
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool) != APR_SUCCESS
        || apr_file_read_full(f, data, len, &len) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: cannot read %s", dname(cmd), path);
    }
    apr_file_close(f);
    if (md_json_parse(&j, data, len, path, &perr, cmd->temp_pool) != APR_SUCCESS
        || !json_is_object(j)) {
        return apr_psprintf(cmd->pool, "%s: %s is not a JSON object with \"kid\" and "
                            "\"hmac\"%s%s", dname(cmd), path, perr ? ": " : "",
                            perr ? perr : "");
    }
    set->eab_kid = md_json_get_str(j, MD_KEY_KID);
    set->eab_hmac = md_json_get_str(j, MD_KEY_HMAC);
    set->eab_alg = md_json_get_str(j, "alg");
    if ((err = eab_check(cmd, set->eab_kid, set->eab_hmac, set->eab_alg, where))) {
        return err;
    }
    /* The JSON lives in the temp pool. */
    set->eab_kid = apr_pstrdup(cmd->pool, set->eab_kid);
    set->eab_hmac = apr_pstrdup(cmd->pool, set->eab_hmac);
    set->eab_alg = set->eab_alg ? apr_pstrdup(cmd->pool, set->eab_alg) : NULL;
    return NULL;
}

static const char *set_eab(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md)) || (err = check_twice(cmd, set->eab_kid != NULL, md))) {
        return err;
    }
    if (argc < 1 || argc > 3) {
        return apr_psprintf(cmd->pool, "%s: needs a key id and a MAC key (and optionally "
                            "HS256, HS384 or HS512), a JSON file, or none", dname(cmd));
    }
    if (argc == 1) {
        if (is_word(argv[0], MOD_MD_NONE)) {
            set->eab_kid = MOD_MD_NONE;
            set->eab_hmac = set->eab_alg = NULL;
            return NULL;
        }
        return eab_from_file(cmd, set, argv[0]);
    }
    if ((err = eab_check(cmd, argv[0], argv[1], argc > 2 ? argv[2] : NULL, ""))) {
        return err;
    }
    set->eab_kid = argv[0];
    set->eab_hmac = argv[1];
    set->eab_alg = argc > 2 ? argv[2] : NULL;
    return NULL;
}

static const char *set_http_proxy(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->http_proxy != NULL, md))) {
        return err;
    }
    if (is_word(value, MOD_MD_NONE)) {
        set->http_proxy = MOD_MD_NONE;
        return NULL;
    }
    if (!is_http_url(cmd->pool, value)) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not an http:// or https:// URL with "
                            "a host (e.g. http://proxy.example.org:3128), nor none",
                            dname(cmd), value);
    }
    set->http_proxy = value;
    return NULL;
}

static const char *set_http_proxy_ca_file(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    apr_finfo_t finfo;
    const char *path;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->http_proxy_ca_file != NULL, md))) {
        return err;
    }
    if (!(path = ap_server_root_relative(cmd->pool, value))
        || apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || finfo.filetype != APR_REG) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not an existing file", dname(cmd),
                            value);
    }
    set->http_proxy_ca_file = path;
    return NULL;
}

static const char *set_profile(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;
    const char *c;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md)) || (err = check_twice(cmd, set->profile != NULL, md))) {
        return err;
    }
    for (c = value; *c; ++c) {
        if (!apr_isgraph(*c)) {
            break;
        }
    }
    if (!*value || *c || strlen(value) > PROFILE_MAX_LEN) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a profile name (1 to %d "
                            "printable characters, no spaces)", dname(cmd), value,
                            PROFILE_MAX_LEN);
    }
    set->profile = is_word(value, MOD_MD_NONE) ? MOD_MD_NONE : value;
    return NULL;
}

static const char *set_profile_mandatory(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->profile_mandatory != UNSET, md))) {
        return err;
    }
    return set_on_off(cmd, &set->profile_mandatory, value);
}

static const char *set_renew_via_ari(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_settings_t *set;
    md_t *md;
    const char *err;

    (void)dc;
    if ((err = scope_get(cmd, &set, &md))
        || (err = check_twice(cmd, set->ari_renewals != UNSET, md))) {
        return err;
    }
    return set_on_off(cmd, &set->ari_renewals, value);
}

/* MDNotifyCmd (cmd->info NULL) and MDMessageCmd: the program runs without a
 * shell (as MDChallengeDns01's), so it must be a file we can name:
 * absolute or under ServerRoot. */
static const char *set_notify_cmd(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    apr_array_header_t **pargv = cmd->info ? &g->message_argv : &g->notify_argv;
    apr_array_header_t *args;
    apr_finfo_t finfo;
    const char *path;
    const char *err;
    int i;

    (void)dc;
    if ((err = global_only(cmd)) || (err = check_twice(cmd, *pargv != NULL, NULL))) {
        return err;
    }
    if (argc < 1 || !*argv[0]) {
        return apr_psprintf(cmd->pool, "%s: needs a program (and optional arguments)",
                            dname(cmd));
    }
    if (!(path = ap_server_root_relative(cmd->pool, argv[0]))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a valid path", dname(cmd),
                            argv[0]);
    }
    if (apr_stat(&finfo, path, APR_FINFO_TYPE | APR_FINFO_PROT, cmd->temp_pool)
        != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: program \"%s\" does not exist", dname(cmd),
                            path);
    }
    if (finfo.filetype != APR_REG
        || !(finfo.protection & (APR_UEXECUTE | APR_GEXECUTE | APR_WEXECUTE))) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not an executable file", dname(cmd),
                            path);
    }
    args = apr_array_make(cmd->pool, argc, sizeof(const char *));
    APR_ARRAY_PUSH(args, const char *) = path;
    for (i = 1; i < argc; ++i) {
        APR_ARRAY_PUSH(args, const char *) = argv[i];
    }
    *pargv = args;
    return NULL;
}

/* --- renewal timing, parallelism, activation ------------------------------ */

static const char *set_activation_auto(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    const char *err;

    (void)dc;
    if ((err = global_only(cmd)) || (err = check_twice(cmd, g->activation_auto != UNSET, NULL))) {
        return err;
    }
    return set_on_off(cmd, &g->activation_auto, value);
}

/* A duration of mod_md_global_t at the offset in cmd->info; seconds
 * without a unit. MDCheckInterval and MDRetryDelay must be positive (the
 * stock module's limits: at least 1s, more than 0). */
static const char *set_global_duration(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    apr_interval_time_t *pdur = (apr_interval_time_t *)((char *)g + (apr_size_t)cmd->info);
    apr_interval_time_t dur;
    const char *err;

    (void)dc;
    if ((err = global_only(cmd)) || (err = check_twice(cmd, *pdur != UNSET, NULL))) {
        return err;
    }
    if (md_duration_parse(&dur, value, "s") != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a duration (a number with an "
                            "optional unit d, h, mi, s or ms; e.g. 30s, 12h)", dname(cmd), value);
    }
    if (pdur == &g->check_interval && dur < apr_time_from_sec(1)) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is too short, at least 1s", dname(cmd),
                            value);
    }
    if (pdur == &g->retry_delay && dur <= 0) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" must be more than 0", dname(cmd), value);
    }
    *pdur = dur;
    return NULL;
}

/* A positive number of mod_md_global_t at the offset in cmd->info. */
static const char *set_global_number(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    int *pn = (int *)((char *)g + (apr_size_t)cmd->info);
    int max = (pn == &g->parallel_renewals) ? MOD_MD_PARALLEL_MAX : 1000000;
    char *end = NULL;
    apr_int64_t n;
    const char *err;

    (void)dc;
    if ((err = global_only(cmd)) || (err = check_twice(cmd, *pn != UNSET, NULL))) {
        return err;
    }
    errno = 0;
    n = apr_strtoi64(value, &end, 10);
    if (!apr_isdigit(*value) || errno || !end || *end || n < 1 || n > max) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a number in 1..%d", dname(cmd),
                            value, max);
    }
    *pn = (int)n;
    return NULL;
}

/* --- a store shared by a cluster ------------------------------------------ */

static const char *set_store_backend(cmd_parms *cmd, void *dc, const char *type,
                                     const char *args)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    const char *err;

    (void)dc;
    if ((err = global_only(cmd)) || (err = check_twice(cmd, g->store_backend != NULL, NULL))) {
        return err;
    }
    /* The message never quotes args: a connection string may hold a password. */
    if ((err = md_store_check_backend(type, args, cmd->pool))) {
        return apr_psprintf(cmd->pool, "%s: %s", dname(cmd), err);
    }
    g->store_backend = type;
    g->store_backend_args = args;
    return NULL;
}

/* MDStorePollInterval / MDStoreLeaseTime: the field at the offset in cmd->info. */
static const char *set_store_cluster_time(cmd_parms *cmd, void *dc, const char *value)
{
    mod_md_global_t *g = cmd_conf(cmd)->global;
    apr_interval_time_t *pdur = (apr_interval_time_t *)((char *)g + (apr_size_t)cmd->info);
    apr_interval_time_t dur;
    const char *err;

    (void)dc;
    if ((err = global_only(cmd)) || (err = check_twice(cmd, *pdur != 0, NULL))) {
        return err;
    }
    if (md_duration_parse(&dur, value, "s") != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is not a duration (a number with an "
                            "optional unit d, h, mi, s or ms; e.g. 30s)", dname(cmd), value);
    }
    if (dur < apr_time_from_sec(1)) {
        return apr_psprintf(cmd->pool, "%s: \"%s\" is too short, at least 1s", dname(cmd),
                            value);
    }
    *pdur = dur;
    return NULL;
}

/* --- whole config -------------------------------------------------------- */

static const mod_md_settings_t *md_settings_of(const mod_md_global_t *g, const md_t *md)
{
    int i;

    for (i = 0; i < g->mds->nelts; ++i) {
        if (MD_ARR_IDX(g->mds, i, md_t *) == md) {
            return MD_ARR_IDX(g->md_settings, i, mod_md_settings_t *);
        }
    }
    for (i = 0; md->name && i < g->mds->nelts; ++i) {
        const md_t *other = MD_ARR_IDX(g->mds, i, md_t *);
        if (other->name && !strcmp(other->name, md->name)) {
            return MD_ARR_IDX(g->md_settings, i, mod_md_settings_t *);
        }
    }
    return NULL;
}

/* The first of chain[0..n) whose field is not unset. chain ends with the
 * defaults table. */
#define EFFECTIVE(dst, field, unset)                              \
    do {                                                          \
        int k_;                                                   \
        for (k_ = 0; k_ < n; ++k_) {                              \
            if (chain[k_]->field != (unset)) {                    \
                (dst) = chain[k_]->field;                         \
                break;                                            \
            }                                                     \
        }                                                         \
    } while (0)

void mod_md_config_apply_defaults(md_t *md, const md_srv_conf_t *sc, apr_pool_t *p)
{
    const mod_md_settings_t *chain[3];
    const mod_md_settings_t *md_set;
    const md_timeslice_t *renew_window = NULL;
    const md_timeslice_t *warn_window = NULL;
    apr_array_header_t *ca_urls = NULL;
    apr_array_header_t *pkey_specs = NULL;
    apr_array_header_t *ca_challenges = NULL;
    apr_array_header_t *dns01_cmd = NULL;
    const mod_md_settings_t *eab_from = NULL;
    const char *contact = NULL;
    int n = 0;
    int k;

    md_set = md_settings_of(sc->global, md);
    if (md_set) {
        chain[n++] = md_set;
    }
    chain[n++] = &sc->settings;
    chain[n++] = &settings_defaults;

    EFFECTIVE(md->transitive, transitive, UNSET);
    EFFECTIVE(md->renew_mode, renew_mode, MD_RENEW_DEFAULT);
    EFFECTIVE(renew_window, renew_window, NULL);
    EFFECTIVE(warn_window, warn_window, NULL);
    EFFECTIVE(ca_urls, ca_urls, NULL);
    EFFECTIVE(md->ca_agreement, ca_agreement, NULL);
    EFFECTIVE(contact, ca_contact, NULL);
    EFFECTIVE(pkey_specs, pkey_specs, NULL);
    EFFECTIVE(md->must_staple, must_staple, UNSET);
    EFFECTIVE(md->require_https, require_https, MD_REQUIRE_UNSET);
    EFFECTIVE(ca_challenges, ca_challenges, NULL);
    EFFECTIVE(dns01_cmd, dns01_cmd, NULL);
    EFFECTIVE(md->dns01_version, dns01_version, UNSET);
    EFFECTIVE(md->http_proxy, http_proxy, NULL);
    EFFECTIVE(md->http_proxy_ca_file, http_proxy_ca_file, NULL);
    EFFECTIVE(md->profile, profile, NULL);
    EFFECTIVE(md->profile_mandatory, profile_mandatory, UNSET);
    EFFECTIVE(md->ari_renewals, ari_renewals, UNSET);
    /* The three parts of a binding come from the same directive. */
    for (k = 0; k < n && !eab_from; ++k) {
        if (chain[k]->eab_kid) {
            eab_from = chain[k];
        }
    }
    if (eab_from && strcmp(eab_from->eab_kid, MOD_MD_NONE)) {
        md->ca_eab_kid = eab_from->eab_kid;
        md->ca_eab_hmac = eab_from->eab_hmac;
        md->ca_eab_alg = eab_from->eab_alg;
    }
    else {
        md->ca_eab_kid = md->ca_eab_hmac = md->ca_eab_alg = NULL;
    }
    if (md->http_proxy && !strcmp(md->http_proxy, MOD_MD_NONE)) {
        md->http_proxy = NULL;
    }
    if (md->profile && !strcmp(md->profile, MOD_MD_NONE)) {
        md->profile = NULL;
    }

    /* Static certificate files are not renewed, unless the admin says
     * "always" (the stock module shows them as renew mode manual, too). */
    if (md->cert_files && md->cert_files->nelts > 0 && md->renew_mode != MD_RENEW_ALWAYS) {
        md->renew_mode = MD_RENEW_MANUAL;
    }
    md->renew_window = *renew_window;
    md->renew_window_set = (renew_window != settings_defaults.renew_window);
    md->warn_window = *warn_window;
    md->ca_proto = "ACME";
    if (ca_urls) {
        md->ca_urls = md_array_str_clone(p, ca_urls);
    }
    else {
        md->ca_urls = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(md->ca_urls, const char *) = MOD_MD_CA_URL_DEFAULT;
    }
    /* Key specs are immutable once parsed: the pointers can be shared. */
    md->pkey_specs = pkey_specs ? apr_array_copy(p, pkey_specs) : NULL;
    md->ca_challenges = md_array_str_clone(p, ca_challenges);
    md->dns01_cmd = md_array_str_clone(p, dns01_cmd);
    if (contact) {
        md->contacts = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(md->contacts, const char *) = contact;
    }
}

static const char *md_where(apr_pool_t *p, const md_t *md)
{
    return apr_psprintf(p, "MDomain %s at %s:%u", md->name,
                        md->defn_name ? md->defn_name : "(unknown)", md->defn_line_number);
}

const char *mod_md_config_check_overlaps(apr_pool_t *p, const apr_array_header_t *mds)
{
    int i;
    int j;
    int k;

    for (i = 0; i < mds->nelts; ++i) {
        const md_t *a = MD_ARR_IDX(mds, i, const md_t *);
        for (j = i + 1; j < mds->nelts; ++j) {
            const md_t *b = MD_ARR_IDX(mds, j, const md_t *);
            for (k = 0; k < a->domains->nelts; ++k) {
                const char *name = MD_ARR_IDX(a->domains, k, const char *);
                if (md_array_str_index(b->domains, name, 0, 0) >= 0) {
                    return apr_psprintf(p, "%s and %s both contain %s", md_where(p, a),
                                        md_where(p, b), name);
                }
            }
        }
    }
    return NULL;
}

const char *mod_md_config_finalize(server_rec *base_server, apr_pool_t *p)
{
    md_srv_conf_t *sc = mod_md_config_get(base_server);
    mod_md_global_t *g = sc->global;
    const char *err;
    int i;

    if (g->finalized) {
        return NULL;
    }
    if (!g->store_dir
        && !(g->store_dir = ap_server_root_relative(p, MOD_MD_STORE_DIR_DEFAULT))) {
        return apr_psprintf(p, "MDStoreDir: the default \"%s\" under ServerRoot is not a "
                            "valid path", MOD_MD_STORE_DIR_DEFAULT);
    }
    for (i = 0; i < g->mds->nelts; ++i) {
        md_t *md = MD_ARR_IDX(g->mds, i, md_t *);
        int ncerts = md->cert_files ? md->cert_files->nelts : 0;
        int nkeys = md->pkey_files ? md->pkey_files->nelts : 0;

        if (ncerts != nkeys) {
            return apr_psprintf(p, "%s has %d MDCertificateFile and %d MDCertificateKeyFile; "
                                "each certificate file needs the key file after it",
                                md_where(p, md), ncerts, nkeys);
        }
        mod_md_config_apply_defaults(md, sc, p);
    }
    if ((err = mod_md_config_check_overlaps(p, g->mds))) {
        return err;
    }
    if (g->activation_auto == UNSET) {
        g->activation_auto = MOD_MD_ACTIVATION_AUTO_DEFAULT;
    }
    if (g->activation_delay == UNSET) {
        g->activation_delay = 0;
    }
    if (g->parallel_renewals == UNSET) {
        g->parallel_renewals = MOD_MD_PARALLEL_DEFAULT;
    }
    if (g->check_interval == UNSET) {
        g->check_interval = MOD_MD_CHECK_INTERVAL_DEFAULT;
    }
    if (g->initial_delay == UNSET) {
        g->initial_delay = 0;
    }
    if (g->retry_delay == UNSET) {
        g->retry_delay = MOD_MD_RETRY_DELAY_DEFAULT;
    }
    if (g->retry_failover == UNSET) {
        g->retry_failover = MOD_MD_RETRY_FAILOVER_DEFAULT;
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
    if ((err = mod_md_config_finalize(s, pconf))) {
        /* The error log is not open yet: this goes to stderr, also for -t. */
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "MD10002: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* --- accessors ----------------------------------------------------------- */

apr_array_header_t *mod_md_config_mds(const md_srv_conf_t *sc)
{
    return sc->global->mds;
}

const char *mod_md_config_store_dir(const md_srv_conf_t *sc)
{
    return sc->global->store_dir;
}

const char *mod_md_config_ca_file(const md_srv_conf_t *sc)
{
    return sc->global->ca_file;
}

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

int mod_md_config_manage_base_server(const md_srv_conf_t *sc)
{
    return sc->global->manage_base_server;
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
