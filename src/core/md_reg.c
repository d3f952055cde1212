/* The registry: config MDs matched with the store, activation of staged
 * certificates, assessment and the files handed to mod_ssl. Parent only. */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "md.h"
#include "md_credmemo.h"
#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_reg.h"
#include "md_testhook.h"
#include "md_util.h"

#define FALLBACK_VALID_FOR    apr_time_from_sec(30 * MD_SECS_PER_DAY)
#define FALLBACK_MIN_LEFT     apr_time_from_sec(MD_SECS_PER_DAY)

static int is_default_spec(const md_pkey_spec_t *spec)
{
    return !spec || spec->type != MD_PKEY_TYPE_EC;
}

const char *md_reg_pkey_fname(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    if (is_default_spec(spec)) {
        return MD_FN_PRIVKEY;
    }
    return apr_psprintf(p, "privkey.%s.pem", md_pkey_spec_fname_part(spec, p));
}

const char *md_reg_cert_fname(const md_pkey_spec_t *spec, apr_pool_t *p)
{
    if (is_default_spec(spec)) {
        return MD_FN_PUBCERT;
    }
    return apr_psprintf(p, "pubcert.%s.pem", md_pkey_spec_fname_part(spec, p));
}

int md_reg_find_fnames(const char **pkeyname, const char **pcertname, md_store_t *store,
                       md_store_group_t group, const char *name, const md_pkey_spec_t *spec,
                       apr_pool_t *p)
{
    apr_array_header_t *parts;
    int i;

    *pkeyname = md_reg_pkey_fname(spec, p);
    *pcertname = md_reg_cert_fname(spec, p);
    if (md_store_exists(store, group, name, *pcertname, p)) {
        return 1;
    }
    if (is_default_spec(spec)) {
        return 0;
    }
    /* Another spelling of the same curve (P-256 and secp256r1): the store
     * of another module, or of an older config. */
    parts = md_pkey_spec_fname_parts(spec, p);
    for (i = 1; i < parts->nelts; ++i) {
        const char *part = MD_ARR_IDX(parts, i, const char *);
        const char *cert = apr_psprintf(p, "pubcert.%s.pem", part);

        if (md_store_exists(store, group, name, cert, p)) {
            *pcertname = cert;
            *pkeyname = apr_psprintf(p, "privkey.%s.pem", part);
            return 1;
        }
    }
    return 0;
}

/* md.json members md_to_json may write (top level and in "ca"): the values
 * of the config, also when the config no longer sets them (then they go).
 * Members not listed (another module's) are kept. "pkey" is what our first
 * releases called "privkey". */
static const char *const MD_KNOWN[] = {
    MD_KEY_NAME, MD_KEY_DOMAINS, MD_KEY_CONTACTS, MD_KEY_TRANSITIVE, MD_KEY_CA, MD_KEY_PKEY,
    MD_KEY_PKEY_OLD, MD_KEY_STATE, MD_KEY_STATE_DESCR, MD_KEY_RENEW_MODE, MD_KEY_RENEW_WINDOW,
    MD_KEY_WARN_WINDOW, MD_KEY_MUST_STAPLE, MD_KEY_REQUIRE_HTTPS, MD_KEY_PROTO,
    MD_KEY_STAPLING, MD_KEY_PROFILE_MANDATORY, MD_KEY_ARI_RENEWALS,
    /* written only when set: an unset one must not come back from the store */
    MD_KEY_PROFILE, MD_KEY_PROXY_URL, MD_KEY_PROXY_CA_CERTS, MD_KEY_CA_CERTS, MD_KEY_EAB,
    MD_KEY_CMD_DNS01, MD_KEY_CMD_DNS01_VERSION, MD_KEY_CERT_FILES, MD_KEY_PKEY_FILES, NULL
};
static const char *const MD_CA_KNOWN[] = {
    MD_KEY_ACCOUNT, MD_KEY_PROTO, MD_KEY_URL, MD_KEY_URLS, MD_KEY_AGREEMENT,
    MD_KEY_CHALLENGES, MD_KEY_EAB, NULL
};

static int listed(const char *const *keys, const char *key)
{
    int i;

    for (i = 0; keys[i]; ++i) {
        if (!strcmp(keys[i], key)) {
            return 1;
        }
    }
    return 0;
}

/* Copy the members of from that keys does not list into to (which must
 * not have them yet). */
static void keep_unlisted(json_t *to, json_t *from, const char *const *keys)
{
    const char *key;
    json_t *v;

    json_object_foreach(from, key, v) {
        if (!listed(keys, key) && !json_object_get(to, key)) {
            json_object_set(to, key, v);
        }
    }
}

json_t *md_reg_md_json(const md_t *md, json_t *stored, apr_pool_t *p)
{
    json_t *now = md_to_json(md, p);

    if (now && json_is_object(stored)) {
        json_t *ca_now = json_object_get(now, MD_KEY_CA);
        json_t *ca_old = json_object_get(stored, MD_KEY_CA);

        keep_unlisted(now, stored, MD_KNOWN);
        if (json_is_object(ca_now) && json_is_object(ca_old)) {
            keep_unlisted(ca_now, ca_old, MD_CA_KNOWN);
        }
    }
    return now;
}

/* The config does not say which account is in use, nor which of its CAs;
 * the store does. */
static void learn(md_t *md, const char *account, const char *effective, apr_pool_t *p)
{
    if (!md->ca_account && account) {
        md->ca_account = apr_pstrdup(p, account);
    }
    if (!md->ca_effective && effective && md_array_str_index(md->ca_urls, effective, 0, 1) >= 0) {
        md->ca_effective = apr_pstrdup(p, effective);
    }
}

/* The digest of md as configured, before sync learns anything into it;
 * NULL without a memo that keeps sync records. */
static const char *config_digest(const md_t *md, md_credmemo_t *memo, apr_pool_t *p)
{
    const char *digest;

    if (!memo || !md_credmemo_keeps_synced(memo)
        || md_crypt_sha256_json_b64url(&digest, md_to_json(md, p), p) != APR_SUCCESS) {
        return NULL;
    }
    return digest;
}

