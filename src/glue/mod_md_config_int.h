/* Private to mod_md_config.c and mod_md_config_custom.c: the directive rows
 * and the rules every directive goes through. */
#ifndef mod_md_config_int_h
#define mod_md_config_int_h

#include "mod_md_config.h"

/* Where a directive stands. */
#define CTX_SERVER   0x01   /* the server config, outside any section */
#define CTX_VHOST    0x02   /* inside <VirtualHost> */
#define CTX_SECTION  0x04   /* inside <MDomainSet> / <MDomain> */
#define CTX_DIR      0x08   /* <If>, <Files>, .htaccess (MDRequireHttps only) */

/* What a row's value is and how it is read. */
typedef enum {
    KIND_ENUM,          /* one word of row->words (on|off too) -> int */
    KIND_NUMBER,        /* a count in min..max -> int */
    KIND_DURATION,      /* md_conf_duration_parse, min..max -> apr_interval_time_t */
    KIND_TIMESLICE,     /* percent or duration -> const md_timeslice_t* */
    KIND_STRING,        /* one word, row->check -> const char* */
    KIND_PATH,          /* a file under ServerRoot -> const char*, absolute */
    KIND_PROGRAM,       /* program [args] -> apr_array_header_t* of const char* */
    KIND_LIST,          /* words, each through row->check, no repeats -> array */
    KIND_PAIR,          /* one or two words -> const char* at off and off2 */
    KIND_CUSTOM,        /* row->parse */
} mod_md_kind_t;

/* Which struct a row's field is in. */
typedef enum {
    SCOPE_MD,           /* mod_md_settings_t: per MD, defaults in the server config */
    SCOPE_GLOBAL,       /* mod_md_global_t */
} mod_md_scope_t;

/* How the value reaches md_t (SCOPE_MD rows). */
typedef enum {
    TO_MD_NONE,         /* not at all, or by special code in apply_settings */
    TO_MD_INT,
    TO_MD_SLICE,        /* *(const md_timeslice_t*) into an md_timeslice_t */
    TO_MD_STR,
    TO_MD_ARRAY,        /* a copy of the array */
} mod_md_to_md_t;

/* Outside min..max: refuse as the stock module does, or take the limit
 * with a warning (the stock module accepts the value). */
typedef enum {
    LIMIT_REFUSE,
    LIMIT_CLAMP,
} mod_md_limit_t;

typedef struct {
    const char *word;
    int value;
} mod_md_word_t;

typedef struct mod_md_row_t mod_md_row_t;

/* One value being read: the directive (cmd NULL while the defaults of the
 * table are read), what a parser found wrong without refusing it. */
typedef struct {
    cmd_parms *cmd;
    apr_pool_t *p;
    const mod_md_row_t *row;
    int quiet;                  /* .htaccess, defaults: no warnings */
    const char *problem;        /* set: the value cannot work (-> md->config_problem) */
    const char *problem_type;   /* the problem type md-status shows, or NULL */
    const char *shown;          /* the value as named in messages (default: the
                                 * arguments joined; EAB: the key id only) */
} mod_md_parse_t;

/* A check of one word (KIND_STRING, KIND_LIST items, KIND_PAIR): returns
 * NULL and the value to keep in *pout (NULL: drop the word), or the reason
 * the stock module refuses it too. May warn and set x->problem. */
typedef const char *mod_md_check_fn(mod_md_parse_t *x, const char *word, const char **pout);

/* KIND_CUSTOM: read argc/argv into base (the scope's struct). */
typedef const char *mod_md_parse_fn(mod_md_parse_t *x, void *base, int argc,
                                    char *const argv[]);

