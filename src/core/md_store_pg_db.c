/* The PostgreSQL store's connections (see md_store_pg_int.h): a few idle
 * connections per process, a breaker that answers at once for a while
 * after the database could not be reached, one log line per outage, and
 * statements and transactions with their retries. */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "md_crypt.h"
#include "md_log.h"
#include "md_store_pg_int.h"

/* After a connect that failed slowly (a host that does not answer), answer
 * "unreachable" without trying for this long; one refused at once is tried
 * again at the next call (a challenge answer must not fail for a blip). */
#define BREAKER_WAIT            apr_time_from_sec(2)
#define BREAKER_SLOW            apr_time_from_msec(500)
/* Unless the connection string says otherwise. */
#define CONNECT_TIMEOUT         "5"
/* A transaction losing races this often in a row gives up. */
#define RETRIES_MAX             8

static const char *conn_error(PGconn *conn, apr_pool_t *p)
{
    const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
    apr_size_t len = strlen(msg);

    /* libpq ends its messages with a newline. */
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        --len;
    }
    return apr_pstrmemdup(p, msg, len);
}

/* With sh->mutex held: connections of another process are never touched. */
static void adopt_process(md_pg_shared_t *sh)
{
    pid_t pid = getpid();

    if (sh->pool_pid != pid) {
        /* Inherited through fork: the parent still uses these sessions. */
        sh->n_idle = 0;
        sh->pool_pid = pid;
    }
}

/* The outage is logged once, not once per process: the parent's first
 * process (config check), the daemon and every restart would each say it
 * again. A marker file in the local directory remembers it. With
 * on: make it, 1 if it was not there; else: remove it, 1 if it was. */
static int outage_marker(md_pg_shared_t *sh, int on, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, sh->local_dir, "/" MD_PG_OUTAGE_MARKER, NULL);
    apr_file_t *f;

    if (!on) {
        return apr_file_remove(path, p) == APR_SUCCESS;
    }
    if (apr_file_open(&f, path, APR_FOPEN_CREATE | APR_FOPEN_EXCL | APR_FOPEN_WRITE,
                      APR_FPROT_UREAD | APR_FPROT_UWRITE, p) != APR_SUCCESS) {
        return 0;
    }
    apr_file_printf(f, "%s unreachable since %" APR_TIME_T_FMT "\n", sh->target,
                    apr_time_sec(apr_time_now()));
    apr_file_close(f);
    return 1;
}

static void note_failure(md_pg_shared_t *sh, const char *why, int slow, apr_pool_t *p)
{
    int first;
    int owner = getpid() == sh->owner_pid;

    apr_thread_mutex_lock(sh->mutex);
    if (slow) {
        sh->down_since = apr_time_now();
    }
    first = !sh->outage;
    sh->outage = 1;
    apr_thread_mutex_unlock(sh->mutex);
    if (first) {
        /* By the server's parent; its children stay quiet. */
        md_log_perror(MD_LOG_MARK, owner && outage_marker(sh, 1, p) ? MD_LOG_WARNING
                      : MD_LOG_DEBUG, APR_ECONNREFUSED, p, "MD24010: the store database %s "
                      "is unreachable (%s); serving the certificates copied to %s, renewing "
                      "nothing until it is back", sh->target, why, sh->local_dir);
    }
}

static void note_success(md_pg_shared_t *sh, apr_pool_t *p)
{
    int was_down, look;
    int owner = getpid() == sh->owner_pid;

    apr_thread_mutex_lock(sh->mutex);
    was_down = sh->outage;
    sh->outage = 0;
    sh->down_since = 0;
    /* The first success of a process ends an outage an earlier one saw. */
    look = owner && (was_down || sh->marker_pid != getpid());
    sh->marker_pid = getpid();
    apr_thread_mutex_unlock(sh->mutex);
    if ((look && outage_marker(sh, 0, p)) || (was_down && !owner)) {
        md_log_perror(MD_LOG_MARK, owner ? MD_LOG_NOTICE : MD_LOG_DEBUG, 0, p,
                      "MD24011: the store database %s is reachable again", sh->target);
    }
}

