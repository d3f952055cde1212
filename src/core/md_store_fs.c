/* The file-system store: the stock mod_md's directory layout under one base
 * directory (see md_store.h), written so that a crash at any instant leaves
 * either the old or the new value (STYLE §11).
 *
 * The POSIX plumbing (atomic write, bounded read, removal) is in
 * md_store_fs_io.c; this file maps (group, name, aspect) to directories and
 * modes. Below the base every step is one name relative to an open
 * directory, never through a link: accounts/, challenges/ and staging/
 * belong to the server's User, and the parent works there as root.
 */
#define _POSIX_C_SOURCE 200809L

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
#include "md_store_fs_int.h"
#include "md_store_fs_io.h"
#include "md_testhook.h"
#include "md_util.h"

/* Longest path component we accept (NAME_MAX on Linux). */
#define NAME_MAX_LEN        255
const md_fs_modes_t md_fs_modes[MD_SG_COUNT] = {
    [MD_SG_NONE]       = { 0755, 0755, 0644, 0 },
    /* The child registers accounts and reuses them for the next MD without
     * waiting for a restart. Account keys stay encrypted with the store key,
     * which the child holds in memory anyway. */
    [MD_SG_ACCOUNTS]   = { 0700, 0700, 0644, 1 },
    [MD_SG_CHALLENGES] = { 0755, 0755, 0644, 1 },
    /* mod_ssl reads keys here as root: nothing in it is for anyone else. */
    [MD_SG_DOMAINS]    = { 0700, 0700, 0600, 0 },
    [MD_SG_STAGING]    = { 0755, 0755, 0644, 1 },
    [MD_SG_ARCHIVE]    = { 0700, 0700, 0600, 0 },
    [MD_SG_TMP]        = { 0700, 0700, 0644, 0 },
    /* The watchdog child fetches OCSP responses; stock's modes. */
    [MD_SG_OCSP]       = { 0755, 0755, 0644, 1 },
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

int md_fs_valid_group(md_store_group_t group)
{
    return (int)group >= 0 && group < MD_SG_COUNT;
}

/* Check (group, name) and, when need_aspect, the aspect. */
apr_status_t md_fs_check_addr(md_store_group_t group, const char *name, const char *aspect,
                               int need_aspect, apr_pool_t *p)
{
    if (!md_fs_valid_group(group)) {
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

const char *md_fs_group_path(const fs_store_t *fs, md_store_group_t group, apr_pool_t *p)
{
    if (group == MD_SG_NONE) {
        return fs->base;
    }
    return apr_pstrcat(p, fs->base, "/", md_store_group_name(group), NULL);
}

const char *md_fs_item_path(const fs_store_t *fs, md_store_group_t group, const char *name,
                            apr_pool_t *p)
{
    if (group == MD_SG_NONE) {
        return fs->base;
    }
    return apr_pstrcat(p, md_fs_group_path(fs, group, p), "/", name, NULL);
}

/* --- directories -------------------------------------------------------------- */

/* The base path is the admin's (MDStoreDir, under ServerRoot): trusted as
 * a whole, links in it included. */
static apr_status_t open_base(md_fsio_dir_t **pdir, const fs_store_t *fs, apr_pool_t *p)
{
    return md_fsio_dir_open(pdir, NULL, fs->base, p);
}

apr_status_t md_fs_open_group(md_fsio_dir_t **pdir, const fs_store_t *fs,
                              md_store_group_t group, int make, apr_pool_t *p)
{
    md_fs_batch_t *batch = fs->batch;
    md_fsio_dir_t *base;
    apr_status_t rv;

    *pdir = NULL;
    if (batch) {
        if (batch->groups[group]) {
            *pdir = batch->groups[group];
            return APR_SUCCESS;
        }
        p = batch->p;
    }
    if (group == MD_SG_NONE) {
        rv = open_base(pdir, fs, p);
    }
    else if ((rv = md_fs_open_group(&base, fs, MD_SG_NONE, 0, p)) == APR_SUCCESS) {
        if (make) {
            rv = md_fsio_dir_make(pdir, base, md_store_group_name(group),
                                  md_fs_modes[group].dir, p);
        }
        else {
            rv = md_fsio_dir_open(pdir, base, md_store_group_name(group), p);
        }
        if (rv == APR_SUCCESS && md_fs_modes[group].child) {
            /* User's: however many entries User makes, we read a bounded few. */
            md_fsio_dir_limit(*pdir);
        }
    }
    if (rv == APR_SUCCESS && batch) {
        batch->groups[group] = *pdir;
    }
    return rv;
}

/* Whether the batch knows group/name: held open, or not there. */
static int batch_knows(const md_fs_batch_t *batch, md_store_group_t group, const char *name)
{
    return batch && (batch->item || batch->item_missing) && batch->item_group == group
           && strcmp(batch->item_name, name) == 0;
}

apr_status_t md_fs_open_item(md_fsio_dir_t **pdir, const fs_store_t *fs,
                             md_store_group_t group, const char *name, int make,
                             apr_pool_t *p)
{
    md_fs_batch_t *batch = fs->batch;
    md_fsio_dir_t *gdir;
    apr_status_t rv;

    *pdir = NULL;
    if (batch_knows(batch, group, name) && (batch->item || !make)) {
        *pdir = batch->item;
        return batch->item ? APR_SUCCESS : APR_ENOENT;
    }
    if ((rv = md_fs_open_group(&gdir, fs, group, make, p)) != APR_SUCCESS
        || group == MD_SG_NONE) {
        *pdir = gdir;
        return rv;
    }
    if (batch) {
        md_fs_batch_forget_item(fs);
        p = batch->item_p;
    }
    if (make) {
        rv = md_fsio_dir_make(pdir, gdir, name, md_fs_modes[group].item, p);
    }
    else {
        rv = md_fsio_dir_open(pdir, gdir, name, p);
    }
    if (batch && (rv == APR_SUCCESS || (!make && APR_STATUS_IS_ENOENT(rv)))) {
        batch->item = *pdir;
        batch->item_missing = rv != APR_SUCCESS;
        batch->item_group = group;
        batch->item_name = apr_pstrdup(p, name);
    }
    return rv;
}

void md_fs_batch_forget_item(const fs_store_t *fs)
{
    if (fs->batch && (fs->batch->item || fs->batch->item_missing)) {
        fs->batch->item = NULL;
        fs->batch->item_missing = 0;
        apr_pool_clear(fs->batch->item_p);
    }
}

static apr_status_t batch_end(void *data)
{
    fs_store_t *fs = data;

    fs->batch = NULL;
    return APR_SUCCESS;
}

/* The batch's directories live in a pool of its own below p: they close
 * when p is cleared or destroyed, and the store forgets them then. */
static void fs_batch_begin(md_store_t *store, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    md_fs_batch_t *batch;
    apr_pool_t *bp;

    if (fs->batch || apr_pool_create(&bp, p) != APR_SUCCESS) {
        return;
    }
    batch = apr_pcalloc(bp, sizeof(*batch));
    batch->p = bp;
    if (apr_pool_create(&batch->item_p, bp) != APR_SUCCESS) {
        apr_pool_destroy(bp);
        return;
    }
    apr_pool_cleanup_register(bp, fs, batch_end, apr_pool_cleanup_null);
    fs->batch = batch;
}

/* Take an item out of sight in one rename, then delete it: readers see the
 * whole item or nothing, never half of it. */
apr_status_t md_fs_remove_item(const md_fsio_dir_t *gdir, const char *name, apr_pool_t *p)
{
    const char *doomed = apr_pstrcat(p, GONE_PREFIX, md_fsio_rnd_hex(p), NULL);
    apr_status_t rv;

    if ((rv = md_fsio_rename(gdir, name, gdir, doomed, 1)) != APR_SUCCESS) {
        return rv;
    }
    md_testhook_crash("purge", "hidden");
    rv = md_fsio_rm_tree(gdir, doomed, MD_FSIO_MAX_DEPTH, p);
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD05013: %s/%s: could not remove "
                      "everything (was %s)", gdir->path, doomed, name);
    }
    return rv;
}

/* What a crash left between hiding and deleting an item. Best effort: a
 * process still deleting it only makes us see ENOENT. */
static void remove_leftovers(const md_fsio_dir_t *gdir, apr_pool_t *p)
{
    apr_array_header_t *names = NULL;
    int i;

    if (md_fsio_list_prefixed(&names, gdir, GONE_PREFIX, p) != APR_SUCCESS) {
        return;
    }
    for (i = 0; i < names->nelts; ++i) {
        md_fsio_rm_tree(gdir, APR_ARRAY_IDX(names, i, const char *), MD_FSIO_MAX_DEPTH, p);
    }
}

/* --- md_store.json ----------------------------------------------------- */

/* A corrupt md_store.json: say so, keep the file, and open without a key
 * (live certificates are plain and still served). */
static apr_status_t store_json_invalid(fs_store_t *fs, const char *path, const char *what,
                                       apr_pool_t *p)
{
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                  "MD05014: %s: %s. The file holds the key of the encrypted private keys "
                  "in this store; it is left untouched. Live certificates are still "
                  "served, but nothing can be renewed until it is restored from a backup "
                  "(or the whole store directory is moved aside to start afresh).",
                  path, what);
    fs->s.key_problem = apr_psprintf(fs->p, "%s is unreadable: %s", path, what);
    return APR_EINVAL;
}

