/* POSIX file helpers of the file-system store: atomic writes, bounded
 * reads, directory creation, listing, tree removal and chown.
 *
 * Plain POSIX calls are used where APR has no equivalent or hides what we
 * need (O_EXCL with a mode, fsync of a directory, link, lchown).
 */
#define _POSIX_C_SOURCE 200809L

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

apr_status_t md_fsio_mkdir(const char *path, mode_t mode, apr_pool_t *p)
{
    struct stat st;

    if (mkdir(path, mode) == 0) {
        if (chmod(path, mode) != 0) {
            return md_fsio_err();
        }
        return APR_SUCCESS;
    }
    if (errno != EEXIST) {
        apr_status_t rv = md_fsio_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05003: %s: cannot create directory",
                      path);
        return rv;
    }
    if (stat(path, &st) != 0) {
        return md_fsio_err();
    }
    if (!S_ISDIR(st.st_mode)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOTDIR, p,
                      "MD05004: %s: exists but is not a directory", path);
        return APR_ENOTDIR;
    }
    return APR_SUCCESS;
}

apr_status_t md_fsio_sync_dir(const char *path)
{
    apr_status_t rv = APR_SUCCESS;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        return md_fsio_err();
    }
    if (fsync(fd) != 0) {
        rv = md_fsio_err();
    }
    close(fd);
    return rv;
}

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
static apr_status_t open_tmp(int *pfd, const char **ptmp, const char *dir, const char *aspect,
                             mode_t mode, apr_pool_t *p)
{
    unsigned char rnd[8];
    apr_status_t rv;
    int i;

    for (i = 0; i < TMP_TRIES; ++i) {
        if ((rv = apr_generate_random_bytes(rnd, sizeof(rnd))) != APR_SUCCESS) {
            return rv;
        }
        /* Dot-prefixed: never a valid name or aspect, never listed. */
        *ptmp = apr_psprintf(p, "%s/.%.64s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", dir, aspect,
                             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        *pfd = open(*ptmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (*pfd >= 0) {
            /* The umask may have narrowed mode; set it exactly. It never
             * widens beyond what we asked for. */
            if (fchmod(*pfd, mode) != 0) {
                rv = md_fsio_err();
                close(*pfd);
                unlink(*ptmp);
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

/* "<group>/<aspect>" for the test hook: the item directory's parent is
 * the group directory. */
static const char *hook_name(const char *dir, const char *aspect, apr_pool_t *p)
{
    const char *item = strrchr(dir, '/');
    const char *group = item;

    while (group && group > dir && *(group - 1) != '/') {
        --group;
    }
    if (!item || !group || group == item) {
        return aspect;
    }
    return apr_pstrcat(p, apr_pstrndup(p, group, (apr_size_t)(item - group)), "/", aspect, NULL);
}

apr_status_t md_fsio_write_atomic(const char *dir, const char *aspect, const char *data,
                                  apr_size_t len, mode_t mode, int replace, int durable,
                                  apr_pool_t *p)
{
    const char *tmp = NULL;
    const char *path = apr_pstrcat(p, dir, "/", aspect, NULL);
    apr_status_t rv;
    int fd = -1;

    if ((rv = open_tmp(&fd, &tmp, dir, aspect, mode, p)) != APR_SUCCESS) {
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
        md_testhook_crash("tmp-written", hook_name(dir, aspect, p));
    }
    if (replace) {
        if (rename(tmp, path) != 0) {
            rv = md_fsio_err();
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05007: %s: rename from %s failed",
                          path, tmp);
            goto leave;
        }
        tmp = NULL;
    }
    else if (link(tmp, path) != 0) {
        rv = md_fsio_err();
        if (!APR_STATUS_IS_EEXIST(rv)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05008: %s: link from %s failed",
                          path, tmp);
        }
        goto leave;
    }
    if (md_testhook_armed()) {
        md_testhook_crash("renamed", hook_name(dir, aspect, p));
    }
    if (durable && (rv = md_fsio_sync_dir(dir)) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05009: %s: fsync of the directory "
                      "failed", dir);
    }
leave:
    if (tmp) {
        unlink(tmp);
    }
    return rv;
}

apr_status_t md_fsio_read(char **pdata, apr_size_t *plen, const char *path,
                          apr_size_t max_len, apr_pool_t *p)
{
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    apr_size_t len = 0;
    char *buf = NULL;
    int fd;

    *pdata = NULL;
    *plen = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return md_fsio_err();
    }
    if (fstat(fd, &st) != 0) {
        rv = md_fsio_err();
        goto leave;
    }
    if (!S_ISREG(st.st_mode)) {
        rv = APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05010: %s: not a regular file", path);
        goto leave;
    }
    if (st.st_size < 0 || (apr_size_t)st.st_size > max_len) {
        rv = APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05011: %s: too large (%" APR_OFF_T_FMT
                      " bytes, limit %" APR_SIZE_T_FMT ")", path, (apr_off_t)st.st_size,
                      max_len);
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
                          "being read", path);
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

apr_status_t md_fsio_rm_tree(const char *path, int depth, apr_pool_t *p)
{
    struct stat st;
    struct dirent *de;
    apr_status_t rv = APR_SUCCESS;
    DIR *d;

    if (lstat(path, &st) != 0) {
        return md_fsio_err();
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlink(path) == 0 ? APR_SUCCESS : md_fsio_err();
    }
    if (depth <= 0) {
        return APR_EINVAL;
    }
    if (!(d = opendir(path))) {
        return md_fsio_err();
    }
    while ((de = readdir(d)) != NULL) {
        apr_status_t rv2;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
            continue;
        }
        rv2 = md_fsio_rm_tree(apr_pstrcat(p, path, "/", de->d_name, NULL), depth - 1, p);
        if (rv2 != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv2) && rv == APR_SUCCESS) {
            rv = rv2;
        }
    }
    closedir(d);
    if (rv == APR_SUCCESS && rmdir(path) != 0) {
        rv = md_fsio_err();
    }
    return rv;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

apr_status_t md_fsio_list(apr_array_header_t **pnames, const char *dir, int want_dirs,
                          apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 10, sizeof(const char *));
    struct dirent *de;
    struct stat st;
    DIR *d;

    *pnames = NULL;
    if (!(d = opendir(dir))) {
        return md_fsio_err();
    }
    while ((de = readdir(d)) != NULL) {
        const char *path;
        if (de->d_name[0] == '.') {
            continue;
        }
        path = apr_pstrcat(p, dir, "/", de->d_name, NULL);
        if (stat(path, &st) != 0) {
            continue;   /* removed meanwhile, or a dangling link */
        }
        if (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)) {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(p, de->d_name);
        }
    }
    closedir(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_str);
    *pnames = names;
    return APR_SUCCESS;
}