/* The memo's name for md.json's bytes as the store holds them now and md as
 * configured (config, from config_digest): what sync does depends on these
 * two only. The digest of md.json comes from the memo while the file's
 * version stays, else from reading it (a file just written has no version
 * yet: hashing it costs a fraction of parsing it). NULL when there is no
 * md.json or no config digest. */
static const char *sync_key(md_store_t *store, const md_t *md, const char *config,
                            md_credmemo_t *memo, apr_pool_t *p)
{
    const char *file;

    if (!config
        || !(file = md_credmemo_file_digest(memo, store, MD_SG_DOMAINS, md->name, MD_FN_MD, p))) {
        return NULL;
    }
    return apr_pstrcat(p, file, " ", config, NULL);
}

/* What sync learns is kept in md (from p); everything it reads and makes on
 * the way goes with a pool of its own: with thousands of MDs, md.json's
 * text and JSON kept in the config pool until the next pass were most of
 * the parent's memory beyond mod_ssl's (issue 13). With a memo, md.json is
 * parsed only when its bytes or the configured md changed since a pass
 * found the two in sync, or wrote md.json from md. */
apr_status_t md_reg_sync_memo(md_store_t *store, md_t *md, md_credmemo_t *memo, apr_pool_t *p)
{
    json_t *stored = NULL;
    json_t *now;
    md_t *old = NULL;
    apr_pool_t *ptemp;
    const char *config, *key, *account = NULL, *effective = NULL;
    apr_status_t rv;

    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    config = config_digest(md, memo, ptemp);
    key = sync_key(store, md, config, memo, ptemp);
    if (key && md_credmemo_synced(memo, key, &account, &effective)) {
        learn(md, account, effective, p);
        apr_pool_destroy(ptemp);
        return APR_SUCCESS;
    }
    rv = md_store_load_json(store, MD_SG_DOMAINS, md->name, MD_FN_MD, &stored, ptemp);
    if (rv == APR_SUCCESS) {
        const char *fname = NULL;

        md_store_get_fname(store, MD_SG_DOMAINS, md->name, MD_FN_MD, &fname, ptemp);
        if (md_from_json(&old, stored, fname, ptemp) == APR_SUCCESS) {
            account = old->ca_account;
            effective = old->ca_effective;
            learn(md, account, effective, p);
        }
    }
    else if (rv != APR_ENOENT) {
        /* Unreadable md.json: the store named the file. Keep a copy for the
         * admin to look at; the configuration is what counts. */
        const char *text = NULL;

        if (md_store_load_text(store, MD_SG_DOMAINS, md->name, MD_FN_MD, &text, ptemp)
            == APR_SUCCESS) {
            md_store_save_text(store, MD_SG_DOMAINS, md->name, MD_FN_MD_BAD, text, ptemp);
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, ptemp,
                      "MD07001: %s: replacing unreadable md.json with the configuration "
                      "(the old one is kept as %s)", md->name, MD_FN_MD_BAD);
    }

    now = md_reg_md_json(md, stored, ptemp);
    if (!stored) {
        /* A new MD: nothing is lost with it that the next start would not
         * write again from the config. An md.json that holds what the store
         * learned (the account) is replaced durably. */
        rv = md_store_save_json_volatile(store, MD_SG_DOMAINS, md->name, MD_FN_MD, now, ptemp);
    }
    else if (!json_equal(stored, now)) {
        rv = md_store_save_json(store, MD_SG_DOMAINS, md->name, MD_FN_MD, now, ptemp);
    }
    else {
        /* In sync as it was read: key still names this md.json. */
        if (key && old) {
            md_credmemo_set_synced(memo, key, account, effective);
        }
        apr_pool_destroy(ptemp);
        return APR_SUCCESS;
    }
    if (rv == APR_SUCCESS && (key = sync_key(store, md, config, memo, ptemp)) != NULL) {
        /* Written from md: read back, it gives what md holds now. */
        md_credmemo_set_synced(memo, key, md->ca_account, md->ca_effective);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

apr_status_t md_reg_sync(md_store_t *store, md_t *md, apr_pool_t *p)
{
    return md_reg_sync_memo(store, md, NULL, p);
}

/* --- renamed and removed MDs ------------------------------------------------ */

static const md_t *configured(const apr_array_header_t *mds, const char *name)
{
    int i;

    for (i = 0; i < mds->nelts; ++i) {
        const md_t *md = MD_ARR_IDX(mds, i, const md_t *);
        if (!strcmp(md->name, name)) {
            return md;
        }
    }
    return NULL;
}

static int shared_names(const md_t *a, const md_t *b)
{
    int i, n = 0;

    for (i = 0; i < a->domains->nelts; ++i) {
        if (md_array_str_index(b->domains, MD_ARR_IDX(a->domains, i, const char *), 0, 0)
            >= 0) {
            ++n;
        }
    }
    return n;
}

/* The stored MD (not configured, not taken yet) that shares most names
 * with md, or NULL. */
static const char *rename_source(md_store_t *store, const md_t *md,
                                 const apr_array_header_t *mds,
                                 const apr_array_header_t *stored, apr_hash_t *taken,
                                 apr_pool_t *p)
{
    const char *best = NULL;
    int i, best_n = 0;

    for (i = 0; i < stored->nelts; ++i) {
        const char *name = MD_ARR_IDX(stored, i, const char *);
        const char *fname = NULL;
        json_t *j = NULL;
        md_t *old = NULL;
        int n;

        if (configured(mds, name) || apr_hash_get(taken, name, APR_HASH_KEY_STRING)
            || md_store_load_json(store, MD_SG_DOMAINS, name, MD_FN_MD, &j, p) != APR_SUCCESS) {
            continue;
        }
        md_store_get_fname(store, MD_SG_DOMAINS, name, MD_FN_MD, &fname, p);
        if (md_from_json(&old, j, fname, p) != APR_SUCCESS) {
            continue;
        }
        n = shared_names(md, old);
        if (n > best_n) {
            best = name;
            best_n = n;
        }
    }
    return best;
}

apr_status_t md_reg_sync_renames(md_store_t *store, const apr_array_header_t *mds,
                                 apr_pool_t *ptemp)
{
    apr_array_header_t *stored = NULL;
    apr_hash_t *taken = apr_hash_make(ptemp);
    apr_hash_t *in_store = apr_hash_make(ptemp);
    apr_status_t rv;
    int i;

    if ((rv = md_store_list(store, MD_SG_DOMAINS, &stored, ptemp)) != APR_SUCCESS) {
        return rv;
    }
    /* a set: thousands of MDs, each looked up */
    for (i = 0; i < stored->nelts; ++i) {
        apr_hash_set(in_store, MD_ARR_IDX(stored, i, const char *), APR_HASH_KEY_STRING, "");
    }
    for (i = 0; i < mds->nelts; ++i) {
        const md_t *md = MD_ARR_IDX(mds, i, const md_t *);
        const char *from;

        if (apr_hash_get(in_store, md->name, APR_HASH_KEY_STRING)) {
            continue;
        }
        from = rename_source(store, md, mds, stored, taken, ptemp);
        if (!from) {
            continue;
        }
        /* Keep going: one MD that cannot be renamed must not stop the others. */
        rv = md_store_rename(store, MD_SG_DOMAINS, from, md->name, ptemp);
        if (rv != APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD07010: %s: cannot rename the "
                          "stored MD %s to it", md->name, from);
            continue;
        }
        apr_hash_set(taken, apr_pstrdup(ptemp, from), APR_HASH_KEY_STRING, md);
        /* What was being worked on goes along; staging/<new> already
         * there wins (the child checks whether it fits the names). */
        rv = md_store_rename(store, MD_SG_STAGING, from, md->name, ptemp);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
            md_store_purge(store, MD_SG_STAGING, from, ptemp);
        }
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, ptemp, "MD07011: %s: renamed from %s in "
                      "the store: its first name changed, its certificate stays", md->name,
                      from);
    }
    return APR_SUCCESS;
}

