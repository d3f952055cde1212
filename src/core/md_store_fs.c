/* The file-system store: the stock mod_md's directory layout under one base
 * directory (see md_store.h), written so that a crash at any instant leaves
 * either the old or the new value (STYLE §11).
 *
 * Plain POSIX calls are used where APR has no equivalent or hides what we
 * need (O_EXCL with a mode, fsync of a directory, link, chown).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "md_util.h"

/* Longest path component we accept (NAME_MAX on Linux). */
#define NAME_MAX_LEN        255
/* Archive numbers tried before giving up: someone should clean up first. */
#define ARCHIVE_MAX_N       1000
/* Depth of recursive removal and chown: items hold files, nothing deeper
 * than a few levels; a deeper tree is not ours. */
#define TREE_MAX_DEPTH      8
/* Tries to find an unused temp file name. */
#define TMP_TRIES           8
/* The secret file mode: owner only. */
#define MODE_SECRET         0600

typedef struct {
    md_store_t s;           /* first: the md_store_t* we hand out is this */
    const char *base;
} fs_store_t;

/* Modes per group: of the group directory, of item directories in it and of
 * non-secret files. Secret files are always MODE_SECRET. challenges and
 * staging are written by the unprivileged child (after set_owner). */
typedef struct {
    mode_t dir;
    mode_t item;
    mode_t file;
} group_modes_t;

static const group_modes_t MODES[MD_SG_COUNT] = {
    [MD_SG_NONE]       = { 0755, 0755, 0644 },
    [MD_SG_ACCOUNTS]   = { 0700, 0700, 0644 },
    [MD_SG_CHALLENGES] = { 0755, 0755, 0644 },
    /* mod_ssl reads keys here as root: nothing in it is for anyone else. */
    [MD_SG_DOMAINS]    = { 0700, 0700, 0600 },
    [MD_SG_STAGING]    = { 0755, 0755, 0644 },
    [MD_SG_ARCHIVE]    = { 0700, 0700, 0644 },
    [MD_SG_TMP]        = { 0700, 0700, 0644 },
};

static fs_store_t *fs_of(md_store_t *store)
{
    return (fs_store_t *)store;
}

static apr_status_t os_err(void)
{
    int e = errno;
    return e ? APR_FROM_OS_ERROR(e) : APR_EGENERAL;
}

/* Overwrite a buffer that held secrets; volatile so it is not optimized out. */
static void cleanse(void *buf, size_t len)
{
    volatile unsigned char *b = buf;
    while (len--) {
        *b++ = 0;
    }
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

/* --- small file-system helpers ------------------------------------------ */

/* Create a directory with exactly mode (umask notwithstanding); an existing
 * directory is fine and left as it is. */
static apr_status_t ensure_dir(const char *path, mode_t mode, apr_pool_t *p)
{
    struct stat st;

    if (mkdir(path, mode) == 0) {
        if (chmod(path, mode) != 0) {
            return os_err();
        }
        return APR_SUCCESS;
    }
    if (errno != EEXIST) {
        apr_status_t rv = os_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05003: %s: cannot create directory",
                      path);
        return rv;
    }
    if (stat(path, &st) != 0) {
        return os_err();
    }
    if (!S_ISDIR(st.st_mode)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, APR_ENOTDIR, p,
                      "MD05004: %s: exists but is not a directory", path);
        return APR_ENOTDIR;
    }
    return APR_SUCCESS;
}

/* Make the item's directory (and its group's) exist; *pdir its path. */
static apr_status_t ensure_item_dir(const char **pdir, const fs_store_t *fs,
                                    md_store_group_t group, const char *name, apr_pool_t *p)
{
    apr_status_t rv;

    *pdir = item_dir(fs, group, name, p);
    if (group == MD_SG_NONE) {
        return APR_SUCCESS;
    }
    rv = ensure_dir(group_dir(fs, group, p), MODES[group].dir, p);
    if (rv == APR_SUCCESS) {
        rv = ensure_dir(*pdir, MODES[group].item, p);
    }
    return rv;
}

