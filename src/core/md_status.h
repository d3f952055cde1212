/* Status of managed domains as JSON: the one source for md-status,
 * server-status, /.httpd/certificate-status and the metrics (the glue only
 * renders it, STYLE §14).
 *
 * The per-MD object has the keys of the stock mod_md's md-status, so that
 * monitoring scripts written for it keep working: the md.json members,
 * then "cert" (live certificates per key type, with "valid"), "renew-at",
 * "watched", "renew" (only when renewal is needed), ours "renew-schedule"
 * (md_sched.h: why and when it renews) and, while a renewal is
 * in progress or staged, "renewal" (the job.json of staging/ plus the
 * staged certificates as "cert", "log" only for a single MD).
 *
 * Process model: live certificates are in domains/, readable by root only,
 * so the parent gathers them at start-up into a snapshot
 * (md_status_snap_make, post_config); a child reads only staging/ (job.json
 * and staged certificates, which the child itself writes) at request time.
 * Snapshots are read-only after post_config and shared by all threads.
 *
 * All JSON returned is owned by the pool passed in (a cleanup drops the
 * reference): do not json_decref it; embed it with json_object_set (not
 * _set_new). Nothing here touches the network; reading the store blocks on
 * the file system only. No secret reaches any output: keys are never read
 * into status, and a stored EAB "hmac" is removed.
 */
#ifndef md_status_h
#define md_status_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>
#include "md.h"
#include "md_crypt.h"
#include "md_reg.h"
#include "md_sched.h"
#include "md_store.h"

/* Information about one certificate: {"issuer-name", "issuer-uri" (if the
 * certificate names where its issuer's is), "valid": {"from",
 * "until"}, "serial", "sha256-fingerprint", "ari-cert-id" (if it has an
 * authority key id), "scts": [{"version", "logid", "signed", "signature",
 * "signature-type"}] (if it carries SCTs; the stock module's members)}.
 * Times are HTTP dates. */
json_t *md_status_cert_json(const md_cert_t *cert, apr_pool_t *p);

/* The certificates of md in a store group (MD_SG_DOMAINS: live,
 * MD_SG_STAGING: staged), one member per key spec (md_pkey_spec_name) plus
 * "valid": from the latest start to the earliest end of them. Specs without
 * a certificate are left out; none at all gives {} and APR_ENOENT. */
apr_status_t md_status_store_certs(json_t **pjson, md_store_t *store, md_store_group_t group,
                                   const md_t *md, apr_pool_t *p);

/* The same for an MD with static files (md_static.h): members "0", "1", ...
 * in the order of the MDCertificateFile directives, as the stock module
 * names them. Parent only (the files may be readable by root only). */
apr_status_t md_status_static_certs(json_t **pjson, const md_t *md, apr_pool_t *p);

/* What the parent knows about an MD at start-up that a child cannot read. */
typedef struct md_status_snap_t {
    const md_t *md;
    const md_reg_state_t *state;    /* the start-up assessment */
    const char *cert_json;          /* live certificates as JSON text (a text per MD,
                                     * not a tree: 1000s of MDs); NULL when the
                                     * assessment's live_certs (made into JSON on
                                     * request) or nothing shows them */
    apr_time_t last_success;        /* when the renewal that produced the live
                                     * certificate finished (its job.json in
                                     * domains/), 0 if unknown */
} md_status_snap_t;

/* Gather the snapshot for st->md (live certificates from the store or the
 * static files, last success from domains/<md>/job.json). Never fails:
 * what cannot be read is left empty. Parent only. */
md_status_snap_t *md_status_snap_make(md_store_t *store, const md_reg_state_t *st,
                                      apr_pool_t *p);

/* The renewal of md as staging/ shows it now: job.json, "cert" with the
 * staged certificates ({} if none yet), "status-description" added to a
 * failed "last", "log" removed unless with_log. APR_ENOENT (and NULL) when
 * no job is there; a corrupt job.json is APR_EINVAL (the store logged it). */
apr_status_t md_status_renewal(json_t **pjson, md_store_t *store, const md_t *md, int with_log,
                               apr_pool_t *p);

/* What the MD's schedule (md_sched_decide) depends on, as the status sees
 * it: the start-up assessment, the job from renewal (md_status_renewal, or
 * NULL: none), and, with store, the revocation marker and the time picked in
 * the CA's ARI window for the live certificates (staging/<md>/ari.json).
 * job is filled and in->job points to it. */
void md_status_sched_in(md_sched_in_t *in, md_sched_job_t *job, md_store_t *store,
                        const md_status_snap_t *snap, const json_t *renewal, apr_pool_t *p);

/* The md-status object of one MD at time now; renewal as from
 * md_status_renewal, or NULL (shown while a renewal is due or has run:
 * not a job that only recorded notifications). "watched" is the state's.
 * With sched (md_status_sched_in), ours: "renew-schedule": {"reason" (the
 * keyword of md_sched_why_name), "at" (when the next attempt starts; none
 * when the server will not renew it by itself), "detail" (a sentence)}. */
json_t *md_status_md_json(const md_status_snap_t *snap, const json_t *renewal,
                          const md_sched_in_t *sched, apr_time_t now, apr_pool_t *p);

/* md_status_renewal + md_status_sched_in + md_status_md_json. */
json_t *md_status_md_load(md_store_t *store, const md_status_snap_t *snap, int with_log,
                          apr_time_t now, apr_pool_t *p);

/* {"version": MD_VERSION, "managed-domains": [per-MD objects without logs]}
 * for the md_status_snap_t* in snaps. */
json_t *md_status_all_json(md_store_t *store, const apr_array_header_t *snaps, apr_time_t now,
                           apr_pool_t *p);

/* /.httpd/certificate-status of one MD from its md-status object: "valid"
 * of the live certificates, per key type {"valid", "serial",
 * "sha256-fingerprint", "scts"} ({} for a key type without a live
 * certificate) and, while one is staged, "renewal": {"cert": staged}. */
json_t *md_status_cert_status_json(const json_t *md_json, apr_pool_t *p);

/* Totals for server-status, over per-MD objects. */
typedef struct md_status_counts_t {
    int total;
    int ok;         /* complete and not due for renewal */
    int renew;      /* due for renewal (or without certificate) */
    int errored;    /* the renewal has failed at least once */
    int ready;      /* a new certificate is staged, waiting for activation */
} md_status_counts_t;

void md_status_count(md_status_counts_t *counts, const json_t *md_json);

/* The numbers the metrics need for one MD, times in seconds since the
 * epoch: {"name", "state", "renew-at", "renew" (0/1), "errors", "ready"
 * (0/1), "last-success" (only when known), "certs": [{"key", "not-before",
 * "not-after"}]}. From the md-status object and the snapshot. */
json_t *md_status_metrics_json(const md_status_snap_t *snap, const json_t *md_json,
                               apr_pool_t *p);

#endif /* md_status_h */
