# Sourced by tools/install-*.sh: `apt_install ARG...` runs `apt-get install -y --no-install-recommends ARG...` as
# root (the caller's `sudo` array: empty, or `sudo -n`), quietly. A fresh machine's package list may not know the
# package yet, so a failed install refreshes the list once (`apt-get update`) and tries again; apt's output is
# printed only when that fails too.
apt_install() {
  local log
  local install=("${sudo[@]}" apt-get install -y --no-install-recommends "$@")
  log=$(mktemp)
  if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" >"$log" 2>&1; then
    "${sudo[@]}" apt-get update >>"$log" 2>&1 || true
    if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" >>"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      return 1
    fi
  fi
  rm -f "$log"
}
