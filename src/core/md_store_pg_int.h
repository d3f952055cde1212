/* Internal to the PostgreSQL store (md_store_pg*.c). Not for other callers.
 *
 * Files:
 *   md_store_pg.c         open, the value operations, sealing
 *   md_store_pg_db.c      connections (a small pool per process), the
 *                         breaker and the once-per-outage log, statements
 *                         and transactions with retries
 *   md_store_pg_setup.c   schema (created and versioned), first use of an
 *                         empty database (import of a file store), the
 *                         store key check
 *   md_store_pg_lease.c   leases, fencing, the store lock
 *   md_store_pg_mirror.c  the local copy of domains/ for mod_ssl
 *   md_store_pg_move.c    rename and move of whole items (activation)
 *
 * Processes and threads: the store is opened by the httpd parent (the
 * "owner"); children inherit it. Connections are per process: one opened
 * by another process is never used (nor closed: that would end the
 * other's session). Everything in md_pg_shared_t below `mutex` is guarded
 * by it. Only the owner process writes the local mirror.
 */
#ifndef md_store_pg_int_h
#define md_store_pg_int_h

#include <sys/types.h>

#include <apr_hash.h>
#include <apr_thread_mutex.h>
#include <libpq-fe.h>

#include "md_crypt_seal.h"
#include "md_store.h"

#define MD_PG_POOL_MAX          8
#define MD_PG_INSTANCE_LEN      160
/* The schema this code writes and reads (md_meta "schema-version"). */
#define MD_PG_SCHEMA_VERSION    1

/* The database clock in microseconds since the epoch: leases and mtimes
 * use it, so servers need not agree on their clocks. */
#define MD_PG_NOW   "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"

/* In the local directory while the database is unreachable (see
 * md_store_pg_db.c): the outage is logged once however many processes
 * and restarts see it. */
#define MD_PG_OUTAGE_MARKER     "pg-outage"

/* A transaction that lost a race (serialization failure, deadlock, a
 * concurrent insert): run it again. Never returned to callers. */
#define MD_PG_RETRY             (APR_OS_START_USERERR + 4201)

typedef struct md_pg_shared_t {
    apr_pool_t *p;              /* the store's pool; allocated from in the owner only */
    const char *conninfo;       /* as configured: may hold a password, never logged */
    const char *target;         /* "postgresql://user@host:port/db" for messages */
    const char *node;           /* this server's name among the others */
    md_store_t *local;          /* the file-system store at local_dir */
    const char *local_dir;
    pid_t owner_pid;            /* the process that opened the store */
    unsigned char seal_key[MD_SEAL_KEY_LEN];
    int have_seal_key;
    const char *key_check;      /* of the local store key, NULL without one */

    apr_thread_mutex_t *mutex;
    /* connections of process pool_pid */
    pid_t pool_pid;
    PGconn *idle[MD_PG_POOL_MAX];
    int n_idle;
    apr_time_t down_since;      /* last failed connect (breaker), 0: reachable */
    int outage;                 /* an outage was noticed and not yet over */
    pid_t marker_pid;           /* the process that looked at the outage marker */
    /* this process's lease holder id */
    pid_t instance_pid;
    char instance[MD_PG_INSTANCE_LEN];
    /* database set-up verified by process ready_pid */
    pid_t ready_pid;
    int key_ok;                 /* the database's key check matches ours */
    /* owner process only: */
    apr_hash_t *mirrored;       /* domain item -> apr_int64_t* version copied locally */
    apr_hash_t *checked;        /* items whose copy was brought up to date */
    int mirror_dirty;           /* mirrored changed since it was saved */
    md_store_lease_t *lock;     /* the "@store" lease while lock() holds it */
} md_pg_shared_t;

typedef struct {
    md_store_t s;               /* first: the md_store_t* handed out is this */
    md_pg_shared_t *sh;
    /* A fenced view (md_store_fence): writes need this epoch of this lease. */
    const char *fence_name;
    apr_int64_t fence_epoch;
} md_pg_store_t;

