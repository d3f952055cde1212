/* The file-system store: the stock mod_md's directory layout under one base
 * directory (see md_store.h), written so that a crash at any instant leaves
 * either the old or the new value (STYLE §11).
 *
 * The POSIX plumbing (atomic write, bounded read, removal) is in
 * md_store_fs_io.c; this file maps (group, name, aspect) to paths and modes.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "md_crypt.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_store.h"
#include "md_store_fs_io.h"
#include "md_util.h"

/* Longest path component we accept (NAME_MAX on Linux). */
#define NAME_MAX_LEN        255
/* Archive numbers tried before giving up: someone should clean up first. */
#define ARCHIVE_MAX_N       1000
/* The secret file mode: owner only. */
#define MODE_SECRET         0600

typedef struct {
    md_store_t s;           /* first: the md_store_t* we hand out is this */
    const char *base;
} fs_store_t;

/* Modes per group: of the group directory, of item directories in it and of
 * non-secret files. Secret files are always MODE_SECRET. Groups marked
 * child are written by the unprivileged watchdog child and handed to its
 * user by set_owner; the others are root's alone. */
typedef struct {
    mode_t dir;
    mode_t item;
    mode_t file;
    int child;
} group_modes_t;

static const group_modes_t MODES[MD_SG_COUNT] = {
    [MD_SG_NONE]       = { 0755, 0755, 0644, 0 },
    /* The child registers accounts and reuses them for the next MD without
     * waiting for a restart. Account keys stay encrypted with the store key,
     * which the child holds in memory anyway. */
    [MD_SG_ACCOUNTS]   = { 0700, 0700, 0644, 1 },
    [MD_SG_CHALLENGES] = { 0755, 0755, 0644, 1 },
    /* mod_ssl reads keys here as root: nothing in it is for anyone else. */
    [MD_SG_DOMAINS]    = { 0700, 0700, 0600, 0 },
    [MD_SG_STAGING]    = { 0755, 0755, 0644, 1 },
    [MD_SG_ARCHIVE]    = { 0700, 0700, 0644, 0 },
    [MD_SG_TMP]        = { 0700, 0700, 0644, 0 },
};

static fs_store_t *fs_of(md_store_t *store)
{
    return (fs_store_t *)store;
}

/* --- names and paths -------------------------------------------------- */

static int valid_component(const char *s)
{
    if (!s || !*s || *s == '.' || strlen(s) > NAME_MAX_LEN) {
        return 0;
    }
    return strpbrk(s, "/\\") == NULL;
}

static apr_status_t bad_name(const char *what, const char *s, apr_pool_t *p)
{
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                  "MD05001: invalid store %s \"%s\": must be a single path component, "
                  "not empty, not starting with '.', without '/' or '\\'", what,
                  s ? md_util_str_printable(p, s, 80) : "(null)");
    return APR_EINVAL;
}

static int valid_group(md_store_group_t group)
{
    return (int)group >= 0 && group < MD_SG_COUNT;
}

/* Check (group, name) and, when need_aspect, the aspect. */
static apr_status_t check_addr(md_store_group_t group, const char *name, const char *aspect,
                               int need_aspect, apr_pool_t *p)
{
    if (!valid_group(group)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD05002: invalid store group %d", (int)group);
        return APR_EINVAL;
    }
    if (group == MD_SG_NONE) {
        if (name) {
            return bad_name("name (group none takes none)", name, p);
        }
    }
    else if (!valid_component(name)) {
        return bad_name("name", name, p);
    }
    if (need_aspect && !valid_component(aspect)) {
        return bad_name("aspect", aspect, p);
    }
    return APR_SUCCESS;
}

static const char *group_dir(const fs_store_t *fs, md_store_group_t group, apr_pool_t *p)
{
    if (group == MD_SG_NONE) {
        return fs->base;
    }
    return apr_pstrcat(p, fs->base, "/", md_store_group_name(group), NULL);
}

/* Directory of an item (the base itself for MD_SG_NONE). */
static const char *item_dir(const fs_store_t *fs, md_store_group_t group, const char *name,
                            apr_pool_t *p)
{
    if (group == MD_SG_NONE) {
        return fs->base;
    }
    return apr_pstrcat(p, group_dir(fs, group, p), "/", name, NULL);
}

