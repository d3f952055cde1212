/* Every JSON member name and store file name we read or write, in one place
 * (STYLE §2), so one grep finds every use. Names match the stock mod_md's
 * store and status formats, which we must stay compatible with. */
#ifndef md_keys_h
#define md_keys_h

/* --- store files (aspects) --- */
#define MD_FN_STORE_JSON        "md_store.json"
#define MD_FN_HTTPD_JSON        "httpd.json"
#define MD_FN_MD                "md.json"
#define MD_FN_MD_BAD            "md.json.bad"
#define MD_FN_JOB               "job.json"
#define MD_FN_PRIVKEY           "privkey.pem"
#define MD_FN_PUBCERT           "pubcert.pem"
#define MD_FN_FALLBACK_PKEY     "fallback-privkey.pem"      /* EC P-256, shared */
#define MD_FN_FALLBACK_PKEY_RSA "fallback-privkey.rsa.pem"  /* RSA 2048, shared */
#define MD_FN_FALLBACK_CERT_RSA "fallback-pubcert.rsa.pem"  /* per MD, beside the EC one */
#define MD_FN_CRED_MEMO         "cred-memo.txt"     /* ours: md_credmemo.h */
#define MD_FN_FALLBACK_CERT     "fallback-pubcert.pem"
#define MD_FN_ACCOUNT           "account.json"
#define MD_FN_ACCT_KEY          "account.pem"
#define MD_FN_HTTP01            "acme-http-01.txt"
/* tls-alpn-01 (RFC 8737) certificate and key, named as the stock module does:
 * the prefix and the key spec's file name ("acme-tls-alpn-01-pubcert.pem" for
 * RSA, "acme-tls-alpn-01-pubcert.p-256.pem" for EC P-256) */
#define MD_FN_TLSALPN01_PREFIX  "acme-tls-alpn-01-"
#define MD_FN_TLSALPN01_CERT    "acme-tls-alpn-01-pubcert.pem"
#define MD_FN_TLSALPN01_PKEY    "acme-tls-alpn-01-privkey.pem"
/* dns-01: the TXT values our program was asked to publish, for teardown */
#define MD_FN_DNS01             "acme-dns-01.json"
#define MD_FN_NOTIFY            "notify.json"    /* staging: what MDMessageCmd was told */
#define MD_FN_ARI               "ari.json"       /* staging: the CA's renewal windows */
#define MD_FN_ORDER             "order.json"
#define MD_FN_STORE_LOCK        "store.lock"
/* staging: the live certificate was revoked (a2md revoke); the server
 * renews the MD at once (md_acme_revoke.h) */
#define MD_FN_REVOKED           "revoked.json"
/* accounts: a new key whose rollover at the CA may have happened
 * (md_acme_acct_keychange) */
#define MD_FN_ACCT_KEY_NEW      "account.new.pem"

/* --- md_store.json --- */
#define MD_KEY_STORE            "store"
#define MD_KEY_VERSION          "version"
#define MD_KEY_KEY              "key"

/* --- md.json --- */
#define MD_KEY_NAME             "name"
#define MD_KEY_DOMAINS          "domains"
#define MD_KEY_CONTACTS         "contacts"
#define MD_KEY_TRANSITIVE       "transitive"
#define MD_KEY_CA               "ca"
#define MD_KEY_ACCOUNT          "account"
#define MD_KEY_PROTO            "proto"
#define MD_KEY_URL              "url"
#define MD_KEY_URLS             "urls"
#define MD_KEY_AGREEMENT        "agreement"
#define MD_KEY_STATE            "state"
#define MD_KEY_STATE_DESCR      "state-descr"
#define MD_KEY_RENEW_MODE       "renew-mode"
#define MD_KEY_RENEW_WINDOW     "renew-window"
#define MD_KEY_WARN_WINDOW      "warn-window"
#define MD_KEY_MUST_STAPLE      "must-staple"
#define MD_KEY_PKEY             "privkey"    /* key specs, as the stock module names them */
#define MD_KEY_PKEY_OLD         "pkey"       /* what our first releases wrote; read, dropped */
#define MD_KEY_TYPE             "type"
#define MD_KEY_BITS             "bits"
#define MD_KEY_CURVE            "curve"
#define MD_KEY_REQUIRE_HTTPS    "require-https"
#define MD_KEY_STAPLING         "stapling"
#define MD_KEY_PROFILE          "profile"
#define MD_KEY_PROFILE_MANDATORY "profile-mandatory"
#define MD_KEY_PROXY_URL        "proxy-url"
#define MD_KEY_EAB              "eab"
#define MD_KEY_KID              "kid"
#define MD_KEY_HMAC             "hmac"
#define MD_KEY_ALG              "alg"        /* MDExternalAccountBinding's file */
#define MD_KEY_ARI_RENEWALS     "ari-renewals"
#define MD_KEY_CA_CERTS         "ca-certs"   /* MDCACertificateFile */
#define MD_KEY_PROXY_CA_CERTS   "proxy-ca-certs" /* MDHttpProxyCACertificateFile */
#define MD_KEY_CMD_DNS01        "cmd-dns-01"
#define MD_KEY_CMD_DNS01_VERSION "cmd-dns-01-version"

/* --- httpd.json: what the server listens on --- */
#define MD_KEY_HTTP             "http"
#define MD_KEY_HTTPS            "https"
#define MD_KEY_PORTS            "ports"
#define MD_KEY_CERT_FILES       "cert-files"
#define MD_KEY_PKEY_FILES       "pkey-files"

