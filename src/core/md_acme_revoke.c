/* Certificate revocation (RFC 8555 §7.6) and the store's revocation
 * marker (see md_acme_revoke.h). */
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "md_acme.h"
#include "md_acme_revoke.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_time.h"
#include "md_util.h"

/* RFC 5280 §5.3.1, the reasons a subscriber may state. */
static const struct {
    int code;
    const char *name;
} REASONS[] = {
    { 0, "unspecified" },
    { 1, "keyCompromise" },
    { 3, "affiliationChanged" },
    { 4, "superseded" },
    { 5, "cessationOfOperation" },
    { 6, "certificateHold" },
    { 9, "privilegeWithdrawn" },
};
#define N_REASONS (sizeof(REASONS) / sizeof(REASONS[0]))

/* Bound on the serials a marker keeps (several key types, repeated revokes). */
#define MARK_MAX_ENTRIES 32

apr_status_t md_acme_revoke_reason_parse(int *preason, const char *s)
{
    apr_size_t i;

    *preason = MD_REVOKE_REASON_NONE;
    if (!s || !*s) {
        return APR_EINVAL;
    }
    for (i = 0; i < N_REASONS; ++i) {
        if (!strcasecmp(s, REASONS[i].name)) {
            *preason = REASONS[i].code;
            return APR_SUCCESS;
        }
    }
    if (apr_isdigit(s[0]) && (!s[1] || (apr_isdigit(s[1]) && !s[2]))) {
        int code = atoi(s);     /* one or two digits only: no overflow, no garbage */
        for (i = 0; i < N_REASONS; ++i) {
            if (REASONS[i].code == code) {
                *preason = code;
                return APR_SUCCESS;
            }
        }
    }
    return APR_EINVAL;
}

const char *md_acme_revoke_reason_name(int reason)
{
    apr_size_t i;

    for (i = 0; i < N_REASONS; ++i) {
        if (REASONS[i].code == reason) {
            return REASONS[i].name;
        }
    }
    return "unspecified";
}

static int already_revoked(const md_result_t *result)
{
    return result->problem
        && !strcmp(result->problem, MD_ACME_PROBLEM_PREFIX "alreadyRevoked");
}

apr_status_t md_acme_revoke_cert(md_acme_t *acme, const md_cert_t *cert, md_pkey_t *cert_key,
                                 int reason, md_result_t *result, apr_pool_t *p)
{
    md_acme_acct_t *acct = acme->acct;
    md_pkey_t *acct_key = acme->acct_key;
    const unsigned char *der;
    apr_size_t der_len;
    md_acme_resp_t *resp;
    json_t *payload;
    apr_status_t rv;

    if (!acme->url_revoke && (rv = md_acme_setup(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    if (!acme->url_revoke) {
        md_result_printf(result, APR_ENOTIMPL, "the CA at %s offers no revocation "
                         "(no revokeCert in its directory)", acme->url);
        return APR_ENOTIMPL;
    }
    if (!cert_key && (!acct || !acct_key)) {
        md_result_printf(result, APR_EINVAL, "revoking needs an account or the "
                         "certificate's key");
        return APR_EINVAL;
    }
    if ((rv = md_cert_to_der(&der, &der_len, cert, p)) != APR_SUCCESS) {
        md_result_printf(result, rv, "the certificate cannot be encoded");
        return rv;
    }
    payload = md_json_pool_own(p, json_object());
    if (!payload) {
        return APR_ENOMEM;
    }
    md_json_set_str(payload, MD_KEY_CERTIFICATE, md_util_base64url_encode(der, der_len, p));
    if (reason != MD_REVOKE_REASON_NONE) {
        json_object_set_new(payload, MD_KEY_REASON, json_integer(reason));
    }
    md_result_activity_printf(result, "Revoking certificate %s", md_cert_serial_hex(cert, p));
    if (cert_key) {
        /* RFC 8555 §7.6: signed with the certificate's key, "jwk" in the
         * header. The session's account is put back afterwards. */
        acme->acct = NULL;
        acme->acct_key = cert_key;
    }
    rv = md_acme_post(&resp, acme, acme->url_revoke, payload, NULL, result, p);
    acme->acct = acct;
    acme->acct_key = acct_key;
    if (rv != APR_SUCCESS && already_revoked(result)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p, "MD04800: certificate %s was revoked "
                      "already at %s", md_cert_serial_hex(cert, p), acme->url);
        md_result_reset(result);
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p, "MD04801: certificate %s revoked at %s "
                      "(%s, signed by %s)", md_cert_serial_hex(cert, p), acme->url,
                      md_acme_revoke_reason_name(reason),
                      cert_key ? "the certificate's key" : acct->url);
    }
    return rv;
}

/* --- the marker ------------------------------------------------------------ */

apr_status_t md_acme_revoke_mark(md_store_t *store, const char *mdname,
                                 const apr_array_header_t *serials, int reason, apr_pool_t *p)
{
    json_t *j = NULL;
    json_t *list;
    const char *when = md_time_format_http(apr_time_now(), p);
    int i;

    if (md_store_load_json(store, MD_SG_STAGING, mdname, MD_FN_REVOKED, &j, p) != APR_SUCCESS
        || !json_is_object(j) || !json_is_array(json_object_get(j, MD_KEY_REVOKED))) {
        /* Missing or unreadable: a new one says it all again. */
        j = md_json_pool_own(p, json_object());
        if (!j) {
            return APR_ENOMEM;
        }
        json_object_set_new(j, MD_KEY_REVOKED, json_array());
    }
    list = json_object_get(j, MD_KEY_REVOKED);
    for (i = 0; i < serials->nelts; ++i) {
        json_t *e = json_object();

        if (!e) {
            return APR_ENOMEM;
        }
        md_json_set_str(e, MD_KEY_SERIAL, MD_ARR_IDX(serials, i, const char *));
        md_json_set_str(e, MD_KEY_WHEN, when);
        md_json_set_str(e, MD_KEY_REASON, md_acme_revoke_reason_name(reason));
        json_array_append_new(list, e);
    }
    while (json_array_size(list) > MARK_MAX_ENTRIES) {
        json_array_remove(list, 0);
    }
    return md_store_save_json(store, MD_SG_STAGING, mdname, MD_FN_REVOKED, j, p);
}

int md_acme_revoke_pending(md_store_t *store, const char *mdname, apr_pool_t *p)
{
    return md_store_exists(store, MD_SG_STAGING, mdname, MD_FN_REVOKED, p);
}
