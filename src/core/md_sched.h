/* Renewal scheduling: when each MD gets a new certificate, and why.
 *
 * The one place that answers "when does this certificate renew?" for the
 * server (the renewal watchdog, the activation check, md-status), for a2md
 * and for the unit tests: the renew time of a certificate (MDRenewWindow,
 * half the lifetime of short-lived ones, the same rules for static
 * certificate files), the CA's ARI window, revocation, the retry backoff
 * after failed attempts (MDRetryDelay, the CA's Retry-After), the warn
 * window (MDWarnWindow), when the watchdog looks again, when a staged
 * certificate may go live (MDActivationDelay, the settle time before an
 * automatic restart) and when OCSP responses are renewed.
 *
 * Every function is pure: it reads only its arguments (the clock is one,
 * `now`, and so is any randomness, a byte `r` 0..255), touches no store,
 * no network and no global, and may run on any thread. The callers gather
 * the inputs (the start-up assessment, job.json, ari.json, revocation
 * markers) and act on the answer.
 */
#ifndef md_sched_h
#define md_sched_h

#include <apr_pools.h>
#include <apr_time.h>
#include "md.h"
#include "md_result.h"
#include "md_time.h"

/* md_reg.h; that header includes this one. */
typedef struct md_reg_state_t md_reg_state_t;

/* Why an MD renews when it does, or why it is not renewed. md-status shows
 * the name (md_sched_why_name) as "renew-schedule"."reason". */
typedef enum {
    MD_SCHED_WINDOW,            /* "renew-window": MDRenewWindow before the end */
    MD_SCHED_SHORT_LIVED,       /* "short-lifetime": half of a lifetime shorter than
                                 * MD_SCHED_SHORT_LIFETIME (no MDRenewWindow set) */
    MD_SCHED_ARI,               /* "ari": the CA's renewal window, earlier */
    MD_SCHED_NO_CERT,           /* "no-certificate": none usable */
    MD_SCHED_EXPIRED,           /* "expired": every certificate has expired */
    MD_SCHED_KEY_MISSING,       /* "key-type-missing": a key type has none */
    MD_SCHED_NAMES,             /* "names-not-covered": names were added */
    MD_SCHED_REVOKED,           /* "revoked": a2md revoked it, or OCSP says so */
    MD_SCHED_RETRY,             /* "retry": after failed attempts, not before next */
    MD_SCHED_STAGED,            /* "staged": a new certificate waits to go live */
    MD_SCHED_MANUAL,            /* "manual": MDRenewMode manual */
    MD_SCHED_STATIC,            /* "static-files": MDCertificateFile, not renewed */
    MD_SCHED_UNUSED,            /* "not-used": no virtual host uses it (MDRenewMode auto) */
    MD_SCHED_CONFIG_PROBLEM,    /* "config-problem": md->config_problem */
} md_sched_why_t;

/* The keyword of why ("renew-window", ...). */
const char *md_sched_why_name(md_sched_why_t why);

/* --- certificates ------------------------------------------------------------ */

/* Certificates valid for less than this renew at half their lifetime when
 * no renew window is configured: the default 33% of a 6-day certificate
 * would leave 2 days to notice and fix a failing renewal. */
#define MD_SCHED_SHORT_LIFETIME     apr_time_from_sec(10 * MD_SECS_PER_DAY)

/* When to renew one certificate valid from..until: at the start of window,
 * except that with window_set 0 a lifetime under MD_SCHED_SHORT_LIFETIME
 * renews at half of it (whichever is earlier). *pwhy (may be NULL) says
 * which of MD_SCHED_WINDOW, MD_SCHED_SHORT_LIVED. For certificates
 * from the CA and from the admin's files alike. */
apr_time_t md_sched_cert_renew_at(const md_timeslice_t *window, int window_set,
                                  apr_time_t from, apr_time_t until, md_sched_why_t *pwhy);

/* MDWarnWindow: from when on a certificate valid from..until is "expiring"
 * (computed once, at the assessment: md_reg_state_t warn_at). */
apr_time_t md_sched_warn_at(const md_timeslice_t *warn_window, apr_time_t from,
                            apr_time_t until);

/* Is st's certificate inside its warn window at now? If not, *pnext
 * (may be NULL) gets when it will be (0: never, no certificate). */
int md_sched_warn_due(const md_reg_state_t *st, apr_time_t now, apr_time_t *pnext);

/* --- an MD's renewal ------------------------------------------------------------ */

/* Does the CA's renewal information (RFC 9773) apply to st's certificates:
 * MDRenewViaARI on, a live certificate, renewed here (not manual)? */
int md_sched_ari_applies(const md_reg_state_t *st);

/* When st's certificates must be renewed, whatever the renew mode and the
 * job: st->renew_at (the certificate that renews first by its window, 0
 * when a key type is missing or names are not covered), or ari_at (the
 * time picked in the CA's window, 0: none) when that is earlier and ARI
 * applies; 0 (now) without a certificate or when revoked. *pwhy says why. */
