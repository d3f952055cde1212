/* Certificates and CSRs: parsing PEM chains, reading what the status and
 * renewal logic need (names, validity, serial, fingerprint, issuer),
 * self-signed fallback certificates and ACME finalize CSRs.
 * Part of the crypto home (STYLE §13); keys live in md_crypt.c.
 */
#define _DEFAULT_SOURCE   /* timegm, strncasecmp, inet_ntop */

#include <limits.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>

#include <apr_strings.h>

#include <openssl/bn.h>
#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "md_crypt.h"
#include "md_crypt_int.h"
#include "md_log.h"
#include "md_util.h"

/* RFC 5280 ub-common-name: a CN longer than this cannot be encoded. */
#define CN_MAX_LEN          64
/* RFC 8555 §7.4 and RFC 7633: TLS Feature extension, status_request (5). */
#define TLS_FEATURE_STATUS_REQUEST  5

struct md_cert_t {
    X509 *x509;
};

static apr_status_t cert_cleanup(void *data)
{
    md_cert_t *cert = data;

    if (cert->x509) {
        X509_free(cert->x509);
        cert->x509 = NULL;
    }
    return APR_SUCCESS;
}

/* Take ownership of x509. */
md_cert_t *md_cert_wrap(X509 *x509, apr_pool_t *p)
{
    md_cert_t *cert = apr_pcalloc(p, sizeof(*cert));

    cert->x509 = x509;
    apr_pool_cleanup_register(p, cert, cert_cleanup, apr_pool_cleanup_null);
    return cert;
}

X509 *md_cert_x509(const md_cert_t *cert)
{
    return cert->x509;
}

/* Certificates are never encrypted: refuse to ask for a passphrase rather
 * than let OpenSSL prompt on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int has_content(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            return 1;
        }
    }
    return 0;
}

apr_status_t md_certs_from_pem(apr_array_header_t **pcerts, const char *pem, apr_size_t len,
                               apr_pool_t *p)
{
    apr_array_header_t *certs = apr_array_make(p, 3, sizeof(md_cert_t *));
    apr_status_t rv = APR_SUCCESS;
    unsigned long e;
    X509 *x509;
    BIO *bio;

    *pcerts = NULL;
    if (!pem || len == 0) {
        return APR_ENOENT;
    }
    if (len > INT_MAX) {
        return APR_EINVAL;
    }
    if (!(bio = BIO_new_mem_buf(pem, (int)len))) {
        return APR_ENOMEM;
    }
    ERR_clear_error();
    /* Text around the blocks and blocks of other types are skipped. */
    while ((x509 = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
        APR_ARRAY_PUSH(certs, md_cert_t *) = md_cert_wrap(x509, p);
    }
    e = ERR_peek_last_error();
    if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        /* A certificate block that does not decode: the whole chain is bad. */
        rv = APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                      "MD02500: certificate %d in PEM does not parse: %s", certs->nelts + 1,
                      md_crypt_last_error(p));
    }
    else if (certs->nelts == 0) {
        rv = (has_content(pem, len) && !md_crypt_mem_contains(pem, len, "-----BEGIN "))
             ? APR_EINVAL : APR_ENOENT;
    }
    ERR_clear_error();
    BIO_free(bio);
    if (rv == APR_SUCCESS) {
        *pcerts = certs;
    }
    return rv;
}

apr_status_t md_certs_to_pem(const char **ppem, apr_size_t *plen,
                             const apr_array_header_t *certs, apr_pool_t *p)
{
    apr_status_t rv = APR_SUCCESS;
    const md_cert_t *cert;
    char *data = NULL;
    long n;
    BIO *bio;
    int i;

    *ppem = NULL;
    *plen = 0;
    if (!(bio = BIO_new(BIO_s_mem()))) {
        return APR_ENOMEM;
    }
    for (i = 0; certs && i < certs->nelts; ++i) {
        cert = APR_ARRAY_IDX(certs, i, const md_cert_t *);
        if (!PEM_write_bio_X509(bio, cert->x509)) {
            rv = APR_EGENERAL;
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD02501: writing certificate PEM: %s",
                          md_crypt_last_error(p));
            goto leave;
        }
    }
    n = BIO_get_mem_data(bio, &data);
    *ppem = n > 0 ? apr_pstrmemdup(p, data, (apr_size_t)n) : "";
    *plen = n > 0 ? (apr_size_t)n : 0;
