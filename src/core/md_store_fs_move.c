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

/* Make a file in a root-only item ours as if we had written it: through a
 * descriptor, never a link, regular files only. */
static void normalize_file(const md_fsio_dir_t *dir, const char *name, mode_t mode, int as_root,
                           apr_pool_t *p)
{
    struct stat st;
    int fd = openat(dir->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        return;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
        && (fchmod(fd, mode) != 0 || (as_root && st.st_uid != 0 && fchown(fd, 0, getegid())))) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, md_fsio_err(), p,
                      "MD05020: %s/%s: cannot set mode/owner", dir->path, name);
    }
    close(fd);
}

/* After a move into a root-only group: the item's modes (and owner) as if
 * we had written it there ourselves. Best effort: the group directory is
 * 0700 and root's already, this is the second fence. */
static void normalize_item(const md_fsio_dir_t *dir, md_store_group_t group, apr_pool_t *p)
{
    const int as_root = (geteuid() == 0);
    apr_array_header_t *names = NULL;
    int i;

    if (md_fs_modes[group].child || group == MD_SG_NONE) {
        return;
    }
    if (fchmod(dir->fd, md_fs_modes[group].item) != 0
        || (as_root && fchown(dir->fd, 0, getegid()) != 0)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, md_fsio_err(), p,
                      "MD05019: %s: cannot set mode/owner", dir->path);
    }
    if (group != MD_SG_DOMAINS || md_fsio_list(&names, dir, 0, p) != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < names->nelts; ++i) {
        normalize_file(dir, APR_ARRAY_IDX(names, i, const char *), md_fs_modes[group].file,
                       as_root, p);
    }
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

/* Copy the item dir into archive/<name>.<n>, n the first free number,
 * with private keys encrypted. Built under a hidden name first, so the
 * archive never shows a partial copy. */
static apr_status_t archive_copy(const char **parchived, fs_store_t *fs,
                                 const md_fsio_dir_t *dir, const char *name, apr_pool_t *p)
{
    const char *hidden = apr_pstrcat(p, GONE_PREFIX, md_fsio_rnd_hex(p), NULL);
    md_fsio_dir_t *arch;
    struct stat st;
    apr_status_t rv;
    int n;

    *parchived = NULL;
    if ((rv = md_fs_open_group(&arch, fs, MD_SG_ARCHIVE, 1, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = md_fsio_copy_dir(dir, arch, hidden, md_fs_modes[MD_SG_ARCHIVE].item,
                          md_fs_modes[MD_SG_ARCHIVE].file, MD_STORE_MAX_VALUE_LEN,
                          encrypt_keys, &fs->s, p);
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05042: cannot copy %s into the "
                      "archive", dir->path);
        return rv;
    }
    for (n = 1; n < ARCHIVE_MAX_N; ++n) {
        const char *cand = apr_psprintf(p, "%s.%d", name, n);
        if (md_fsio_stat(&st, arch, cand) == APR_SUCCESS) {
            continue;
        }
        /* No replacing: a number taken meanwhile makes us try the next. */
        rv = md_fsio_rename(arch, hidden, arch, cand, 1);
        if (rv == APR_SUCCESS) {
            *parchived = apr_pstrcat(p, arch->path, "/", cand, NULL);
            return md_fsio_dir_sync(arch);
        }
        if (!APR_STATUS_IS_EEXIST(rv) && !APR_STATUS_IS_ENOTEMPTY(rv)) {
            break;
        }
    }
    rv = (n < ARCHIVE_MAX_N) ? rv : APR_EGENERAL;
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05022: %s: no archive number below %d "
                  "usable for %s; clean up old archive directories", arch->path, ARCHIVE_MAX_N,
                  name);
    md_fsio_rm_tree(arch, hidden, MD_FSIO_MAX_DEPTH, p);
    return rv;
}

/* --- move --------------------------------------------------------------- */

/* Put name of from in place of the existing name of to in one step;
 * *pold is the name in *pold_dir where the previous one now is (to be
 * deleted). */
static apr_status_t swap_in(const md_fsio_dir_t **pold_dir, const char **pold,
                            const md_fsio_dir_t *from, const md_fsio_dir_t *to,
                            const char *name, apr_pool_t *p)
{
    const char *aside;
    apr_status_t rv;

    *pold = NULL;
    rv = md_fsio_exchange(from, name, to, name);
    if (rv == APR_SUCCESS) {
        *pold_dir = from;
        *pold = name;
        return APR_SUCCESS;
    }
    if (rv != APR_ENOTIMPL) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05024: cannot swap %s/%s and %s/%s",
                      from->path, name, to->path, name);
        return rv;
    }
    /* No atomic exchange here: the item is missing between two renames. */
    aside = apr_pstrcat(p, GONE_PREFIX, md_fsio_rnd_hex(p), NULL);
    if ((rv = md_fsio_rename(to, name, to, aside, 1)) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05043: cannot move %s/%s out of the "
                      "way to %s", to->path, name, aside);
        return rv;
    }
    if ((rv = md_fsio_rename(from, name, to, name, 0)) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05025: cannot rename %s/%s to %s/%s",
                      from->path, name, to->path, name);
        /* Put the previous item back: better old than nothing. */
        if (md_fsio_rename(to, aside, to, name, 0) != APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, md_fsio_err(), p,
                          "MD05026: cannot restore %s/%s from %s", to->path, name, aside);
        }
        return rv;
    }
    *pold_dir = to;
    *pold = aside;
    return APR_SUCCESS;
}

