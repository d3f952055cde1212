/* Unit tests of a2md's command line parsing (src/cli/a2md_args.c) against
 * the real command table: global and command options in every position
 * and form, the command tree, argument counts, help and the usage errors
 * with their messages. */
#include "unit.h"

#include <string.h>

#include <apr_strings.h>

#include "a2md.h"

/* Parse a NULL-terminated word list (the program name is added). */
static apr_status_t parse(a2md_args_t **pargs, const char **perr, apr_pool_t *p, ...)
{
    const char *argv[64];
    const char *w;
    int argc = 0;
    va_list ap;

    argv[argc++] = "a2md";
    va_start(ap, p);
    while ((w = va_arg(ap, const char *)) != NULL && argc < 63) {
        argv[argc++] = w;
    }
    va_end(ap);
    argv[argc] = NULL;
    return a2md_args_parse(pargs, a2md_cmd_root(), argc, argv, perr, p);
}

static const char *arg(const a2md_args_t *args, int i)
{
    return APR_ARRAY_IDX(args->args, i, const char *);
}

static void test_globals(void **state)
{
    apr_pool_t *p = *state;
    a2md_args_t *args;
    const char *err;

    assert_int_equal(parse(&args, &err, p, "-a", "https://ca/dir", "-C", "ca.pem",
                           "--dir", "/tmp/md", "-j", "-p", "http://proxy:3128", "-t", "accepted",
                           "-u", "www-data", "-vvv", "list", NULL), APR_SUCCESS);
    assert_string_equal(args->ca_url, "https://ca/dir");
    assert_string_equal(args->ca_file, "ca.pem");
    assert_string_equal(args->dir, "/tmp/md");
    assert_string_equal(args->proxy, "http://proxy:3128");
    assert_string_equal(args->terms, "accepted");
    assert_string_equal(args->user, "www-data");
    assert_true(args->json);
    assert_int_equal(args->verbose, 3);
    assert_string_equal(args->cmd->name, "list");
    assert_string_equal(args->path, "list");
    assert_int_equal(args->args->nelts, 0);

    /* attached values, "=" values, bundles, globals after the command */
    assert_int_equal(parse(&args, &err, p, "-ahttps://x/dir", "--cafile=c.pem", "-jvq",
                           "status", "a.test", "-d", "/srv/md", NULL), APR_SUCCESS);
    assert_string_equal(args->ca_url, "https://x/dir");
    assert_string_equal(args->ca_file, "c.pem");
    assert_string_equal(args->dir, "/srv/md");
    assert_true(args->json);
    assert_int_equal(args->verbose, 1);
    assert_int_equal(args->quiet, 1);
    assert_string_equal(args->cmd->name, "status");
    assert_int_equal(args->args->nelts, 1);
    assert_string_equal(arg(args, 0), "a.test");
}

