#!/bin/sh
# System packages the tests need beyond Node and the JDK, installed where this can be
# done (root with apt-get: CI, containers); elsewhere one line says what to install.
# Idempotent: a package already there is left alone. Each package has its own block.
set -eu

have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if [ "$(id -u)" = 0 ] && have apt-get; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; }
    return 0
  fi
  return 1
}

# chromium: the dashboard's browser tests (test/dashboard.test.ts, puppeteer-core).
if [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  :
elif apt_install chromium; then
  echo "setup: installed chromium (for the dashboard's browser tests)"
else
  echo "setup: chromium is not installed and cannot be installed here (needs root and apt-get): the dashboard's browser tests will skip (in CI they fail); install it with: sudo apt-get install chromium"
fi
