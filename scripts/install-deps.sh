#!/usr/bin/env bash
# Install what building and testing the module needs on Debian 12 (as root).
# Idempotent: when every package is already installed it does nothing, so
# CI and developers can run it before each build at no cost.
set -euo pipefail

PACKAGES=(
  build-essential make gcc pkg-config
  apache2 apache2-dev libapr1-dev libaprutil1-dev
  libssl-dev libjansson-dev libcurl4-openssl-dev
  pebble libcmocka-dev
  python3 python3-pytest python3-pytest-xdist python3-cryptography python3-requests
  openssl curl ca-certificates procps
  postgresql libpq-dev
  debhelper dpkg-dev fakeroot lintian
  # make test-helgrind: the renewal worker threads under helgrind
  valgrind
  # fuzzing (libFuzzer, clang's sanitizers, llvm-symbolizer) and the
  # ASan+UBSan build with gcc (mk/fuzz.mk)
  clang libclang-rt-14-dev llvm libasan8 libubsan1
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${PACKAGES[@]}"
