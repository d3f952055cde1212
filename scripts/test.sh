#!/usr/bin/env bash
# Build and run every test: the core's unit tests and the end-to-end tests
# against a real Apache and pebble. Installs what it needs (Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
make -j2 all
make test

# --- fuzzing and sanitizers (mk/fuzz.mk, test/fuzz/README.md) ---------------
# Every fuzz target briefly (seeds and earlier crashes replayed, then
# mutation), then the unit tests and a part of the e2e suite with the
# ASan+UBSan module: issuance over http-01, tls-alpn-01 and dns-01, restart
# and activation, md-status, server-status, certificate-status, metrics,
# the MDs started on a thread beside mod_ssl (test_start_order.py).
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
ASAN_E2E_TESTS=${ASAN_E2E_TESTS:-"test/e2e/test_foundation.py test/e2e/test_status_pages.py test/e2e/test_challenge_tls_alpn.py test/e2e/test_challenge_dns01.py test/e2e/test_start_order.py"}
make -j2 fuzz FUZZ_SECONDS="$FUZZ_SECONDS"
make -j2 asan
make asan-test-unit
# shellcheck disable=SC2086
make asan-test-e2e E2E_TESTS="$ASAN_E2E_TESTS"
