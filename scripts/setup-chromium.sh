#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the report test (test/report.test.ts opens the
# HTML report in it through puppeteer-core). Does nothing when a chromium is already installed.
# The mirror is apt's own configuration; no host name is written here.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  echo "setup-chromium: $(command -v chromium || command -v chromium-browser) is installed"
  exit 0
fi
if [ -r /etc/os-release ]; then . /etc/os-release; fi
case "${ID:-}" in
  debian|ubuntu)
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    echo "setup-chromium: installed $(dpkg-query -W -f='chromium ${Version}' chromium)" ;;
  *)
    echo "setup-chromium: no recipe for ${PRETTY_NAME:-this OS}; install Chromium by hand (the report test is skipped without it, and fails with CI=true)" >&2 ;;
esac
