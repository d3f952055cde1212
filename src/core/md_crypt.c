/* Private keys and key specs, JWK, JWS signatures, digests, randomness and
 * OpenSSL error text. Certificates and CSRs are in md_crypt_cert.c.
 *
 * OpenSSL 3 EVP only (STYLE §13): keys are generated with EVP_PKEY_Q_keygen,
 * read with OSSL_DECODER, written as PKCS#8 (encrypted with AES-256-CBC
 * under PBES2 when a passphrase is given, like the stock module does), and
 * their public parts are read as provider parameters.
 */
#define _DEFAULT_SOURCE   /* strcasecmp, strncasecmp */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "md_crypt.h"
#include "md_crypt_int.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_util.h"

#define RSA_BITS_MAX   16384
/* Largest EC key we load (P-521 is 521 bits; explicit curves may be larger). */
#define EC_BITS_MAX    571

/* What decrypting a key found in the store may cost (issue 11): keys in
 * accounts/ and staging/ are written by the server's User, and the parent
 * reads them as root. OpenSSL (and so the stock module and we) write
 * PBES2/PBKDF2 with 2048 iterations; at the cap one load costs ~50 ms. */
#define PBKDF2_ITER_MAX     100000
#define PBKDF2_KEYLEN_MAX   64

/* --- curves ----------------------------------------------------------- */

/* The EC curves we generate keys on and sign JWS with. A curve goes by
 * several names; all are accepted when parsing, and each use has its own. */
typedef struct {
    const char *spec_name;  /* file names, md.json, status: "secp256r1" */
    const char *nist;       /* JWK "crv", our spec->curve, keygen: "P-256" */
    const char *ossl_sn;    /* what OpenSSL reports as group name */
    const char *alg;        /* JWS alg (RFC 7518 §3.4) */
    const char *digest;     /* the hash that alg uses */
    unsigned int size;      /* bytes of one coordinate, and of R and of S */
} curve_t;

static const curve_t CURVES[] = {
    { "secp256r1", "P-256", "prime256v1", "ES256", "SHA256", 32 },
    { "secp384r1", "P-384", "secp384r1",  "ES384", "SHA384", 48 },
    { "secp521r1", "P-521", "secp521r1",  "ES512", "SHA512", 66 },
};

#define SPEC_ACCEPTED "RSA, RSA <bits>, rsa<bits> (bits 2048..16384), " \
                      "secp256r1 (P-256, prime256v1), secp384r1 (P-384), secp521r1 (P-521)"

static const curve_t *curve_find(const char *name)
{
    apr_size_t i;

    if (!name) {
        return NULL;
    }
    for (i = 0; i < sizeof(CURVES) / sizeof(CURVES[0]); ++i) {
        if (!strcasecmp(name, CURVES[i].spec_name) || !strcasecmp(name, CURVES[i].nist)
            || !strcasecmp(name, CURVES[i].ossl_sn)) {
            return &CURVES[i];
        }
    }
    return NULL;
}

/* --- key specs -------------------------------------------------------- */

/* Parse decimal RSA bits; 0 if s is not a plain number. */
static apr_int64_t parse_bits(const char *s)
{
    char *end = NULL;
    apr_int64_t n;

    if (!s || *s < '0' || *s > '9') {
        return 0;
    }
    errno = 0;
    n = apr_strtoi64(s, &end, 10);
    if (errno || !end || *end) {
        return 0;
    }
    return n;
}

static apr_status_t rsa_spec(md_pkey_spec_t **pspec, apr_int64_t bits, const char **perr,
                             apr_pool_t *p)
{
    md_pkey_spec_t *spec;

    if (bits < MD_PKEY_RSA_BITS_MIN || bits > RSA_BITS_MAX) {
        if (perr) {
            *perr = apr_psprintf(p, "RSA key size %" APR_INT64_T_FMT
                                 " is not supported, use %d to %d bits",
                                 bits, MD_PKEY_RSA_BITS_MIN, RSA_BITS_MAX);
        }
        return APR_EINVAL;
    }
    spec = apr_pcalloc(p, sizeof(*spec));
    spec->type = MD_PKEY_TYPE_RSA;
    spec->bits = (unsigned int)bits;
    *pspec = spec;
    return APR_SUCCESS;
}

apr_status_t md_pkey_spec_parse(md_pkey_spec_t **pspec, const char *word, const char *next,
                                int *pnext_used, const char **perr, apr_pool_t *p)
{
    const curve_t *curve;
    md_pkey_spec_t *spec;
    apr_int64_t bits;

    *pspec = NULL;
    if (pnext_used) {
        *pnext_used = 0;
    }
    if (perr) {
        *perr = NULL;
    }
    if (!word || !*word) {
        if (perr) {
            *perr = "empty key type, accepted are: " SPEC_ACCEPTED;
        }
        return APR_EINVAL;
    }
    if (!strcasecmp(word, "Default")) {
        return rsa_spec(pspec, MD_PKEY_RSA_BITS_DEF, perr, p);
    }
    if (!strcasecmp(word, "RSA")) {
        bits = MD_PKEY_RSA_BITS_DEF;
        if (next && *next >= '0' && *next <= '9') {
            if ((bits = parse_bits(next)) <= 0) {
                if (perr) {
                    *perr = apr_psprintf(p, "\"%s\" is not a valid RSA key size", next);
                }
                return APR_EINVAL;
            }
            if (pnext_used) {
                *pnext_used = 1;
            }
        }
        return rsa_spec(pspec, bits, perr, p);
    }
    if (!strncasecmp(word, "rsa", 3) && word[3] >= '0' && word[3] <= '9') {
        bits = parse_bits(word + 3);
        if (bits <= 0) {
            if (perr) {
                *perr = apr_psprintf(p, "\"%s\" is not a valid RSA key size", word);
            }
            return APR_EINVAL;
        }
        return rsa_spec(pspec, bits, perr, p);
    }
    if ((curve = curve_find(word)) != NULL) {
        spec = apr_pcalloc(p, sizeof(*spec));
        spec->type = MD_PKEY_TYPE_EC;
        /* As written: the stock module names files and status keys so. */
        spec->curve = apr_pstrdup(p, word);
        *pspec = spec;
        return APR_SUCCESS;
    }
    if (perr) {
        *perr = apr_psprintf(p, "\"%s\" is not a supported key type, accepted are: "
                             SPEC_ACCEPTED, word);
    }
    return APR_EINVAL;
}

