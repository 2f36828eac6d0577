#!/usr/bin/env bash
# Builds the Kubernetes control plane the cluster tests run (tests/cluster): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kubectl, pinned by the wrapper modules of tools/kube (their go.mod
# and go.sum), from the Go module proxy. The binaries land in .tools/bin.
#
#   tools/install-kube.sh           build what is missing (a cold build is ~10 min on 2 cores), link it into .tools/bin
#   tools/install-kube.sh --fresh   exit 0 when .tools/bin already holds this build, 1 otherwise (builds nothing)
#
# The built binaries are kept in a build cache outside the clone, $XDG_CACHE_HOME/shopmesh/kube/<key>
# (~/.cache/...), keyed by the versions and a hash of tools/kube and this script. A fresh clone on a machine
# that built them once only links them (well under a second); a change to the wrapper modules or the flags
# below makes a new key, so a stale binary is never reused. Nothing built is ever committed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/kube/version-ldflags.sh
. "$root/tools/kube/version-ldflags.sh"
tools_bin=$root/.tools/bin
kube_mod=$root/tools/kube/k8s
etcd_mod=$root/tools/kube/etcd
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

# The pinned versions are the wrapper modules' requirements; the binaries report them (below).
mod_version() { awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$1/go.mod"; }
kube_version=$(mod_version "$kube_mod" k8s.io/kubernetes)
etcd_version=$(sed -n 's|^require go.etcd.io/etcd/server/v3 \(v[^ ]*\)$|\1|p' "$etcd_mod/go.mod")
[ -n "$kube_version" ] && [ -n "$etcd_version" ] || { echo "install-kube: no version in tools/kube/*/go.mod" >&2; exit 1; }

# Everything that decides what is built: the wrapper modules (sources, go.mod, go.sum), the version flags
# (tools/kube/version-ldflags.sh) and this script.
key=$( (cd "$root" && find tools/kube -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name '*.sh' \) -print0 |
  sort -z | xargs -0 sha256sum; sha256sum tools/install-kube.sh) | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/shopmesh/kube/$kube_version-$etcd_version-$key
stamp=$tools_bin/.kube.key

installed() {
  [ "$(cat "$stamp" 2>/dev/null)" = "$key" ] || return 1
  local b
  for b in "${binaries[@]}"; do [ -x "$tools_bin/$b" ] || return 1; done
}

if [ "${1:-}" = --fresh ]; then
  installed
  exit
fi
[ $# -eq 0 ] || { echo "usage: $0 [--fresh]" >&2; exit 2; }

build() {
  command -v go >/dev/null || { echo "install-kube: go is not on PATH; it builds the Kubernetes binaries" >&2; exit 1; }
  local tmp ldflags
  mkdir -p "$(dirname "$cache")"
  tmp=$(mktemp -d "$cache.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  ldflags=$(version_ldflags "$kube_version")
  # Static binaries (no cgo): no C toolchain needed, the same binary on any Linux of this architecture.
  (cd "$etcd_mod" && CGO_ENABLED=0 go build -mod=readonly -ldflags "-s -w" -o "$tmp/etcd" .)
  (cd "$kube_mod" && CGO_ENABLED=0 go build -mod=readonly -ldflags "$ldflags" -o "$tmp/" \
    ./kube-apiserver ./kube-controller-manager ./kube-scheduler ./kubectl)
  # Another clone may have finished the same build meanwhile: either copy is good, keep the first.
  mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"
  trap - EXIT
}

if [ ! -x "$cache/kube-apiserver" ]; then
  build
fi
mkdir -p "$tools_bin"
for b in "${binaries[@]}"; do
  [ -x "$cache/$b" ] || { echo "install-kube: $cache/$b is missing; remove $cache and run again" >&2; exit 1; }
  ln -sfn "$cache/$b" "$tools_bin/$b"
done
echo "$key" >"$stamp"
echo "install-kube: Kubernetes $kube_version, etcd $etcd_version in .tools/bin (built in $cache)"
