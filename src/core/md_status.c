/* Status of managed domains as JSON (see md_status.h). */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "md_acme_revoke.h"
#include "md_ari.h"
#include "md_credmemo.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_sched.h"
#include "md_static.h"
#include "md_status.h"
#include "md_time.h"
#include "md_util.h"
#include "md_version.h"

/* --- certificates ------------------------------------------------------- */

static json_t *valid_json(apr_time_t from, apr_time_t until, apr_pool_t *p)
{
    json_t *j = json_object();

    md_json_set_str(j, MD_KEY_FROM, md_time_format_http(from, p));
    md_json_set_str(j, MD_KEY_UNTIL, md_time_format_http(until, p));
    return j;
}

static json_t *scts_json(const apr_array_header_t *scts, apr_pool_t *p)
{
    json_t *list = json_array();
    int i;

    for (i = 0; i < scts->nelts; ++i) {
        const md_sct_t *sct = MD_ARR_IDX(scts, i, const md_sct_t *);
        json_t *j = json_object();

        json_object_set_new(j, MD_KEY_VERSION, json_integer(sct->version));
        md_json_set_str(j, MD_KEY_LOGID, sct->log_id);
        md_json_set_str(j, MD_KEY_SIGNED, md_time_format_http(sct->timestamp, p));
        md_json_set_str(j, MD_KEY_SIGNATURE, sct->signature);
        md_json_set_str(j, MD_KEY_SIGNATURE_TYPE, sct->signature_alg);
        json_array_append_new(list, j);
    }
    return list;
}

json_t *md_status_cert_json(const md_cert_t *cert, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, json_object());
    apr_array_header_t *scts;

    md_json_set_str(j, MD_KEY_ISSUER_NAME, md_cert_issuer_name(cert, p));
    md_json_set_str(j, MD_KEY_ISSUER_URI, md_cert_issuer_uri(cert, p));
    json_object_set_new(j, MD_KEY_VALID, valid_json(md_cert_valid_from(cert),
                                                    md_cert_valid_until(cert), p));
    md_json_set_str(j, MD_KEY_SERIAL, md_cert_serial_hex(cert, p));
    md_json_set_str(j, MD_KEY_SHA256_FP, md_cert_sha256_fingerprint(cert, p));
    md_json_set_str(j, MD_KEY_ARI_CERT_ID, md_cert_ari_cert_id(cert, p));
    if (md_cert_get_scts(&scts, cert, p) == APR_SUCCESS && scts->nelts > 0) {
        json_object_set_new(j, MD_KEY_SCTS, scts_json(scts, p));
    }
    return j;
}

/* Collects certificates under their key names, and the common validity. */
typedef struct {
    json_t *json;
    apr_time_t from;
    apr_time_t until;
    int count;
} certs_acc_t;

static void acc_add(certs_acc_t *acc, const char *key, json_t *cert, apr_time_t from,
                    apr_time_t until)
{
    json_object_set(acc->json, key, cert);
    if (!acc->count || from > acc->from) {
        acc->from = from;
    }
    if (!acc->count || until < acc->until) {
        acc->until = until;
    }
    ++acc->count;
}

static void certs_add(certs_acc_t *acc, const char *key, const md_cert_t *leaf, apr_pool_t *p)
{
    acc_add(acc, key, md_status_cert_json(leaf, p), md_cert_valid_from(leaf),
            md_cert_valid_until(leaf));
}

static apr_status_t certs_done(json_t **pjson, certs_acc_t *acc, apr_pool_t *p)
{
    if (acc->count > 0) {
        json_object_set_new(acc->json, MD_KEY_VALID, valid_json(acc->from, acc->until, p));
    }
    *pjson = acc->json;
    return acc->count > 0 ? APR_SUCCESS : APR_ENOENT;
}

