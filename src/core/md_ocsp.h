/* OCSP stapling, the core part: requests (RFC 6960 §4.1, as RFC 5019's
 * lightweight profile has CAs answer them), checking responses, when to
 * renew them (pure functions of a response and a `now` passed in), and how
 * they are kept in the store. The registry of the certificates mod_ssl
 * staples for is md_ocsp_reg.h.
 *
 * Store layout (the stock mod_md's, so either module takes over the other's
 * responses), in group MD_SG_OCSP:
 *   ocsp/<md>/ocsp-<sha1>.json   one response: {"response": base64url DER,
 *                                "status": "good"|"revoked", "valid":
 *                                {"from": HTTP date, "until": HTTP date}}
 *   ocsp/<md>/job.json           the last renewals of <md>'s responses
 *                                (md_job.h's format)
 * <md> is MD_OCSP_OTHER for certificates outside MDs (MDStapleOthers);
 * <sha1> the lower-case hex SHA-1 of the certificate's DER, which is also
 * the id mod_ssl names a certificate by.
 *
 * Everything parsed from a responder or the store is bounded
 * (MD_OCSP_RESP_MAX_LEN) and checked: a response is used only when it is
 * signed by the certificate's issuer (or a responder the issuer delegated
 * to, RFC 6960 §4.2.2.2), names the certificate, says good or revoked and
 * is current. The file's "status" and "valid" are never trusted: they are
 * read from the response itself.
 *
 * OpenSSL 3 through its OCSP and EVP APIs only (no deprecated calls).
 * Objects belong to the pool they are made in. No function here blocks or
 * touches the network.
 */
#ifndef md_ocsp_h
#define md_ocsp_h

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>
#include "md_crypt.h"
#include "md_time.h"

/* The store name (<md>) of certificates outside MDs, as stock names it. */
#define MD_OCSP_OTHER           "other"
/* Longest OCSP response we take from a responder or the store. mod_ssl's
 * own stapling stops at 10 KB: a response with a delegated responder's
 * certificate fits easily. */
#define MD_OCSP_RESP_MAX_LEN    (16 * 1024)
/* Clocks of responder and server may differ this much (thisUpdate may be
 * this far in the future). */
#define MD_OCSP_MAX_SKEW        apr_time_from_sec(5 * 60)
/* A response without nextUpdate counts as valid this long after its
 * thisUpdate (as stock). */
#define MD_OCSP_VALID_DEFAULT   apr_time_from_sec(12 * 60 * 60)
/* Length of the id (SHA-1 of the certificate's DER). */
#define MD_OCSP_ID_LEN          20

typedef enum {
    MD_OCSP_STAT_UNKNOWN = 0,   /* no usable response (also: the responder said unknown) */
    MD_OCSP_STAT_GOOD,
    MD_OCSP_STAT_REVOKED,
} md_ocsp_stat_t;

/* "good", "revoked", "unknown" (the file's and md-status' "status"). */
const char *md_ocsp_stat_name(md_ocsp_stat_t stat);

/* --- the certificate, as OCSP names it ------------------------------------ */

typedef struct md_ocsp_cert_t md_ocsp_cert_t;

/* cert and the issuer that signed it: the CertID (SHA-1 hashes of the
 * issuer's name and key, the serial), the id and the responder URL. From p.
 * APR_EINVAL when issuer did not issue cert. */
apr_status_t md_ocsp_cert_make(md_ocsp_cert_t **pocert, const md_cert_t *cert,
                               const md_cert_t *issuer, apr_pool_t *p);

/* SHA-1 of the certificate's DER (MD_OCSP_ID_LEN bytes) and its hex. */
const unsigned char *md_ocsp_cert_id(const md_ocsp_cert_t *ocert);
const char *md_ocsp_cert_hexid(const md_ocsp_cert_t *ocert);
/* The first http: or https: URL of the certificate's Authority Information
 * Access OCSP entries, NULL if it has none. */
const char *md_ocsp_cert_responder(const md_ocsp_cert_t *ocert);
/* Serial number (upper-case hex) and SHA-256 fingerprint (lower-case hex). */
const char *md_ocsp_cert_serial(const md_ocsp_cert_t *ocert);
const char *md_ocsp_cert_sha256(const md_ocsp_cert_t *ocert);

