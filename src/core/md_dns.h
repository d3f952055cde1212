/* Grammar checks for the names we manage. */
#ifndef md_dns_h
#define md_dns_h

#include <apr_pools.h>

/* Is name a valid DNS host name for a certificate? Letters, digits and
 * hyphens in labels of 1..63 characters, no label starting or ending with a
 * hyphen, no empty labels (a single trailing dot is not allowed either),
 * total length <= 253, at least one dot unless allow_single_label.
 * If allow_wildcard, a leading "*." label is accepted.
 * On failure, *preason (if not NULL) is set to a static string saying why. */
int md_dns_is_name(const char *name, int allow_wildcard, int allow_single_label,
                   const char **preason);

int md_dns_is_wildcard(const char *name);

/* Does the (possibly wildcard) pattern match the host name? Case-insensitive. */
int md_dns_matches(const char *pattern, const char *name);

#endif /* md_dns_h */
