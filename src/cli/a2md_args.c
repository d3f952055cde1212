/* The command line of a2md: options and the command tree (see a2md.h).
 * Pure parsing, no I/O but the help text, so it is unit tested word by
 * word (test/unit/test_a2md_args.c). */
#include <string.h>

#include <apr_strings.h>

#include "a2md.h"

static const a2md_opt_t *find_opt(const a2md_opt_t *opts, char sname, const char *lname,
                                  apr_size_t lname_len)
{
    const a2md_opt_t *o;

    for (o = opts; o && o->lname; ++o) {
        if (sname && o->sname == sname) {
            return o;
        }
        if (lname && strlen(o->lname) == lname_len && !strncmp(o->lname, lname, lname_len)) {
            return o;
        }
    }
    return NULL;
}

static const a2md_cmd_t *find_sub(const a2md_cmd_t *cmd, const char *name)
{
    int i;

    for (i = 0; cmd->subs && cmd->subs[i]; ++i) {
        if (!strcmp(cmd->subs[i]->name, name)) {
            return cmd->subs[i];
        }
    }
    return NULL;
}

/* A global option: into its field. */
static void set_global(a2md_args_t *args, const a2md_opt_t *o, const char *value)
{
    switch (o->sname) {
    case 'a': args->ca_url = value; break;
    case 'C': args->ca_file = value; break;
    case 'd': args->dir = value; break;
    case 'p': args->proxy = value; break;
    case 't': args->terms = value; break;
    case 'u': args->user = value; break;
    case 'j': args->json = 1; break;
    case 'v': ++args->verbose; break;
    case 'q': ++args->quiet; break;
    case 'V': args->version = 1; break;
    case 'h': args->help = args->cmd; break;
    default: break;
    }
}

/* Apply option o with value (NULL for a flag): the command's own, or a
 * global one. */
static void apply(a2md_args_t *args, const a2md_cmd_t *root, const a2md_opt_t *o,
                  int global, const char *value)
{
    (void)root;
    if (global) {
        set_global(args, o, value);
    }
    else {
        apr_table_setn(args->opts, o->lname, value ? value : "");
    }
}

/* Look an option up: the current command's first, then the global ones. */
static const a2md_opt_t *lookup(const a2md_cmd_t *root, const a2md_cmd_t *cur, char sname,
                                const char *lname, apr_size_t lname_len, int *pglobal)
{
    const a2md_opt_t *o = NULL;

    *pglobal = 0;
    if (cur != root) {
        o = find_opt(cur->opts, sname, lname, lname_len);
    }
    if (!o) {
        o = find_opt(root->opts, sname, lname, lname_len);
        *pglobal = (o != NULL);
    }
    return o;
}

/* One word starting with "-" at argv[*pi]; *pi moves past what it used. */
static apr_status_t take_option(a2md_args_t *args, const a2md_cmd_t *root,
                                const a2md_cmd_t *cur, int argc, const char *const *argv,
                                int *pi, const char **perr, apr_pool_t *p)
{
    const char *word = argv[*pi];
    const a2md_opt_t *o;
    int global;

    ++*pi;
    if (word[1] == '-') {
        const char *name = word + 2;
        const char *eq = strchr(name, '=');
        apr_size_t n = eq ? (apr_size_t)(eq - name) : strlen(name);

        o = lookup(root, cur, 0, name, n, &global);
        if (!o) {
            *perr = apr_psprintf(p, "unknown option '--%.*s'", (int)n, name);
            return APR_EINVAL;
        }
        if (!o->has_arg) {
            if (eq) {
                *perr = apr_psprintf(p, "option '--%s' takes no value", o->lname);
                return APR_EINVAL;
            }
            apply(args, root, o, global, NULL);
            return APR_SUCCESS;
        }
        if (eq) {
            apply(args, root, o, global, eq + 1);
            return APR_SUCCESS;
        }
        if (*pi >= argc) {
            *perr = apr_psprintf(p, "option '--%s' needs a value (%s)", o->lname, o->arg_name);
            return APR_EINVAL;
        }
        apply(args, root, o, global, argv[(*pi)++]);
        return APR_SUCCESS;
    }
    /* Short options, possibly bundled: "-vvj", "-aURL", "-a URL". */
    for (++word; *word; ++word) {
        o = lookup(root, cur, *word, NULL, 0, &global);
        if (!o) {
            *perr = apr_psprintf(p, "unknown option '-%c'", *word);
            return APR_EINVAL;
        }
        if (!o->has_arg) {
            apply(args, root, o, global, NULL);
            continue;
        }
        if (word[1]) {
            apply(args, root, o, global, word + 1);
            return APR_SUCCESS;
        }
        if (*pi >= argc) {
            *perr = apr_psprintf(p, "option '-%c' needs a value (%s)", o->sname, o->arg_name);
            return APR_EINVAL;
        }
        apply(args, root, o, global, argv[(*pi)++]);
        return APR_SUCCESS;
    }
    return APR_SUCCESS;
}

