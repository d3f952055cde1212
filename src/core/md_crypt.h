/* All OpenSSL use lives behind this header (STYLE §13): private keys, CSRs,
 * certificates, digests, randomness and the raw signatures JWS needs.
 * OpenSSL 3 EVP only, no deprecated API. Objects are owned by the pool they
 * were created in (a cleanup frees the OpenSSL object).
 */
#ifndef md_crypt_h
#define md_crypt_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>

/* --- key specifications ------------------------------------------------ */

typedef enum {
    MD_PKEY_TYPE_DEFAULT,   /* RSA 2048 */
    MD_PKEY_TYPE_RSA,
    MD_PKEY_TYPE_EC,
} md_pkey_type_t;

#define MD_PKEY_RSA_BITS_DEF   2048
#define MD_PKEY_RSA_BITS_MIN   2048

typedef struct md_pkey_spec_t {
    md_pkey_type_t type;
    unsigned int bits;      /* RSA */
    const char *curve;      /* EC: the curve as configured, any of its names
                             * ("P-256", "secp256r1", "prime256v1") */
} md_pkey_spec_t;

/* Parse one spec from config words: "RSA", "RSA 3072" (bits in *pnext_used),
 * "rsa3072", "secp256r1", "P-256", "secp384r1", "P-384", case-insensitive
 * ("Default" is RSA 2048; "prime256v1" and "secp521r1"/"P-521" are accepted
 * too). spec->curve keeps the curve as the admin wrote it (the stock module
 * names files and status members after it). Returns APR_EINVAL with
 * *perr set for unknown types, RSA bits outside 2048..16384, unknown curves. */
apr_status_t md_pkey_spec_parse(md_pkey_spec_t **pspec, const char *word, const char *next,
                                int *pnext_used, const char **perr, apr_pool_t *p);

/* Name used in status members and messages, as the stock module: "rsa"
 * for RSA (any bits), the curve as written for EC ("P-256", "secp384r1"). */
const char *md_pkey_spec_name(const md_pkey_spec_t *spec);

/* The part of the store file names of a key spec ("privkey.<part>.pem"):
 * NULL for RSA (plain "privkey.pem"), the curve as written in lower case
 * for EC ("p-256", "secp384r1"). From p. */
const char *md_pkey_spec_fname_part(const md_pkey_spec_t *spec, apr_pool_t *p);

/* Every file name part a store may use for spec, the written one first
 * and then the curve's other names ("p-256", "secp256r1", "prime256v1"),
 * so that a store written with another spelling is found. Empty for RSA.
 * From p. */
apr_array_header_t *md_pkey_spec_fname_parts(const md_pkey_spec_t *spec, apr_pool_t *p);

/* {"type": "RSA", "bits": 2048} / {"type": "EC", "curve": "P-256"} (as written) */
json_t *md_pkey_spec_to_json(const md_pkey_spec_t *spec);
apr_status_t md_pkey_spec_from_json(md_pkey_spec_t **pspec, const json_t *j, apr_pool_t *p);
int md_pkey_spec_eq(const md_pkey_spec_t *a, const md_pkey_spec_t *b);

/* --- private keys ------------------------------------------------------- */

typedef struct md_pkey_t md_pkey_t;

/* Generate a new key. CPU heavy for RSA (hundreds of ms): never on a request
 * path or in post_config per MD. */
apr_status_t md_pkey_gen(md_pkey_t **ppkey, apr_pool_t *p, const md_pkey_spec_t *spec);

/* PEM of the key as PKCS#8. With a passphrase (pass_len > 0) the PEM is
 * "ENCRYPTED PRIVATE KEY" under AES-256-CBC (PBES2), as the stock module
 * writes. The returned buffer is allocated from p and cleansed when p is
 * cleared. */
apr_status_t md_pkey_to_pem(const char **ppem, apr_size_t *plen, md_pkey_t *pkey,
                            const char *pass, apr_size_t pass_len, apr_pool_t *p);

/* Load a key from PEM (plain or encrypted with pass). APR_EINVAL for
 * garbage; APR_EACCES when the PEM is encrypted and pass does not decrypt it.
 * Bounded cost, whoever wrote the PEM: an encrypted PKCS#8 key must use
 * PBES2/PBKDF2 with at most 100000 iterations (checked before decrypting),
 * and RSA keys over 16384 bits or EC keys over 571 bits are refused;
 * APR_EINVAL (logged) otherwise. */
apr_status_t md_pkey_from_pem(md_pkey_t **ppkey, const char *pem, apr_size_t len,
                              const char *pass, apr_size_t pass_len, apr_pool_t *p);

