/* What the server offers the CA for validation, found at start-up
 * (mod_md_challenges.c): which local ports the CA's 80 and 443 arrive at
 * and whether the server listens there, which MDs have a virtual host with
 * the acme-tls/1 protocol, and whether any challenge type can work per MD.
 * And the http-01 answers (RFC 8555 §8.3), served in the children from the
 * store's challenges/ over plain http (tls-alpn-01: mod_md_tls_alpn.c).
 */
#ifndef mod_md_challenges_h
#define mod_md_challenges_h

#include <apr_pools.h>
#include <httpd.h>

#include "mod_md_config.h"
#include "mod_md_runtime.h"

/* In post_config, after the vhosts are matched to MDs (rt->server_mds) and
 * the store is open: fill rt's ports and acme-tls/1 flag, each MD's
 * acme_tls_1_domains, record the ports in the store's httpd.json, and warn
 * (naming the MD) when no challenge type can work for an MD. Does not fail
 * the start: a problem shows as the MD's error. */
void mod_md_challenges_setup(mod_md_runtime_t *rt, apr_pool_t *ptemp);

/* The http-01 answers (post_read_request). */
void mod_md_challenges_register_hooks(void);

#endif /* mod_md_challenges_h */