leave:
    BIO_free(bio);
    return rv;
}

/* --- names ----------------------------------------------------------- */

/* Binary form of an IP literal into buf (16 bytes); its length (4 or 16),
 * or 0 if name is not an IP address. */
static int ip_parse(unsigned char *buf, const char *name)
{
    if (strchr(name, ':')) {
        return inet_pton(AF_INET6, name, buf) == 1 ? 16 : 0;
    }
    return inet_pton(AF_INET, name, buf) == 1 ? 4 : 0;
}

static const char *ip_text(const ASN1_OCTET_STRING *ip, apr_pool_t *p)
{
    char buf[INET6_ADDRSTRLEN];
    int len = ASN1_STRING_length(ip);
    const unsigned char *data = ASN1_STRING_get0_data(ip);

    /* inet_ntop writes IPv6 in the RFC 5952 compressed form ("::1"). */
    if ((len == 4 && inet_ntop(AF_INET, data, buf, sizeof(buf)))
        || (len == 16 && inet_ntop(AF_INET6, data, buf, sizeof(buf)))) {
        return apr_pstrdup(p, buf);
    }
    return NULL;
}

static GENERAL_NAMES *cert_sans(const X509 *x509)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x509, NID_subject_alt_name, NULL, NULL);

    ERR_clear_error();
    return gens;
}

apr_status_t md_cert_get_alt_names(apr_array_header_t **pnames, const md_cert_t *cert,
                                   apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 5, sizeof(const char *));
    GENERAL_NAMES *gens = cert_sans(cert->x509);
    const GENERAL_NAME *g;
    const unsigned char *data;
    const char *name;
    int len;
    int i;

    for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); ++i) {
        g = sk_GENERAL_NAME_value(gens, i);
        name = NULL;
        if (g->type == GEN_DNS) {
            data = ASN1_STRING_get0_data(g->d.dNSName);
            len = ASN1_STRING_length(g->d.dNSName);
            /* A name with an embedded NUL is a forgery attempt, not a name. */
            if (len > 0 && !memchr(data, 0, (size_t)len)) {
                name = md_util_str_tolower(p, apr_pstrmemdup(p, (const char *)data,
                                                             (apr_size_t)len));
            }
        }
        else if (g->type == GEN_IPADD) {
            name = ip_text(g->d.iPAddress, p);
        }
        if (name) {
            APR_ARRAY_PUSH(names, const char *) = name;
        }
    }
    GENERAL_NAMES_free(gens);
    *pnames = names;
    return APR_SUCCESS;
}

/* Does the SAN entry g cover name? DNS names match exactly (ignoring case)
 * or by a wildcard "*.x" for exactly one more label; IP addresses match by
 * their binary value, so any textual form of the same address works. */
static int san_covers(const GENERAL_NAME *g, const char *name)
{
    unsigned char ip[16];
    int ip_len = ip_parse(ip, name);
    const unsigned char *data;
    const char *dot;
    size_t nlen = strlen(name);
    int len;

    if (ip_len) {
        return g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == ip_len
               && !memcmp(ASN1_STRING_get0_data(g->d.iPAddress), ip, (size_t)ip_len);
    }
    if (g->type != GEN_DNS) {
        return 0;
    }
    data = ASN1_STRING_get0_data(g->d.dNSName);
    len = ASN1_STRING_length(g->d.dNSName);
    if (len <= 0 || memchr(data, 0, (size_t)len)) {
        return 0;
    }
    if ((size_t)len == nlen && !strncasecmp((const char *)data, name, nlen)) {
        return 1;
    }
    if (len > 2 && data[0] == '*' && data[1] == '.' && (dot = strchr(name, '.')) != NULL
        && dot > name && strncmp(name, "*.", 2) != 0) {
        return strlen(dot) == (size_t)(len - 1)
               && !strncasecmp(dot, (const char *)data + 1, (size_t)(len - 1));
    }
    return 0;
}

