/* Internal to the OCSP stapling registry (md_ocsp_reg*.c, md_ocsp_renew.c).
 * Not for other callers: md_ocsp_reg.h is the interface.
 *
 * Files:
 *   md_ocsp_reg.c     the table of certificates and their responses: prime,
 *                     seal, the handshake's get, picking up responses
 *                     other processes saved, the status queries
 *   md_ocsp_renew.c   the watchdog's side: asking the responders, saving
 *                     responses and ocsp/<md>/job.json, telling
 *                     MDMessageCmd, removing unused responses
 */
#ifndef md_ocsp_reg_int_h
#define md_ocsp_reg_int_h

#include <stdatomic.h>

#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_thread_mutex.h>

#include "md_ocsp.h"
#include "md_ocsp_reg.h"
#include "md_store.h"
#include "md_util.h"

typedef struct md_ocsp_entry_t {
    md_ocsp_reg_t *reg;
    int index;                  /* slot in reg->gens */
    const char *mdname;         /* store name: the MD's, or MD_OCSP_OTHER */
    const char *fname;          /* ocsp-<id>.json */
    md_ocsp_cert_t *ocert;
    /* The response, guarded by mutex: */
    apr_thread_mutex_t *mutex;
    unsigned char *der;         /* malloc'd (threads replace it), NULL: none */
    apr_size_t der_len;
    md_ocsp_stat_t stat;
    apr_time_t valid_from;
    apr_time_t valid_until;
    apr_time_t renew_at;
    apr_time_t mtime;           /* of the file it was read from or saved to */
    /* Any thread: */
    atomic_uint seen_gen;       /* generation of the response held */
    atomic_int reloading;       /* a thread is reading the store for it */
    atomic_llong last_poll;     /* without shared generations: last look */
    /* The watchdog thread only: */
    int errors;                 /* failed attempts in a row */
    apr_time_t retry_at;
} md_ocsp_entry_t;

/* What a caller may look at without holding the mutex. */
typedef struct md_ocsp_snap_t {
    int has;
    md_ocsp_stat_t stat;
    apr_time_t valid_from;
    apr_time_t valid_until;
    apr_time_t renew_at;
    apr_time_t mtime;
} md_ocsp_snap_t;

struct md_ocsp_reg_t {
    apr_pool_t *p;
    md_store_t *store;
    md_ocsp_reg_cfg_t cfg;
    apr_array_header_t *entries;    /* md_ocsp_entry_t*; sorted by MD and id once sealed */
    apr_hash_t *by_key;             /* caller's key -> md_ocsp_entry_t* */
    apr_hash_t *by_id;              /* SHA-1 of the certificate -> md_ocsp_entry_t* */
    apr_hash_t *by_sha256;          /* fingerprint (hex) -> md_ocsp_entry_t* */
    atomic_uint *gens;              /* shared memory, one per entry; NULL: none */
    int sealed;
};

#define MD_OCSP_ENTRY(reg, i) MD_ARR_IDX((reg)->entries, (i), md_ocsp_entry_t *)

/* A copy of e's response state (under its mutex). */
void md_ocsp_entry_snap(md_ocsp_entry_t *e, md_ocsp_snap_t *s);

/* Hold resp from now on (unless only_newer and it is not newer than the one
 * held: a file an older process wrote). Returns whether it was taken. */
int md_ocsp_entry_set(md_ocsp_entry_t *e, const md_ocsp_resp_t *resp, apr_time_t renew_at,
                      apr_time_t mtime, int only_newer);

/* Read the response file of e, if it changed since e's response came from
 * it, and take it when it checks out at now. ptemp NULL: a pool of its own
 * (any thread). */
void md_ocsp_entry_load(md_ocsp_entry_t *e, apr_time_t now, apr_pool_t *ptemp);

/* Pick up a response another process saved since (any thread). */
void md_ocsp_entry_sync(md_ocsp_entry_t *e, apr_time_t now);

/* The earlier of two times, 0 meaning "none". */
static inline apr_time_t md_ocsp_earliest(apr_time_t a, apr_time_t b)
{
    return (!a || (b && b < a)) ? b : a;
}

#endif /* md_ocsp_reg_int_h */
