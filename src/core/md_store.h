/* The store: where accounts, MDs, keys, certificates, jobs and challenge
 * responses live.
 *
 * An interface (a table of functions) so that a cluster can later share one
 * store on a distributed database: nothing above this header may assume
 * files. The file-system implementation is md_store_fs.c, with the stock
 * mod_md's layout:
 *   <base>/md_store.json           store version and the store key
 *   <base>/httpd.json              what the server listens on
 *   <base>/accounts/<name>/...     account.json, account.pem (encrypted)
 *   <base>/challenges/<domain>/... acme-http-01.txt ...
 *   <base>/domains/<md>/...        md.json, privkey.pem (plain, 0600), pubcert.pem, job.json
 *   <base>/staging/<md>/...        same files, keys encrypted, written by the child
 *   <base>/archive/<md>.<n>/...    previous domains/<md> sets
 *   <base>/tmp/...                 scratch for activation
 *   <base>/ocsp/<md>/...           OCSP responses and their job.json, written by the
 *                                  child ("other" for certificates outside MDs)
 *
 * Values are addressed by (group, name, aspect): group is the directory,
 * name the item (an MD or account name), aspect the file name (MD_FN_*).
 */
#ifndef md_store_h
#define md_store_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <jansson.h>
#include "md_crypt.h"

typedef enum {
    MD_SG_NONE,        /* the store's base itself (md_store.json, httpd.json) */
    MD_SG_ACCOUNTS,
    MD_SG_CHALLENGES,
    MD_SG_DOMAINS,
    MD_SG_STAGING,
    MD_SG_ARCHIVE,
    MD_SG_TMP,
    MD_SG_OCSP,        /* OCSP responses for stapling, per MD (md_ocsp.h) */
    MD_SG_COUNT,
} md_store_group_t;

const char *md_store_group_name(md_store_group_t group);

typedef struct md_store_t md_store_t;
typedef struct md_store_lease_t md_store_lease_t;

/* Flags of save. */
#define MD_STORE_SECRET     0x1
#define MD_STORE_VOLATILE   0x2

/* The operations an implementation provides. All allocate results from p.
 * APR_ENOENT means "not there" everywhere. */
