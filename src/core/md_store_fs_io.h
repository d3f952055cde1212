/* Internal to the file-system store (md_store_fs*.c): POSIX file helpers.
 *
 * Everything below the store's base directory is reached relative to an
 * open directory (md_fsio_dir_t), one name at a time, never following a
 * symbolic link at that name (openat O_NOFOLLOW, fstatat/fchownat/unlinkat
 * AT_SYMLINK_NOFOLLOW). accounts/, challenges/ and staging/ belong to the
 * server's User, who may be hostile, while the parent works in them as
 * root: a directory swapped for a symlink between two of our calls then
 * makes the second one fail, never reach outside the store (issue 11;
 * STYLE §19). Files are opened O_NONBLOCK and fstat-ed before they are
 * read, so a FIFO never blocks us.
 *
 * Results and scratch come from p. Errors are APR codes made from errno
 * (APR_ENOENT for a missing name); a symbolic link where a directory or a
 * value should be is logged and gives APR_FROM_OS_ERROR(ELOOP).
 */
#ifndef md_store_fs_io_h
#define md_store_fs_io_h

#include <sys/stat.h>
#include <sys/types.h>

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

/* Depth of recursive removal and chown: items hold files, nothing deeper
 * than a few levels; a deeper tree is not ours. */
#define MD_FSIO_MAX_DEPTH   8

/* Most entries read from one directory that the server's User may fill
 * (max_entries of md_fsio_dir_t): a User who makes millions of them costs
 * the root parent no more than this per listing, in time and memory (about
 * 0.1 s and 5 MB measured in a directory of a million long names; all of
 * it: 10 s and 240 MB). Above what the store itself puts there: an entry
 * per MD in renewal, domain name in validation or account in a group
 * directory, a few files in an item's. */
#define MD_FSIO_USER_DIR_MAX    10000

/* An open directory. The descriptor is closed when the pool it was opened
 * with is cleared; path is for messages (and the test hook) only and is
 * never opened again by name. */
typedef struct md_fsio_dir_t {
    int fd;
    const char *path;
    int max_entries;    /* > 0: read at most this many entries (a directory of
                         * User's, md_fsio_dir_limit); inherited by the
                         * directories opened in it */
} md_fsio_dir_t;

/* errno of the last failed call as an APR status (never APR_SUCCESS). */
apr_status_t md_fsio_err(void);

/* Overwrite a buffer that held secrets (not optimized away). */
void md_fsio_cleanse(void *buf, size_t len);

/* Open the directory name in parent. With parent NULL, name is a path that
 * is trusted as a whole (the store's base, which the admin may have made a
 * link); otherwise a link at name is refused. APR_ENOTDIR for something
 * that is not a directory. */
apr_status_t md_fsio_dir_open(md_fsio_dir_t **pdir, const md_fsio_dir_t *parent,
                              const char *name, apr_pool_t *p);

/* The same, creating the directory with exactly mode (umask notwithstanding)
 * when it is missing; an existing directory is left as it is. */
apr_status_t md_fsio_dir_make(md_fsio_dir_t **pdir, const md_fsio_dir_t *parent,
                              const char *name, mode_t mode, apr_pool_t *p);

/* Mark dir as one the server's User may fill: listings in it and in the
 * directories opened in it read at most md_fsio_user_dir_max() entries;
 * the rest is skipped with an error naming the directory (MD05202). */
void md_fsio_dir_limit(md_fsio_dir_t *dir);

/* The cap md_fsio_dir_limit applies: MD_FSIO_USER_DIR_MAX, unless a test
 * set another (n > 0) to try it with few entries. */
int md_fsio_user_dir_max(void);
void md_fsio_set_user_dir_max(int n);

/* fsync a directory, making renames and creations in it durable. */
apr_status_t md_fsio_dir_sync(const md_fsio_dir_t *dir);

/* lstat of name in dir (a link is reported as a link). */
apr_status_t md_fsio_stat(struct stat *st, const md_fsio_dir_t *dir, const char *name);

/* Write data to name in dir atomically and (if durable) durably: a new temp
 * file created with mode, written, fsynced, then renamed over the target
 * (replace) or hard-linked to it (!replace: APR_EEXIST if the target
 * exists, which stays untouched); then dir is fsynced. Without durable both
 * fsyncs are skipped: still atomic for readers, but a crash may lose the
 * value. A failure leaves no temp file behind. Temp names start with '.'. */