apr_time_t md_sched_renew_at(const md_reg_state_t *st, apr_time_t ari_at, int revoked,
                             md_sched_why_t *pwhy);

/* What job.json says (md_job.h). */
typedef struct md_sched_job_t {
    int finished;               /* a certificate is staged */
    int errors;                 /* failed attempts in a row */
    apr_time_t next_run;        /* not before this (retry), 0: any time */
} md_sched_job_t;

/* Everything an MD's schedule depends on. */
typedef struct md_sched_in_t {
    const md_reg_state_t *st;   /* the start-up assessment (md, certificates) */
    apr_time_t ari_at;          /* time picked in the CA's ARI window, 0: none */
    int revoked;                /* the live certificate was revoked */
    const md_sched_job_t *job;  /* NULL: not read (yet) */
} md_sched_in_t;

/* The answer. */
typedef struct md_sched_t {
    md_sched_why_t why;
    int due;                    /* get a new certificate now */
    int need_job;               /* due by its certificate: read job.json, ask again */
    apr_time_t renew_at;        /* when the certificate renews (window or ARI; 0: at
                                 * once), also when not renewed here */
    apr_time_t next;            /* when this answer changes by itself (a renew time,
                                 * a retry), 0: only by an event */
    apr_time_t at;              /* when the next attempt starts: now when due, else
                                 * next; 0: never by itself (staged, manual, ...) */
} md_sched_t;

/* The schedule of in->st->md at now:
 *  - not renewed here: MDRenewMode manual (MD_SCHED_STATIC for static
 *    files), a config problem, an MD no virtual host uses (not watched);
 *  - else due by md_sched_renew_at; without a job (in->job NULL) that is
 *    need_job: the caller reads job.json and asks again;
 *  - a job that staged a certificate is not due (MD_SCHED_STAGED) until it
 *    is activated; after failed attempts not before job->next_run
 *    (MD_SCHED_RETRY); else due. */
void md_sched_decide(md_sched_t *s, const md_sched_in_t *in, apr_time_t now);

/* A sentence for the admin (log, a2md, md-status) saying why s, from p:
 * "MDRenewWindow 33% before the certificate ends", "3 failed attempts, the
 * next at ...". */
const char *md_sched_describe(const md_sched_t *s, const md_sched_in_t *in, apr_pool_t *p);

/* --- failed attempts -------------------------------------------------------------- */

#define MD_SCHED_RETRY_BASE         apr_time_from_sec(5)
#define MD_SCHED_RETRY_MAX          apr_time_from_sec(MD_SECS_PER_DAY)
/* A CA's Retry-After further out than this is taken as this: a hostile or
 * broken CA must not stop renewals until the certificate expires. */
#define MD_SCHED_RETRY_AFTER_MAX    apr_time_from_sec(7 * MD_SECS_PER_DAY)

/* Delay before the next attempt after `errors` failed ones: base doubling
 * per error, capped at MD_SCHED_RETRY_MAX, never overflowing. No jitter. */
apr_interval_time_t md_sched_retry_delay(int errors, apr_interval_time_t base);

/* Did the CA reject our input (RFC 8555 §6.7: malformed, badCSR,
 * rejectedIdentifier, unsupportedIdentifier, invalidContact, ...)? Retrying
 * soon would only repeat the same request. Classified as the stock module
 * does; validation failures (unauthorized, connection, dns,
 * incorrectResponse, tls, caa), rateLimited, serverInternal, badNonce and
 * userActionRequired are not: the site or the CA may fix them any minute.
 * Beyond stock: badPublicKey (the key type is the config's) waits too. */
int md_sched_is_input_error(const md_result_t *result);

/* When to try again after a failed attempt that ended with result at now,
 * the errors-th failure in a row:
 *  - an input error the CA reported (md_sched_is_input_error): the cap,
 *    MD_SCHED_RETRY_MAX, since the same request fails the same way;
 *  - else md_sched_retry_delay(errors, base; 0: MD_SCHED_RETRY_BASE) made
 *    up to 20% shorter by r (0..255, random), so that servers that failed
 *    together drift apart (the cap holds);
 *  - and never before the CA's Retry-After (result->retry_after, e.g. with
 *    rateLimited), itself capped at now + MD_SCHED_RETRY_AFTER_MAX. */
apr_time_t md_sched_retry_at(const md_result_t *result, int errors, apr_interval_time_t base,
                             apr_time_t now, unsigned char r);

/* --- the watchdog's passes ------------------------------------------------------------ */

/* A pass runs at least this far apart... */
#define MD_SCHED_PASS_MIN           apr_time_from_msec(200)
/* ... and this often while renewals run: a failed one may be due again soon. */
#define MD_SCHED_PASS_BUSY          apr_time_from_sec(1)
/* Between passes, revocation markers (a2md revoke) are looked for this often. */
#define MD_SCHED_REVOKE_POLL        apr_time_from_sec(10)