static void test_subcommands_and_options(void **state)
{
    apr_pool_t *p = *state;
    a2md_args_t *args;
    const char *err;

    assert_int_equal(parse(&args, &err, p, "store", "remove", "-f", "a.test", "b.test", NULL),
                     APR_SUCCESS);
    assert_string_equal(args->path, "store remove");
    assert_true(a2md_args_has(args, "force"));
    assert_int_equal(args->args->nelts, 2);

    /* options anywhere among the arguments; long and short forms */
    assert_int_equal(parse(&args, &err, p, "drive", "a.test", "--force", "-r", "-c",
                           "http-01", "b.test", NULL), APR_SUCCESS);
    assert_string_equal(args->path, "drive");
    assert_true(a2md_args_has(args, "force"));
    assert_true(a2md_args_has(args, "reset"));
    assert_string_equal(a2md_args_get(args, "challenge"), "http-01");
    assert_int_equal(args->args->nelts, 2);
    assert_string_equal(arg(args, 1), "b.test");
    assert_false(a2md_args_has(args, "by-key"));

    assert_int_equal(parse(&args, &err, p, "drive", "--challenge=dns-01", NULL), APR_SUCCESS);
    assert_string_equal(a2md_args_get(args, "challenge"), "dns-01");
    assert_int_equal(args->args->nelts, 0);

    /* the binding's file, for drive and acme newreg only */
    assert_int_equal(parse(&args, &err, p, "drive", "-e", "/etc/eab.json", "a.test", NULL),
                     APR_SUCCESS);
    assert_string_equal(a2md_args_get(args, "eab"), "/etc/eab.json");
    assert_int_equal(parse(&args, &err, p, "acme", "newreg", "--eab=eab.json", "a@b.test",
                           NULL), APR_SUCCESS);
    assert_string_equal(a2md_args_get(args, "eab"), "eab.json");
    assert_string_equal(arg(args, 0), "a@b.test");
    assert_int_equal(parse(&args, &err, p, "acme", "agree", "-e", "x", "ACME-x-0000", NULL),
                     APR_EINVAL);

    /* "--" ends the options: a word starting with "-" is an argument then */
    assert_int_equal(parse(&args, &err, p, "update", "a.test", "contacts", "--", "-x@y", NULL),
                     APR_SUCCESS);
    assert_int_equal(args->args->nelts, 3);
    assert_string_equal(arg(args, 2), "-x@y");

    assert_int_equal(parse(&args, &err, p, "acme", "keychange", "ACME-x-0000", NULL),
                     APR_SUCCESS);
    assert_string_equal(args->path, "acme keychange");
    assert_int_equal(parse(&args, &err, p, "revoke", "-k", "a.test", "keyCompromise", NULL),
                     APR_SUCCESS);
    assert_true(a2md_args_has(args, "by-key"));
    assert_int_equal(args->args->nelts, 2);

    /* a name that is a command name is an argument after the command */
    assert_int_equal(parse(&args, &err, p, "store", "add", "list", NULL), APR_SUCCESS);
    assert_string_equal(args->path, "store add");
    assert_string_equal(arg(args, 0), "list");
}

static void test_help_version(void **state)
{
    apr_pool_t *p = *state;
    a2md_args_t *args;
    const char *err;

    assert_int_equal(parse(&args, &err, p, "-h", NULL), APR_SUCCESS);
    assert_ptr_equal(args->help, a2md_cmd_root());
    assert_null(args->cmd);
    assert_int_equal(parse(&args, &err, p, "help", NULL), APR_SUCCESS);
    assert_ptr_equal(args->help, a2md_cmd_root());
    assert_int_equal(parse(&args, &err, p, "help", "acme", "newreg", NULL), APR_SUCCESS);
    assert_string_equal(args->help->name, "newreg");
    assert_int_equal(parse(&args, &err, p, "drive", "--help", NULL), APR_SUCCESS);
    assert_string_equal(args->help->name, "drive");
    /* help needs no arguments the command would */
    assert_int_equal(parse(&args, &err, p, "store", "add", "-h", NULL), APR_SUCCESS);
    assert_string_equal(args->help->name, "add");
    assert_int_equal(parse(&args, &err, p, "-V", NULL), APR_SUCCESS);
    assert_true(args->version);
    assert_null(args->cmd);
    assert_string_equal(a2md_cmd_path(a2md_cmd_root(), args->help ? args->help
                                      : a2md_cmd_root(), p), "a2md");
}

static void expect_usage(apr_pool_t *p, const char *msg, ...)
{
    const char *argv[16];
    const char *w;
    a2md_args_t *args = NULL;
    const char *err = NULL;
    int argc = 0;
    va_list ap;

    argv[argc++] = "a2md";
    va_start(ap, msg);
    while ((w = va_arg(ap, const char *)) != NULL && argc < 15) {
        argv[argc++] = w;
    }
    va_end(ap);
    argv[argc] = NULL;
    assert_int_equal(a2md_args_parse(&args, a2md_cmd_root(), argc, argv, &err, p), APR_EINVAL);
    assert_non_null(args);
    assert_non_null(err);
    assert_string_equal(err, msg);
}

