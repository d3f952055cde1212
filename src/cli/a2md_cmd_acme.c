/* a2md acme newreg|agree|validate|delreg|keychange: ACME accounts
 * (md_acme_acct_*). accounts/ belongs to the server's User: these run as
 * that user (a2md_ctx_become_user) once the store is open. */
#include <string.h>

#include <apr_strings.h>

#include "a2md.h"
#include "md_acme.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_util.h"

/* The account as account.json has it, with its name in the store. */
static void print_acct(a2md_ctx_t *ctx, const md_acme_acct_t *acct, const char *text)
{
    if (ctx->args->json) {
        json_t *j = md_json_pool_own(ctx->p, md_acme_acct_to_json(acct));
        if (j) {
            md_json_set_str(j, "id", acct->id);
            a2md_ctx_out(ctx, j);
        }
        return;
    }
    printf("%s\n", text);
}

static apr_status_t open_acme(a2md_ctx_t *ctx, md_acme_t **pacme, const char *ca_url)
{
    apr_status_t rv = md_acme_create(pacme, ctx->p, ca_url, ctx->args->ca_file, ctx->store);

    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, rv, "'%s' is not a usable CA URL",
                             md_util_str_printable(ctx->p, ca_url, 256));
    }
    md_acme_set_proxy(*pacme, ctx->args->proxy, NULL);
    return APR_SUCCESS;
}

apr_status_t a2md_cmd_acme_newreg(a2md_ctx_t *ctx)
{
    md_result_t *result = md_result_make(ctx->p, NULL);
    const md_conf_eab_t *eab;
    apr_array_header_t *contacts;
    md_acme_t *acme;
    apr_status_t rv;

    if ((rv = a2md_ctx_contacts(ctx, &contacts, 0)) != APR_SUCCESS
        || (rv = a2md_ctx_eab(ctx, &eab)) != APR_SUCCESS) {
        return rv;
    }
    if (!ctx->args->ca_url) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_USAGE, APR_EINVAL, "acme newreg: needs the CA "
                             "(-a URL)");
    }
    if ((rv = a2md_ctx_store(ctx)) != APR_SUCCESS || (rv = a2md_ctx_become_user(ctx)) != APR_SUCCESS
        || (rv = open_acme(ctx, &acme, ctx->args->ca_url)) != APR_SUCCESS) {
        return rv;
    }
    if (eab && (rv = md_acme_set_eab(acme, eab->kid, eab->hmac, eab->alg, result))
               != APR_SUCCESS) {
        return a2md_ctx_fail_result(ctx, result, rv, "-e");
    }
    if ((rv = md_acme_setup(acme, result)) != APR_SUCCESS) {
        return a2md_ctx_fail_result(ctx, result, rv, ctx->args->ca_url);
    }
    if (acme->tos && !ctx->args->terms) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EINVAL, "the CA requires agreeing to "
                             "its terms of service at %s: add -t accepted",
                             md_util_str_printable(ctx->p, acme->tos, 256));
    }
    rv = md_acme_acct_register(acme, contacts, ctx->args->terms, result, ctx->p);
    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail_result(ctx, result, rv, "acme newreg");
    }
    print_acct(ctx, acme->acct, apr_psprintf(ctx->p, "registered: %s", acme->acct->id));
    return APR_SUCCESS;
}

typedef apr_status_t acct_op_fn(a2md_ctx_t *ctx, md_acme_t *acme, md_result_t *result);

/* Load each named account into a session with its CA (-a, else the one it
 * belongs to) and run op on it. Stops at the first failure. */
