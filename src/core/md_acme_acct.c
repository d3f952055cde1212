/* ACME accounts: register, find a usable one in the store, load by id.
 * account.json has the stock mod_md's format so an existing store keeps
 * working. */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include "md_acme.h"
#include "md_acme_int.h"
#include "md_json.h"
#include "md_jws.h"
#include "md_keys.h"
#include "md_log.h"
#include "md_util.h"

#define ACCT_STATUS_VALID  "valid"
#define ACCT_ID_MAX        10000
#define MAX_CONTACTS       100

/* --- account.json --------------------------------------------------------- */

json_t *md_acme_acct_to_json(const md_acme_acct_t *acct)
{
    json_t *j = json_object();
    json_t *contacts;

    if (!j) {
        return NULL;
    }
    md_json_set_str(j, MD_KEY_STATUS, acct->status ? acct->status : ACCT_STATUS_VALID);
    md_json_set_str(j, MD_KEY_URL, acct->url);
    md_json_set_str(j, MD_KEY_CA_URL, acct->ca_url);
    contacts = acct->contacts ? md_json_from_str_array(acct->contacts) : json_array();
    if (contacts) {
        json_object_set_new(j, MD_KEY_CONTACT, contacts);
    }
    if (acct->registration) {
        json_object_set(j, MD_KEY_REGISTRATION, acct->registration);
    }
    md_json_set_str(j, MD_KEY_AGREEMENT, acct->agreement);
    md_json_set_str(j, MD_KEY_ORDERS, acct->orders);
    if (acct->eab_kid) {
        /* The stock module's shape, "eab": {"kid", "hmac"}, but without
         * the MAC key: it is a credential, and the kid identifies the
         * binding well enough to choose an account. */
        json_t *eab = json_object();
        if (eab) {
            md_json_set_str(eab, MD_KEY_KID, acct->eab_kid);
            json_object_set_new(j, MD_KEY_EAB, eab);
        }
    }
    return j;
}

static const char *pstrdup_or_null(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrdup(p, s) : NULL;
}

apr_status_t md_acme_acct_from_json(md_acme_acct_t **pacct, const json_t *j,
                                    const char *source, apr_pool_t *p)
{
    md_acme_acct_t *acct;
    const json_t *reg;
    const json_t *eab;
    const char *s;
    apr_status_t rv;

    *pacct = NULL;
    if (!json_is_object(j)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EINVAL, p,
                      "MD04010: %s is not a JSON object", source);
        return APR_EINVAL;
    }
    acct = apr_pcalloc(p, sizeof(*acct));
    if ((rv = md_json_require_str(&s, j, MD_KEY_URL, source, p)) != APR_SUCCESS) {
        return rv;
    }
    acct->url = apr_pstrdup(p, s);
    if ((rv = md_json_require_str(&s, j, MD_KEY_CA_URL, source, p)) != APR_SUCCESS) {
        return rv;
    }
    acct->ca_url = apr_pstrdup(p, s);
    /* A missing status is not "valid": find() will not use such an account. */
    acct->status = pstrdup_or_null(p, md_json_get_str(j, MD_KEY_STATUS));
    if (json_object_get(j, MD_KEY_CONTACT)) {
        acct->contacts = md_json_get_str_array(j, MD_KEY_CONTACT, p);
        if (!acct->contacts) {
            md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EINVAL, p,
                          "MD04011: %s: '%s' is not an array of strings", source,
                          MD_KEY_CONTACT);
            return APR_EINVAL;
        }
    }
    else {
        acct->contacts = apr_array_make(p, 0, sizeof(const char *));
    }
    acct->agreement = pstrdup_or_null(p, md_json_get_str(j, MD_KEY_AGREEMENT));
    acct->orders = pstrdup_or_null(p, md_json_get_str(j, MD_KEY_ORDERS));
    reg = md_json_get_obj(j, MD_KEY_REGISTRATION);
    if (reg) {
        acct->registration = md_json_pool_own(p, json_deep_copy(reg));
    }
    eab = md_json_get_obj(j, MD_KEY_EAB);
    if (eab) {
        acct->eab_kid = pstrdup_or_null(p, md_json_get_str(eab, MD_KEY_KID));
    }
    *pacct = acct;
    return APR_SUCCESS;
}

