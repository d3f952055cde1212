/* The file-system store: moving whole items between groups (activation
 * swaps staging/tmp into domains), archiving the replaced item with its
 * private keys encrypted, renaming an item, and the store lock.
 *
 * Crash safety (STYLE §11): a move replaces a whole directory with one
 * renameat2(RENAME_EXCHANGE), so domains/<md> is never missing or half
 * old, half new. The archive copy is made complete under a hidden name and
 * then renamed into place before the swap, so a crash leaves at worst one
 * archive copy too many, never a lost set.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* renameat2 */
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_strings.h>

#include "md_crypt.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_store.h"
#include "md_store_fs_int.h"
#include "md_store_fs_io.h"
#include "md_testhook.h"

/* Archive numbers tried before giving up: someone should clean up first. */
#define ARCHIVE_MAX_N       1000
/* How a PEM file holding a private key without encryption starts its block. */
#define PEM_PLAIN_KEY_MARK  "PRIVATE KEY-----"
#define PEM_ENC_KEY_MARK    "ENCRYPTED PRIVATE KEY-----"

static fs_store_t *fs_of(md_store_t *store)
{
    return (fs_store_t *)store;
}

/* After a move into a root-only group: the item's modes (and owner) as if
 * we had written it there ourselves. Best effort: the group directory is
 * 0700 and root's already, this is the second fence. */
static void normalize_item(const char *dir, md_store_group_t group, apr_pool_t *p)
{
    const int as_root = (geteuid() == 0);
    struct dirent *de;
    struct stat st;
    DIR *d;

    if (md_fs_modes[group].child || group == MD_SG_NONE) {
        return;
    }
    if (chmod(dir, md_fs_modes[group].item) != 0
        || (as_root && chown(dir, 0, getegid()) != 0)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, md_fsio_err(), p,
                      "MD05019: %s: cannot set mode/owner", dir);
    }
    if (group != MD_SG_DOMAINS || !(d = opendir(dir))) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        const char *path = apr_pstrcat(p, dir, "/", de->d_name, NULL);
        if (de->d_name[0] == '.' || lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (chmod(path, md_fs_modes[group].file) != 0
            || (as_root && st.st_uid != 0 && chown(path, 0, getegid()) != 0)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, md_fsio_err(), p,
                          "MD05020: %s: cannot set mode/owner", path);
        }
    }
    closedir(d);
}

/* --- archive ------------------------------------------------------------ */

/* md_fsio_copy_fn: private keys go into the archive encrypted with the
 * store key (the live ones in domains/ are plain for mod_ssl). */
static apr_status_t encrypt_keys(void *baton, const char *name, const char **pdata,
                                 apr_size_t *plen, apr_pool_t *p)
{
    md_store_t *store = baton;
    md_pkey_t *pkey;
    apr_status_t rv;

    if (!strstr(*pdata, PEM_PLAIN_KEY_MARK) || strstr(*pdata, PEM_ENC_KEY_MARK)) {
        return APR_SUCCESS;
    }
    if (!store->key) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, p, "MD05040: not archiving the private "
                      "key %s: the store key is not available to encrypt it (%s)", name,
                      store->key_problem);
        return APR_ENOENT;
    }
    rv = md_pkey_from_pem(&pkey, *pdata, *plen, NULL, 0, p);
    if (rv == APR_SUCCESS) {
        rv = md_pkey_to_pem(pdata, plen, pkey, (const char *)store->key, store->key_len, p);
    }
    if (rv != APR_SUCCESS) {
        /* Never a plain key in the archive: leave this one out. */
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD05041: not archiving %s: not a "
                      "private key that can be encrypted", name);
        return APR_ENOENT;
    }
    return APR_SUCCESS;
}

/* Copy the item at dir into archive/<name>.<n>, n the first free number,
 * with private keys encrypted. Built under a hidden name first, so the
 * archive never shows a partial copy. */