static apr_status_t for_accounts(a2md_ctx_t *ctx, acct_op_fn *op)
{
    const apr_array_header_t *ids = ctx->args->args;
    apr_status_t rv;
    int i;

    if ((rv = a2md_ctx_store(ctx)) != APR_SUCCESS
        || (rv = a2md_ctx_become_user(ctx)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < ids->nelts; ++i) {
        const char *id = MD_ARR_IDX(ids, i, const char *);
        md_result_t *result = md_result_make(ctx->p, NULL);
        const char *ca_url = NULL;
        md_acme_t *acme;

        rv = md_acme_acct_peek(&ca_url, ctx->store, id, ctx->p);
        if (APR_STATUS_IS_ENOENT(rv) || rv == APR_EINVAL) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, rv, "%s: %s", id,
                                 rv == APR_EINVAL ? "not a valid account in the store"
                                                  : "no such account in the store");
        }
        if (rv != APR_SUCCESS) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, rv, "%s: cannot read the account", id);
        }
        if (ctx->args->ca_url) {
            ca_url = ctx->args->ca_url;
        }
        if ((rv = open_acme(ctx, &acme, ca_url)) != APR_SUCCESS) {
            return rv;
        }
        rv = md_acme_acct_load(acme, id, ctx->p);
        if (rv != APR_SUCCESS) {
            return a2md_ctx_fail(ctx, rv == APR_EINVAL || APR_STATUS_IS_ENOENT(rv)
                                      ? A2MD_EXIT_INPUT : A2MD_EXIT_LOCAL, rv,
                                 "%s: cannot load the account%s", id,
                                 rv == APR_EINVAL ? " (of another CA than -a?)" : "");
        }
        if ((rv = md_acme_setup(acme, result)) != APR_SUCCESS
            || (rv = op(ctx, acme, result)) != APR_SUCCESS) {
            return ctx->error ? rv : a2md_ctx_fail_result(ctx, result, rv, id);
        }
    }
    return APR_SUCCESS;
}

static apr_status_t op_agree(a2md_ctx_t *ctx, md_acme_t *acme, md_result_t *result)
{
    apr_status_t rv = md_acme_acct_agree(acme, ctx->args->terms, result, ctx->p);

    if (rv == APR_SUCCESS) {
        print_acct(ctx, acme->acct, apr_psprintf(ctx->p, "agreed terms-of-service: %s",
                                                 acme->acct->url));
    }
    return rv;
}

static apr_status_t op_validate(a2md_ctx_t *ctx, md_acme_t *acme, md_result_t *result)
{
    apr_status_t rv = md_acme_acct_validate(acme, result, ctx->p);

    if (rv == APR_SUCCESS) {
        print_acct(ctx, acme->acct, apr_psprintf(ctx->p, "account valid: %s", acme->acct->id));
    }
    return rv;
}

static apr_status_t op_delreg(a2md_ctx_t *ctx, md_acme_t *acme, md_result_t *result)
{
    apr_status_t rv = md_acme_acct_deactivate(acme, result, ctx->p);

    if (rv == APR_SUCCESS) {
        print_acct(ctx, acme->acct, apr_psprintf(ctx->p, "deleted: %s", acme->acct->id));
    }
    return rv;
}

static apr_status_t op_keychange(a2md_ctx_t *ctx, md_acme_t *acme, md_result_t *result)
{
    apr_status_t rv = md_acme_acct_keychange(acme, result, ctx->p);

    if (rv == APR_SUCCESS) {
        print_acct(ctx, acme->acct, apr_psprintf(ctx->p, "key changed: %s", acme->acct->id));
    }
    return rv;
}

apr_status_t a2md_cmd_acme_agree(a2md_ctx_t *ctx)
{
    return for_accounts(ctx, op_agree);
}

apr_status_t a2md_cmd_acme_validate(a2md_ctx_t *ctx)
{
    return for_accounts(ctx, op_validate);
}

apr_status_t a2md_cmd_acme_delreg(a2md_ctx_t *ctx)
{
    return for_accounts(ctx, op_delreg);
}

apr_status_t a2md_cmd_acme_keychange(a2md_ctx_t *ctx)
{
    return for_accounts(ctx, op_keychange);
}