/* md_store.json of a store version we do not know: do not touch the store. */
static apr_status_t store_json_foreign(const char *path, const char *what, apr_pool_t *p)
{
    md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOTIMPL, p, "MD05037: %s: %s; not using "
                  "this store", path, what);
    return APR_ENOTIMPL;
}

static apr_status_t read_store_json(fs_store_t *fs, const char *path, const char *data,
                                    apr_size_t len, apr_pool_t *p, apr_pool_t *ptemp)
{
    json_error_t jerr;
    const char *key64;
    const json_t *jstore;
    const json_t *jversion;
    unsigned char *key = NULL;
    apr_size_t key_len = 0;
    json_t *j;
    double version;

    /* Not md_json_parse: its messages quote the text near an error, which
     * here would be a piece of the key. Position only. */
    j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        return store_json_invalid(fs, path, apr_psprintf(ptemp, "not valid JSON (at line %d, "
                                                         "column %d)", jerr.line, jerr.column),
                                  ptemp);
    }
    md_json_pool_own(ptemp, j);
    if (!json_is_object(j)) {
        return store_json_invalid(fs, path, "not a JSON object", ptemp);
    }
    jstore = md_json_get_obj(j, MD_KEY_STORE);
    jversion = jstore ? json_object_get(jstore, MD_KEY_VERSION) : NULL;
    if (!json_is_number(jversion)) {
        return store_json_invalid(fs, path, "no \"store\": {\"version\"} number (stores of "
                                  "mod_md 1.x are not supported)", ptemp);
    }
    version = json_number_value(jversion);
    if (version > MD_STORE_VERSION) {
        return store_json_foreign(path, apr_psprintf(ptemp, "store version %g is newer than "
                                                     "the supported %g", version,
                                                     MD_STORE_VERSION), ptemp);
    }
    if (version < 2.0) {
        return store_json_foreign(path, apr_psprintf(ptemp, "store version %g is too old "
                                                     "(mod_md 1.x)", version), ptemp);
    }
    /* Version 2 differs from 3 only in md_store.json itself: readable as is. */
    key64 = md_json_get_str(j, MD_KEY_KEY);
    if (!key64) {
        return store_json_invalid(fs, path, "no \"key\" string", ptemp);
    }
    if (md_util_base64url_decode(&key, &key_len, key64, p) != APR_SUCCESS) {
        return store_json_invalid(fs, path, "\"key\" is not base64url", ptemp);
    }
    if (key_len != MD_STORE_KEY_LEN) {
        md_fsio_cleanse(key, key_len);
        return store_json_invalid(fs, path, apr_psprintf(ptemp, "\"key\" has %" APR_SIZE_T_FMT
                                                     " bytes, expected %d", key_len,
                                                     MD_STORE_KEY_LEN), ptemp);
    }
    fs->s.key = key;
    fs->s.key_len = key_len;
    return APR_SUCCESS;
}