static apr_status_t conn_open(PGconn **pconn, md_pg_shared_t *sh, apr_pool_t *p)
{
    /* Our defaults first: what the connection string says wins. */
    const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *vals[] = { CONNECT_TIMEOUT, sh->node, sh->conninfo, NULL };
    apr_time_t start = apr_time_now();
    PGconn *conn;

    *pconn = NULL;
    conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        note_failure(sh, conn_error(conn, p), apr_time_now() - start > BREAKER_SLOW, p);
        if (conn) {
            PQfinish(conn);
        }
        return APR_ECONNREFUSED;
    }
    *pconn = conn;
    return APR_SUCCESS;
}

/* A connection of this process: an idle one (*preused set) or a new one. */
static apr_status_t conn_get(PGconn **pconn, int *preused, md_pg_shared_t *sh, int fresh,
                             apr_pool_t *p)
{
    apr_status_t rv;
    int waiting;

    *pconn = NULL;
    *preused = 0;
    apr_thread_mutex_lock(sh->mutex);
    adopt_process(sh);
    if (!fresh && sh->n_idle > 0) {
        *pconn = sh->idle[--sh->n_idle];
        *preused = 1;
    }
    waiting = sh->down_since && apr_time_now() - sh->down_since < BREAKER_WAIT;
    apr_thread_mutex_unlock(sh->mutex);
    if (*pconn) {
        return APR_SUCCESS;
    }
    if (waiting) {
        return APR_ECONNREFUSED;
    }
    if ((rv = conn_open(pconn, sh, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = md_pg_setup(sh, *pconn, p);
    if (rv != APR_SUCCESS && PQstatus(*pconn) != CONNECTION_OK) {
        note_failure(sh, conn_error(*pconn, p), 0, p);
        rv = APR_ECONNREFUSED;
    }
    if (rv != APR_SUCCESS) {
        PQfinish(*pconn);
        *pconn = NULL;
        return rv;
    }
    note_success(sh, p);
    return APR_SUCCESS;
}

static void conn_put(md_pg_shared_t *sh, PGconn *conn)
{
    int keep = 0;

    if (!conn) {
        return;
    }
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE) {
        apr_thread_mutex_lock(sh->mutex);
        if (sh->pool_pid == getpid() && sh->n_idle < MD_PG_POOL_MAX) {
            sh->idle[sh->n_idle++] = conn;
            keep = 1;
        }
        apr_thread_mutex_unlock(sh->mutex);
    }
    if (!keep) {
        PQfinish(conn);
    }
}

void md_pg_idle(md_pg_shared_t *sh)
{
    PGconn *conns[MD_PG_POOL_MAX];
    int i, n = 0;

    apr_thread_mutex_lock(sh->mutex);
    if (sh->pool_pid == getpid()) {
        n = sh->n_idle;
        memcpy(conns, sh->idle, sizeof(conns[0]) * (size_t)n);
        sh->n_idle = 0;
    }
    apr_thread_mutex_unlock(sh->mutex);
    for (i = 0; i < n; ++i) {
        PQfinish(conns[i]);
    }
}

/* --- statements ------------------------------------------------------------ */

static apr_status_t result_cleanup(void *data)
{
    PQclear(data);
    return APR_SUCCESS;
}

/* What a failed statement means for the caller; quiet: the caller expects
 * the error and says what it means itself. */
static apr_status_t classify(md_pg_tx_t *tx, PGresult *res, const char *sql, int quiet)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (PQstatus(tx->conn) != CONNECTION_OK || (state && !strncmp(state, "08", 2))
        || (state && !strncmp(state, "57P", 3))) {
        /* Connection exceptions, the server shutting down. */
        return APR_ECONNREFUSED;
    }
    if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01"))) {
        return MD_PG_RETRY;
    }
    if (state && !strcmp(state, "23505")) {
        return APR_EEXIST;
    }
    if (quiet) {
        return (state && !strcmp(state, "42P01")) ? APR_ENOENT : APR_EGENERAL;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, tx->p,
                  "MD24012: the store database %s refused \"%.60s...\": %s (SQLSTATE %s)",
                  tx->sh->target, sql, conn_error(tx->conn, tx->p), state ? state : "-");
    return APR_EGENERAL;
}

