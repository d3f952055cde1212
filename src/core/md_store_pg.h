/* The PostgreSQL store: a cluster of servers shares one store in a
 * database (MDStoreBackend postgresql "<libpq connection string>"), each
 * server keeping its store key and a copy of the live certificates in its
 * own local directory (MDStoreDir) for mod_ssl.
 *
 * What it adds to the store interface (md_store.h): leases with epochs
 * kept in the database (one renewal per MD however many servers run),
 * fenced views whose writes fail once the lease was taken over, the list
 * of live sets changed by other servers, and the store lock as a lease.
 * Credentials come from the connection string and libpq's usual places
 * (PGPASSFILE, ~/.pgpass, sslmode, ...); the connection string is never
 * logged (only user, host, port and database are).
 *
 * Processes: open in the server's parent; children use the same store
 * object with connections of their own. Only the parent writes the local
 * directory.
 */
#ifndef md_store_pg_h
#define md_store_pg_h

#include <apr_pools.h>
#include "md_store.h"

/* Open the store in the database conninfo names, with the local directory
 * local_dir (created like a file store; its md_store.json holds the store
 * key). The database need not be reachable: the store then serves the
 * local copies and sets the database up when it comes (schema, the import
 * of the file store found in local_dir into an empty database, the store
 * key check). APR_EINVAL for a connection string libpq does not take. */
apr_status_t md_store_pg_open(md_store_t **pstore, apr_pool_t *p, const char *conninfo,
                              const char *local_dir);

/* NULL when conninfo is a usable connection string, else why not (from p). */
const char *md_store_pg_check(const char *conninfo, apr_pool_t *p);

#endif /* md_store_pg_h */
