/* A test-only pause hook: lets the end-to-end tests freeze the server at a
 * named step of an issuance, an activation or a store write, then kill it
 * with SIGKILL there (to prove that every step leaves a recoverable store)
 * or let it go on after changing the world (a CA that restarted).
 *
 * Compiled only into the test build (`make TESTHOOKS=1`, build/testhooks/,
 * which defines MD_TESTHOOKS): in the production module both functions are
 * empty inline stubs, so neither the hook nor the name of its variable is
 * in build/mod_md.so (test/e2e/test_security_build.py checks).
 *
 * In the test build it is inert unless the environment variable
 * MD_TEST_CRASH_AT is set: its value is "<point>" or "<point>#<n>" (the
 * n-th time this process reaches the point, counting from 1). Points are
 * plain strings such as "drive:order-saved" or "tmp-written:privkey.pem";
 * the e2e crash test lists the ones it uses.
 */
#ifndef md_testhook_h
#define md_testhook_h

#ifdef MD_TESTHOOKS

#define MD_TESTHOOK_ENV     "MD_TEST_CRASH_AT"

/* If MD_TEST_CRASH_AT names this point (prefix:name, name may be NULL),
 * log it (MD09900) and stop the process with SIGSTOP right there; the test
 * then SIGKILLs every process of the server (a child running as User
 * cannot kill its root parent itself) or sends SIGCONT, and this returns.
 * Thread-safe enough for a test: the counter is advisory. */
void md_testhook_crash(const char *prefix, const char *name);

/* Is the hook armed at all? (Saves building point names otherwise.) */
int md_testhook_armed(void);

#else  /* production build: no hook */

static inline void md_testhook_crash(const char *prefix, const char *name)
{
    (void)prefix;
    (void)name;
}

static inline int md_testhook_armed(void)
{
    return 0;
}

#endif /* MD_TESTHOOKS */

#endif /* md_testhook_h */