apr_status_t md_pg_exec(md_pg_tx_t *tx, PGresult **pres, const char *sql, int n,
                        const char *const *vals, const int *lens)
{
    return md_pg_exec_ex(tx, pres, sql, n, vals, lens, 0);
}

apr_status_t md_pg_exec_ex(md_pg_tx_t *tx, PGresult **pres, const char *sql, int n,
                           const char *const *vals, const int *lens, int quiet)
{
    int formats[16];
    int i;
    PGresult *res;
    ExecStatusType st;
    apr_status_t rv;

    if (pres) {
        *pres = NULL;
    }
    if (n > (int)(sizeof(formats) / sizeof(formats[0]))) {
        return APR_EINVAL;
    }
    for (i = 0; i < n; ++i) {
        formats[i] = (lens && lens[i] > 0) ? 1 : 0;
    }
    res = PQexecParams(tx->conn, sql, n, NULL, vals, lens, formats, 0);
    st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        apr_pool_cleanup_register(tx->p, res, result_cleanup, apr_pool_cleanup_null);
        if (pres) {
            *pres = res;
        }
        return APR_SUCCESS;
    }
    rv = classify(tx, res, sql, quiet);
    PQclear(res);
    return rv;
}

int md_pg_affected(PGresult *res)
{
    const char *n = res ? PQcmdTuples(res) : NULL;
    return (n && *n) ? atoi(n) : 0;
}

apr_int64_t md_pg_int64(PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c)) {
        return 0;
    }
    return apr_atoi64(PQgetvalue(res, r, c));
}

const char *md_pg_str(PGresult *res, int r, int c, apr_pool_t *p)
{
    if (PQgetisnull(res, r, c)) {
        return NULL;
    }
    return apr_pstrdup(p, PQgetvalue(res, r, c));
}

apr_status_t md_pg_bytes(char **pdata, apr_size_t *plen, PGresult *res, int r, int c,
                         apr_pool_t *p)
{
    size_t len = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, c), &len);
    char *copy;

    *pdata = NULL;
    *plen = 0;
    if (!raw) {
        return APR_ENOMEM;
    }
    if (len > MD_STORE_MAX_VALUE_LEN) {
        PQfreemem(raw);
        return APR_EINVAL;
    }
    copy = apr_palloc(p, len + 1);
    memcpy(copy, raw, len);
    copy[len] = '\0';
    PQfreemem(raw);
    *pdata = copy;
    *plen = len;
    return APR_SUCCESS;
}