const char *md_pkey_spec_name(const md_pkey_spec_t *spec)
{
    if (!spec || spec->type != MD_PKEY_TYPE_EC) {
        return "rsa";
    }
    return spec->curve ? spec->curve : "ec";
}

const char *md_pkey_spec_fname_part(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    if (!spec || spec->type != MD_PKEY_TYPE_EC) {
        return NULL;
    }
    return md_util_str_tolower(p, md_pkey_spec_name(spec));
}

apr_array_header_t *md_pkey_spec_fname_parts(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    apr_array_header_t *parts = apr_array_make(p, 4, sizeof(const char *));
    const curve_t *curve;

    if (!spec || spec->type != MD_PKEY_TYPE_EC) {
        return parts;
    }
    md_array_str_add_missing(parts, md_pkey_spec_fname_part(spec, p));
    if ((curve = curve_find(spec->curve)) != NULL) {
        md_array_str_add_missing(parts, md_util_str_tolower(p, curve->spec_name));
        md_array_str_add_missing(parts, md_util_str_tolower(p, curve->nist));
        md_array_str_add_missing(parts, md_util_str_tolower(p, curve->ossl_sn));
    }
    return parts;
}

static unsigned int spec_rsa_bits(const md_pkey_spec_t *spec)
{
    if (!spec || spec->type == MD_PKEY_TYPE_DEFAULT || spec->bits == 0) {
        return MD_PKEY_RSA_BITS_DEF;
    }
    return spec->bits;
}

json_t *md_pkey_spec_to_json(const md_pkey_spec_t *spec)
{
    if (spec && spec->type == MD_PKEY_TYPE_EC) {
        return json_pack("{s:s, s:s}", MD_KEY_TYPE, "EC", MD_KEY_CURVE, md_pkey_spec_name(spec));
    }
    return json_pack("{s:s, s:I}", MD_KEY_TYPE, "RSA", MD_KEY_BITS,
                     (json_int_t)spec_rsa_bits(spec));
}

apr_status_t md_pkey_spec_from_json(md_pkey_spec_t **pspec, const json_t *j, apr_pool_t *p)
{
    const char *type;
    const json_t *jbits;
    const curve_t *curve;
    md_pkey_spec_t *spec;
    json_int_t bits = MD_PKEY_RSA_BITS_DEF;

    *pspec = NULL;
    if (!json_is_object(j) || !(type = json_string_value(json_object_get(j, MD_KEY_TYPE)))) {
        return APR_EINVAL;
    }
    if (!strcasecmp(type, "RSA") || !strcasecmp(type, "Default")) {
        jbits = json_object_get(j, MD_KEY_BITS);
        if (jbits && !json_is_integer(jbits)) {
            return APR_EINVAL;
        }
        if (jbits && json_integer_value(jbits) != 0) {
            bits = json_integer_value(jbits);
        }
        if (bits < MD_PKEY_RSA_BITS_MIN || bits > RSA_BITS_MAX) {
            return APR_EINVAL;
        }
        spec = apr_pcalloc(p, sizeof(*spec));
        spec->type = MD_PKEY_TYPE_RSA;
        spec->bits = (unsigned int)bits;
    }
    else if (!strcasecmp(type, "EC")) {
        curve = curve_find(json_string_value(json_object_get(j, MD_KEY_CURVE)));
        if (!curve) {
            return APR_EINVAL;
        }
        spec = apr_pcalloc(p, sizeof(*spec));
        spec->type = MD_PKEY_TYPE_EC;
        spec->curve = apr_pstrdup(p, json_string_value(json_object_get(j, MD_KEY_CURVE)));
    }
    else {
        return APR_EINVAL;
    }
    *pspec = spec;
    return APR_SUCCESS;
}

int md_pkey_spec_eq(const md_pkey_spec_t *a, const md_pkey_spec_t *b)
{
    int a_ec = a && a->type == MD_PKEY_TYPE_EC;
    int b_ec = b && b->type == MD_PKEY_TYPE_EC;

    if (a_ec != b_ec) {
        return 0;
    }
    if (a_ec) {
        /* The same curve by any of its names ("P-256", "secp256r1"). */
        const curve_t *ca = curve_find(a->curve);
        return ca ? ca == curve_find(b->curve)
                  : !strcasecmp(md_pkey_spec_name(a), md_pkey_spec_name(b));
    }
    return spec_rsa_bits(a) == spec_rsa_bits(b);
}

/* --- secrets ---------------------------------------------------------- */

typedef struct {
    void *buf;
    apr_size_t len;
} secret_t;

static apr_status_t secret_cleanup(void *data)
{
    secret_t *s = data;

    OPENSSL_cleanse(s->buf, s->len);
    return APR_SUCCESS;
}

void md_crypt_cleanse_on_clear(apr_pool_t *p, void *buf, apr_size_t len)
{
    secret_t *s = apr_palloc(p, sizeof(*s));

    s->buf = buf;
    s->len = len;
    apr_pool_cleanup_register(p, s, secret_cleanup, apr_pool_cleanup_null);
}

/* --- private keys ----------------------------------------------------- */

struct md_pkey_t {
    EVP_PKEY *evp;
    md_pkey_type_t type;
    const curve_t *curve;   /* EC on one of CURVES, else NULL */
    X509_PUBKEY *pub;       /* md_pkey_prepare_pub: the public half, encoded */
};

static apr_status_t pkey_cleanup(void *data)
{
    md_pkey_t *pkey = data;

    if (pkey->evp) {
        EVP_PKEY_free(pkey->evp);
        pkey->evp = NULL;
    }
    X509_PUBKEY_free(pkey->pub);
    pkey->pub = NULL;
    return APR_SUCCESS;
}

