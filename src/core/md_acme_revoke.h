/* Certificate revocation (RFC 8555 §7.6) and what the store remembers of
 * it.
 *
 * After a2md revoked an MD's live certificate, staging/<md>/revoked.json
 * says so. The server's renewal (mod_md_drive.c) looks for it every
 * MD_SCHED_REVOKE_POLL (md_sched.h) and renews such an MD at once, whatever its renew window
 * says (not with MDRenewMode manual). The marker lives in staging/ so the
 * server's User can write and read it, survives failed attempts, and is
 * gone with staging/ when the new certificate is activated.
 */
#ifndef md_acme_revoke_h
#define md_acme_revoke_h

#include <apr_pools.h>
#include <apr_tables.h>
#include "md_acme.h"
#include "md_crypt.h"
#include "md_result.h"
#include "md_store.h"

/* No "reason" member in the request (the CA takes it as unspecified). */
#define MD_REVOKE_REASON_NONE   (-1)

/* A CRLReason (RFC 5280 §5.3.1) by name ("keyCompromise", case-insensitive)
 * or number: the ones a subscriber may give (not 2 cACompromise, 7, 8
 * removeFromCRL, 10 aACompromise). APR_EINVAL for anything else. */
apr_status_t md_acme_revoke_reason_parse(int *preason, const char *s);

/* The name of a reason code ("superseded"), "unspecified" for NONE. */
const char *md_acme_revoke_reason_name(int reason);

/* Ask the CA of acme to revoke cert. cert_key NULL: signed by the account
 * in use (acme->acct and acme->acct_key, kid header); else by the
 * certificate's own key (jwk header), for when the account is gone. reason
 * MD_REVOKE_REASON_NONE sends none. The CA saying the certificate is
 * revoked already (alreadyRevoked) is success. Errors as md_acme_post's,
 * result with the CA's problem. Network. */
apr_status_t md_acme_revoke_cert(md_acme_t *acme, const md_cert_t *cert, md_pkey_t *cert_key,
                                 int reason, md_result_t *result, apr_pool_t *p);

/* Write staging/<mdname>/revoked.json: {"revoked": [{"serial", "when",
 * "reason"}]} for the serials (const char*, hex) revoked now, added to
 * what an earlier mark said. */
apr_status_t md_acme_revoke_mark(md_store_t *store, const char *mdname,
                                 const apr_array_header_t *serials, int reason, apr_pool_t *p);

/* Is the live certificate of mdname marked revoked (the marker is there)? */
int md_acme_revoke_pending(md_store_t *store, const char *mdname, apr_pool_t *p);

#endif /* md_acme_revoke_h */
