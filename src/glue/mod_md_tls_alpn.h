/* tls-alpn-01 (RFC 8737): the acme-tls/1 protocol and the validation
 * handshake in the serving children (mod_md_tls_alpn.c). */
#ifndef mod_md_tls_alpn_h
#define mod_md_tls_alpn_h

/* Register the protocol, challenge-answer and connection hooks; called
 * from the module's register_hooks. */
void mod_md_tls_alpn_register_hooks(void);

#endif /* mod_md_tls_alpn_h */