EVP_PKEY *md_pkey_evp(const md_pkey_t *pkey)
{
    return pkey->evp;
}

const X509_PUBKEY *md_pkey_x509_pub(const md_pkey_t *pkey)
{
    return pkey->pub;
}

apr_status_t md_pkey_prepare_pub(md_pkey_t *pkey)
{
    if (!pkey->pub && !X509_PUBKEY_set(&pkey->pub, pkey->evp)) {
        ERR_clear_error();
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* Take ownership of evp (freed on every path) and wrap it. Only RSA and
 * EC keys are supported: those are what ACME and the stock module use. */
static apr_status_t pkey_wrap(md_pkey_t **ppkey, EVP_PKEY *evp, apr_pool_t *p)
{
    md_pkey_t *pkey = apr_pcalloc(p, sizeof(*pkey));
    char group[64];

    pkey->evp = evp;
    apr_pool_cleanup_register(p, pkey, pkey_cleanup, apr_pool_cleanup_null);
    *ppkey = NULL;
    if (EVP_PKEY_is_a(evp, "RSA")) {
        pkey->type = MD_PKEY_TYPE_RSA;
    }
    else if (EVP_PKEY_is_a(evp, "EC")) {
        pkey->type = MD_PKEY_TYPE_EC;
        if (EVP_PKEY_get_utf8_string_param(evp, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof(group), NULL)) {
            pkey->curve = curve_find(group);
        }
        ERR_clear_error();
    }
    else {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD02001: unsupported key type %s, only RSA and EC keys are used",
                      EVP_PKEY_get0_type_name(evp) ? EVP_PKEY_get0_type_name(evp) : "?");
        return APR_EINVAL;
    }
    *ppkey = pkey;
    return APR_SUCCESS;
}

apr_status_t md_pkey_gen(md_pkey_t **ppkey, apr_pool_t *p, const md_pkey_spec_t *spec)
{
    const curve_t *curve;
    EVP_PKEY *evp;
    unsigned int bits;

    *ppkey = NULL;
    if (spec && spec->type == MD_PKEY_TYPE_EC) {
        if (!(curve = curve_find(spec->curve))) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                          "MD02002: unsupported EC curve %s", spec->curve ? spec->curve : "(none)");
            return APR_EINVAL;
        }
        evp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve->nist);
        if (!evp) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                          "MD02003: generating EC key on %s: %s", curve->spec_name,
                          md_crypt_last_error(p));
            return APR_EGENERAL;
        }
    }
    else {
        bits = spec_rsa_bits(spec);
        if (bits < MD_PKEY_RSA_BITS_MIN || bits > RSA_BITS_MAX) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                          "MD02004: unsupported RSA key size %u", bits);
            return APR_EINVAL;
        }
        evp = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
        if (!evp) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                          "MD02005: generating RSA %u key: %s", bits, md_crypt_last_error(p));
            return APR_EGENERAL;
        }
    }
    return pkey_wrap(ppkey, evp, p);
}

md_pkey_type_t md_pkey_type(const md_pkey_t *pkey)
{
    return pkey->type;
}

/* Copy the contents of a memory BIO into p; the copy is cleansed when p is
 * cleared (the BIO is a secure-memory BIO that clears its own buffer). */
static apr_status_t bio_to_secret(const char **pbuf, apr_size_t *plen, BIO *bio, apr_pool_t *p)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *copy;

    if (n <= 0 || !data) {
        return APR_EGENERAL;
    }
    copy = apr_palloc(p, (apr_size_t)n + 1);
    memcpy(copy, data, (apr_size_t)n);
    copy[n] = '\0';
    md_crypt_cleanse_on_clear(p, copy, (apr_size_t)n + 1);
    *pbuf = copy;
    *plen = (apr_size_t)n;
    return APR_SUCCESS;
}

apr_status_t md_pkey_to_pem(const char **ppem, apr_size_t *plen, md_pkey_t *pkey,
                            const char *pass, apr_size_t pass_len, apr_pool_t *p)
{
    const EVP_CIPHER *cipher = NULL;
    apr_status_t rv = APR_SUCCESS;
    BIO *bio;

    *ppem = NULL;
    *plen = 0;
    if (pass_len > INT_MAX) {
        return APR_EINVAL;
    }
    if (!(bio = BIO_new(BIO_s_secmem()))) {
        return APR_ENOMEM;
    }
    if (pass_len > 0) {
        /* PKCS#8 EncryptedPrivateKeyInfo, PBES2 + PBKDF2 + AES-256-CBC: the
         * format and cipher the stock module writes, so both read each
         * other's account keys. The passphrase is taken as raw bytes. */
        cipher = EVP_aes_256_cbc();
    }
    if (!PEM_write_bio_PKCS8PrivateKey(bio, pkey->evp, cipher, cipher ? pass : NULL,
                                       cipher ? (int)pass_len : 0, NULL, NULL)) {
        rv = APR_EGENERAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD02006: writing private key PEM: %s",
                      md_crypt_last_error(p));
        goto leave;
    }
    rv = bio_to_secret(ppem, plen, bio, p);
leave:
    BIO_free(bio);
    return rv;
}

int md_crypt_mem_contains(const char *hay, apr_size_t len, const char *needle)
{
    apr_size_t nlen = strlen(needle);
    apr_size_t i;

    for (i = 0; nlen <= len && i <= len - nlen; ++i) {
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, nlen)) {
            return 1;
        }
    }
    return 0;
}

/* Call fn for each PEM block in pem (name, header, decoded data) until it
 * returns 0. Blocks that do not decode end the walk. */
typedef int pem_block_fn(const char *name, const char *header, const unsigned char *data,
                         long len, void *baton);