static apr_status_t archive_copy(const char **parchived, fs_store_t *fs, const char *dir,
                                 const char *name, apr_pool_t *p)
{
    const char *arch_dir = md_fs_group_dir(fs, MD_SG_ARCHIVE, p);
    const char *hidden = apr_pstrcat(p, arch_dir, "/" GONE_PREFIX, md_fsio_rnd_hex(p), NULL);
    struct stat st;
    apr_status_t rv;
    int n;

    *parchived = NULL;
    if ((rv = md_fsio_mkdir(arch_dir, md_fs_modes[MD_SG_ARCHIVE].dir, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = md_fsio_copy_dir(dir, hidden, md_fs_modes[MD_SG_ARCHIVE].item,
                          md_fs_modes[MD_SG_ARCHIVE].file, MD_STORE_MAX_VALUE_LEN,
                          encrypt_keys, &fs->s, p);
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05042: cannot copy %s into the "
                      "archive", dir);
        return rv;
    }
    for (n = 1; n < ARCHIVE_MAX_N; ++n) {
        const char *cand = apr_psprintf(p, "%s/%s.%d", arch_dir, name, n);
        if (lstat(cand, &st) == 0) {
            continue;
        }
        if (errno != ENOENT) {
            break;
        }
        /* RENAME_NOREPLACE: a number taken meanwhile makes us try the next. */
        if (renameat2(AT_FDCWD, hidden, AT_FDCWD, cand, RENAME_NOREPLACE) == 0
            || (errno == EINVAL && rename(hidden, cand) == 0)) {
            *parchived = cand;
            return md_fsio_sync_dir(arch_dir);
        }
        if (errno != EEXIST && errno != ENOTEMPTY) {
            break;
        }
    }
    rv = (n < ARCHIVE_MAX_N) ? md_fsio_err() : APR_EGENERAL;
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05022: %s: no archive number below %d "
                  "usable for %s; clean up old archive directories", arch_dir, ARCHIVE_MAX_N,
                  name);
    md_fsio_rm_tree(hidden, MD_FSIO_MAX_DEPTH, p);
    return rv;
}

/* --- move --------------------------------------------------------------- */

/* Put src in place of the existing dst in one step; *pold is where the
 * previous dst now is (to be deleted). */
static apr_status_t swap_in(const char **pold, fs_store_t *fs, md_store_group_t from,
                            md_store_group_t to, const char *src, const char *dst,
                            apr_pool_t *p)
{
    const char *from_dir = md_fs_group_dir(fs, from, p);
    const char *to_dir = md_fs_group_dir(fs, to, p);
    const char *aside;
    apr_status_t rv;

    *pold = NULL;
    rv = md_fsio_exchange(src, dst, from_dir, to_dir);
    if (rv == APR_SUCCESS) {
        *pold = src;
        return APR_SUCCESS;
    }
    if (rv != APR_ENOTIMPL) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05024: cannot swap %s and %s", src,
                      dst);
        return rv;
    }
    /* No atomic exchange here: dst is missing between two renames. */
    aside = apr_pstrcat(p, to_dir, "/" GONE_PREFIX, md_fsio_rnd_hex(p), NULL);
    if (rename(dst, aside) != 0) {
        rv = md_fsio_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05043: cannot move %s out of the "
                      "way to %s", dst, aside);
        return rv;
    }
    if (rename(src, dst) != 0) {
        rv = md_fsio_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05025: cannot rename %s to %s", src,
                      dst);
        /* Put the previous item back: better old than nothing. */
        if (rename(aside, dst) != 0) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, md_fsio_err(), p,
                          "MD05026: cannot restore %s from %s", dst, aside);
        }
        return rv;
    }
    *pold = aside;
    return APR_SUCCESS;
}

