/* Sealing values with the store key (see md_crypt_seal.h): HKDF-SHA256 and
 * AES-256-GCM through OpenSSL 3's EVP_KDF and EVP_CIPHER interfaces. */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "md_crypt.h"
#include "md_crypt_int.h"
#include "md_crypt_seal.h"
#include "md_log.h"
#include "md_util.h"

#define SEAL_FORMAT         1
#define SEAL_NONCE_LEN      12
#define SEAL_TAG_LEN        16
#define SEAL_OVERHEAD       (1 + SEAL_NONCE_LEN + SEAL_TAG_LEN)
/* Labels keep the derived keys of different uses apart. */
#define SEAL_KDF_LABEL      "mod_md store seal v1"
#define SEAL_CHECK_LABEL    "mod_md store key check v1"
/* Bound to every sealed value: a blob sealed for another purpose with the
 * same key does not open here. */
#define SEAL_AAD            "mod_md sealed value"

apr_status_t md_crypt_seal_key(unsigned char *key_out, const unsigned char *store_key,
                               apr_size_t store_key_len)
{
    /* OSSL_PARAM wants writable pointers: hand it copies. */
    char digest[] = "SHA256";
    unsigned char label[] = SEAL_KDF_LABEL;
    unsigned char ikm[256];
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *kctx = NULL;
    OSSL_PARAM params[4];
    apr_status_t rv = APR_EGENERAL;

    if (!store_key || store_key_len == 0 || store_key_len > sizeof(ikm)) {
        return APR_EINVAL;
    }
    memcpy(ikm, store_key, store_key_len);
    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf && (kctx = EVP_KDF_CTX_new(kdf))) {
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm, store_key_len);
        params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, label,
                                                      sizeof(label) - 1);
        params[3] = OSSL_PARAM_construct_end();
        if (EVP_KDF_derive(kctx, key_out, MD_SEAL_KEY_LEN, params) == 1) {
            rv = APR_SUCCESS;
        }
    }
    OPENSSL_cleanse(ikm, sizeof(ikm));
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, NULL,
                      "MD24001: deriving the sealing key failed: %s",
                      md_crypt_last_error(NULL));
    }
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rv;
}

/* Run AES-256-GCM one way or the other over in (len bytes) into out. */
static int gcm(int enc, const unsigned char *key, const unsigned char *nonce,
               const unsigned char *in, int len, unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    int ok;

    ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1
         && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1
         && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)SEAL_AAD,
                             (int)sizeof(SEAL_AAD) - 1) == 1
         && EVP_CipherUpdate(ctx, out, &n, in, len) == 1;
    if (ok && !enc) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) == 1;
    }
    /* Decrypting, this is where a wrong key or a changed value shows. */
    ok = ok && EVP_CipherFinal_ex(ctx, out + n, &n) == 1;
    if (ok && enc) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

apr_status_t md_crypt_seal(const unsigned char **psealed, apr_size_t *psealed_len,
                           const unsigned char *key, const void *data, apr_size_t len,
                           apr_pool_t *p)
{
    unsigned char *out;
    apr_status_t rv;

    *psealed = NULL;
    *psealed_len = 0;
    if (len > INT_MAX - SEAL_OVERHEAD) {
        return APR_EINVAL;
    }
    out = apr_palloc(p, len + SEAL_OVERHEAD);
    out[0] = SEAL_FORMAT;
    if ((rv = md_crypt_random(out + 1, SEAL_NONCE_LEN)) != APR_SUCCESS) {
        return rv;
    }
    if (!gcm(1, key, out + 1, data, (int)len, out + 1 + SEAL_NONCE_LEN,
             out + 1 + SEAL_NONCE_LEN + len)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                      "MD24002: sealing a value failed: %s", md_crypt_last_error(p));
        return APR_EGENERAL;
    }
    *psealed = out;
    *psealed_len = len + SEAL_OVERHEAD;
    return APR_SUCCESS;
}

apr_status_t md_crypt_unseal(char **pdata, apr_size_t *plen, const unsigned char *key,
                             const void *sealed, apr_size_t sealed_len, apr_pool_t *p)
{
    const unsigned char *in = sealed;
    unsigned char tag[SEAL_TAG_LEN];
    apr_size_t len;
    char *out;

    *pdata = NULL;
    *plen = 0;
    if (sealed_len < SEAL_OVERHEAD || sealed_len > INT_MAX || in[0] != SEAL_FORMAT) {
        return APR_EINVAL;
    }
    len = sealed_len - SEAL_OVERHEAD;
    memcpy(tag, in + sealed_len - SEAL_TAG_LEN, SEAL_TAG_LEN);
    out = apr_palloc(p, len + 1);
    md_crypt_cleanse_on_clear(p, out, len + 1);
    if (!gcm(0, key, in + 1, in + 1 + SEAL_NONCE_LEN, (int)len, (unsigned char *)out, tag)) {
        /* Nothing of a failed decryption may be used. */
        OPENSSL_cleanse(out, len + 1);
        md_crypt_last_error(p);
        return APR_EACCES;
    }
    out[len] = '\0';
    *pdata = out;
    *plen = len;
    return APR_SUCCESS;
}

apr_status_t md_crypt_seal_key_check(const char **pcheck, const unsigned char *store_key,
                                     apr_size_t store_key_len, apr_pool_t *p)
{
    const unsigned char *mac = NULL;
    apr_status_t rv;

    *pcheck = NULL;
    rv = md_crypt_hmac_sha256(&mac, store_key, store_key_len, SEAL_CHECK_LABEL,
                              sizeof(SEAL_CHECK_LABEL) - 1, p);
    if (rv == APR_SUCCESS) {
        *pcheck = md_util_base64url_encode(mac, 32, p);
    }
    return rv;
}