apr_status_t md_status_store_certs(json_t **pjson, md_store_t *store, md_store_group_t group,
                                   const md_t *md, apr_pool_t *p)
{
    const apr_array_header_t *specs = md_pkey_specs(md, p);
    certs_acc_t acc = { md_json_pool_own(p, json_object()), 0, 0, 0 };
    int i;

    for (i = 0; i < specs->nelts; ++i) {
        const md_pkey_spec_t *spec = MD_ARR_IDX(specs, i, const md_pkey_spec_t *);
        apr_array_header_t *chain;
        const char *kname, *cname;
        apr_status_t rv;

        md_reg_find_fnames(&kname, &cname, store, group, md->name, spec, p);
        rv = md_store_load_certs(store, group, md->name, cname, &chain, p);
        if (rv == APR_SUCCESS) {
            certs_add(&acc, md_pkey_spec_name(spec), MD_ARR_IDX(chain, 0, const md_cert_t *),
                      p);
        }
        else if (!APR_STATUS_IS_ENOENT(rv)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p,
                          "MD18010: %s: certificate(%s) in %s not shown", md->name,
                          md_pkey_spec_name(spec), md_store_group_name(group));
        }
    }
    return certs_done(pjson, &acc, p);
}

apr_status_t md_status_static_certs(json_t **pjson, const md_t *md, apr_pool_t *p)
{
    certs_acc_t acc = { md_json_pool_own(p, json_object()), 0, 0, 0 };
    int i;

    for (i = 0; md->cert_files && i < md->cert_files->nelts; ++i) {
        apr_array_header_t *chain;

        if (md_static_load_chain(&chain, MD_ARR_IDX(md->cert_files, i, const char *), p)
            == APR_SUCCESS) {
            certs_add(&acc, apr_itoa(p, i), MD_ARR_IDX(chain, 0, const md_cert_t *), p);
        }
    }
    return certs_done(pjson, &acc, p);
}

/* --- snapshot (parent) -------------------------------------------------- */

/* The live certificates as the assessment keeps them: the same as
 * md_status_store_certs would show, without parsing them again. A new
 * reference, the caller's. */
static json_t *live_certs(const md_reg_state_t *st, apr_pool_t *p)
{
    certs_acc_t acc = { json_object(), 0, 0, 0 };
    json_t *certs;
    int i;

    for (i = 0; i < st->live_certs->nelts; ++i) {
        const md_live_cert_t *lc = MD_ARR_IDX(st->live_certs, i, const md_live_cert_t *);
        json_t *cert = json_loads(lc->status_json, 0, NULL);

        if (cert) {
            acc_add(&acc, lc->spec_name, cert, lc->valid_from, lc->valid_until);
            json_decref(cert);
        }
    }
    certs_done(&certs, &acc, p);
    return certs;
}

/* The certificates of a snapshot: a new reference, the caller's. The
 * live ones are made from the assessment on request: at start-up that
 * would be a parse and a dump per MD for a page few ask for. */
static json_t *snap_certs(const md_status_snap_t *snap, apr_pool_t *p)
{
    if (snap->cert_json) {
        return json_loads(snap->cert_json, 0, NULL);
    }
    if (snap->state && snap->state->live_certs && !md_static_is(snap->md)) {
        return live_certs(snap->state, p);
    }
    return NULL;
}

/* The certificates' JSON of a snapshot as text (one allocation per MD
 * instead of a tree of them); md_status_md_json parses it. */
static const char *json_text(json_t *j, apr_pool_t *p)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    const char *copy = text ? apr_pstrdup(p, text) : NULL;

    free(text);
    return copy;
}