/* "help [command...]": the command to show the help of. */
static apr_status_t parse_help(a2md_args_t *args, const a2md_cmd_t *root, int argc,
                               const char *const *argv, int i, const char **perr, apr_pool_t *p)
{
    const a2md_cmd_t *cmd = root;

    for (; i < argc; ++i) {
        const a2md_cmd_t *sub;

        if (argv[i][0] == '-') {
            continue;   /* "a2md help -j drive": options do not matter here */
        }
        if (!(sub = find_sub(cmd, argv[i]))) {
            *perr = apr_psprintf(p, "no help for unknown command '%s%s%s'",
                                 cmd == root ? "" : a2md_cmd_path(root, cmd, p),
                                 cmd == root ? "" : " ", argv[i]);
            args->cmd = cmd;
            return APR_EINVAL;
        }
        cmd = sub;
    }
    args->help = cmd;
    args->cmd = NULL;
    return APR_SUCCESS;
}

static const char *plural(int n, const char *word, apr_pool_t *p)
{
    return apr_psprintf(p, "%d %s%s", n, word, n == 1 ? "" : "s");
}

/* The command line names a command that runs (cur), with as many
 * arguments as it takes. */
static apr_status_t check_command(const a2md_args_t *args, const a2md_cmd_t *root,
                                  const a2md_cmd_t *cur, const char **perr, apr_pool_t *p)
{
    if (!cur->run) {
        *perr = cur == root ? "no command given"
                            : apr_psprintf(p, "'%s' needs a command", args->path);
        return APR_EINVAL;
    }
    if (args->args->nelts < cur->min_args) {
        *perr = apr_psprintf(p, "'%s' needs at least %s", args->path,
                             plural(cur->min_args, "argument", p));
        return APR_EINVAL;
    }
    if (cur->max_args >= 0 && args->args->nelts > cur->max_args) {
        *perr = cur->max_args == 0
              ? apr_psprintf(p, "'%s' takes no arguments", args->path)
              : apr_psprintf(p, "'%s' takes at most %s", args->path,
                             plural(cur->max_args, "argument", p));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t a2md_args_parse(a2md_args_t **pargs, const a2md_cmd_t *root, int argc,
                             const char *const *argv, const char **perr, apr_pool_t *p)
{
    a2md_args_t *args = apr_pcalloc(p, sizeof(*args));
    const a2md_cmd_t *cur = root;
    int opts_done = 0;
    int i = 1;
    int want_help = 0;
    apr_status_t rv;

    *perr = NULL;
    *pargs = args;
    args->opts = apr_table_make(p, 5);
    args->args = apr_array_make(p, 5, sizeof(const char *));
    args->cmd = root;

    while (i < argc) {
        const char *word = argv[i];

        if (!opts_done && !strcmp(word, "--")) {
            opts_done = 1;
            ++i;
            continue;
        }
        if (!opts_done && word[0] == '-' && word[1]) {
            if ((rv = take_option(args, root, cur, argc, argv, &i, perr, p)) != APR_SUCCESS) {
                return rv;
            }
            if (args->help) {
                want_help = 1;
            }
            continue;
        }
        if (cur->subs && args->args->nelts == 0) {
            const a2md_cmd_t *sub;

            if (cur == root && !strcmp(word, "help")) {
                return parse_help(args, root, argc, argv, i + 1, perr, p);
            }
            if (!(sub = find_sub(cur, word))) {
                *perr = cur == root ? apr_psprintf(p, "unknown command '%s'", word)
                      : apr_psprintf(p, "unknown command '%s %s'",
                                     a2md_cmd_path(root, cur, p), word);
                return APR_EINVAL;
            }
            cur = sub;
            args->cmd = cur;
            ++i;
            continue;
        }
        APR_ARRAY_PUSH(args->args, const char *) = word;
        ++i;
    }

    args->path = a2md_cmd_path(root, cur, p);
    if (want_help) {
        args->help = cur;
        args->cmd = NULL;
        return APR_SUCCESS;
    }
    if (args->version) {
        args->cmd = NULL;
        return APR_SUCCESS;
    }
    return check_command(args, root, cur, perr, p);
}

int a2md_args_has(const a2md_args_t *args, const char *lname)
{
    return apr_table_get(args->opts, lname) != NULL;
}

const char *a2md_args_get(const a2md_args_t *args, const char *lname)
{
    return apr_table_get(args->opts, lname);
}

/* Depth-first search for cmd below node; appends the names on the way. */
static int path_of(const a2md_cmd_t *node, const a2md_cmd_t *cmd, const char **ppath,
                   apr_pool_t *p)
{
    int i;

    for (i = 0; node->subs && node->subs[i]; ++i) {
        const a2md_cmd_t *sub = node->subs[i];
        const char *before = *ppath;

        *ppath = *before ? apr_pstrcat(p, before, " ", sub->name, NULL) : sub->name;
        if (sub == cmd || path_of(sub, cmd, ppath, p)) {
            return 1;
        }
        *ppath = before;
    }
    return 0;
}

const char *a2md_cmd_path(const a2md_cmd_t *root, const a2md_cmd_t *cmd, apr_pool_t *p)
{
    const char *path = "";

    if (cmd == root || !cmd) {
        return root->name;
    }
    return path_of(root, cmd, &path, p) ? path : cmd->name;
}

/* --- help ------------------------------------------------------------------ */

static void print_opts(FILE *f, const a2md_opt_t *opts)
{
    const a2md_opt_t *o;

    for (o = opts; o && o->lname; ++o) {
        char head[64];

        if (o->sname) {
            snprintf(head, sizeof(head), "-%c, --%s%s%s", o->sname, o->lname,
                     o->has_arg ? " " : "", o->has_arg ? o->arg_name : "");
        }
        else {
            snprintf(head, sizeof(head), "    --%s%s%s", o->lname, o->has_arg ? " " : "",
                     o->has_arg ? o->arg_name : "");
        }
        fprintf(f, "  %-26s %s\n", head, o->descr);
    }
}

/* Every runnable command below cmd, one line each. */
static void print_commands(FILE *f, const a2md_cmd_t *root, const a2md_cmd_t *cmd,
                           apr_pool_t *p)
{
    int i;

    for (i = 0; cmd->subs && cmd->subs[i]; ++i) {
        const a2md_cmd_t *sub = cmd->subs[i];

        if (sub->run) {
            const char *line = apr_psprintf(p, "%s %s", a2md_cmd_path(root, sub, p),
                                            sub->synopsis);
            fprintf(f, "  %-40s %s\n", line, sub->descr);
        }
        print_commands(f, root, sub, p);
    }
}

void a2md_print_help(FILE *f, const a2md_cmd_t *root, const a2md_cmd_t *cmd, apr_pool_t *p)
{
    if (!cmd || cmd == root) {
        fprintf(f, "usage: a2md [options] <command> [command options] [args]\n\n%s\n",
                root->descr);
        if (root->help) {
            fprintf(f, "\n%s\n", root->help);
        }
        fprintf(f, "\noptions:\n");
        print_opts(f, root->opts);
        fprintf(f, "\ncommands:\n");
        print_commands(f, root, root, p);
        fprintf(f, "  %-40s %s\n", "help [command]", "show the help of a command");
        return;
    }
    fprintf(f, "usage: a2md [options] %s%s%s\n\n%s\n", a2md_cmd_path(root, cmd, p),
            cmd->synopsis && *cmd->synopsis ? " " : "",
            cmd->synopsis ? cmd->synopsis : "", cmd->descr);
    if (cmd->help) {
        fprintf(f, "\n%s\n", cmd->help);
    }
    if (cmd->opts && cmd->opts->lname) {
        fprintf(f, "\noptions:\n");
        print_opts(f, cmd->opts);
    }
    if (cmd->subs) {
        fprintf(f, "\ncommands:\n");
        print_commands(f, root, cmd, p);
    }
    fprintf(f, "\nglobal options (a2md help): -a URL, -C FILE, -d DIR, -j, -p URL, -q, "
            "-t URL, -u USER, -v, -V\n");
}
