/* The registry: the managed domains of this configuration, matched with
 * what the store holds.
 *
 * Used by the parent in post_config (as root, no network): bring md.json in
 * the store up to date with the config, activate staged certificates,
 * assess each MD (is the certificate there, valid, covering all names, when
 * is it due for renewal), and provide files for mod_ssl: the real
 * certificate or a self-signed fallback. The child only reads the
 * assessments made here (inherited through fork).
 */
#ifndef md_reg_h
#define md_reg_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "md.h"
#include "md_sched.h"
#include "md_store.h"

struct md_credmemo_t;

/* What the parent found for one MD at start-up. */
typedef struct md_reg_state_t {
    const md_t *md;
    md_state_t state;
    const char *state_descr;     /* why not complete, or NULL */
    int has_cert;                /* a usable live certificate for at least one key
                                  * spec (present_specs), so no fallback */
    apr_time_t valid_from;       /* of the certificate that expires first */
    apr_time_t valid_until;
    apr_time_t renew_at;         /* when renewal is due; 0 now (also when a spec
                                  * is missing): md_sched_cert_renew_at */
    md_sched_why_t renew_why;    /* why then (window, short lifetime, a key type
                                  * missing, names not covered, no certificate,
                                  * expired) */
    apr_time_t warn_at;          /* MDWarnWindow starts (md_sched_warn_at), 0: no
                                  * certificate */
    int activated;               /* a staged set was made live at this start */
    apr_array_header_t *present_specs; /* md_pkey_spec_t*: specs with a usable live
                                  * certificate: these are handed to mod_ssl */
    apr_array_header_t *missing_specs; /* md_pkey_spec_t*: specs without one */
    apr_time_t present_renew_at; /* when the present certificates are due (0: none) */
    int watched;                 /* renewed when due: MDRenewMode always, or auto
                                  * (or manual) and a virtual host uses the MD, as
                                  * the stock module's "watched"; set by the caller */
    apr_array_header_t *live_certs; /* md_live_cert_t* (md_credmemo.h): each live
                                  * certificate that loaded, expired ones too, in
                                  * spec order: status and ARI read these instead
                                  * of parsing the files again */
} md_reg_state_t;

/* Store file names for a key spec, as the stock module names them:
 * "privkey.pem"/"pubcert.pem" for RSA (the default),
 * "privkey.<curve>.pem"/"pubcert.<curve>.pem" for EC with the curve as the
 * admin wrote it, in lower case ("privkey.p-256.pem"). Files are written
 * under these names. */
const char *md_reg_pkey_fname(const md_pkey_spec_t *spec, apr_pool_t *p);
const char *md_reg_cert_fname(const md_pkey_spec_t *spec, apr_pool_t *p);

/* The names under which group/name holds spec's key and certificate: the
 * names above, or those of another spelling of the same curve when only
 * that is there ("pubcert.secp256r1.pem" for a "P-256" spec). Readers use
 * this, so a store written by either module or config is found. Returns
 * whether the certificate is there (under *pcertname). */
int md_reg_find_fnames(const char **pkeyname, const char **pcertname, md_store_t *store,
                        md_store_group_t group, const char *name, const md_pkey_spec_t *spec,
                        apr_pool_t *p);

/* md.json for md, keeping the members of stored (the md.json in the store,
 * or NULL) that we never write: another module's (the stock one's). From p. */
json_t *md_reg_md_json(const md_t *md, json_t *stored, apr_pool_t *p);

/* Write domains/<md>/md.json from the configured md, keeping what the store
 * knew that the config does not say (account in use). */
apr_status_t md_reg_sync(md_store_t *store, md_t *md, apr_pool_t *p);
/* The same, skipping the read when memo (or NULL) knows md.json is in sync
 * with md as it is configured now. */
apr_status_t md_reg_sync_memo(md_store_t *store, md_t *md, struct md_credmemo_t *memo,
                              apr_pool_t *p);

/* Before syncing the configured mds (md_t* array) at start-up: an MD that
 * is new to the store takes over the stored MD its names moved from, as
 * in the stock module: when the first name of an MD changes, so does its
 * name, and domains/<old> (with staging/<old>) is renamed to the new name
 * if no configured MD has the old name and it shares names with the new
 * one (the one sharing most, if several). Nothing is ever deleted:
 * domains/ of MDs no longer configured stay, so adding one back reuses
 * its certificate. No network. */
apr_status_t md_reg_sync_renames(md_store_t *store, const apr_array_header_t *mds,
                                 apr_pool_t *ptemp);

/* Remove what no configured MD can use any more: staging/<name> of MDs no
 * longer configured and challenges/<domain> of names in no MD. */