int md_cert_covers(const md_cert_t *cert, const apr_array_header_t *names)
{
    GENERAL_NAMES *gens;
    const char *name;
    int covered = 1;
    int found;
    int i;
    int j;

    if (!names || names->nelts == 0) {
        return 1;
    }
    if (!(gens = cert_sans(cert->x509))) {
        return 0;
    }
    for (i = 0; covered && i < names->nelts; ++i) {
        name = APR_ARRAY_IDX(names, i, const char *);
        found = 0;
        for (j = 0; !found && j < sk_GENERAL_NAME_num(gens); ++j) {
            found = san_covers(sk_GENERAL_NAME_value(gens, j), name);
        }
        covered = found;
    }
    GENERAL_NAMES_free(gens);
    return covered;
}

/* --- properties ------------------------------------------------------- */

apr_time_t md_asn1_time_to_apr(const ASN1_TIME *t)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (!t || !ASN1_TIME_to_tm(t, &tm)) {
        ERR_clear_error();
        return 0;
    }
    /* The tm is UTC: timegm, not mktime, which would apply the local zone. */
    return apr_time_from_sec(timegm(&tm));
}

apr_time_t md_cert_valid_from(const md_cert_t *cert)
{
    return md_asn1_time_to_apr(X509_get0_notBefore(cert->x509));
}

apr_time_t md_cert_valid_until(const md_cert_t *cert)
{
    return md_asn1_time_to_apr(X509_get0_notAfter(cert->x509));
}

int md_cert_is_valid_at(const md_cert_t *cert, apr_time_t t)
{
    return md_cert_valid_from(cert) <= t && t <= md_cert_valid_until(cert);
}

const char *md_cert_serial_hex(const md_cert_t *cert, apr_pool_t *p)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->x509), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    const char *s = hex ? apr_pstrdup(p, hex) : NULL;

    OPENSSL_free(hex);
    BN_free(bn);
    ERR_clear_error();
    return s;
}

apr_status_t md_cert_aki(const unsigned char **pid, apr_size_t *plen, const md_cert_t *cert,
                         apr_pool_t *p)
{
    const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(cert->x509);
    int len;

    *pid = NULL;
    *plen = 0;
    ERR_clear_error();
    if (!kid || (len = ASN1_STRING_length(kid)) <= 0) {
        return APR_ENOENT;
    }
    *pid = apr_pmemdup(p, ASN1_STRING_get0_data(kid), (apr_size_t)len);
    *plen = (apr_size_t)len;
    return APR_SUCCESS;
}

apr_status_t md_cert_serial_der(const unsigned char **pbytes, apr_size_t *plen,
                                const md_cert_t *cert, apr_pool_t *p)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert->x509);
    unsigned char *der;
    unsigned char *q;
    apr_size_t off;
    apr_size_t clen;
    apr_size_t k;
    int n;

    *pbytes = NULL;
    *plen = 0;
    if (!serial || (n = i2d_ASN1_INTEGER(serial, NULL)) <= 2) {
        ERR_clear_error();
        return APR_EINVAL;
    }
    q = der = apr_palloc(p, (apr_size_t)n);
    if (i2d_ASN1_INTEGER(serial, &q) != n || der[0] != 0x02) {
        ERR_clear_error();
        return APR_EINVAL;
    }
    /* Skip tag and length (short or long form, X.690 §8.1.3). */
    if (der[1] < 0x80) {
        off = 2;
        clen = der[1];
    }
    else {
        k = der[1] & 0x7f;
        if (k == 0 || k > 4 || (apr_size_t)n < 2 + k) {
            return APR_EINVAL;
        }
        for (clen = 0, off = 0; off < k; ++off) {
            clen = (clen << 8) | der[2 + off];
        }
        off = 2 + k;
    }
    if (clen == 0 || off + clen != (apr_size_t)n) {
        return APR_EINVAL;
    }
    *pbytes = der + off;
    *plen = clen;
    return APR_SUCCESS;
}