typedef struct md_store_ops_t {
    /* Read the whole value. */
    apr_status_t (*load)(md_store_t *store, md_store_group_t group, const char *name,
                         const char *aspect, char **pdata, apr_size_t *plen, apr_pool_t *p);
    /* Replace the value atomically and durably (a reader sees the old or the
     * new value, never a mix; after return it survives a crash). flags:
     * MD_STORE_SECRET values are never readable by anyone but the owner;
     * MD_STORE_VOLATILE values are still replaced atomically but need not
     * survive a crash (they can be made again: fallback certificates), so
     * the store may skip flushing them. */
    apr_status_t (*save)(md_store_t *store, md_store_group_t group, const char *name,
                         const char *aspect, const char *data, apr_size_t len,
                         int flags, apr_pool_t *p);
    apr_status_t (*remove)(md_store_t *store, md_store_group_t group, const char *name,
                           const char *aspect, apr_pool_t *p);
    /* Remove the item with all its aspects. */
    apr_status_t (*purge)(md_store_t *store, md_store_group_t group, const char *name,
                          apr_pool_t *p);
    /* Names of the items in the group (const char*), sorted. */
    apr_status_t (*list)(md_store_t *store, md_store_group_t group, apr_array_header_t **pnames,
                         apr_pool_t *p);
    /* Aspects of an item (const char*), sorted. */
    apr_status_t (*list_aspects)(md_store_t *store, md_store_group_t group, const char *name,
                                 apr_array_header_t **paspects, apr_pool_t *p);
    /* Make the item `name` of group `from` the item `name` of group `to`, as
     * one step: readers of `to` see the old item or the new one, never none
     * or a mix. An existing `to` item is kept in MD_SG_ARCHIVE as
     * "<name>.<n>" (n the next free number, private keys in it encrypted
     * with the store key) if archive is set, else removed. */
    apr_status_t (*move)(md_store_t *store, md_store_group_t from, md_store_group_t to,
                         const char *name, int archive, apr_pool_t *p);
    /* Last modification time of a value, 0 if not there. */
    apr_time_t (*get_mtime)(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, apr_pool_t *p);
    /* A local file path holding the value, for consumers that need a file
     * (mod_ssl). The fs store returns its own path (the file need not exist);
     * other stores would materialize a copy. */
    apr_status_t (*get_fname)(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, const char **pfname, apr_pool_t *p);
    /* Hand ownership of what the unprivileged child writes (accounts,
     * challenges, staging, ocsp) to uid/gid; called by the parent when running as root. */
    apr_status_t (*set_owner)(md_store_t *store, int uid, int gid, apr_pool_t *p);
    /* Give the item `from` of group the name `to` in one step (an MD whose
     * name changed). APR_EEXIST if `to` exists, APR_ENOENT if `from` does not. */
    apr_status_t (*rename)(md_store_t *store, md_store_group_t group, const char *from,
                           const char *to, apr_pool_t *p);
    /* Exclusive lock on the whole store between servers sharing it (and
     * between cluster nodes, for stores that can). Waits up to max_wait;
     * APR_TIMEUP when another holder kept it that long. Held until unlock
     * (or the process ends). Not reentrant; not for use across threads. */
    apr_status_t (*lock)(md_store_t *store, apr_interval_time_t max_wait, apr_pool_t *p);
    apr_status_t (*unlock)(md_store_t *store, apr_pool_t *p);

    /* --- stores shared by several servers at once (a cluster): see
     * "Shared stores" below. A store used by one server alone leaves
     * these NULL; the md_store_* wrappers then do what a single server
     * needs (leases always granted, no changes from elsewhere). --- */
    apr_status_t (*lease_acquire)(md_store_t *store, const char *name,
                                  apr_interval_time_t ttl, md_store_lease_t **please,
                                  apr_pool_t *p);
    apr_status_t (*lease_renew)(md_store_t *store, md_store_lease_t *lease,
                                apr_interval_time_t ttl, apr_pool_t *p);
    apr_status_t (*lease_release)(md_store_t *store, md_store_lease_t *lease, apr_pool_t *p);
    apr_status_t (*lease_list)(md_store_t *store, apr_array_header_t **pleases, apr_pool_t *p);
    apr_status_t (*fence)(md_store_t *store, const md_store_lease_t *lease,
                          md_store_t **pfenced, apr_pool_t *p);
    apr_status_t (*changes)(md_store_t *store, md_store_group_t group,
                            apr_array_header_t **pchanges, apr_pool_t *p);
    void (*idle)(md_store_t *store);

    /* A batch (md_store_batch_begin): may keep what operations open (the
     * file store: its directories) until p is cleared or destroyed. NULL:
     * the store gains nothing from it. */
    void (*batch_begin)(md_store_t *store, apr_pool_t *p);

    /* A text that differs whenever the value has been replaced or changed,
     * told without reading it (the file store: the file's device, inode,
     * size, mtime and ctime). APR_EAGAIN: changed too recently to tell the
     * next change apart; APR_ENOENT: not there. NULL: the store cannot tell
     * more cheaply than by reading (md_store_version: APR_ENOTIMPL). */
    apr_status_t (*version)(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, const char **pversion, apr_pool_t *p);
} md_store_ops_t;

struct md_store_t {
    const md_store_ops_t *ops;
    /* The store key: random bytes from md_store.json, the passphrase for
     * keys kept encrypted (accounts, staging, archive). */
    const unsigned char *key;
    apr_size_t key_len;
    /* When md_store.json could not be read: why (naming the file), and key
     * is NULL. Plain values still work; encrypted keys can be neither read
     * nor written. NULL otherwise. */
    const char *key_problem;
    /* Set by stores that several servers use at the same time (a cluster
     * on one database): start-up takes the store lock even without
     * MDStoreLocks, renewals take leases. 0 for the file-system store. */
    int shared;
    /* Which backend ("file", "postgresql"; NULL for a file store opened
     * directly) and, for shared stores, the name of this server among the
     * others (for status and logs). */
    const char *backend;
    const char *node;
    /* While a batch runs (md_store_batch_begin): key decoders it reuses. */
    struct md_pkey_decoders_t *decoders;
};

