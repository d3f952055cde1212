/* The commands of a2md: names, options, argument counts and help texts.
 * The names and options are the stock a2md's (mod_md 2.x); revoke,
 * acme keychange, status and help are ours. */
#include "a2md.h"

#define NO_ARGS_MAX (-1)

static const a2md_opt_t global_opts[] = {
    { 'a', "acme", 1, "URL", "the ACME directory URL of the CA" },
    { 'C', "cafile", 1, "FILE", "PEM file with the root certificates to verify the CA with" },
    { 'd', "dir", 1, "DIR", "the store directory (MDStoreDir, usually ServerRoot/md)" },
    { 'h', "help", 0, NULL, "print this help (or a command's)" },
    { 'j', "json", 0, NULL, "produce JSON output" },
    { 'p', "proxy", 1, "URL", "send all requests to the CA through this HTTP proxy" },
    { 'q', "quiet", 0, NULL, "produce less output" },
    { 't', "terms", 1, "URL", "you agree to the CA's terms of service (URL, or accepted)" },
    { 'u', "user", 1, "USER", "as root: the server's User (default: $APACHE_RUN_USER, else "
                              "the owner of the store's staging/)" },
    { 'v', "verbose", 0, NULL, "produce more output (repeat for more)" },
    { 'V', "version", 0, NULL, "print the version" },
    { 0, NULL, 0, NULL, NULL }
};

static const a2md_opt_t remove_opts[] = {
    { 'f', "force", 0, NULL, "succeed also for names not in the store" },
    { 0, NULL, 0, NULL, NULL }
};

#define EAB_OPT { 'e', "eab", 1, "FILE", "external account binding for a new account: a " \
                                     "JSON file {\"kid\", \"hmac\", \"alg\"} as " \
                                     "MDExternalAccountBinding takes it" }

static const a2md_opt_t newreg_opts[] = {
    EAB_OPT,
    { 0, NULL, 0, NULL, NULL }
};

static const a2md_opt_t drive_opts[] = {
    { 'c', "challenge", 1, "TYPE", "the challenge type(s) to use (http-01, tls-alpn-01, "
                                   "dns-01; comma separated)" },
    EAB_OPT,
    { 'f', "force", 0, NULL, "get a new certificate even when the current one is good" },
    { 'r', "reset", 0, NULL, "throw away what an earlier attempt left in staging first" },
    { 0, NULL, 0, NULL, NULL }
};

static const a2md_opt_t revoke_opts[] = {
    { 'k', "by-key", 0, NULL, "sign with the certificate's own key, not the account's" },
    { 0, NULL, 0, NULL, NULL }
};

/* --- store ----------------------------------------------------------------- */

static const a2md_cmd_t store_add = {
    "add", NULL, NULL, 1, NO_ARGS_MAX, "<name> [<name>...]",
    "add a managed domain to the store as it is (no checks against the others)",
    "The first name is the MD's name. -a sets its CA.", a2md_cmd_store_add
};

static const a2md_cmd_t store_list = {
    "list", NULL, NULL, 0, 0, "", "list the managed domains in the store as stored",
    NULL, a2md_cmd_store_list
};

static const a2md_cmd_t store_remove = {
    "remove", NULL, remove_opts, 1, NO_ARGS_MAX, "[-f] <name> [<name>...]",
    "remove managed domains from the store (domains/ and staging/)",
    "The certificates are gone with them: a server configured for the MD gets a new one.",
    a2md_cmd_store_remove
};

static const a2md_cmd_t store_update = {
    "update", NULL, NULL, 1, NO_ARGS_MAX, "<name> [domains <name>...]",
    "change a managed domain in the store: its names, or its CA with -a", NULL,
    a2md_cmd_store_update
};

static const a2md_cmd_t *const store_subs[] = {
    &store_add, &store_list, &store_remove, &store_update, NULL
};

static const a2md_cmd_t store_cmd = {
    "store", store_subs, NULL, 0, 0, "<command> [args]", "work on the store directly", NULL,
    NULL
};

/* --- acme ------------------------------------------------------------------- */

static const a2md_cmd_t acme_newreg = {
    "newreg", NULL, newreg_opts, 1, NO_ARGS_MAX, "[-e FILE] <contact> [<contact>...]",
    "register a new account at the CA (-a) with these contacts (email addresses)",
    "Agreeing to the CA's terms of service takes -t accepted (or its URL); a CA\n"
    "that requires external account binding, -e with the key id and MAC key.\n"
    "Prints \"registered: <account>\" (the account's name in the store).",
    a2md_cmd_acme_newreg
};

static const a2md_cmd_t acme_agree = {
    "agree", NULL, NULL, 1, NO_ARGS_MAX, "<account> [<account>...]",
    "agree to the CA's terms of service for accounts", NULL, a2md_cmd_acme_agree
};

static const a2md_cmd_t acme_validate = {
    "validate", NULL, NULL, 1, NO_ARGS_MAX, "<account> [<account>...]",
    "check with the CA that accounts exist and are valid", NULL, a2md_cmd_acme_validate
};