md_status_snap_t *md_status_snap_make(md_store_t *store, const md_reg_state_t *st,
                                      apr_pool_t *p)
{
    md_status_snap_t *snap = apr_pcalloc(p, sizeof(*snap));
    json_t *job = NULL;
    apr_pool_t *ptemp;

    snap->md = st->md;
    snap->state = st;
    if (apr_pool_create(&ptemp, p) == APR_SUCCESS) {
        json_t *cert = NULL;

        if (md_static_is(st->md)) {
            md_status_static_certs(&cert, st->md, ptemp);
        }
        else if (!st->live_certs) {
            md_status_store_certs(&cert, store, MD_SG_DOMAINS, st->md, ptemp);
        }
        /* else: made on request (snap_certs) */
        snap->cert_json = cert ? json_text(cert, p) : NULL;
        /* Activation moves the job of the renewal that made the live
         * certificate into domains/ with it. Only its time is kept: the
         * snapshot lives as long as the config, once per MD. */
        if (md_store_load_json(store, MD_SG_DOMAINS, st->md->name, MD_FN_JOB, &job, ptemp)
            == APR_SUCCESS && md_json_get_bool(job, MD_KEY_FINISHED, 0)) {
            const char *last = md_json_get_str(job, MD_KEY_LAST_RUN);

            snap->last_success = last ? md_time_parse_http(last) : 0;
        }
        apr_pool_destroy(ptemp);
    }
    return snap;
}

/* --- renewal (child) ---------------------------------------------------- */

apr_status_t md_status_renewal(json_t **pjson, md_store_t *store, const md_t *md, int with_log,
                               apr_pool_t *p)
{
    json_t *job = NULL;
    json_t *last;
    json_t *staged = NULL;
    apr_status_t rv;

    *pjson = NULL;
    rv = md_store_load_json(store, MD_SG_STAGING, md->name, MD_FN_JOB, &job, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!json_is_object(job)) {
        return APR_EINVAL;
    }
    if (!with_log) {
        json_object_del(job, MD_KEY_LOG);
    }
    last = md_json_get_obj(job, MD_KEY_LAST);
    if (last && md_json_get_bool(job, MD_KEY_FINISHED, 0)
        && md_json_get_str(job, MD_KEY_VALID_FROM) && !json_object_get(last, MD_KEY_VALID_FROM)) {
        /* As the stock module: a successful result names the new certificate's start. */
        md_json_set_str(last, MD_KEY_VALID_FROM, md_json_get_str(job, MD_KEY_VALID_FROM));
    }
    if (last && md_json_get_int(last, MD_KEY_STATUS, 0) != 0) {
        char buf[256];
        long long status = md_json_get_int(last, MD_KEY_STATUS, 0);

        apr_strerror((apr_status_t)status, buf, sizeof(buf));
        md_json_set_str(last, MD_KEY_STATUS_DESCR, buf);
    }
    md_status_store_certs(&staged, store, MD_SG_STAGING, md, p);
    json_object_set(job, MD_KEY_CERT, staged);
    *pjson = job;
    return APR_SUCCESS;
}

/* --- one MD, all MDs ---------------------------------------------------- */

/* Anything a store might hold that is a secret stays out of status. */
static void strip_secrets(json_t *j)
{
    json_t *eab = md_json_get_obj(j, MD_KEY_EAB);

    if (eab) {
        json_object_del(eab, MD_KEY_HMAC);
    }
}

/* An MD whose configuration cannot work is not renewed: its renewal shows
 * why, in the place where a failed attempt shows its problem. */
static json_t *config_problem_renewal(const md_t *md, const json_t *renewal)
{
    json_t *r = renewal ? json_deep_copy(renewal) : json_object();
    json_t *last = json_object();
    char buf[256];

    if (!r || !last) {
        json_decref(r);
        json_decref(last);
        return NULL;
    }
    md_json_set_str(r, MD_KEY_NAME, md->name);
    if (!json_object_get(r, MD_KEY_FINISHED)) {
        json_object_set_new(r, MD_KEY_FINISHED, json_false());
    }
    json_object_set_new(last, MD_KEY_STATUS, json_integer(APR_EINVAL));
    apr_strerror(APR_EINVAL, buf, sizeof(buf));
    md_json_set_str(last, MD_KEY_STATUS_DESCR, buf);
    md_json_set_str(last, MD_KEY_PROBLEM, md->config_problem_type ? md->config_problem_type
                                                                  : "config-problem");
    md_json_set_str(last, MD_KEY_DETAIL, md->config_problem);
    md_json_set_str(last, MD_KEY_ACTIVITY, "Checking the configuration");
    json_object_set_new(r, MD_KEY_LAST, last);
    return r;
}

