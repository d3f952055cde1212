/* The registry of stapled certificates and their responses (see
 * md_ocsp_reg.h for who calls what from where). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>

#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_ocsp.h"
#include "md_ocsp_reg.h"
#include "md_ocsp_reg_int.h"
#include "md_sched.h"
#include "md_store.h"
#include "md_time.h"
#include "md_util.h"


static apr_status_t reg_cleanup(void *data)
{
    md_ocsp_reg_t *reg = data;
    int i;

    for (i = 0; i < reg->entries->nelts; ++i) {
        free(MD_OCSP_ENTRY(reg, i)->der);
        MD_OCSP_ENTRY(reg, i)->der = NULL;
    }
    return APR_SUCCESS;
}

md_ocsp_reg_t *md_ocsp_reg_create(apr_pool_t *p, md_store_t *store,
                                  const md_ocsp_reg_cfg_t *cfg)
{
    md_ocsp_reg_t *reg = apr_pcalloc(p, sizeof(*reg));

    reg->p = p;
    reg->store = store;
    reg->cfg = *cfg;
    reg->entries = apr_array_make(p, 10, sizeof(md_ocsp_entry_t *));
    reg->by_key = apr_hash_make(p);
    reg->by_id = apr_hash_make(p);
    reg->by_sha256 = apr_hash_make(p);
    apr_pool_cleanup_register(p, reg, reg_cleanup, apr_pool_cleanup_null);
    return reg;
}

int md_ocsp_reg_count(const md_ocsp_reg_t *reg)
{
    return reg ? reg->entries->nelts : 0;
}

/* --- one certificate's response ------------------------------------------- */

void md_ocsp_entry_snap(md_ocsp_entry_t *e, md_ocsp_snap_t *s)
{
    apr_thread_mutex_lock(e->mutex);
    s->has = e->der != NULL;
    s->stat = e->stat;
    s->valid_from = e->valid_from;
    s->valid_until = e->valid_until;
    s->renew_at = e->renew_at;
    s->mtime = e->mtime;
    apr_thread_mutex_unlock(e->mutex);
}

/* Hold resp from now on (unless only_newer and it is not newer than the one
 * held: a file an older process wrote). Returns whether it was taken. */
int md_ocsp_entry_set(md_ocsp_entry_t *e, const md_ocsp_resp_t *resp, apr_time_t renew_at,
                     apr_time_t mtime, int only_newer)
{
    unsigned char *der = malloc(resp->der_len);
    unsigned char *old = NULL;
    int taken = 0;

    if (!der) {
        return 0;
    }
    memcpy(der, resp->der, resp->der_len);
    apr_thread_mutex_lock(e->mutex);
    if (!only_newer || !e->der || resp->valid_from > e->valid_from
        || (resp->valid_from == e->valid_from && resp->valid_until > e->valid_until)) {
        old = e->der;
        e->der = der;
        e->der_len = resp->der_len;
        e->stat = resp->stat;
        e->valid_from = resp->valid_from;
        e->valid_until = resp->valid_until;
        e->renew_at = renew_at;
        e->mtime = mtime;
        der = NULL;
        taken = 1;
    }
    else {
        e->mtime = mtime;
    }
    apr_thread_mutex_unlock(e->mutex);
    free(der);
    free(old);
    return taken;
}

/* Read the response file of e, if it changed since e's response came from
 * it, and take it when it checks out at now. ptemp NULL: a pool of its own
 * (any thread). */
void md_ocsp_entry_load(md_ocsp_entry_t *e, apr_time_t now, apr_pool_t *ptemp)
{
    md_ocsp_reg_t *reg = e->reg;
    md_ocsp_resp_t *resp = NULL;
    const unsigned char *der = NULL;
    const char *why = NULL;
    apr_size_t len = 0;
    apr_pool_t *p = ptemp;
    json_t *j = NULL;
    apr_time_t mtime;
    md_ocsp_snap_t s;
    apr_status_t rv;

    if (!p && apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        return;
    }
    md_ocsp_entry_snap(e, &s);
    mtime = md_store_get_mtime(reg->store, MD_SG_OCSP, e->mdname, e->fname, p);
    if (mtime <= 0 || mtime == s.mtime) {
        goto leave;
    }
    rv = md_store_load_json(reg->store, MD_SG_OCSP, e->mdname, e->fname, &j, p);
    if (rv == APR_SUCCESS && (rv = md_ocsp_file_der(&der, &len, j, p)) != APR_SUCCESS) {
        why = "no \"" MD_KEY_RESPONSE "\" of base64url DER in it";
    }
    if (rv == APR_SUCCESS) {
        rv = md_ocsp_resp_check(&resp, e->ocert, NULL, der, len, now, &why, p);
    }
    if (rv == APR_SUCCESS) {
        md_ocsp_entry_set(e, resp, md_sched_ocsp_renew_at(&reg->cfg.renew_window, resp->valid_from,
                                            resp->valid_until), mtime, 1);
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, p, "MD22001: %s: read the OCSP response "
                      "for the certificate with serial %s from the store: %s until %s",
                      e->mdname, md_ocsp_cert_serial(e->ocert), md_ocsp_stat_name(resp->stat),
                      md_time_format_http(resp->valid_until, p));
    }
    else {
        md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, p, "MD22002: %s: not using the stored "
                      "OCSP response %s/%s: %s", e->mdname, e->mdname, e->fname,
                      why ? why : "cannot read it");
    }