/* fsync a directory so that renames and creations in it are durable. */
static apr_status_t sync_dir(const char *path)
{
    apr_status_t rv = APR_SUCCESS;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        return os_err();
    }
    if (fsync(fd) != 0) {
        rv = os_err();
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
            return os_err();
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
                rv = os_err();
                close(*pfd);
                unlink(*ptmp);
                return rv;
            }
            return APR_SUCCESS;
        }
        if (errno != EEXIST) {
            return os_err();
        }
    }
    return APR_EEXIST;
}

/* Write data to dir/aspect atomically and durably: temp file in the same
 * directory, fsync, then rename over the target (replace) or link to it
 * (!replace: APR_EEXIST if the target exists, the target is untouched). */
static apr_status_t write_atomic(const char *dir, const char *aspect, const char *data,
                                 apr_size_t len, mode_t mode, int replace, apr_pool_t *p)
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
    if (rv == APR_SUCCESS && fsync(fd) != 0) {
        rv = os_err();
    }
    if (close(fd) != 0 && rv == APR_SUCCESS) {
        rv = os_err();
    }
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05006: %s: writing %s failed", path,
                      tmp);
        goto leave;
    }
    if (replace) {
        if (rename(tmp, path) != 0) {
            rv = os_err();
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05007: %s: rename from %s failed",
                          path, tmp);
            goto leave;
        }
        tmp = NULL;
    }
    else if (link(tmp, path) != 0) {
        rv = os_err();
        if (!APR_STATUS_IS_EEXIST(rv)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05008: %s: link from %s failed",
                          path, tmp);
        }
        goto leave;
    }
    rv = sync_dir(dir);
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05009: %s: fsync of the directory "
                      "failed", dir);
    }
leave:
    if (tmp) {
        unlink(tmp);
    }
    return rv;
}

/* Read a whole regular file of at most max_len bytes; NUL-terminated. */
static apr_status_t read_file(char **pdata, apr_size_t *plen, const char *path,
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
        return os_err();
    }
    if (fstat(fd, &st) != 0) {
        rv = os_err();
        goto leave;
    }
    if (!S_ISREG(st.st_mode)) {
        rv = APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05010: %s: not a regular file", path);
        goto leave;
    }
    if (st.st_size < 0 || (apr_size_t)st.st_size > max_len) {
        rv = APR_EINVAL;
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, p, "MD05011: %s: too large (%lld bytes, "
                      "limit %" APR_SIZE_T_FMT ")", path, (long long)st.st_size, max_len);
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
            rv = os_err();
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

/* Remove path and, if a directory, everything in it. Symbolic links are
 * removed, never followed. */
static apr_status_t rm_tree(const char *path, int depth, apr_pool_t *p)
{
    struct stat st;
    struct dirent *de;
    apr_status_t rv = APR_SUCCESS;
    DIR *d;

    if (lstat(path, &st) != 0) {
        return os_err();
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlink(path) == 0 ? APR_SUCCESS : os_err();
    }
    if (depth <= 0) {
        return APR_EINVAL;
    }
    if (!(d = opendir(path))) {
        return os_err();
    }
    while ((de = readdir(d)) != NULL) {
        apr_status_t rv2;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
            continue;
        }
        rv2 = rm_tree(apr_pstrcat(p, path, "/", de->d_name, NULL), depth - 1, p);
        if (rv2 != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv2) && rv == APR_SUCCESS) {
            rv = rv2;
        }
    }
    closedir(d);
    if (rv == APR_SUCCESS && rmdir(path) != 0) {
        rv = os_err();
    }
    return rv;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names of the directories (want_dirs) or regular files in dir,
 * dot-names left out (temp files, "." and ".."). */