const char *md_fsio_rnd_hex(apr_pool_t *p)
{
    unsigned char r[6] = { 0 };
    apr_generate_random_bytes(r, sizeof(r));
    return apr_psprintf(p, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

apr_status_t md_fsio_chown_tree(const char *path, uid_t uid, gid_t gid, int depth,
                                apr_pool_t *p)
{
    struct dirent *de;
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    DIR *d;

    if (lstat(path, &st) != 0) {
        return md_fsio_err();
    }
    if (lchown(path, uid, gid) != 0) {
        rv = md_fsio_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD05030: %s: cannot change owner "
                      "to %ld:%ld", path, (long)uid, (long)gid);
    }
    if (!S_ISDIR(st.st_mode) || depth <= 0 || !(d = opendir(path))) {
        return rv;
    }
    while ((de = readdir(d)) != NULL) {
        apr_status_t rv2;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
            continue;
        }
        rv2 = md_fsio_chown_tree(apr_pstrcat(p, path, "/", de->d_name, NULL), uid, gid,
                                 depth - 1, p);
        if (rv == APR_SUCCESS) {
            rv = rv2;
        }
    }
    closedir(d);
    return rv;
}

apr_status_t md_fsio_exchange(const char *a, const char *b, const char *dir_a,
                              const char *dir_b)
{
    apr_status_t rv;

    if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0) {
        if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
            return APR_ENOTIMPL;
        }
        return md_fsio_err();
    }
    rv = md_fsio_sync_dir(dir_a);
    if (rv == APR_SUCCESS && strcmp(dir_a, dir_b)) {
        rv = md_fsio_sync_dir(dir_b);
    }
    return rv;
}

apr_status_t md_fsio_copy_dir(const char *src, const char *dst, mode_t dir_mode,
                              mode_t file_mode, apr_size_t max_len, md_fsio_copy_fn *fn,
                              void *baton, apr_pool_t *p)
{
    apr_array_header_t *names;
    apr_pool_t *ptemp;
    apr_status_t rv;
    int i;

    if ((rv = md_fsio_list(&names, src, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    if (mkdir(dst, dir_mode) != 0) {
        return md_fsio_err();
    }
    if (chmod(dst, dir_mode) != 0 || apr_pool_create(&ptemp, p) != APR_SUCCESS) {
        rv = md_fsio_err();
        rmdir(dst);
        return rv;
    }
    for (i = 0; rv == APR_SUCCESS && i < names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const char *data;
        char *buf = NULL;
        apr_size_t buf_len = 0;
        apr_size_t len;

        apr_pool_clear(ptemp);
        rv = md_fsio_read(&buf, &buf_len, apr_pstrcat(ptemp, src, "/", name, NULL), max_len,
                          ptemp);
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
        md_fsio_rm_tree(dst, MD_FSIO_MAX_DEPTH, p);
    }
    return rv;
}

apr_status_t md_fsio_lock(int *pfd, const char *path, apr_interval_time_t max_wait,
                          apr_pool_t *p)
{
    apr_time_t deadline = apr_time_now() + max_wait;
    struct flock fl;
    apr_status_t rv;
    int fd;

    *pfd = -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rv = md_fsio_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05035: %s: cannot open the lock "
                      "file", path);
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
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05036: %s: cannot lock", path);
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
