/* Which ACME challenge types can work for an MD, and in which order to
 * offer them to the CA's authorizations.
 *
 * MDCAChallenges chooses and orders them; without it the module takes what
 * the server can answer: http-01 when the port the CA reaches as 80 is
 * served, tls-alpn-01 when the one reached as 443 is served and a vhost of
 * the MD offers acme-tls/1, dns-01 when an MDChallengeDns01 program is set.
 * Wildcard names can only be validated by dns-01 (RFC 8555 §7.1.3).
 */
#ifndef md_challenges_h
#define md_challenges_h

#include <apr_pools.h>
#include <apr_tables.h>
#include "md.h"

/* Does the MD contain a wildcard name ("*.example.org")? */
int md_challenges_has_wildcard(const md_t *md);

/* The challenge types (const char*) to use for md, from p. http_served and
 * https_served tell whether the server listens where the CA's ports 80 and
 * 443 arrive (MDPortMap). APR_EINVAL with *pwhy (from p, a sentence naming
 * the MD and what is missing) when nothing can work, or when md has a
 * wildcard name and dns-01 is not possible. Pure: no I/O. */
apr_status_t md_challenges_select(apr_array_header_t **ptypes, const md_t *md,
                                  int http_served, int https_served, const char **pwhy,
                                  apr_pool_t *p);

/* The identifier values to clean challenges up for: the MD's names with a
 * leading "*." removed, each once. From p. */
apr_array_header_t *md_challenges_authz_names(const md_t *md, apr_pool_t *p);

#endif /* md_challenges_h */
