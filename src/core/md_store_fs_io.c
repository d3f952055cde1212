/* POSIX file helpers of the file-system store: atomic writes, bounded
 * reads, directory creation, listing, tree removal and chown, all relative
 * to open directories and never through a symbolic link (see
 * md_store_fs_io.h for why).
 *
 * Plain POSIX calls are used where APR has no equivalent or hides what we
 * need (the *at() family, O_EXCL with a mode, fsync of a directory).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* renameat2, O_PATH, AT_EMPTY_PATH */
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "md_log.h"
#include "md_store_fs_io.h"
#include "md_testhook.h"

/* Tries to find an unused temp file name. */
#define TMP_TRIES           8
/* Between attempts to take a lock held by someone else. */
#define LOCK_POLL           apr_time_from_msec(100)
/* Every file we open: no link followed, never block (FIFOs, leases), no
 * controlling terminal, not inherited by programs we run. */
#define OPEN_SAFE           (O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

apr_status_t md_fsio_err(void)
{
    int e = errno;
    return e ? APR_FROM_OS_ERROR(e) : APR_EGENERAL;
}

/* volatile: the compiler may not drop stores to a buffer about to be freed. */
void md_fsio_cleanse(void *buf, size_t len)
{
    volatile unsigned char *b = buf;
    while (len--) {
        *b++ = 0;
    }
}

static const char *path_of(const md_fsio_dir_t *dir, const char *name, apr_pool_t *p)
{
    return dir ? apr_pstrcat(p, dir->path, "/", name, NULL) : name;
}

static int is_link(const md_fsio_dir_t *dir, const char *name)
{
    struct stat st;
    return fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* A link where we wanted a directory or a value: someone who may write
 * there put it (the directory may belong to the server's User). */
static apr_status_t link_refused(const md_fsio_dir_t *dir, const char *name, apr_pool_t *p)
{
    apr_status_t rv = APR_FROM_OS_ERROR(ELOOP);

    md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD05200: %s: is a symbolic link; "
                  "the store never follows links (who put it there?)", path_of(dir, name, p));
    return rv;
}

/* --- directories ----------------------------------------------------------- */

static apr_status_t dir_cleanup(void *data)
{
    md_fsio_dir_t *dir = data;

    if (dir->fd >= 0) {
        close(dir->fd);
        dir->fd = -1;
    }
    return APR_SUCCESS;
}

apr_status_t md_fsio_dir_open(md_fsio_dir_t **pdir, const md_fsio_dir_t *parent,
                              const char *name, apr_pool_t *p)
{
    md_fsio_dir_t *dir;
    int fd;

    *pdir = NULL;
    if (parent) {
        fd = openat(parent->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    else {
        fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0) {
        apr_status_t rv = md_fsio_err();
        if (parent && (errno == ELOOP || errno == ENOTDIR) && is_link(parent, name)) {
            return link_refused(parent, name, p);
        }
        return APR_STATUS_IS_ENOENT(rv) ? APR_ENOENT : rv;
    }
    dir = apr_palloc(p, sizeof(*dir));
    dir->fd = fd;
    dir->path = path_of(parent, name, p);
    dir->max_entries = parent ? parent->max_entries : 0;
    apr_pool_cleanup_register(p, dir, dir_cleanup, apr_pool_cleanup_null);
    *pdir = dir;
    return APR_SUCCESS;
}

apr_status_t md_fsio_dir_make(md_fsio_dir_t **pdir, const md_fsio_dir_t *parent,
                              const char *name, mode_t mode, apr_pool_t *p)
{
    int made;
    apr_status_t rv;

    *pdir = NULL;
    made = (parent ? mkdirat(parent->fd, name, mode) : mkdir(name, mode)) == 0;
    if (!made && errno != EEXIST) {
        rv = md_fsio_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05003: %s: cannot create directory",
                      path_of(parent, name, p));
        return rv;
    }
    rv = md_fsio_dir_open(pdir, parent, name, p);
    if (rv == APR_ENOTDIR) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p,
                      "MD05004: %s: exists but is not a directory", path_of(parent, name, p));
    }
    /* The umask may have narrowed mode; set it exactly. It never widens
     * beyond what we asked for. */
    if (rv == APR_SUCCESS && made && fchmod((*pdir)->fd, mode) != 0) {
        rv = md_fsio_err();
    }
    return rv;
}