/* The ARI ids of the live certificates ("ari-cert-id" of each key type). */
static apr_array_header_t *live_ari_ids(const md_status_snap_t *snap, apr_pool_t *p)
{
    apr_array_header_t *ids = apr_array_make(p, 2, sizeof(const char *));
    json_t *certs = snap_certs(snap, p);
    const char *key;
    json_t *c;

    md_json_pool_own(p, certs);
    json_object_foreach(certs, key, c) {
        const char *id = json_is_object(c) ? md_json_get_str(c, MD_KEY_ARI_CERT_ID) : NULL;

        if (id) {
            APR_ARRAY_PUSH(ids, const char *) = apr_pstrdup(p, id);
        }
    }
    return ids;
}

void md_status_sched_in(md_sched_in_t *in, md_sched_job_t *job, md_store_t *store,
                        const md_status_snap_t *snap, const json_t *renewal, apr_pool_t *p)
{
    const char *next = renewal ? md_json_get_str(renewal, MD_KEY_NEXT_RUN) : NULL;

    memset(in, 0, sizeof(*in));
    memset(job, 0, sizeof(*job));
    in->st = snap->state;
    in->job = job;
    if (renewal) {
        job->finished = md_json_get_bool(renewal, MD_KEY_FINISHED, 0);
        job->errors = (int)md_json_get_int(renewal, MD_KEY_ERRORS, 0);
        job->next_run = next ? md_time_parse_http(next) : 0;
    }
    if (!store) {
        return;
    }
    in->revoked = md_acme_revoke_pending(store, snap->md->name, p);
    if (md_sched_ari_applies(snap->state)) {
        in->ari_at = md_ari_stored_renew_at(store, snap->md->name, live_ari_ids(snap, p), p);
    }
}

/* "renew-schedule" (ours): why the MD renews when it does, and when the
 * next attempt starts. */
static json_t *schedule_json(const md_sched_in_t *in, apr_time_t now, apr_pool_t *p)
{
    json_t *j = json_object();
    md_sched_t s;

    md_sched_decide(&s, in, now);
    md_json_set_str(j, MD_KEY_REASON, md_sched_why_name(s.why));
    if (s.at > 0) {
        md_json_set_str(j, MD_KEY_AT, md_time_format_http(s.at, p));
    }
    md_json_set_str(j, MD_KEY_DETAIL, md_sched_describe(&s, in, p));
    return j;
}

json_t *md_status_md_json(const md_status_snap_t *snap, const json_t *renewal,
                          const md_sched_in_t *sched, apr_time_t now, apr_pool_t *p)
{
    const md_reg_state_t *st = snap->state;
    json_t *j = md_to_json(snap->md, p);
    /* As the stock module: the certificate's own renew time (a CA window
     * or a revocation show in "renew-schedule"). */
    apr_time_t renew_at = st->has_cert ? md_sched_renew_at(st, 0, 0, NULL) : now;
    json_t *cert;

    strip_secrets(j);
    /* The snapshot is shared by all threads: copy, never share references. */
    cert = snap_certs(snap, p);
    json_object_set_new(j, MD_KEY_CERT, cert ? cert : json_object());
    md_json_set_str(j, MD_KEY_RENEW_AT, md_time_format_http(renew_at, p));
    if (sched) {
        json_object_set_new(j, MD_KEY_RENEW_SCHEDULE, schedule_json(sched, now, p));
    }
    json_object_set_new(j, MD_KEY_WATCHED, json_boolean(st->watched));
    if (!st->has_cert || renew_at <= now) {
        json_object_set_new(j, MD_KEY_RENEW, json_true());
    }
    /* As the stock module: the renewal job while a renewal is due; also
     * one the CA's renewal window (ARI) started early. A job that only
     * records notifications about a live certificate is not shown. */
    if (snap->md->config_problem) {
        json_object_set_new(j, MD_KEY_RENEWAL, config_problem_renewal(snap->md, renewal));
    }
    else if (renewal && (json_object_get(j, MD_KEY_RENEW)
                         || md_json_get_str(renewal, MD_KEY_LAST_RUN))) {
        json_object_set_new(j, MD_KEY_RENEWAL, json_deep_copy(renewal));
    }
    return j;
}

