/* Private key generation on a thread of its own.
 *
 * An order spends most of its time waiting for the CA; an RSA key takes
 * 0.1 to 0.4 s of CPU. Starting the key when the order starts and picking
 * it up when the CSR is due overlaps the two instead of adding them.
 */
#ifndef md_keygen_h
#define md_keygen_h

#include <apr_pools.h>
#include "md_crypt.h"

typedef struct md_keygen_t md_keygen_t;

/* Start generating a key for spec (which must outlive p). The key and the
 * thread belong to p: when p is cleared the thread is joined first, so a
 * caller that gives up early needs no extra step. Does not block. */
apr_status_t md_keygen_start(md_keygen_t **pkg, const md_pkey_spec_t *spec, apr_pool_t *p);

/* Wait for the key; *ppkey lives as long as the p given to start. Returns
 * md_pkey_gen's status. Blocks until the key is done; call once. */
apr_status_t md_keygen_finish(md_pkey_t **ppkey, md_keygen_t *kg);

#endif /* md_keygen_h */