static const a2md_cmd_t acme_delreg = {
    "delreg", NULL, NULL, 1, NO_ARGS_MAX, "<account> [<account>...]",
    "deactivate accounts at the CA and remove them from the store",
    "An account the CA no longer knows is removed from the store all the same.",
    a2md_cmd_acme_delreg
};

static const a2md_cmd_t acme_keychange = {
    "keychange", NULL, NULL, 1, NO_ARGS_MAX, "<account> [<account>...]",
    "roll the account key over to a new one (RFC 8555 7.3.5)",
    "The CA is told first, then the store gets the new key in one atomic write;\n"
    "an interrupted rollover is completed by running the command again.",
    a2md_cmd_acme_keychange
};

static const a2md_cmd_t *const acme_subs[] = {
    &acme_newreg, &acme_agree, &acme_validate, &acme_delreg, &acme_keychange, NULL
};

static const a2md_cmd_t acme_cmd = {
    "acme", acme_subs, NULL, 0, 0, "<command> [args]", "work with ACME accounts at the CA",
    NULL, NULL
};

/* --- managed domains --------------------------------------------------------- */

static const a2md_cmd_t add_cmd = {
    "add", NULL, NULL, 1, NO_ARGS_MAX, "<name> [<name>...]",
    "add a managed domain (names must not be in another one)",
    "The first name is the MD's name. -a sets its CA, -t its agreement.", a2md_cmd_add
};

static const a2md_cmd_t list_cmd = {
    "list", NULL, NULL, 0, NO_ARGS_MAX, "[<name>...]",
    "list managed domains with their assessed state",
    "A name may be the MD's or any of its domains.", a2md_cmd_list
};

static const a2md_cmd_t update_cmd = {
    "update", NULL, NULL, 1, NO_ARGS_MAX, "<name> [<aspect> <value>...]",
    "change a managed domain",
    "aspects:\n"
    "  domains <name>...            the names (the first stays the MD's name)\n"
    "  ca <url> [<proto>]           the CA's directory URL (and protocol, ACME)\n"
    "  account [<account>]          the account to use (none: any matching)\n"
    "  contacts <email>...          the contacts for new accounts\n"
    "  agreement [<url>|accepted]   agree to the CA's terms of service (none: not)\n"
    "  challenges <type>...         the challenge types (none: what works)\n"
    "  pkey <spec>...               key types: RSA [bits], P-256, P-384, ...\n"
    "  renew-window <window>        e.g. 33% or 30d\n"
    "  warn-window <window>         e.g. 10% or 7d\n"
    "  renew-mode auto|always|manual\n"
    "  must-staple on|off\n"
    "  require-https off|temporary|permanent\n"
    "  profile <name>|none          the ACME profile to order\n"
    "The server's configuration replaces what it configures at its next start.",
    a2md_cmd_update
};

static const a2md_cmd_t drive_cmd = {
    "drive", NULL, drive_opts, 0, NO_ARGS_MAX, "[-c type] [-e FILE] [-f] [-r] [<name>...]",
    "get certificates from the CA for managed domains (all without names)",
    "The new certificate is staged in the store; the server puts it live (by itself\n"
    "with MDActivationAuto, else at its next graceful restart). An MD whose\n"
    "certificate is good and not due is left alone unless -f. The store keeps only\n"
    "the key id of an MD's MDExternalAccountBinding: an account bound to it is\n"
    "used, and registering a new one takes -e (which replaces the MD's binding\n"
    "for this run).",
    a2md_cmd_drive
};

static const a2md_cmd_t status_cmd = {
    "status", NULL, NULL, 0, 1, "[<name>]",
    "show managed domains: state, key types, expiry, next renewal, last error",
    "With -j, the md-status objects of the server's status handler.", a2md_cmd_status
};

static const a2md_cmd_t revoke_cmd = {
    "revoke", NULL, revoke_opts, 1, 2, "[-k] <name> [<reason>]",
    "revoke the managed domain's current certificate(s) (RFC 8555 7.6)",
    "reason: unspecified, keyCompromise, affiliationChanged, superseded,\n"
    "cessationOfOperation, privilegeWithdrawn (or its RFC 5280 number).\n"
    "Signed by the MD's account, or with -k (or when the account is gone) by the\n"
    "certificate's own key. The store then marks the MD revoked\n"
    "(staging/<name>/revoked.json): a running server renews it at once (within\n"
    "10 seconds, unless MDRenewMode manual; then run a2md drive).",
    a2md_cmd_revoke
};

static const a2md_cmd_t *const root_subs[] = {
    &acme_cmd, &add_cmd, &drive_cmd, &list_cmd, &revoke_cmd, &status_cmd, &store_cmd,
    &update_cmd, NULL
};

static const a2md_cmd_t root_cmd = {
    "a2md", root_subs, global_opts, 0, 0, "", "Show and manipulate Apache Managed Domains",
    "exit codes: 0 success, 1 bad input, 2 usage, 3 the CA (refused or not reached),\n"
    "4 local failure (store, permissions, lock)",
    NULL
};

const a2md_cmd_t *a2md_cmd_root(void)
{
    return &root_cmd;
}
