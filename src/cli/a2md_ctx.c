/* What every a2md command needs: the store, its lock, the server's User,
 * errors with their exit class, and output (see a2md.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>

#include "a2md.h"
#include "md_dns.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_time.h"
#include "md_util.h"

#define ENV_RUN_USER  "APACHE_RUN_USER"

apr_status_t a2md_ctx_fail(a2md_ctx_t *ctx, int exit_code, apr_status_t rv, const char *fmt,
                           ...)
{
    va_list ap;

    if (rv == APR_SUCCESS) {
        rv = APR_EGENERAL;
    }
    /* The first failure is the one to report: later ones follow from it. */
    if (!ctx->error) {
        va_start(ap, fmt);
        ctx->error = apr_pvsprintf(ctx->p, fmt, ap);
        va_end(ap);
        ctx->exit_code = exit_code;
    }
    return rv;
}

apr_status_t a2md_ctx_fail_result(a2md_ctx_t *ctx, const md_result_t *result, apr_status_t rv,
                                  const char *what)
{
    int code;

    if (result->problem) {
        code = A2MD_EXIT_REMOTE;     /* the CA said no */
    }
    else if (rv == APR_EINVAL || APR_STATUS_IS_ENOENT(rv)) {
        code = A2MD_EXIT_INPUT;
    }
    else if (APR_STATUS_IS_EACCES(rv)) {
        code = A2MD_EXIT_LOCAL;
    }
    else {
        /* Connection refused, timeouts, 5xx without a problem document. */
        code = A2MD_EXIT_REMOTE;
    }
    if (result->activity && result->detail && !result->problem && code != A2MD_EXIT_REMOTE) {
        return a2md_ctx_fail(ctx, code, rv, "%s: %s: %s", what, result->activity,
                             result->detail);
    }
    return a2md_ctx_fail(ctx, code, rv, "%s: %s%s%s%s", what,
                         result->detail ? result->detail : "failed",
                         result->problem ? " (" : "", result->problem ? result->problem : "",
                         result->problem ? ")" : "");
}

int a2md_exit_of_store(apr_status_t rv)
{
    if (APR_STATUS_IS_ENOENT(rv) || rv == APR_EINVAL) {
        return A2MD_EXIT_INPUT;
    }
    return A2MD_EXIT_LOCAL;
}

/* Only adding something may make a new store. */
static int creates_store(const a2md_cmd_t *cmd)
{
    return cmd && (cmd->run == a2md_cmd_store_add || cmd->run == a2md_cmd_add
                   || cmd->run == a2md_cmd_acme_newreg);
}

/* Is there a store at dir (its md_store.json, readable or not)? */
static int md_store_exists_at(const char *dir)
{
    struct stat st;
    char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, MD_FN_STORE_JSON) >= sizeof(path)) {
        return 0;
    }
    return lstat(path, &st) == 0;
}

apr_status_t a2md_ctx_eab(a2md_ctx_t *ctx, const md_conf_eab_t **peab)
{
    const char *path = a2md_args_get(ctx->args, "eab");
    const char *perr = NULL;
    md_conf_eab_t *eab;
    apr_status_t rv;

    *peab = NULL;
    if (!path) {
        return APR_SUCCESS;
    }
    eab = apr_pcalloc(ctx->p, sizeof(*eab));
    rv = md_conf_eab_file_read(eab, path, &perr, ctx->p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, rv, "-e: %s is not a file",
                             md_util_str_printable(ctx->p, path, 256));
    }
    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, rv, "-e: %s", perr);
    }
    if (!eab->kid || !eab->hmac) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "-e: %s has no \"kid\" or "
                             "no \"hmac\"", md_util_str_printable(ctx->p, path, 256));
    }
    *peab = eab;
    return APR_SUCCESS;
}

apr_status_t a2md_ctx_store(a2md_ctx_t *ctx)
{
    apr_status_t rv;
    char buf[128];

    if (ctx->store) {
        return APR_SUCCESS;
    }
    if (!ctx->args->dir) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_USAGE, APR_EINVAL,
                             "%s: needs the store directory (-d DIR)", ctx->args->path);
    }
    if (!creates_store(ctx->args->cmd) && !md_store_exists_at(ctx->args->dir)) {
        /* A mistyped -d must not leave an empty store behind. */
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_ENOENT, "%s: there is no store (no "
                             "%s)", ctx->args->dir, MD_FN_STORE_JSON);
    }
    /* The command line stays the stock one: a shared store (MDStoreBackend)
     * is named in the environment, -d is its local directory. */
    rv = md_store_open(&ctx->store, getenv("MD_STORE_BACKEND"), getenv("MD_STORE_CONNINFO"),
                       ctx->args->dir, ctx->p);
    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, APR_STATUS_IS_EACCES(rv) ? A2MD_EXIT_LOCAL
                                  : a2md_exit_of_store(rv), rv,
                             "%s: cannot open the store: %s%s", ctx->args->dir,
                             apr_strerror(rv, buf, sizeof(buf)),
                             APR_STATUS_IS_EACCES(rv) && geteuid() != 0
                             ? " (it belongs to root: run a2md as root)" : "");
    }
    return APR_SUCCESS;
}

