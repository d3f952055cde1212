/* Internal to the file-system store: shared by md_store_fs.c (values,
 * md_store.json, open) and md_store_fs_move.c (moving, renaming and
 * archiving items, the store lock). Not for other callers. */
#ifndef md_store_fs_int_h
#define md_store_fs_int_h

#include <sys/types.h>

#include "md_store.h"
#include "md_store_fs_io.h"

/* The secret file mode: owner only. */
#define MODE_SECRET         0600

/* Prefix of what is being deleted, dot-named in the group directory so
 * that it is never listed and a rename there needs no other permissions. */
#define GONE_PREFIX         ".gone."

/* What a batch (md_store_batch_begin) keeps open: the base and group
 * directories, and the item directory opened last. Group directories are
 * never moved or removed while the store is open (User cannot rename
 * entries of the root-owned base), items are: move, rename and purge
 * forget the item (md_fs_batch_forget_item). The batch also remembers an
 * item it did not find, until it makes or opens another: probing a new
 * MD's files (key and certificate names of every spelling) then costs one
 * lookup, not one per file. */
typedef struct {
    apr_pool_t *p;                          /* the batch's: groups[] live here */
    md_fsio_dir_t *groups[MD_SG_COUNT];     /* [MD_SG_NONE]: the base */
    apr_pool_t *item_p;                     /* cleared for each other item */
    md_store_group_t item_group;
    const char *item_name;
    md_fsio_dir_t *item;                    /* NULL: none held */
    int item_missing;                       /* item NULL: item_name is not there */
} md_fs_batch_t;

typedef struct {
    md_store_t s;           /* first: the md_store_t* we hand out is this */
    apr_pool_t *p;          /* the store's own pool (it was allocated from) */
    const char *base;
    int lock_fd;            /* the store lock while held, else -1 */
    md_fs_batch_t *batch;   /* while a batch is open, else NULL */
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
} md_fs_modes_t;

extern const md_fs_modes_t md_fs_modes[MD_SG_COUNT];

int md_fs_valid_group(md_store_group_t group);
/* Check (group, name) and, when need_aspect, the aspect (logs what is wrong). */
apr_status_t md_fs_check_addr(md_store_group_t group, const char *name, const char *aspect,
                              int need_aspect, apr_pool_t *p);
/* Paths, for messages and get_fname only: the store opens nothing by them. */
const char *md_fs_group_path(const fs_store_t *fs, md_store_group_t group, apr_pool_t *p);
const char *md_fs_item_path(const fs_store_t *fs, md_store_group_t group, const char *name,
                            apr_pool_t *p);
/* Open the group's directory (the base for MD_SG_NONE), made with the
 * group's mode when make is set and it is missing. */
apr_status_t md_fs_open_group(md_fsio_dir_t **pdir, const fs_store_t *fs,
                              md_store_group_t group, int make, apr_pool_t *p);
/* Open an item's directory in its group (the base for MD_SG_NONE), made
 * with the group's modes when make is set. A link there is refused. */
apr_status_t md_fs_open_item(md_fsio_dir_t **pdir, const fs_store_t *fs,
                             md_store_group_t group, const char *name, int make,
                             apr_pool_t *p);
/* Items are about to move or go: a batch must not hand out the one it holds. */
void md_fs_batch_forget_item(const fs_store_t *fs);
/* Take the item name in gdir out of sight in one rename, then delete it. */
apr_status_t md_fs_remove_item(const md_fsio_dir_t *gdir, const char *name, apr_pool_t *p);

/* The operations of md_store_fs_move.c (see md_store_ops_t). */
apr_status_t md_fs_move(md_store_t *store, md_store_group_t from, md_store_group_t to,
                        const char *name, int archive, apr_pool_t *p);
apr_status_t md_fs_rename(md_store_t *store, md_store_group_t group, const char *from,
                          const char *to, apr_pool_t *p);
apr_status_t md_fs_lock(md_store_t *store, apr_interval_time_t max_wait, apr_pool_t *p);
apr_status_t md_fs_unlock(md_store_t *store, apr_pool_t *p);

#endif /* md_store_fs_int_h */