const char *md_cert_sha256_fingerprint(const md_cert_t *cert, apr_pool_t *p)
{
    static const char HEX[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    unsigned int i;
    char *s;

    if (!X509_digest(cert->x509, EVP_sha256(), md, &n)) {
        ERR_clear_error();
        return NULL;
    }
    s = apr_palloc(p, 2 * (apr_size_t)n + 1);
    for (i = 0; i < n; ++i) {
        s[2 * i] = HEX[md[i] >> 4];
        s[2 * i + 1] = HEX[md[i] & 0x0f];
    }
    s[2 * n] = '\0';
    return s;
}

const char *md_cert_issuer_name(const md_cert_t *cert, apr_pool_t *p)
{
    char *name = X509_NAME_oneline(X509_get_issuer_name(cert->x509), NULL, 0);
    const char *s = name ? apr_pstrdup(p, name) : NULL;

    OPENSSL_free(name);
    return s;
}

const char *md_cert_issuer_uri(const md_cert_t *cert, apr_pool_t *p)
{
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(cert->x509, NID_info_access, NULL, NULL);
    const char *uri = NULL;
    int i;

    for (i = 0; aia && !uri && i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
        const ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);

        if (OBJ_obj2nid(ad->method) == NID_ad_ca_issuers
            && ad->location->type == GEN_URI) {
            const ASN1_IA5STRING *s = ad->location->d.uniformResourceIdentifier;
            /* From the CA: printable only, bounded, before anyone shows it. */
            uri = md_util_str_printable(p, apr_pstrmemdup(p, (const char *)ASN1_STRING_get0_data(s),
                                                          (apr_size_t)ASN1_STRING_length(s)),
                                        1024);
        }
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    ERR_clear_error();
    return uri;
}

int md_cert_matches_key(const md_cert_t *cert, const md_pkey_t *pkey)
{
    EVP_PKEY *pub = X509_get0_pubkey(cert->x509);
    int eq = pub && EVP_PKEY_eq(pub, md_pkey_evp(pkey)) == 1;

    ERR_clear_error();
    return eq;
}

int md_cert_issued_by(const md_cert_t *cert, const md_cert_t *issuer)
{
    EVP_PKEY *pub = X509_get0_pubkey(issuer->x509);
    /* Names and signature only: key usage and the like are the client's
     * business (X509_check_issued would also call a self-signed leaf
     * without keyCertSign not self-issued). */
    int ok = pub && !X509_NAME_cmp(X509_get_issuer_name(cert->x509),
                                   X509_get_subject_name(issuer->x509))
             && X509_verify(cert->x509, pub) == 1;

    ERR_clear_error();
    return ok;
}

/* --- renewal info and certificate transparency ------------------------ */

const char *md_crypt_hex(const unsigned char *data, apr_size_t len, apr_pool_t *p)
{
    static const char HEX[] = "0123456789abcdef";
    char *s = apr_palloc(p, 2 * len + 1);
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        s[2 * i] = HEX[data[i] >> 4];
        s[2 * i + 1] = HEX[data[i] & 0x0f];
    }
    s[2 * len] = '\0';
    return s;
}

const char *md_cert_ari_cert_id(const md_cert_t *cert, apr_pool_t *p)
{
    const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(cert->x509);
    unsigned char *der = NULL;
    const char *id = NULL;
    apr_size_t hdr;
    int len;

    if (!akid || ASN1_STRING_length(akid) <= 0) {
        ERR_clear_error();
        return NULL;
    }
    /* RFC 9773 §4.1: the serial's DER content octets, so a serial with the
     * top bit set keeps its leading zero octet. */
    len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert->x509), &der);
    if (len < 3 || !der || der[0] != 0x02) {
        goto leave;
    }
    hdr = (der[1] & 0x80) ? 2 + (apr_size_t)(der[1] & 0x7f) : 2;
    if (hdr >= (apr_size_t)len) {
        goto leave;
    }
    id = apr_pstrcat(p,
                     md_util_base64url_encode(ASN1_STRING_get0_data(akid),
                                              (apr_size_t)ASN1_STRING_length(akid), p),
                     ".", md_util_base64url_encode(der + hdr, (apr_size_t)len - hdr, p), NULL);
leave:
    OPENSSL_free(der);
    ERR_clear_error();
    return id;
}