leave:
    if (p != ptemp) {
        apr_pool_destroy(p);
    }
}

/* Pick up a response another process saved since (any thread). One thread
 * reads the file; the others go on with the response they have. */
void md_ocsp_entry_sync(md_ocsp_entry_t *e, apr_time_t now)
{
    md_ocsp_reg_t *reg = e->reg;
    unsigned int gen = 0;
    int idle = 0;

    if (reg->gens) {
        gen = atomic_load_explicit(&reg->gens[e->index], memory_order_acquire);
        if (gen == atomic_load_explicit(&e->seen_gen, memory_order_relaxed)) {
            return;
        }
    }
    else {
        long long last = atomic_load_explicit(&e->last_poll, memory_order_relaxed);
        if (now - last < MD_OCSP_RECHECK && last - now < MD_OCSP_RECHECK) {
            return;
        }
        atomic_store_explicit(&e->last_poll, now, memory_order_relaxed);
    }
    if (!atomic_compare_exchange_strong(&e->reloading, &idle, 1)) {
        return;
    }
    md_ocsp_entry_load(e, now, NULL);
    if (reg->gens) {
        atomic_store_explicit(&e->seen_gen, gen, memory_order_relaxed);
    }
    atomic_store(&e->reloading, 0);
}

/* --- priming (parent) ----------------------------------------------------- */

apr_status_t md_ocsp_reg_prime(md_ocsp_reg_t *reg, const void *key, apr_size_t key_len,
                               const char *pem, apr_size_t pem_len, const char *mdname,
                               apr_time_t now, const char **pwhy, apr_pool_t *ptemp)
{
    apr_array_header_t *chain = NULL;
    md_ocsp_cert_t *ocert = NULL;
    const md_cert_t *cert;
    const md_cert_t *issuer;
    md_ocsp_entry_t *e;

    *pwhy = NULL;
    if (reg->sealed) {
        *pwhy = "certificates can be added only at start-up";
        return APR_EINVAL;
    }
    if (key && key_len > 0 && apr_hash_get(reg->by_key, key, (apr_ssize_t)key_len)) {
        return APR_SUCCESS;
    }
    if (!pem || md_certs_from_pem(&chain, pem, pem_len, ptemp) != APR_SUCCESS
        || chain->nelts < 2) {
        *pwhy = "not a certificate followed by its issuer's (PEM)";
        return APR_EINVAL;
    }
    cert = MD_ARR_IDX(chain, 0, const md_cert_t *);
    issuer = MD_ARR_IDX(chain, 1, const md_cert_t *);
    if (md_ocsp_cert_make(&ocert, cert, issuer, ptemp) != APR_SUCCESS) {
        *pwhy = "the second certificate did not issue the first";
        return APR_EINVAL;
    }
    e = apr_hash_get(reg->by_id, md_ocsp_cert_id(ocert), MD_OCSP_ID_LEN);
    if (!e) {
        if (!md_ocsp_cert_responder(ocert)) {
            *pwhy = apr_psprintf(ptemp, "the certificate with serial %s names no OCSP "
                                 "responder", md_ocsp_cert_serial(ocert));
            return APR_ENOENT;
        }
        /* Again in the registry's pool, which lives as long as it. */
        if (md_ocsp_cert_make(&ocert, cert, issuer, reg->p) != APR_SUCCESS
            || !(e = apr_pcalloc(reg->p, sizeof(*e)))
            || apr_thread_mutex_create(&e->mutex, APR_THREAD_MUTEX_DEFAULT, reg->p)
               != APR_SUCCESS) {
            *pwhy = "out of memory";
            return APR_ENOMEM;
        }
        e->reg = reg;
        e->mdname = apr_pstrdup(reg->p, mdname ? mdname : MD_OCSP_OTHER);
        e->ocert = ocert;
        e->fname = md_ocsp_file_name(md_ocsp_cert_hexid(ocert), reg->p);
        atomic_init(&e->seen_gen, 0);
        atomic_init(&e->reloading, 0);
        atomic_init(&e->last_poll, now);
        APR_ARRAY_PUSH(reg->entries, md_ocsp_entry_t *) = e;
        apr_hash_set(reg->by_id, md_ocsp_cert_id(ocert), MD_OCSP_ID_LEN, e);
        if (md_ocsp_cert_sha256(ocert)) {
            apr_hash_set(reg->by_sha256, md_ocsp_cert_sha256(ocert), APR_HASH_KEY_STRING, e);
        }
        md_ocsp_entry_load(e, now, ptemp);
    }
    if (key && key_len > 0) {
        apr_hash_set(reg->by_key, apr_pmemdup(reg->p, key, key_len), (apr_ssize_t)key_len, e);
    }
    return APR_SUCCESS;
}

