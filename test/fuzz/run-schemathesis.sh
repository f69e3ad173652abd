#!/usr/bin/env bash
# Fuzzes the gateway's HTTP API from its own OpenAPI document (GET /openapi.json) with
# schemathesis (https://schemathesis.io), settings in test/fuzz/schemathesis.toml:
# no 500, every status and header documented, every body matching its documented schema
# (errors: JSON {error, message}), invalid input rejected with a 4xx, auth enforced,
# 405 + Allow for undeclared methods; then checks that the gateway is still up.
#
# The target is test/fuzz/serve.ts: the real app, sizer, pool and scheduler with a bearer
# token, but no Drill running, so the query routes answer 504 within ~100 ms.
#
#   test/fuzz/run-schemathesis.sh                  # 200 cases per operation
#   test/fuzz/run-schemathesis.sh --max-examples 1000 --seed 42   # extra args go to `schemathesis run`
#
# Needs Node 20, the built project's dependencies, an installed Drill (`dromedar drill
# install`: the scheduler is constructed, never started) and schemathesis (installed with
# pip when missing; PYTHON picks the interpreter). Not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}

if ! command -v schemathesis >/dev/null; then
  "$PYTHON" -m pip install --quiet schemathesis
fi
# tsc emits even when a file elsewhere in the tree does not type-check; the target is what counts.
npx tsc -p tsconfig.json || echo "tsc reported errors (above); fuzzing what it emitted" >&2

work=$(mktemp -d)
node dist/test/fuzz/serve.js >"$work/target.json" 2>"$work/target.log" &
target=$!
stop() {
  kill "$target" 2>/dev/null || true
  wait "$target" 2>/dev/null || true
}
trap stop EXIT

for _ in $(seq 1 100); do
  [ -s "$work/target.json" ] && break
  kill -0 "$target" 2>/dev/null || { cat "$work/target.log" >&2; exit 1; }
  sleep 0.1
done
url=$(node -e 'console.log(JSON.parse(process.argv[1]).url)' "$(cat "$work/target.json")")
token=$(node -e 'console.log(JSON.parse(process.argv[1]).token)' "$(cat "$work/target.json")")
echo "fuzzing $url (log: $work/target.log)"

# Every check but positive_data_acceptance: whether SQL is acceptable depends on the data
# and the workspaces (an unknown schema is a 400, a path outside a workspace a 403), which
# no JSON Schema can say, so "schema-valid" bodies are rightly refused.
status=0
schemathesis --config-file test/fuzz/schemathesis.toml run "$url/openapi.json" \
  --header "Authorization: Bearer $token" --checks all --exclude-checks positive_data_acceptance "$@" || status=$?

# The target must have survived all of it.
if ! curl --silent --fail --max-time 5 "$url/healthz" >/dev/null; then
  echo "the gateway no longer answers /healthz" >&2
  status=1
fi
if ! kill -0 "$target" 2>/dev/null; then
  echo "the gateway process is gone" >&2
  status=1
fi
exit "$status"
