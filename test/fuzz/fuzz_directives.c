/* Directive values the config hands to the core's parsers: key specs
 * (MDPrivateKeys, and their md.json form), the stock value forms of
 * durations, windows and counts (md_conf.h: MDRenewWindow, MDWarnWindow,
 * MDStoreLocks, MDCheckInterval, MDParallelRenewals, ...), our own forms
 * (md_time.h), names (MDomain), and the external account binding
 * (MDExternalAccountBinding kid, key and algorithm). Input: up to three
 * words separated by FUZZ_SEP. */
#include "fuzz.h"

#include "md_acme.h"
#include "md_acme_revoke.h"
#include "md_conf.h"
#include "md_crypt.h"
#include "md_dns.h"
#include "md_json.h"
#include "md_jws.h"
#include "md_time.h"
#include "md_util.h"

static void key_spec(const char *word, const char *next, apr_pool_t *p)
{
    md_pkey_spec_t *spec = NULL;
    md_pkey_spec_t *back = NULL;
    const char *err = NULL;
    int used = -1;
    json_t *j;

    if (md_pkey_spec_parse(&spec, word, next, &used, &err, p) != APR_SUCCESS) {
        if (!err || spec) {
            abort();
        }
        return;
    }
    if (!spec || (used != 0 && used != 1) || !md_pkey_spec_name(spec)) {
        abort();
    }
    /* The md.json form reads back as the same spec. */
    j = md_json_pool_own(p, md_pkey_spec_to_json(spec));
    if (!j || md_pkey_spec_from_json(&back, j, p) != APR_SUCCESS
        || !md_pkey_spec_eq(spec, back)) {
        abort();
    }
}

/* The stock forms: a value either parses (saturating, never wrapping) or
 * is refused with a reason. */
static void conf_values(const char *word, apr_pool_t *p)
{
    static const char *const units[] = { "d", "s", "ms", "h", "mi", NULL };
    apr_interval_time_t dur;
    md_timeslice_t ts;
    apr_int64_t n;
    const char *err = NULL;
    int saturated;
    int trailing;
    size_t i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); ++i) {
        saturated = -1;
        if (md_conf_duration_parse(&dur, &saturated, word, units[i]) == APR_SUCCESS
            && saturated != 0 && saturated != 1) {
            abort();
        }
    }
    saturated = -1;
    if (md_conf_timeslice_parse(&ts, &saturated, word, &err, p) == APR_SUCCESS) {
        if (ts.is_percent && (ts.percent < 0 || ts.percent > 99)) {
            abort();
        }
        (void)md_timeslice_format(&ts, p);
    }
    else if (!err) {
        abort();
    }
    saturated = -1;
    trailing = -1;
    if (md_conf_int_parse(&n, &trailing, &saturated, word) == APR_SUCCESS
        && ((trailing != 0 && trailing != 1) || (saturated != 0 && saturated != 1))) {
        abort();
    }
}

static void eab(const char *kid, const char *key, const char *alg, apr_pool_t *p)
{
    md_acme_t *acme = NULL;
    md_result_t *result = md_result_make(p, "fuzz");

    if (md_acme_create(&acme, p, "https://ca.test/dir", NULL, NULL) != APR_SUCCESS) {
        abort();
    }
    if (md_acme_set_eab(acme, kid, key, *alg ? alg : NULL, result) == APR_SUCCESS) {
        if (!acme->eab || !acme->eab->hmac_len || !md_jws_hmac_digest(acme->eab->alg)) {
            abort();
        }
    }
    else if (acme->eab || !result->detail) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *w[3];
    size_t lens[3];
    md_pkey_spec_t *spec = NULL;
    apr_interval_time_t dur;
    md_timeslice_t ts;
    unsigned char *bytes;
    apr_size_t len;
    json_t *j = NULL;

    fuzz_split(data, size, 3, w, lens, p);
    key_spec(w[0], w[1], p);
    key_spec(w[0], NULL, p);
    (void)md_duration_parse(&dur, w[0], "s");
    (void)md_timeslice_parse(&ts, w[0], NULL, p);
    conf_values(w[0], p);
    {
        int reason = -1;

        if (md_acme_revoke_reason_parse(&reason, w[0]) == APR_SUCCESS
            && !md_acme_revoke_reason_name(reason)) {
            abort();
        }
    }
    (void)md_dns_is_name(w[0], 1, 0, NULL);
    (void)md_jws_hmac_digest(w[0]);
    (void)md_util_base64any_decode(&bytes, &len, w[1], p);
    eab(w[0], w[1], w[2], p);
    if (md_json_parse(&j, w[2], lens[2], "md.json", NULL, p) == APR_SUCCESS) {
        (void)md_pkey_spec_from_json(&spec, j, p);
    }
    fuzz_pool_end(p);
    return 0;
}
