/* OCSP stapling in the server (MDStapling, MDStapleOthers,
 * MDStaplingKeepResponse, MDStaplingRenewWindow): mod_ssl's
 * ssl_ocsp_prime_hook and ssl_ocsp_get_resp_hook, a watchdog task that
 * renews the responses, and the stapling parts of the status outputs. The
 * protocol, the schedule and the store layout are the core's (md_ocsp.h,
 * md_ocsp_reg.h).
 *
 * Which certificates: those of an MD with MDStapling on, and, with
 * MDStapleOthers on (the default), the other certificates mod_ssl serves
 * in a server whose MDStapling is on (the server config's, or a
 * VirtualHost's own). mod_ssl hands over each certificate with its issuer
 * at start-up; one that names no OCSP responder is not stapled.
 *
 * Process model: the parent learns the certificates and reads the stored
 * responses in post_config (no network); the handshakes of any child take
 * the response from memory; one child's watchdog thread fetches new ones
 * and saves them to the store's ocsp/, where the other children find them
 * (md_ocsp_reg.h). Nothing is fetched during a handshake.
 */
#ifndef mod_md_ocsp_h
#define mod_md_ocsp_h

#include <apr_pools.h>
#include <httpd.h>
#include <jansson.h>

#include "md.h"
#include "mod_md_runtime.h"

/* From the runtime's post_config, before mod_ssl's (it primes right
 * after): set up this config cycle's stapling (rt->ocsp) when anything is
 * to be stapled. Without MDs rt->store is NULL and the store is opened
 * here: MDStapleOthers works without MDs. Never fails the start; problems
 * are logged. */
void mod_md_ocsp_setup(mod_md_runtime_t *rt);

/* Is a certificate of md revoked, as a current OCSP response says (md with
 * MDStapling on)? The renewal watchdog then renews it, as stock does. Any
 * thread. */
int mod_md_ocsp_md_revoked(const mod_md_runtime_t *rt, const md_t *md);

/* When the renewal watchdog should look again at mod_md_ocsp_md_revoked:
 * md_sched_ocsp_check_at the next OCSP response renewal, 0 when nothing is
 * stapled. Any thread. */
apr_time_t mod_md_ocsp_next_check(const mod_md_runtime_t *rt, apr_time_t now);

/* Put each certificate's "ocsp" into md-status JSON: mdj is one MD's object
 * or {"managed-domains": [...]}; members of "cert" with a
 * "sha256-fingerprint" of a stapled certificate get {"status", "valid",
 * "renewal"} ("log" in it only with with_log). */
void mod_md_ocsp_status_md(const mod_md_runtime_t *rt, json_t *mdj, int with_log,
                           apr_pool_t *p);

/* The same for /.httpd/certificate-status: {"status", "valid"} per key type. */
void mod_md_ocsp_status_cert(const mod_md_runtime_t *rt, json_t *cert_status, apr_pool_t *p);

/* Register the hooks of this file; called from the module's register_hooks. */
void mod_md_ocsp_register_hooks(void);

#endif /* mod_md_ocsp_h */
