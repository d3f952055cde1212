/* mod_md: the Apache module record and its hooks. Each part of the glue
 * lives in a file of its own and registers its hooks here, in call order:
 *
 *   mod_md_config*.c    directives, check_config, the config's warnings
 *   mod_md_runtime.c    post_config (parent, before mod_ssl): the generation's
 *                       runtime, the store, activation, assessment; it sets
 *                       up the parts below
 *   mod_md_certs.c      mod_ssl's certificate hooks, fallback 503s
 *   mod_md_challenges.c http-01 answers; mod_md_tls_alpn.c tls-alpn-01
 *   mod_md_status.c     md-status, md-metrics, server-status, certificate-status
 *   mod_md_https.c      MDRequireHttps
 *   mod_md_activate.c   the parent's monitor: graceful restarts for staged sets
 *   mod_md_cluster.c    a store shared by a cluster
 *   mod_md_ocsp.c       OCSP stapling
 *   mod_md_drive.c      the renewal watchdog (child_init)
 *   mod_md_watchdog.c   what the two mod_watchdog tasks (drive, ocsp) share
 *
 * Process model (STYLE §12): the parent reads the config and the store in
 * post_config, activates staged certificates and hands files to mod_ssl;
 * it never touches the network. One child runs the watchdog that talks to
 * the CA and writes staging/. The runtime is read-only after post_config.
 */
#include <httpd.h>
#include <http_config.h>

#include "mod_md_activate.h"
#include "mod_md_certs.h"
#include "mod_md_challenges.h"
#include "mod_md_cluster.h"
#include "mod_md_config.h"
#include "mod_md_drive.h"
#include "mod_md_https.h"
#include "mod_md_ocsp.h"
#include "mod_md_runtime.h"
#include "mod_md_status.h"
#include "mod_md_tls_alpn.h"

static void md_register_hooks(apr_pool_t *p)
{
    ap_hook_check_config(mod_md_config_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(mod_md_config_post_config, NULL, NULL, APR_HOOK_FIRST);
    mod_md_runtime_register_hooks();
    mod_md_challenges_register_hooks();
    mod_md_certs_register_hooks();
    mod_md_tls_alpn_register_hooks();
    mod_md_status_register_hooks(p);
    mod_md_https_register_hooks(p);
    mod_md_activate_register_hooks();
    mod_md_cluster_register_hooks();
    mod_md_ocsp_register_hooks();
    mod_md_drive_register_hooks();
}

AP_DECLARE_MODULE(md) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* per-directory config */
    NULL,                       /* merge per-directory */
    mod_md_config_create_svr,   /* per-server config */
    mod_md_config_merge_svr,    /* merge per-server: MDStapling, MDStapleOthers */
    mod_md_cmds,                /* directives */
    md_register_hooks,
    AP_MODULE_FLAG_NONE,
};
