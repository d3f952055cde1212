/* Status outputs of the module, rendered from the core's status JSON
 * (md_status.h):
 *
 *   SetHandler md-status          JSON of all MDs; /<name> for one MD, by its
 *                                 name or any of its domains (404 unknown);
 *                                 GET (and HEAD) only, 405 otherwise
 *   SetHandler md-metrics         Prometheus text exposition
 *   server-status                 "Managed Certificates" (HTML) and the
 *                                 ManagedCertificates* lines of ?auto
 *                                 (MDServerStatus)
 *   /.httpd/certificate-status    on every managed host (MDCertificateStatus)
 *
 * Where the data comes from: the parent gathers the live certificates (in
 * domains/, root only) in post_config into a snapshot per MD; at request
 * time a child reads staging/ (job.json, staged certificates). The counts
 * of requests to each CA live in an anonymous shared memory segment made
 * once per parent process (md_stats.h), so the watchdog child counts and
 * any child reports; they start at zero when the parent starts and keep
 * growing across graceful restarts.
 *
 * Threads: everything built in post_config is read-only afterwards.
 */
#ifndef mod_md_status_h
#define mod_md_status_h

#include <apr_pools.h>

#include "mod_md_runtime.h"

#define MOD_MD_STATUS_HANDLER           "md-status"
#define MOD_MD_METRICS_HANDLER          "md-metrics"
#define MOD_MD_CERT_STATUS_PATH         "/.httpd/certificate-status"

/* From the runtime's post_config, once every MD is assessed: the
 * snapshots of the live certificates (the parent reads domains/) and the CA
 * request counters, into rt->status. */
void mod_md_status_setup(mod_md_runtime_t *rt);

/* Register the hooks of this file; called from the module's register_hooks. */
void mod_md_status_register_hooks(apr_pool_t *p);

#endif /* mod_md_status_h */