static void pem_blocks(const char *pem, apr_size_t len, pem_block_fn *fn, void *baton)
{
    BIO *bio;
    char *name = NULL;
    char *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    int more = 1;

    if (!pem || len == 0 || len > INT_MAX || !(bio = BIO_new_mem_buf(pem, (int)len))) {
        return;
    }
    while (more && PEM_read_bio(bio, &name, &header, &data, &dlen)) {
        more = fn(name, header, data, dlen, baton);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_clear_free(data, dlen > 0 ? (size_t)dlen : 0);
        name = header = NULL;
        data = NULL;
    }
    BIO_free(bio);
    ERR_clear_error();
}

static int find_pkcs8(const char *name, const char *header, const unsigned char *data,
                      long len, void *baton)
{
    int *pfound = baton;
    X509_SIG *p8;

    (void)header;
    if (!strcmp(name, PEM_STRING_PKCS8) && (p8 = d2i_X509_SIG(NULL, &data, len)) != NULL) {
        *pfound = 1;
        X509_SIG_free(p8);
    }
    return !*pfound;
}

/* After a failed decode: is the PEM a well-formed encrypted key, so that the
 * passphrase must be what is wrong? A PKCS#8 block must hold a parseable
 * EncryptedPrivateKeyInfo; a legacy "Proc-Type: 4,ENCRYPTED" block counts as
 * encrypted as soon as it says so. */
static int is_encrypted_key(const char *pem, apr_size_t len)
{
    int found = 0;

    if (md_crypt_mem_contains(pem, len, "Proc-Type: 4,ENCRYPTED")) {
        return 1;
    }
    if (md_crypt_mem_contains(pem, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
        pem_blocks(pem, len, find_pkcs8, &found);
    }
    return found;
}

/* The key derivation of one PKCS#8 EncryptedPrivateKeyInfo: PBES2 with
 * PBKDF2 of at most PBKDF2_ITER_MAX iterations, else *pwhy says why not. */
static int pbe_acceptable(const X509_SIG *p8, const char **pwhy, apr_pool_t *p)
{
    const X509_ALGOR *alg = NULL;
    PBE2PARAM *pbe2 = NULL;
    PBKDF2PARAM *kdf = NULL;
    int64_t iter = 0;
    int64_t keylen = 0;
    int nid;
    int ok = 0;

    X509_SIG_get0(p8, &alg, NULL);
    nid = alg ? OBJ_obj2nid(alg->algorithm) : NID_undef;
    if (nid != NID_pbes2) {
        *pwhy = apr_psprintf(p, "encrypted with %s, only PBES2 is read",
                             nid != NID_undef ? OBJ_nid2sn(nid) : "an unknown scheme");
        return 0;
    }
    pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
    if (!pbe2 || !pbe2->keyfunc || OBJ_obj2nid(pbe2->keyfunc->algorithm) != NID_id_pbkdf2) {
        *pwhy = pbe2 && pbe2->keyfunc
                ? apr_psprintf(p, "key derivation %s, only PBKDF2 is read",
                               OBJ_nid2sn(OBJ_obj2nid(pbe2->keyfunc->algorithm)))
                : "malformed PBES2 parameters";
        goto leave;
    }
    kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter);
    if (!kdf || !kdf->iter || !ASN1_INTEGER_get_int64(&iter, kdf->iter)) {
        *pwhy = "malformed PBKDF2 parameters";
        goto leave;
    }
    if (iter < 1 || iter > PBKDF2_ITER_MAX) {
        *pwhy = apr_psprintf(p, "PBKDF2 with %" APR_INT64_T_FMT " iterations (at most %d "
                             "are read)", (apr_int64_t)iter, PBKDF2_ITER_MAX);
        goto leave;
    }
    if (kdf->keylength && (!ASN1_INTEGER_get_int64(&keylen, kdf->keylength)
                           || keylen < 1 || keylen > PBKDF2_KEYLEN_MAX)) {
        *pwhy = "PBKDF2 key length out of range";
        goto leave;
    }
    ok = 1;
leave:
    PBKDF2PARAM_free(kdf);
    PBE2PARAM_free(pbe2);
    return ok;
}

typedef struct {
    const char *why;
    apr_pool_t *p;
} cost_ctx_t;

static int check_block_cost(const char *name, const char *header, const unsigned char *data,
                            long len, void *baton)
{
    cost_ctx_t *ctx = baton;
    X509_SIG *p8;

    (void)header;
    if (strcmp(name, PEM_STRING_PKCS8)) {
        return 1;
    }
    if (!(p8 = d2i_X509_SIG(NULL, &data, len))) {
        ctx->why = "not an EncryptedPrivateKeyInfo";
    }
    else if (!pbe_acceptable(p8, &ctx->why, ctx->p)) {
        ctx->why = ctx->why ? ctx->why : "unusable encryption";
    }
    X509_SIG_free(p8);
    return ctx->why == NULL;
}

/* Before anything is decrypted: does every encrypted PKCS#8 block in pem
 * derive its key at a bounded cost? APR_EINVAL (logged) if not. Legacy
 * "Proc-Type: 4,ENCRYPTED" PEM derives with one MD5 round: cheap. */
