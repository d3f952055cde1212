/* Internal to the file-system store (md_store_fs.c): POSIX file helpers.
 * Paths are plain strings; results and scratch come from p. Errors are
 * APR codes made from errno (APR_ENOENT for a missing path). */
#ifndef md_store_fs_io_h
#define md_store_fs_io_h

#include <sys/types.h>

#include <apr_pools.h>
#include <apr_tables.h>

/* Depth of recursive removal and chown: items hold files, nothing deeper
 * than a few levels; a deeper tree is not ours. */
#define MD_FSIO_MAX_DEPTH   8

/* errno of the last failed call as an APR status (never APR_SUCCESS). */
apr_status_t md_fsio_err(void);

/* Overwrite a buffer that held secrets (not optimized away). */
void md_fsio_cleanse(void *buf, size_t len);

/* Create a directory with exactly mode (umask notwithstanding); an existing
 * directory is fine and left as it is; APR_ENOTDIR for something else. */
apr_status_t md_fsio_mkdir(const char *path, mode_t mode, apr_pool_t *p);

/* fsync a directory, making renames and creations in it durable. */
apr_status_t md_fsio_sync_dir(const char *path);

/* Write data to dir/name atomically and (if durable) durably: a new temp
 * file in dir created with mode, written, fsynced, then renamed over the
 * target (replace) or hard-linked to it (!replace: APR_EEXIST if the target
 * exists, which stays untouched); then dir is fsynced. Without durable both
 * fsyncs are skipped: still atomic for readers, but a crash may lose the
 * value. A failure leaves no temp file behind. Temp names start with '.'. */
apr_status_t md_fsio_write_atomic(const char *dir, const char *name, const char *data,
                                  apr_size_t len, mode_t mode, int replace, int durable,
                                  apr_pool_t *p);

/* Read a whole regular file of at most max_len bytes (APR_EINVAL if larger
 * or not a regular file). *pdata is NUL-terminated, not counted in *plen. */
apr_status_t md_fsio_read(char **pdata, apr_size_t *plen, const char *path,
                          apr_size_t max_len, apr_pool_t *p);

/* Remove path and, if a directory, everything in it, up to depth levels.
 * Symbolic links are removed, never followed. */
apr_status_t md_fsio_rm_tree(const char *path, int depth, apr_pool_t *p);

/* Sorted names (const char*) of the directories (want_dirs) or regular
 * files in dir, symbolic links followed, names starting with '.' left out. */
apr_status_t md_fsio_list(apr_array_header_t **pnames, const char *dir, int want_dirs,
                          apr_pool_t *p);

/* 12 random hex digits, for unique names. */
const char *md_fsio_rnd_hex(apr_pool_t *p);

/* lchown path and everything under it; every entry is tried, failures are
 * logged and the first one returned. */
apr_status_t md_fsio_chown_tree(const char *path, uid_t uid, gid_t gid, int depth,
                                apr_pool_t *p);

/* Swap two existing paths in one step (renameat2 RENAME_EXCHANGE), both
 * directories then fsynced. APR_ENOTIMPL where the file system cannot
 * (the caller falls back to two renames). */
apr_status_t md_fsio_exchange(const char *a, const char *b, const char *dir_a,
                              const char *dir_b);

/* Called for each regular file md_fsio_copy_dir copies: may replace
 * the data and its length (allocated from p); APR_ENOENT skips the file, any other
 * error ends the copy. */
typedef apr_status_t md_fsio_copy_fn(void *baton, const char *name, const char **pdata,
                                     apr_size_t *plen, apr_pool_t *p);

/* Copy the regular files directly in src (names starting with '.' left
 * out) into the new directory dst (made with dir_mode; APR_EEXIST if it
 * exists), each written atomically with file_mode, at most max_len bytes
 * each. fn may be NULL. On failure dst is removed again. */
apr_status_t md_fsio_copy_dir(const char *src, const char *dst, mode_t dir_mode,
                              mode_t file_mode, apr_size_t max_len, md_fsio_copy_fn *fn,
                              void *baton, apr_pool_t *p);

/* Take an exclusive fcntl lock on path (created 0600 if missing), trying
 * until max_wait has passed: APR_TIMEUP then. *pfd is the open lock file. */
apr_status_t md_fsio_lock(int *pfd, const char *path, apr_interval_time_t max_wait,
                          apr_pool_t *p);
/* Release the lock and close fd. */
void md_fsio_unlock(int fd);

#endif /* md_store_fs_io_h */