apr_size_t md_ocsp_reg_shared_size(const md_ocsp_reg_t *reg)
{
    int n = reg->entries->nelts;
    return (apr_size_t)(n > 0 ? n : 1) * sizeof(atomic_uint);
}

static int entry_cmp(const void *a, const void *b)
{
    const md_ocsp_entry_t *e1 = *(md_ocsp_entry_t *const *)a;
    const md_ocsp_entry_t *e2 = *(md_ocsp_entry_t *const *)b;
    int n = strcmp(e1->mdname, e2->mdname);

    return n ? n : strcmp(md_ocsp_cert_hexid(e1->ocert), md_ocsp_cert_hexid(e2->ocert));
}

void md_ocsp_reg_seal(md_ocsp_reg_t *reg, void *mem, apr_size_t size)
{
    int i;

    /* One MD's certificates next to each other: the watchdog renews them
     * together with one job.json. */
    qsort(reg->entries->elts, (size_t)reg->entries->nelts, sizeof(md_ocsp_entry_t *), entry_cmp);
    reg->gens = NULL;
    if (mem && size >= md_ocsp_reg_shared_size(reg)) {
        reg->gens = mem;
    }
    for (i = 0; i < reg->entries->nelts; ++i) {
        MD_OCSP_ENTRY(reg, i)->index = i;
        if (reg->gens) {
            atomic_init(&reg->gens[i], 0);
        }
    }
    reg->sealed = 1;
}

/* --- the handshake -------------------------------------------------------- */

apr_status_t md_ocsp_reg_get(md_ocsp_reg_t *reg, const void *key, apr_size_t key_len,
                             md_ocsp_copy_fn *cb, void *baton, apr_time_t now)
{
    md_ocsp_entry_t *e = key_len > 0 ? apr_hash_get(reg->by_key, key, (apr_ssize_t)key_len) : NULL;

    if (!e) {
        return APR_ENOENT;
    }
    md_ocsp_entry_sync(e, now);
    apr_thread_mutex_lock(e->mutex);
    if (e->der && md_ocsp_is_current(e->valid_from, e->valid_until, now)) {
        cb(e->der, e->der_len, baton);
    }
    else {
        cb(NULL, 0, baton);
    }
    apr_thread_mutex_unlock(e->mutex);
    return APR_SUCCESS;
}

/* --- status --------------------------------------------------------------- */

static json_t *valid_json(const md_ocsp_snap_t *s, apr_pool_t *p)
{
    json_t *v = json_object();

    md_json_set_str(v, MD_KEY_FROM, md_time_format_http(s->valid_from, p));
    md_json_set_str(v, MD_KEY_UNTIL, md_time_format_http(s->valid_until, p));
    return v;
}

static const char *current_stat(const md_ocsp_snap_t *s, apr_time_t now)
{
    return md_ocsp_stat_name(s->has && md_ocsp_is_current(s->valid_from, s->valid_until, now)
                             ? s->stat : MD_OCSP_STAT_UNKNOWN);
}

/* ocsp/<md>/job.json as status shows it, NULL if there is none. */
static json_t *renewal_json(md_ocsp_reg_t *reg, const char *mdname, int with_log,
                            apr_pool_t *p)
{
    json_t *j = NULL;

    if (md_store_load_json(reg->store, MD_SG_OCSP, mdname, MD_FN_JOB, &j, p) != APR_SUCCESS
        || !json_is_object(j)) {
        return NULL;
    }
    if (!with_log) {
        json_object_del(j, MD_KEY_LOG);
    }
    return j;
}