struct mod_md_row_t {
    mod_md_kind_t kind;
    mod_md_scope_t scope;
    unsigned contexts;          /* CTX_* where the directive is accepted */
    unsigned no_effect;         /* CTX_* where it is accepted and does nothing */
    apr_size_t off;             /* field in mod_md_settings_t / mod_md_global_t */
    apr_size_t off2;            /* KIND_PAIR: the second field */
    mod_md_to_md_t to_md;
    apr_size_t md_off;          /* field in md_t */
    const char *def;            /* the default, as config text; NULL: none */
    const char *values;         /* what is accepted, for messages */
    const mod_md_word_t *words; /* KIND_ENUM; KIND_DURATION: named values */
    int min_args;
    int max_args;               /* -1: any number */
    apr_int64_t min;            /* KIND_NUMBER, KIND_DURATION (microseconds) */
    apr_int64_t max;
    mod_md_limit_t below;       /* below min */
    mod_md_limit_t above;       /* above max */
    const char *unit;           /* KIND_DURATION: without a unit */
    apr_interval_time_t norm;   /* KIND_DURATION: a percentage is of this */
    int none;                   /* KIND_STRING: "none" sets NULL */
    int atoi;                   /* KIND_NUMBER: as the stock module, "3x" is 3 (with a
                                 * warning); else refused (directives of ours only) */
    mod_md_check_fn *check;     /* KIND_STRING, KIND_PATH, each KIND_LIST word,
                                 * the first word of KIND_PAIR */
    mod_md_check_fn *check2;    /* the second word of KIND_PAIR */
    mod_md_parse_fn *parse;     /* KIND_CUSTOM */
    apr_size_t srv_off;         /* KIND_ENUM: the int field of md_srv_conf_t that
                                 * holds each server's own value (a <VirtualHost>
                                 * sets its own, else inherits the server
                                 * config's); 0: the row has none */
};

/* The row MDMember(s) and MDomain's auto|manual set: MDMembers. */
extern mod_md_row_t mod_md_row_members;

/* The handler of every row of the table (cmd->info is the row). */
const char *mod_md_config_set_directive(cmd_parms *cmd, void *dc, int argc,
                                        char *const argv[]);

#define FIELD(base, off, type) ((type *)(void *)((char *)(base) + (off)))

/* The cycle's global config of the server a directive is read for. */
mod_md_global_t *mod_md_config_global(cmd_parms *cmd);

/* Where the directive stands (CTX_*). */
unsigned mod_md_config_ctx(cmd_parms *cmd);

/* "<MDomainSet>" for sections, the name otherwise. */
const char *mod_md_config_dname(cmd_parms *cmd);

/* Log a warning about the directive being read, naming file and line
 * (MD10003); nothing for .htaccess files. */
void mod_md_config_warn(cmd_parms *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* About the value being read: a warning naming directive, value, file and
 * line; a problem (the value cannot work) also keeps why for the MDs it
 * applies to. type: the problem type md-status shows, NULL for a generic
 * one. */
void mod_md_config_value_warn(mod_md_parse_t *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mod_md_config_value_problem(mod_md_parse_t *x, const char *type, const char *why);

/* Read a value for row into the settings set (an MD section's, or the
 * server config's), with all the rules: given twice, warnings, problems. */
const char *mod_md_config_set(cmd_parms *cmd, const mod_md_row_t *row,
                              mod_md_settings_t *set, int argc, char *const argv[]);

/* New settings with nothing set. */
mod_md_settings_t *mod_md_config_settings_make(apr_pool_t *p);

/* Remember a problem of an MD that is not about a settings row (one of
 * its names): kept in the MD's own settings set, shown in
 * md->config_problem. */
void mod_md_config_add_problem(apr_pool_t *p, mod_md_settings_t *set, const char *type,
                               const char *problem);

/* From mod_md_config_custom.c: the directives with code of their own. */
const char *mod_md_config_set_mdomain(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *mod_md_config_set_section(cmd_parms *cmd, void *dc, const char *arg);
const char *mod_md_config_set_members(cmd_parms *cmd, void *dc, int argc, char *const argv[]);
const char *mod_md_config_set_cert_file(cmd_parms *cmd, void *dc, const char *value);
const char *mod_md_config_set_key_file(cmd_parms *cmd, void *dc, const char *value);
mod_md_parse_fn mod_md_config_parse_pkeys;
mod_md_parse_fn mod_md_config_parse_eab;
mod_md_parse_fn mod_md_config_parse_port_map;

/* Record which <VirtualHost> sections have SSL (g->ssl_vhosts). */
void mod_md_config_find_ssl_vhosts(mod_md_global_t *g, apr_pool_t *p);

/* Checks of the MDs once all directives are read (static files pair up,
 * no name in two MDs); NULL or the error from p. */
const char *mod_md_config_check_mds(apr_pool_t *p, const mod_md_global_t *g);

#endif /* mod_md_config_int_h */
