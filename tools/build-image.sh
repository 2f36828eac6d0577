#!/usr/bin/env bash
# Builds the shopmesh image from the unmodified Dockerfile with rootful podman, without any container registry:
# the Dockerfile's PYTHON_IMAGE build-arg points at a local Debian bookworm base (Python 3.11 in /usr/bin, like
# the python:3.11-slim-bookworm the Dockerfile names) made by debootstrap and `podman import`. The cluster tier
# (tests/cluster) runs this image on real pods; this script is its build. Prints the image reference.
#
#   tools/build-image.sh          build what is missing, print the reference (localhost/shopmesh:<key>)
#   tools/build-image.sh --fresh  exit 0 when the image of this checkout is built and saved, 1 otherwise
#
# Needs root (or passwordless sudo): podman runs rootful. On first use it installs podman, runc and debootstrap from
# Debian (tools/apt-install.sh). podman is configured only through the containers.conf this script writes under
# its cache (CONTAINERS_CONF): the cgroupfs manager and file events logger (no systemd here), default ulimits
# within this machine's limits, and runc (crun refuses the hybrid cgroup layout). Nothing under /etc is touched.
#
# Network: debootstrap reaches the Debian mirror, pip inside the build reaches PyPI (the build runs on the host's
# network for that); nothing else. pip must trust the CA certificates this host trusts (a TLS-inspecting egress
# proxy may sign for PyPI), so the host's local additions to the trust store (/usr/local/share/ca-certificates)
# go into the base and its /etc/pip.conf points pip at the system bundle. The image therefore trusts them too.
#
# Caches, under $XDG_CACHE_HOME/shopmesh/images (~/.cache/...):
#   base-<key>.tar      the debootstrap root filesystem; <key> hashes the recipe below (suite, variant, packages,
#                       mirror, the host's extra CA certificates, the recipe's code). Imported into podman
#                       storage as localhost/shopmesh-base:<key>, re-imported from the tarball if storage lost it.
#   shopmesh-<key>.tar  `podman save` (docker-archive) of localhost/shopmesh:<key>, for `ctr images import`;
#                       <key> hashes the base key, the Dockerfile, .dockerignore and every file the build context
#                       admits (.dockerignore is an allowlist). A second run with nothing changed builds nothing.
#                       Older archives and tags are removed after a build (only this checkout's are kept).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/shopmesh/images
conf=$cache/containers.conf

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
# shellcheck source=tools/apt-install.sh
. "$root/tools/apt-install.sh"

log() { printf 'build-image: %s\n' "$*" >&2; }

fresh=0
case "${1:-}" in
  --fresh) fresh=1 ;;
  "") ;;
  *) echo "usage: $0 [--fresh]" >&2; exit 2 ;;
esac

# --- the base: its recipe, and the key that names it -------------------------------------------------------------
suite=bookworm
variant=minbase
include=python3,python3-venv,python3-pip
mirror=http://deb.debian.org/debian
host_cas=(/usr/local/share/ca-certificates/*.crt)
[ -e "${host_cas[0]}" ] || host_cas=()

make_base() { # make_base DIR: the root filesystem of the base image in DIR
  local dir=$1
  "${sudo[@]}" debootstrap --variant="$variant" --include="$include" "$suite" "$dir" "$mirror" >&2
  if [ "${#host_cas[@]}" -gt 0 ]; then
    "${sudo[@]}" cp "${host_cas[@]}" "$dir/usr/local/share/ca-certificates/"
  fi
  "${sudo[@]}" chroot "$dir" update-ca-certificates >/dev/null
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' | "${sudo[@]}" tee "$dir/etc/pip.conf" >/dev/null
  # What debootstrap leaves behind that no image needs: downloaded packages, package lists, and this host's
  # resolver and name (container runtimes mount their own over both).
  "${sudo[@]}" sh -c "rm -rf '$dir'/var/cache/apt/archives/*.deb '$dir'/var/lib/apt/lists/* '$dir'/var/log/*.log
    : >'$dir/etc/resolv.conf'; echo localhost >'$dir/etc/hostname'"
}

base_key=$( (printf '%s\n' "$suite" "$variant" "$include" "$mirror"; declare -f make_base
  [ "${#host_cas[@]}" -eq 0 ] || cat "${host_cas[@]}") | sha256sum | cut -c1-16)
base_ref=localhost/shopmesh-base:$base_key
base_tar=$cache/base-$base_key.tar

# --- the app image: the files the build context admits, and the key that names it -------------------------------
# .dockerignore is `*` then `!path` lines (admitted) then patterns excluded everywhere; only those shapes are
# understood here, so a new kind of line fails loudly instead of silently leaving files out of the key.
context_files() {
  local line admitted=() prune=()
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    line=${line%"${line##*[![:space:]]}"}
    case "$line" in
      "" | "*") ;;
      "!"*) admitted+=("${line#!}") ;;
      "**/"*/*) log ".dockerignore: '$line' is not understood by context_files"; return 1 ;;
      "**/"*) prune+=("${line#\*\*/}") ;;
      *) log ".dockerignore: '$line' is not understood by context_files"; return 1 ;;
    esac
  done <"$root/.dockerignore"
  [ "$(grep -v '^#' "$root/.dockerignore" | grep -m1 .)" = "*" ] || { log ".dockerignore is no allowlist"; return 1; }
  local expr=() p
  for p in "${prune[@]}"; do expr+=(-name "$p" -prune -o); done
  (cd "$root" && find "${admitted[@]%/}" "${expr[@]}" -type f -print0) | sort -z
}

