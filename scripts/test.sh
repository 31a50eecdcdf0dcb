#!/usr/bin/env bash
# `npm test`: provision what is missing, then lint, type-check, and run every test (unit, workflow,
# lab) in one `node --test` run against a Temporal dev server this script starts on free ports and
# stops at the end. Lab tests bring up and tear down their own labs under .lab-test*/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

bash scripts/provision.sh

echo "[test] lint (eslint) and type-check (tsc --noEmit)"
npx eslint . --max-warnings=0
npx tsc -p tsconfig.json --noEmit

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
PORT=$(free_port)
SA_FLAGS=$(node -e 'const {SEARCH_ATTRIBUTE_TYPES: t} = require("./dist/src/workflows/search-attributes.js"); process.stdout.write(Object.entries(t).map(([k, v]) => `--search-attribute ${k}=${v}`).join(" "))')
mkdir -p .data
TEMPORAL_LOG=.data/test-temporal.log
# shellcheck disable=SC2086
.data/tools/bin/temporal server start-dev --headless --ip 127.0.0.1 --port "$PORT" --log-level error $SA_FLAGS >"$TEMPORAL_LOG" 2>&1 &
TEMPORAL_PID=$!

cleanup() {
  code=$?
  for dir in "$ROOT"/.lab-test*; do
    [ -f "$dir/state.json" ] && API7HA_LAB_DIR="$dir" node dist/lab/cli.js down >/dev/null 2>&1 || true
  done
  kill "$TEMPORAL_PID" 2>/dev/null && wait "$TEMPORAL_PID" 2>/dev/null || true
  exit $code
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 120); do
  .data/tools/bin/temporal operator cluster health --address "127.0.0.1:$PORT" 2>/dev/null | grep -q SERVING && break
  kill -0 "$TEMPORAL_PID" 2>/dev/null || { echo "[test] the Temporal dev server did not start:"; cat "$TEMPORAL_LOG"; exit 1; }
  sleep 0.5
done
echo "[test] Temporal dev server on 127.0.0.1:$PORT (pid $TEMPORAL_PID)"

export TEMPORAL_ADDRESS="127.0.0.1:$PORT"
export API7HA_TEST=1
# Files run one at a time: lab tests share this machine's namespaces and CPU; the summary lines at
# the end (# tests / # pass / # fail) cover the whole suite.
if [ $# -gt 0 ]; then targets=("$@"); else targets=(dist/test/unit/ dist/test/workflows/ dist/test/lab/); fi
node --test --test-concurrency=1 "${targets[@]}"