/* OpenSSL decoder contexts for one thread's run of key loads (a config
 * pass over 1000s of MDs), made once per key type and freed with the pool
 * they were made in: making one costs three times what decoding a P-256
 * key with it does. The set itself is heap memory (so that LeakSanitizer
 * follows a pointer to it), freed with p too; NULL if it cannot be had,
 * which md_pkey_from_pem_with takes as "no reuse". */
typedef struct md_pkey_decoders_t md_pkey_decoders_t;
md_pkey_decoders_t *md_pkey_decoders_make(apr_pool_t *p);
/* md_pkey_from_pem with dec's contexts (dec may be NULL). */
apr_status_t md_pkey_from_pem_with(md_pkey_t **ppkey, md_pkey_decoders_t *dec, const char *pem,
                                   apr_size_t len, const char *pass, apr_size_t pass_len,
                                   apr_pool_t *p);

/* Does the PEM hold private keys, all of them encrypted (PKCS#8 "ENCRYPTED
 * PRIVATE KEY", or a legacy block with "Proc-Type: 4,ENCRYPTED")? */
int md_pkey_pem_is_encrypted(const char *pem, apr_size_t len);

md_pkey_type_t md_pkey_type(const md_pkey_t *pkey);

/* Encode pkey's public half once, for md_cert_self_sign to copy into each
 * certificate: OpenSSL 3 encodes and decodes it again for each (about
 * 250 us), and one key signs the fallbacks of every MD. Call before pkey
 * is shared between threads. */
apr_status_t md_pkey_prepare_pub(md_pkey_t *pkey);

/* Public JWK (RFC 7517) of the key: RSA {"e","kty","n"}, EC {"crv","kty","x","y"}.
 * New reference. */
json_t *md_pkey_to_jwk(const md_pkey_t *pkey);

/* RFC 7638 JWK thumbprint, base64url of SHA-256 over the canonical JWK. */
apr_status_t md_pkey_jwk_thumbprint(const char **pthumb, const md_pkey_t *pkey, apr_pool_t *p);
/* RFC 7638 thumbprint of a public JWK given as JSON (kty "RSA" or "EC";
 * members other than the required ones are ignored). APR_EINVAL if a
 * required member is missing, APR_ENOTIMPL for other key types. */
apr_status_t md_jwk_thumbprint(const char **pthumb, const json_t *jwk, apr_pool_t *p);

/* JWS "alg" for this key: "RS256", "ES256" (P-256), "ES384" (P-384),
 * "ES512" (P-521); NULL for an EC key on another curve. */
const char *md_pkey_jws_alg(const md_pkey_t *pkey);

/* Sign data for JWS with the key's alg: RSA PKCS#1 v1.5 SHA-256; ECDSA with
 * the curve's hash, returned as the raw R||S form JWS needs (RFC 7518 §3.4),
 * not DER. *psig is allocated from p. */
apr_status_t md_pkey_sign_jws(const unsigned char **psig, apr_size_t *plen,
                              const md_pkey_t *pkey, const void *data, apr_size_t len,
                              apr_pool_t *p);

/* --- certificates ------------------------------------------------------- */

typedef struct md_cert_t md_cert_t;

/* Parse all certificates in a PEM buffer, in order (leaf first for a
 * chain). APR_ENOENT if there is none, APR_EINVAL on garbage. The array
 * holds md_cert_t*. */
apr_status_t md_certs_from_pem(apr_array_header_t **pcerts, const char *pem, apr_size_t len,
                               apr_pool_t *p);
/* PEM of the certificates concatenated. */
apr_status_t md_certs_to_pem(const char **ppem, apr_size_t *plen,
                             const apr_array_header_t *certs, apr_pool_t *p);

/* DNS names and IP addresses from subjectAltName (IPs as text), lower case. */
apr_status_t md_cert_get_alt_names(apr_array_header_t **pnames, const md_cert_t *cert,
                                   apr_pool_t *p);
/* Does the certificate cover all names (wildcards in the cert honoured)? */
int md_cert_covers(const md_cert_t *cert, const apr_array_header_t *names);

apr_time_t md_cert_valid_from(const md_cert_t *cert);
apr_time_t md_cert_valid_until(const md_cert_t *cert);
/* Valid at time t? */
int md_cert_is_valid_at(const md_cert_t *cert, apr_time_t t);
/* Serial number as upper-case hex without separators ("73F80952EB8287B6"). */
const char *md_cert_serial_hex(const md_cert_t *cert, apr_pool_t *p);
/* The keyIdentifier of the Authority Key Identifier extension (raw bytes,
 * from p); APR_ENOENT when the certificate has none. */