/* One checked-out connection inside a call or transaction. */
typedef struct {
    md_pg_shared_t *sh;
    PGconn *conn;
    apr_pool_t *p;
} md_pg_tx_t;

typedef apr_status_t md_pg_tx_fn(md_pg_tx_t *tx, void *baton);

/* --- md_store_pg_db.c --- */

/* Run fn on a connection of this process, in a transaction when write is
 * set (committed when fn succeeds, else rolled back). Lost races are run
 * again (fn must start from scratch each time), and so is a call whose
 * pooled connection turned out dead (the database restarted). Returns
 * fn's status; APR_ECONNREFUSED when the database cannot be reached (the
 * outage is logged once, the breaker then answers at once for a while);
 * APR_EAGAIN when the database is not set up for us yet. */
apr_status_t md_pg_run(md_pg_shared_t *sh, int write, md_pg_tx_fn *fn, void *baton,
                       apr_pool_t *p);
/* One statement with text parameters (NULL for SQL NULL); binary
 * parameters where lens[i] > 0 is given (lens may be NULL). *pres is the
 * result (freed with tx->p) when the statement succeeded. */
apr_status_t md_pg_exec(md_pg_tx_t *tx, PGresult **pres, const char *sql, int n,
                        const char *const *vals, const int *lens);
/* The same; quiet: failures are not logged (APR_ENOENT: no such table). */
apr_status_t md_pg_exec_ex(md_pg_tx_t *tx, PGresult **pres, const char *sql, int n,
                           const char *const *vals, const int *lens, int quiet);
/* Rows a command touched ("UPDATE 3" -> 3). */
int md_pg_affected(PGresult *res);
/* Column c of row r as a 64-bit number, 0 when NULL. */
apr_int64_t md_pg_int64(PGresult *res, int r, int c);
/* Column c of row r, copied into p; NULL when SQL NULL. */
const char *md_pg_str(PGresult *res, int r, int c, apr_pool_t *p);
/* A bytea column, decoded into p (NUL-terminated, not counted). */
apr_status_t md_pg_bytes(char **pdata, apr_size_t *plen, PGresult *res, int r, int c,
                         apr_pool_t *p);
const char *md_pg_i64s(apr_int64_t v, apr_pool_t *p);
/* Close this process's idle connections. */
void md_pg_idle(md_pg_shared_t *sh);
/* This process's lease holder id (node, pid, random). */
const char *md_pg_instance(md_pg_shared_t *sh, apr_pool_t *p);
/* "user@host:port/db" of a connection string, no password; NULL (and
 * *perr) when libpq cannot parse it. */
const char *md_pg_describe(const char *conninfo, const char **pnode, const char **perr,
                           apr_pool_t *p);

/* --- md_store_pg_setup.c --- */

/* On the first connection of a process: the schema (created by the owner
 * when missing), the first use (import of the file store in the owner)
 * and the key check. APR_EAGAIN when not usable yet. */
apr_status_t md_pg_setup(md_pg_shared_t *sh, PGconn *conn, apr_pool_t *p);

/* --- md_store_pg_lease.c --- */

apr_status_t md_pg_lease_acquire(md_store_t *store, const char *name, apr_interval_time_t ttl,
                                 md_store_lease_t **please, apr_pool_t *p);
apr_status_t md_pg_lease_renew(md_store_t *store, md_store_lease_t *lease,
                               apr_interval_time_t ttl, apr_pool_t *p);
apr_status_t md_pg_lease_release(md_store_t *store, md_store_lease_t *lease, apr_pool_t *p);
apr_status_t md_pg_lease_list(md_store_t *store, apr_array_header_t **pleases, apr_pool_t *p);
apr_status_t md_pg_fence(md_store_t *store, const md_store_lease_t *lease,
                         md_store_t **pfenced, apr_pool_t *p);
