#!/usr/bin/env bash
# The breaking-change guard of the contracts, run by tools/gen.sh (so by
# `make gen` and, through `make check-gen`, by CI).
#
# gen/baseline.binpb is a buf image of protos/ as of the last `make gen`,
# committed with the rest of gen/. Because `make check-gen` keeps gen/ in step
# with protos/ at every commit, the baseline is the previous commit's
# contracts, without needing git history (CI may run on a shallow clone).
# `make gen` compares protos/ with it (buf breaking, the FILE rules of
# buf.yaml) before overwriting it, so a change that removes, renumbers or
# retypes a field fails there and in CI, until it is accepted on purpose with
# `make accept-breaking` (which regenerates gen/, baseline included).
#
#   tools/breaking.sh              compare protos/ with gen/baseline.binpb
#   tools/breaking.sh write FILE   write the baseline image of protos/ to FILE
#
# Expects build/protodeps in place (tools/gen.sh copies it first).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.venv/bin:$PATH"
baseline=gen/baseline.binpb

case "${1:-check}" in
  check)
    if [ ! -f "$baseline" ]; then
      echo "breaking: no $baseline yet, nothing to compare against" >&2
      exit 0
    fi
    if buf breaking protos --against "$baseline" >&2; then
      exit 0
    fi
    if [ "${SHOPMESH_ACCEPT_BREAKING:-}" = 1 ]; then
      echo "breaking: accepted on purpose (make accept-breaking); $baseline moves to the new contracts" >&2
      exit 0
    fi
    echo "breaking: protos/ breaks the contracts in $baseline (see above)." >&2
    echo "  Clients generated from the old contracts would break. Prefer an additive change" >&2
    echo "  (a new field or RPC; reserve removed numbers and names). If the break is deliberate," >&2
    echo "  run 'make accept-breaking' and commit gen/ with it." >&2
    exit 1
    ;;
  write)
    # With imports (buf needs them to resolve the baseline) and without
    # source info (comments and positions don't matter and would churn it).
    buf build protos --exclude-source-info -o "${2:?usage: $0 write FILE}"
    ;;
  *)
    echo "usage: $0 [check | write FILE]" >&2
    exit 2
    ;;
esac
