#!/usr/bin/env bash
# Builds and installs what one Kubernetes node on this machine needs, next to the control plane of
# tools/install-kube.sh, for the cluster tier's real pods (tests/cluster):
#   - kubelet and kube-proxy, pinned by the wrapper module tools/kube/k8s (its go.mod and go.sum) like the control
#     plane, from the Go module proxy, linked into .tools/bin/kubelet and .tools/bin/kube-proxy;
#   - CoreDNS (the node's cluster DNS), pinned by the wrapper module tools/kube/coredns, into .tools/bin/coredns;
#   - the pod sandbox image (localhost/shopmesh-pause:1, a docker-archive at .tools/images/pause.tar for
#     `ctr images import`): tools/kube/k8s/pause, static, on an empty root. No registry serves
#     registry.k8s.io/pause here, and the node must never pull;
#   - containerd, runc and the CNI plugins (containernetworking-plugins, in /usr/lib/cni) and iptables from Debian,
#     on first use (apt-get as root, tools/apt-install.sh).
#
#   tools/install-node.sh           build what is missing (kubelet, kube-proxy: < 1 min each with a warm Go build
#                                   cache), link it
#   tools/install-node.sh --fresh   exit 0 when .tools holds this build and the Debian packages are installed
#
# The build is kept outside the clone, $XDG_CACHE_HOME/shopmesh/kube-node/<version>-<key> (~/.cache/...), keyed by
# the Kubernetes version and a hash of the wrapper module (go.mod, go.sum, kubelet/, kube-proxy/, pause/) and this
# script, so a fresh clone on a machine that built it once only links it. Nothing built is ever committed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/kube/version-ldflags.sh
. "$root/tools/kube/version-ldflags.sh"
tools_bin=$root/.tools/bin
images=$root/.tools/images
kube_mod=$root/tools/kube/k8s
coredns_mod=$root/tools/kube/coredns
pause_ref=localhost/shopmesh-pause:1
packages=(containerd runc containernetworking-plugins iptables)
commands=(containerd ctr runc /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback iptables)
binaries=(kubelet kube-proxy coredns)

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
# shellcheck source=tools/apt-install.sh
. "$root/tools/apt-install.sh"

kube_version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$kube_mod/go.mod")
[ -n "$kube_version" ] || { echo "install-node: no k8s.io/kubernetes version in $kube_mod/go.mod" >&2; exit 1; }
key=$( (cd "$root" && sha256sum tools/kube/k8s/go.mod tools/kube/k8s/go.sum tools/kube/k8s/kubelet/*.go \
  tools/kube/k8s/kube-proxy/*.go tools/kube/k8s/pause/*.go tools/kube/coredns/go.mod tools/kube/coredns/go.sum \
  tools/kube/coredns/*.go tools/kube/version-ldflags.sh tools/install-node.sh) | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/shopmesh/kube-node/$kube_version-$key
stamp=$tools_bin/.node.key

have_packages() {
  local c
  for c in "${commands[@]}"; do command -v "$c" >/dev/null || return 1; done
}

installed() {
  local b
  for b in "${binaries[@]}"; do [ -x "$tools_bin/$b" ] || return 1; done
  [ "$(cat "$stamp" 2>/dev/null)" = "$key" ] && [ -s "$images/pause.tar" ] && have_packages
}

if [ "${1:-}" = --fresh ]; then
  installed
  exit
fi
[ $# -eq 0 ] || { echo "usage: $0 [--fresh]" >&2; exit 2; }

if ! have_packages; then
  echo "install-node: installing ${packages[*]} (Debian)" >&2
  apt_install "${packages[@]}"
fi

# A docker-archive (what `podman save` writes and `ctr images import` reads) of one layer holding /pause.
pause_image() {
  local dir=$1 layer diff
  mkdir "$dir/rootfs"
  cp "$dir/pause" "$dir/rootfs/pause"
  tar -C "$dir/rootfs" --numeric-owner --owner=0 --group=0 --mtime=@0 -cf "$dir/layer.tar" pause
  diff=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}\n' \
    "$diff" >"$dir/config.json"
  printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":["layer.tar"]}]\n' "$pause_ref" >"$dir/manifest.json"
  tar -C "$dir" --mtime=@0 -cf "$dir/pause.tar" manifest.json config.json layer.tar
  rm -rf "$dir/rootfs" "$dir/layer.tar" "$dir/config.json" "$dir/manifest.json"
}

build() {
  command -v go >/dev/null || { echo "install-node: go is not on PATH; it builds the kubelet" >&2; exit 1; }
  local tmp ldflags
  mkdir -p "$(dirname "$cache")"
  tmp=$(mktemp -d "$cache.tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  ldflags=$(version_ldflags "$kube_version")
  (cd "$kube_mod" && CGO_ENABLED=0 go build -mod=readonly -ldflags "$ldflags" -o "$tmp/" ./kubelet ./kube-proxy ./pause)
  (cd "$coredns_mod" && CGO_ENABLED=0 go build -mod=readonly -ldflags "-s -w" -o "$tmp/coredns" .)
  pause_image "$tmp"
  mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"
  trap - EXIT
}

[ -x "$cache/kubelet" ] && [ -x "$cache/kube-proxy" ] && [ -x "$cache/coredns" ] && [ -s "$cache/pause.tar" ] || build
mkdir -p "$tools_bin" "$images"
for b in "${binaries[@]}"; do ln -sfn "$cache/$b" "$tools_bin/$b"; done
ln -sfn "$cache/pause.tar" "$images/pause.tar"
echo "$key" >"$stamp"
echo "install-node: kubelet, kube-proxy $kube_version, coredns $(awk '$1 == "require" && $2 == "github.com/coredns/coredns" { print $3 }' "$coredns_mod/go.mod") in .tools/bin, $pause_ref in .tools/images/pause.tar (built in $cache);" \
  "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR == 1 {print $3}')"