/* name exists in to_dir already: archive it if asked (*parchived says
 * where), swap the new one from from_dir in, and remove the old one. */
static apr_status_t replace_existing(const char **parchived, fs_store_t *fs,
                                     const md_fsio_dir_t *from_dir,
                                     const md_fsio_dir_t *to_dir, const char *name,
                                     int archive, apr_pool_t *ptemp)
{
    md_fsio_dir_t *dst;
    const md_fsio_dir_t *old_dir = NULL;
    const char *old = NULL;
    apr_status_t rv = APR_SUCCESS;

    if (archive && (rv = md_fsio_dir_open(&dst, to_dir, name, ptemp)) == APR_SUCCESS) {
        rv = archive_copy(parchived, fs, dst, name, ptemp);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    md_testhook_crash("move", "archived");
    if ((rv = swap_in(&old_dir, &old, from_dir, to_dir, name, ptemp)) != APR_SUCCESS) {
        return rv;
    }
    md_testhook_crash("move", "swapped");
    /* Hide it at once: a restart must not find the old set where the
     * new one came from. */
    rv = md_fs_remove_item(old_dir, old, ptemp);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, ptemp,
                      "MD05029: %s/%s: could not remove the replaced item", old_dir->path,
                      old);
    }
    return APR_SUCCESS;
}

apr_status_t md_fs_move(md_store_t *store, md_store_group_t from, md_store_group_t to,
                        const char *name, int archive, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    md_fsio_dir_t *from_dir;
    md_fsio_dir_t *to_dir;
    md_fsio_dir_t *src;
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
    md_fs_batch_forget_item(fs);
    if ((rv = md_fs_open_group(&from_dir, fs, from, 0, ptemp)) != APR_SUCCESS
        || (rv = md_fs_open_group(&to_dir, fs, to, 1, ptemp)) != APR_SUCCESS) {
        goto leave;
    }
    /* A link where the item should be: refused (and logged) here. */
    if ((rv = md_fsio_dir_open(&src, from_dir, name, ptemp)) != APR_SUCCESS) {
        goto leave;
    }
    /* The new item gets its final modes before anyone can see it. */
    normalize_item(src, to, ptemp);
    rv = md_fsio_stat(&st, to_dir, name);
    if (rv == APR_SUCCESS) {
        if ((rv = replace_existing(&archived, fs, from_dir, to_dir, name, archive, ptemp))
            != APR_SUCCESS) {
            goto leave;
        }
    }
    else if (rv != APR_ENOENT) {
        goto leave;
    }
    else if ((rv = md_fsio_rename(from_dir, name, to_dir, name, 1)) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05046: cannot rename %s/%s to "
                      "%s/%s", from_dir->path, name, to_dir->path, name);
        goto leave;
    }
    if ((rv = md_fsio_dir_sync(to_dir)) == APR_SUCCESS) {
        rv = md_fsio_dir_sync(from_dir);
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
    md_fsio_dir_t *gdir;
    apr_pool_t *ptemp;
    apr_status_t rv;

    if (group == MD_SG_NONE) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD05044: cannot rename in store group %d", (int)group);
        return APR_EINVAL;
    }
    if ((rv = md_fs_check_addr(group, from, NULL, 0, p)) != APR_SUCCESS
        || (rv = md_fs_check_addr(group, to, NULL, 0, p)) != APR_SUCCESS
        || (rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    md_fs_batch_forget_item(fs_of(store));
    /* The directory is closed with ptemp (or the batch), not with the
     * caller's pool. */
    if ((rv = md_fs_open_group(&gdir, fs_of(store), group, 0, ptemp)) == APR_SUCCESS
        && (rv = md_fsio_rename(gdir, from, gdir, to, 1)) == APR_SUCCESS) {
        rv = md_fsio_dir_sync(gdir);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

/* --- the store lock ----------------------------------------------------- */

apr_status_t md_fs_lock(md_store_t *store, apr_interval_time_t max_wait, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    md_fsio_dir_t *base;
    apr_pool_t *ptemp;
    apr_status_t rv;

    if (fs->lock_fd >= 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD05045: %s: the store lock "
                      "is held already", fs->base);
        return APR_EINVAL;
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = md_fs_open_group(&base, fs, MD_SG_NONE, 0, ptemp)) == APR_SUCCESS) {
        rv = md_fsio_lock(&fs->lock_fd, base, MD_FN_STORE_LOCK, max_wait, ptemp);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

apr_status_t md_fs_unlock(md_store_t *store, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);

    (void)p;
    md_fsio_unlock(fs->lock_fd);
    fs->lock_fd = -1;
    return APR_SUCCESS;
}
