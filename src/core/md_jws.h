/* JSON Web Signature (RFC 7515), flattened JSON serialization, as ACME
 * (RFC 8555 §6.2) requires: protected header with alg, nonce, url and either
 * jwk (new accounts) or kid (everything else). */
#ifndef md_jws_h
#define md_jws_h

#include <apr_pools.h>
#include <jansson.h>
#include "md_crypt.h"

/* Sign payload (payload_len bytes; len 0 gives the empty payload "" that
 * POST-as-GET uses). kid NULL puts the public key as "jwk" in the header.
 * nonce and url are required. *pjws is {"protected","payload","signature"},
 * owned by p. */
apr_status_t md_jws_sign(json_t **pjws, const char *payload, apr_size_t payload_len,
                         const char *nonce, const char *url, const char *kid,
                         const md_pkey_t *pkey, apr_pool_t *p);

#endif /* md_jws_h */
