/* PEM from the CA (the certificate chain), the store (chains and keys in
 * domains/, staging/, accounts/, archive/) and the admin (MDCertificateFile):
 * every certificate check and the status JSON of each certificate, the
 * chain written back and read again; private keys plain and encrypted
 * under the store key, their JWK, thumbprint and signatures, and the same
 * keys read through one set of decoders kept across inputs (as a store's
 * batch reuses them). Input: a PEM chain, FUZZ_SEP, a PEM key. */
#include "fuzz.h"

#include "md_crypt.h"
#include "md_json.h"
#include "md_status.h"
#include "md_util.h"

/* The passphrase the store would use (48 bytes, as md_store.json's key);
 * test/fuzz/corpus/pem/ has keys encrypted with it. */
#define STORE_KEY "fuzz-store-key-fuzz-store-key-fuzz-store-key-123"

/* The chain's leaf, or NULL if there is no chain. */
static const md_cert_t *certs(const char *pem, size_t len, apr_pool_t *p)
{
    apr_array_header_t *chain = NULL;
    apr_array_header_t *again = NULL;
    apr_array_header_t *names = NULL;
    apr_array_header_t *scts = NULL;
    const unsigned char *bytes;
    apr_size_t blen;
    const char *out;
    apr_size_t out_len;
    int critical;
    int i;

    if (md_certs_from_pem(&chain, pem, len, p) != APR_SUCCESS) {
        return NULL;
    }
    if (!chain || chain->nelts < 1) {
        abort();
    }
    for (i = 0; i < chain->nelts && i < 8; ++i) {
        const md_cert_t *cert = MD_ARR_IDX(chain, i, const md_cert_t *);
        apr_time_t from = md_cert_valid_from(cert);

        if (md_cert_get_alt_names(&names, cert, p) == APR_SUCCESS) {
            /* A certificate covers the names it lists, or it refuses a
             * name it cannot hold (a NUL in a DNS name, say). */
            (void)md_cert_covers(cert, names);
        }
        (void)md_cert_valid_until(cert);
        (void)md_cert_is_valid_at(cert, from);
        (void)md_cert_serial_hex(cert, p);
        (void)md_cert_aki(&bytes, &blen, cert, p);
        (void)md_cert_serial_der(&bytes, &blen, cert, p);
        if (!md_cert_sha256_fingerprint(cert, p)) {
            abort();
        }
        (void)md_cert_issuer_name(cert, p);
        (void)md_cert_ari_cert_id(cert, p);
        (void)md_cert_get_scts(&scts, cert, p);
        (void)md_cert_get_acme_identifier(&bytes, &critical, cert, p);
        (void)md_json_dump(md_status_cert_json(cert, p), 0, p);
    }
    /* Saved and loaded again (the store does this): same certificates. */
    if (md_certs_to_pem(&out, &out_len, chain, p) != APR_SUCCESS
        || md_certs_from_pem(&again, out, out_len, p) != APR_SUCCESS
        || again->nelts != chain->nelts
        || strcmp(md_cert_sha256_fingerprint(MD_ARR_IDX(again, 0, const md_cert_t *), p),
                  md_cert_sha256_fingerprint(MD_ARR_IDX(chain, 0, const md_cert_t *), p))) {
        abort();
    }
    return MD_ARR_IDX(chain, 0, const md_cert_t *);
}

static void key(const char *pem, size_t len, const md_cert_t *cert, apr_pool_t *p)
{
    md_pkey_t *pkey = NULL;
    md_pkey_t *back = NULL;
    const char *thumb;
    const char *out;
    apr_size_t out_len;
    const unsigned char *sig;
    apr_size_t sig_len;
    apr_status_t rv;

    rv = md_pkey_from_pem(&pkey, pem, len, STORE_KEY, strlen(STORE_KEY), p);
    if (rv != APR_SUCCESS) {
        rv = md_pkey_from_pem(&pkey, pem, len, NULL, 0, p);
    }
    if (rv != APR_SUCCESS) {
        return;
    }
    if (cert) {
        (void)md_cert_matches_key(cert, pkey);
    }
    json_decref(md_pkey_to_jwk(pkey));
    (void)md_pkey_jwk_thumbprint(&thumb, pkey, p);
    /* EC only: signing with an RSA key of any size the input asks for
     * would measure OpenSSL, not us. */
    if (md_pkey_type(pkey) == MD_PKEY_TYPE_EC && md_pkey_jws_alg(pkey)) {
        (void)md_pkey_sign_jws(&sig, &sig_len, pkey, "data", 4, p);
    }
    /* Written as domains/ holds it (plain PKCS#8), read back. Encrypted
     * writing is left to the unit tests: PBKDF2 would slow fuzzing down
     * tenfold. */
    if (md_pkey_to_pem(&out, &out_len, pkey, NULL, 0, p) != APR_SUCCESS
        || md_pkey_from_pem(&back, out, out_len, NULL, 0, p) != APR_SUCCESS) {
        abort();
    }
}

/* The decoders a store keeps for a run of key loads, here kept for all
 * inputs (made once, freed with fuzz_root): whatever one input leaves in
 * them must not leak or change what the next one reads. Each input is
 * read through them as the store would (with its key), and gives the same
 * answer as without them. The set is heap memory held by this static, so
 * that LeakSanitizer, which does not read pool memory (libapr maps it),
 * follows it to its contexts when -detect_leaks=1 checks after an input. */
static md_pkey_decoders_t *decoders;

static void key_reused(const char *pem, size_t len, apr_pool_t *p)
{
    md_pkey_t *with = NULL;
    md_pkey_t *without = NULL;
    apr_status_t rv, rv0;

    if (!decoders) {
        decoders = md_pkey_decoders_make(fuzz_root);
    }
    rv = md_pkey_from_pem_with(&with, decoders, pem, len, STORE_KEY, strlen(STORE_KEY), p);
    rv0 = md_pkey_from_pem(&without, pem, len, STORE_KEY, strlen(STORE_KEY), p);
    if (rv != rv0 || (rv == APR_SUCCESS) != (with != NULL)) {
        abort();
    }
    /* The keys are the pool's: freed with it at the input's end. */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *parts[2];
    size_t lens[2];

    fuzz_split(data, size, 2, parts, lens, p);
    key(parts[1], lens[1], certs(parts[0], lens[0], p), p);
    key_reused(parts[1], lens[1], p);
    fuzz_pool_end(p);
    return 0;
}
