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

/* --- answering http-01 requests (RFC 8555 §8.3) --- */

#define MD_HTTP01_PATH_PREFIX    "/.well-known/acme-challenge/"
/* Tokens are base64url; longer ones are refused before any use. */
#define MD_HTTP01_TOKEN_MAX_LEN  256

/* Is this request an http-01 challenge, and for what? path is the request's
 * path, host its host name (an IPv6 literal in brackets, as the Host header
 * carries it, RFC 8738 §5). APR_ENOENT when path does not start with
 * MD_HTTP01_PATH_PREFIX (not a challenge); APR_EINVAL when it does but host
 * is neither a DNS name nor an IP address, or the token is not base64url of
 * at most MD_HTTP01_TOKEN_MAX_LEN characters (answer: not found); else
 * APR_SUCCESS with *pdomain (lower case, without brackets: the name of its
 * directory in the store's challenges/) and *ptoken, from p. Pure. */
apr_status_t md_challenges_http01_request(const char **pdomain, const char **ptoken,
                                          const char *host, const char *path, apr_pool_t *p);

/* Does key_authz (what challenges/<domain>/acme-http-01.txt holds) answer
 * token, i.e. is it "<token>.<account key thumbprint>"? */
int md_challenges_http01_answers(const char *key_authz, const char *token);

#endif /* md_challenges_h */