/* Largest value the store reads (a long certificate chain fits easily);
 * bigger files are refused with APR_EINVAL. JSON is further capped at
 * MD_JSON_MAX_LEN. */
#define MD_STORE_MAX_VALUE_LEN  (4 * 1024 * 1024)

/* Length in bytes of the key in md_store.json (before base64url). */
#define MD_STORE_KEY_LEN        48

/* Store format version written into md_store.json, as the stock module's. */
#define MD_STORE_VERSION        3.0

/* Open (creating if needed) a file-system store at base_dir. Reads or
 * creates md_store.json with a new random 48-byte key. A corrupt
 * md_store.json is logged naming the file and left untouched; the store
 * opens without a key (see key_problem), so live certificates are still
 * served. A store of another version fails to open. Call in the parent (root).
 *
 * Details of the file-system store (md_store_fs.c):
 * - Names and aspects become path components: NULL, "", names starting
 *   with '.' (".", "..", our temp files), names with '/' or '\\' and names
 *   longer than 255 bytes give APR_EINVAL before the file system is touched.
 *   MD_SG_NONE takes name NULL (values in the base directory itself).
 * - get_fname also accepts aspect NULL (the item's directory) and, with it,
 *   name NULL (the group's directory).
 * - load NUL-terminates *pdata (not counted in *plen).
 * - purge and list_aspects give APR_ENOENT for a missing item; list gives
 *   an empty array for an empty or missing group; move gives APR_ENOENT
 *   when `from` has no item `name`.
 * - Modes: the base, challenges/, staging/ and ocsp/ 0755; accounts/, domains/,
 *   archive/ and tmp/ 0700 (and their items); secret values 0600, others
 *   0644, but everything in domains/ 0600.
 * - After a move into domains, archive or tmp, the item's directory is made
 *   0700 and, in domains, every file 0600 and (when running as root) owned
 *   by root, whoever wrote it in staging.
 * - The store object holds no mutable state but the lock's file
 *   descriptor: it may be shared between threads; processes coordinate
 *   through atomic renames, and servers sharing a store at start-up
 *   through lock (an fcntl lock on <base>/store.lock, also on NFS).
 * - move swaps whole directories: with an existing `to` item, one
 *   renameat2(RENAME_EXCHANGE) (two renames where the file system lacks
 *   it), then the old item is deleted.
 * store->key is the 48 decoded bytes of md_store.json's "key" (the stock
 * module uses the same bytes as the PEM passphrase, so keys stay readable
 * by either module). The store is allocated from p. */
apr_status_t md_store_fs_open(md_store_t **pstore, apr_pool_t *p, const char *base_dir);

/* --- typed access, implemented once over the ops (md_store.c) --- */

apr_status_t md_store_load_json(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, json_t **pjson, apr_pool_t *p);
apr_status_t md_store_save_json(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const json_t *json, apr_pool_t *p);
/* The same, MD_STORE_VOLATILE: for values made again when lost (an md.json
 * written from the config where there was none), so that 1000s of them do
 * not cost two fsyncs each. */
apr_status_t md_store_save_json_volatile(md_store_t *store, md_store_group_t group,
                                         const char *name, const char *aspect,
                                         const json_t *json, apr_pool_t *p);

/* Private keys: encrypted with the store key in MD_SG_ACCOUNTS, MD_SG_STAGING
 * and MD_SG_ARCHIVE, plain (but secret) in MD_SG_DOMAINS (mod_ssl reads
 * them there). Loading accepts either form. */
apr_status_t md_store_load_pkey(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, md_pkey_t **ppkey, apr_pool_t *p);
apr_status_t md_store_save_pkey(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, md_pkey_t *pkey, apr_pool_t *p);

