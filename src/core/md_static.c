/* MDs with certificates from files the admin provides (see md_static.h). */
#include <string.h>

#include <apr_strings.h>

#include "md_conf.h"
#include "md_crypt.h"
#include "md_log.h"
#include "md_sched.h"
#include "md_static.h"
#include "md_util.h"

int md_static_is(const md_t *md)
{
    return md && md->cert_files && md->cert_files->nelts > 0;
}

/* What md_static_load_chain says of the file: too large is EINVAL. */
static apr_status_t read_file(char **pdata, apr_size_t *plen, const char *fname, apr_pool_t *p)
{
    apr_status_t rv = md_conf_file_read(pdata, plen, fname, MD_STORE_MAX_VALUE_LEN, p);

    return rv == APR_ENOSPC ? APR_EINVAL : rv;
}

apr_status_t md_static_load_chain(apr_array_header_t **pchain, const char *fname,
                                  apr_pool_t *p)
{
    char *pem = NULL;
    apr_size_t len = 0;
    apr_status_t rv;

    *pchain = NULL;
    rv = read_file(&pem, &len, fname, p);
    if (rv == APR_SUCCESS) {
        rv = md_certs_from_pem(pchain, pem, len, p);
        if (APR_STATUS_IS_ENOENT(rv)) {
            rv = APR_EINVAL;    /* the file is there, the certificate is not */
        }
    }
    return rv;
}

/* Problems with the key file the module cannot judge (encrypted for
 * mod_ssl's pass phrase dialog) are left to mod_ssl; a key that is
 * readable must match. */
static const char *check_key(const md_cert_t *leaf, const char *kfile, apr_pool_t *p)
{
    char *pem = NULL;
    apr_size_t len = 0;
    md_pkey_t *pkey;
    apr_status_t rv;

    rv = read_file(&pem, &len, kfile, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "key file %s is not readable", kfile);
    }
    rv = md_pkey_from_pem(&pkey, pem, len, NULL, 0, p);
    if (rv == APR_EACCES) {
        return NULL;
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "key file %s holds no private key", kfile);
    }
    if (!md_cert_matches_key(leaf, pkey)) {
        return apr_psprintf(p, "certificate and key in %s do not match", kfile);
    }
    return NULL;
}

void md_static_assess(md_reg_state_t *st, md_store_t *store, const md_t *md, apr_time_t now,
                      apr_pool_t *p)
{
    int i;

    memset(st, 0, sizeof(*st));
    st->md = md;
    st->state = MD_S_COMPLETE;
    st->has_cert = 1;
    for (i = 0; i < md->cert_files->nelts; ++i) {
        const char *cfile = MD_ARR_IDX(md->cert_files, i, const char *);
        const char *kfile = md->pkey_files && i < md->pkey_files->nelts
                            ? MD_ARR_IDX(md->pkey_files, i, const char *) : NULL;
        apr_array_header_t *chain;
        const md_cert_t *leaf = NULL;
        const char *err = NULL;
        apr_time_t from, until;

        if (md_static_load_chain(&chain, cfile, p) != APR_SUCCESS) {
            err = apr_psprintf(p, "certificate file %s is missing or holds no certificate",
                               cfile);
        }
        else {
            leaf = MD_ARR_IDX(chain, 0, const md_cert_t *);
            if (!kfile) {
                err = apr_psprintf(p, "certificate file %s has no key file", cfile);
            }
            else if (!(err = check_key(leaf, kfile, p)) && !md_cert_covers(leaf, md->domains)) {
                err = apr_psprintf(p, "certificate in %s does not cover all domains", cfile);
            }
        }
        if (err) {
            st->state = MD_S_ERROR;
            st->state_descr = err;
            st->has_cert = 0;
            st->renew_at = 0;
            st->renew_why = MD_SCHED_NO_CERT;
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                          "MD18001: %s: %s (MDCertificateFile)", md->name, err);
            return;
        }
        from = md_cert_valid_from(leaf);
        until = md_cert_valid_until(leaf);
        if (!st->valid_until || until < st->valid_until) {
            st->valid_from = from;
            st->valid_until = until;
            /* The same rules as for certificates from the CA. */
            st->renew_at = md_sched_cert_renew_at(&md->renew_window, md->renew_window_set,
                                                  from, until, &st->renew_why);
        }
        if (until <= now) {
            st->state = MD_S_EXPIRED;
            st->state_descr = apr_psprintf(p, "certificate in %s has expired", cfile);
            st->has_cert = 0;
            st->renew_why = MD_SCHED_EXPIRED;
        }
    }
    if (st->has_cert) {
        st->warn_at = md_sched_warn_at(&md->warn_window, st->valid_from, st->valid_until);
    }
    if (md->renew_mode == MD_RENEW_ALWAYS && store) {
        md_reg_state_t acme;

        md_reg_assess(&acme, store, md, now, p);
        if (acme.has_cert) {
            st->renew_at = acme.renew_at;
            st->renew_why = acme.renew_why;
        }
    }
}
