#!/usr/bin/env bash
# Prints the directory holding Debian's `prometheus` and `promtool` (package prometheus, 2.42 on bookworm),
# installing the package first when either is missing: the rules' unit tests (`promtool test rules`) and
# `meshctl up --monitoring` use them. Like the bench's wrk: apt-get as root (or sudo -n), `apt-get update` once
# if the package list does not know the package yet. The package's daemon is never started: its unit and init
# script stay unused (policy-rc.d refuses service starts while the package installs).
set -euo pipefail

found() { command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; }

if found; then
  dirname "$(command -v promtool)"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-prometheus: promtool is missing; install Debian's prometheus package (apt-get install prometheus)" >&2
    exit 1
  fi
  sudo=(sudo -n)
fi

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  # invoke-rc.d asks this script whether it may start a service; 101: no.
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  made_policy=1
fi
cleanup() { if [ "$made_policy" -eq 1 ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

echo "install-prometheus: installing Debian's prometheus package (promtool) ..." >&2
# shellcheck source=tools/apt-install.sh
. "$(dirname "$0")/apt-install.sh"
apt_install -o Dpkg::Options::=--force-confdef prometheus
# A unit the package enabled must not start the daemon at the next boot of a machine with systemd either.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
if ! found; then
  echo "install-prometheus: the prometheus package installed, but promtool or prometheus is not on PATH" >&2
  exit 1
fi
dirname "$(command -v promtool)"