apr_status_t md_pg_lock(md_store_t *store, apr_interval_time_t max_wait, apr_pool_t *p);
apr_status_t md_pg_unlock(md_store_t *store, apr_pool_t *p);
/* In a write transaction: may this store (view) write? APR_EACCES (logged)
 * when its fence was overtaken. what names the write for the log. */
apr_status_t md_pg_fence_check(md_pg_tx_t *tx, md_pg_store_t *ps, const char *what);
/* In a write transaction: end every lease on name (its staging went). */
apr_status_t md_pg_lease_end(md_pg_tx_t *tx, const char *name);

/* --- md_store_pg_mirror.c --- */

/* Values of domains/ that live only in the local directory (per server). */
int md_pg_local_aspect(md_store_group_t group, const char *aspect);
/* Load the record of what the mirror holds (owner, at open). */
void md_pg_mirror_load(md_pg_shared_t *sh, apr_pool_t *ptemp);
/* Save it if it changed. */
void md_pg_mirror_save(md_pg_shared_t *sh, apr_pool_t *ptemp);
apr_int64_t md_pg_mirror_version(md_pg_shared_t *sh, const char *name);
void md_pg_mirror_set(md_pg_shared_t *sh, const char *name, apr_int64_t version);
/* Bring the local copy of domains/<name> up to date (owner only, once per
 * opened store and item unless force). */
apr_status_t md_pg_mirror_refresh(md_pg_store_t *ps, const char *name, int force,
                                  apr_pool_t *p);
/* Replace the local copy of domains/<name> by values (md_pg_value_t*)
 * of version. */
apr_status_t md_pg_mirror_put(md_pg_shared_t *sh, const char *name,
                              apr_array_header_t *values, apr_int64_t version, apr_pool_t *p);
apr_status_t md_pg_changes(md_store_t *store, md_store_group_t group,
                           apr_array_header_t **pchanges, apr_pool_t *p);

/* A value in transit: plain data (secret tells whether to seal it). */
typedef struct {
    const char *aspect;
    const char *data;
    apr_size_t len;
    int secret;
} md_pg_value_t;

/* --- md_store_pg.c --- */

const char *md_pg_group(md_store_group_t group);
/* Does data hold a private key (sealed whatever the caller's flags)? */
int md_pg_is_secret(const char *data, apr_size_t len);
/* Seal / unseal with the store key (APR_EACCES without it, logged). */
apr_status_t md_pg_seal(md_pg_shared_t *sh, const char **pout, apr_size_t *plen,
                        const char *data, apr_size_t len, const char *what, apr_pool_t *p);
apr_status_t md_pg_unseal(md_pg_shared_t *sh, char **pout, apr_size_t *plen,
                          const char *data, apr_size_t len, const char *what, apr_pool_t *p);
/* Insert or replace one value of (group, name) in a write transaction,
 * sealing it when secret; the item is created when missing. */
apr_status_t md_pg_put_value(md_pg_tx_t *tx, md_store_group_t group, const char *name,
                             const md_pg_value_t *v, apr_pool_t *p);
/* A new item version (random, never 0). */
apr_int64_t md_pg_new_version(void);
/* Names the file store takes (domains/ items become directories); logs. */
apr_status_t md_pg_check_addr(md_store_group_t group, const char *name, const char *aspect,
                              int need_aspect, apr_pool_t *p);
/* In a write transaction: delete an item with its values; *pfound. */
apr_status_t md_pg_delete_item(md_pg_tx_t *tx, md_store_group_t group, const char *name,
                               int *pfound);
/* Is this the process that opened the store (the server's parent)? */
int md_pg_is_owner(const md_pg_shared_t *sh);

/* --- md_store_pg_move.c: the ops rename and move (md_store_ops_t) --- */

apr_status_t md_pg_rename(md_store_t *store, md_store_group_t group, const char *from,
                          const char *to, apr_pool_t *p);
apr_status_t md_pg_move(md_store_t *store, md_store_group_t from, md_store_group_t to,
                        const char *name, int archive, apr_pool_t *p);

#endif /* md_store_pg_int_h */
