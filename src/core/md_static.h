/* MDs with static certificates: MDCertificateFile / MDCertificateKeyFile
 * name files the admin provides (bought elsewhere, made by another tool).
 * The module serves them, shows them in every status output and does not
 * renew them, unless MDRenewMode is "always": then it also obtains
 * certificates from the CA into the store as for any MD (when the static
 * ones enter their renew window), so a site can move over by dropping the
 * MDCertificateFile lines.
 *
 * The files may be readable by root only: read them in the parent
 * (post_config), never in a child.
 */
#ifndef md_static_h
#define md_static_h

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "md.h"
#include "md_reg.h"
#include "md_store.h"

/* Does md take its certificates from files? */
int md_static_is(const md_t *md);

/* The certificate chain (md_cert_t*, leaf first) in a PEM file. APR_ENOENT
 * when the file is missing, APR_EINVAL when it holds no certificate or is
 * larger than MD_STORE_MAX_VALUE_LEN. */
apr_status_t md_static_load_chain(apr_array_header_t **pchain, const char *fname,
                                  apr_pool_t *p);

/* Assess the static files of md at time now, like md_reg_assess does for
 * the store: every certificate must be readable, match its key (when the
 * key file is readable without a passphrase) and cover all names of md.
 * st->renew_at follows md's renew window over the certificate that expires
 * first, with the rules for certificates from the CA (md_sched_cert_renew_at:
 * short lifetimes renew at half of it); with MDRenewMode always and a valid certificate from the CA in the
 * store, that one's renew time counts instead, so the CA certificate is
 * renewed on its own schedule. Never fails: problems go into st. */
void md_static_assess(md_reg_state_t *st, md_store_t *store, const md_t *md, apr_time_t now,
                      apr_pool_t *p);

#endif /* md_static_h */