app_key=$( { printf '%s\n' "$base_key"; (cd "$root" && sha256sum Dockerfile .dockerignore)
  context_files | (cd "$root" && xargs -0 sha256sum); } | sha256sum | cut -c1-16)
app_ref=localhost/shopmesh:$app_key
app_tar=$cache/shopmesh-$app_key.tar

# --- podman ------------------------------------------------------------------------------------------------------
podman() { "${sudo[@]}" env CONTAINERS_CONF="$conf" podman "$@"; }
has_image() { command -v podman >/dev/null && podman image exists "$1"; }

if [ "$fresh" -eq 1 ]; then
  [ -s "$app_tar" ] && has_image "$app_ref"
  exit
fi

mkdir -p "$cache"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
  log "installing podman, runc and debootstrap (Debian)"
  apt_install podman runc debootstrap
fi
cat >"$conf.tmp" <<'EOF'
# Written by tools/build-image.sh, read through CONTAINERS_CONF: no systemd on this machine, the default
# ulimits must stay within the machine's hard limits (open files 20000), and runc rather than crun, which
# refuses this machine's hybrid cgroup v1 + v2 layout ("cgroups in hybrid mode not supported").
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
EOF
mv "$conf.tmp" "$conf"

if ! has_image "$base_ref"; then
  if [ ! -s "$base_tar" ]; then
    log "base $base_ref: debootstrap $suite ($include), a minute or two"
    rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
    trap '"${sudo[@]}" rm -rf "$rootfs" "$base_tar.tmp"' EXIT
    make_base "$rootfs"
    "${sudo[@]}" tar -C "$rootfs" --numeric-owner -cf "$base_tar.tmp" .
    mv "$base_tar.tmp" "$base_tar"
    "${sudo[@]}" rm -rf "$rootfs"
    trap - EXIT
  fi
  log "base $base_ref: podman import"
  podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$base_tar" "$base_ref" >/dev/null
fi

if ! has_image "$app_ref"; then
  log "image $app_ref: podman build (the unmodified Dockerfile on $base_ref)"
  # --network host: the build's RUN steps reach PyPI through the host's network (no bridge, no NAT rules).
  podman build --network host --pull=never --build-arg "PYTHON_IMAGE=$base_ref" -t "$app_ref" \
    -f "$root/Dockerfile" "$root" >&2
fi
if [ ! -s "$app_tar" ]; then
  log "image $app_ref: podman save (for containerd)"
  rm -f "$app_tar.tmp"
  podman save --format docker-archive -o "$app_tar.tmp" "$app_ref"
  mv "$app_tar.tmp" "$app_tar"
fi

# Only this checkout's image is kept: every change to a file the context admits makes a new ~480 MB archive and
# tag, which would pile up run after run. Untagged build-stage images stay (the layer cache that lets a code
# change rebuild in seconds of COPY instead of a venv install).
for old in "$cache"/shopmesh-*.tar "$cache"/base-*.tar; do
  [ "$old" = "$app_tar" ] || [ "$old" = "$base_tar" ] || [ ! -e "$old" ] || rm -f "$old"
done
podman images --format '{{.Repository}}:{{.Tag}}' | while read -r ref; do
  case "$ref" in
    "$app_ref" | "$base_ref") ;;
    localhost/shopmesh:* | localhost/shopmesh-base:*) podman rmi "$ref" >/dev/null 2>&1 || true ;;
  esac
done
echo "$app_ref"
