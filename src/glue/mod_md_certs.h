/* What mod_ssl serves for managed hosts: the MD's certificates, one per
 * key type with a usable one (ssl_add_cert_files), or, while there is none,
 * a self-signed fallback signed by one shared key
 * (ssl_add_fallback_cert_files), for which requests get 503. A virtual host
 * with SSL and names in two MDs can serve one certificate only: the start
 * is refused, as by the stock module.
 *
 * mod_ssl asks in its post_config, in the parent: the files in domains/
 * are root's. The 503 is answered in the children from the runtime
 * (read-only there).
 */
#ifndef mod_md_certs_h
#define mod_md_certs_h

void mod_md_certs_register_hooks(void);

#endif /* mod_md_certs_h */