static apr_status_t check_decrypt_cost(const char *pem, apr_size_t len, apr_pool_t *p)
{
    cost_ctx_t ctx = { NULL, p };

    if (!md_crypt_mem_contains(pem, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
        return APR_SUCCESS;
    }
    if (len > INT_MAX) {
        return APR_EINVAL;
    }
    pem_blocks(pem, len, check_block_cost, &ctx);
    if (ctx.why) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD02030: not decrypting a "
                      "private key: %s", ctx.why);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

typedef struct {
    int keys;
    int plain;
} enc_count_t;

static int count_key_block(const char *name, const char *header, const unsigned char *data,
                           long len, void *baton)
{
    enc_count_t *c = baton;

    (void)data;
    (void)len;
    if (!strcmp(name, PEM_STRING_PKCS8)) {
        ++c->keys;
    }
    else if (strstr(name, "PRIVATE KEY")) {
        /* PKCS#8 "PRIVATE KEY" or a legacy one, encrypted only with a
         * Proc-Type header */
        ++c->keys;
        if (!header || !strstr(header, "Proc-Type: 4,ENCRYPTED")) {
            ++c->plain;
        }
    }
    return 1;
}

int md_pkey_pem_is_encrypted(const char *pem, apr_size_t len)
{
    enc_count_t c = { 0, 0 };

    pem_blocks(pem, len, count_key_block, &c);
    return c.keys > 0 && c.plain == 0;
}

/* Keys larger than any we make or mod_ssl should serve: refused before use. */
static apr_status_t check_key_size(const EVP_PKEY *evp, apr_pool_t *p)
{
    int bits = EVP_PKEY_get_bits(evp);
    int max = EVP_PKEY_is_a(evp, "RSA") ? RSA_BITS_MAX : EC_BITS_MAX;

    if (bits <= 0 || bits > max) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD02031: a private key of %d "
                      "bits is not used (at most %d for %s)", bits, max,
                      EVP_PKEY_get0_type_name(evp) ? EVP_PKEY_get0_type_name(evp) : "?");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Decoder contexts by key type, for one thread. Each puts what it decodes
 * into out, where the caller takes it from.
 *
 * The set is malloc'd (freed with the pool), not taken from the pool:
 * Debian's libapr takes pool memory from mmap, which LeakSanitizer does
 * not scan, so contexts reachable only through pool memory look leaked to
 * any leak check before the pool is gone (libFuzzer's -detect_leaks=1
 * check after an input, with the set kept in a static across inputs: one
 * RSA context is 908 bytes in 23 allocations). From the heap, a set its
 * owner keeps where LeakSanitizer looks is followed to its contexts. */
#define DECODER_TYPES 4

struct md_pkey_decoders_t {
    struct {
        char type[80];
        OSSL_DECODER_CTX *ctx;
    } slot[DECODER_TYPES];
    int count;
    EVP_PKEY *out;
};

static apr_status_t decoders_free(void *data)
{
    md_pkey_decoders_t *dec = data;
    int i;

    for (i = 0; i < dec->count; ++i) {
        OSSL_DECODER_CTX_free(dec->slot[i].ctx);
    }
    OPENSSL_free(dec);
    return APR_SUCCESS;
}

md_pkey_decoders_t *md_pkey_decoders_make(apr_pool_t *p)
{
    md_pkey_decoders_t *dec = OPENSSL_zalloc(sizeof(*dec));

    if (dec) {
        apr_pool_cleanup_register(p, dec, decoders_free, apr_pool_cleanup_null);
    }
    return dec;
}

/* The context for PKCS#8 DER keys of type, made on first use; NULL when
 * there is no room for another type or OpenSSL has none. */
static OSSL_DECODER_CTX *decoder_for(md_pkey_decoders_t *dec, const char *type)
{
    int i;

    for (i = 0; i < dec->count; ++i) {
        if (!strcmp(dec->slot[i].type, type)) {
            return dec->slot[i].ctx;
        }
    }
    if (dec->count == DECODER_TYPES || strlen(type) >= sizeof(dec->slot[0].type)) {
        return NULL;
    }
    dec->slot[i].ctx = OSSL_DECODER_CTX_new_for_pkey(&dec->out, "DER", "PrivateKeyInfo", type,
                                                     EVP_PKEY_KEYPAIR, NULL, NULL);
    if (!dec->slot[i].ctx) {
        return NULL;
    }
    strcpy(dec->slot[i].type, type);
    dec->count++;
    return dec->slot[i].ctx;
}

/* Decode DER of type with dec's context (when it has one) or one made for
 * this key. */
static EVP_PKEY *decode_typed(md_pkey_decoders_t *dec, const char *type,
                              const unsigned char *der, size_t len)
{
    OSSL_DECODER_CTX *dctx = dec ? decoder_for(dec, type) : NULL;
    OSSL_DECODER_CTX *own = NULL;
    EVP_PKEY *evp = NULL;
    EVP_PKEY **out = dctx ? &dec->out : &evp;

    if (!dctx) {
        dctx = own = OSSL_DECODER_CTX_new_for_pkey(&evp, "DER", "PrivateKeyInfo", type,
                                                   EVP_PKEY_KEYPAIR, NULL, NULL);
    }
    *out = NULL;
    if (dctx && !OSSL_DECODER_from_data(dctx, &der, &len)) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
    evp = *out;
    if (dec) {
        dec->out = NULL;
    }
    OSSL_DECODER_CTX_free(own);
    return evp;
}

/* An unencrypted PKCS#8 key ("PRIVATE KEY", what we and the stock module
 * write), decoded with its type named from the algorithm OID. OpenSSL 3's
 * decoder without a type tries every key manager in turn: about 4x slower
 * (500 against 130 us for a P-256 key, 470 against 100 us for RSA 2048),
 * which a start over 1000 MDs pays 1000 times. With dec, the decoder
 * contexts are made once per type: making one costs three times what
 * decoding a P-256 key with it does. NULL when pem does not start with
 * such a key or its type is not known that way: the caller then decodes
 * it as any key. */
static EVP_PKEY *pkcs8_typed(const char *pem, apr_size_t len, md_pkey_decoders_t *dec)
{
    BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
    char *name = NULL, *header = NULL, type[80];
    unsigned char *der = NULL;
    const unsigned char *q;
    long der_len = 0;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    const ASN1_OBJECT *alg = NULL;
    EVP_PKEY *evp = NULL;

    ERR_set_mark();
    if (!bio || !PEM_read_bio(bio, &name, &header, &der, &der_len)
        || strcmp(name, PEM_STRING_PKCS8INF) != 0 || (header && *header)) {
        goto leave;
    }
    q = der;
    if (!(p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, der_len))
        || !PKCS8_pkey_get0(&alg, NULL, NULL, NULL, p8)
        || OBJ_obj2txt(type, sizeof(type), alg, 0) <= 0) {
        goto leave;
    }
    evp = decode_typed(dec, type, der, (size_t)der_len);
leave:
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (der) {
        OPENSSL_clear_free(der, (size_t)der_len);
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    BIO_free(bio);
    ERR_pop_to_mark();
    return evp;
}

/* Any key OpenSSL knows, encrypted with pass when pass_len > 0. */
static apr_status_t pkey_decode_any(EVP_PKEY **pevp, const char *pem, apr_size_t len,
                                    const char *pass, apr_size_t pass_len, apr_pool_t *p)
{
    OSSL_DECODER_CTX *dctx;
    const unsigned char *data = (const unsigned char *)pem;
    size_t dlen = len;
    apr_status_t rv = APR_SUCCESS;

    *pevp = NULL;
    dctx = OSSL_DECODER_CTX_new_for_pkey(pevp, "PEM", NULL, NULL, EVP_PKEY_KEYPAIR, NULL, NULL);
    if (!dctx || OSSL_DECODER_CTX_get_num_decoders(dctx) == 0) {
        rv = APR_EGENERAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD02007: no PEM key decoder: %s",
                      md_crypt_last_error(p));
    }
    /* Without a passphrase set, an encrypted key fails to decode: there is
     * no UI method that could prompt. */
    else if (pass_len > 0
             && !OSSL_DECODER_CTX_set_passphrase(dctx, (const unsigned char *)pass, pass_len)) {
        rv = APR_EGENERAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD02008: setting key passphrase: %s",
                      md_crypt_last_error(p));
    }
    else if (!OSSL_DECODER_from_data(dctx, &data, &dlen) || !*pevp) {
        rv = is_encrypted_key(pem, len) ? APR_EACCES : APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD02009: reading private key: %s (%s)",
                      rv == APR_EACCES ? "encrypted, passphrase does not match" : "not a key",
                      md_crypt_last_error(p));
    }
    if (rv != APR_SUCCESS) {
        EVP_PKEY_free(*pevp);
        *pevp = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return rv;
}

