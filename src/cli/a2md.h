/* a2md: the command line over the core library (STYLE §18).
 *
 * Every command maps onto core calls: the store (md_store.h), the registry
 * (md_reg.h), the renewal (md_drive.h), the ACME client (md_acme.h) and the
 * status (md_status.h). What is here only parses the command line, picks
 * the objects the core needs, and prints results: human text by default,
 * the stock a2md's JSON envelope with -j:
 *     {"status": <apr status>, "output": [...], "description": "<on failure>"}
 *
 * Exit codes (A2MD_EXIT_*): 0 success, 1 bad input (a name, a value, a
 * store item that is missing or corrupt), 2 usage (unknown command or
 * option, missing argument), 3 remote (the CA refused, or could not be
 * reached), 4 local (the store could not be written, locked, permissions).
 * Errors are one line on stderr: "a2md: <what>: <why>".
 */
#ifndef a2md_h
#define a2md_h

#include <stdio.h>

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "md.h"
#include "md_conf.h"
#include "md_result.h"
#include "md_store.h"

#define A2MD_EXIT_OK      0
#define A2MD_EXIT_INPUT   1
#define A2MD_EXIT_USAGE   2
#define A2MD_EXIT_REMOTE  3
#define A2MD_EXIT_LOCAL   4

/* How long a2md waits for the store lock (a server starting with
 * MDStoreLocks, another a2md). */
#define A2MD_LOCK_WAIT    apr_time_from_sec(30)

typedef struct a2md_ctx_t a2md_ctx_t;
typedef struct a2md_cmd_t a2md_cmd_t;

/* --- the command table (a2md_cmds.c) ------------------------------------- */

typedef struct a2md_opt_t {
    char sname;                 /* -x, or 0 */
    const char *lname;          /* --name, the key in a2md_args_t.opts */
    int has_arg;
    const char *arg_name;       /* for the help text */
    const char *descr;
} a2md_opt_t;

typedef apr_status_t a2md_run_fn(a2md_ctx_t *ctx);

struct a2md_cmd_t {
    const char *name;
    const a2md_cmd_t *const *subs;  /* sub-commands (NULL-terminated), or NULL */
    const a2md_opt_t *opts;         /* terminated by lname NULL; may be NULL */
    int min_args;
    int max_args;                   /* -1: any number */
    const char *synopsis;           /* arguments after the command's name */
    const char *descr;              /* one line */
    const char *help;               /* the rest of "a2md help <cmd>", or NULL */
    a2md_run_fn *run;               /* NULL for a group (store, acme) */
};

/* The whole command tree; its root is the program itself and holds the
 * global options. */
const a2md_cmd_t *a2md_cmd_root(void);

/* --- the parsed command line (a2md_args.c) ------------------------------- */

typedef struct a2md_args_t {
    const a2md_cmd_t *cmd;          /* the command to run (a leaf), or NULL */
    const char *path;               /* its full name: "store add" */
    apr_table_t *opts;              /* command option lname -> value ("" for flags) */
    apr_array_header_t *args;       /* const char*: the positional arguments */
    /* global options */
    const char *ca_url;             /* -a */
    const char *ca_file;            /* -C */
    const char *dir;                /* -d */
    const char *proxy;              /* -p */
    const char *terms;              /* -t */
    const char *user;               /* -u */
    int json;                       /* -j */
    int verbose;                    /* -v, counted */
    int quiet;                      /* -q, counted */
    int version;                    /* -V */
    const a2md_cmd_t *help;         /* -h, --help or "help <cmd>": print its help */
} a2md_args_t;

/* Parse argv (argv[0] is the program). Global options may come before or
 * after the command; a command's options anywhere among its arguments;
 * "--" ends the options. Short flags bundle ("-vvj"); an option's value
 * follows as the next word, attached ("-aURL") or after "=" ("--acme=URL").
 * On a usage error returns APR_EINVAL with *perr (from p) saying what is
 * wrong; *pargs is then still set, with cmd the innermost command reached
 * (for its usage line). Pure: no I/O. */
apr_status_t a2md_args_parse(a2md_args_t **pargs, const a2md_cmd_t *root, int argc,
                             const char *const *argv, const char **perr, apr_pool_t *p);

/* Is the (command) option given? Its value, or NULL. */
int a2md_args_has(const a2md_args_t *args, const char *lname);
const char *a2md_args_get(const a2md_args_t *args, const char *lname);

/* "store add" for a command found in the tree under root, from p. */
const char *a2md_cmd_path(const a2md_cmd_t *root, const a2md_cmd_t *cmd, apr_pool_t *p);

/* Print the help of cmd (the program's for root) to f. */
void a2md_print_help(FILE *f, const a2md_cmd_t *root, const a2md_cmd_t *cmd, apr_pool_t *p);