json_t *md_status_md_load(md_store_t *store, const md_status_snap_t *snap, int with_log,
                          apr_time_t now, apr_pool_t *p)
{
    json_t *renewal = NULL;
    md_sched_in_t in;
    md_sched_job_t job;

    md_status_renewal(&renewal, store, snap->md, with_log, p);
    md_status_sched_in(&in, &job, store, snap, renewal, p);
    return md_status_md_json(snap, renewal, &in, now, p);
}

json_t *md_status_all_json(md_store_t *store, const apr_array_header_t *snaps, apr_time_t now,
                           apr_pool_t *p)
{
    json_t *all = md_json_pool_own(p, json_object());
    json_t *list = json_array();
    apr_pool_t *iter;
    int i;

    md_json_set_str(all, MD_KEY_VERSION, MD_VERSION);
    json_object_set_new(all, MD_KEY_MANAGED_DOMAINS, list);
    apr_pool_create(&iter, p);
    for (i = 0; snaps && i < snaps->nelts; ++i) {
        const md_status_snap_t *snap = MD_ARR_IDX(snaps, i, const md_status_snap_t *);

        /* The array takes its own reference before the pool drops ours. */
        json_array_append(list, md_status_md_load(store, snap, 0, now, iter));
        apr_pool_clear(iter);
    }
    apr_pool_destroy(iter);
    return all;
}

/* --- certificate-status -------------------------------------------------- */

static json_t *cert_brief(const json_t *info)
{
    json_t *j = json_object();
    json_t *v;

    if ((v = json_object_get(info, MD_KEY_VALID))) {
        json_object_set_new(j, MD_KEY_VALID, json_deep_copy(v));
    }
    if ((v = json_object_get(info, MD_KEY_SERIAL))) {
        json_object_set_new(j, MD_KEY_SERIAL, json_deep_copy(v));
    }
    if ((v = json_object_get(info, MD_KEY_SHA256_FP))) {
        json_object_set_new(j, MD_KEY_SHA256_FP, json_deep_copy(v));
    }
    if ((v = json_object_get(info, MD_KEY_SCTS))) {
        json_object_set_new(j, MD_KEY_SCTS, json_deep_copy(v));
    }
    return j;
}

/* Key names an MD has certificates under when none is live yet. */
static void add_empty_keys(json_t *out, const json_t *md_json, apr_pool_t *p)
{
    const char *name = md_json_get_str(md_json, MD_KEY_NAME);
    json_t *files = md_json_get_array(md_json, MD_KEY_CERT_FILES);
    md_t *md = NULL;
    size_t i;

    if (files) {
        for (i = 0; i < json_array_size(files); ++i) {
            json_object_set_new(out, apr_itoa(p, (int)i), json_object());
        }
        return;
    }
    if (name && md_from_json(&md, md_json, name, p) == APR_SUCCESS) {
        const apr_array_header_t *specs = md_pkey_specs(md, p);

        for (i = 0; i < (size_t)specs->nelts; ++i) {
            json_object_set_new(out, md_pkey_spec_name(MD_ARR_IDX(specs, i,
                                                                  const md_pkey_spec_t *)),
                                json_object());
        }
    }
}

json_t *md_status_cert_status_json(const json_t *md_json, apr_pool_t *p)
{
    json_t *out = md_json_pool_own(p, json_object());
    json_t *cert = md_json_get_obj(md_json, MD_KEY_CERT);
    json_t *renewal = md_json_get_obj(md_json, MD_KEY_RENEWAL);
    json_t *staged = renewal ? md_json_get_obj(renewal, MD_KEY_CERT) : NULL;
    const char *key;
    json_t *v;

    if (cert && json_object_get(cert, MD_KEY_VALID)) {
        json_object_set_new(out, MD_KEY_VALID,
                            json_deep_copy(json_object_get(cert, MD_KEY_VALID)));
        json_object_foreach(cert, key, v) {
            if (strcmp(key, MD_KEY_VALID)) {
                json_object_set_new(out, key, cert_brief(v));
            }
        }
    }
    else {
        add_empty_keys(out, md_json, p);
    }
    if (staged && json_object_size(staged) > 0) {
        json_t *r = json_object();

        json_object_set_new(r, MD_KEY_CERT, json_deep_copy(staged));
        json_object_set_new(out, MD_KEY_RENEWAL, r);
    }
    return out;
}