apr_status_t md_reg_cleanup_stale(md_store_t *store, const apr_array_header_t *mds,
                                  apr_pool_t *ptemp);

/* Does staging/<name> hold a set to activate: a readable md.json and at
 * least one certificate with its key? A job.json that says "finished"
 * without one (a stock module's leftover, a crash, a hand edit) is not:
 * the renewal must run again rather than wait forever. */
int md_reg_staged_complete(md_store_t *store, const char *name, apr_pool_t *p);

/* If staging/<md> holds a finished set (md.json is there: the drive writes
 * it last), make it live: for every key spec the staged certificate and key
 * (covering all names, matching) or, for a spec that was not renewed, the
 * live ones; build that in tmp/ with plain keys, swap it into domains/ (the
 * old set to archive/) and clear staging. An unfinished staged set is left
 * alone; one that does not verify (see md_reg_staged_verify) is dropped
 * with an error logged.
 * *pactivated tells whether something was made live. */
apr_status_t md_reg_activate_staged(md_store_t *store, const md_t *md, int *pactivated,
                                    apr_pool_t *ptemp);

/* Longest certificate chain a staged set may have (ACME chains have 2-4). */
#define MD_REG_CHAIN_MAX    10

/* Would md_reg_activate_staged make the set staged for md live at now?
 * staging/ belongs to the server's User, so the parent asks this before it
 * restarts for a job.json that says finished (issue 11). A set verifies when
 * md.json is there and every staged key type has a private key (encrypted
 * with the store key, as only the renewal writes them) and a certificate
 * chain that match: the leaf has the key, covers the MD's names, is not
 * self-signed, not expired and not older than the live one; each
 * certificate is issued by the next one, at most MD_REG_CHAIN_MAX of them.
 * APR_SUCCESS if it verifies; APR_ENOENT if nothing (complete) is staged,
 * APR_EEXIST if it is live already, another error if it does not verify;
 * *pwhy says why not. Reads the store (decrypts keys), no network. */
apr_status_t md_reg_staged_verify(md_store_t *store, const md_t *md, apr_time_t now,
                                  const char **pwhy, apr_pool_t *p);

/* Assess the live certificate(s) of md at time now, one per key spec.
 * Never fails: problems end up in the state and its description. A spec
 * whose certificate is missing, broken or expired is in missing_specs; the
 * others are served. */
void md_reg_assess(md_reg_state_t *st, md_store_t *store, const md_t *md, apr_time_t now,
                   apr_pool_t *p);
/* The same, parsing only the certificates and keys whose bytes memo has not
 * seen (NULL: parse all). */
void md_reg_assess_memo(md_reg_state_t *st, md_store_t *store, const md_t *md, apr_time_t now,
                        struct md_credmemo_t *memo, apr_pool_t *p);

/* The key specs the next renewal at time now must order: NULL for all of
 * them (the present certificates are due too), else only the missing ones
 * (adding a key type keeps the certificates there are). */
const apr_array_header_t *md_reg_specs_to_renew(const md_reg_state_t *st, apr_time_t now);

/* Paths of the live key and certificate for a key spec (for mod_ssl). */
apr_status_t md_reg_cred_files(const char **pkeyfile, const char **pcertfile,
                               md_store_t *store, const md_t *md,
                               const md_pkey_spec_t *spec, apr_pool_t *p);

/* The key that signs every fallback certificate of a type: EC (P-256, from
 * the store's base fallback-privkey.pem, root-only) for MD_PKEY_TYPE_EC,
 * RSA 2048 (fallback-privkey.rsa.pem) for the others; made and saved there
 * when missing or unreadable (RSA: once per store, it is slow to make).
 * md_reg_fallback_key is the EC one. */
apr_status_t md_reg_fallback_key_of(md_pkey_t **pkey, md_store_t *store, md_pkey_type_t type,
                                    apr_pool_t *p);
apr_status_t md_reg_fallback_key(md_pkey_t **pkey, md_store_t *store, apr_pool_t *p);

/* Paths of a self-signed fallback certificate for md, signed with the
 * shared fallback key of its type (from md_reg_fallback_key_of): EC in
 * fallback-pubcert.pem, RSA in fallback-pubcert.rsa.pem; created (or
 * refreshed when names changed or it expires within a day) as needed.
 * Fallback certificates are saved MD_STORE_VOLATILE: they are made again if
 * lost. memo (or NULL) spares parsing a certificate it has seen. */
apr_status_t md_reg_fallback_files(const char **pkeyfile, const char **pcertfile,
                                   md_store_t *store, const md_t *md, md_pkey_t *fallback_key,
                                   struct md_credmemo_t *memo, apr_pool_t *p);

#endif /* md_reg_h */
