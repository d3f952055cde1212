/* base64url (RFC 4648 §5) as nonces, tokens, JWS parts, EAB keys and the
 * store key arrive: decode (strict and lenient), encode back, and the
 * token check that guards file names. */
#include "fuzz.h"

#include "md_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *s = fuzz_str(data, size, p);
    unsigned char *dec = NULL;
    apr_size_t len = 0;
    const char *enc;

    if (md_util_base64url_decode(&dec, &len, s, p) == APR_SUCCESS) {
        /* Strict decoding is one-to-one: encoding gives the input back,
         * less any padding. */
        enc = md_util_base64url_encode(dec, len, p);
        if (strncmp(enc, s, strlen(enc)) || (s[strlen(enc)] && s[strlen(enc)] != '=')) {
            abort();
        }
        if (dec[len] != '\0') {
            abort();
        }
    }
    if (md_util_base64any_decode(&dec, &len, s, p) == APR_SUCCESS) {
        enc = md_util_base64url_encode(dec, len, p);
        if (strlen(enc) > strlen(s)) {
            abort();
        }
    }
    if (md_util_is_base64url(s, 256)) {
        /* A token that passes may become a file name or a header. */
        if (strlen(s) > 256 || strpbrk(s, "/.\\ \r\n%=") || !*s) {
            abort();
        }
    }
    /* Encoding any bytes decodes to the same bytes. */
    enc = md_util_base64url_encode(data, size, p);
    if (md_util_base64url_decode(&dec, &len, enc, p) != APR_SUCCESS || len != size
        || (size && memcmp(dec, data, size))) {
        abort();
    }
    (void)md_util_str_printable(p, s, 64);
    (void)md_util_str_printable(p, s, 0);
    fuzz_pool_end(p);
    return 0;
}
