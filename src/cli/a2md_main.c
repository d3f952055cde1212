/* a2md's main: parse, run one command, print the envelope, exit with the
 * error's class (see a2md.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "a2md.h"
#include "md_http.h"
#include "md_json.h"
#include "md_log.h"
#include "md_version.h"

/* Set once in main, before anything logs. */
static md_log_level_t log_level = MD_LOG_CRIT;

static int log_is_level(void *baton, md_log_level_t level)
{
    (void)baton;
    return level <= log_level;
}

static void log_print(const char *file, int line, md_log_level_t level, apr_status_t rv,
                      void *baton, const char *msg)
{
    char buf[128];

    (void)baton;
    if (log_level >= MD_LOG_DEBUG) {
        fprintf(stderr, "a2md: [%s] %s:%d: %s%s%s\n", md_log_level_name(level), file, line, msg,
                rv ? ": " : "", rv ? apr_strerror(rv, buf, sizeof(buf)) : "");
    }
    else {
        fprintf(stderr, "a2md: [%s] %s\n", md_log_level_name(level), msg);
    }
}

/* -v shows the core's notices and warnings, each more -v one level more. */
static md_log_level_t level_for(int verbose, int quiet)
{
    int level = MD_LOG_CRIT;

    if (verbose > 0 && !quiet) {
        level = MD_LOG_NOTICE + (verbose - 1);
    }
    return level > MD_LOG_TRACE8 ? MD_LOG_TRACE8 : (md_log_level_t)level;
}

static void print_envelope(json_t *output, apr_status_t rv, apr_pool_t *p)
{
    json_t *env = md_json_pool_own(p, json_object());
    char buf[128];

    if (!env) {
        return;
    }
    json_object_set_new(env, "status", json_integer(rv));
    json_object_set(env, "output", output);
    if (rv != APR_SUCCESS) {
        /* As the stock a2md: the status in words; the message went to stderr. */
        json_object_set_new(env, "description",
                            json_string(apr_strerror(rv, buf, sizeof(buf))));
    }
    printf("%s\n", md_json_dump(env, 1, p));
}

static void usage_error(const a2md_args_t *args, const char *err, apr_pool_t *p)
{
    const a2md_cmd_t *root = a2md_cmd_root();
    const a2md_cmd_t *cmd = args && args->cmd ? args->cmd : root;

    if (err && *err) {
        fprintf(stderr, "a2md: %s\n", err);
    }
    if (cmd == root) {
        fprintf(stderr, "usage: a2md [options] <command> [command options] [args] "
                "('a2md help' lists the commands)\n");
    }
    else {
        const char *path = a2md_cmd_path(root, cmd, p);
        fprintf(stderr, "usage: a2md [options] %s %s ('a2md help %s' for more)\n", path,
                cmd->synopsis ? cmd->synopsis : "", path);
    }
}

int main(int argc, const char *const *argv)
{
    const a2md_cmd_t *root = a2md_cmd_root();
    a2md_args_t *args = NULL;
    const char *err = NULL;
    a2md_ctx_t ctx;
    apr_pool_t *p;
    apr_status_t rv;

    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS
        || atexit(apr_terminate) != 0 || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        fprintf(stderr, "a2md: cannot initialize APR\n");
        return A2MD_EXIT_LOCAL;
    }
    rv = a2md_args_parse(&args, root, argc, argv, &err, p);
    if (rv != APR_SUCCESS) {
        usage_error(args, err, p);
        if (args && args->json) {
            print_envelope(md_json_pool_own(p, json_array()), rv, p);
        }
        return A2MD_EXIT_USAGE;
    }
    if (args->version) {
        printf("version: %s\n", MD_VERSION);
        return A2MD_EXIT_OK;
    }
    if (args->help) {
        a2md_print_help(stdout, root, args->help, p);
        return A2MD_EXIT_OK;
    }

    log_level = level_for(args->verbose, args->quiet);
    md_log_set(log_is_level, log_print, NULL);
    if ((rv = md_http_global_init()) != APR_SUCCESS) {
        fprintf(stderr, "a2md: cannot initialize libcurl\n");
        return A2MD_EXIT_LOCAL;
    }

    memset(&ctx, 0, sizeof(ctx));
    ctx.p = p;
    ctx.args = args;
    ctx.output = md_json_pool_own(p, json_array());
    rv = args->cmd->run(&ctx);
    if (ctx.locked) {
        md_store_unlock(ctx.store, p);
    }
    if (rv != APR_SUCCESS && !ctx.error) {
        a2md_ctx_fail(&ctx, A2MD_EXIT_LOCAL, rv, "%s failed", args->path);
    }
    if (args->json) {
        print_envelope(ctx.output, rv, p);
    }
    fflush(stdout);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "a2md: %s\n", ctx.error);
        if (ctx.exit_code == A2MD_EXIT_USAGE) {
            usage_error(args, NULL, p);
        }
        return ctx.exit_code ? ctx.exit_code : A2MD_EXIT_LOCAL;
    }
    return A2MD_EXIT_OK;
}
