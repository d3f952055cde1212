/* Shared between md_crypt.c (keys, digests) and md_crypt_cert.c
 * (certificates, CSRs). Not for use outside md_crypt*.c: callers never see
 * OpenSSL types (STYLE §13). */
#ifndef md_crypt_int_h
#define md_crypt_int_h

#include <openssl/evp.h>
#include <openssl/x509.h>
#include "md_crypt.h"

/* The OpenSSL key inside pkey; owned by pkey's pool, do not free. */
EVP_PKEY *md_pkey_evp(const md_pkey_t *pkey);

/* The public half of pkey as a certificate carries it, if
 * md_pkey_prepare_pub made it; else NULL. */
const X509_PUBKEY *md_pkey_x509_pub(const md_pkey_t *pkey);

/* Wrap x509 (ownership passes to the result, freed with p). */
md_cert_t *md_cert_wrap(X509 *x509, apr_pool_t *p);

/* The OpenSSL certificate inside cert; owned by cert's pool, do not free
 * (md_ocsp.c builds OCSP requests from it). */
X509 *md_cert_x509(const md_cert_t *cert);

/* Lower-case hex of len bytes, from p. */
const char *md_crypt_hex(const unsigned char *data, apr_size_t len, apr_pool_t *p);

/* An ASN.1 UTCTime or GeneralizedTime as apr_time_t; 0 for NULL or garbage. */
apr_time_t md_asn1_time_to_apr(const ASN1_TIME *t);

/* Register a cleanup on p that overwrites len bytes at buf with zeros
 * (OPENSSL_cleanse) when p is cleared or destroyed. */
void md_crypt_cleanse_on_clear(apr_pool_t *p, void *buf, apr_size_t len);

/* Does the first len bytes of hay (not necessarily NUL-terminated)
 * contain needle? */
int md_crypt_mem_contains(const char *hay, apr_size_t len, const char *needle);

#endif /* md_crypt_int_h */