static int user_dir_max = MD_FSIO_USER_DIR_MAX;

int md_fsio_user_dir_max(void)
{
    return user_dir_max;
}

void md_fsio_set_user_dir_max(int n)
{
    user_dir_max = n > 0 ? n : MD_FSIO_USER_DIR_MAX;
}

void md_fsio_dir_limit(md_fsio_dir_t *dir)
{
    dir->max_entries = user_dir_max;
}

apr_status_t md_fsio_dir_sync(const md_fsio_dir_t *dir)
{
    return fsync(dir->fd) == 0 ? APR_SUCCESS : md_fsio_err();
}

apr_status_t md_fsio_stat(struct stat *st, const md_fsio_dir_t *dir, const char *name)
{
    if (fstatat(dir->fd, name, st, AT_SYMLINK_NOFOLLOW) != 0) {
        apr_status_t rv = md_fsio_err();
        return APR_STATUS_IS_ENOENT(rv) ? APR_ENOENT : rv;
    }
    return APR_SUCCESS;
}

/* Every name in dir but "." and "..", in directory order; in a directory
 * of User's (max_entries) only the first max_entries: reading on would let
 * User decide how long and how much memory the parent spends here. The
 * listing is still good for what it holds; the rest is logged and skipped. */
static apr_status_t entries(apr_array_header_t **pnames, const md_fsio_dir_t *dir,
                            apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 10, sizeof(const char *));
    struct dirent *de;
    DIR *d;
    /* A descriptor of its own: readdir moves the offset of the one it uses. */
    int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    *pnames = NULL;
    if (fd < 0) {
        return md_fsio_err();
    }
    if (!(d = fdopendir(fd))) {
        apr_status_t rv = md_fsio_err();
        close(fd);
        return rv;
    }
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
            continue;
        }
        if (dir->max_entries > 0 && names->nelts >= dir->max_entries) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, 0, p, "MD05202: %s: more than %d entries, "
                          "the rest is not looked at (the store makes far fewer: who put "
                          "them there?)", dir->path, dir->max_entries);
            break;
        }
        APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, de->d_name);
    }
    closedir(d);
    *pnames = names;
    return APR_SUCCESS;
}

/* --- values ------------------------------------------------------------------ */

static apr_status_t write_all(int fd, const char *data, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return md_fsio_err();
        }
        data += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

