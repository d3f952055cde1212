/* Sealing values with the store key: authenticated encryption of secrets
 * (private keys) that a store keeps outside the local machine, e.g. in a
 * database shared by a cluster of servers. The store key itself never
 * leaves the machine.
 *
 * A sealed value is: one format byte (1), a 12-byte random nonce, the
 * AES-256-GCM ciphertext and its 16-byte tag. The AES key is derived from
 * the store key with HKDF-SHA256 and a fixed label, so the same store key
 * also serves the PKCS#8 encryption of the file-system store without the
 * two uses sharing a key.
 */
#ifndef md_crypt_seal_h
#define md_crypt_seal_h

#include <apr_pools.h>

#define MD_SEAL_KEY_LEN     32

/* The sealing key for store_key (any length > 0); key_out gets
 * MD_SEAL_KEY_LEN bytes. The caller cleanses it when done. */
apr_status_t md_crypt_seal_key(unsigned char *key_out, const unsigned char *store_key,
                               apr_size_t store_key_len);

/* Seal len bytes of data under key (MD_SEAL_KEY_LEN bytes); *psealed is
 * allocated from p. */
apr_status_t md_crypt_seal(const unsigned char **psealed, apr_size_t *psealed_len,
                           const unsigned char *key, const void *data, apr_size_t len,
                           apr_pool_t *p);

/* Open a sealed value: *pdata (NUL-terminated, not counted in *plen) is
 * allocated from p and overwritten with zeros when p is cleared.
 * APR_EINVAL for something that is not a sealed value of this format,
 * APR_EACCES when it does not open with key (another store key, or it was
 * changed). */
apr_status_t md_crypt_unseal(char **pdata, apr_size_t *plen, const unsigned char *key,
                             const void *sealed, apr_size_t sealed_len, apr_pool_t *p);

/* A check value of the store key that reveals nothing about it:
 * base64url(HMAC-SHA256(store key, fixed label)), from p. Servers sharing
 * a store compare it to see that they hold the same key. */
apr_status_t md_crypt_seal_key_check(const char **pcheck, const unsigned char *store_key,
                                     apr_size_t store_key_len, apr_pool_t *p);

#endif /* md_crypt_seal_h */
