/* The JSON files of the store, as their readers take them: md.json
 * (domains/, staging/), job.json (staging/ is the server's User's), the
 * saved order.json and account.json (accounts/ is User's too). A store
 * written by another version of the module, or by the stock one, or by an
 * attacker as User, must read as data or as a clear error, and what we read
 * must write back to something we read the same way. One document goes to
 * every reader. */
#include "fuzz.h"

#include "md.h"
#include "md_acme.h"
#include "md_acme_int.h"
#include "md_job.h"
#include "md_json.h"
#include "md_status.h"
#include "md_util.h"

static void md_json_file(const json_t *j, apr_pool_t *p)
{
    md_t *md = NULL;
    md_t *back = NULL;
    md_t *clone;
    json_t *saved;

    if (md_from_json(&md, j, "md.json", p) != APR_SUCCESS) {
        return;
    }
    (void)md_pkey_specs(md, p);
    clone = md_clone(p, md);
    if (md_cert_relevant_changed(md, clone)) {
        abort();
    }
    saved = md_to_json(md, p);
    if (md_from_json(&back, saved, "again", p) != APR_SUCCESS
        || strcmp(back->name, md->name) || !md_array_str_eq(back->domains, md->domains, 0)) {
        abort();
    }
}

static void job_json_file(const json_t *j, apr_pool_t *p)
{
    md_job_t *job = md_job_create(p, "a.test");
    md_job_t *back = md_job_create(p, "a.test");
    json_t *saved;

    md_job_from_json(job, j);
    if (job->errors < 0 || json_array_size(job->log) > MD_JOB_LOG_MAX) {
        abort();
    }
    md_job_log_append(job, "fuzzed", "one more");
    (void)md_result_to_string(job->last, p);
    saved = md_json_pool_own(p, md_job_to_json(job));
    md_job_from_json(back, saved);
    if (back->errors != job->errors || back->finished != job->finished) {
        abort();
    }
}

static void order_json_file(const json_t *j, apr_pool_t *p)
{
    md_acme_order_t *order = NULL;
    md_acme_order_t *back = NULL;

    if (md_acme_order_from_json(&order, j, p) == APR_SUCCESS
        && md_acme_order_from_json(&back, md_json_pool_own(p, md_acme_order_to_json(order)), p)
           != APR_SUCCESS) {
        abort();
    }
}

static void account_json_file(const json_t *j, apr_pool_t *p)
{
    md_acme_acct_t *acct = NULL;

    (void)md_acme_acct_from_json(&acct, j, "account.json", p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    json_t *j = NULL;

    if (md_json_parse(&j, (const char *)data, size, "store", NULL, p) == APR_SUCCESS) {
        md_json_file(j, p);
        job_json_file(j, p);
        order_json_file(j, p);
        account_json_file(j, p);
    }
    fuzz_pool_end(p);
    return 0;
}