static void test_usage_errors(void **state)
{
    apr_pool_t *p = *state;

    expect_usage(p, "no command given", NULL);
    expect_usage(p, "no command given", "-j", "-v", NULL);
    expect_usage(p, "unknown command 'frob'", "frob", NULL);
    expect_usage(p, "unknown command 'acme frob'", "acme", "frob", NULL);
    expect_usage(p, "'acme' needs a command", "acme", NULL);
    expect_usage(p, "unknown option '--frob'", "--frob", "list", NULL);
    expect_usage(p, "unknown option '-x'", "list", "-x", NULL);
    /* a command's option is not another command's */
    expect_usage(p, "unknown option '-f'", "list", "-f", NULL);
    expect_usage(p, "unknown option '-k'", "drive", "-k", NULL);
    expect_usage(p, "option '--json' takes no value", "--json=1", "list", NULL);
    expect_usage(p, "option '-a' needs a value (URL)", "list", "-a", NULL);
    expect_usage(p, "option '--challenge' needs a value (TYPE)", "drive", "--challenge", NULL);
    expect_usage(p, "'add' needs at least 1 argument", "add", NULL);
    expect_usage(p, "'update' needs at least 1 argument", "update", NULL);
    expect_usage(p, "'store list' takes no arguments", "store", "list", "x", NULL);
    expect_usage(p, "'revoke' takes at most 2 arguments", "revoke", "a", "b", "c", NULL);
    expect_usage(p, "no help for unknown command 'store frob'", "help", "store", "frob", NULL);
}

/* Every command of the table has what help and dispatch need. */
static void check_cmd(const a2md_cmd_t *cmd, int depth)
{
    int i;

    assert_true(depth < 4);
    assert_non_null(cmd->name);
    assert_non_null(cmd->descr);
    assert_true(cmd->run != NULL || cmd->subs != NULL);
    assert_true(cmd->max_args < 0 || cmd->max_args >= cmd->min_args);
    for (i = 0; cmd->subs && cmd->subs[i]; ++i) {
        check_cmd(cmd->subs[i], depth + 1);
    }
}

static void test_table(void **state)
{
    apr_pool_t *p = *state;
    const a2md_cmd_t *root = a2md_cmd_root();
    a2md_args_t *args;
    const char *err;
    FILE *f;
    char buf[16384];
    size_t n;

    check_cmd(root, 0);
    /* the stock a2md's commands are all there */
    assert_int_equal(parse(&args, &err, p, "store", "update", "x", NULL), APR_SUCCESS);
    assert_int_equal(parse(&args, &err, p, "acme", "newreg", "x@y.test", NULL), APR_SUCCESS);
    assert_int_equal(parse(&args, &err, p, "acme", "agree", "A", NULL), APR_SUCCESS);
    assert_int_equal(parse(&args, &err, p, "acme", "validate", "A", NULL), APR_SUCCESS);
    assert_int_equal(parse(&args, &err, p, "acme", "delreg", "A", NULL), APR_SUCCESS);
    assert_int_equal(parse(&args, &err, p, "drive", NULL), APR_SUCCESS);
    /* the help lists every runnable command */
    f = tmpfile();
    assert_non_null(f);
    a2md_print_help(f, root, root, p);
    rewind(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "store remove [-f]"));
    assert_non_null(strstr(buf, "acme keychange"));
    assert_non_null(strstr(buf, "revoke [-k]"));
    assert_non_null(strstr(buf, "--verbose"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_globals),
        UNIT_TEST(test_subcommands_and_options),
        UNIT_TEST(test_help_version),
        UNIT_TEST(test_usage_errors),
        UNIT_TEST(test_table),
    };
    return UNIT_RUN(tests);
}