static int in_some_md(const apr_array_header_t *mds, const char *domain)
{
    int i;

    for (i = 0; i < mds->nelts; ++i) {
        if (md_array_str_index(MD_ARR_IDX(mds, i, const md_t *)->domains, domain, 0, 0) >= 0) {
            return 1;
        }
    }
    return 0;
}

apr_status_t md_reg_cleanup_stale(md_store_t *store, const apr_array_header_t *mds,
                                  apr_pool_t *ptemp)
{
    apr_array_header_t *names = NULL;
    int i;

    if (md_store_list(store, MD_SG_STAGING, &names, ptemp) == APR_SUCCESS) {
        for (i = 0; i < names->nelts; ++i) {
            const char *name = MD_ARR_IDX(names, i, const char *);
            if (!configured(mds, name)) {
                md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, ptemp, "MD07012: staging/%s: no "
                              "such MD is configured any more, removing it", name);
                md_store_purge(store, MD_SG_STAGING, name, ptemp);
            }
        }
    }
    if (md_store_list(store, MD_SG_CHALLENGES, &names, ptemp) == APR_SUCCESS) {
        for (i = 0; i < names->nelts; ++i) {
            const char *name = MD_ARR_IDX(names, i, const char *);
            if (!in_some_md(mds, name)) {
                md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, ptemp, "MD07013: challenges/%s: "
                              "in no configured MD, removing it", name);
                md_store_purge(store, MD_SG_CHALLENGES, name, ptemp);
            }
        }
    }
    return APR_SUCCESS;
}

/* The certificate+key of one spec in group, checked against md. */
typedef struct {
    apr_array_header_t *chain;
    md_pkey_t *pkey;
} cred_t;

/* Load and check cred from the files kname and cname, as
 * md_reg_find_fnames names them. */