apr_status_t md_pkey_from_pem(md_pkey_t **ppkey, const char *pem, apr_size_t len,
                              const char *pass, apr_size_t pass_len, apr_pool_t *p)
{
    return md_pkey_from_pem_with(ppkey, NULL, pem, len, pass, pass_len, p);
}

apr_status_t md_pkey_from_pem_with(md_pkey_t **ppkey, md_pkey_decoders_t *dec, const char *pem,
                                   apr_size_t len, const char *pass, apr_size_t pass_len,
                                   apr_pool_t *p)
{
    EVP_PKEY *evp = NULL;
    apr_status_t rv;

    *ppkey = NULL;
    if (!pem || len == 0) {
        return APR_EINVAL;
    }
    if ((rv = check_decrypt_cost(pem, len, p)) != APR_SUCCESS) {
        return rv;
    }
    /* Plain is plain, whatever passphrase the caller has (the store
     * gives its key for every key it reads). */
    evp = pkcs8_typed(pem, len, dec);
    if (!evp && (rv = pkey_decode_any(&evp, pem, len, pass, pass_len, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = check_key_size(evp, p)) != APR_SUCCESS) {
        EVP_PKEY_free(evp);
        return rv;
    }
    return pkey_wrap(ppkey, evp, p);
}

/* --- JWK, JWS --------------------------------------------------------- */

/* base64url of a big number, left-padded with zeros to pad bytes (0: the
 * minimal big-endian form, as RFC 7518 §6.3.1 wants for RSA). */
static const char *bn_b64url(const BIGNUM *bn, int pad, apr_pool_t *p)
{
    int n = pad > 0 ? pad : BN_num_bytes(bn);
    unsigned char *buf;

    if (n <= 0) {
        n = 1;
    }
    buf = apr_pcalloc(p, (apr_size_t)n);
    if (pad > 0 ? BN_bn2binpad(bn, buf, n) != n : BN_bn2bin(bn, buf) < 0) {
        return NULL;
    }
    return md_util_base64url_encode(buf, (apr_size_t)n, p);
}

static const char *pkey_param_b64url(const md_pkey_t *pkey, const char *name, int pad,
                                     apr_pool_t *p)
{
    BIGNUM *bn = NULL;
    const char *s = NULL;

    if (EVP_PKEY_get_bn_param(pkey->evp, name, &bn)) {
        s = bn_b64url(bn, pad, p);
    }
    BN_free(bn);
    return s;
}

static apr_status_t jwk_build(json_t **pjwk, const md_pkey_t *pkey, apr_pool_t *p)
{
    const char *a;
    const char *b;

    *pjwk = NULL;
    if (pkey->type == MD_PKEY_TYPE_RSA) {
        a = pkey_param_b64url(pkey, OSSL_PKEY_PARAM_RSA_E, 0, p);
        b = pkey_param_b64url(pkey, OSSL_PKEY_PARAM_RSA_N, 0, p);
        if (a && b) {
            *pjwk = json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA", "n", b);
        }
    }
    else if (pkey->type == MD_PKEY_TYPE_EC && pkey->curve) {
        /* RFC 7518 §6.2.1.2: coordinates are the full field size. */
        a = pkey_param_b64url(pkey, OSSL_PKEY_PARAM_EC_PUB_X, (int)pkey->curve->size, p);
        b = pkey_param_b64url(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, (int)pkey->curve->size, p);
        if (a && b) {
            *pjwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", pkey->curve->nist,
                              "kty", "EC", "x", a, "y", b);
        }
    }
    else {
        return APR_ENOTIMPL;
    }
    if (!*pjwk) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                      "MD02010: reading public key parameters: %s", md_crypt_last_error(p));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

json_t *md_pkey_to_jwk(const md_pkey_t *pkey)
{
    apr_pool_t *tmp = NULL;
    json_t *jwk = NULL;

    /* No pool from the caller: an unmanaged scratch pool keeps this safe to
     * call from any thread. */
    if (apr_pool_create_unmanaged_ex(&tmp, NULL, NULL) != APR_SUCCESS) {
        return NULL;
    }
    jwk_build(&jwk, pkey, tmp);
    apr_pool_destroy(tmp);
    return jwk;
}