apr_status_t md_cert_get_scts(apr_array_header_t **pscts, const md_cert_t *cert, apr_pool_t *p)
{
    STACK_OF(SCT) *list;
    int crit = 0;
    int i;

    *pscts = apr_array_make(p, 2, sizeof(md_sct_t *));
    list = X509_get_ext_d2i(cert->x509, NID_ct_precert_scts, &crit, NULL);
    if (!list) {
        if (crit == -1) {
            return APR_SUCCESS;     /* no SCT list: nothing to show */
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, APR_EINVAL, p,
                      "MD02020: certificate %s has an unreadable SCT list: %s",
                      md_cert_serial_hex(cert, p), md_crypt_last_error(p));
        return APR_EINVAL;
    }
    for (i = 0; i < sk_SCT_num(list); ++i) {
        const SCT *sct = sk_SCT_value(list, i);
        md_sct_t *out = apr_pcalloc(p, sizeof(*out));
        unsigned char *data = NULL;
        apr_size_t len;
        uint64_t ts;
        int nid;

        /* The wire value, as the stock module shows it: v1 (the only one,
         * RFC 6962 §3.2) is 0. */
        out->version = SCT_get_version(sct) == SCT_VERSION_V1 ? 0 : -1;
        len = SCT_get0_log_id(sct, &data);
        out->log_id = md_crypt_hex(data, len, p);
        /* A time apr_time_t cannot hold (a forged SCT) is unknown. */
        ts = SCT_get_timestamp(sct);
        out->timestamp = ts <= (uint64_t)(APR_INT64_MAX / 1000)
                         ? apr_time_from_msec((apr_time_t)ts) : 0;
        len = SCT_get0_signature(sct, &data);
        out->signature = md_crypt_hex(data, len, p);
        nid = SCT_get_signature_nid(sct);
        out->signature_alg = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
        APR_ARRAY_PUSH(*pscts, md_sct_t *) = out;
    }
    SCT_LIST_free(list);
    ERR_clear_error();
    return APR_SUCCESS;
}

/* --- building: names, self-signed certificates, CSRs ------------------ */

static apr_status_t sans_build(GENERAL_NAMES **pgens, const apr_array_header_t *names)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *g = NULL;
    ASN1_OCTET_STRING *ip = NULL;
    ASN1_IA5STRING *dns = NULL;
    unsigned char buf[16];
    const char *name;
    int ip_len;
    int i;

    *pgens = NULL;
    if (!gens) {
        return APR_ENOMEM;
    }
    for (i = 0; i < names->nelts; ++i) {
        name = APR_ARRAY_IDX(names, i, const char *);
        if (!(g = GENERAL_NAME_new())) {
            goto fail;
        }
        if ((ip_len = ip_parse(buf, name)) > 0) {
            if (!(ip = ASN1_OCTET_STRING_new()) || !ASN1_OCTET_STRING_set(ip, buf, ip_len)) {
                goto fail;
            }
            GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
            ip = NULL;
        }
        else {
            if (!(dns = ASN1_IA5STRING_new()) || !ASN1_STRING_set(dns, name, -1)) {
                goto fail;
            }
            GENERAL_NAME_set0_value(g, GEN_DNS, dns);
            dns = NULL;
        }
        if (!sk_GENERAL_NAME_push(gens, g)) {
            goto fail;
        }
        g = NULL;
    }
    *pgens = gens;
    return APR_SUCCESS;
fail:
    ASN1_OCTET_STRING_free(ip);
    ASN1_IA5STRING_free(dns);
    GENERAL_NAME_free(g);
    GENERAL_NAMES_free(gens);
    return APR_ENOMEM;
}

/* Is a CN possible for name (a DNS name short enough to encode)? */
static int cn_fits(const char *name)
{
    unsigned char buf[16];

    return name && *name && strlen(name) <= CN_MAX_LEN && !ip_parse(buf, name);
}

static int name_add_cn(X509_NAME *xn, const char *cn)
{
    return X509_NAME_add_entry_by_txt(xn, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                      -1, -1, 0);
}

/* A positive, non-zero 64-bit serial from the CSPRNG. */
static int serial_set_random(X509 *x509)
{
    unsigned char buf[8];
    BIGNUM *bn = NULL;
    int ok = 0;

    if (md_crypt_random(buf, sizeof(buf)) != APR_SUCCESS) {
        return 0;
    }
    buf[0] &= 0x7f;
    buf[0] |= 0x40;     /* never zero, always 8 bytes long */
    if ((bn = BN_bin2bn(buf, sizeof(buf), NULL)) != NULL
        && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x509)) != NULL) {
        ok = 1;
    }
    BN_free(bn);
    return ok;
}

