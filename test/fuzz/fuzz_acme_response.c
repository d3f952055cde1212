/* Every response of the CA passes md_acme_handle_response (the choke point,
 * STYLE §7): nonce, Retry-After, Location, content type, JSON bodies and
 * problem documents (RFC 8555 §6.7, RFC 7807) with subproblems. The result
 * it fills is then shown and persisted as the job does: as a string, as
 * job.json's "last" and back. Input: one response in fuzz_http_response's
 * form; the first byte picks what the request wanted. */
#include "fuzz.h"

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_job.h"
#include "md_sched.h"
#include "md_json.h"
#include "md_result.h"
#include "md_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    unsigned flags = fuzz_take_byte(&data, &size);
    md_http_response_t *hresp;
    md_acme_resp_t *resp = NULL;
    md_acme_t *acme = NULL;
    md_result_t *result = md_result_make(p, "a.test");
    md_result_t *back = md_result_make(p, "a.test");
    const char *text = fuzz_str(data, size, p);
    json_t *j;
    apr_status_t rv;

    /* An http: directory makes http: URLs acceptable too (flag bit 1). */
    if (md_acme_create(&acme, p, (flags & 2) ? "http://ca.test/dir" : "https://ca.test/dir",
                       NULL, NULL) != APR_SUCCESS) {
        abort();
    }
    hresp = fuzz_http_response(text, size, "https://ca.test/acme/x", p);
    rv = md_acme_handle_response(&resp, acme, hresp, (flags & 4) ? "GET" : "POST", flags & 1,
                                 result, p);
    if (!resp || (rv != APR_SUCCESS && !result->detail)) {
        abort();   /* every failure says what happened */
    }
    if (rv == APR_SUCCESS && resp->location) {
        /* A Location we accept is a URL we will send requests to. */
        if (md_acme_url_check(acme, resp->location, "again", md_result_make(p, NULL))
            != APR_SUCCESS) {
            abort();
        }
    }
    if (acme->nonce && !md_util_is_base64url(acme->nonce, MD_ACME_NONCE_MAX_LEN)) {
        abort();
    }
    result->activity = "fuzzing";
    (void)md_result_to_string(result, p);
    (void)md_sched_is_input_error(result);
    (void)md_sched_retry_at(result, 3, 0, apr_time_from_sec(1795000000), 255);
    j = md_json_pool_own(p, md_result_to_json(result));
    md_result_from_json(back, j);
    (void)md_result_to_string(back, p);
    if (!!back->problem != !!result->problem || back->status != result->status) {
        abort();
    }
    fuzz_pool_end(p);
    return 0;
}