/* A new md_store.json with a fresh key; APR_EEXIST if another process made
 * one meanwhile (the caller reads that one). */
static apr_status_t create_store_json(const md_fsio_dir_t *base, apr_pool_t *ptemp)
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
    rv = md_fsio_write_atomic(base, MD_FN_STORE_JSON, text, strlen(text), MODE_SECRET, 0, 1,
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

static apr_status_t setup_store_json(fs_store_t *fs, const md_fsio_dir_t *base, apr_pool_t *p,
                                     apr_pool_t *ptemp)
{
    const char *path = apr_pstrcat(ptemp, fs->base, "/", MD_FN_STORE_JSON, NULL);
    apr_size_t len = 0;
    char *data = NULL;
    apr_status_t rv;
    int tries;

    for (tries = 0; tries < 2; ++tries) {
        rv = md_fsio_read(&data, &len, base, MD_FN_STORE_JSON, MD_JSON_MAX_LEN, ptemp);
        if (rv == APR_SUCCESS) {
            rv = read_store_json(fs, path, data, len, p, ptemp);
            md_fsio_cleanse(data, len);
            /* Corrupt: open without a key (see store_json_invalid). */
            return rv == APR_EINVAL ? APR_SUCCESS : rv;
        }
        if (!APR_STATUS_IS_ENOENT(rv)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05016: %s: cannot read", path);
            return rv;
        }
        rv = create_store_json(base, ptemp);
        if (!APR_STATUS_IS_EEXIST(rv)) {
            break;
        }
    }
    if (rv == APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, ptemp, "MD05017: %s: created a new "
                      "store", path);
        /* Read back what we wrote: one code path sets the key. */
        rv = md_fsio_read(&data, &len, base, MD_FN_STORE_JSON, MD_JSON_MAX_LEN, ptemp);
        if (rv == APR_SUCCESS) {
            rv = read_store_json(fs, path, data, len, p, ptemp);
            md_fsio_cleanse(data, len);
        }
    }
    return rv;
}