/* Extensions of a fallback server certificate (see md_cert_self_sign). */
static int self_sign_exts(X509 *x509, const apr_array_header_t *names, int san_critical)
{
    GENERAL_NAMES *gens = NULL;
    BASIC_CONSTRAINTS *bc = NULL;
    ASN1_BIT_STRING *ku = NULL;
    EXTENDED_KEY_USAGE *eku = NULL;
    int ok = 0;

    if (sans_build(&gens, names) != APR_SUCCESS
        || !X509_add1_ext_i2d(x509, NID_subject_alt_name, gens, san_critical, X509V3_ADD_DEFAULT)) {
        goto leave;
    }
    if (!(bc = BASIC_CONSTRAINTS_new())
        || !X509_add1_ext_i2d(x509, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT)) {
        goto leave;
    }
    /* keyUsage bits 0 digitalSignature, 2 keyEncipherment (RFC 5280 §4.2.1.3). */
    if (!(ku = ASN1_BIT_STRING_new()) || !ASN1_BIT_STRING_set_bit(ku, 0, 1)
        || !ASN1_BIT_STRING_set_bit(ku, 2, 1)
        || !X509_add1_ext_i2d(x509, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT)) {
        goto leave;
    }
    if (!(eku = sk_ASN1_OBJECT_new_null())
        || !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth))
        || !X509_add1_ext_i2d(x509, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT)) {
        goto leave;
    }
    ok = 1;
leave:
    GENERAL_NAMES_free(gens);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_BIT_STRING_free(ku);
    EXTENDED_KEY_USAGE_free(eku);
    return ok;
}

/* RFC 8737 §3: the acmeIdentifier extension (id-pe 31) holds the DER
 * OCTET STRING (SIZE (32)) of SHA-256 over the key authorization. */
#define ACME_IDENTIFIER_OID     "1.3.6.1.5.5.7.1.31"
#define ACME_IDENTIFIER_LEN     32

static int add_acme_identifier(X509 *x509, const unsigned char *digest)
{
    unsigned char der[2 + ACME_IDENTIFIER_LEN];
    ASN1_OBJECT *obj = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = 0;

    der[0] = V_ASN1_OCTET_STRING;
    der[1] = ACME_IDENTIFIER_LEN;
    memcpy(der + 2, digest, ACME_IDENTIFIER_LEN);
    if (obj && value && ASN1_OCTET_STRING_set(value, der, (int)sizeof(der))
        && (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, value)) != NULL
        && X509_add_ext(x509, ext, -1)) {
        ok = 1;
    }
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(value);
    ASN1_OBJECT_free(obj);
    return ok;
}

/* A copy of the algorithm's parameters: a curve's name, or none. */
static int dup_param(int ptype, const void *pval, void **pcopy)
{
    *pcopy = NULL;
    if (ptype == V_ASN1_OBJECT) {
        return (*pcopy = OBJ_dup(pval)) != NULL;
    }
    return ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF;
}

/* The certificate's public key: copied from what md_pkey_prepare_pub
 * encoded, else encoded here. */
static int set_pubkey(X509 *x509, const md_pkey_t *pkey)
{
    const X509_PUBKEY *pub = md_pkey_x509_pub(pkey);
    ASN1_OBJECT *alg_obj;
    const ASN1_OBJECT *cobj;
    X509_ALGOR *alg;
    const unsigned char *bits;
    unsigned char *bits_copy;
    const void *pval;
    void *param;
    int ptype, len;

    if (!pub) {
        return X509_set_pubkey(x509, md_pkey_evp(pkey));
    }
    if (!X509_PUBKEY_get0_param(NULL, &bits, &len, &alg, pub) || len <= 0) {
        return 0;
    }
    X509_ALGOR_get0(&cobj, &ptype, &pval, alg);
    if (!dup_param(ptype, pval, &param)) {
        return X509_set_pubkey(x509, md_pkey_evp(pkey));
    }
    alg_obj = OBJ_dup(cobj);
    bits_copy = OPENSSL_memdup(bits, (size_t)len);
    if (!alg_obj || !bits_copy
        || !X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x509), alg_obj, ptype, param,
                                   bits_copy, len)) {
        ASN1_OBJECT_free(alg_obj);
        ASN1_OBJECT_free(param);
        OPENSSL_free(bits_copy);
        return 0;
    }
    return 1;
}