static apr_status_t load_cred_named(cred_t *cred, md_store_t *store, md_store_group_t group,
                                    const md_t *md, const md_pkey_spec_t *spec,
                                    const char *kname, const char *cname, int need_cover,
                                    const char **perr, apr_pool_t *p)
{
    const md_cert_t *leaf;
    apr_status_t rv;

    *perr = NULL;
    rv = md_store_load_certs(store, group, md->name, cname, &cred->chain, p);
    if (rv != APR_SUCCESS) {
        *perr = apr_psprintf(p, "certificate(%s) is missing", md_pkey_spec_name(spec));
        return rv;
    }
    rv = md_store_load_pkey(store, group, md->name, kname, &cred->pkey, p);
    if (rv != APR_SUCCESS) {
        *perr = apr_psprintf(p, "private key(%s) is missing or unreadable",
                             md_pkey_spec_name(spec));
        return rv;
    }
    leaf = MD_ARR_IDX(cred->chain, 0, const md_cert_t *);
    if (!md_cert_matches_key(leaf, cred->pkey)) {
        *perr = apr_psprintf(p, "certificate(%s) does not match its private key",
                             md_pkey_spec_name(spec));
        return APR_EINVAL;
    }
    if (need_cover && !md_cert_covers(leaf, md->domains)) {
        *perr = apr_psprintf(p, "certificate(%s) does not cover all domains",
                             md_pkey_spec_name(spec));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* The same from the files md_reg_find_fnames finds. */
static apr_status_t load_cred_ex(cred_t *cred, md_store_t *store, md_store_group_t group,
                                 const md_t *md, const md_pkey_spec_t *spec, int need_cover,
                                 const char **perr, apr_pool_t *p)
{
    const char *kname, *cname;

    md_reg_find_fnames(&kname, &cname, store, group, md->name, spec, p);
    return load_cred_named(cred, store, group, md, spec, kname, cname, need_cover, perr, p);
}

static apr_status_t load_cred(cred_t *cred, md_store_t *store, md_store_group_t group,
                              const md_t *md, const md_pkey_spec_t *spec, const char **perr,
                              apr_pool_t *p)
{
    return load_cred_ex(cred, store, group, md, spec, 1, perr, p);
}

/* The names of md that leaf lacks, for the admin. */
static const char *missing_names(const md_cert_t *leaf, const md_t *md, apr_pool_t *p)
{
    apr_array_header_t *one = apr_array_make(p, 1, sizeof(const char *));
    const char *missing = NULL;
    int i;

    for (i = 0; i < md->domains->nelts; ++i) {
        const char *name = MD_ARR_IDX(md->domains, i, const char *);
        apr_array_clear(one);
        APR_ARRAY_PUSH(one, const char *) = name;
        if (!md_cert_covers(leaf, one)) {
            missing = missing ? apr_pstrcat(p, missing, ", ", name, NULL) : name;
        }
    }
    return missing ? missing : "?";
}

static int same_cert(const md_cert_t *a, const md_cert_t *b, apr_pool_t *p)
{
    return !strcmp(md_cert_sha256_fingerprint(a, p), md_cert_sha256_fingerprint(b, p));
}

/* --- what may go live ------------------------------------------------------ */

/* staging/ belongs to the server's User: a set found there goes live (and
 * makes the parent restart) only when it is what a renewal makes. The
 * store gives keys only encrypted with the store key; here the chain: each
 * certificate issued by the next, the leaf not self-signed, not expired,
 * not older than the live one (an old set planted again), not absurdly long. */
static const char *chain_problem(const apr_array_header_t *chain, const cred_t *live,
                                 const md_pkey_spec_t *spec, apr_time_t now, apr_pool_t *p)
{
    const md_cert_t *leaf = MD_ARR_IDX(chain, 0, const md_cert_t *);
    const char *name = md_pkey_spec_name(spec);
    int i;

    if (chain->nelts > MD_REG_CHAIN_MAX) {
        return apr_psprintf(p, "certificate(%s) chain has %d certificates, at most %d are "
                            "taken", name, chain->nelts, MD_REG_CHAIN_MAX);
    }
    if (md_cert_issued_by(leaf, leaf)) {
        return apr_psprintf(p, "certificate(%s) is self-signed", name);
    }
    for (i = 0; i + 1 < chain->nelts; ++i) {
        if (!md_cert_issued_by(MD_ARR_IDX(chain, i, const md_cert_t *),
                               MD_ARR_IDX(chain, i + 1, const md_cert_t *))) {
            return apr_psprintf(p, "certificate(%s) chain is broken: certificate %d is not "
                                "issued by certificate %d", name, i + 1, i + 2);
        }
    }
    if (md_cert_valid_until(leaf) <= now) {
        return apr_psprintf(p, "certificate(%s) has expired", name);
    }
    if (live && live->chain
        && md_cert_valid_from(leaf) < md_cert_valid_from(MD_ARR_IDX(live->chain, 0,
                                                                    const md_cert_t *))) {
        return apr_psprintf(p, "certificate(%s) is older than the live one", name);
    }
    return NULL;
}

/* The set staged for md as activation takes it: per spec in creds the
 * staged credentials, or the live ones for a spec not staged (chain NULL
 * if neither). *pstaged counts the staged specs, *pall_live whether every
 * staged certificate is live already. An error (*perr says what) for a
 * staged spec that is missing a part or does not verify. */
static apr_status_t load_staged(cred_t *creds, int *pstaged, int *pall_live,
                                md_store_t *store, const md_t *md,
                                const apr_array_header_t *specs, apr_time_t now,
                                const char **perr, apr_pool_t *p)
{
    apr_status_t rv;
    int i;

    *pstaged = 0;
    *pall_live = 1;
    *perr = NULL;
    for (i = 0; i < specs->nelts; ++i) {
        const md_pkey_spec_t *spec = MD_ARR_IDX(specs, i, md_pkey_spec_t *);
        const char *err = NULL;
        cred_t live;
        int have_live;

        memset(&live, 0, sizeof(live));
        have_live = load_cred(&live, store, MD_SG_DOMAINS, md, spec, &err, p) == APR_SUCCESS;
        rv = load_cred(&creds[i], store, MD_SG_STAGING, md, spec, perr, p);
        if (APR_STATUS_IS_ENOENT(rv)) {
            /* Not renewed this time: the live one (if any) stays. */
            memset(&creds[i], 0, sizeof(creds[i]));
            *perr = NULL;
            if (have_live) {
                creds[i] = live;
            }
            continue;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if ((*perr = chain_problem(creds[i].chain, have_live ? &live : NULL, spec, now, p))) {
            return APR_EINVAL;
        }
        ++*pstaged;
        if (!have_live || !same_cert(MD_ARR_IDX(live.chain, 0, const md_cert_t *),
                                     MD_ARR_IDX(creds[i].chain, 0, const md_cert_t *), p)) {
            *pall_live = 0;
        }
    }
    return APR_SUCCESS;
}

apr_status_t md_reg_staged_verify(md_store_t *store, const md_t *md, apr_time_t now,
                                  const char **pwhy, apr_pool_t *p)
{
    const apr_array_header_t *specs = md_pkey_specs(md, p);
    cred_t *creds = apr_pcalloc(p, sizeof(*creds) * (apr_size_t)specs->nelts);
    int staged = 0;
    int all_live = 1;
    apr_status_t rv;

    *pwhy = NULL;
    if (!md_store_exists(store, MD_SG_STAGING, md->name, MD_FN_MD, p)) {
        *pwhy = "no md.json in the staged set";
        return APR_ENOENT;
    }
    rv = load_staged(creds, &staged, &all_live, store, md, specs, now, pwhy, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!staged) {
        *pwhy = "no certificate is staged";
        return APR_ENOENT;
    }
    if (all_live) {
        *pwhy = "the staged certificates are live already";
        return APR_EEXIST;
    }
    return APR_SUCCESS;
}

/* md as the child staged it: the config's md with the CA and account the
 * certificate came from. */
static const md_t *staged_md(md_store_t *store, const md_t *md, apr_pool_t *p)
{
    json_t *j = NULL;
    md_t *staged = NULL;
    md_t *copy;

    if (md_store_load_json(store, MD_SG_STAGING, md->name, MD_FN_MD, &j, p) != APR_SUCCESS
        || md_from_json(&staged, j, MD_FN_MD, p) != APR_SUCCESS) {
        return md;
    }
    copy = md_clone(p, md);
    if (staged->ca_account) {
        copy->ca_account = staged->ca_account;
    }
    if (staged->ca_effective) {
        copy->ca_effective = staged->ca_effective;
    }
    return copy;
}

/* "<prefix>-<nnnn>" -> "<prefix>-<nnnn+k>": another free account name. */
static const char *next_account_id(md_store_t *store, const char *id, apr_pool_t *p)
{
    const char *dash = strrchr(id, '-');
    const char *prefix = dash ? apr_pstrndup(p, id, (apr_size_t)(dash - id)) : id;
    int n;

    for (n = 0; n < 10000; ++n) {
        const char *cand = apr_psprintf(p, "%s-%04d", prefix, n);
        if (!md_store_exists(store, MD_SG_ACCOUNTS, cand, MD_FN_ACCOUNT, p)) {
            return cand;
        }
    }
    return NULL;
}

/* The stock module registers a new account in staging/<md>/ and its
 * parent moves it to accounts/ on activation: do the same, so a store
 * taken over between a stock renewal and its activation keeps using that
 * account. *pid is the account's name in accounts/ (it may differ from the
 * one the staged md.json names when that one is taken). */
static void import_staged_account(const char **pid, md_store_t *store, const md_t *md,
                                  apr_pool_t *ptemp)
{
    json_t *acct = NULL;
    json_t *have = NULL;
    md_pkey_t *key = NULL;
    const char *id = *pid;
    const char *url;

    if (!md_store_exists(store, MD_SG_STAGING, md->name, MD_FN_ACCOUNT, ptemp)
        || md_store_load_json(store, MD_SG_STAGING, md->name, MD_FN_ACCOUNT, &acct, ptemp)
           != APR_SUCCESS
        || !(url = md_json_get_str(acct, MD_KEY_URL))
        || md_store_load_pkey(store, MD_SG_STAGING, md->name, MD_FN_ACCT_KEY, &key, ptemp)
           != APR_SUCCESS) {
        return;
    }
    if (id && md_store_load_json(store, MD_SG_ACCOUNTS, id, MD_FN_ACCOUNT, &have, ptemp)
              == APR_SUCCESS) {
        const char *have_url = md_json_get_str(have, MD_KEY_URL);
        if (have_url && !strcmp(have_url, url)) {
            return;     /* there already (a crash after the import) */
        }
        id = next_account_id(store, id, ptemp);
    }
    if (!id) {
        id = next_account_id(store, "ACME-imported-0000", ptemp);
    }
    if (!id || md_store_save_pkey(store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY, key, ptemp)
               != APR_SUCCESS
        || md_store_save_json(store, MD_SG_ACCOUNTS, id, MD_FN_ACCOUNT, acct, ptemp)
           != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, ptemp, "MD07014: %s: could not keep "
                      "the ACME account staged with the certificate", md->name);
        return;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, ptemp, "MD07015: %s: the ACME account %s "
                  "staged with the certificate is now accounts/%s", md->name, url, id);
    *pid = id;
}

int md_reg_staged_complete(md_store_t *store, const char *name, apr_pool_t *p)
{
    apr_array_header_t *aspects;
    json_t *j = NULL;
    md_t *staged = NULL;
    int i;

    if (md_store_load_json(store, MD_SG_STAGING, name, MD_FN_MD, &j, p) != APR_SUCCESS
        || md_from_json(&staged, j, MD_FN_MD, p) != APR_SUCCESS
        || md_store_list_aspects(store, MD_SG_STAGING, name, &aspects, p) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < aspects->nelts; ++i) {
        const char *aspect = MD_ARR_IDX(aspects, i, const char *);

        if (!strncmp(aspect, "pubcert.", 8) && md_store_exists(store, MD_SG_STAGING, name,
                                                               apr_pstrcat(p, "privkey",
                                                                           aspect + 7, NULL),
                                                               p)) {
            return 1;
        }
    }
    return 0;
}

/* The staged keys and certificates in creds (one per spec, NULL chain
 * where nothing was staged) into tmp/, under the live file names. */
static apr_status_t save_tmp_creds(md_store_t *store, const md_t *md,
                                   const apr_array_header_t *specs, const cred_t *creds,
                                   apr_pool_t *ptemp)
{
    apr_status_t rv;
    int i;

    for (i = 0; i < specs->nelts; ++i) {
        const md_pkey_spec_t *spec = MD_ARR_IDX(specs, i, md_pkey_spec_t *);

        if (!creds[i].chain) {
            continue;
        }
        rv = md_store_save_pkey(store, MD_SG_TMP, md->name, md_reg_pkey_fname(spec, ptemp),
                                creds[i].pkey, ptemp);
        if (rv == APR_SUCCESS) {
            rv = md_store_save_certs(store, MD_SG_TMP, md->name,
                                     md_reg_cert_fname(spec, ptemp), creds[i].chain, ptemp);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* md.json into tmp/: md with the CA and account the staged certificate
 * came from (an account staged with it imported to accounts/ first), over
 * the live md.json so members we never write stay; the staged job.json
 * goes along when there is one. */
static apr_status_t save_tmp_md(md_store_t *store, const md_t *md, apr_pool_t *ptemp)
{
    json_t *live_json = NULL;
    json_t *job = NULL;
    const md_t *with_acct;
    apr_status_t rv;

    md_store_load_json(store, MD_SG_DOMAINS, md->name, MD_FN_MD, &live_json, ptemp);
    with_acct = staged_md(store, md, ptemp);
    if (md_store_exists(store, MD_SG_STAGING, md->name, MD_FN_ACCOUNT, ptemp)) {
        md_t *copy = md_clone(ptemp, with_acct);
        import_staged_account(&copy->ca_account, store, md, ptemp);
        with_acct = copy;
    }
    rv = md_store_save_json(store, MD_SG_TMP, md->name, MD_FN_MD,
                            md_reg_md_json(with_acct, live_json, ptemp), ptemp);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (md_store_load_json(store, MD_SG_STAGING, md->name, MD_FN_JOB, &job, ptemp)
        == APR_SUCCESS) {
        md_store_save_json(store, MD_SG_TMP, md->name, MD_FN_JOB, job, ptemp);
    }
    return APR_SUCCESS;
}

apr_status_t md_reg_activate_staged(md_store_t *store, const md_t *md, int *pactivated,
                                    apr_pool_t *ptemp)
{
    const apr_array_header_t *specs = md_pkey_specs(md, ptemp);
    cred_t *creds = apr_pcalloc(ptemp, sizeof(*creds) * (apr_size_t)specs->nelts);
    int all_live = 1, staged = 0;
    const char *err = NULL;
    apr_status_t rv;

    *pactivated = 0;
    if (!md_store_exists(store, MD_SG_STAGING, md->name, MD_FN_MD, ptemp)) {
        /* Nothing staged, or still being worked on by the child. */
        return APR_SUCCESS;
    }
    rv = load_staged(creds, &staged, &all_live, store, md, specs, apr_time_now(), &err, ptemp);
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp,
                      "MD07002: %s: staged set is unusable (%s), discarding it",
                      md->name, err ? err : "unreadable");
        md_store_purge(store, MD_SG_STAGING, md->name, ptemp);
        return rv;
    }
    if (!staged || all_live) {
        /* Nothing for this config, or a crash after the swap and before
         * staging was cleared: done already. */
        return md_store_purge(store, MD_SG_STAGING, md->name, ptemp);
    }

    /* Build the complete new set in tmp/, then swap it in with one move. */
    md_testhook_crash("activate", "begin");
    md_store_purge(store, MD_SG_TMP, md->name, ptemp);
    if ((rv = save_tmp_creds(store, md, specs, creds, ptemp)) != APR_SUCCESS
        || (rv = save_tmp_md(store, md, ptemp)) != APR_SUCCESS) {
        goto leave;
    }
    md_testhook_crash("activate", "tmp-built");
    rv = md_store_move(store, MD_SG_TMP, MD_SG_DOMAINS, md->name, 1, ptemp);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    md_testhook_crash("activate", "moved");
    *pactivated = 1;
    md_store_purge(store, MD_SG_STAGING, md->name, ptemp);
    md_testhook_crash("activate", "staging-purged");
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, ptemp,
                  "MD07003: %s: activated the new certificate", md->name);
leave:
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp,
                      "MD07004: %s: activating the staged certificate failed, "
                      "the previous one stays in use", md->name);
        md_store_purge(store, MD_SG_TMP, md->name, ptemp);
    }
    return rv;
}

