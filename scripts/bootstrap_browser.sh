#!/usr/bin/env bash
# Installs the headless browser of the report test (tests/integration/test_report_browser.py): Debian's chromium
# at /usr/bin/chromium, driven by the `playwright` package of requirements/dev.lock (never `playwright install`:
# no browser download). As root with apt-get it installs the package; otherwise it prints exactly what to install
# and exits 0 (the test then fails under CI=true, and skips locally).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "browser: /usr/bin/chromium present"
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser: apt-get install chromium"
  install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
  # A fresh machine may have no (or stale) package lists: refresh them once when the first try fails.
  install || { apt-get update -qq && install; }
  exit 0
fi
echo "chromium missing; install it (Debian/Ubuntu): sudo apt-get install -y chromium" >&2
echo "(the report's browser test fails under CI=true without it)" >&2