apr_status_t a2md_ctx_lock(a2md_ctx_t *ctx)
{
    apr_status_t rv;

    if (ctx->locked) {
        return APR_SUCCESS;
    }
    rv = md_store_lock(ctx->store, A2MD_LOCK_WAIT, ctx->p);
    if (rv == APR_SUCCESS) {
        ctx->locked = 1;
        return APR_SUCCESS;
    }
    if (APR_STATUS_IS_EACCES(rv) && geteuid() != 0) {
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, rv, ctx->p, "MD23001: %s: the store lock is "
                      "not ours to take, going on without it", ctx->args->dir);
        return APR_SUCCESS;
    }
    if (APR_STATUS_IS_TIMEUP(rv)) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, rv, "%s: the store is locked (by a "
                             "starting server or another a2md) for more than %s", ctx->args->dir,
                             md_duration_print(A2MD_LOCK_WAIT, ctx->p));
    }
    return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, rv, "%s: cannot lock the store", ctx->args->dir);
}

/* Who the server's User is: -u, the Debian apache2 environment, else the
 * owner of staging/ (the parent hands it to User at every start). */
static apr_status_t find_user(a2md_ctx_t *ctx, uid_t *puid, gid_t *pgid, const char **pname)
{
    const char *name = ctx->args->user;
    struct passwd *pw;
    struct stat st;

    if (!name) {
        name = getenv(ENV_RUN_USER);
        if (name && (!*name || name[0] == '$')) {
            name = NULL;
        }
    }
    if (name) {
        errno = 0;
        if (!(pw = getpwnam(name))) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "user '%s' does not exist%s",
                                 name, ctx->args->user ? "" : " ($" ENV_RUN_USER ")");
        }
        *puid = pw->pw_uid;
        *pgid = pw->pw_gid;
        *pname = apr_pstrdup(ctx->p, name);
        return APR_SUCCESS;
    }
    if (stat(apr_pstrcat(ctx->p, ctx->args->dir, "/",
                         md_store_group_name(MD_SG_STAGING), NULL), &st) != 0) {
        *puid = 0;
        *pgid = 0;
        *pname = "root";
        return APR_SUCCESS;
    }
    *puid = st.st_uid;
    *pgid = st.st_gid;
    pw = getpwuid(st.st_uid);
    *pname = pw ? apr_pstrdup(ctx->p, pw->pw_name) : apr_psprintf(ctx->p, "%ld", (long)st.st_uid);
    return APR_SUCCESS;
}

apr_status_t a2md_ctx_become_user(a2md_ctx_t *ctx)
{
    const char *name = NULL;
    uid_t uid = 0;
    gid_t gid = 0;
    apr_status_t rv;

    if (ctx->privs_dropped || geteuid() != 0) {
        return APR_SUCCESS;
    }
    if ((rv = find_user(ctx, &uid, &gid, &name)) != APR_SUCCESS) {
        return rv;
    }
    if (uid == 0) {
        return APR_SUCCESS;
    }
    /* What the user owns in the store must be theirs before we lose root
     * (an earlier a2md of another version, a restore from a backup). */
    md_store_set_owner(ctx->store, (int)uid, (int)gid, ctx->p);
    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, APR_FROM_OS_ERROR(errno),
                             "cannot switch to user %s: %s", name, strerror(errno));
    }
    ctx->privs_dropped = 1;
    md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ctx->p, "MD23002: running as %s (uid %ld) "
                  "for the store's accounts/, challenges/ and staging/", name, (long)uid);
    return APR_SUCCESS;
}

void a2md_ctx_out(a2md_ctx_t *ctx, json_t *j)
{
    if (j) {
        json_array_append(ctx->output, j);
    }
}

void a2md_ctx_note(a2md_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;

    if (ctx->args->quiet) {
        return;
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void a2md_ctx_print_md(a2md_ctx_t *ctx, const md_t *md, json_t *extra)
{
    if (ctx->args->json) {
        json_t *j = md_to_json(md, ctx->p);

        if (j && extra) {
            json_object_update(j, extra);
        }
        a2md_ctx_out(ctx, j);
        return;
    }
    printf("md: %s [%s]\n", md->name, md_array_str_join(md->domains, ", ", ctx->p));
}

apr_status_t a2md_ctx_load_md(a2md_ctx_t *ctx, md_t **pmd, const char *name)
{
    const char *source = apr_pstrcat(ctx->p, md_store_group_name(MD_SG_DOMAINS), "/", name,
                                     "/", MD_FN_MD, NULL);
    json_t *j = NULL;
    apr_status_t rv;
    char buf[128];

    *pmd = NULL;
    rv = md_store_load_json(ctx->store, MD_SG_DOMAINS, name, MD_FN_MD, &j, ctx->p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, rv, "%s: no such managed domain in %s",
                             name, ctx->args->dir);
    }
    if (rv == APR_SUCCESS && md_from_json(pmd, j, source, ctx->p) != APR_SUCCESS) {
        rv = APR_EINVAL;
    }
    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, a2md_exit_of_store(rv), rv, "%s: %s", source,
                             rv == APR_EINVAL ? "not a valid md.json"
                                              : apr_strerror(rv, buf, sizeof(buf)));
    }
    return APR_SUCCESS;
}

