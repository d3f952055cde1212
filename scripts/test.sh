#!/usr/bin/env bash
# Build and run every test: the core's unit tests and the end-to-end tests
# against a real Apache and pebble. Installs what it needs (Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
make -j2 all
make test
