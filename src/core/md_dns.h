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

/* Is s an IPv4 or IPv6 address in text form (an ACME "ip" identifier)? */
int md_dns_is_ip(const char *s);

/* The reverse-DNS name of an IP address, as tls-alpn-01 uses it for SNI
 * (RFC 8738 §6): "4.3.2.1.in-addr.arpa", or the 32 nibbles + ".ip6.arpa";
 * NULL if ip is no address. From p. */
const char *md_dns_ip_reverse_name(apr_pool_t *p, const char *ip);
/* The address (inet_ntop form, "::1") a reverse name stands for, or NULL
 * if name is not one. From p. */
const char *md_dns_ip_from_reverse_name(apr_pool_t *p, const char *name);

#endif /* md_dns_h */
