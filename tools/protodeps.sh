#!/usr/bin/env bash
# Lays out the protos the contracts import, pinned, under DIR (default
# build/protodeps): google/api, google/type and google/rpc from the
# googleapis-common-protos wheel of requirements.lock (it ships the sources),
# and protovalidate's buf/validate/validate.proto from its Go module (through
# the Go module proxy, or offline from the module cache). buf.yaml reads
# build/protodeps as an import-only module.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/build/protodeps}
python=${PYTHON:-$root/.venv/bin/python}
protovalidate=github.com/bufbuild/protovalidate@v1.1.0

gapi=$("$python" -c 'import google.api.annotations_pb2 as m, pathlib; print(pathlib.Path(m.__file__).parents[2])')
rm -rf "$dest"
for pkg in api type rpc; do
  mkdir -p "$dest/google/$pkg"
  cp "$gapi/google/$pkg/"*.proto "$dest/google/$pkg/"
done

pv=$(cd "$root" && GOFLAGS=-mod=mod go mod download -json "$protovalidate" \
  | "$python" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
mkdir -p "$dest/buf/validate"
cp "$pv/proto/protovalidate/buf/validate/validate.proto" "$dest/buf/validate/"