/* --- the operations ------------------------------------------------------ */

/* The directories an operation opens live in a pool of its own: the
 * caller's pool may be the config's, and 1000 MDs would otherwise keep
 * thousands of descriptors open until it goes. */
static apr_status_t fs_load(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, char **pdata, apr_size_t *plen, apr_pool_t *p)
{
    md_fsio_dir_t *dir;
    apr_pool_t *ptemp;
    apr_status_t rv;

    *pdata = NULL;
    *plen = 0;
    if ((rv = md_fs_check_addr(group, name, aspect, 1, p)) != APR_SUCCESS
        || (rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = md_fs_open_item(&dir, fs_of(store), group, name, 0, ptemp)) == APR_SUCCESS) {
        rv = md_fsio_read(pdata, plen, dir, aspect, MD_STORE_MAX_VALUE_LEN, p);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

static apr_status_t fs_save(md_store_t *store, md_store_group_t group, const char *name,
                            const char *aspect, const char *data, apr_size_t len, int flags,
                            apr_pool_t *p)
{
    md_fsio_dir_t *dir;
    apr_pool_t *ptemp;
    apr_status_t rv;

    if ((rv = md_fs_check_addr(group, name, aspect, 1, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = md_fs_open_item(&dir, fs_of(store), group, name, 1, ptemp)) == APR_SUCCESS) {
        rv = md_fsio_write_atomic(dir, aspect, data, len,
                                  (flags & MD_STORE_SECRET) ? MODE_SECRET
                                                            : md_fs_modes[group].file,
                                  1, !(flags & MD_STORE_VOLATILE), ptemp);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

static apr_status_t fs_remove(md_store_t *store, md_store_group_t group, const char *name,
                              const char *aspect, apr_pool_t *p)
{
    md_fsio_dir_t *dir;
    apr_pool_t *ptemp;
    apr_status_t rv;

    if ((rv = md_fs_check_addr(group, name, aspect, 1, p)) != APR_SUCCESS
        || (rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = md_fs_open_item(&dir, fs_of(store), group, name, 0, ptemp)) == APR_SUCCESS
        && unlinkat(dir->fd, aspect, 0) != 0) {
        rv = md_fsio_err();
    }
    apr_pool_destroy(ptemp);
    return rv;
}

static apr_status_t fs_purge(md_store_t *store, md_store_group_t group, const char *name,
                             apr_pool_t *p)
{
    md_fsio_dir_t *gdir;
    struct stat st;
    apr_pool_t *ptemp;
    apr_status_t rv;

    if ((rv = md_fs_check_addr(group, name, NULL, 0, p)) != APR_SUCCESS) {
        return rv;
    }
    if (group == MD_SG_NONE) {
        return bad_name("group for purge", "none", p);
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    md_fs_batch_forget_item(fs_of(store));
    if ((rv = md_fs_open_group(&gdir, fs_of(store), group, 0, ptemp)) == APR_SUCCESS
        && (rv = md_fsio_stat(&st, gdir, name)) == APR_SUCCESS) {
        /* Whatever it is (a link too): renamed and removed, never followed. */
        rv = md_fs_remove_item(gdir, name, ptemp);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

static apr_status_t fs_list(md_store_t *store, md_store_group_t group,
                            apr_array_header_t **pnames, apr_pool_t *p)
{
    md_fsio_dir_t *gdir;
    apr_pool_t *ptemp;
    apr_status_t rv;

    *pnames = NULL;
    if (!md_fs_valid_group(group) || group == MD_SG_NONE) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_EINVAL, p,
                      "MD05018: cannot list items of store group %d", (int)group);
        return APR_EINVAL;
    }
    if ((rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = md_fs_open_group(&gdir, fs_of(store), group, 0, ptemp);
    if (rv == APR_SUCCESS) {
        rv = md_fsio_list(pnames, gdir, 1, p);
    }
    apr_pool_destroy(ptemp);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *pnames = apr_array_make(p, 1, sizeof(const char *));
        rv = APR_SUCCESS;
    }
    return rv;
}

static apr_status_t fs_list_aspects(md_store_t *store, md_store_group_t group, const char *name,
                                    apr_array_header_t **paspects, apr_pool_t *p)
{
    md_fsio_dir_t *dir;
    apr_pool_t *ptemp;
    apr_status_t rv;

    *paspects = NULL;
    if ((rv = md_fs_check_addr(group, name, NULL, 0, p)) != APR_SUCCESS
        || (rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = md_fs_open_item(&dir, fs_of(store), group, name, 0, ptemp)) == APR_SUCCESS) {
        rv = md_fsio_list(paspects, dir, 0, p);
    }
    apr_pool_destroy(ptemp);
    return rv;
}

/* The stat of a value. Only a regular file is a value: a link or a FIFO
 * is not there (APR_ENOENT). */
static apr_status_t stat_value(struct stat *st, md_store_t *store, md_store_group_t group,
                               const char *name, const char *aspect, apr_pool_t *p)
{
    md_fsio_dir_t *dir;
    apr_pool_t *ptemp;
    apr_status_t rv;

    if ((rv = md_fs_check_addr(group, name, aspect, 1, p)) != APR_SUCCESS
        || (rv = apr_pool_create(&ptemp, p)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = md_fs_open_item(&dir, fs_of(store), group, name, 0, ptemp)) == APR_SUCCESS) {
        rv = md_fsio_stat(st, dir, aspect);
    }
    apr_pool_destroy(ptemp);
    return rv == APR_SUCCESS && !S_ISREG(st->st_mode) ? APR_ENOENT : rv;
}

static apr_time_t fs_get_mtime(md_store_t *store, md_store_group_t group, const char *name,
                               const char *aspect, apr_pool_t *p)
{
    struct stat st;
    apr_time_t t;

    if (stat_value(&st, store, group, name, aspect, p) != APR_SUCCESS) {
        return 0;
    }
    t = apr_time_from_sec(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1000;
    /* 0 means "not there": a file stamped with the epoch still exists. */
    return t > 0 ? t : 1;
}

/* Writes replace a file by renaming a new one over it: a new inode, and
 * a new ctime that nobody but root can set back. File times move in clock
 * ticks, though: a file changed within the last seconds might change again
 * within the same tick, at the same size and (reused) inode, so it gets no
 * version until it has rested (as git treats "racily clean" files). */
#define VERSION_REST_SEC 2

static apr_uint64_t ns_of(const struct timespec *t)
{
    return (apr_uint64_t)t->tv_sec * 1000000000u + (apr_uint64_t)t->tv_nsec;
}

static apr_status_t fs_version(md_store_t *store, md_store_group_t group, const char *name,
                               const char *aspect, const char **pversion, apr_pool_t *p)
{
    apr_time_t rested = apr_time_sec(apr_time_now()) - VERSION_REST_SEC;
    struct stat st;
    apr_status_t rv;

    *pversion = NULL;
    if ((rv = stat_value(&st, store, group, name, aspect, p)) != APR_SUCCESS) {
        return rv;
    }
    if (st.st_ctim.tv_sec > rested || st.st_mtim.tv_sec > rested) {
        return APR_EAGAIN;
    }
    /* hex: device, inode, size, mtime and ctime in ns */
    *pversion = apr_psprintf(p, "%" APR_UINT64_T_HEX_FMT ".%" APR_UINT64_T_HEX_FMT ".%"
                             APR_UINT64_T_HEX_FMT ".%" APR_UINT64_T_HEX_FMT ".%"
                             APR_UINT64_T_HEX_FMT, (apr_uint64_t)st.st_dev,
                             (apr_uint64_t)st.st_ino, (apr_uint64_t)st.st_size,
                             ns_of(&st.st_mtim), ns_of(&st.st_ctim));
    return APR_SUCCESS;
}

static apr_status_t fs_get_fname(md_store_t *store, md_store_group_t group, const char *name,
                                 const char *aspect, const char **pfname, apr_pool_t *p)
{
    fs_store_t *fs = fs_of(store);
    apr_status_t rv;

    *pfname = NULL;
    if (!md_fs_valid_group(group)) {
        return md_fs_check_addr(group, name, aspect, 0, p);
    }
    if (group != MD_SG_NONE && !name && !aspect) {
        *pfname = md_fs_group_path(fs, group, p);
        return APR_SUCCESS;
    }
    if ((rv = md_fs_check_addr(group, name, aspect, aspect != NULL, p)) != APR_SUCCESS) {
        return rv;
    }
    *pfname = aspect ? apr_pstrcat(p, md_fs_item_path(fs, group, name, p), "/", aspect, NULL)
                     : md_fs_item_path(fs, group, name, p);
    return APR_SUCCESS;
}

/* Walked fd-relative as root: what User planted there (links, hard links
 * to files elsewhere) is not followed and not changed (md_fsio_chown_tree). */
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
        md_fsio_dir_t *gdir;
        apr_status_t rv2;

        if (!md_fs_modes[g].child) {
            continue;
        }
        apr_pool_clear(ptemp);
        rv2 = md_fs_open_group(&gdir, fs, (md_store_group_t)g, 1, ptemp);
        if (rv2 == APR_SUCCESS) {
            rv2 = md_fsio_chown_tree(gdir, (uid_t)uid, (gid_t)gid, MD_FSIO_MAX_DEPTH, ptemp);
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
    md_fs_move,
    fs_get_mtime,
    fs_get_fname,
    fs_set_owner,
    md_fs_rename,
    md_fs_lock,
    md_fs_unlock,
    /* Shared-store operations: none, a store of one server (md_store.h). */
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    fs_batch_begin,
    fs_version,
};

/* Make the group directories and give them our modes; clean up what a
 * crash left. */
static apr_status_t setup_groups(const fs_store_t *fs, const md_fsio_dir_t *base,
                                 apr_pool_t *ptemp)
{
    apr_status_t rv;
    int g;

    for (g = MD_SG_NONE + 1; g < MD_SG_COUNT; ++g) {
        md_fsio_dir_t *gdir;
        struct stat st;

        rv = md_fsio_dir_make(&gdir, base, md_store_group_name((md_store_group_t)g),
                              md_fs_modes[g].dir, ptemp);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (md_fs_modes[g].child) {
            md_fsio_dir_limit(gdir);
        }
        /* A store from elsewhere (the stock module makes accounts/ 0755)
         * gets our modes; never wider ones. */
        if (fstat(gdir->fd, &st) == 0 && (st.st_mode & 07777 & ~md_fs_modes[g].dir)
            && fchmod(gdir->fd, md_fs_modes[g].dir) != 0) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, md_fsio_err(), ptemp,
                          "MD05038: %s: cannot restrict the mode to %o",
                          md_fs_group_path(fs, (md_store_group_t)g, ptemp),
                          (unsigned)md_fs_modes[g].dir);
        }
        remove_leftovers(gdir, ptemp);
    }
    return APR_SUCCESS;
}

apr_status_t md_store_fs_open(md_store_t **pstore, apr_pool_t *p, const char *base_dir)
{
    fs_store_t *fs;
    md_fsio_dir_t *base = NULL;
    struct stat st;
    apr_pool_t *ptemp = NULL;
    apr_status_t rv;

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
    fs->lock_fd = -1;
    fs->p = p;

    if (stat(fs->base, &st) != 0) {
        if (errno != ENOENT) {
            rv = md_fsio_err();
        }
        else if ((rv = apr_dir_make_recursive(fs->base, APR_FPROT_OS_DEFAULT, ptemp))
                 == APR_SUCCESS && chmod(fs->base, md_fs_modes[MD_SG_NONE].dir) != 0) {
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
    if ((rv = open_base(&base, fs, ptemp)) != APR_SUCCESS) {
        goto leave;
    }
    /* md_store.json first: with a bad one we change nothing at all. */
    if ((rv = setup_store_json(fs, base, p, ptemp)) != APR_SUCCESS
        || (rv = setup_groups(fs, base, ptemp)) != APR_SUCCESS) {
        goto leave;
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