apr_status_t md_cert_aki(const unsigned char **pid, apr_size_t *plen, const md_cert_t *cert,
                         apr_pool_t *p);
/* The serial number as the content octets of its DER INTEGER (with the
 * leading zero a positive number whose high bit is set gets), from p. */
apr_status_t md_cert_serial_der(const unsigned char **pbytes, apr_size_t *plen,
                                const md_cert_t *cert, apr_pool_t *p);
/* The certificate's DER encoding (ACME revokeCert, RFC 8555 §7.6), from p.
 * APR_EGENERAL if OpenSSL cannot encode it. */
apr_status_t md_cert_to_der(const unsigned char **pder, apr_size_t *plen, const md_cert_t *cert,
                            apr_pool_t *p);
/* SHA-256 fingerprint of the DER as lower-case hex without separators. */
const char *md_cert_sha256_fingerprint(const md_cert_t *cert, apr_pool_t *p);
/* Issuer as "/CN=..." one-line form (OpenSSL's X509_NAME_oneline style). */
const char *md_cert_issuer_name(const md_cert_t *cert, apr_pool_t *p);
/* The URI of the issuer's certificate from the Authority Information
 * Access extension (caIssuers, RFC 5280 §4.2.2.1), or NULL. */
const char *md_cert_issuer_uri(const md_cert_t *cert, apr_pool_t *p);
/* Does the certificate's public key match the private key? */
int md_cert_matches_key(const md_cert_t *cert, const md_pkey_t *pkey);
/* Is cert signed by issuer: cert's issuer name is issuer's subject and the
 * signature on cert verifies with issuer's public key? (cert == issuer:
 * is it self-signed?) */
int md_cert_issued_by(const md_cert_t *cert, const md_cert_t *issuer);

/* RFC 9773 §4.1 ARI certificate identifier: base64url of the authority key
 * identifier's keyIdentifier, ".", base64url of the serial number's DER
 * content octets. NULL when the certificate has no authority key id. */
const char *md_cert_ari_cert_id(const md_cert_t *cert, apr_pool_t *p);

/* One Signed Certificate Timestamp (RFC 6962 §3.2) embedded in a certificate. */
typedef struct md_sct_t {
    int version;                /* as on the wire: 0 for v1 (the only one defined),
                                 * -1 unknown */
    const char *log_id;         /* lower-case hex of the 32-byte log id */
    apr_time_t timestamp;       /* when the log signed it; 0 if out of range */
    const char *signature;      /* lower-case hex of the signature */
    const char *signature_alg;  /* OpenSSL's short name, e.g. "ecdsa-with-SHA256",
                                 * "RSA-SHA256"; NULL if unknown */
} md_sct_t;

/* The SCTs (md_sct_t*) of the certificate's SCT list extension (OID
 * 1.3.6.1.4.1.11129.2.4.2), in order; an empty array when there is none.
 * APR_EINVAL (logged at debug) if the extension is there but unreadable.
 * Everything is allocated from p. */
apr_status_t md_cert_get_scts(apr_array_header_t **pscts, const md_cert_t *cert,
                              apr_pool_t *p);

/* A self-signed certificate for names (first is the CN), valid from now-1d
 * for valid_for, signed with pkey; used as the fallback while no real
 * certificate exists. */
apr_status_t md_cert_self_sign(md_cert_t **pcert, const char *cn,
                               const apr_array_header_t *names, const md_pkey_t *pkey,
                               apr_interval_time_t valid_for, apr_pool_t *p);

/* A tls-alpn-01 validation certificate (RFC 8737 §3): self-signed with
 * pkey, subjectAltName the one domain (an IP address for an ip identifier,
 * RFC 8738 §6), and the critical acmeIdentifier extension (OID
 * 1.3.6.1.5.5.7.1.31) holding the SHA-256 of key_authz. From p. */
apr_status_t md_cert_make_tls_alpn01(md_cert_t **pcert, const char *domain,
                                     const char *key_authz, const md_pkey_t *pkey,
                                     apr_interval_time_t valid_for, apr_pool_t *p);

/* The 32-byte value of the certificate's acmeIdentifier extension and
 * whether it is critical. APR_ENOENT without one, APR_EINVAL if it is not
 * an OCTET STRING of 32 bytes. *pdigest from p. */
apr_status_t md_cert_get_acme_identifier(const unsigned char **pdigest, int *pcritical,
                                         const md_cert_t *cert, apr_pool_t *p);

/* --- TLS probe (md_crypt_tls.c) ---------------------------------------- */

