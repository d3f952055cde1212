/* What start-up learns from a certificate and its private key in the store,
 * remembered under the SHA-256 of both files' bytes, so that a config pass
 * (two per start, one per graceful restart) reads and hashes the files but
 * parses them only when their bytes are new. mod_ssl parses them anyway;
 * without the memo every pass parsed each certificate three times (assessment,
 * md-status, ARI) and each key once more, which made a start with 1000 MDs
 * take twice as long as the same certificates as static files (issue 13).
 *
 * An entry (in memory a small struct) holds the leaf's validity, the leaf
 * as md-status shows it (md_status_cert_json, as compact JSON text: a text
 * costs a fraction of the memory of a JSON tree, and only md-status
 * requests parse it), its ARI certificate id (RFC 9773) if it has one, and
 * whether it covers the name list it was last asked about (md_cert_covers).
 * Beside the entries, the memo keeps what a pass learned under the store's
 * versions of files (md_store_version): while a file's version stays the
 * same, the next pass takes it from the memo instead of reading the file:
 * the digest of each file a pass hashed, and which md.json (by the digest
 * of its bytes) md_reg_sync found in sync with which MD as configured (by
 * the digest of its JSON), or wrote from it, with the account and CA it
 * learned there. In the store the memo is text, a record per line
 * (md_credmemo.c).
 * An entry exists only for a pair that parsed and whose leaf matches the key:
 * the same bytes always give the same answer, so a hit needs no check. The
 * memo is kept in the store (MD_FN_CRED_MEMO, at the base like the fallback
 * key; it holds nothing secret) and read by every pass: httpd unloads and
 * reloads the module between passes, so nothing survives in memory. Entries
 * no pass asked for are dropped when it is saved. The file's text is let go
 * as soon as it is read: entries are small C structs in the memo's pool, and
 * what a pass keeps (md_live_cert_t) shares their strings. */
#ifndef md_credmemo_h
#define md_credmemo_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "md_crypt.h"
#include "md_store.h"

typedef struct md_credmemo_t md_credmemo_t;
typedef struct md_credmemo_entry_t md_credmemo_entry_t;

/* An empty memo in p (for the module: the config pool of the pass). */
md_credmemo_t *md_credmemo_create(apr_pool_t *p);

/* Start a pass: the first time, read what the store keeps; then forget which
 * entries were used. With versions, file digests are taken from the memo
 * while the store's version of a file stays the same; without, every file
 * is read (a store on a network file system others write, whose file
 * attributes the client caches). */
void md_credmemo_begin(md_credmemo_t *memo, md_store_t *store, int versions, apr_pool_t *ptemp);

/* How many entries the store's memo had (after md_credmemo_begin). */
unsigned int md_credmemo_count(const md_credmemo_t *memo);
/* The digest of fname at the store's base (a shared fallback key), read
 * once per pass: the pass loaded that key once too. NULL when unreadable. */
const char *md_credmemo_base_digest(md_credmemo_t *memo, md_store_t *store, const char *fname);
/* The store's version of the value at group/name/aspect, or NULL when the
 * pass does not go by versions or the store cannot tell. From p. */
const char *md_credmemo_version(md_credmemo_t *memo, md_store_t *store,
                                md_store_group_t group, const char *name, const char *aspect,
                                apr_pool_t *p);
/* Whether this pass keeps sync records (it goes by versions). */
int md_credmemo_keeps_synced(const md_credmemo_t *memo);
/* Whether a pass found the sync key (md_reg_sync) in sync, and what it
 * learned then (each may be NULL). */
int md_credmemo_synced(md_credmemo_t *memo, const char *key, const char **paccount,
                       const char **peffective);
void md_credmemo_set_synced(md_credmemo_t *memo, const char *key, const char *account,
                            const char *effective);

/* The digest of the value at group/name/aspect, or NULL when it cannot be
 * read. memo may be NULL (then the value is read). The digest lives in p. */
const char *md_credmemo_file_digest(md_credmemo_t *memo, md_store_t *store,
                                    md_store_group_t group, const char *name,
                                    const char *aspect, apr_pool_t *p);
/* The digest of the key in kname and the chain in cname of group/name, or
 * NULL when either cannot be read. */
const char *md_credmemo_digest(md_credmemo_t *memo, md_store_t *store, md_store_group_t group,
                               const char *name, const char *kname, const char *cname,
                               apr_pool_t *p);

/* The entry for digest, or NULL. Marks it used in this pass. It lives as
 * long as the memo. */
md_credmemo_entry_t *md_credmemo_find(md_credmemo_t *memo, const char *digest);

/* Remember leaf (which matched its key) under digest; returns the entry
 * (with digest NULL: not remembered, the entry lives in p). */
md_credmemo_entry_t *md_credmemo_add(md_credmemo_t *memo, const char *digest,
                                     const md_cert_t *leaf, apr_pool_t *p);
/* The same with the leaf's validity only (no md-status JSON, no ARI id):
 * for certificates md-status never shows, the fallbacks. */
md_credmemo_entry_t *md_credmemo_add_validity(md_credmemo_t *memo, const char *digest,
                                              const md_cert_t *leaf, apr_pool_t *p);

/* Whether the entry's leaf covers names: 1, 0, or -1 when not known yet
 * (then md_credmemo_set_covers once it is). */
int md_credmemo_covers(const md_credmemo_entry_t *entry, const apr_array_header_t *names,
                       apr_pool_t *p);
void md_credmemo_set_covers(md_credmemo_t *memo, md_credmemo_entry_t *entry,
                            const apr_array_header_t *names, int covers, apr_pool_t *p);

apr_time_t md_credmemo_from(const md_credmemo_entry_t *entry);
apr_time_t md_credmemo_until(const md_credmemo_entry_t *entry);

/* What the assessment keeps of a live certificate (md_reg_state_t). */
typedef struct md_live_cert_t {
    const char *spec_name;      /* the key spec, as md-status names it */
    apr_time_t valid_from;
    apr_time_t valid_until;
    const char *status_json;    /* the leaf as md-status shows it: JSON text */
    const char *ari_id;         /* RFC 9773 certificate id, or NULL */
} md_live_cert_t;

/* Shares the entry's strings: p must not outlive the memo's pool. */
md_live_cert_t *md_credmemo_live_cert(const md_credmemo_entry_t *entry, const char *spec_name,
                                      apr_pool_t *p);

/* End a pass: keep only the entries it used; save them to the store when that
 * changed what the store keeps (and save is set: the store may be written). */
void md_credmemo_end(md_credmemo_t *memo, md_store_t *store, int save, apr_pool_t *ptemp);

#endif /* md_credmemo_h */