apr_status_t md_jwk_thumbprint(const char **pthumb, const json_t *jwk, apr_pool_t *p)
{
    static const char *const RSA_MEMBERS[] = { "e", "kty", "n", NULL };
    static const char *const EC_MEMBERS[] = { "crv", "kty", "x", "y", NULL };
    const char *const *members;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *v;
    json_t *canon = NULL;
    char *buf = NULL;
    size_t n;
    apr_status_t rv = APR_EINVAL;
    int i;

    *pthumb = NULL;
    if (!kty) {
        return APR_EINVAL;
    }
    /* RFC 7638 §3.2: only the required members of the key type. */
    if (!strcmp(kty, "RSA")) {
        members = RSA_MEMBERS;
    }
    else if (!strcmp(kty, "EC")) {
        members = EC_MEMBERS;
    }
    else {
        return APR_ENOTIMPL;
    }
    if (!(canon = json_object())) {
        return APR_ENOMEM;
    }
    for (i = 0; members[i]; ++i) {
        if (!(v = json_string_value(json_object_get(jwk, members[i])))
            || json_object_set_new(canon, members[i], json_string(v))) {
            goto leave;
        }
    }
    /* RFC 7638 §3.3: lexicographic member order, no whitespace. The values
     * are base64url and curve names, which need no escaping. */
    n = json_dumpb(canon, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
    if (n == 0) {
        goto leave;
    }
    buf = apr_palloc(p, n);
    if (json_dumpb(canon, buf, n, JSON_COMPACT | JSON_SORT_KEYS) != n) {
        goto leave;
    }
    rv = md_crypt_sha256_b64url(pthumb, buf, n, p);
leave:
    json_decref(canon);
    return rv;
}

apr_status_t md_pkey_jwk_thumbprint(const char **pthumb, const md_pkey_t *pkey, apr_pool_t *p)
{
    json_t *jwk = NULL;
    apr_status_t rv;

    *pthumb = NULL;
    if ((rv = jwk_build(&jwk, pkey, p)) == APR_SUCCESS) {
        rv = md_jwk_thumbprint(pthumb, jwk, p);
        json_decref(jwk);
    }
    return rv;
}

const char *md_pkey_jws_alg(const md_pkey_t *pkey)
{
    if (pkey->type == MD_PKEY_TYPE_RSA) {
        return "RS256";
    }
    return pkey->curve ? pkey->curve->alg : NULL;
}

/* RFC 7518 §3.4: JWS wants R||S, each left-padded to the curve size, where
 * OpenSSL gives a DER ECDSA-Sig-Value. */
static apr_status_t ecdsa_der_to_raw(const unsigned char **psig, apr_size_t *plen,
                                     const unsigned char *der, size_t der_len,
                                     unsigned int size, apr_pool_t *p)
{
    const unsigned char *q = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    unsigned char *raw;
    apr_status_t rv = APR_EGENERAL;

    if (!sig) {
        return APR_EGENERAL;
    }
    ECDSA_SIG_get0(sig, &r, &s);
    raw = apr_palloc(p, 2 * (apr_size_t)size);
    if (r && s && BN_bn2binpad(r, raw, (int)size) == (int)size
        && BN_bn2binpad(s, raw + size, (int)size) == (int)size) {
        *psig = raw;
        *plen = 2 * (apr_size_t)size;
        rv = APR_SUCCESS;
    }
    ECDSA_SIG_free(sig);
    return rv;
}

apr_status_t md_pkey_sign_jws(const unsigned char **psig, apr_size_t *plen,
                              const md_pkey_t *pkey, const void *data, apr_size_t len,
                              apr_pool_t *p)
{
    EVP_MD_CTX *ctx = NULL;
    const char *digest;
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    apr_status_t rv = APR_EGENERAL;

    *psig = NULL;
    *plen = 0;
    if (pkey->type == MD_PKEY_TYPE_RSA) {
        digest = "SHA256";  /* RS256: PKCS#1 v1.5, the RSA default padding */
    }
    else if (pkey->curve) {
        digest = pkey->curve->digest;
    }
    else {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOTIMPL, p,
                      "MD02011: no JWS algorithm for this EC curve");
        return APR_ENOTIMPL;
    }
    if (!(ctx = EVP_MD_CTX_new())
        || !EVP_DigestSignInit_ex(ctx, NULL, digest, NULL, NULL, pkey->evp, NULL)
        || !EVP_DigestSign(ctx, NULL, &sig_len, data, len)) {
        goto leave;
    }
    sig = apr_palloc(p, sig_len);
    if (!EVP_DigestSign(ctx, sig, &sig_len, data, len)) {
        goto leave;
    }
    if (pkey->type == MD_PKEY_TYPE_RSA) {
        *psig = sig;
        *plen = sig_len;
        rv = APR_SUCCESS;
    }
    else {
        rv = ecdsa_der_to_raw(psig, plen, sig, sig_len, pkey->curve->size, p);
    }
leave:
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD02012: signing JWS with %s: %s",
                      md_pkey_jws_alg(pkey), md_crypt_last_error(p));
    }
    EVP_MD_CTX_free(ctx);
    return rv;
}

/* --- digests, randomness, errors --------------------------------------- */

apr_status_t md_crypt_sha256(const unsigned char **pdigest, const void *data, apr_size_t len,
                             apr_pool_t *p)
{
    unsigned char *md = apr_palloc(p, EVP_MAX_MD_SIZE);
    unsigned int md_len = 0;

    *pdigest = NULL;
    if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p, "MD02013: SHA-256: %s",
                      md_crypt_last_error(p));
        return APR_EGENERAL;
    }
    *pdigest = md;
    return APR_SUCCESS;
}

apr_status_t md_crypt_sha256_b64url(const char **pb64, const void *data, apr_size_t len,
                                    apr_pool_t *p)
{
    const unsigned char *md;
    apr_status_t rv;

    *pb64 = NULL;
    if ((rv = md_crypt_sha256(&md, data, len, p)) == APR_SUCCESS) {
        *pb64 = md_util_base64url_encode(md, 32, p);
    }
    return rv;
}