/* --- store ---------------------------------------------------------------- */

/* "ACME-<host>-<nnnn>" with the first number not in use. */
static apr_status_t next_id(const char **pid, md_acme_t *acme, apr_pool_t *p)
{
    apr_array_header_t *names = NULL;
    apr_uri_t uri;
    const char *id;
    apr_status_t rv;
    int i;

    *pid = NULL;
    if (apr_uri_parse(p, acme->url, &uri) != APR_SUCCESS || !uri.hostname) {
        return APR_EINVAL;
    }
    rv = md_store_list(acme->store, MD_SG_ACCOUNTS, &names, p);
    if (rv == APR_ENOENT) {
        names = NULL;
    }
    else if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < ACCT_ID_MAX; ++i) {
        id = apr_psprintf(p, "ACME-%s-%04d", uri.hostname, i);
        if (!names || md_array_str_index(names, id, 0, 1) < 0) {
            *pid = id;
            return APR_SUCCESS;
        }
    }
    return APR_ENOSPC;
}

static apr_status_t acct_save(md_acme_t *acme, md_acme_acct_t *acct, md_pkey_t *key,
                              md_result_t *result, apr_pool_t *p)
{
    const char *id;
    json_t *j;
    apr_status_t rv;

    rv = next_id(&id, acme, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "no account name available for %s in the store",
                         acme->url);
        return rv;
    }
    /* The key first: an account.json in the store always has its key. */
    rv = md_store_save_pkey(acme->store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY, key, p);
    if (rv == APR_SUCCESS) {
        j = md_json_pool_own(p, md_acme_acct_to_json(acct));
        rv = j ? md_store_save_json(acme->store, MD_SG_ACCOUNTS, id, MD_FN_ACCOUNT, j, p)
               : APR_ENOMEM;
    }
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "saving account %s for %s to the store failed", id,
                         acct->url);
        return rv;
    }
    acct->id = apr_pstrdup(acme->p, id);
    md_log_perror(MD_LOG_MARK, MD_LOG_INFO, 0, p, "MD04012: saved new ACME account %s (%s)",
                  acct->id, acct->url);
    return APR_SUCCESS;
}

/* --- register ------------------------------------------------------------- */

static json_t *register_payload(const apr_array_header_t *contacts, int agree)
{
    json_t *j = json_object();

    if (!j) {
        return NULL;
    }
    if (contacts && contacts->nelts > 0) {
        json_object_set_new(j, MD_KEY_CONTACT, md_json_from_str_array(contacts));
    }
    if (agree) {
        json_object_set_new(j, MD_KEY_TOS, json_true());
    }
    return j;
}

/* RFC 8555 §7.3.4: the binding is a JWS over the new account key's JWK,
 * MAC'd with the CA's key, with the newAccount URL and the key id in its
 * header, carried as "externalAccountBinding". */
static apr_status_t add_eab(json_t *payload, md_acme_t *acme, const md_pkey_t *key,
                            md_result_t *result, apr_pool_t *p)
{
    const md_acme_eab_t *eab = acme->eab;
    const char *jwk;
    json_t *jws;
    apr_status_t rv;

    jwk = md_json_dump(md_json_pool_own(p, md_pkey_to_jwk(key)), 0, p);
    if (!jwk) {
        md_result_printf(result, APR_EGENERAL, "the account key has no JWK form");
        return APR_EGENERAL;
    }
    rv = md_jws_sign_hmac(&jws, eab->alg, jwk, strlen(jwk), acme->url_new_account, eab->kid,
                          eab->hmac, eab->hmac_len, p);
    if (rv != APR_SUCCESS) {
        md_result_problem_set(result, rv, MD_PROBLEM_EAB_HMAC_FAIL,
                              "signing the external account binding failed", NULL);
        return rv;
    }
    json_object_set(payload, MD_KEY_EAB_BINDING, jws);
    return APR_SUCCESS;
}