static apr_status_t list_dir(apr_array_header_t **pnames, const char *dir, int want_dirs,
                             apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 10, sizeof(const char *));
    struct dirent *de;
    struct stat st;
    DIR *d;

    *pnames = NULL;
    if (!(d = opendir(dir))) {
        return os_err();
    }
    while ((de = readdir(d)) != NULL) {
        const char *path;
        if (de->d_name[0] == '.') {
            continue;
        }
        path = apr_pstrcat(p, dir, "/", de->d_name, NULL);
        if (lstat(path, &st) != 0) {
            continue;   /* removed meanwhile */
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

static const char *rnd_suffix(apr_pool_t *p)
{
    unsigned char r[6] = { 0 };
    apr_generate_random_bytes(r, sizeof(r));
    return apr_psprintf(p, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

/* Take an item out of sight in one rename (into tmp/), then delete it there:
 * readers see the whole item or nothing, never half of it. */
static apr_status_t remove_item_dir(const fs_store_t *fs, const char *dir, const char *name,
                                    apr_pool_t *p)
{
    const char *tmp_dir = group_dir(fs, MD_SG_TMP, p);
    const char *doomed;
    apr_status_t rv;

    if ((rv = ensure_dir(tmp_dir, MODES[MD_SG_TMP].dir, p)) != APR_SUCCESS) {
        return rv;
    }
    /* Dot-named: never listed, never mistaken for an item of tmp/. */
    doomed = apr_pstrcat(p, tmp_dir, "/.gone.", name, ".", rnd_suffix(p), NULL);
    if (rename(dir, doomed) != 0) {
        rv = os_err();
        if (APR_STATUS_IS_ENOENT(rv)) {
            return rv;
        }
        /* Not on one file system after all (someone mounted a group dir):
         * delete in place. */
        doomed = dir;
    }
    rv = rm_tree(doomed, TREE_MAX_DEPTH, p);
    if (rv != APR_SUCCESS) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, rv, p, "MD05013: %s: could not remove "
                      "everything", doomed);
    }
    return rv;
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
        cleanse(key, key_len);
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
    rv = write_atomic(fs->base, MD_FN_STORE_JSON, text, strlen(text), MODE_SECRET, 0, ptemp);
leave:
    cleanse(key, sizeof(key));
    if (text) {
        cleanse(text, strlen(text));
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
        rv = read_file(&data, &len, path, MD_JSON_MAX_LEN, ptemp);
        if (rv == APR_SUCCESS) {
            rv = read_store_json(fs, path, data, len, p, ptemp);
            cleanse(data, len);
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
        if ((rv = read_file(&data, &len, path, MD_JSON_MAX_LEN, ptemp)) == APR_SUCCESS) {
            rv = read_store_json(fs, path, data, len, p, ptemp);
            cleanse(data, len);
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
    return read_file(pdata, plen, apr_pstrcat(p, item_dir(fs, group, name, p), "/", aspect,
                                              NULL), MD_STORE_MAX_VALUE_LEN, p);
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
        rv = write_atomic(dir, aspect, data, len, secret ? MODE_SECRET : MODES[group].file, 1,
                          ptemp);
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
        return os_err();
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
        return os_err();
    }
    if (group == MD_SG_TMP) {
        return rm_tree(dir, TREE_MAX_DEPTH, p);
    }
    return remove_item_dir(fs, dir, name, p);
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
    rv = list_dir(pnames, group_dir(fs, group, p), 1, p);
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
    return list_dir(paspects, item_dir(fs, group, name, p), 0, p);
}

/* After a move into a root-only group: the item's modes (and owner) as if
 * we had written it there ourselves. Best effort: the group directory is
 * 0700 already, this is the second fence. */
static void normalize_item(const char *dir, md_store_group_t group, apr_pool_t *p)
{
    const int as_root = (geteuid() == 0);
    struct dirent *de;
    struct stat st;
    DIR *d;

    if (MODES[group].dir != 0700) {
        return;
    }
    if (chmod(dir, MODES[group].item) != 0 || (as_root && chown(dir, 0, getegid()) != 0)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, os_err(), p,
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
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, os_err(), p,
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
    if ((rv = ensure_dir(arch_dir, MODES[MD_SG_ARCHIVE].dir, p)) != APR_SUCCESS) {
        return rv;
    }
    for (n = 1; n < ARCHIVE_MAX_N; ++n) {
        const char *cand = apr_psprintf(p, "%s/%s.%d", arch_dir, name, n);
        if (lstat(cand, &st) == 0) {
            continue;
        }
        if (errno != ENOENT) {
            return os_err();
        }
        /* rename() would also replace an empty directory created meanwhile;
         * a non-empty one makes it fail and we take the next number. */
        if (rename(dst, cand) == 0) {
            *parchived = cand;
            return sync_dir(arch_dir);
        }
        if (errno != EEXIST && errno != ENOTEMPTY) {
            rv = os_err();
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
    const char *tmp_dir;
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
    tmp_dir = group_dir(fs, MD_SG_TMP, ptemp);
    if (lstat(src, &st) != 0) {
        rv = os_err();
        goto leave;
    }
    if (!S_ISDIR(st.st_mode)) {
        rv = APR_ENOTDIR;
        goto leave;
    }
    if ((rv = ensure_dir(group_dir(fs, to, ptemp), MODES[to].dir, ptemp)) != APR_SUCCESS) {
        goto leave;
    }
    /* Make room at dst with a single rename, so that dst is missing for
     * only the instant between two renames. */
    if (lstat(dst, &st) == 0) {
        if (archive) {
            rv = archive_item(&old, fs, dst, name, ptemp);
        }
        else if ((rv = ensure_dir(tmp_dir, MODES[MD_SG_TMP].dir, ptemp)) == APR_SUCCESS) {
            old = apr_pstrcat(ptemp, tmp_dir, "/.old.", name, ".", rnd_suffix(ptemp), NULL);
            if (rename(dst, old) != 0) {
                rv = os_err();
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
        rv = os_err();
        goto leave;
    }
    if (rename(src, dst) != 0) {
        rv = os_err();
        md_log_perror(MD_LOG_MARK, MD_LOG_ERR, rv, ptemp, "MD05025: cannot rename %s to %s",
                      src, dst);
        /* Put the previous item back: better old than nothing. */
        if (old && rename(old, dst) != 0) {
            md_log_perror(MD_LOG_MARK, MD_LOG_ERR, os_err(), ptemp,
                          "MD05026: cannot restore %s from %s", dst, old);
        }
        doomed = NULL;
        goto leave;
    }
    normalize_item(dst, to, ptemp);
    if ((rv = sync_dir(group_dir(fs, to, ptemp))) == APR_SUCCESS) {
        rv = sync_dir(group_dir(fs, from, ptemp));
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
        apr_status_t rv2 = rm_tree(doomed, TREE_MAX_DEPTH, ptemp);
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

/* chown path and everything under it (symbolic links themselves, never
 * their targets); the first failure is returned, the rest still tried. */
static apr_status_t chown_tree(const char *path, uid_t uid, gid_t gid, int depth, apr_pool_t *p)
{
    struct dirent *de;
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    DIR *d;

    if (lstat(path, &st) != 0) {
        return os_err();
    }
    if (lchown(path, uid, gid) != 0) {
        rv = os_err();
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
        rv2 = chown_tree(apr_pstrcat(p, path, "/", de->d_name, NULL), uid, gid, depth - 1, p);
        if (rv == APR_SUCCESS) {
            rv = rv2;
        }
    }
    closedir(d);
    return rv;
}

static apr_status_t fs_set_owner(md_store_t *store, int uid, int gid, apr_pool_t *p)
{
    static const md_store_group_t groups[] = { MD_SG_CHALLENGES, MD_SG_STAGING };
    fs_store_t *fs = fs_of(store);
    apr_status_t rv = APR_SUCCESS;
    apr_pool_t *ptemp;
    size_t i;

    if (apr_pool_create(&ptemp, p) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    for (i = 0; i < sizeof(groups) / sizeof(groups[0]); ++i) {
        const char *dir = group_dir(fs, groups[i], ptemp);
        apr_status_t rv2 = ensure_dir(dir, MODES[groups[i]].dir, ptemp);
        if (rv2 == APR_SUCCESS) {
            rv2 = chown_tree(dir, (uid_t)uid, (gid_t)gid, TREE_MAX_DEPTH, ptemp);
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
            rv = os_err();
        }
        else if ((rv = apr_dir_make_recursive(fs->base, APR_FPROT_OS_DEFAULT, ptemp))
                 == APR_SUCCESS && chmod(fs->base, MODES[MD_SG_NONE].dir) != 0) {
            rv = os_err();
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
        rv = ensure_dir(group_dir(fs, (md_store_group_t)g, ptemp), MODES[g].dir, ptemp);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
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