/* --- items ------------------------------------------------------------------ */

/* Make the item's directory (and its group's) exist; *pdir its path. */
static apr_status_t ensure_item_dir(const char **pdir, const fs_store_t *fs,
                                    md_store_group_t group, const char *name, apr_pool_t *p)
{
    apr_status_t rv;

    *pdir = item_dir(fs, group, name, p);
    if (group == MD_SG_NONE) {
        return APR_SUCCESS;
    }
    rv = md_fsio_mkdir(group_dir(fs, group, p), MODES[group].dir, p);
    if (rv == APR_SUCCESS) {
        rv = md_fsio_mkdir(*pdir, MODES[group].item, p);
    }
    return rv;
}

/* Prefixes of what is being deleted, dot-named in the group directory so
 * that it is never listed and a rename there needs no other permissions. */
#define GONE_PREFIX     ".gone."

/* Take an item out of sight in one rename, then delete it: readers see the
 * whole item or nothing, never half of it. */
static apr_status_t remove_item_dir(const char *gdir, const char *dir, apr_pool_t *p)
{
    const char *doomed = apr_pstrcat(p, gdir, "/" GONE_PREFIX, md_fsio_rnd_hex(p), NULL);
    apr_status_t rv;

    if (rename(dir, doomed) != 0) {
        return md_fsio_err();
    }
    rv = md_fsio_rm_tree(doomed, MD_FSIO_MAX_DEPTH, p);
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD05013: %s: could not remove "
                      "everything (was %s)", doomed, dir);
    }
    return rv;
}

/* What a crash left between hiding and deleting an item. Best effort: a
 * process still deleting it only makes us see ENOENT. */
static void remove_leftovers(const char *gdir, apr_pool_t *p)
{
    struct dirent *de;
    DIR *d = opendir(gdir);

    if (!d) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (!strncmp(de->d_name, GONE_PREFIX, sizeof(GONE_PREFIX) - 1)) {
            md_fsio_rm_tree(apr_pstrcat(p, gdir, "/", de->d_name, NULL), MD_FSIO_MAX_DEPTH, p);
        }
    }
    closedir(d);
}

/* --- md_store.json ----------------------------------------------------- */

static apr_status_t store_json_invalid(const char *path, const char *what, apr_pool_t *p)
{
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                  "MD05014: %s: %s. The file holds the key of the encrypted private keys "
                  "in this store; it is left untouched. Restore it from a backup, or move "
                  "the whole store directory aside to start afresh.", path, what);
    return APR_EINVAL;
}

static apr_status_t read_store_json(fs_store_t *fs, const char *path, const char *data,
                                    apr_size_t len, apr_pool_t *p, apr_pool_t *ptemp)
{
    const char *err = NULL;
    const char *key64;
    const json_t *jstore;
    const json_t *jversion;
    unsigned char *key = NULL;
    apr_size_t key_len = 0;
    json_t *j;
    double version;

    if (md_json_parse(&j, data, len, path, &err, ptemp) != APR_SUCCESS) {
        return store_json_invalid(path, apr_pstrcat(ptemp, "not valid JSON (",
                                                    err ? err : "?", ")", NULL), ptemp);
    }
    if (!json_is_object(j)) {
        return store_json_invalid(path, "not a JSON object", ptemp);
    }
    jstore = md_json_get_obj(j, MD_KEY_STORE);
    jversion = jstore ? json_object_get(jstore, MD_KEY_VERSION) : NULL;
    if (!json_is_number(jversion)) {
        return store_json_invalid(path, "no \"store\": {\"version\"} number (stores of "
                                  "mod_md 1.x are not supported)", ptemp);
    }
    version = json_number_value(jversion);
    if (version > MD_STORE_VERSION) {
        return store_json_invalid(path, apr_psprintf(ptemp, "store version %g is newer than "
                                                     "the supported %g", version,
                                                     MD_STORE_VERSION), ptemp);
    }
    if (version < 2.0) {
        return store_json_invalid(path, apr_psprintf(ptemp, "store version %g is too old "
                                                     "(mod_md 1.x)", version), ptemp);
    }
    /* Version 2 differs from 3 only in md_store.json itself: readable as is. */
    key64 = md_json_get_str(j, MD_KEY_KEY);
    if (!key64) {
        return store_json_invalid(path, "no \"key\" string", ptemp);
    }
    if (md_util_base64url_decode(&key, &key_len, key64, p) != APR_SUCCESS) {
        return store_json_invalid(path, "\"key\" is not base64url", ptemp);
    }
    if (key_len != MD_STORE_KEY_LEN) {
        md_fsio_cleanse(key, key_len);
        return store_json_invalid(path, apr_psprintf(ptemp, "\"key\" has %" APR_SIZE_T_FMT
                                                     " bytes, expected %d", key_len,
                                                     MD_STORE_KEY_LEN), ptemp);
    }
    fs->s.key = key;
    fs->s.key_len = key_len;
    return APR_SUCCESS;
}

