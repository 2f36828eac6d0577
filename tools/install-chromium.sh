#!/usr/bin/env bash
# Installs Debian's chromium when /usr/bin/chromium is missing: the /docs page test (tests/e2e/test_docs_page.py)
# drives it with Playwright, which downloads no browser of its own. Called by tools/bootstrap.sh for `make install`
# and `make test`. Like tools/install-prometheus.sh: apt-get as root (or sudo -n), `apt-get update` once if the
# package list does not know the package yet; elsewhere it warns and the test says what is missing.
set -euo pipefail

chromium=/usr/bin/chromium
[ -x "$chromium" ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    echo "install-chromium: WARNING: $chromium is missing; install Debian's chromium (apt-get install chromium)" >&2
    exit 0
  fi
  sudo=(sudo -n)
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: WARNING: $chromium is missing and there is no apt-get; install chromium there" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# shellcheck source=tools/apt-install.sh
. "$(dirname "$0")/apt-install.sh"
apt_install chromium
[ -x "$chromium" ] || { echo "install-chromium: the package installed, but $chromium is missing" >&2; exit 1; }