/* A self-signed certificate; with acme_id (32 bytes) it carries the
 * acmeIdentifier extension of tls-alpn-01. */
static apr_status_t self_sign(md_cert_t **pcert, const char *cn,
                              const apr_array_header_t *names, const md_pkey_t *pkey,
                              apr_interval_time_t valid_for, const unsigned char *acme_id,
                              apr_pool_t *p)
{
    EVP_PKEY *evp = md_pkey_evp(pkey);
    X509_NAME *xn = NULL;
    X509 *x509 = NULL;
    time_t now = (time_t)apr_time_sec(apr_time_now());
    int has_cn;

    *pcert = NULL;
    if (!names || names->nelts == 0) {
        return APR_EINVAL;
    }
    /* Subject and issuer are the same CN; a name too long for a CN (or an IP
     * address) is left to the SAN, which must then be critical (RFC 5280
     * §4.2.1.6). */
    has_cn = cn_fits(cn);
    if (!(x509 = X509_new()) || !X509_set_version(x509, X509_VERSION_3)
        || !serial_set_random(x509) || !(xn = X509_NAME_new())
        || (has_cn && !name_add_cn(xn, cn))
        || !X509_set_subject_name(x509, xn) || !X509_set_issuer_name(x509, xn)
        || !ASN1_TIME_set(X509_getm_notBefore(x509), now - 24 * 60 * 60)
        || !ASN1_TIME_set(X509_getm_notAfter(x509), now + (time_t)apr_time_sec(valid_for))
        || !set_pubkey(x509, pkey) || !self_sign_exts(x509, names, !has_cn)
        || (acme_id && !add_acme_identifier(x509, acme_id))
        || !X509_sign(x509, evp, EVP_sha256())) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                      "MD02502: creating self-signed certificate for %s: %s",
                      cn ? cn : APR_ARRAY_IDX(names, 0, const char *), md_crypt_last_error(p));
        X509_NAME_free(xn);
        X509_free(x509);
        return APR_EGENERAL;
    }
    X509_NAME_free(xn);
    *pcert = md_cert_wrap(x509, p);
    return APR_SUCCESS;
}

apr_status_t md_cert_self_sign(md_cert_t **pcert, const char *cn,
                               const apr_array_header_t *names, const md_pkey_t *pkey,
                               apr_interval_time_t valid_for, apr_pool_t *p)
{
    return self_sign(pcert, cn, names, pkey, valid_for, NULL, p);
}

apr_status_t md_cert_make_tls_alpn01(md_cert_t **pcert, const char *domain,
                                     const char *key_authz, const md_pkey_t *pkey,
                                     apr_interval_time_t valid_for, apr_pool_t *p)
{
    apr_array_header_t *names;
    const unsigned char *digest;
    apr_status_t rv;

    *pcert = NULL;
    if (!domain || !*domain || !key_authz) {
        return APR_EINVAL;
    }
    rv = md_crypt_sha256(&digest, key_authz, strlen(key_authz), p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* RFC 8737 §3 / RFC 8738 §6: one subjectAltName, the name or address
     * being validated. */
    names = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(names, const char *) = domain;
    return self_sign(pcert, domain, names, pkey, valid_for, digest, p);
}

apr_status_t md_cert_get_acme_identifier(const unsigned char **pdigest, int *pcritical,
                                         const md_cert_t *cert, apr_pool_t *p)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    X509_EXTENSION *ext;
    const ASN1_OCTET_STRING *data;
    const unsigned char *der;
    int idx;

    *pdigest = NULL;
    *pcritical = 0;
    if (!obj) {
        ERR_clear_error();
        return APR_ENOMEM;
    }
    idx = X509_get_ext_by_OBJ(cert->x509, obj, -1);
    ASN1_OBJECT_free(obj);
    if (idx < 0) {
        ERR_clear_error();
        return APR_ENOENT;
    }
    ext = X509_get_ext(cert->x509, idx);
    data = X509_EXTENSION_get_data(ext);
    der = ASN1_STRING_get0_data(data);
    if (ASN1_STRING_length(data) != 2 + ACME_IDENTIFIER_LEN || der[0] != V_ASN1_OCTET_STRING
        || der[1] != ACME_IDENTIFIER_LEN) {
        return APR_EINVAL;
    }
    *pcritical = X509_EXTENSION_get_critical(ext) ? 1 : 0;
    *pdigest = apr_pmemdup(p, der + 2, ACME_IDENTIFIER_LEN);
    return APR_SUCCESS;
}

