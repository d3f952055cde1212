/* What concurrent drives share (see md_drive_share.h). */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "md_acme_int.h"
#include "md_drive_share.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_util.h"

/* One per CA and contacts; there are few (usually one), a list will do. */
typedef struct acct_entry_t {
    struct acct_entry_t *next;
    const char *ca_url;
    const char *contacts;       /* sorted contacts and the EAB key id, joined: a key */
    const char *acct_id;        /* NULL: forgotten */
    md_acme_acct_t *acct;       /* loaded once: in share->p, read-only */
    md_pkey_t *key;             /* its key (signing with it from several
                                 * threads at once is safe: it is never changed) */
    apr_time_t since;
    apr_time_t key_mtime;       /* of account.pem when loaded: a key rolled
                                 * over since (a2md acme keychange) is reloaded */
} acct_entry_t;

typedef struct dir_entry_t {
    struct dir_entry_t *next;
    const char *ca_url;
    char *text;                 /* malloc'ed: replaced every TTL */
    apr_time_t since;
} dir_entry_t;

struct md_drive_share_t {
    apr_pool_t *p;              /* entries; used under the mutex only */
    apr_thread_mutex_t *mutex;
    acct_entry_t *accts;
    dir_entry_t *dirs;
};

static apr_status_t share_cleanup(void *data)
{
    md_drive_share_t *share = data;
    dir_entry_t *d;

    for (d = share->dirs; d; d = d->next) {
        free(d->text);
    }
    apr_pool_destroy(share->p);
    return APR_SUCCESS;
}

apr_status_t md_drive_share_create(md_drive_share_t **pshare, apr_pool_t *p)
{
    md_drive_share_t *share = apr_pcalloc(p, sizeof(*share));
    apr_status_t rv;

    *pshare = NULL;
    /* Its own allocator: threads of other pools must not share it. */
    rv = apr_pool_create_unmanaged_ex(&share->p, NULL, NULL);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, share, share_cleanup, apr_pool_cleanup_null);
    rv = apr_thread_mutex_create(&share->mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        *pshare = share;
    }
    return rv;
}

void md_drive_share_lock(md_drive_share_t *share)
{
    apr_thread_mutex_lock(share->mutex);
}

void md_drive_share_unlock(md_drive_share_t *share)
{
    apr_thread_mutex_unlock(share->mutex);
}

/* --- accounts ------------------------------------------------------------- */

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What an account must match besides its CA, in a canonical form: the
 * contacts in any order and the external account binding's key id, as
 * md_acme_acct_find matches them. */
static const char *acct_key(const md_acme_t *acme, const apr_array_header_t *contacts,
                            apr_pool_t *p)
{
    apr_array_header_t *sorted;
    const char *kid = acme->eab ? acme->eab->kid : "";

    if (!contacts || contacts->nelts == 0) {
        return apr_pstrcat(p, "\n#eab:", kid, NULL);
    }
    sorted = md_array_str_clone(p, contacts);
    qsort(sorted->elts, (size_t)sorted->nelts, sizeof(const char *), str_ptr_cmp);
    return apr_pstrcat(p, md_array_str_join(sorted, "\n", p), "\n#eab:", kid, NULL);
}

static acct_entry_t *acct_find(md_drive_share_t *share, const char *ca_url, const char *key)
{
    acct_entry_t *e;

    for (e = share->accts; e; e = e->next) {
        if (!strcmp(e->ca_url, ca_url) && !strcmp(e->contacts, key)) {
            return e;
        }
    }
    return NULL;
}

apr_status_t md_drive_share_acct_get(md_drive_share_t *share, md_acme_t *acme,
                                     const apr_array_header_t *contacts, apr_pool_t *p)
{
    acct_entry_t *e = acct_find(share, acme->url, acct_key(acme, contacts, p));
    md_acme_acct_t *acct;
    apr_time_t mtime;

    if (!e || !e->acct_id || !e->key || apr_time_now() - e->since > MD_DRIVE_SHARE_TTL) {
        return APR_ENOENT;
    }
    /* A key written since (a rollover) makes the one we hold useless; a
     * key gone from the store is the CA's to judge. One stat, no decrypt. */
    mtime = acme->store ? md_store_get_mtime(acme->store, MD_SG_ACCOUNTS, e->acct_id,
                                             MD_FN_ACCT_KEY, p) : 0;
    if (mtime && mtime != e->key_mtime) {
        return APR_ENOENT;
    }
    /* A copy of the struct: its strings and the key stay in share->p,
     * which outlives every drive. */
    acct = apr_pmemdup(acme->p, e->acct, sizeof(*acct));
    acme->acct = acct;
    acme->acct_key = e->key;
    md_log_perror(MD_LOG_MARK, MD_LOG_TRACE1, 0, p, "MD08601: using ACME account %s "
                  "selected by an earlier renewal", e->acct_id);
    return APR_SUCCESS;
}