json_t *md_ocsp_reg_cert_json(md_ocsp_reg_t *reg, const char *sha256, int with_log,
                              apr_time_t now, apr_pool_t *p)
{
    md_ocsp_entry_t *e = (reg && sha256) ? apr_hash_get(reg->by_sha256, sha256, APR_HASH_KEY_STRING)
                                 : NULL;
    json_t *j;
    json_t *renewal;
    md_ocsp_snap_t s;

    if (!e) {
        return NULL;
    }
    md_ocsp_entry_sync(e, now);
    md_ocsp_entry_snap(e, &s);
    j = md_json_pool_own(p, json_object());
    md_json_set_str(j, MD_KEY_STATUS, current_stat(&s, now));
    if (s.has) {
        json_object_set_new(j, MD_KEY_VALID, valid_json(&s, p));
    }
    if ((renewal = renewal_json(reg, e->mdname, with_log, p))) {
        json_object_set(j, MD_KEY_RENEWAL, renewal);
    }
    return j;
}

json_t *md_ocsp_reg_status_json(md_ocsp_reg_t *reg, apr_time_t now, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, json_object());
    json_t *list = json_array();
    int i;

    json_object_set_new(j, MD_KEY_OCSPS, list);
    for (i = 0; reg && i < reg->entries->nelts; ++i) {
        md_ocsp_entry_t *e = MD_OCSP_ENTRY(reg, i);
        json_t *o = json_object();
        json_t *cert = json_object();
        json_t *renewal;
        md_ocsp_snap_t s;

        md_ocsp_entry_sync(e, now);
        md_ocsp_entry_snap(e, &s);
        md_json_set_str(o, MD_KEY_DOMAIN, e->mdname);
        md_json_set_str(o, MD_KEY_ID, md_ocsp_cert_hexid(e->ocert));
        md_json_set_str(o, MD_KEY_STATUS, current_stat(&s, now));
        md_json_set_str(cert, MD_KEY_SHA256_FP, md_ocsp_cert_sha256(e->ocert));
        json_object_set_new(o, MD_KEY_CERT, cert);
        md_json_set_str(o, MD_KEY_URL, md_ocsp_cert_responder(e->ocert));
        if (s.has) {
            json_object_set_new(o, MD_KEY_VALID, valid_json(&s, p));
            md_json_set_str(o, MD_KEY_RENEW_AT, md_time_format_http(s.renew_at, p));
        }
        if ((!s.has || s.renew_at <= now || !md_ocsp_is_current(s.valid_from, s.valid_until,
                                                                 now))
            && (renewal = renewal_json(reg, e->mdname, 0, p))) {
            json_object_set(o, MD_KEY_RENEWAL, renewal);
        }
        json_array_append_new(list, o);
    }
    return j;
}

/* The first entry of mdname in the sealed (sorted) table, or nelts. */
static int first_of(const md_ocsp_reg_t *reg, const char *mdname)
{
    int lo = 0;
    int hi = reg->entries->nelts;

    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(MD_OCSP_ENTRY(reg, mid)->mdname, mdname) < 0) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo;
}

int md_ocsp_reg_md_revoked(md_ocsp_reg_t *reg, const char *mdname, apr_time_t now)
{
    int i;

    if (!reg || !mdname || !reg->sealed) {
        return 0;
    }
    /* Asked for every MD by every renewal pass: no scan of all entries. */
    for (i = first_of(reg, mdname);
         i < reg->entries->nelts && !strcmp(MD_OCSP_ENTRY(reg, i)->mdname, mdname); ++i) {
        md_ocsp_entry_t *e = MD_OCSP_ENTRY(reg, i);
        md_ocsp_snap_t s;

        md_ocsp_entry_sync(e, now);
        md_ocsp_entry_snap(e, &s);
        if (s.has && s.stat == MD_OCSP_STAT_REVOKED
            && md_ocsp_is_current(s.valid_from, s.valid_until, now)) {
            return 1;
        }
    }
    return 0;
}

apr_time_t md_ocsp_reg_next_renewal(md_ocsp_reg_t *reg, apr_time_t now)
{
    apr_time_t next = 0;
    int i;

    for (i = 0; reg && i < reg->entries->nelts; ++i) {
        md_ocsp_entry_t *e = MD_OCSP_ENTRY(reg, i);
        md_ocsp_snap_t s;

        md_ocsp_entry_sync(e, now);
        md_ocsp_entry_snap(e, &s);
        if (s.has) {
            next = md_ocsp_earliest(next, s.renew_at);
        }
    }
    return next;
}
