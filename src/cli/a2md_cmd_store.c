/* a2md store add|list|remove|update: the store's md.json files as they
 * are, without the registry's checks (as the stock a2md's store commands). */
#include <string.h>

#include <apr_strings.h>

#include "a2md.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_util.h"

/* Write domains/<name>/md.json; the lock is held by the caller. */
static apr_status_t save_md(a2md_ctx_t *ctx, const md_t *md)
{
    json_t *j = md_to_json(md, ctx->p);
    apr_status_t rv;

    rv = j ? md_store_save_json(ctx->store, MD_SG_DOMAINS, md->name, MD_FN_MD, j, ctx->p)
           : APR_ENOMEM;
    if (rv != APR_SUCCESS) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, rv, "%s: cannot save %s/%s/%s", md->name,
                             md_store_group_name(MD_SG_DOMAINS), md->name, MD_FN_MD);
    }
    return APR_SUCCESS;
}

/* -a: the CA of the MD (one URL, also the one in use). */
static void set_ca(md_t *md, const char *url, apr_pool_t *p)
{
    md->ca_urls = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(md->ca_urls, const char *) = url;
    md->ca_effective = url;
}

apr_status_t a2md_cmd_store_add(a2md_ctx_t *ctx)
{
    apr_array_header_t *domains;
    md_t *md;
    apr_status_t rv;

    if ((rv = a2md_ctx_domains(ctx, &domains, 0)) != APR_SUCCESS
        || (rv = a2md_ctx_store(ctx)) != APR_SUCCESS || (rv = a2md_ctx_lock(ctx)) != APR_SUCCESS) {
        return rv;
    }
    md = md_create_empty(ctx->p);
    md->name = MD_ARR_IDX(domains, 0, const char *);
    md->domains = domains;
    if (ctx->args->ca_url) {
        set_ca(md, ctx->args->ca_url, ctx->p);
    }
    if (md_store_exists(ctx->store, MD_SG_DOMAINS, md->name, MD_FN_MD, ctx->p)) {
        return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_EEXIST, "%s: is in the store already",
                             md->name);
    }
    if ((rv = save_md(ctx, md)) == APR_SUCCESS
        && (rv = a2md_ctx_load_md(ctx, &md, md->name)) == APR_SUCCESS) {
        a2md_ctx_print_md(ctx, md, NULL);
    }
    return rv;
}

apr_status_t a2md_cmd_store_list(a2md_ctx_t *ctx)
{
    apr_array_header_t *mds;
    apr_status_t rv;
    int i;

    if ((rv = a2md_ctx_store(ctx)) != APR_SUCCESS
        || (rv = a2md_ctx_load_mds(ctx, &mds)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < mds->nelts; ++i) {
        a2md_ctx_print_md(ctx, MD_ARR_IDX(mds, i, const md_t *), NULL);
    }
    return APR_SUCCESS;
}

apr_status_t a2md_cmd_store_remove(a2md_ctx_t *ctx)
{
    int force = a2md_args_has(ctx->args, "force");
    apr_status_t rv;
    int i;

    if ((rv = a2md_ctx_store(ctx)) != APR_SUCCESS || (rv = a2md_ctx_lock(ctx)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < ctx->args->args->nelts; ++i) {
        const char *name = MD_ARR_IDX(ctx->args->args, i, const char *);

        rv = md_store_purge(ctx->store, MD_SG_DOMAINS, name, ctx->p);
        if (APR_STATUS_IS_ENOENT(rv) && !force) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, rv, "%s: no such managed domain in %s",
                                 name, ctx->args->dir);
        }
        if (rv == APR_EINVAL) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, rv, "'%s' is not a managed domain name",
                                 md_util_str_printable(ctx->p, name, 256));
        }
        if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, rv, "%s: cannot remove it from the store",
                                 name);
        }
        /* What a renewal left for it goes too. */
        rv = md_store_purge(ctx->store, MD_SG_STAGING, name, ctx->p);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_LOCAL, rv, "%s: cannot remove its staging",
                                 name);
        }
    }
    return APR_SUCCESS;
}

apr_status_t a2md_cmd_store_update(a2md_ctx_t *ctx)
{
    const apr_array_header_t *args = ctx->args->args;
    const char *name = MD_ARR_IDX(args, 0, const char *);
    int changed = 0;
    md_t *md;
    apr_status_t rv;

    if ((rv = a2md_ctx_store(ctx)) != APR_SUCCESS || (rv = a2md_ctx_lock(ctx)) != APR_SUCCESS
        || (rv = a2md_ctx_load_md(ctx, &md, name)) != APR_SUCCESS) {
        return rv;
    }
    if (args->nelts > 1) {
        const char *aspect = MD_ARR_IDX(args, 1, const char *);

        if (strcmp(aspect, "domains")) {
            return a2md_ctx_fail(ctx, A2MD_EXIT_INPUT, APR_ENOTIMPL, "store update: unknown "
                                 "aspect '%s' (domains; 'a2md update' knows more)",
                                 md_util_str_printable(ctx->p, aspect, 64));
        }
        if ((rv = a2md_ctx_domains(ctx, &md->domains, 2)) != APR_SUCCESS) {
            return rv;
        }
        changed = 1;
    }
    if (ctx->args->ca_url && (!md->ca_effective || strcmp(md->ca_effective, ctx->args->ca_url))) {
        set_ca(md, ctx->args->ca_url, ctx->p);
        changed = 1;
    }
    if (changed && (rv = save_md(ctx, md)) != APR_SUCCESS) {
        return rv;
    }
    a2md_ctx_print_md(ctx, md, NULL);
    return APR_SUCCESS;
}