/* Certificate chains (leaf first), md_cert_t* arrays. */
apr_status_t md_store_load_certs(md_store_t *store, md_store_group_t group, const char *name,
                                 const char *aspect, apr_array_header_t **pcerts, apr_pool_t *p);
apr_status_t md_store_save_certs(md_store_t *store, md_store_group_t group, const char *name,
                                 const char *aspect, const apr_array_header_t *certs,
                                 apr_pool_t *p);
/* The same, but MD_STORE_VOLATILE: for certificates that are made again
 * when lost (fallbacks), so thousands of them do not cost an fsync each. */
apr_status_t md_store_save_certs_volatile(md_store_t *store, md_store_group_t group,
                                          const char *name, const char *aspect,
                                          const apr_array_header_t *certs, apr_pool_t *p);

/* base64url(SHA-256) of a stored value's bytes (any kind, keys included:
 * the bytes are wiped after hashing), to tell whether it changed without
 * parsing it. */
apr_status_t md_store_digest(md_store_t *store, md_store_group_t group, const char *name,
                             const char *aspect, const char **pdigest, apr_pool_t *p);

/* Text values (challenge responses). */
apr_status_t md_store_load_text(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const char **ptext, apr_pool_t *p);
apr_status_t md_store_save_text(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const char *text, apr_pool_t *p);

/* Thin wrappers over ops for callers' convenience. */
apr_status_t md_store_remove(md_store_t *store, md_store_group_t group, const char *name,
                             const char *aspect, apr_pool_t *p);
apr_status_t md_store_purge(md_store_t *store, md_store_group_t group, const char *name,
                            apr_pool_t *p);
apr_status_t md_store_list(md_store_t *store, md_store_group_t group,
                           apr_array_header_t **pnames, apr_pool_t *p);
apr_status_t md_store_move(md_store_t *store, md_store_group_t from, md_store_group_t to,
                           const char *name, int archive, apr_pool_t *p);
apr_status_t md_store_get_fname(md_store_t *store, md_store_group_t group, const char *name,
                                const char *aspect, const char **pfname, apr_pool_t *p);
int md_store_exists(md_store_t *store, md_store_group_t group, const char *name,
                    const char *aspect, apr_pool_t *p);
apr_status_t md_store_list_aspects(md_store_t *store, md_store_group_t group, const char *name,
                                  apr_array_header_t **paspects, apr_pool_t *p);
apr_time_t md_store_get_mtime(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p);
apr_status_t md_store_version(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, const char **pversion, apr_pool_t *p);
apr_status_t md_store_set_owner(md_store_t *store, int uid, int gid, apr_pool_t *p);
apr_status_t md_store_rename(md_store_t *store, md_store_group_t group, const char *from,
                             const char *to, apr_pool_t *p);
apr_status_t md_store_lock(md_store_t *store, apr_interval_time_t max_wait, apr_pool_t *p);
apr_status_t md_store_unlock(md_store_t *store, apr_pool_t *p);

/* --- Shared stores (a cluster of servers on one store) ------------------------
 *
 * Leases: one server at a time works on a named task, e.g. the renewal of
 * an MD (the lease is named like the MD; names starting with '@' are the
 * store's own: "@store" for lock/unlock, "@account" for choosing an ACME
 * account). A lease is held until released or until its time (ttl) runs
 * out without renewal; whoever takes it next gets a higher epoch (a
 * fencing token). Times are the store's clock, so servers need not agree
 * on theirs.
 *
 * Fencing: md_store_fence gives a view of the store for a held lease; every
 * write through the view carries the lease's epoch and is refused with
 * APR_EACCES (writing nothing) once a newer epoch of that lease exists, so
 * a server that was paused past its lease cannot overwrite the work of the
 * one that took over. Writes that are not fenced are never refused;
 * purging, moving or renaming an MD's staging item without a fence ends
 * every lease on that MD (the work it was for is gone).
 *
 * Changes: a shared store that keeps local copies for mod_ssl (the
 * PostgreSQL store mirrors domains/ into MDStoreDir) lists the items whose
 * shared version differs from the local copy; get_fname brings an item's
 * copy up to date as a whole, in the process that opened the store.
 */