apr_status_t md_fs_move(md_store_t *store, md_store_group_t from, md_store_group_t to,
                        const char *name, int archive, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    const char *src;
    const char *dst;
    const char *old = NULL;
    const char *archived = NULL;
    struct stat st;
    apr_pool_t *ptemp;
    apr_status_t rv;

    if (!md_fs_valid_group(from) || !md_fs_valid_group(to) || from == to
        || from == MD_SG_NONE || to == MD_SG_NONE) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD05023: cannot move items from group %d to %d", (int)from, (int)to);
        return APR_EINVAL;
    }
    if ((rv = md_fs_check_addr(from, name, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    src = md_fs_item_dir(fs, from, name, ptemp);
    dst = md_fs_item_dir(fs, to, name, ptemp);
    if (lstat(src, &st) != 0) {
        rv = md_fsio_err();
        goto leave;
    }
    if (!S_ISDIR(st.st_mode)) {
        rv = APR_ENOTDIR;
        goto leave;
    }
    rv = md_fsio_mkdir(md_fs_group_dir(fs, to, ptemp), md_fs_modes[to].dir, ptemp);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    /* The new item gets its final modes before anyone can see it. */
    normalize_item(src, to, ptemp);
    if (lstat(dst, &st) == 0) {
        if (archive && (rv = archive_copy(&archived, fs, dst, name, ptemp)) != APR_SUCCESS) {
            goto leave;
        }
        md_testhook_crash("move", "archived");
        if ((rv = swap_in(&old, fs, from, to, src, dst, ptemp)) != APR_SUCCESS) {
            goto leave;
        }
        md_testhook_crash("move", "swapped");
        /* Hide it at once: a restart must not find the old set where the
         * new one came from. */
        rv = md_fs_remove_item_dir(md_fs_group_dir(fs, from, ptemp), old, ptemp);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, ptemp,
                          "MD05029: %s: could not remove the replaced item", old);
        }
        rv = APR_SUCCESS;
    }
    else if (errno != ENOENT) {
        rv = md_fsio_err();
        goto leave;
    }
    else if (rename(src, dst) != 0) {
        rv = md_fsio_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05046: cannot rename %s to %s",
                      src, dst);
        goto leave;
    }
    if ((rv = md_fsio_sync_dir(md_fs_group_dir(fs, to, ptemp))) == APR_SUCCESS) {
        rv = md_fsio_sync_dir(md_fs_group_dir(fs, from, ptemp));
    }
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05027: fsync after moving %s "
                      "from %s to %s failed", name, md_store_group_name(from),
                      md_store_group_name(to));
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, ptemp, "MD05028: moved %s from %s to %s%s%s",
                  name, md_store_group_name(from), md_store_group_name(to),
                  archived ? ", previous archived as " : "", archived ? archived : "");
leave:
    apr_pool_destroy(ptemp);
    return rv;
}

/* --- rename ------------------------------------------------------------- */

apr_status_t md_fs_rename(md_store_t *store, md_store_group_t group, const char *from,
                          const char *to, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    const char *src;
    const char *dst;
    apr_status_t rv;

    if (group == MD_SG_NONE) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD05044: cannot rename in store group %d", (int)group);
        return APR_EINVAL;
    }
    if ((rv = md_fs_check_addr(group, from, NULL, 0, p)) != APR_SUCCESS
        || (rv = md_fs_check_addr(group, to, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    src = md_fs_item_dir(fs, group, from, p);
    dst = md_fs_item_dir(fs, group, to, p);
    if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) != 0) {
        struct stat st;

        if (errno != EINVAL) {
            return md_fsio_err();
        }
        /* No RENAME_NOREPLACE on this file system: check, then rename. */
        if (lstat(dst, &st) == 0) {
            return APR_EEXIST;
        }
        if (rename(src, dst) != 0) {
            return md_fsio_err();
        }
    }
    return md_fsio_sync_dir(md_fs_group_dir(fs, group, p));
}

/* --- the store lock ----------------------------------------------------- */

apr_status_t md_fs_lock(md_store_t *store, apr_interval_time_t max_wait, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);

    if (fs->lock_fd >= 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD05045: %s: the store lock "
                      "is held already", fs->base);
        return APR_EINVAL;
    }
    return md_fsio_lock(&fs->lock_fd, apr_pstrcat(p, fs->base, "/" MD_FN_STORE_LOCK, NULL),
                        max_wait, p);
}

apr_status_t md_fs_unlock(md_store_t *store, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);

    (void)p;
    md_fsio_unlock(fs->lock_fd);
    fs->lock_fd = -1;
    return APR_SUCCESS;
}