/* The live certificate of spec: what the memo knows of it (md_credmemo.h),
 * parsing the files (and checking the leaf against its key) only when their
 * bytes are new. *pleaf is the parsed leaf when it was parsed, else NULL. */
static apr_status_t live_cert_entry(md_credmemo_entry_t **pentry, const md_cert_t **pleaf, md_store_t *store,
                                    const md_t *md, const md_pkey_spec_t *spec,
                                    md_credmemo_t *memo, const char **perr, apr_pool_t *p)
{
    const char *kname, *cname, *digest = NULL;
    cred_t cred;
    apr_status_t rv;

    *pentry = NULL;
    *pleaf = NULL;
    *perr = NULL;
    /* No certificate (a new MD): nothing to hash, the load says so. */
    if (md_reg_find_fnames(&kname, &cname, store, MD_SG_DOMAINS, md->name, spec, p)) {
        digest = md_credmemo_digest(memo, store, MD_SG_DOMAINS, md->name, kname, cname, p);
    }
    if (digest && (*pentry = md_credmemo_find(memo, digest)) != NULL) {
        return APR_SUCCESS;
    }
    rv = load_cred_named(&cred, store, MD_SG_DOMAINS, md, spec, kname, cname, 0, perr, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    *pleaf = MD_ARR_IDX(cred.chain, 0, const md_cert_t *);
    /* Read between the digest and the load: a file replaced in between is
     * parsed again next time. */
    *pentry = md_credmemo_add(memo, digest, *pleaf, p);
    return APR_SUCCESS;
}

/* The leaf of spec's live certificate, parsed. */
static const md_cert_t *live_leaf(md_store_t *store, const md_t *md, const md_pkey_spec_t *spec,
                                  apr_pool_t *p)
{
    const char *kname, *cname;
    apr_array_header_t *chain;

    md_reg_find_fnames(&kname, &cname, store, MD_SG_DOMAINS, md->name, spec, p);
    if (md_store_load_certs(store, MD_SG_DOMAINS, md->name, cname, &chain, p) != APR_SUCCESS) {
        return NULL;
    }
    return MD_ARR_IDX(chain, 0, const md_cert_t *);
}

/* Does the live certificate cover md's names? Asks the memo first. */
static int live_cert_covers(md_credmemo_entry_t *entry, const md_cert_t **pleaf, md_store_t *store,
                            const md_t *md, const md_pkey_spec_t *spec, md_credmemo_t *memo,
                            apr_pool_t *p)
{
    int covers = md_credmemo_covers(entry, md->domains, p);

    if (covers < 0) {
        if (!*pleaf && !(*pleaf = live_leaf(store, md, spec, p))) {
            return 0;
        }
        covers = md_cert_covers(*pleaf, md->domains);
        md_credmemo_set_covers(memo, entry, md->domains, covers, p);
    }
    return covers;
}

/* spec has a live certificate valid from..until, not expired: it is
 * present; the MD's validity and renewal time are the earliest of them. */
static void note_present(md_reg_state_t *st, const md_t *md, md_pkey_spec_t *spec,
                         apr_time_t from, apr_time_t until)
{
    apr_time_t renew_at;
    md_sched_why_t why;

    APR_ARRAY_PUSH(st->present_specs, md_pkey_spec_t *) = spec;
    if (!st->valid_until || until < st->valid_until) {
        st->valid_from = from;
        st->valid_until = until;
    }
    renew_at = md_sched_cert_renew_at(&md->renew_window, md->renew_window_set, from, until,
                                      &why);
    if (st->present_specs->nelts == 1 || renew_at < st->present_renew_at) {
        st->present_renew_at = renew_at;
        st->renew_why = why;
    }
}

/* The MD's state, and when and why it renews, from what the pass over its
 * nspecs specs found: expired of them expired, the first reason one is
 * missing, the first certificate that lacks names. */
static void assess_conclude(md_reg_state_t *st, const md_t *md, int nspecs, int expired,
                            const char *missing_descr, const char *uncovered_descr)
{
    if (uncovered_descr) {
        st->present_renew_at = 0;
        st->renew_why = MD_SCHED_NAMES;
    }
    st->has_cert = st->present_specs->nelts > 0;
    st->renew_at = st->missing_specs->nelts > 0 ? 0 : st->present_renew_at;
    if (!st->has_cert) {
        st->renew_why = expired == nspecs ? MD_SCHED_EXPIRED : MD_SCHED_NO_CERT;
    }
    else if (st->missing_specs->nelts > 0) {
        st->renew_why = MD_SCHED_KEY_MISSING;
    }
    if (st->has_cert) {
        st->warn_at = md_sched_warn_at(&md->warn_window, st->valid_from, st->valid_until);
    }
    st->state_descr = missing_descr ? missing_descr : uncovered_descr;
    if (st->missing_specs->nelts == 0 && !uncovered_descr) {
        st->state = MD_S_COMPLETE;
    }
    else if (expired == nspecs) {
        st->state = MD_S_EXPIRED;
    }
    else {
        st->state = MD_S_INCOMPLETE;
    }
}

void md_reg_assess_memo(md_reg_state_t *st, md_store_t *store, const md_t *md, apr_time_t now,
                        md_credmemo_t *memo, apr_pool_t *p)
{
    const apr_array_header_t *specs = md_pkey_specs(md, p);
    const char *missing_descr = NULL;
    const char *uncovered_descr = NULL;
    int expired = 0;
    int i;

    apr_pool_t *ptemp;

    if (!memo) {
        memo = md_credmemo_create(p);
    }
    apr_pool_create(&ptemp, p);
    memset(st, 0, sizeof(*st));
    st->md = md;
    st->present_specs = apr_array_make(p, specs->nelts, sizeof(md_pkey_spec_t *));
    st->missing_specs = apr_array_make(p, specs->nelts, sizeof(md_pkey_spec_t *));
    st->live_certs = apr_array_make(p, specs->nelts, sizeof(md_live_cert_t *));
    for (i = 0; i < specs->nelts; ++i) {
        md_pkey_spec_t *spec = MD_ARR_IDX(specs, i, md_pkey_spec_t *);
        const md_cert_t *leaf;
        const char *err;
        apr_time_t until;
        md_credmemo_entry_t *entry;

        /* what is read and parsed on the way goes with ptemp (cleared per
         * spec): p keeps only the results */
        apr_pool_clear(ptemp);
        if (live_cert_entry(&entry, &leaf, store, md, spec, memo, &err, ptemp)
            != APR_SUCCESS) {
            APR_ARRAY_PUSH(st->missing_specs, md_pkey_spec_t *) = spec;
            missing_descr = missing_descr ? missing_descr : apr_pstrdup(p, err);
            continue;
        }
        APR_ARRAY_PUSH(st->live_certs, md_live_cert_t *) =
            md_credmemo_live_cert(entry, md_pkey_spec_name(spec), p);
        until = md_credmemo_until(entry);
        if (until <= now) {
            APR_ARRAY_PUSH(st->missing_specs, md_pkey_spec_t *) = spec;
            missing_descr = missing_descr ? missing_descr
                          : apr_psprintf(p, "certificate(%s) has expired",
                                         md_pkey_spec_name(spec));
            ++expired;
            continue;
        }
        note_present(st, md, spec, md_credmemo_from(entry), until);
        if (!uncovered_descr && !live_cert_covers(entry, &leaf, store, md, spec, memo, ptemp)) {
            /* Names were added: keep serving it for the names it has (as
             * the stock module does) and get new ones for all specs now. */
            if (!leaf) {
                leaf = live_leaf(store, md, spec, ptemp);
            }
            uncovered_descr = apr_psprintf(p, "certificate(%s) does not cover %s",
                                           md_pkey_spec_name(spec),
                                           leaf ? missing_names(leaf, md, p) : "all names");
        }
    }
    apr_pool_destroy(ptemp);
    assess_conclude(st, md, specs->nelts, expired, missing_descr, uncovered_descr);
}

void md_reg_assess(md_reg_state_t *st, md_store_t *store, const md_t *md, apr_time_t now,
                   apr_pool_t *p)
{
    md_reg_assess_memo(st, store, md, now, NULL, p);
}

const apr_array_header_t *md_reg_specs_to_renew(const md_reg_state_t *st, apr_time_t now)
{
    if (st->missing_specs && st->missing_specs->nelts > 0 && st->has_cert
        && st->present_renew_at > now) {
        return st->missing_specs;
    }
    return NULL;
}

apr_status_t md_reg_cred_files(const char **pkeyfile, const char **pcertfile,
                               md_store_t *store, const md_t *md,
                               const md_pkey_spec_t *spec, apr_pool_t *p)
{
    const char *kname, *cname;
    apr_status_t rv;

    md_reg_find_fnames(&kname, &cname, store, MD_SG_DOMAINS, md->name, spec, p);
    rv = md_store_get_fname(store, MD_SG_DOMAINS, md->name, kname, pkeyfile, p);
    if (rv == APR_SUCCESS) {
        rv = md_store_get_fname(store, MD_SG_DOMAINS, md->name, cname, pcertfile, p);
    }
    return rv;
}

/* Fallbacks come in two types, so that every client finds one it can take
 * (as the stock module's, one per key spec): EC P-256 and RSA 2048, each with
 * a key shared by all MDs (RSA key generation is slow) and a certificate per
 * MD. The EC names are those of before there was an RSA fallback. */
static int fallback_rsa(md_pkey_type_t type)
{
    return type != MD_PKEY_TYPE_EC;
}

apr_status_t md_reg_fallback_key_of(md_pkey_t **pkey, md_store_t *store, md_pkey_type_t type,
                                    apr_pool_t *p)
{
    md_pkey_spec_t ec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_pkey_spec_t rsa = { MD_PKEY_TYPE_RSA, MD_PKEY_RSA_BITS_DEF, NULL };
    const char *fname = fallback_rsa(type) ? MD_FN_FALLBACK_PKEY_RSA : MD_FN_FALLBACK_PKEY;
    apr_status_t rv;

    rv = md_store_load_pkey(store, MD_SG_NONE, NULL, fname, pkey, p);
    if (rv != APR_SUCCESS || fallback_rsa(md_pkey_type(*pkey)) != fallback_rsa(type)) {
        rv = md_pkey_gen(pkey, p, fallback_rsa(type) ? &rsa : &ec);
        if (rv == APR_SUCCESS) {
            rv = md_store_save_pkey(store, MD_SG_NONE, NULL, fname, *pkey, p);
        }
    }
    if (rv == APR_SUCCESS) {
        /* It signs a certificate for every MD without one. */
        rv = md_pkey_prepare_pub(*pkey);
    }
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      "MD07006: cannot make the key for fallback certificates (%s)", fname);
    }
    return rv;
}

