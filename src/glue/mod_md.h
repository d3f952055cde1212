/* What the module's start-up found, shared by the glue files (hooks,
 * handlers, watchdog). Built by post_config in the parent, replaced on
 * every config cycle, read-only afterwards (children inherit it). */
#ifndef mod_md_h
#define mod_md_h

#include <apr_hash.h>
#include <httpd.h>

#include "md_crypt.h"
#include "md_reg.h"
#include "md_store.h"

typedef struct mod_md_runtime_t {
    md_store_t *store;
    apr_hash_t *server_mds;         /* server_rec* (the pointer value) -> md_t* */
    apr_hash_t *server_other_mds;   /* server_rec* -> a second md_t* its names are in */
    md_name_index_t *names;         /* every MD's names, wildcards honoured */
    int ssl_conflict;               /* a vhost with SSL has names in two MDs */
    apr_hash_t *states;             /* md name -> md_reg_state_t* */
    apr_array_header_t *state_list; /* md_reg_state_t*, in config order */
    md_pkey_t *fallback_key;        /* one shared key for all fallbacks, made on demand */
    md_pkey_t *fallback_rsa_key;    /* the same for RSA fallbacks */
    /* Where the CA's ports 80 and 443 arrive (MDPortMap), when the server
     * listens there: the local port (0: not served) and an address to reach
     * it from this host. Recorded in the store's httpd.json. */
    int http_port;
    const char *http_host;
    int https_port;
    const char *https_host;
    int acme_tls_1_any;             /* some server offers the acme-tls/1 protocol */
    apr_hash_t *fallback_servers;   /* server_rec* -> itself: mod_ssl took our fallback
                                     * certificate for it (these answer 503) */
} mod_md_runtime_t;

/* The runtime of the current config cycle, NULL when no MD is configured. */
mod_md_runtime_t *mod_md_runtime(void);

/* The MD a server (vhost) belongs to, or NULL. */
const md_t *mod_md_server_md(const server_rec *s);

/* The start-up state of the MD a server belongs to, or NULL. */
md_reg_state_t *mod_md_server_state(const server_rec *s);

/* The start-up state of the MD of a request's host name, if that MD is one
 * the server belongs to (a vhost without SSL may belong to two), or NULL.
 * p: scratch. */
md_reg_state_t *mod_md_host_state(const server_rec *s, const char *host, apr_pool_t *p);

/* mod_watchdog does not join its threads before a child exits: OpenSSL's
 * exit handler would then race with the end of a watchdog thread that used
 * crypto, both freeing the thread's OpenSSL state (ASan saw the double
 * free). A watchdog callback calls mod_md_wd_thread_ran on every run and
 * mod_md_wd_thread_stop when told AP_WATCHDOG_STATE_STOPPING (on its own
 * thread); mod_md_wd_thread_wait, a cleanup on pchild, holds the child's
 * exit (at most 5 s) until the thread that ran has stopped. */
typedef struct mod_md_wd_thread_t {
    volatile apr_uint32_t state;    /* 0 never ran, 1 ran, 2 stopped */
} mod_md_wd_thread_t;

void mod_md_wd_thread_ran(mod_md_wd_thread_t *wt);
void mod_md_wd_thread_stop(mod_md_wd_thread_t *wt);
apr_status_t mod_md_wd_thread_wait(void *wt);

#endif /* mod_md_h */