apr_status_t md_fsio_write_atomic(const md_fsio_dir_t *dir, const char *name, const char *data,
                                  apr_size_t len, mode_t mode, int replace, int durable,
                                  apr_pool_t *p);

/* Read the whole regular file name in dir, at most max_len bytes. Opened
 * O_NOFOLLOW|O_NONBLOCK and fstat-ed first: a link, a FIFO or anything else
 * but a regular file, and a file larger than max_len, give an error
 * (APR_EINVAL, logged) without reading or waiting. *pdata is
 * NUL-terminated, not counted in *plen. */
apr_status_t md_fsio_read(char **pdata, apr_size_t *plen, const md_fsio_dir_t *dir,
                          const char *name, apr_size_t max_len, apr_pool_t *p);

/* Remove name in dir and, if a directory, everything in it, up to depth
 * levels. Links are removed, never followed. */
apr_status_t md_fsio_rm_tree(const md_fsio_dir_t *dir, const char *name, int depth,
                             apr_pool_t *p);

/* Sorted names (const char*) of the directories (want_dirs) or regular
 * files in dir; links and names starting with '.' are left out. Like every
 * listing here, of at most dir->max_entries entries when that is set. */
apr_status_t md_fsio_list(apr_array_header_t **pnames, const md_fsio_dir_t *dir,
                          int want_dirs, apr_pool_t *p);

/* Names in dir starting with prefix, whatever they are (links included). */
apr_status_t md_fsio_list_prefixed(apr_array_header_t **pnames, const md_fsio_dir_t *dir,
                                   const char *prefix, apr_pool_t *p);

/* 12 random hex digits, for unique names. */
const char *md_fsio_rnd_hex(apr_pool_t *p);

/* Change the owner of dir and of everything under it, up to depth levels.
 * Only what belongs to the store alone is changed: directories, and files
 * and links with no other name (a hard link to a file elsewhere is left
 * alone and logged). Every entry is tried; the first failure is returned. */
apr_status_t md_fsio_chown_tree(const md_fsio_dir_t *dir, uid_t uid, gid_t gid, int depth,
                                apr_pool_t *p);

/* Rename from_name in from to to_name in to. noreplace: APR_EEXIST if
 * to_name exists (checked, then renamed, where the file system cannot do
 * it in one step). */
apr_status_t md_fsio_rename(const md_fsio_dir_t *from, const char *from_name,
                            const md_fsio_dir_t *to, const char *to_name, int noreplace);

/* Swap two existing names in one step (renameat2 RENAME_EXCHANGE), both
 * directories then fsynced. APR_ENOTIMPL where the file system cannot
 * (the caller falls back to two renames). */
apr_status_t md_fsio_exchange(const md_fsio_dir_t *dir_a, const char *a,
                              const md_fsio_dir_t *dir_b, const char *b);

/* Called for each regular file md_fsio_copy_dir copies: may replace
 * the data and its length (allocated from p); APR_ENOENT skips the file, any other
 * error ends the copy. */
typedef apr_status_t md_fsio_copy_fn(void *baton, const char *name, const char **pdata,
                                     apr_size_t *plen, apr_pool_t *p);

/* Copy the regular files directly in src (names starting with '.' left
 * out) into the new directory dst_name in dst_parent (made with dir_mode;
 * APR_EEXIST if it exists), each written atomically with file_mode, at most
 * max_len bytes each. fn may be NULL. On failure the new directory is
 * removed again. */
apr_status_t md_fsio_copy_dir(const md_fsio_dir_t *src, const md_fsio_dir_t *dst_parent,
                              const char *dst_name, mode_t dir_mode, mode_t file_mode,
                              apr_size_t max_len, md_fsio_copy_fn *fn, void *baton,
                              apr_pool_t *p);

/* Take an exclusive fcntl lock on name in dir (a regular file, created
 * 0600 if missing, never through a link), trying until max_wait has
 * passed: APR_TIMEUP then. *pfd is the open lock file. */
apr_status_t md_fsio_lock(int *pfd, const md_fsio_dir_t *dir, const char *name,
                          apr_interval_time_t max_wait, apr_pool_t *p);
/* Release the lock and close fd. */
void md_fsio_unlock(int fd);

#endif /* md_store_fs_io_h */