const char *md_pg_i64s(apr_int64_t v, apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* --- transactions ----------------------------------------------------------- */

static apr_status_t run_once(md_pg_shared_t *sh, int write, md_pg_tx_fn *fn, void *baton,
                             int fresh, int *preused, apr_pool_t *p)
{
    md_pg_tx_t tx;
    apr_pool_t *ptx;
    apr_status_t rv, rv2;

    if ((rv = apr_pool_create(&ptx, p)) != APR_SUCCESS) {
        return rv;
    }
    tx.sh = sh;
    tx.p = ptx;
    rv = conn_get(&tx.conn, preused, sh, fresh, ptx);
    if (rv == APR_SUCCESS && write) {
        rv = md_pg_exec(&tx, NULL, "BEGIN", 0, NULL, NULL);
    }
    if (rv == APR_SUCCESS) {
        rv = fn(&tx, baton);
        if (write) {
            rv2 = md_pg_exec(&tx, NULL, rv == APR_SUCCESS ? "COMMIT" : "ROLLBACK", 0, NULL,
                             NULL);
            if (rv == APR_SUCCESS) {
                rv = rv2;
            }
        }
    }
    /* Results first: they belong to the connection's allocations. */
    apr_pool_destroy(ptx);
    conn_put(sh, tx.conn);
    return rv;
}

apr_status_t md_pg_run(md_pg_shared_t *sh, int write, md_pg_tx_fn *fn, void *baton,
                       apr_pool_t *p)
{
    apr_status_t rv;
    int attempt, reused = 0, fresh = 0;
    unsigned char r = 0;

    for (attempt = 0; attempt < RETRIES_MAX; ++attempt) {
        rv = run_once(sh, write, fn, baton, fresh, &reused, p);
        if (rv == APR_ECONNREFUSED && reused) {
            /* An idle connection the database closed (it restarted): once more
             * on a new one. Our writes are idempotent, a commit lost on the
             * way does no harm when repeated. */
            fresh = 1;
            continue;
        }
        if (rv == APR_ECONNREFUSED) {
            note_failure(sh, "the connection broke", 0, p);
            return rv;
        }
        if (rv != MD_PG_RETRY) {
            return rv;
        }
        /* Lost a race with another server: a little later, a little apart. */
        md_crypt_random(&r, 1);
        apr_sleep(apr_time_from_msec(5 + (attempt * 20) + (r % 20)));
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EAGAIN, p, "MD24013: the store database "
                  "%s: a transaction conflicted with others %d times in a row, giving up",
                  sh->target, RETRIES_MAX);
    return APR_EAGAIN;
}

const char *md_pg_instance(md_pg_shared_t *sh, apr_pool_t *p)
{
    unsigned char r[6];
    const char *id;

    apr_thread_mutex_lock(sh->mutex);
    if (sh->instance_pid != getpid()) {
        /* Per process, with a random part: a pid comes back some day. */
        md_crypt_random(r, sizeof(r));
        apr_snprintf(sh->instance, sizeof(sh->instance), "%.100s/%ld/%02x%02x%02x%02x%02x%02x",
                     sh->node, (long)getpid(), r[0], r[1], r[2], r[3], r[4], r[5]);
        sh->instance_pid = getpid();
    }
    id = apr_pstrdup(p, sh->instance);
    apr_thread_mutex_unlock(sh->mutex);
    return id;
}

const char *md_pg_describe(const char *conninfo, const char **pnode, const char **perr,
                           apr_pool_t *p)
{
    PQconninfoOption *opts, *o;
    char *err = NULL;
    const char *user = NULL, *host = NULL, *port = NULL, *db = NULL, *app = NULL;
    const char *desc;

    *perr = NULL;
    if (pnode) {
        *pnode = NULL;
    }
    opts = PQconninfoParse(conninfo ? conninfo : "", &err);
    if (!opts) {
        /* libpq ends it with a newline */
        *perr = err ? apr_pstrndup(p, err, strcspn(err, "\n")) : "cannot be parsed";
        if (err) {
            PQfreemem(err);
        }
        return NULL;
    }
    for (o = opts; o->keyword; ++o) {
        if (!o->val || !*o->val) {
            continue;
        }
        if (!strcmp(o->keyword, "user")) {
            user = apr_pstrdup(p, o->val);
        }
        else if (!strcmp(o->keyword, "host") || (!host && !strcmp(o->keyword, "hostaddr"))) {
            host = apr_pstrdup(p, o->val);
        }
        else if (!strcmp(o->keyword, "port")) {
            port = apr_pstrdup(p, o->val);
        }
        else if (!strcmp(o->keyword, "dbname")) {
            db = apr_pstrdup(p, o->val);
        }
        else if (!strcmp(o->keyword, "application_name")) {
            app = apr_pstrdup(p, o->val);
        }
    }
    PQconninfoFree(opts);
    /* Never the password: it is the connection string's business alone. */
    desc = apr_psprintf(p, "postgresql://%s%s%s%s%s/%s", user ? user : "", user ? "@" : "",
                        host ? host : "(default)", port ? ":" : "", port ? port : "",
                        db ? db : "(default)");
    if (pnode) {
        *pnode = app;
    }
    return desc;
}