/* --- account.json --- */
#define MD_KEY_STATUS           "status"
#define MD_KEY_CA_URL           "ca-url"
#define MD_KEY_CONTACT          "contact"
#define MD_KEY_REGISTRATION     "registration"
#define MD_KEY_ORDERS           "orders"
#define MD_KEY_TOS              "termsOfServiceAgreed"

/* --- job.json --- */
#define MD_KEY_FINISHED         "finished"
#define MD_KEY_NOTIFIED         "notified"
#define MD_KEY_NOTIFIED_RENEWED "notified-renewed"
#define MD_KEY_LAST_RUN         "last-run"
#define MD_KEY_NEXT_RUN         "next-run"
#define MD_KEY_VALID_FROM       "valid-from"
#define MD_KEY_ERRORS           "errors"
#define MD_KEY_LAST             "last"
#define MD_KEY_LOG              "log"
#define MD_KEY_ENTRIES          "entries"
#define MD_KEY_WHEN             "when"
#define MD_KEY_DETAIL           "detail"
#define MD_KEY_PROBLEM          "problem"
#define MD_KEY_SUBPROBLEMS      "subproblems"
#define MD_KEY_ACTIVITY         "activity"
#define MD_KEY_ORDER            "order"
/* order.json: which key spec and account an order in staging is for */
#define MD_KEY_SPEC             "spec"

/* --- ACME (RFC 8555) --- */
#define MD_KEY_NEW_NONCE        "newNonce"
#define MD_KEY_NEW_ACCOUNT      "newAccount"
#define MD_KEY_NEW_ORDER        "newOrder"
#define MD_KEY_REVOKE_CERT      "revokeCert"
#define MD_KEY_KEY_CHANGE       "keyChange"
#define MD_KEY_META             "meta"
#define MD_KEY_TOS_URL          "termsOfService"
#define MD_KEY_EAB_REQUIRED     "externalAccountRequired"
#define MD_KEY_IDENTIFIERS      "identifiers"
#define MD_KEY_VALUE            "value"
#define MD_KEY_AUTHORIZATIONS   "authorizations"
#define MD_KEY_FINALIZE         "finalize"
#define MD_KEY_CERTIFICATE      "certificate"
#define MD_KEY_EXPIRES          "expires"
#define MD_KEY_IDENTIFIER       "identifier"
#define MD_KEY_CHALLENGES       "challenges"
#define MD_KEY_TOKEN            "token"
#define MD_KEY_WILDCARD         "wildcard"
#define MD_KEY_CSR              "csr"
#define MD_KEY_ONLY_EXISTING    "onlyReturnExisting"
#define MD_KEY_ERROR            "error"
#define MD_KEY_EAB_BINDING      "externalAccountBinding"
#define MD_KEY_PROFILES         "profiles"
#define MD_KEY_RENEWAL_INFO     "renewalInfo"
#define MD_KEY_REPLACES         "replaces"
#define MD_KEY_SUGGESTED_WINDOW "suggestedWindow"
#define MD_KEY_START            "start"
#define MD_KEY_END              "end"
#define MD_KEY_EXPLANATION_URL  "explanationURL"
#define MD_KEY_REASON           "reason"
#define MD_KEY_OLD_KEY          "oldKey"
#define MD_KEY_REVOKED          "revoked"

/* --- status output (md-status, certificate-status) --- */
#define MD_KEY_CERT             "cert"
#define MD_KEY_VALID            "valid"
#define MD_KEY_FROM             "from"
#define MD_KEY_UNTIL            "until"
#define MD_KEY_SERIAL           "serial"
#define MD_KEY_SHA256_FP        "sha256-fingerprint"
#define MD_KEY_ISSUER_NAME      "issuer-name"
#define MD_KEY_RENEW_AT         "renew-at"
#define MD_KEY_RENEWAL          "renewal"
#define MD_KEY_WATCHED          "watched"
#define MD_KEY_MANAGED_DOMAINS  "managed-domains"
#define MD_KEY_RENEW            "renew"
#define MD_KEY_ARI_CERT_ID      "ari-cert-id"
/* Ours in md-status (md_sched.h): {"reason", "at", "detail"} */
#define MD_KEY_RENEW_SCHEDULE   "renew-schedule"
#define MD_KEY_AT               "at"
#define MD_KEY_STATUS_DESCR     "status-description"
#define MD_KEY_SCTS             "scts"
#define MD_KEY_LOGID            "logid"
#define MD_KEY_SIGNED           "signed"
#define MD_KEY_SIGNATURE        "signature"
#define MD_KEY_SIGNATURE_TYPE   "signature-type"
#define MD_KEY_ISSUER_URI       "issuer-uri"
#define MD_KEY_OCSP             "ocsp"
#define MD_KEY_EAB              "eab"
/* metrics data (md_status_metrics_json, md_stats_to_json) */
#define MD_KEY_READY            "ready"
#define MD_KEY_LAST_SUCCESS     "last-success"
#define MD_KEY_CERTS            "certs"
#define MD_KEY_NOT_BEFORE       "not-before"
#define MD_KEY_NOT_AFTER        "not-after"
#define MD_KEY_REQUESTS         "requests"
#define MD_KEY_FAILURES         "failures"

/* --- OCSP stapling (md_ocsp.h): response files and status --- */
#define MD_KEY_RESPONSE         "response"
#define MD_KEY_OCSP             "ocsp"
#define MD_KEY_OCSPS            "ocsps"
#define MD_KEY_DOMAIN           "domain"
#define MD_KEY_ID               "id"
#define MD_FN_OCSP_PREFIX       "ocsp-"
#define MD_FN_OCSP_SUFFIX       ".json"

#endif /* md_keys_h */