/* Create a new uniquely named temp file in dir, with mode from the start. */
static apr_status_t open_tmp(int *pfd, const char **ptmp, const md_fsio_dir_t *dir,
                             const char *name, mode_t mode, apr_pool_t *p)
{
    unsigned char rnd[8];
    apr_status_t rv;
    int i;

    for (i = 0; i < TMP_TRIES; ++i) {
        if ((rv = apr_generate_random_bytes(rnd, sizeof(rnd))) != APR_SUCCESS) {
            return rv;
        }
        /* Dot-prefixed: never a valid name or aspect, never listed. */
        *ptmp = apr_psprintf(p, ".%.64s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", name,
                             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        *pfd = openat(dir->fd, *ptmp, O_WRONLY | O_CREAT | O_EXCL | OPEN_SAFE, mode);
        if (*pfd >= 0) {
            /* The umask may have narrowed mode; set it exactly. */
            if (fchmod(*pfd, mode) != 0) {
                rv = md_fsio_err();
                close(*pfd);
                unlinkat(dir->fd, *ptmp, 0);
                return rv;
            }
            return APR_SUCCESS;
        }
        if (errno != EEXIST) {
            return md_fsio_err();
        }
    }
    return APR_EEXIST;
}

/* "<group>/<name>" for the test hook: the directory's own name is the item,
 * its parent's the group. */
static const char *hook_name(const char *dir, const char *name, apr_pool_t *p)
{
    const char *item = strrchr(dir, '/');
    const char *group = item;

    while (group && group > dir && *(group - 1) != '/') {
        --group;
    }
    if (!item || !group || group == item) {
        return name;
    }
    return apr_pstrcat(p, apr_pstrndup(p, group, (apr_size_t)(item - group)), "/", name, NULL);
}

apr_status_t md_fsio_write_atomic(const md_fsio_dir_t *dir, const char *name, const char *data,
                                  apr_size_t len, mode_t mode, int replace, int durable,
                                  apr_pool_t *p)
{
    const char *tmp = NULL;
    const char *path = path_of(dir, name, p);
    apr_status_t rv;
    int fd = -1;

    if ((rv = open_tmp(&fd, &tmp, dir, name, mode, p)) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05005: %s: cannot create a temp file "
                      "in the directory", path);
        return rv;
    }
    rv = write_all(fd, data, len);
    if (rv == APR_SUCCESS && durable && fsync(fd) != 0) {
        rv = md_fsio_err();
    }
    if (close(fd) != 0 && rv == APR_SUCCESS) {
        rv = md_fsio_err();
    }
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05006: %s: writing %s failed", path,
                      tmp);
        goto leave;
    }
    if (md_testhook_armed()) {
        md_testhook_crash("tmp-written", hook_name(dir->path, name, p));
    }
    if (replace) {
        if (renameat(dir->fd, tmp, dir->fd, name) != 0) {
            rv = md_fsio_err();
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05007: %s: rename from %s failed",
                          path, tmp);
            goto leave;
        }
        tmp = NULL;
    }
    else if (linkat(dir->fd, tmp, dir->fd, name, 0) != 0) {
        rv = md_fsio_err();
        if (!APR_STATUS_IS_EEXIST(rv)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05008: %s: link from %s failed",
                          path, tmp);
        }
        goto leave;
    }
    if (md_testhook_armed()) {
        md_testhook_crash("renamed", hook_name(dir->path, name, p));
    }
    if (durable && (rv = md_fsio_dir_sync(dir)) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05009: %s: fsync of the directory "
                      "failed", dir->path);
    }
leave:
    if (tmp) {
        unlinkat(dir->fd, tmp, 0);
    }
    return rv;
}

apr_status_t md_fsio_read(char **pdata, apr_size_t *plen, const md_fsio_dir_t *dir,
                          const char *name, apr_size_t max_len, apr_pool_t *p)
{
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    apr_size_t len = 0;
    char *buf = NULL;
    int fd;

    *pdata = NULL;
    *plen = 0;
    fd = openat(dir->fd, name, O_RDONLY | OPEN_SAFE);
    if (fd < 0) {
        rv = md_fsio_err();
        if (errno == ELOOP) {
            return link_refused(dir, name, p);
        }
        return APR_STATUS_IS_ENOENT(rv) ? APR_ENOENT : rv;
    }
    if (fstat(fd, &st) != 0) {
        rv = md_fsio_err();
        goto leave;
    }
    if (!S_ISREG(st.st_mode)) {
        rv = APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05010: %s: not a regular file",
                      path_of(dir, name, p));
        goto leave;
    }
    if (st.st_size < 0 || (apr_size_t)st.st_size > max_len) {
        rv = APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05011: %s: too large (%" APR_OFF_T_FMT
                      " bytes, limit %" APR_SIZE_T_FMT ")", path_of(dir, name, p),
                      (apr_off_t)st.st_size, max_len);
        goto leave;
    }
    /* One byte more than the size: a file that grew meanwhile is noticed. */
    buf = apr_palloc(p, (apr_size_t)st.st_size + 2);
    for (;;) {
        ssize_t n = read(fd, buf + len, (apr_size_t)st.st_size + 1 - len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            rv = md_fsio_err();
            goto leave;
        }
        if (n == 0) {
            break;
        }
        len += (apr_size_t)n;
        if (len > (apr_size_t)st.st_size) {
            /* Writers replace files by rename, so this one is not ours. */
            rv = APR_EINVAL;
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05012: %s: changed while "
                          "being read", path_of(dir, name, p));
            goto leave;
        }
    }
    buf[len] = '\0';
    *pdata = buf;
    *plen = len;
