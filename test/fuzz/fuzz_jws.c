/* JWS and JWK (RFC 7515, 7517, 7638) with outside strings in them: the
 * nonce and URLs come from the CA, the account URL (kid) from the CA or
 * account.json, the external account binding's key id, key and algorithm
 * from the config. Whatever they hold, the signed request must decode back
 * to exactly these values (no injection into the protected header), and a
 * JWK given as JSON must hash or be refused. Input: JWK JSON, payload,
 * nonce, url, kid, MAC key, MAC algorithm, separated by FUZZ_SEP; the first
 * byte picks the account key (EC or RSA). */
#include "fuzz.h"

#include "md_crypt.h"
#include "md_json.h"
#include "md_jws.h"
#include "md_util.h"

static md_pkey_t *ec_key;
static md_pkey_t *rsa_key;

static void keys_make(void)
{
    md_pkey_spec_t ec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_pkey_spec_t rsa = { MD_PKEY_TYPE_RSA, 2048, NULL };

    if (md_pkey_gen(&ec_key, fuzz_root, &ec) != APR_SUCCESS
        || md_pkey_gen(&rsa_key, fuzz_root, &rsa) != APR_SUCCESS) {
        abort();
    }
}

/* The decoded JSON of a base64url member of jws. */
static json_t *decoded(const json_t *jws, const char *member, apr_pool_t *p)
{
    unsigned char *bytes;
    apr_size_t len;
    json_t *j = NULL;

    if (md_util_base64url_decode(&bytes, &len, md_json_get_str(jws, member), p) != APR_SUCCESS
        || md_json_parse(&j, (const char *)bytes, len, member, NULL, p) != APR_SUCCESS) {
        abort();
    }
    return j;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    unsigned which = fuzz_take_byte(&data, &size);
    const char *w[7];
    size_t lens[7];
    md_pkey_t *key;
    json_t *jwk = NULL;
    json_t *jws = NULL;
    json_t *prot;
    const char *thumb;
    const char *nonce;
    const char *kid;

    if (!ec_key) {
        keys_make();
    }
    key = (which & 1) ? rsa_key : ec_key;
    fuzz_split(data, size, 7, w, lens, p);
    if (md_json_parse(&jwk, w[0], lens[0], "jwk", NULL, p) == APR_SUCCESS) {
        (void)md_jwk_thumbprint(&thumb, jwk, p);
    }
    nonce = (which & 2) ? NULL : w[2];
    kid = (which & 4) ? NULL : w[4];
    if (md_jws_sign(&jws, w[1], lens[1], nonce, w[3], kid, key, p) == APR_SUCCESS) {
        prot = decoded(jws, "protected", p);
        if (!same(md_json_get_str(prot, "nonce"), nonce)
            || !same(md_json_get_str(prot, "url"), w[3])
            || !same(md_json_get_str(prot, "kid"), kid)
            || !md_json_get_str(prot, "alg")
            || (!kid && !md_json_get_obj(prot, "jwk"))) {
            abort();
        }
    }
    if (md_jws_sign_hmac(&jws, *w[6] ? w[6] : NULL, w[1], lens[1], w[3], w[4],
                         (const unsigned char *)w[5], lens[5], p) == APR_SUCCESS) {
        prot = decoded(jws, "protected", p);
        if (!same(md_json_get_str(prot, "url"), w[3])
            || !same(md_json_get_str(prot, "kid"), w[4])) {
            abort();
        }
    }
    fuzz_pool_end(p);
    return 0;
}