void md_drive_share_acct_put(md_drive_share_t *share, const md_acme_t *acme,
                             const apr_array_header_t *contacts)
{
    apr_pool_t *ptemp;
    const char *key;
    acct_entry_t *e;
    md_acme_acct_t *acct;
    md_pkey_t *pkey = NULL;
    apr_time_t mtime;

    if (!acme->acct || !acme->acct->id || !acme->store) {
        return;
    }
    apr_pool_create(&ptemp, share->p);
    key = acct_key(acme, contacts, ptemp);
    e = acct_find(share, acme->url, key);
    mtime = md_store_get_mtime(acme->store, MD_SG_ACCOUNTS, acme->acct->id, MD_FN_ACCT_KEY,
                               ptemp);
    if (e && e->acct_id && !strcmp(e->acct_id, acme->acct->id) && e->key
        && e->key_mtime == mtime) {
        e->since = apr_time_now();
        goto leave;
    }
    /* The key once more from the store, into the shared pool: the drive's
     * copy goes with its pool. Entries are few (one per CA and contacts);
     * a changed account adds one more copy, which is rare enough. */
    if (md_store_load_pkey(acme->store, MD_SG_ACCOUNTS, acme->acct->id, MD_FN_ACCT_KEY,
                           &pkey, share->p) != APR_SUCCESS) {
        goto leave;
    }
    if (!e) {
        e = apr_pcalloc(share->p, sizeof(*e));
        e->ca_url = apr_pstrdup(share->p, acme->url);
        e->contacts = apr_pstrdup(share->p, key);
        e->next = share->accts;
        share->accts = e;
    }
    /* A deep copy through account.json's form: every member it has. */
    if (md_acme_acct_from_json(&acct, md_json_pool_own(ptemp, md_acme_acct_to_json(acme->acct)),
                               "shared account", share->p) != APR_SUCCESS) {
        goto leave;
    }
    acct->id = apr_pstrdup(share->p, acme->acct->id);
    acct->registration = NULL;
    e->acct = acct;
    e->key = pkey;
    e->acct_id = acct->id;
    e->since = apr_time_now();
    e->key_mtime = mtime;
leave:
    apr_pool_destroy(ptemp);
}

void md_drive_share_acct_forget(md_drive_share_t *share, const char *ca_url)
{
    acct_entry_t *e;

    apr_thread_mutex_lock(share->mutex);
    for (e = share->accts; e; e = e->next) {
        if (!strcmp(e->ca_url, ca_url)) {
            e->acct_id = NULL;
        }
    }
    apr_thread_mutex_unlock(share->mutex);
}

/* --- directories ---------------------------------------------------------- */

json_t *md_drive_share_dir_get(md_drive_share_t *share, const char *ca_url, apr_pool_t *p)
{
    const char *text = NULL;
    json_t *j = NULL;
    dir_entry_t *d;

    apr_thread_mutex_lock(share->mutex);
    for (d = share->dirs; d; d = d->next) {
        if (!strcmp(d->ca_url, ca_url)) {
            if (d->text && apr_time_now() - d->since <= MD_DRIVE_SHARE_TTL) {
                text = apr_pstrdup(p, d->text);
            }
            break;
        }
    }
    apr_thread_mutex_unlock(share->mutex);
    if (text && md_json_parse(&j, text, strlen(text), ca_url, NULL, p) != APR_SUCCESS) {
        j = NULL;
    }
    return j;
}

void md_drive_share_dir_put(md_drive_share_t *share, const char *ca_url, const char *text)
{
    dir_entry_t *d;
    char *copy = text ? strdup(text) : NULL;

    if (!copy) {
        return;
    }
    apr_thread_mutex_lock(share->mutex);
    for (d = share->dirs; d; d = d->next) {
        if (!strcmp(d->ca_url, ca_url)) {
            break;
        }
    }
    if (!d) {
        d = apr_pcalloc(share->p, sizeof(*d));
        d->ca_url = apr_pstrdup(share->p, ca_url);
        d->next = share->dirs;
        share->dirs = d;
    }
    free(d->text);
    d->text = copy;
    d->since = apr_time_now();
    apr_thread_mutex_unlock(share->mutex);
}