/* --- running a command (a2md_ctx.c) -------------------------------------- */

struct a2md_ctx_t {
    apr_pool_t *p;
    const a2md_args_t *args;
    md_store_t *store;              /* opened by a2md_ctx_store */
    int locked;                     /* we hold the store lock */
    json_t *output;                 /* the "output" array of the envelope */
    int exit_code;                  /* set by a2md_ctx_fail */
    const char *error;              /* the one-line message, or NULL */
    int privs_dropped;
};

/* The binding of the command's -e FILE (md_conf_eab_file_read), or NULL
 * without -e; a2md_ctx_fail (input) when the file is not usable. Read it
 * before a2md_ctx_become_user: the file is usually root's. */
apr_status_t a2md_ctx_eab(a2md_ctx_t *ctx, const md_conf_eab_t **peab);

/* Open the store named by -d (APR_EINVAL, usage, without one). */
apr_status_t a2md_ctx_store(a2md_ctx_t *ctx);

/* Take the store's lock, waiting up to A2MD_LOCK_WAIT for a server that
 * starts or another a2md. A store whose lock we may not open (a2md run as
 * the server's User, the lock file is root's) is used without it. */
apr_status_t a2md_ctx_lock(a2md_ctx_t *ctx);

/* Running as root: become the server's User (-u, else $APACHE_RUN_USER,
 * else the owner of the store's staging/), for work in what that user
 * owns (accounts/, challenges/, staging/), so every file a2md writes there
 * belongs to the server's children. No-op when not root or when the user
 * is root. Irreversible: read root's files first. */
apr_status_t a2md_ctx_become_user(a2md_ctx_t *ctx);

/* Record a failure: the exit class (A2MD_EXIT_*), and the one-line
 * message printed at the end. Returns rv (never APR_SUCCESS: a 0 rv
 * becomes APR_EGENERAL). */
apr_status_t a2md_ctx_fail(a2md_ctx_t *ctx, int exit_code, apr_status_t rv, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));

/* The same with a result from the core: its text, and remote or local by
 * whether the CA answered (a problem type, or a transport error). */
apr_status_t a2md_ctx_fail_result(a2md_ctx_t *ctx, const md_result_t *result, apr_status_t rv,
                                  const char *what);

/* The exit class of a store error: missing or corrupt values are input,
 * everything else (permissions, I/O, lock) local. */
int a2md_exit_of_store(apr_status_t rv);

/* Add a JSON value to "output" (a reference is taken). */
void a2md_ctx_out(a2md_ctx_t *ctx, json_t *j);

/* A message for the user on stderr (unless -q), e.g. what happened next. */
void a2md_ctx_note(a2md_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print an MD: md.json as JSON (plus extra members of extra, may be NULL),
 * else "md: <name> [<domains>]" as the stock a2md does. */
void a2md_ctx_print_md(a2md_ctx_t *ctx, const md_t *md, json_t *extra);

/* Load domains/<name>/md.json. A missing MD fails as input ("<name>: no
 * such managed domain in <dir>"), a corrupt one as input naming the file. */
apr_status_t a2md_ctx_load_md(a2md_ctx_t *ctx, md_t **pmd, const char *name);

/* All MDs in domains/, by name. Unreadable ones are reported and skipped. */
apr_status_t a2md_ctx_load_mds(a2md_ctx_t *ctx, apr_array_header_t **pmds);

/* Validate names for an MD: DNS names (a leading "*." allowed), IP
 * addresses; lower case, duplicates dropped. APR_EINVAL naming the bad one. */
apr_status_t a2md_ctx_domains(a2md_ctx_t *ctx, apr_array_header_t **pdomains, int first);

/* "x@example.org" -> "mailto:x@example.org"; URIs with another scheme are
 * taken as they are; bad addresses fail (input). */
apr_status_t a2md_ctx_contacts(a2md_ctx_t *ctx, apr_array_header_t **pcontacts, int first);

/* --- commands (a2md_cmd_*.c) --------------------------------------------- */

apr_status_t a2md_cmd_store_add(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_store_list(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_store_remove(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_store_update(a2md_ctx_t *ctx);

apr_status_t a2md_cmd_add(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_list(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_update(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_status(a2md_ctx_t *ctx);

apr_status_t a2md_cmd_drive(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_revoke(a2md_ctx_t *ctx);

apr_status_t a2md_cmd_acme_newreg(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_acme_agree(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_acme_validate(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_acme_delreg(a2md_ctx_t *ctx);
apr_status_t a2md_cmd_acme_keychange(a2md_ctx_t *ctx);

#endif /* a2md_h */