leave:
    close(fd);
    return rv;
}

/* --- trees --------------------------------------------------------------------- */

apr_status_t md_fsio_rm_tree(const md_fsio_dir_t *dir, const char *name, int depth,
                             apr_pool_t *p)
{
    apr_array_header_t *names = NULL;
    md_fsio_dir_t *sub;
    struct stat st;
    apr_pool_t *ptemp;
    apr_status_t rv;
    int i;

    if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return md_fsio_err();
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlinkat(dir->fd, name, 0) == 0 ? APR_SUCCESS : md_fsio_err();
    }
    if (depth <= 0) {
        return APR_EINVAL;
    }
    /* A pool per level: the descriptors of subdirectories close at once. */
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    /* Swapped for a link since the fstatat: this fails, nothing is followed. */
    rv = md_fsio_dir_open(&sub, dir, name, ptemp);
    if (rv == APR_SUCCESS) {
        rv = entries(&names, sub, ptemp);
    }
    for (i = 0; rv == APR_SUCCESS && i < names->nelts; ++i) {
        apr_status_t rv2 = md_fsio_rm_tree(sub, APR_ARRAY_IDX(names, i, const char *),
                                           depth - 1, ptemp);
        if (rv2 != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv2)) {
            rv = rv2;
        }
    }
    apr_pool_destroy(ptemp);
    if (rv == APR_SUCCESS && unlinkat(dir->fd, name, AT_REMOVEDIR) != 0) {
        rv = md_fsio_err();
    }
    return rv;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

apr_status_t md_fsio_list(apr_array_header_t **pnames, const md_fsio_dir_t *dir,
                          int want_dirs, apr_pool_t *p)
{
    apr_array_header_t *all;
    apr_array_header_t *names;
    struct stat st;
    apr_status_t rv;
    int i;

    *pnames = NULL;
    if ((rv = entries(&all, dir, p)) != APR_SUCCESS) {
        return rv;
    }
    names = apr_array_make(p, all->nelts, sizeof(const char *));
    for (i = 0; i < all->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(all, i, const char *);
        if (name[0] == '.' || fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;   /* ours in the making, or removed meanwhile */
        }
        if (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)) {
            APR_ARRAY_PUSH(names, const char *) = name;
        }
    }
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_str);
    *pnames = names;
    return APR_SUCCESS;
}

apr_status_t md_fsio_list_prefixed(apr_array_header_t **pnames, const md_fsio_dir_t *dir,
                                   const char *prefix, apr_pool_t *p)
{
    apr_array_header_t *all;
    apr_status_t rv;
    size_t plen = strlen(prefix);
    int i;

    *pnames = NULL;
    if ((rv = entries(&all, dir, p)) != APR_SUCCESS) {
        return rv;
    }
    *pnames = apr_array_make(p, 1, sizeof(const char *));
    for (i = 0; i < all->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(all, i, const char *);
        if (!strncmp(name, prefix, plen)) {
            APR_ARRAY_PUSH(*pnames, const char *) = name;
        }
    }
    return APR_SUCCESS;
}

