/* What concurrent drives share: the account selection and the CAs'
 * directories.
 *
 * When many MDs start at once they must not each register an account
 * (RFC 8555 §7.3 makes one per key; CAs rate-limit new accounts), nor each
 * fetch the same directory. Drives that share an md_drive_share_t select
 * their account one at a time under its mutex; the first account found or
 * registered for a CA and a set of contacts is remembered, so the others
 * load it from the store without asking the CA again. A directory read by
 * one drive is reused by the others for a while.
 *
 * Thread-safe: the directory functions take the mutex themselves; the
 * account functions expect the caller to hold it (lock, select, unlock),
 * except md_drive_share_acct_forget.
 */
#ifndef md_drive_share_h
#define md_drive_share_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>
#include "md_acme.h"

/* How long a remembered account or directory is used without asking the
 * CA again. */
#define MD_DRIVE_SHARE_TTL      apr_time_from_sec(60 * 60)

typedef struct md_drive_share_t md_drive_share_t;

/* A new, empty set with its own mutex and allocator; lives as long as p. */
apr_status_t md_drive_share_create(md_drive_share_t **pshare, apr_pool_t *p);

void md_drive_share_lock(md_drive_share_t *share);
void md_drive_share_unlock(md_drive_share_t *share);

/* A lock among processes, taken (fn(baton, 1)) when md_drive_share_acct_get
 * finds no remembered account, i.e. before the caller selects or registers
 * one, and released (fn(baton, 0)) by md_drive_share_unlock: servers
 * sharing a store choose their account one at a time too, and a remembered
 * account costs no lock. Its failure is the callee's to report; the
 * selection goes on. */
typedef apr_status_t md_drive_share_outer_fn(void *baton, int lock);
void md_drive_share_set_outer_lock(md_drive_share_t *share, md_drive_share_outer_fn *fn,
                                   void *baton);

/* With the lock held: if an account for acme's CA and these contacts was
 * remembered within MD_DRIVE_SHARE_TTL, make it acme's account and return
 * APR_SUCCESS; APR_ENOENT otherwise. No network, no store: acme->acct is a
 * copy in acme->p whose strings, and acme->acct_key, belong to the share
 * (they outlive every drive that uses the share). */
apr_status_t md_drive_share_acct_get(md_drive_share_t *share, md_acme_t *acme,
                                     const apr_array_header_t *contacts, apr_pool_t *p);

/* With the lock held: remember acme's current account (it must have an
 * id, i.e. be saved in the store) for its CA and these contacts; its key
 * is read from the store into the share once. */
void md_drive_share_acct_put(md_drive_share_t *share, const md_acme_t *acme,
                             const apr_array_header_t *contacts);

/* Forget the accounts remembered for a CA (e.g. the CA refused one).
 * Takes the lock itself. */
void md_drive_share_acct_forget(md_drive_share_t *share, const char *ca_url);

/* The directory document of the CA at ca_url, if one was read within
 * MD_DRIVE_SHARE_TTL: parsed into p (the caller owns it), else NULL. */
json_t *md_drive_share_dir_get(md_drive_share_t *share, const char *ca_url, apr_pool_t *p);

/* Remember a directory document (text, as read) of the CA at ca_url. */
void md_drive_share_dir_put(md_drive_share_t *share, const char *ca_url, const char *text);

#endif /* md_drive_share_h */