/* A new md_store.json with a fresh key; APR_EEXIST if another process made
 * one meanwhile (the caller reads that one). */
static apr_status_t create_store_json(const fs_store_t *fs, apr_pool_t *ptemp)
{
    unsigned char key[MD_STORE_KEY_LEN];
    json_t *j = NULL;
    json_t *jstore;
    char *text = NULL;
    apr_status_t rv;

    if ((rv = md_crypt_random(key, sizeof(key))) != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05015: no random bytes for the "
                      "store key");
        return rv;
    }
    /* Same shape as the stock module's: the version is a real number (3.0). */
    if (!(jstore = json_pack("{s:f}", MD_KEY_VERSION, MD_STORE_VERSION))
        || !(j = json_pack("{s:o,s:s}", MD_KEY_STORE, jstore, MD_KEY_KEY,
                           md_util_base64url_encode(key, sizeof(key), ptemp)))
        || !(text = json_dumps(j, JSON_INDENT(2)))) {
        rv = APR_ENOMEM;
        goto leave;
    }
    rv = md_fsio_write_atomic(fs->base, MD_FN_STORE_JSON, text, strlen(text), MODE_SECRET, 0,
                              ptemp);
leave:
    md_fsio_cleanse(key, sizeof(key));
    if (text) {
        md_fsio_cleanse(text, strlen(text));
        free(text);
    }
    json_decref(j);
    return rv;
}

static apr_status_t setup_store_json(fs_store_t *fs, apr_pool_t *p, apr_pool_t *ptemp)
{
    const char *path = apr_pstrcat(ptemp, fs->base, "/", MD_FN_STORE_JSON, NULL);
    apr_size_t len = 0;
    char *data = NULL;
    apr_status_t rv;
    int tries;

    for (tries = 0; tries < 2; ++tries) {
        rv = md_fsio_read(&data, &len, path, MD_JSON_MAX_LEN, ptemp);
        if (rv == APR_SUCCESS) {
            rv = read_store_json(fs, path, data, len, p, ptemp);
            md_fsio_cleanse(data, len);
            return rv;
        }
        if (!APR_STATUS_IS_ENOENT(rv)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05016: %s: cannot read", path);
            return rv;
        }
        rv = create_store_json(fs, ptemp);
        if (!APR_STATUS_IS_EEXIST(rv)) {
            break;
        }
    }
    if (rv == APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, ptemp, "MD05017: %s: created a new "
                      "store", path);
        /* Read back what we wrote: one code path sets the key. */
        if ((rv = md_fsio_read(&data, &len, path, MD_JSON_MAX_LEN, ptemp)) == APR_SUCCESS) {
            rv = read_store_json(fs, path, data, len, p, ptemp);
            md_fsio_cleanse(data, len);
        }
    }
    return rv;
}

/* --- the operations ------------------------------------------------------ */

