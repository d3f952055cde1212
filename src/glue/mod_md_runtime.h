/* The module's runtime: everything one generation (config cycle) of the
 * server knows beyond its configuration, in one struct.
 *
 * mod_md_runtime.c owns it: its post_config (in the parent, before
 * mod_ssl's) matches the virtual hosts with their MDs, opens the store,
 * activates staged certificates, assesses each MD and then hands the
 * runtime to each glue part's setup function, which hangs its own state
 * off it (drive, ocsp, status, cluster). The struct lives in pconf and is
 * found again by hooks that httpd calls without it through the
 * generation's configuration (mod_md_runtime_get): no glue file keeps
 * per-generation state of its own.
 *
 * Threads: read-only once post_config is done (children inherit it), but
 * for the parts' own fields, which say who may write them.
 */
#ifndef mod_md_runtime_h
#define mod_md_runtime_h

#include <apr_hash.h>
#include <httpd.h>

#include "md_crypt.h"
#include "md_reg.h"
#include "md_store.h"
#include "mod_md_config.h"

/* The parts' own state, private to their files. */
typedef struct mod_md_drive_t mod_md_drive_t;       /* mod_md_drive.c */
typedef struct mod_md_ocsp_t mod_md_ocsp_t;         /* mod_md_ocsp.c */
typedef struct mod_md_status_t mod_md_status_t;     /* mod_md_status.c */
typedef struct mod_md_cluster_t mod_md_cluster_t;   /* mod_md_cluster.c */
struct mod_md_start_t;                              /* mod_md_start.c */

typedef struct mod_md_runtime_t {
    server_rec *s;                  /* the base server */
    apr_pool_t *pconf;
    mod_md_global_t *g;             /* the configuration */
    int has_mds;                    /* some MD is configured; without, only the
                                     * stapling of other certificates may run */
    md_store_t *store;              /* NULL without MDs (the stapling opens its own) */
    apr_hash_t *server_mds;         /* server_rec* (the pointer value) -> md_t* */
    apr_hash_t *server_other_mds;   /* server_rec* -> a second md_t* its names are in */
    md_name_index_t *names;         /* every MD's names, wildcards honoured */
    int ssl_conflict;               /* a vhost with SSL has names in two MDs */
    apr_hash_t *states;             /* md name -> md_reg_state_t* (filled while the MDs
                                     * start: mod_md_server_state waits for one) */
    apr_array_header_t *state_list; /* md_reg_state_t*, in config order */
    struct mod_md_start_t *start;   /* the MDs' start while it runs (mod_md_start.h),
                                     * NULL after mod_ssl's post_config */
    md_pkey_t *fallback_key;        /* one shared key for all fallbacks, made on demand */
    md_pkey_t *fallback_rsa_key;    /* the same for RSA fallbacks */
    struct md_credmemo_t *cred_memo;/* this pass's credential memo (md_credmemo.h), read
                                     * from the store; ended after mod_ssl's post_config */
    int cred_memo_save;             /* this pass may write the store */
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
    /* The parts (NULL when not set up): */
    mod_md_drive_t *drive;
    mod_md_ocsp_t *ocsp;
    mod_md_status_t *status;
    mod_md_cluster_t *cluster;
} mod_md_runtime_t;

/* Register the runtime's hooks (post_config, building it). */
void mod_md_runtime_register_hooks(void);

/* The runtime of the generation s belongs to; NULL before its post_config
 * ran (e.g. in a check_config). */
mod_md_runtime_t *mod_md_runtime_get(const server_rec *s);

/* The MD a server (vhost) belongs to, or NULL. */
const md_t *mod_md_server_md(const mod_md_runtime_t *rt, const server_rec *s);

/* A second MD whose names the server has (a vhost without SSL may belong
 * to two), or NULL. */
const md_t *mod_md_server_other_md(const mod_md_runtime_t *rt, const server_rec *s);

/* The start-up state of the MD a server belongs to, or NULL. */
md_reg_state_t *mod_md_server_state(const mod_md_runtime_t *rt, const server_rec *s);

/* The start-up state of the MD of a request's host name, if that MD is one
 * the server belongs to, or NULL. p: scratch. */
md_reg_state_t *mod_md_host_state(const mod_md_runtime_t *rt, const server_rec *s,
                                  const char *host, apr_pool_t *p);

/* Is this the configuration test run (apache2 -t / the first config pass)? */
int mod_md_runtime_dry_run(void);

#endif /* mod_md_runtime_h */
