#!/usr/bin/env bash
# Runs schemathesis against the built hush and the document it serves: any server error, or
# any answer whose status, content type, headers or body the document does not describe,
# fails the run. Starts hush on a free loopback port with a throw-away database and stops it
# by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
hush_pid=""
cleanup() {
    [[ -n "$hush_pid" ]] && kill "$hush_pid" 2>/dev/null && wait "$hush_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

HUSH_ERASURE_KEY=schemathesis-erasure-key-0123456789 ./.build/debug/hush serve --port 0 --threads 2 \
    --database "$work/hush.db" > "$work/out" 2> "$work/err" &
hush_pid=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$work/out" 2>/dev/null && break
    sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/out")
[[ -n "$url" ]] || { echo "schemathesis: hush did not start"; cat "$work/err"; exit 1; }

# pip may put the command where PATH does not look (a --user install): find it beside the module.
st=$(command -v schemathesis || true)
[[ -n "$st" ]] || st="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/schemathesis"
[[ -x "$st" ]] || st="$(python3 -m site --user-base)/bin/schemathesis"
"$st" run "$url/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" --generation-deterministic --request-timeout 10 --no-color