/* Connect to host:port (an address or name), do a TLS handshake offering
 * the single ALPN protocol alpn (may be NULL) with SNI server_name (may be
 * NULL), without verifying the server, and return its leaf certificate and
 * the ALPN protocol it selected (NULL if none). On failure *perr (from p)
 * says what happened: "connection refused", "TLS handshake failed: ...".
 * APR_ECONNREFUSED, APR_TIMEUP, APR_EGENERAL. Blocks up to timeout for the
 * connect and again for the handshake. */
apr_status_t md_crypt_tls_probe(md_cert_t **pcert, const char **palpn, const char *host,
                                int port, const char *server_name, const char *alpn,
                                apr_interval_time_t timeout, const char **perr,
                                apr_pool_t *p);

/* The server side of tls-alpn-01, for a handshake in progress (tls is the
 * OpenSSL SSL* of the connection, opaque to the caller): which of the
 * validation certificates we have (RSA, EC) the client prefers, by the
 * order of its signature_algorithms (RFC 8446 §4.2.3; none sent: RSA). */
md_pkey_type_t md_tls_peer_key_type(void *tls, int have_rsa, int have_ec);
/* Drop every certificate the connection would offer, so that only the
 * validation certificate set afterwards can be chosen (no host certificate
 * of another key type in another slot). */
void md_tls_certs_clear(void *tls);

/* --- CSR ---------------------------------------------------------------- */

/* A CSR (PKCS#10) for names, all as subjectAltName (DNS names; IP literals
 * as IP addresses), signed by pkey, with the TLS Feature status_request
 * extension if must_staple. *pcsr64 is the base64url DER, as ACME's
 * finalize wants it. Names must be valid (checked by the caller). */
apr_status_t md_csr_create(const char **pcsr64, const md_pkey_t *pkey,
                           const apr_array_header_t *names, int must_staple, apr_pool_t *p);

/* --- digests, randomness ------------------------------------------------ */

/* SHA-256 of data; *pdigest (32 bytes) allocated from p. */
apr_status_t md_crypt_sha256(const unsigned char **pdigest, const void *data, apr_size_t len,
                             apr_pool_t *p);
/* base64url(SHA-256(data)) */
apr_status_t md_crypt_sha256_b64url(const char **pb64, const void *data, apr_size_t len,
                                    apr_pool_t *p);
/* base64url of the SHA-256 of a JSON value's types, members (in their
 * order) and contents, fed to the digest as they are, without dumping the
 * value to text first: values that dump alike digest alike. APR_EINVAL
 * for a value nested deeper than 32. */
apr_status_t md_crypt_sha256_json_b64url(const char **pb64, json_t *j, apr_pool_t *p);
/* HMAC-SHA256 of data under key (JWS "HS256", as ACME external account
 * binding uses it, RFC 8555 §7.3.4); *pmac (32 bytes) allocated from p. */
apr_status_t md_crypt_hmac_sha256(const unsigned char **pmac, const void *key, apr_size_t key_len,
                                  const void *data, apr_size_t len, apr_pool_t *p);
/* HMAC with digest "SHA256", "SHA384" or "SHA512" (JWS HS256/HS384/HS512);
 * *pmac (*pmac_len bytes: 32, 48 or 64) allocated from p. APR_ENOTIMPL for
 * another digest name. The key is never logged. */
apr_status_t md_crypt_hmac(const unsigned char **pmac, apr_size_t *pmac_len, const char *digest,
                           const void *key, apr_size_t key_len, const void *data, apr_size_t len,
                           apr_pool_t *p);
/* Register a cleanup on p that overwrites len bytes at buf with zeros
 * (OPENSSL_cleanse) when p is cleared or destroyed: for secrets such as an
 * external account binding MAC key. */
void md_crypt_cleanse_on_clear(apr_pool_t *p, void *buf, apr_size_t len);

/* Cryptographically secure random bytes. */
apr_status_t md_crypt_random(unsigned char *buf, apr_size_t len);

/* Drain OpenSSL's error queue into one string (for messages); "" if empty. */
const char *md_crypt_last_error(apr_pool_t *p);

/* Release what OpenSSL keeps for the calling thread (OPENSSL_thread_stop).
 * Call it last on a thread that used anything here and may still be ending
 * while the process exits: OpenSSL's exit handler and the thread's own
 * end would otherwise free the same memory (ASan saw it in httpd children,
 * whose watchdog thread ends while the child exits). The thread may use
 * crypto again afterwards; calling it twice is harmless. */
void md_crypt_thread_done(void);

#endif /* md_crypt_h */
