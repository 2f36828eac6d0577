#!/usr/bin/env bash
# Installs the code generators `make gen` runs besides buf and the Go plugins
# of tools/go-tools.txt, pinned, and is quick when nothing changed:
#   - protoc-gen-es (TypeScript), from npm: `npm ci` of tools/node's
#     package-lock.json into .tools/node;
#   - protoc (for Java) and protoc-gen-grpc-java, native binaries from Maven
#     Central listed in tools/maven-tools.txt, into .tools/bin.
# Called by tools/bootstrap.sh. Without Node.js or Maven it warns and skips
# what needs them, so `make up` still works with Python and Go alone; `make
# gen` and `make check-gen` (so `make test`) then fail on the missing plugin.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/.tools
log() { printf 'bootstrap: %s\n' "$*" >&2; }

have() {
  command -v "$1" >/dev/null && return 0
  log "WARNING: $1 is not on PATH, so $2 is not installed: 'make gen' and 'make check-gen' will fail"
  return 1
}

install_node_tools() {
  have npm "protoc-gen-es (TypeScript generation; needs Node.js 20+ with npm)" || return 0
  local dir=$tools/node want
  want=$(cat "$root/tools/node/package.json" "$root/tools/node/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$dir/.lock.sha256" 2>/dev/null)" != "$want" ] || [ ! -x "$dir/node_modules/.bin/protoc-gen-es" ]; then
    log "npm ci tools/node (protoc-gen-es) into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$root/tools/node/package.json" "$root/tools/node/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$want" >"$dir/.lock.sha256"
  fi
}

# Maven's classifier for this platform, as protoc and protoc-gen-grpc-java publish them.
classifier() {
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) echo linux-x86_64 ;;
    Linux-aarch64 | Linux-arm64) echo linux-aarch_64 ;;
    Darwin-x86_64) echo osx-x86_64 ;;
    Darwin-arm64) echo osx-aarch_64 ;;
    *) log "no protoc binaries on Maven Central for $(uname -s)-$(uname -m)"; exit 1 ;;
  esac
}

install_maven_tools() {
  local bin=$tools/bin cls gav name spec scratch
  mkdir -p "$bin"
  cls=$(classifier)
  grep -vE '^\s*(#|$)' "$root/tools/maven-tools.txt" | while read -r gav name; do
    spec="$gav:exe:$cls"
    if [ "$(cat "$bin/.$name.spec" 2>/dev/null)" != "$spec" ] || [ ! -x "$bin/$name" ]; then
      have mvn "$name (Java generation; fetched from Maven Central with Maven)" || return 0
      log "mvn dependency:copy $spec"
      scratch=$(mktemp -d)
      if ! mvn -B -q -C -Dstyle.color=never \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
        -Dartifact="$spec" -Dmdep.stripVersion=true -DoutputDirectory="$scratch" >"$scratch.log" 2>&1; then
        cat "$scratch.log" >&2
        rm -rf "$scratch" "$scratch.log"
        exit 1
      fi
      install -m 0755 "$scratch"/*.exe "$bin/$name"
      rm -rf "$scratch" "$scratch.log"
      echo "$spec" >"$bin/.$name.spec"
    fi
  done
}

install_node_tools
install_maven_tools
