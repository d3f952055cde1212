/* MDRequireHttps: plain http requests for the names of an MD are sent to
 * https, and with "permanent" https responses carry HSTS.
 *
 *   temporary   302 for GET and HEAD, 307 for other methods
 *   permanent   301 / 308, and "Strict-Transport-Security: max-age=15768000"
 *               on every https response of the MD's hosts (error responses
 *               too) unless the response already has the header
 *
 * The redirect goes to https://<requested host><path and query>, the
 * default https port: MDPortMap says which local port the outside reaches
 * as 443, and the client is outside. Never redirected: ACME http-01
 * challenges (/.well-known/acme-challenge/), hosts whose MD has no usable
 * certificate yet (https would only answer 503 with a self-signed
 * certificate), names of the vhost that are not in the MD, and everything
 * when MDPortMap maps https to "-".
 */
#ifndef mod_md_https_h
#define mod_md_https_h

#include <apr_pools.h>

#define MOD_MD_HSTS_HEADER      "Strict-Transport-Security"
#define MOD_MD_HSTS_VALUE       "max-age=15768000"

/* Register the hooks of this file; called from the module's register_hooks. */
void mod_md_https_register_hooks(apr_pool_t *p);

#endif /* mod_md_https_h */