/* Extensions requested in a CSR: the names, and must-staple if wanted. */
static int csr_exts(X509_REQ *req, const apr_array_header_t *names, int san_critical,
                    int must_staple)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    GENERAL_NAMES *gens = NULL;
    TLS_FEATURE *tlsf = NULL;
    ASN1_INTEGER *feature = NULL;
    int ok = 0;

    if (sans_build(&gens, names) != APR_SUCCESS
        || !X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, san_critical,
                            X509V3_ADD_DEFAULT)) {
        goto leave;
    }
    if (must_staple) {
        if (!(tlsf = TLS_FEATURE_new()) || !(feature = ASN1_INTEGER_new())
            || !ASN1_INTEGER_set(feature, TLS_FEATURE_STATUS_REQUEST)
            || !sk_ASN1_INTEGER_push(tlsf, feature)) {
            goto leave;
        }
        feature = NULL;
        if (!X509V3_add1_i2d(&exts, NID_tlsfeature, tlsf, 0, X509V3_ADD_DEFAULT)) {
            goto leave;
        }
    }
    ok = X509_REQ_add_extensions(req, exts);
leave:
    ASN1_INTEGER_free(feature);
    TLS_FEATURE_free(tlsf);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return ok;
}

apr_status_t md_csr_create(const char **pcsr64, const md_pkey_t *pkey,
                           const apr_array_header_t *names, int must_staple, apr_pool_t *p)
{
    EVP_PKEY *evp = md_pkey_evp(pkey);
    X509_REQ *req = NULL;
    const char *first;
    unsigned char *der;
    unsigned char *q;
    apr_status_t rv = APR_SUCCESS;
    int has_cn;
    int len;

    *pcsr64 = NULL;
    if (!names || names->nelts == 0) {
        return APR_EINVAL;
    }
    /* The CA takes the names from the SAN (RFC 8555 §7.4); a CN is only
     * there for old tools, and is left out when it cannot hold the name. */
    first = APR_ARRAY_IDX(names, 0, const char *);
    has_cn = cn_fits(first);
    if (!(req = X509_REQ_new()) || !X509_REQ_set_version(req, X509_REQ_VERSION_1)
        || (has_cn && !name_add_cn(X509_REQ_get_subject_name(req), first))
        || !X509_REQ_set_pubkey(req, evp) || !csr_exts(req, names, !has_cn, must_staple)
        || !X509_REQ_sign(req, evp, EVP_sha256())
        || (len = i2d_X509_REQ(req, NULL)) <= 0) {
        rv = APR_EGENERAL;
        goto leave;
    }
    der = q = apr_palloc(p, (apr_size_t)len);
    if (i2d_X509_REQ(req, &q) != len) {
        rv = APR_EGENERAL;
        goto leave;
    }
    *pcsr64 = md_util_base64url_encode(der, (apr_size_t)len, p);
leave:
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD02503: creating CSR for %s: %s",
                      first, md_crypt_last_error(p));
    }
    X509_REQ_free(req);
    return rv;
}

/* --- DER (for revocation) ------------------------------------------------- */

apr_status_t md_cert_to_der(const unsigned char **pder, apr_size_t *plen, const md_cert_t *cert,
                            apr_pool_t *p)
{
    unsigned char *der;
    unsigned char *q;
    int len;

    *pder = NULL;
    *plen = 0;
    len = i2d_X509(cert->x509, NULL);
    if (len <= 0) {
        return APR_EGENERAL;
    }
    der = apr_palloc(p, (apr_size_t)len);
    q = der;
    if (i2d_X509(cert->x509, &q) != len) {
        return APR_EGENERAL;
    }
    *pder = der;
    *plen = (apr_size_t)len;
    return APR_SUCCESS;
}