apr_status_t a2md_ctx_load_mds(a2md_ctx_t *ctx, apr_array_header_t **pmds)
{
    apr_array_header_t *names = NULL;
    apr_status_t rv;
    int i;

    *pmds = apr_array_make(ctx->p, 10, sizeof(md_t *));
    rv = md_store_list(ctx->store, MD_SG_DOMAINS, &names, ctx->p);
    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, rv, "%s: cannot list the managed domains",
                             ctx->args->dir);
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *name = MD_ARR_IDX(names, i, const char *);
        json_t *j = NULL;
        md_t *md = NULL;

        /* Keep going: one unreadable MD must not hide the others. */
        if (md_store_load_json(ctx->store, MD_SG_DOMAINS, name, MD_FN_MD, &j, ctx->p)
            == APR_SUCCESS && md_from_json(&md, j, name, ctx->p) == APR_SUCCESS) {
            APR_ARRAY_PUSH(*pmds, md_t *) = md;
        }
        else if (md_store_exists(ctx->store, MD_SG_DOMAINS, name, MD_FN_MD, ctx->p)) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, 0, ctx->p, "MD23003: %s/%s/%s is not "
                          "readable, skipped", md_store_group_name(MD_SG_DOMAINS), name,
                          MD_FN_MD);
        }
    }
    return APR_SUCCESS;
}

apr_status_t a2md_ctx_domains(a2md_ctx_t *ctx, apr_array_header_t **pdomains, int first)
{
    apr_array_header_t *domains = apr_array_make(ctx->p, 5, sizeof(const char *));
    const apr_array_header_t *args = ctx->args->args;
    int i;

    *pdomains = domains;
    for (i = first; i < args->nelts; ++i) {
        const char *name = MD_ARR_IDX(args, i, const char *);
        const char *why = NULL;

        if (!md_dns_is_ip(name) && !md_dns_is_name(name, 1, 0, &why)) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "'%s' is not a valid "
                                 "domain name: %s", md_util_str_printable(ctx->p, name, 256),
                                 why ? why : "not a DNS name or IP address");
        }
        md_array_str_add_missing(domains, md_util_str_tolower(ctx->p, name));
    }
    if (domains->nelts == 0) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "%s: needs at least one "
                             "domain name", ctx->args->path);
    }
    return APR_SUCCESS;
}

/* An email address the way MDContactEmail takes it: one '@', something
 * on both sides, no spaces, controls or characters an address cannot
 * have unquoted, no empty labels in the host. */
static int email_ok(const char *addr)
{
    const char *at = strchr(addr, '@');
    const char *c;

    if (!at || at == addr || !at[1] || strchr(at + 1, '@') || strstr(addr, "..")
        || addr[0] == '.' || at[-1] == '.' || at[1] == '.' || addr[strlen(addr) - 1] == '.') {
        return 0;
    }
    for (c = addr; *c; ++c) {
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f
            || strchr("<>()[]\\,;:\"", *c)) {
            return 0;
        }
    }
    return 1;
}

apr_status_t a2md_ctx_contacts(a2md_ctx_t *ctx, apr_array_header_t **pcontacts, int first)
{
    apr_array_header_t *contacts = apr_array_make(ctx->p, 3, sizeof(const char *));
    const apr_array_header_t *args = ctx->args->args;
    int i;

    *pcontacts = contacts;
    for (i = first; i < args->nelts; ++i) {
        const char *c = MD_ARR_IDX(args, i, const char *);
        const char *colon = strchr(c, ':');
        const char *addr = NULL;

        if (!strncasecmp(c, "mailto:", 7)) {
            addr = c + 7;
        }
        else if (!colon || strchr(c, '@') < colon) {
            addr = c;
            c = apr_pstrcat(ctx->p, "mailto:", c, NULL);
        }
        else if (strchr(c, ' ')) {
            addr = "";
        }
        if (addr && !email_ok(addr)) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "'%s' is not a valid "
                                 "contact (an email address, or mailto:<address>)",
                                 md_util_str_printable(ctx->p, c, 256));
        }
        APR_ARRAY_PUSH(contacts, const char *) = c;
    }
    if (contacts->nelts == 0) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "%s: needs at least one "
                             "contact", ctx->args->path);
    }
    return APR_SUCCESS;
}
