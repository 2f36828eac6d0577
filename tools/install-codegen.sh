#!/usr/bin/env bash
# Installs the code generators `make gen` runs besides buf and the Go plugins
# of tools/go-tools.txt, pinned, and is quick when nothing changed:
#   - from npm, `npm ci` of tools/node's package-lock.json into a cache outside
#     the clone that .tools/node links to (install_node_tools, below):
#     protoc-gen-es (TypeScript), swagger-ui-dist (the /docs page gen/docs
#     vendors), and the linters the tests run on the API descriptions
#     (@redocly/cli for OpenAPI, @asyncapi/cli for AsyncAPI);
#   - protoc (for Java) and protoc-gen-grpc-java, native binaries from Maven
#     Central listed in tools/maven-tools.txt, into .tools/bin.
# Called by tools/bootstrap.sh for `make gen`, `make check-gen` and `make test`
# (`make up` needs none of it). Without Node.js or Maven it warns and skips
# what needs them; `make gen` and `make check-gen` then fail on the missing
# plugin. Each install step prints one line with its duration.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/.tools
log() { printf 'bootstrap: %s\n' "$*" >&2; }

now() {
  local t=${EPOCHREALTIME:-}
  [ -n "$t" ] && printf '%s' "${t/,/.}" || date +%s
}

# step WHAT COMMAND...: as in tools/bootstrap.sh, one line "bootstrap: WHAT … 12.3 s", the command's output
# after it.
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

have() {
  command -v "$1" >/dev/null && return 0
  log "WARNING: $1 is not on PATH, so $2 is not installed: 'make gen' and 'make check-gen' will fail"
  return 1
}

# npm_ci DIR: installs DIR's package-lock.json; npm's summary stays off the progress line.
npm_ci() { (cd "$1" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error >/dev/null); }

# complete DIR WANT: DIR holds the install of the lock whose hash is WANT, every tool the suite runs included.
complete() {
  [ "$(cat "$1/.lock.sha256" 2>/dev/null)" = "$2" ] && [ -x "$1/node_modules/.bin/protoc-gen-es" ] \
    && [ -x "$1/node_modules/.bin/redocly" ] && [ -x "$1/node_modules/.bin/asyncapi" ]
}

# The install lives in a cache outside the clone, one directory per lock ($XDG_CACHE_HOME/shopmesh/node/<hash>,
# ~/.cache/...), and .tools/node links to it: a fresh clone on a machine that installed this lock once only links
# it (npm ci of these ~1,000 packages is 40-90 s even with npm's own cache warm). A changed lock is a new
# directory, so a stale install is never reused.
install_node_tools() {
  have npm "protoc-gen-es, swagger-ui-dist and the API linters (need Node.js 20+ with npm)" || return 0
  local dir=$tools/node want cache tmp
  want=$(cat "$root/tools/node/package.json" "$root/tools/node/package-lock.json" | sha256sum | cut -d' ' -f1)
  complete "$dir" "$want" && return 0
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/shopmesh/node/${want:0:16}
  if ! complete "$cache" "$want"; then
    mkdir -p "$(dirname "$cache")"
    tmp=$(mktemp -d "$cache.tmp.XXXXXX")
    cp "$root/tools/node/package.json" "$root/tools/node/package-lock.json" "$tmp/"
    step "npm ci tools/node (protoc-gen-es, swagger-ui-dist, redocly, asyncapi)" npm_ci "$tmp"
    echo "$want" >"$tmp/.lock.sha256"
    rm -rf "$cache"  # an incomplete one
    # Another clone may have finished the same install meanwhile: either copy is good, keep the first.
    mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"
  fi
  mkdir -p "$tools"
  rm -rf "$dir"
  ln -sfn "$cache" "$dir"
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

# mvn_copy SPEC DIR: fetches one artifact into DIR; Maven's output only when it fails.
mvn_copy() {
  if ! mvn -B -q -C -Dstyle.color=never \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="$1" -Dmdep.stripVersion=true -DoutputDirectory="$2" >"$2.log" 2>&1; then
    cat "$2.log" >&2
    rm -rf "$2" "$2.log"
    return 1
  fi
}

install_maven_tools() {
  local bin=$tools/bin cls gav name spec scratch
  mkdir -p "$bin"
  cls=$(classifier)
  grep -vE '^\s*(#|$)' "$root/tools/maven-tools.txt" | while read -r gav name; do
    spec="$gav:exe:$cls"
    if [ "$(cat "$bin/.$name.spec" 2>/dev/null)" != "$spec" ] || [ ! -x "$bin/$name" ]; then
      have mvn "$name (Java generation; fetched from Maven Central with Maven)" || return 0
      scratch=$(mktemp -d)
      step "mvn dependency:copy $spec" mvn_copy "$spec" "$scratch"
      install -m 0755 "$scratch"/*.exe "$bin/$name"
      rm -rf "$scratch" "$scratch.log"
      echo "$spec" >"$bin/.$name.spec"
    fi
  done
}

install_node_tools
install_maven_tools