/* When the next pass runs: the earliest time any MD or task asked for, at
 * the latest MDCheckInterval after this pass. */
typedef struct md_sched_wake_t {
    apr_time_t now;             /* of the pass */
    apr_time_t at;              /* the earliest time asked for so far */
} md_sched_wake_t;

/* Start at now + check_interval made up to 10% shorter by r (0..255,
 * random): servers started together drift apart. */
void md_sched_wake_init(md_sched_wake_t *w, apr_time_t now, apr_interval_time_t check_interval,
                        unsigned char r);
/* Ask for a pass at t (0: nothing; a time past is now). */
void md_sched_wake_at(md_sched_wake_t *w, apr_time_t t);
/* How long the watchdog waits: until w->at, clamped by md_sched_clamp_wait. */
apr_interval_time_t md_sched_wake_wait(const md_sched_wake_t *w, int busy, int revoke_watch);
/* wait, at most MD_SCHED_PASS_BUSY while renewals run (busy), at most
 * MD_SCHED_REVOKE_POLL when revocation markers are watched, at least
 * MD_SCHED_PASS_MIN. */
apr_interval_time_t md_sched_clamp_wait(apr_interval_time_t wait, int busy, int revoke_watch);

/* --- activation ------------------------------------------------------------------------ */

/* MDActivationDelay: when may a staged certificate valid from valid_from go
 * live (valid_from + delay; delay <= 0: at once)? */
apr_time_t md_sched_activation_at(apr_time_t valid_from, apr_interval_time_t delay);
int md_sched_activation_ready(apr_time_t valid_from, apr_interval_time_t delay, apr_time_t now);

/* Automatic activation (MDActivationAuto) restarts the server for staged
 * certificates that are ready: once none has become ready for `settle`
 * (so that MDs finishing close together share one restart), but after at
 * most settle_max of waiting (a steady trickle does not hold it off), and
 * at most once per min_gap. */
#define MD_SCHED_ACTIVATE_SETTLE        apr_time_from_sec(5)
#define MD_SCHED_ACTIVATE_SETTLE_MAX    apr_time_from_sec(60)
#define MD_SCHED_ACTIVATE_MIN_GAP       apr_time_from_sec(60)

typedef struct md_sched_settle_t {
    apr_interval_time_t settle;
    apr_interval_time_t settle_max;
    apr_interval_time_t min_gap;
} md_sched_settle_t;

/* Restart now? first_ready: when the current wait began (something became
 * ready), newest: when the last set became ready, last_restart: the
 * previous automatic restart (0: none). */
int md_sched_restart_due(const md_sched_settle_t *t, apr_time_t first_ready, apr_time_t newest,
                         apr_time_t last_restart, apr_time_t now);

/* --- OCSP responses (MDStapling) --------------------------------------------------------- */

#define MD_SCHED_OCSP_RETRY_MIN     apr_time_from_sec(1)
#define MD_SCHED_OCSP_RETRY_MAX     apr_time_from_sec(60 * 60)
/* The renewal watchdog looks for revoked certificates a little after a
 * response is renewed, and this often while renewals fail. */
#define MD_SCHED_OCSP_CHECK_SLACK   apr_time_from_sec(2)
#define MD_SCHED_OCSP_CHECK_AGAIN   apr_time_from_sec(60)

/* When a response valid from..until is due for renewal: the start of
 * window (MDStaplingRenewWindow) in that period; half way through it when
 * the window is as long as the response or longer. */
apr_time_t md_sched_ocsp_renew_at(const md_timeslice_t *window, apr_time_t valid_from,
                                  apr_time_t valid_until);

/* When to ask again after getting a response valid from..until at now:
 * md_sched_ocsp_renew_at, unless the responder handed out one that is due
 * already (responders cache theirs): then after a quarter of the time it
 * has left, at least MD_SCHED_OCSP_RETRY_MIN. */
apr_time_t md_sched_ocsp_next_fetch(const md_timeslice_t *window, apr_time_t valid_from,
                                    apr_time_t valid_until, apr_time_t now);

/* How long to wait after the errors-th failed attempt in a row: base
 * (MDRetryDelay) doubling per error, at most MD_SCHED_OCSP_RETRY_MAX and at
 * most a quarter of the last response's validity valid_from..valid_until
 * (0, 0: none), so a responder that comes back is asked again soon after;
 * while that response is still valid, at most a quarter of the time it has
 * left. At least MD_SCHED_OCSP_RETRY_MIN. */
apr_interval_time_t md_sched_ocsp_retry_delay(int errors, apr_interval_time_t base,
                                              apr_time_t valid_from, apr_time_t valid_until,
                                              apr_time_t now);

/* When the renewal watchdog should look for certificates an OCSP response
 * says are revoked, given the next response renewal (0: none): a little
 * after it, or in a minute while renewals are overdue (failing). */
apr_time_t md_sched_ocsp_check_at(apr_time_t next_renewal, apr_time_t now);

#endif /* md_sched_h */