/* --- requests and responses ----------------------------------------------- */

typedef struct md_ocsp_request_t md_ocsp_request_t;

/* An OCSPRequest for the one certificate, with a random nonce extension
 * (RFC 8954: 32 bytes) if with_nonce. From p. */
apr_status_t md_ocsp_request_make(md_ocsp_request_t **preq, const md_ocsp_cert_t *ocert,
                                  int with_nonce, apr_pool_t *p);
/* The DER to POST (application/ocsp-request); owned by req. */
void md_ocsp_request_der(const md_ocsp_request_t *req, const unsigned char **pder,
                         apr_size_t *plen);

typedef struct md_ocsp_resp_t {
    md_ocsp_stat_t stat;        /* good or revoked */
    apr_time_t valid_from;      /* thisUpdate */
    apr_time_t valid_until;     /* nextUpdate, or valid_from + MD_OCSP_VALID_DEFAULT */
    apr_time_t revoked_at;      /* revoked: since when */
    int reason;                 /* revoked: RFC 5280 CRLReason, -1 if none given */
    const unsigned char *der;   /* the whole OCSPResponse, as stapled */
    apr_size_t der_len;
} md_ocsp_resp_t;

/* Check an OCSPResponse for ocert at time now. req, when not NULL, is the
 * request it answers: a nonce in both must match (a responder that leaves
 * the nonce out, as CAs' caching responders do, is fine). Fails with *perr
 * (from p) saying why:
 *   APR_EINVAL   longer than MD_OCSP_RESP_MAX_LEN, not DER of an
 *                OCSPResponse, no basic response, bad signature, signer
 *                neither the issuer nor its delegate, no status for the
 *                certificate, nonce mismatch, thisUpdate after now +
 *                MD_OCSP_MAX_SKEW, nextUpdate before thisUpdate
 *   APR_EAGAIN   the responder said tryLater or internalError
 *   APR_EACCES   the responder said unauthorized or sigRequired
 *   APR_ENOENT   the responder does not know the certificate ("unknown")
 *   APR_TIMEUP   the response has expired (nextUpdate before now)
 * On success *presp (from p) holds a copy of der. */
apr_status_t md_ocsp_resp_check(md_ocsp_resp_t **presp, const md_ocsp_cert_t *ocert,
                                const md_ocsp_request_t *req, const void *der,
                                apr_size_t len, apr_time_t now, const char **perr,
                                apr_pool_t *p);

/* --- when (pure) ---------------------------------------------------------- */

/* Is a response valid from..until usable at now (staple it)? */
int md_ocsp_is_current(apr_time_t valid_from, apr_time_t valid_until, apr_time_t now);

/* When responses are renewed and failed attempts retried: md_sched.h
 * (md_sched_ocsp_renew_at, md_sched_ocsp_next_fetch,
 * md_sched_ocsp_retry_delay). */

/* MDStaplingKeepResponse: may a response file last written at mtime that
 * no certificate of this configuration uses be removed at now? */
int md_ocsp_is_stale(apr_time_t mtime, apr_interval_time_t keep, apr_time_t now);

/* --- the store's files ---------------------------------------------------- */

/* "ocsp-<hexid>.json" */
const char *md_ocsp_file_name(const char *hexid, apr_pool_t *p);
/* Is aspect the name of a response file ("ocsp-*.json", what stock's
 * cleanup removes)? */
int md_ocsp_is_file_name(const char *aspect);
/* The file's JSON for resp. New reference. */
json_t *md_ocsp_file_json(const md_ocsp_resp_t *resp, apr_pool_t *p);
/* The DER in a file's JSON ("response", base64url, at most
 * MD_OCSP_RESP_MAX_LEN bytes once decoded), from p. APR_EINVAL when it is
 * missing, not a string, too long or not base64url. Check it with
 * md_ocsp_resp_check before use. */
apr_status_t md_ocsp_file_der(const unsigned char **pder, apr_size_t *plen, const json_t *j,
                              apr_pool_t *p);

#endif /* md_ocsp_h */