const char *md_fsio_rnd_hex(apr_pool_t *p)
{
    unsigned char r[6] = { 0 };
    apr_generate_random_bytes(r, sizeof(r));
    return apr_psprintf(p, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

/* Change the owner of name in dir unless it is a directory: through a
 * descriptor of the entry itself (O_PATH: opening has no side effects on
 * FIFOs or devices), and only when the store holds its only name. */
static apr_status_t chown_entry(const md_fsio_dir_t *dir, const char *name, uid_t uid,
                                gid_t gid, apr_pool_t *p)
{
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    int fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0) {
        return md_fsio_err();
    }
    if (fstat(fd, &st) != 0) {
        rv = md_fsio_err();
    }
    else if (S_ISDIR(st.st_mode)) {
        rv = APR_SUCCESS;   /* became a directory meanwhile: the next walk */
    }
    else if (st.st_nlink != 1) {
        rv = APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD05201: %s: has other names "
                      "(a hard link), not handing it to the server's User",
                      path_of(dir, name, p));
    }
    else if ((st.st_uid != uid || st.st_gid != gid)
             && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) != 0) {
        rv = md_fsio_err();
    }
    close(fd);
    return rv;
}

apr_status_t md_fsio_chown_tree(const md_fsio_dir_t *dir, uid_t uid, gid_t gid, int depth,
                                apr_pool_t *p)
{
    apr_array_header_t *names = NULL;
    struct stat st;
    apr_pool_t *ptemp;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (fstat(dir->fd, &st) != 0) {
        return md_fsio_err();
    }
    if ((st.st_uid != uid || st.st_gid != gid) && fchown(dir->fd, uid, gid) != 0) {
        rv = md_fsio_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD05030: %s: cannot change owner "
                      "to %ld:%ld", dir->path, (long)uid, (long)gid);
    }
    if (depth <= 0 || entries(&names, dir, p) != APR_SUCCESS) {
        return rv;
    }
    if (apr_pool_create(&ptemp, p) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        md_fsio_dir_t *sub;
        apr_status_t rv2;

        apr_pool_clear(ptemp);
        if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;   /* removed meanwhile */
        }
        if (!S_ISDIR(st.st_mode)) {
            rv2 = chown_entry(dir, name, uid, gid, ptemp);
        }
        else if ((rv2 = md_fsio_dir_open(&sub, dir, name, ptemp)) == APR_SUCCESS) {
            rv2 = md_fsio_chown_tree(sub, uid, gid, depth - 1, ptemp);
        }
        if (rv2 != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv2) && rv == APR_SUCCESS) {
            rv = rv2;
        }
    }
    apr_pool_destroy(ptemp);
    return rv;
}

/* --- renames ------------------------------------------------------------------- */

apr_status_t md_fsio_rename(const md_fsio_dir_t *from, const char *from_name,
                            const md_fsio_dir_t *to, const char *to_name, int noreplace)
{
    struct stat st;

    if (!noreplace) {
        return renameat(from->fd, from_name, to->fd, to_name) == 0 ? APR_SUCCESS
                                                                   : md_fsio_err();
    }
    if (renameat2(from->fd, from_name, to->fd, to_name, RENAME_NOREPLACE) == 0) {
        return APR_SUCCESS;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
        return md_fsio_err();
    }
    /* No RENAME_NOREPLACE on this file system: check, then rename. */
    if (fstatat(to->fd, to_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        return APR_EEXIST;
    }
    return renameat(from->fd, from_name, to->fd, to_name) == 0 ? APR_SUCCESS : md_fsio_err();
}

apr_status_t md_fsio_exchange(const md_fsio_dir_t *dir_a, const char *a,
                              const md_fsio_dir_t *dir_b, const char *b)
{
    apr_status_t rv;

    if (renameat2(dir_a->fd, a, dir_b->fd, b, RENAME_EXCHANGE) != 0) {
        if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
            return APR_ENOTIMPL;
        }
        return md_fsio_err();
    }
    rv = md_fsio_dir_sync(dir_a);
    if (rv == APR_SUCCESS && dir_a->fd != dir_b->fd) {
        rv = md_fsio_dir_sync(dir_b);
    }
    return rv;
}