struct md_store_lease_t {
    const char *name;
    apr_int64_t epoch;          /* fencing token, > 0 once ever held */
    const char *node;           /* the holder's node name; NULL when free */
    const char *holder;         /* the holding process (node, pid, token) */
    apr_time_t expires;         /* store clock; 0 when free */
    int held;                   /* held and not expired when read */
    int mine;                   /* held by this process */
};

typedef struct md_store_change_t {
    const char *name;           /* the item */
    apr_int64_t version;        /* its shared version (0: none yet) */
    apr_time_t mtime;           /* when that version was made (store clock) */
} md_store_change_t;

/* Take the lease `name` for ttl. APR_SUCCESS: *please holds it: a new
 * epoch when it was free, expired or another process's, the same epoch
 * when this process held it already (then it is renewed). APR_EAGAIN:
 * another process holds it unexpired; *please says who and until when.
 * Other errors: the store could not be asked (a database that is down).
 * Without the op: always granted, epoch 1. *please is from p. */
apr_status_t md_store_lease_acquire(md_store_t *store, const char *name,
                                    apr_interval_time_t ttl, md_store_lease_t **please,
                                    apr_pool_t *p);
/* Extend a lease this process holds by ttl from now; APR_EACCES when it
 * was lost (a newer epoch exists), other errors when the store cannot be
 * asked (try again). Safe to call from another thread than the holder's. */
apr_status_t md_store_lease_renew(md_store_t *store, md_store_lease_t *lease,
                                  apr_interval_time_t ttl, apr_pool_t *p);
/* Give a lease up (the epoch stays). Releasing one lost already is no error. */
apr_status_t md_store_lease_release(md_store_t *store, md_store_lease_t *lease,
                                    apr_pool_t *p);
/* All leases there ever were (md_store_lease_t*, sorted by name); empty
 * without the op. */
apr_status_t md_store_lease_list(md_store_t *store, apr_array_header_t **pleases,
                                 apr_pool_t *p);
/* A view of store whose writes carry lease's epoch (see above); the store
 * itself without the op. The view lives as long as p and store. */
apr_status_t md_store_fence(md_store_t *store, const md_store_lease_t *lease,
                            md_store_t **pfenced, apr_pool_t *p);
/* Items of group whose shared version differs from this server's local
 * copy (md_store_change_t*); empty without the op or for a store that
 * keeps no local copies. One cheap look, for polling. */
apr_status_t md_store_changes(md_store_t *store, md_store_group_t group,
                              apr_array_header_t **pchanges, apr_pool_t *p);
/* Let go of resources held between calls (database connections); call in
 * a process before it forks children that must not share them. */
void md_store_idle(md_store_t *store);

/* The operations from now until p is cleared or destroyed are one run of
 * one thread (a config pass over every MD): the store may keep open what
 * they open instead of opening it again for each (the file store: its
 * directories, 17 opens per MD down to 5; any store: the OpenSSL decoder
 * of each key type it loads). Only where no other thread uses
 * the store and nothing forks before p goes: what is held may be root's.
 * p must not outlive the store. */
void md_store_batch_begin(md_store_t *store, apr_pool_t *p);

/* --- opening a store (md_store_open.c) --- */

#define MD_STORE_BACKEND_FILE       "file"
#define MD_STORE_BACKEND_POSTGRESQL "postgresql"

/* Open the store of backend (NULL or MD_STORE_BACKEND_FILE: the file-system
 * store at local_dir; MD_STORE_BACKEND_POSTGRESQL: the PostgreSQL store
 * with the libpq connection string args, its local copies and store key
 * in local_dir). Options of shared stores (lease and poll times) are
 * their callers' business. The store is allocated from p. */
apr_status_t md_store_open(md_store_t **pstore, const char *backend, const char *args,
                           const char *local_dir, apr_pool_t *p);
/* NULL when backend and args make sense, else what is wrong (from p). */
const char *md_store_check_backend(const char *backend, const char *args, apr_pool_t *p);

#endif /* md_store_h */
