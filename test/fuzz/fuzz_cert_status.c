/* The certificate-status request path (/.httpd/certificate-status, on by
 * default, any client) and md-status: per request a child reads
 * staging/<md>/job.json and the staged certificates, which the server's
 * User can write, and builds the JSON from them; the parent's monitor reads
 * the same job.json (md_job_load) to decide about activation. Input: job.json,
 * FUZZ_SEP, staged pubcert.pem (RSA), FUZZ_SEP, staged pubcert.secp256r1.pem,
 * written into a real file-system store. */
#include "fuzz.h"

#include <stdio.h>
#include <unistd.h>

#include <apr_file_io.h>

#include "md.h"
#include "md_crypt.h"
#include "md_job.h"
#include "md_json.h"
#include "md_keys.h"
#include "md_reg.h"
#include "md_status.h"
#include "md_store.h"

#define MD_NAME  "a.test"

static md_store_t *store;
static const char *staging;     /* <store>/staging/a.test */
static md_status_snap_t *snap;

static void write_file(const char *name, const char *data, size_t len, apr_pool_t *p)
{
    const char *path = apr_pstrcat(p, staging, "/", name, NULL);
    FILE *f;

    if (len == 0) {
        unlink(path);
        return;
    }
    if (!(f = fopen(path, "wb")) || fwrite(data, 1, len, f) != len || fclose(f)) {
        abort();
    }
}

/* One store and one MD for all inputs, as a server has them. */
static void setup(void)
{
    apr_pool_t *p = fuzz_root;
    md_pkey_spec_t *rsa = apr_pcalloc(p, sizeof(*rsa));
    md_pkey_spec_t *ec = apr_pcalloc(p, sizeof(*ec));
    md_reg_state_t *st = apr_pcalloc(p, sizeof(*st));
    md_pkey_spec_t spec = { MD_PKEY_TYPE_EC, 0, "P-256" };
    md_pkey_t *key;
    md_cert_t *cert;
    md_t *md;
    char *dir = apr_pstrdup(p, "/tmp/fuzz_cert_status.XXXXXX");

    if (!mkdtemp(dir)) {
        abort();
    }
    apr_pool_cleanup_register(p, dir, fuzz_rm_tree, apr_pool_cleanup_null);
    if (md_store_fs_open(&store, p, apr_pstrcat(p, dir, "/md", NULL)) != APR_SUCCESS) {
        abort();
    }
    md = md_create_empty(p);
    md->name = MD_NAME;
    APR_ARRAY_PUSH(md->domains, const char *) = MD_NAME;
    APR_ARRAY_PUSH(md->domains, const char *) = "www." MD_NAME;
    rsa->type = MD_PKEY_TYPE_RSA;
    rsa->bits = 2048;
    ec->type = MD_PKEY_TYPE_EC;
    ec->curve = "P-256";
    md->pkey_specs = apr_array_make(p, 2, sizeof(md_pkey_spec_t *));
    APR_ARRAY_PUSH(md->pkey_specs, md_pkey_spec_t *) = rsa;
    APR_ARRAY_PUSH(md->pkey_specs, md_pkey_spec_t *) = ec;
    if (md_store_get_fname(store, MD_SG_STAGING, MD_NAME, NULL, &staging, p) != APR_SUCCESS
        || apr_dir_make_recursive(staging, APR_FPROT_OS_DEFAULT, p) != APR_SUCCESS) {
        abort();
    }
    /* The live certificate the parent saw at start-up. */
    if (md_pkey_gen(&key, p, &spec) != APR_SUCCESS
        || md_cert_self_sign(&cert, MD_NAME, md->domains, key, apr_time_from_sec(86400 * 30),
                             p) != APR_SUCCESS) {
        abort();
    }
    st->md = md;
    st->state = MD_S_COMPLETE;
    st->has_cert = 1;
    st->valid_from = md_cert_valid_from(cert);
    st->valid_until = md_cert_valid_until(cert);
    st->renew_at = st->valid_until - apr_time_from_sec(86400 * 10);
    snap = apr_pcalloc(p, sizeof(*snap));
    snap->md = md;
    snap->state = st;
    {
        json_t *certs = json_object();

        json_object_set(certs, "secp256r1", md_status_cert_json(cert, p));
        snap->cert_json = md_json_dump(certs, 0, p);
        json_decref(certs);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    const char *parts[3];
    size_t lens[3];
    md_status_counts_t counts;
    md_job_t *job;
    json_t *mdj;
    json_t *out;
    apr_time_t now = apr_time_from_sec(1795000000);

    if (!store) {
        setup();
    }
    fuzz_split(data, size, 3, parts, lens, p);
    write_file(MD_FN_JOB, parts[0], lens[0], p);
    write_file("pubcert.pem", parts[1], lens[1], p);
    write_file("pubcert.secp256r1.pem", parts[2], lens[2], p);

    /* A request for /.httpd/certificate-status ... */
    mdj = md_status_md_load(store, snap, 0, now, p);
    out = md_status_cert_status_json(mdj, p);
    if (!out || !md_json_dump(out, 1, p)) {
        abort();
    }
    /* ... for /md-status/a.test (with the job's log), server-status and
     * the metrics ... */
    mdj = md_status_md_load(store, snap, 1, now, p);
    if (!md_json_dump(mdj, 1, p)) {
        abort();
    }
    memset(&counts, 0, sizeof(counts));
    md_status_count(&counts, mdj);
    (void)md_json_dump(md_status_metrics_json(snap, mdj, p), 0, p);
    /* ... and the parent's monitor looking for a finished job. */
    job = md_job_create(p, MD_NAME);
    if (md_job_load(job, store, p) == APR_SUCCESS) {
        json_decref(md_job_to_json(job));
    }
    fuzz_pool_end(p);
    return 0;
}