/* What md_crypt_sha256_json_b64url feeds the digest, gathered in a buffer:
 * one EVP_DigestUpdate per few hundred bytes, not per member. */
typedef struct {
    EVP_MD_CTX *ctx;
    unsigned char buf[512];
    size_t len;
    int ok;
} json_digest_t;

static void jd_put(json_digest_t *d, const void *data, size_t len)
{
    if (d->len + len > sizeof(d->buf)) {
        d->ok = d->ok && EVP_DigestUpdate(d->ctx, d->buf, d->len);
        d->len = 0;
        if (len > sizeof(d->buf)) {
            d->ok = d->ok && EVP_DigestUpdate(d->ctx, data, len);
            return;
        }
    }
    memcpy(d->buf + d->len, data, len);
    d->len += len;
}

/* A type tag and a length or a number, big-endian: unambiguous. */
static void jd_tag(json_digest_t *d, char tag, apr_uint64_t n)
{
    unsigned char b[9];
    int i;

    b[0] = (unsigned char)tag;
    for (i = 8; i > 0; --i, n >>= 8) {
        b[i] = (unsigned char)(n & 0xff);
    }
    jd_put(d, b, sizeof(b));
}

static void jd_value(json_digest_t *d, json_t *j, int depth)
{
    const char *key;
    json_t *v;
    size_t i;
    double r;
    apr_uint64_t bits;

    if (depth > 32) {
        d->ok = 0;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        jd_tag(d, 'o', json_object_size(j));
        json_object_foreach(j, key, v) {
            size_t klen = strlen(key);

            jd_tag(d, 'k', klen);
            jd_put(d, key, klen);
            jd_value(d, v, depth + 1);
        }
        break;
    case JSON_ARRAY:
        jd_tag(d, 'a', json_array_size(j));
        for (i = 0; i < json_array_size(j); ++i) {
            jd_value(d, json_array_get(j, i), depth + 1);
        }
        break;
    case JSON_STRING:
        jd_tag(d, 's', json_string_length(j));
        jd_put(d, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        jd_tag(d, 'i', (apr_uint64_t)json_integer_value(j));
        break;
    case JSON_REAL:
        r = json_real_value(j);
        memcpy(&bits, &r, sizeof(bits));
        jd_tag(d, 'r', bits);
        break;
    case JSON_TRUE:
        jd_tag(d, 't', 0);
        break;
    case JSON_FALSE:
        jd_tag(d, 'f', 0);
        break;
    default:
        jd_tag(d, 'n', 0);
        break;
    }
}

apr_status_t md_crypt_sha256_json_b64url(const char **pb64, json_t *j, apr_pool_t *p)
{
    json_digest_t d;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    *pb64 = NULL;
    memset(&d, 0, sizeof(d));
    d.ok = j && (d.ctx = EVP_MD_CTX_new()) != NULL
           && EVP_DigestInit_ex(d.ctx, EVP_sha256(), NULL);
    if (d.ok) {
        jd_value(&d, j, 0);
        d.ok = d.ok && EVP_DigestUpdate(d.ctx, d.buf, d.len)
               && EVP_DigestFinal_ex(d.ctx, md, &md_len) && md_len == 32;
    }
    EVP_MD_CTX_free(d.ctx);
    if (!d.ok) {
        return APR_EINVAL;
    }
    *pb64 = md_util_base64url_encode(md, 32, p);
    return APR_SUCCESS;
}

apr_status_t md_crypt_hmac(const unsigned char **pmac, apr_size_t *pmac_len, const char *digest,
                           const void *key, apr_size_t key_len, const void *data, apr_size_t len,
                           apr_pool_t *p)
{
    unsigned char *mac;
    size_t mac_len = 0;
    size_t want;

    *pmac = NULL;
    *pmac_len = 0;
    if (!digest) {
        return APR_EINVAL;
    }
    if (!strcmp(digest, "SHA256")) {
        want = 32;
    }
    else if (!strcmp(digest, "SHA384")) {
        want = 48;
    }
    else if (!strcmp(digest, "SHA512")) {
        want = 64;
    }
    else {
        return APR_ENOTIMPL;
    }
    mac = apr_palloc(p, EVP_MAX_MD_SIZE);
    if (!EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key, key_len, data, len,
                   mac, EVP_MAX_MD_SIZE, &mac_len) || mac_len != want) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p, "MD02014: HMAC-%s: %s",
                      digest, md_crypt_last_error(p));
        return APR_EGENERAL;
    }
    *pmac = mac;
    *pmac_len = mac_len;
    return APR_SUCCESS;
}

apr_status_t md_crypt_hmac_sha256(const unsigned char **pmac, const void *key, apr_size_t key_len,
                                  const void *data, apr_size_t len, apr_pool_t *p)
{
    apr_size_t mac_len;

    return md_crypt_hmac(pmac, &mac_len, "SHA256", key, key_len, data, len, p);
}

apr_status_t md_crypt_random(unsigned char *buf, apr_size_t len)
{
    int n;

    while (len > 0) {
        n = len > INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(buf, n) != 1) {
            ERR_clear_error();
            return APR_EGENERAL;
        }
        buf += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

const char *md_crypt_last_error(apr_pool_t *p)
{
    const char *text = "";
    const char *data = NULL;
    const char *lib;
    const char *reason;
    const char *entry;
    unsigned long e;
    int flags = 0;

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        lib = ERR_lib_error_string(e);
        reason = ERR_reason_error_string(e);
        entry = apr_psprintf(p, "%s:%s", lib ? lib : apr_psprintf(p, "lib(%d)", ERR_GET_LIB(e)),
                             reason ? reason : apr_psprintf(p, "reason(%d)", ERR_GET_REASON(e)));
        if (data && *data && (flags & ERR_TXT_STRING)) {
            entry = apr_pstrcat(p, entry, " (", data, ")", NULL);
        }
        text = *text ? apr_pstrcat(p, text, "; ", entry, NULL) : entry;
        data = NULL;
        flags = 0;
    }
    return text;
}

void md_crypt_thread_done(void)
{
    OPENSSL_thread_stop();
}