/* --- summaries ----------------------------------------------------------- */

void md_status_count(md_status_counts_t *counts, const json_t *md_json)
{
    const json_t *renewal = md_json_get_obj(md_json, MD_KEY_RENEWAL);
    int renew = md_json_get_bool(md_json, MD_KEY_RENEW, 0);

    ++counts->total;
    if (renew) {
        ++counts->renew;
    }
    else if (md_json_get_int(md_json, MD_KEY_STATE, MD_S_UNKNOWN) == MD_S_COMPLETE) {
        ++counts->ok;
    }
    if (renewal && md_json_get_int(renewal, MD_KEY_ERRORS, 0) > 0) {
        ++counts->errored;
    }
    if (renewal && md_json_get_bool(renewal, MD_KEY_FINISHED, 0)) {
        ++counts->ready;
    }
}

static json_int_t secs_of(const json_t *obj, const char *key)
{
    const char *s = obj ? md_json_get_str(obj, key) : NULL;
    apr_time_t t = s ? md_time_parse_http(s) : 0;

    return (json_int_t)apr_time_sec(t);
}

json_t *md_status_metrics_json(const md_status_snap_t *snap, const json_t *md_json,
                               apr_pool_t *p)
{
    json_t *m = md_json_pool_own(p, json_object());
    const json_t *renewal = md_json_get_obj(md_json, MD_KEY_RENEWAL);
    json_t *cert = md_json_get_obj(md_json, MD_KEY_CERT);
    json_t *certs = json_array();
    int finished = renewal && md_json_get_bool(renewal, MD_KEY_FINISHED, 0);
    json_int_t last_success = 0;
    const char *key;
    json_t *v;

    md_json_set_str(m, MD_KEY_NAME, md_json_get_str(md_json, MD_KEY_NAME));
    json_object_set_new(m, MD_KEY_STATE,
                        json_integer(md_json_get_int(md_json, MD_KEY_STATE, MD_S_UNKNOWN)));
    json_object_set_new(m, MD_KEY_RENEW_AT, json_integer(secs_of(md_json, MD_KEY_RENEW_AT)));
    json_object_set_new(m, MD_KEY_RENEW, json_integer(md_json_get_bool(md_json, MD_KEY_RENEW,
                                                                       0)));
    json_object_set_new(m, MD_KEY_ERRORS,
                        json_integer(renewal ? md_json_get_int(renewal, MD_KEY_ERRORS, 0) : 0));
    json_object_set_new(m, MD_KEY_READY, json_integer(finished));
    if (finished) {
        last_success = secs_of(renewal, MD_KEY_LAST_RUN);
    }
    if (!last_success && snap && snap->last_success) {
        last_success = (json_int_t)apr_time_sec(snap->last_success);
    }
    if (last_success) {
        json_object_set_new(m, MD_KEY_LAST_SUCCESS, json_integer(last_success));
    }
    if (cert) {
        json_object_foreach(cert, key, v) {
            const json_t *valid = md_json_get_obj(v, MD_KEY_VALID);
            json_t *c;

            if (!strcmp(key, MD_KEY_VALID) || !valid) {
                continue;
            }
            c = json_object();
            md_json_set_str(c, MD_KEY_KEY, key);
            json_object_set_new(c, MD_KEY_NOT_BEFORE, json_integer(secs_of(valid, MD_KEY_FROM)));
            json_object_set_new(c, MD_KEY_NOT_AFTER, json_integer(secs_of(valid, MD_KEY_UNTIL)));
            json_array_append_new(certs, c);
        }
    }
    json_object_set_new(m, MD_KEY_CERTS, certs);
    return m;
}