apr_status_t md_reg_fallback_key(md_pkey_t **pkey, md_store_t *store, apr_pool_t *p)
{
    return md_reg_fallback_key_of(pkey, store, MD_PKEY_TYPE_EC, p);
}

/* The memo's name for md's fallback cname: the digests of the shared key
 * (kd, the same for every MD) and of the certificate. NULL without kd or
 * the certificate. */
static const char *fallback_digest(md_store_t *store, const md_t *md, const char *kd,
                                   const char *cname, md_credmemo_t *memo, apr_pool_t *p)
{
    const char *cd;

    if (!kd || !(cd = md_credmemo_file_digest(memo, store, MD_SG_DOMAINS, md->name, cname, p))) {
        return NULL;
    }
    return apr_pstrcat(p, kd, ".", cd, NULL);
}

/* Is the fallback certificate cname in the store still good for md? The
 * key is the shared one, already in memory; the memo (if any, with kd the
 * key's digest) answers for bytes it has seen. */
static int fallback_usable(md_store_t *store, const md_t *md, const md_pkey_t *key,
                           const char *kd, const char *cname, md_credmemo_t *memo,
                           apr_pool_t *p)
{
    apr_array_header_t *chain;
    const md_cert_t *cert;
    const char *digest = memo ? fallback_digest(store, md, kd, cname, memo, p) : NULL;
    md_credmemo_entry_t *entry = digest ? md_credmemo_find(memo, digest) : NULL;
    apr_time_t min_until = apr_time_now() + FALLBACK_MIN_LEFT;
    int covers;

    if (entry && (covers = md_credmemo_covers(entry, md->domains, p)) >= 0) {
        return covers && md_credmemo_until(entry) > min_until;
    }
    if (memo && kd && !digest) {
        return 0;   /* the certificate could not be read (a new MD: not there) */
    }
    if (md_store_load_certs(store, MD_SG_DOMAINS, md->name, cname, &chain, p) != APR_SUCCESS) {
        return 0;
    }
    cert = MD_ARR_IDX(chain, 0, const md_cert_t *);
    if (!md_cert_matches_key(cert, key)) {
        return 0;
    }
    covers = md_cert_covers(cert, md->domains);
    if (memo && digest) {
        entry = entry ? entry : md_credmemo_add_validity(memo, digest, cert, p);
        md_credmemo_set_covers(memo, entry, md->domains, covers, p);
    }
    return covers && md_cert_valid_until(cert) > min_until;
}