/* What we can refuse before generating a key and talking to the CA. */
static apr_status_t register_precheck(md_acme_t *acme, const apr_array_header_t *contacts,
                                      const char *agreement, md_result_t *result,
                                      apr_pool_t *p)
{
    if (acme->eab_required && !acme->eab) {
        md_result_problem_set(result, APR_EINVAL,
                              MD_ACME_PROBLEM_PREFIX "externalAccountRequired",
                              apr_psprintf(result->p, "the CA at %s requires an external "
                                           "account binding: get a key id and MAC key from "
                                           "the CA and configure them with "
                                           "MDExternalAccountBinding (a2md: --eab FILE)",
                                           acme->url),
                              NULL);
        return APR_EINVAL;
    }
    if (acme->eab && !acme->eab->hmac) {
        md_result_problem_set(result, APR_EINVAL, MD_PROBLEM_EAB_HMAC_INVALID,
                              apr_psprintf(result->p, "no account with external account "
                                           "binding key id '%s' is in the store, and its MAC "
                                           "key, needed to register one, is not at hand (the "
                                           "store keeps only the key id; a2md takes the key "
                                           "with --eab FILE)",
                                           md_util_str_printable(p, acme->eab->kid, 128)),
                              NULL);
        return APR_EINVAL;
    }
    if (acme->tos && !agreement) {
        md_result_printf(result, APR_EINVAL, "the CA requires agreeing to its terms of "
                         "service at %s: set MDCertificateAgreement accepted",
                         md_util_str_printable(p, acme->tos, 512));
        return APR_EINVAL;
    }
    if (contacts && contacts->nelts > MAX_CONTACTS) {
        md_result_printf(result, APR_EINVAL, "too many contacts (%d)", contacts->nelts);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* The newAccount payload: contacts, agreement and, when configured, the
 * external account binding over the new key. */
static apr_status_t new_account_payload(json_t **ppayload, md_acme_t *acme,
                                        const apr_array_header_t *contacts,
                                        const md_pkey_t *key, md_result_t *result,
                                        apr_pool_t *p)
{
    json_t *payload;
    apr_status_t rv;

    payload = md_json_pool_own(p, register_payload(contacts, acme->tos != NULL));
    if (!payload) {
        return APR_ENOMEM;
    }
    /* A CA that does not ask for a binding ignores one (RFC 8555 §7.3.4):
     * send it whenever it is configured. */
    if (acme->eab && (rv = add_eab(payload, acme, key, result, p)) != APR_SUCCESS) {
        return rv;
    }
    *ppayload = payload;
    return APR_SUCCESS;
}

/* RFC 8555 §7.3: 201 (or 200 for an existing key) with the account URL in
 * Location and an account object whose status, if given, is "valid". */
static apr_status_t check_new_account(const md_acme_t *acme, const md_acme_resp_t *resp,
                                      md_result_t *result, apr_pool_t *p)
{
    const char *st;

    if ((resp->status != 201 && resp->status != 200) || !resp->location) {
        md_result_printf(result, APR_EINVAL, "newAccount at %s answered HTTP %d %s",
                         acme->url, resp->status, resp->location ? "" : "without a Location");
        return APR_EINVAL;
    }
    if (!json_is_object(resp->json)) {
        md_result_printf(result, APR_EINVAL, "newAccount at %s gave no account object",
                         acme->url);
        return APR_EINVAL;
    }
    st = md_json_get_str(resp->json, MD_KEY_STATUS);
    if (st && strcmp(st, ACCT_STATUS_VALID)) {
        md_result_printf(result, APR_EINVAL, "the new account at %s has status '%s'",
                         resp->location, md_util_str_printable(p, st, 64));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* The account as the CA created it, allocated from acme->p like the key. */
static md_acme_acct_t *acct_from_new_account(md_acme_t *acme, const md_acme_resp_t *resp,
                                             const apr_array_header_t *contacts)
{
    md_acme_acct_t *acct = apr_pcalloc(acme->p, sizeof(*acct));

    acct->url = apr_pstrdup(acme->p, resp->location);
    acct->ca_url = acme->url;
    acct->status = ACCT_STATUS_VALID;
    acct->contacts = contacts ? md_array_str_clone(acme->p, contacts)
                              : apr_array_make(acme->p, 0, sizeof(const char *));
    acct->agreement = acme->tos;
    acct->orders = pstrdup_or_null(acme->p, md_json_get_str(resp->json, MD_KEY_ORDERS));
    acct->registration = md_json_pool_own(acme->p, json_deep_copy(resp->json));
    acct->eab_kid = acme->eab ? acme->eab->kid : NULL;
    return acct;
}

apr_status_t md_acme_acct_register(md_acme_t *acme, const apr_array_header_t *contacts,
                                   const char *agreement, md_result_t *result, apr_pool_t *p)
{
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_acme_acct_t *acct;
    md_acme_resp_t *resp;
    md_pkey_t *key;
    json_t *payload;
    apr_status_t rv;

    if (!result) {
        result = md_result_make(p, NULL);
    }
    if (!acme->url_new_account && (rv = md_acme_setup(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = register_precheck(acme, contacts, agreement, result, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = md_pkey_gen(&key, acme->p, &spec);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "generating an account key failed");
        return rv;
    }
    rv = new_account_payload(&payload, acme, contacts, key, result, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* Without an account the request carries the key as jwk (RFC 8555 §6.2). */
    acme->acct = NULL;
    acme->acct_key = key;
    rv = md_acme_post(&resp, acme, acme->url_new_account, payload, NULL, result, p);
    if (rv != APR_SUCCESS) {
        if (acme->eab && result->detail) {
            /* Saying more, the CA's problem type stays (STYLE §5). */
            md_result_detail_printf(result, "the CA at %s refused the new account with "
                                    "external account binding key id '%s': %s", acme->url,
                                    md_util_str_printable(p, acme->eab->kid, 128),
                                    result->detail);
        }
        goto leave;
    }
    if ((rv = check_new_account(acme, resp, result, p)) != APR_SUCCESS) {
        goto leave;
    }
    acct = acct_from_new_account(acme, resp, contacts);
    if (acme->store && (rv = acct_save(acme, acct, key, result, p)) != APR_SUCCESS) {
        goto leave;
    }
    acme->acct = acct;
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p, "MD04013: registered ACME account %s "
                  "at %s", acct->id ? acct->id : "(unsaved)", acct->url);
leave:
    if (rv != APR_SUCCESS) {
        acme->acct = NULL;
        acme->acct_key = NULL;
    }
    return rv;
}

/* --- find / load ---------------------------------------------------------- */

static int contacts_match(const apr_array_header_t *a, const apr_array_header_t *b)
{
    apr_array_header_t empty = { 0 };

    empty.elt_size = sizeof(const char *);
    if (!a) {
        a = &empty;
    }
    if (!b) {
        b = &empty;
    }
    return md_array_str_contains_all(a, b) && md_array_str_contains_all(b, a);
}

/* An account made with one binding belongs to that external account: reuse
 * it only for the same key id, and one without a binding only without. */
static int eab_matches(const md_acme_acct_t *acct, const md_acme_t *acme)
{
    const char *want = acme->eab ? acme->eab->kid : NULL;

    if (!want || !acct->eab_kid) {
        return !want && !acct->eab_kid;
    }
    return !strcmp(want, acct->eab_kid);
}

/* Read accounts/<id> into a new subpool of acme->p (so a rejected candidate
 * can be dropped): *pacct, *pkey, *pp. */
static apr_status_t acct_read(md_acme_acct_t **pacct, md_pkey_t **pkey, apr_pool_t **pp,
                              md_acme_t *acme, const char *id, apr_pool_t *ptemp)
{
    apr_pool_t *ap;
    json_t *j;
    const char *source;
    apr_status_t rv;

    *pacct = NULL;
    *pkey = NULL;
    *pp = NULL;
    rv = apr_pool_create(&ap, acme->p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    source = apr_psprintf(ptemp, "%s/%s/%s", md_store_group_name(MD_SG_ACCOUNTS), id,
                          MD_FN_ACCOUNT);
    rv = md_store_load_json(acme->store, MD_SG_ACCOUNTS, id, MD_FN_ACCOUNT, &j, ptemp);
    if (rv == APR_SUCCESS) {
        rv = md_acme_acct_from_json(pacct, j, source, ap);
    }
    if (rv == APR_SUCCESS) {
        rv = md_store_load_pkey(acme->store, MD_SG_ACCOUNTS, id, MD_FN_ACCT_KEY, pkey, ap);
    }
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(ap);
        *pacct = NULL;
        *pkey = NULL;
        return rv;
    }
    (*pacct)->id = apr_pstrdup(ap, id);
    *pp = ap;
    return APR_SUCCESS;
}

/* Ask the CA about the account in use, by POST-as-GET on its URL (CAs such
 * as pebble refuse the "empty update" RFC 8555 §7.3.2 also describes). */
static apr_status_t acct_verify(md_acme_t *acme, apr_pool_t *ap, md_result_t *result,
                                apr_pool_t *p)
{
    md_acme_resp_t *resp;
    const char *st;
    apr_status_t rv;

    rv = md_acme_post(&resp, acme, acme->acct->url, NULL, NULL, result, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    st = json_is_object(resp->json) ? md_json_get_str(resp->json, MD_KEY_STATUS) : NULL;
    if (!st || strcmp(st, ACCT_STATUS_VALID)) {
        md_result_printf(result, APR_EACCES, "account %s has status '%s' at the CA",
                         acme->acct->url, st ? md_util_str_printable(p, st, 64) : "(none)");
        return APR_EACCES;
    }
    acme->acct->registration = md_json_pool_own(ap, json_deep_copy(resp->json));
    return APR_SUCCESS;
}

apr_status_t md_acme_acct_find(md_acme_t *acme, const apr_array_header_t *contacts,
                               md_result_t *result, apr_pool_t *p)
{
    apr_array_header_t *ids = NULL;
    apr_pool_t *ptemp;
    apr_pool_t *ap;
    md_acme_acct_t *acct;
    md_pkey_t *key;
    const char *id;
    apr_status_t rv;
    int i;

    if (!acme->store) {
        return APR_ENOENT;
    }
    if (!result) {
        result = md_result_make(p, NULL);
    }
    rv = md_store_list(acme->store, MD_SG_ACCOUNTS, &ids, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = apr_pool_create(&ptemp, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = APR_ENOENT;
    for (i = 0; i < ids->nelts && rv == APR_ENOENT; ++i) {
        apr_pool_clear(ptemp);
        id = MD_ARR_IDX(ids, i, const char *);
        if (acct_read(&acct, &key, &ap, acme, id, ptemp) != APR_SUCCESS) {
            continue;   /* logged by the loader; one bad entry must not stop the rest */
        }
        if (!acct->status || strcmp(acct->status, ACCT_STATUS_VALID)
            || strcmp(acct->ca_url, acme->url) || !contacts_match(acct->contacts, contacts)
            || !eab_matches(acct, acme)) {
            apr_pool_destroy(ap);
            continue;
        }
        acme->acct = acct;
        acme->acct_key = key;
        rv = acct_verify(acme, ap, result, ptemp);
        if (rv == APR_SUCCESS) {
            md_log_perror(MD_LOG_MARK, MD_LOG_DEBUG, 0, ptemp,
                          "MD04014: using ACME account %s (%s)", id, acct->url);
            break;
        }
        acme->acct = NULL;
        acme->acct_key = NULL;
        apr_pool_destroy(ap);
        if (rv == APR_EACCES || rv == APR_ENOENT) {
            /* The CA does not know it any more (unauthorized, accountDoesNotExist,
             * deactivated): try the next one, keep the file. */
            md_log_perror(MD_LOG_MARK, MD_LOG_INFO, rv, ptemp, "MD04015: ACME account %s "
                          "is not usable: %s", id, result->detail ? result->detail : "");
            md_result_reset(result);
            rv = APR_ENOENT;
        }
        /* Anything else (CA unreachable, rate limited, a request the CA calls
         * malformed) ends the search: a new account would not help, and
         * registering one per attempt would litter the store. */
    }
    apr_pool_destroy(ptemp);
    return rv;
}

apr_status_t md_acme_acct_load(md_acme_t *acme, const char *id, apr_pool_t *p)
{
    md_acme_acct_t *acct;
    md_pkey_t *key;
    apr_pool_t *ap;
    apr_status_t rv;

    if (!acme->store) {
        return APR_ENOENT;
    }
    rv = acct_read(&acct, &key, &ap, acme, id, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (strcmp(acct->ca_url, acme->url)) {
        md_log_perror(MD_LOG_MARK, MD_LOG_WARNING, APR_EINVAL, p, "MD04016: account %s "
                      "belongs to %s, not to %s", id, acct->ca_url, acme->url);
        apr_pool_destroy(ap);
        return APR_EINVAL;
    }
    acme->acct = acct;
    acme->acct_key = key;
    return APR_SUCCESS;
}

/* --- what a2md does with accounts (MD04860-04899) --------------------------- */

apr_status_t md_acme_acct_peek(const char **pca_url, md_store_t *store, const char *id,
                               apr_pool_t *p)
{
    json_t *j = NULL;
    const char *url;
    apr_status_t rv;

    *pca_url = NULL;
    rv = md_store_load_json(store, MD_SG_ACCOUNTS, id, MD_FN_ACCOUNT, &j, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    url = md_json_get_str(j, MD_KEY_CA_URL);
    if (!url) {
        return APR_EINVAL;
    }
    *pca_url = apr_pstrdup(p, url);
    return APR_SUCCESS;
}

/* Write account.json of the account in use (it has an id). */
static apr_status_t acct_store(md_acme_t *acme, md_result_t *result, apr_pool_t *p)
{
    json_t *j = md_json_pool_own(p, md_acme_acct_to_json(acme->acct));
    apr_status_t rv;

    rv = j ? md_store_save_json(acme->store, MD_SG_ACCOUNTS, acme->acct->id, MD_FN_ACCOUNT, j, p)
           : APR_ENOMEM;
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "saving account %s to the store failed", acme->acct->id);
    }
    return rv;
}

static apr_status_t need_acct(md_acme_t *acme, md_result_t *result)
{
    if (!acme->acct || !acme->acct_key || !acme->acct->id || !acme->store) {
        md_result_printf(result, APR_EINVAL, "no stored account in use");
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t md_acme_acct_validate(md_acme_t *acme, md_result_t *result, apr_pool_t *p)
{
    apr_status_t rv;

    if ((rv = need_acct(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    md_result_activity_printf(result, "Validating account %s", acme->acct->id);
    return acct_verify(acme, acme->p, result, p);
}

apr_status_t md_acme_acct_agree(md_acme_t *acme, const char *agreement, md_result_t *result,
                                apr_pool_t *p)
{
    md_acme_resp_t *resp;
    json_t *payload;
    apr_status_t rv;

    if ((rv = need_acct(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    if (!acme->url_new_account && (rv = md_acme_setup(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    md_result_activity_printf(result, "Agreeing to the terms of service for account %s",
                              acme->acct->id);
    /* With the contacts: some CAs (pebble) take an update of the agreement
     * alone for an "empty update" and refuse it. */
    payload = md_json_pool_own(p, register_payload(acme->acct->contacts, 1));
    if (!payload) {
        return APR_ENOMEM;
    }
    rv = md_acme_post(&resp, acme, acme->acct->url, payload, NULL, result, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (json_is_object(resp->json)) {
        acme->acct->registration = md_json_pool_own(acme->p, json_deep_copy(resp->json));
    }
    acme->acct->agreement = apr_pstrdup(acme->p, acme->tos ? acme->tos
                                        : (agreement ? agreement : "accepted"));
    return acct_store(acme, result, p);
}

apr_status_t md_acme_acct_deactivate(md_acme_t *acme, md_result_t *result, apr_pool_t *p)
{
    md_acme_resp_t *resp;
    json_t *payload;
    apr_status_t rv;

    if ((rv = need_acct(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    md_result_activity_printf(result, "Deactivating account %s", acme->acct->id);
    payload = md_json_pool_own(p, json_object());
    if (!payload) {
        return APR_ENOMEM;
    }
    /* RFC 8555 §7.3.6 */
    md_json_set_str(payload, MD_KEY_STATUS, "deactivated");
    rv = md_acme_post(&resp, acme, acme->acct->url, payload, NULL, result, p);
    if (APR_STATUS_IS_EACCES(rv) || APR_STATUS_IS_ENOENT(rv)) {
        /* Unknown to the CA, or deactivated already: gone there either way. */
        md_log_perror(MD_LOG_MARK, MD_LOG_INFO, rv, p, "MD04860: account %s is not active "
                      "at %s (%s), removing it", acme->acct->id, acme->url,
                      result->detail ? result->detail : "");
        md_result_reset(result);
        rv = APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    acme->acct->status = "deactivated";
    rv = md_store_purge(acme->store, MD_SG_ACCOUNTS, acme->acct->id, p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv)) {
        /* Keep the record right at least: find() never picks it. */
        acct_store(acme, result, p);
        md_result_printf(result, rv, "account %s is deactivated at the CA but cannot be "
                         "removed from the store", acme->acct->id);
        return rv;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p, "MD04861: account %s (%s) deactivated and "
                  "removed", acme->acct->id, acme->acct->url);
    return APR_SUCCESS;
}

/* The new account key replaces the old one in the store: one atomic write
 * of account.pem, then the pending copy goes. */
static apr_status_t keychange_commit(md_acme_t *acme, md_pkey_t *new_key, md_result_t *result,
                                     apr_pool_t *p)
{
    apr_status_t rv;

    rv = md_store_save_pkey(acme->store, MD_SG_ACCOUNTS, acme->acct->id, MD_FN_ACCT_KEY,
                            new_key, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "the CA has the new key of account %s, but saving it "
                         "failed: it stays in %s; run the key change again", acme->acct->id,
                         MD_FN_ACCT_KEY_NEW);
        return rv;
    }
    acme->acct_key = new_key;
    md_store_remove(acme->store, MD_SG_ACCOUNTS, acme->acct->id, MD_FN_ACCT_KEY_NEW, p);
    return APR_SUCCESS;
}

/* A pending new key from an interrupted key change: if the CA knows the
 * account by it, only the store is behind; *pdone then. Else the key is
 * (re)used for the change. */
static apr_status_t keychange_resume(md_pkey_t **pnew, int *pdone, md_acme_t *acme,
                                     md_result_t *result, apr_pool_t *p)
{
    md_pkey_t *old_key = acme->acct_key;
    apr_status_t rv;

    *pdone = 0;
    *pnew = NULL;
    rv = md_store_load_pkey(acme->store, MD_SG_ACCOUNTS, acme->acct->id, MD_FN_ACCT_KEY_NEW,
                            pnew, p);
    if (rv != APR_SUCCESS) {
        *pnew = NULL;
        return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
    }
    rv = acct_verify(acme, acme->p, result, p);
    if (rv == APR_SUCCESS) {
        return APR_SUCCESS;     /* the old key still works: change to the pending one */
    }
    if (!result->problem && !APR_STATUS_IS_EACCES(rv) && !APR_STATUS_IS_ENOENT(rv)) {
        return rv;              /* no answer from the CA: nothing to conclude */
    }
    /* Refused (CAs say unauthorized or, for a signature by an unknown key,
     * malformed): maybe the CA has the pending key already. */
    md_result_reset(result);
    acme->acct_key = *pnew;
    rv = acct_verify(acme, acme->p, result, p);
    if (rv != APR_SUCCESS) {
        acme->acct_key = old_key;
        return rv;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p, "MD04862: account %s: completing an "
                  "interrupted key change", acme->acct->id);
    *pdone = 1;
    return keychange_commit(acme, *pnew, result, p);
}

apr_status_t md_acme_acct_keychange(md_acme_t *acme, md_result_t *result, apr_pool_t *p)
{
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_pkey_t *new_key = NULL;
    md_acme_resp_t *resp;
    json_t *inner_payload;
    json_t *inner;
    const char *s;
    int done = 0;
    apr_status_t rv;

    if ((rv = need_acct(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    if (!acme->url_key_change && (rv = md_acme_setup(acme, result)) != APR_SUCCESS) {
        return rv;
    }
    if (!acme->url_key_change) {
        md_result_printf(result, APR_ENOTIMPL, "the CA at %s offers no key change (no "
                         "keyChange in its directory)", acme->url);
        return APR_ENOTIMPL;
    }
    md_result_activity_printf(result, "Changing the key of account %s", acme->acct->id);
    if ((rv = keychange_resume(&new_key, &done, acme, result, p)) != APR_SUCCESS || done) {
        return rv;
    }
    if (!new_key) {
        if ((rv = md_pkey_gen(&new_key, acme->p, &spec)) != APR_SUCCESS) {
            md_result_printf(result, rv, "generating the new account key failed");
            return rv;
        }
        /* Kept before the CA hears of it: a crash after the CA switched must
         * not lose the only key the account has. */
        rv = md_store_save_pkey(acme->store, MD_SG_ACCOUNTS, acme->acct->id,
                                MD_FN_ACCT_KEY_NEW, new_key, p);
        if (rv != APR_SUCCESS) {
            md_result_printf(result, rv, "saving the new account key failed");
            return rv;
        }
    }

    /* RFC 8555 §7.3.5: the inner JWS, signed by the new key with it as
     * "jwk" and no nonce, names the account and its old key; the outer
     * one is an ordinary request signed by the old key. */
    inner_payload = md_json_pool_own(p, json_object());
    if (!inner_payload) {
        return APR_ENOMEM;
    }
    md_json_set_str(inner_payload, MD_KEY_ACCOUNT, acme->acct->url);
    json_object_set_new(inner_payload, MD_KEY_OLD_KEY, md_pkey_to_jwk(acme->acct_key));
    s = md_json_dump(inner_payload, 0, p);
    rv = md_jws_sign(&inner, s, strlen(s), NULL, acme->url_key_change, NULL, new_key, p);
    if (rv != APR_SUCCESS) {
        md_result_printf(result, rv, "signing with the new account key failed");
        return rv;
    }
    rv = md_acme_post(&resp, acme, acme->url_key_change, inner, NULL, result, p);
    if (rv != APR_SUCCESS) {
        if (resp && resp->status == 409) {
            md_result_printf(result, APR_EEXIST, "the CA has another account with the new key "
                             "(%s)", resp->location ? resp->location : "no Location");
            rv = APR_EEXIST;
        }
        return rv;
    }
    if ((rv = keychange_commit(acme, new_key, result, p)) != APR_SUCCESS) {
        return rv;
    }
    md_log_perror(MD_LOG_MARK, MD_LOG_NOTICE, 0, p, "MD04863: account %s (%s) has a new key",
                  acme->acct->id, acme->acct->url);
    return APR_SUCCESS;
}