static apr_status_t fs_load(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, char **pdata, apr_size_t *plen, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    apr_status_t rv;

    *pdata = NULL;
    *plen = 0;
    if ((rv = check_addr(group, name, aspect, 1, p)) != APR_SUCCESS) {
        return rv;
    }
    return md_fsio_read(pdata, plen,
                        apr_pstrcat(p, item_dir(fs, group, name, p), "/", aspect, NULL),
                        MD_STORE_MAX_VALUE_LEN, p);
}

static apr_status_t fs_save(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, const char *data, apr_size_t len, int secret,
                            apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    const char *dir;
    apr_pool_t *ptemp;
    apr_status_t rv;

    if ((rv = check_addr(group, name, aspect, 1, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = ensure_item_dir(&dir, fs, group, name, ptemp)) == APR_SUCCESS) {
        rv = md_fsio_write_atomic(dir, aspect, data, len,
                                  secret ? MODE_SECRET : MODES[group].file, 1, ptemp);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

static apr_status_t fs_remove(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    apr_status_t rv;

    if ((rv = check_addr(group, name, aspect, 1, p)) != APR_SUCCESS) {
        return rv;
    }
    if (unlink(apr_pstrcat(p, item_dir(fs, group, name, p), "/", aspect, NULL)) != 0) {
        return md_fsio_err();
    }
    return APR_SUCCESS;
}

static apr_status_t fs_purge(md_store_t *store, md_store_group_t group, const char *name,
                             apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    const char *dir;
    struct stat st;
    apr_status_t rv;

    if ((rv = check_addr(group, name, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    if (group == MD_SG_NONE) {
        return bad_name("group for purge", "none", p);
    }
    dir = item_dir(fs, group, name, p);
    if (lstat(dir, &st) != 0) {
        return md_fsio_err();
    }
    return remove_item_dir(group_dir(fs, group, p), dir, p);
}

static apr_status_t fs_list(md_store_t *store, md_store_group_t group,
                            apr_array_header_t **pnames, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    apr_status_t rv;

    *pnames = NULL;
    if (!valid_group(group) || group == MD_SG_NONE) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD05018: cannot list items of store group %d", (int)group);
        return APR_EINVAL;
    }
    rv = md_fsio_list(pnames, group_dir(fs, group, p), 1, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *pnames = apr_array_make(p, 1, sizeof(const char *));
        rv = APR_SUCCESS;
    }
    return rv;
}

static apr_status_t fs_list_aspects(md_store_t *store, md_store_group_t group, const char *name,
                                    apr_array_header_t **paspects, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    apr_status_t rv;

    *paspects = NULL;
    if ((rv = check_addr(group, name, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    return md_fsio_list(paspects, item_dir(fs, group, name, p), 0, p);
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

    if (MODES[group].child || group == MD_SG_NONE) {
        return;
    }
    if (chmod(dir, MODES[group].item) != 0 || (as_root && chown(dir, 0, getegid()) != 0)) {
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
        if (chmod(path, MODES[group].file) != 0
            || (as_root && st.st_uid != 0 && chown(path, 0, getegid()) != 0)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, md_fsio_err(), p,
                          "MD05020: %s: cannot set mode/owner", path);
        }
    }
    closedir(d);
}

/* Move the existing item at dst into archive/<name>.<n>, n the first free
 * number; *parchived its new path. */
static apr_status_t archive_item(const char **parchived, const fs_store_t *fs,
                                 const char *dst, const char *name, apr_pool_t *p)
{
    const char *arch_dir = group_dir(fs, MD_SG_ARCHIVE, p);
    struct stat st;
    apr_status_t rv;
    int n;

    *parchived = NULL;
    if ((rv = md_fsio_mkdir(arch_dir, MODES[MD_SG_ARCHIVE].dir, p)) != APR_SUCCESS) {
        return rv;
    }
    for (n = 1; n < ARCHIVE_MAX_N; ++n) {
        const char *cand = apr_psprintf(p, "%s/%s.%d", arch_dir, name, n);
        if (lstat(cand, &st) == 0) {
            continue;
        }
        if (errno != ENOENT) {
            return md_fsio_err();
        }
        /* rename() would also replace an empty directory created meanwhile;
         * a non-empty one makes it fail and we take the next number. */
        if (rename(dst, cand) == 0) {
            *parchived = cand;
            return md_fsio_sync_dir(arch_dir);
        }
        if (errno != EEXIST && errno != ENOTEMPTY) {
            rv = md_fsio_err();
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05021: cannot move %s to %s",
                          dst, cand);
            return rv;
        }
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EGENERAL, p,
                  "MD05022: %s: no free archive number below %d for %s; clean up old "
                  "archive directories", arch_dir, ARCHIVE_MAX_N, name);
    return APR_EGENERAL;
}

static apr_status_t fs_move(md_store_t *store, md_store_group_t from, md_store_group_t to,
                            const char *name, int archive, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    const char *src;
    const char *dst;
    const char *old = NULL;
    const char *doomed = NULL;
    struct stat st;
    apr_pool_t *ptemp;
    apr_status_t rv;

    if (!valid_group(from) || !valid_group(to) || from == to
        || from == MD_SG_NONE || to == MD_SG_NONE) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD05023: cannot move items from group %d to %d", (int)from, (int)to);
        return APR_EINVAL;
    }
    if ((rv = check_addr(from, name, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    src = item_dir(fs, from, name, ptemp);
    dst = item_dir(fs, to, name, ptemp);
    if (lstat(src, &st) != 0) {
        rv = md_fsio_err();
        goto leave;
    }
    if (!S_ISDIR(st.st_mode)) {
        rv = APR_ENOTDIR;
        goto leave;
    }
    if ((rv = md_fsio_mkdir(group_dir(fs, to, ptemp), MODES[to].dir, ptemp)) != APR_SUCCESS) {
        goto leave;
    }
    /* Make room at dst with a single rename, so that dst is missing for
     * only the instant between two renames. */
    if (lstat(dst, &st) == 0) {
        if (archive) {
            rv = archive_item(&old, fs, dst, name, ptemp);
        }
        else {
            old = apr_pstrcat(ptemp, group_dir(fs, to, ptemp), "/" GONE_PREFIX,
                              md_fsio_rnd_hex(ptemp), NULL);
            if (rename(dst, old) != 0) {
                rv = md_fsio_err();
                md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp,
                              "MD05024: cannot move %s out of the way to %s", dst, old);
                old = NULL;
            }
            doomed = old;
        }
        if (rv != APR_SUCCESS) {
            goto leave;
        }
    }
    else if (errno != ENOENT) {
        rv = md_fsio_err();
        goto leave;
    }
    if (rename(src, dst) != 0) {
        rv = md_fsio_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05025: cannot rename %s to %s",
                      src, dst);
        /* Put the previous item back: better old than nothing. */
        if (old && rename(old, dst) != 0) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, md_fsio_err(), ptemp,
                          "MD05026: cannot restore %s from %s", dst, old);
        }
        doomed = NULL;
        goto leave;
    }
    normalize_item(dst, to, ptemp);
    if ((rv = md_fsio_sync_dir(group_dir(fs, to, ptemp))) == APR_SUCCESS) {
        rv = md_fsio_sync_dir(group_dir(fs, from, ptemp));
    }
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05027: fsync after moving %s "
                      "from %s to %s failed", name, md_store_group_name(from),
                      md_store_group_name(to));
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, rv, ptemp, "MD05028: moved %s from %s to %s%s%s",
                  name, md_store_group_name(from), md_store_group_name(to),
                  (old && archive) ? ", previous archived as " : "",
                  (old && archive) ? old : "");
leave:
    if (doomed) {
        apr_status_t rv2 = md_fsio_rm_tree(doomed, MD_FSIO_MAX_DEPTH, ptemp);
        if (rv2 != APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv2, ptemp,
                          "MD05029: %s: could not remove everything", doomed);
        }
    }
    apr_pool_destroy(ptemp);
    return rv;
}

static apr_time_t fs_get_mtime(md_store_t *store, md_store_group_t group, const char *name,
                               const char *aspect, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    struct stat st;
    apr_time_t t;

    if (check_addr(group, name, aspect, 1, p) != APR_SUCCESS
        || stat(apr_pstrcat(p, item_dir(fs, group, name, p), "/", aspect, NULL), &st) != 0) {
        return 0;
    }
    t = apr_time_from_sec(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1000;
    /* 0 means "not there": a file stamped with the epoch still exists. */
    return t > 0 ? t : 1;
}

static apr_status_t fs_get_fname(md_store_t *store, md_store_group_t group, const char *name,
                                 const char *aspect, const char **pfname, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    apr_status_t rv;

    *pfname = NULL;
    if (!valid_group(group)) {
        return check_addr(group, name, aspect, 0, p);
    }
    if (group != MD_SG_NONE && !name && !aspect) {
        *pfname = group_dir(fs, group, p);
        return APR_SUCCESS;
    }
    if ((rv = check_addr(group, name, aspect, aspect != NULL, p)) != APR_SUCCESS) {
        return rv;
    }
    *pfname = aspect ? apr_pstrcat(p, item_dir(fs, group, name, p), "/", aspect, NULL)
                     : item_dir(fs, group, name, p);
    return APR_SUCCESS;
}

static apr_status_t fs_set_owner(md_store_t *store, int uid, int gid, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    apr_status_t rv = APR_SUCCESS;
    apr_pool_t *ptemp;
    int g;

    if (apr_pool_create(&ptemp, p) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    for (g = 0; g < MD_SG_COUNT; ++g) {
        const char *dir;
        apr_status_t rv2;
        if (!MODES[g].child) {
            continue;
        }
        dir = group_dir(fs, (md_store_group_t)g, ptemp);
        rv2 = md_fsio_mkdir(dir, MODES[g].dir, ptemp);
        if (rv2 == APR_SUCCESS) {
            rv2 = md_fsio_chown_tree(dir, (uid_t)uid, (gid_t)gid, MD_FSIO_MAX_DEPTH, ptemp);
        }
        if (rv == APR_SUCCESS) {
            rv = rv2;
        }
    }
    apr_pool_destroy(ptemp);
    return rv;
}

static const md_store_ops_t fs_ops = {
    fs_load,
    fs_save,
    fs_remove,
    fs_purge,
    fs_list,
    fs_list_aspects,
    fs_move,
    fs_get_mtime,
    fs_get_fname,
    fs_set_owner,
};

apr_status_t md_store_fs_open(md_store_t **pstore, apr_pool_t *p, const char *base_dir)
{
    fs_store_t *fs;
    struct stat st;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv;
    int g;

    *pstore = NULL;
    if (!base_dir || !*base_dir) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p, "MD05031: no store directory");
        return APR_EINVAL;
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    fs = apr_pcalloc(p, sizeof(*fs));
    fs->s.ops = &fs_ops;
    fs->base = apr_pstrdup(p, base_dir);

    if (stat(fs->base, &st) != 0) {
        if (errno != ENOENT) {
            rv = md_fsio_err();
        }
        else if ((rv = apr_dir_make_recursive(fs->base, APR_FPROT_OS_DEFAULT, ptemp))
                 == APR_SUCCESS && chmod(fs->base, MODES[MD_SG_NONE].dir) != 0) {
            rv = md_fsio_err();
        }
        if (rv != APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05032: %s: cannot create "
                          "the store directory", fs->base);
            goto leave;
        }
    }
    else if (!S_ISDIR(st.st_mode)) {
        rv = APR_ENOTDIR;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05033: %s: not a directory",
                      fs->base);
        goto leave;
    }
    /* md_store.json first: with a bad one we change nothing at all. */
    if ((rv = setup_store_json(fs, p, ptemp)) != APR_SUCCESS) {
        goto leave;
    }
    for (g = MD_SG_NONE + 1; g < MD_SG_COUNT; ++g) {
        const char *gdir = group_dir(fs, (md_store_group_t)g, ptemp);
        if ((rv = md_fsio_mkdir(gdir, MODES[g].dir, ptemp)) != APR_SUCCESS) {
            goto leave;
        }
        remove_leftovers(gdir, ptemp);
    }
    *pstore = &fs->s;
leave:
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05034: %s: cannot open the store",
                      fs->base);
    }
    apr_pool_destroy(ptemp);
    return rv;
}