/* A fallback just made is remembered as one found good would be: the next
 * pass (the daemon's, right after the dry run) need not parse it again. */
static void remember_fallback(md_store_t *store, const md_t *md, const md_cert_t *cert,
                              const char *kd, const char *cname, md_credmemo_t *memo,
                              apr_pool_t *p)
{
    const char *digest = memo ? fallback_digest(store, md, kd, cname, memo, p) : NULL;
    md_credmemo_entry_t *entry;

    if (digest && (entry = md_credmemo_add_validity(memo, digest, cert, p)) != NULL) {
        md_credmemo_set_covers(memo, entry, md->domains, 1, p);
    }
}

apr_status_t md_reg_fallback_files(const char **pkeyfile, const char **pcertfile,
                                   md_store_t *store, const md_t *md, md_pkey_t *fallback_key,
                                   md_credmemo_t *memo, apr_pool_t *p)
{
    int rsa = fallback_rsa(md_pkey_type(fallback_key));
    const char *kname = rsa ? MD_FN_FALLBACK_PKEY_RSA : MD_FN_FALLBACK_PKEY;
    const char *cname = rsa ? MD_FN_FALLBACK_CERT_RSA : MD_FN_FALLBACK_CERT;
    const char *kd = NULL;
    apr_pool_t *ptemp;
    apr_status_t rv = APR_SUCCESS;

    apr_pool_create(&ptemp, p);
    /* The shared key's digest, once per pass for all MDs. */
    if (memo) {
        kd = md_credmemo_base_digest(memo, store, kname);
    }
    if (!fallback_usable(store, md, fallback_key, kd, cname, memo, ptemp)) {
        md_cert_t *cert;
        apr_array_header_t *chain = apr_array_make(ptemp, 1, sizeof(md_cert_t *));

        rv = md_cert_self_sign(&cert, MD_ARR_IDX(md->domains, 0, const char *), md->domains,
                               fallback_key, FALLBACK_VALID_FOR, ptemp);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        APR_ARRAY_PUSH(chain, md_cert_t *) = cert;
        rv = md_store_save_certs_volatile(store, MD_SG_DOMAINS, md->name, cname, chain, ptemp);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        remember_fallback(store, md, cert, kd, cname, memo, ptemp);
    }
    rv = md_store_get_fname(store, MD_SG_NONE, NULL, kname, pkeyfile, p);
    if (rv == APR_SUCCESS) {
        rv = md_store_get_fname(store, MD_SG_DOMAINS, md->name, cname, pcertfile, p);
    }
leave:
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp,
                      "MD07005: %s: cannot create a fallback certificate (%s)", md->name,
                      rsa ? "RSA" : "EC");
    }
    apr_pool_destroy(ptemp);
    return rv;
}
