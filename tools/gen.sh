#!/usr/bin/env bash
# Regenerates gen/ from protos/, offline: lints the contracts, generates the
# code of every client language with `buf generate` (buf.gen.yaml: Python,
# Go, TypeScript, Java; the REST surface as OpenAPI 3.1), describes the events as AsyncAPI 3.0, vendors the
# API reference page Envoy serves at GET /docs (gen/docs), guards against breaking changes (tools/breaking.sh)
# and builds the descriptor set that Envoy's gRPC-JSON transcoder loads
# (gen/descriptor.binpb).
#
#   tools/gen.sh          rewrite gen/
#   tools/gen.sh --check  generate into a scratch directory and fail if gen/ differs
#   tools/gen.sh --fresh  exit 0 if gen/ was generated from the contracts as they are now, 1 if not: compares
#                         the content hashes of the inputs with gen/inputs.sha256 (needs no tool, unlike the
#                         others; `make up` asks this before regenerating, since file times lie after a clone)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.venv/bin:$PATH"

# What gen/ is generated from, one "sha256  path" line each in a fixed order: gen/inputs.sha256 records them.
inputs() {
  { find protos -name '*.proto'; printf '%s\n' buf.yaml buf.gen.yaml tools/protoc_gen_py.py tools/protodeps.sh \
      tools/openapi_post.py tools/openapi.yaml meshctl/asyncapi.py tools/docs/index.html tools/node/package-lock.json; } \
    | LC_ALL=C sort | while read -r f; do sha256sum "$f"; done
}

if [ "${1:-}" = "--fresh" ]; then
  if inputs | cmp -s - gen/inputs.sha256; then
    exit 0
  fi
  echo "gen: the contracts changed since gen/ was generated (< gen/inputs.sha256, > now):" >&2
  inputs | diff gen/inputs.sha256 - >&2 || true
  exit 1
fi

# The imported protos (googleapis, protovalidate), pinned: tools/protodeps.sh.
deps=build/protodeps
tools/protodeps.sh "$deps"

buf lint
# The breaking-change guard: protos/ against gen/baseline.binpb, the contracts
# of the last generation (see tools/breaking.sh).
tools/breaking.sh

# buf writes below --output (default "."), so a check run generates into a
# scratch directory and compares its gen/ with ours.
base=.
if [ "${1:-}" = "--check" ]; then
  base=$(mktemp -d)
  trap 'rm -rf "$base"' EXIT
else
  rm -rf gen/python gen/descriptor.binpb gen/go gen/ts gen/java gen/openapi gen/asyncapi gen/docs gen/baseline.binpb \
    gen/inputs.sha256
fi
mkdir -p "$base/gen"

buf generate --output "$base"
# gen/go, gen/ts and gen/java are a Go module, an npm package and a Maven
# project: their go.mod/go.sum, package.json and pom.xml come from here.
cp -R tools/packaging/. "$base/gen/"

# Everything Envoy needs to transcode: our services, their imports, and
# google/rpc/error_details.proto so error details render in JSON bodies.
buf build --as-file-descriptor-set --exclude-source-info \
  --path protos/shopmesh --path "$deps/google/rpc/error_details.proto" \
  -o "$base/gen/descriptor.binpb"

# OpenAPI 3.1 from gnostic's 3.0 (see tools/openapi_post.py); the 3.0 file was only a step.
python tools/openapi_post.py "$base/gen/openapi/openapi.yaml" "$base/gen/descriptor.binpb" \
  "$base/gen/openapi/shopmesh.openapi.json"
rm "$base/gen/openapi/openapi.yaml"
# The events: AsyncAPI 3.0, sharing the OpenAPI document's schemas of the messages both carry.
mkdir -p "$base/gen/asyncapi"
# Its descriptions are the contracts' comments, hence a descriptor set with source info (a scratch file).
sourced=$(mktemp)
buf build --as-file-descriptor-set --path protos/shopmesh -o "$sourced#format=binpb"
python -m meshctl.asyncapi "$sourced" "$base/gen/openapi/shopmesh.openapi.json" \
  "$base/gen/asyncapi/shopmesh.asyncapi.json"
rm -f "$sourced"
# GET /docs: our page around Swagger UI, whose files come from the pinned swagger-ui-dist (tools/node), with its
# license; Envoy serves them (meshctl/envoy_docs.py).
ui=.tools/node/node_modules/swagger-ui-dist
mkdir -p "$base/gen/docs"
cp tools/docs/index.html "$base/gen/docs/"
cp "$ui/swagger-ui-bundle.js" "$ui/swagger-ui.css" "$base/gen/docs/"
cat "$ui/LICENSE" "$ui/NOTICE" >"$base/gen/docs/SWAGGER-UI-LICENSE"

tools/breaking.sh write "$base/gen/baseline.binpb"
inputs >"$base/gen/inputs.sha256"

if [ "${1:-}" = "--check" ]; then
  # Build output of the polyglot examples (mvn, npm) and bytecode caches are not generated code.
  if ! diff -r -q -x target -x node_modules -x __pycache__ "$base/gen" gen >&2; then
    echo "gen/ is stale: run 'make gen' and commit the result" >&2
    exit 1
  fi
  echo "gen/ is up to date"
fi
