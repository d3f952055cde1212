#!/usr/bin/env bash
# Build everything and watch Apache with our mod_md get a certificate from a
# local pebble, then stop it all again. Installs what it needs (Debian 12).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
make -j2 all
/usr/bin/python3 scripts/demo.py