apr_status_t md_fsio_copy_dir(const md_fsio_dir_t *src, const md_fsio_dir_t *dst_parent,
                              const char *dst_name, mode_t dir_mode, mode_t file_mode,
                              apr_size_t max_len, md_fsio_copy_fn *fn, void *baton,
                              apr_pool_t *p)
{
    apr_array_header_t *names;
    md_fsio_dir_t *dst;
    apr_pool_t *ptemp;
    apr_status_t rv;
    int i;

    if ((rv = md_fsio_list(&names, src, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    if (mkdirat(dst_parent->fd, dst_name, dir_mode) != 0) {
        return md_fsio_err();
    }
    if ((rv = md_fsio_dir_open(&dst, dst_parent, dst_name, p)) != APR_SUCCESS
        || fchmod(dst->fd, dir_mode) != 0 || apr_pool_create(&ptemp, p) != APR_SUCCESS) {
        rv = rv != APR_SUCCESS ? rv : md_fsio_err();
        md_fsio_rm_tree(dst_parent, dst_name, MD_FSIO_MAX_DEPTH, p);
        return rv;
    }
    for (i = 0; rv == APR_SUCCESS && i < names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const char *data;
        char *buf = NULL;
        apr_size_t buf_len = 0;
        apr_size_t len;

        apr_pool_clear(ptemp);
        rv = md_fsio_read(&buf, &buf_len, src, name, max_len, ptemp);
        data = buf;
        len = buf_len;
        if (rv == APR_SUCCESS && fn) {
            rv = fn(baton, name, &data, &len, ptemp);
        }
        if (rv == APR_SUCCESS) {
            rv = md_fsio_write_atomic(dst, name, data, len, file_mode, 1, 1, ptemp);
        }
        else if (APR_STATUS_IS_ENOENT(rv)) {
            rv = APR_SUCCESS;   /* skipped, or gone meanwhile */
        }
        if (buf) {
            md_fsio_cleanse(buf, buf_len);
        }
    }
    apr_pool_destroy(ptemp);
    if (rv != APR_SUCCESS) {
        md_fsio_rm_tree(dst_parent, dst_name, MD_FSIO_MAX_DEPTH, p);
    }
    return rv;
}

/* --- locks --------------------------------------------------------------------- */

apr_status_t md_fsio_lock(int *pfd, const md_fsio_dir_t *dir, const char *name,
                          apr_interval_time_t max_wait, apr_pool_t *p)
{
    apr_time_t deadline = apr_time_now() + max_wait;
    struct flock fl;
    struct stat st;
    apr_status_t rv;
    int fd;

    *pfd = -1;
    fd = openat(dir->fd, name, O_RDWR | O_CREAT | OPEN_SAFE, 0600);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rv = fd < 0 ? md_fsio_err() : APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05035: %s: cannot open the lock "
                      "file", path_of(dir, name, p));
        if (fd >= 0) {
            close(fd);
        }
        return rv;
    }
    for (;;) {
        memset(&fl, 0, sizeof(fl));
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        if (fcntl(fd, F_SETLK, &fl) == 0) {
            *pfd = fd;
            return APR_SUCCESS;
        }
        if (errno != EACCES && errno != EAGAIN && errno != EINTR) {
            rv = md_fsio_err();
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05036: %s: cannot lock",
                          path_of(dir, name, p));
            close(fd);
            return rv;
        }
        if (apr_time_now() >= deadline) {
            close(fd);
            return APR_TIMEUP;
        }
        apr_sleep(LOCK_POLL);
    }
}

void md_fsio_unlock(int fd)
{
    struct flock fl;

    if (fd < 0) {
        return;
    }
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fcntl(fd, F_SETLK, &fl);
    close(fd);
}
