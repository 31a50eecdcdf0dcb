#!/usr/bin/env bash
# Runs a command against a Temporal dev server of its own (in memory, free port, api7-ha's search
# attributes), started here and stopped by PID when the command ends. Tests and benchmarks use it.
#   bash scripts/with-temporal.sh <command...>      (the command sees TEMPORAL_ADDRESS)
set -euo pipefail
cd "$(dirname "$0")/.."
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
PORT=$(free_port)
SA_FLAGS=$(node -e 'const {SEARCH_ATTRIBUTE_TYPES: t} = require("./dist/src/workflows/search-attributes.js"); process.stdout.write(Object.entries(t).map(([k, v]) => `--search-attribute ${k}=${v}`).join(" "))')
mkdir -p .data
LOG=.data/temporal-$PORT.log
# shellcheck disable=SC2086
.data/tools/bin/temporal server start-dev --headless --ip 127.0.0.1 --port "$PORT" --log-level error $SA_FLAGS >"$LOG" 2>&1 &
TEMPORAL_PID=$!
stop() { kill "$TEMPORAL_PID" 2>/dev/null && wait "$TEMPORAL_PID" 2>/dev/null; rm -f "$LOG"; }
trap stop EXIT
for _ in $(seq 1 120); do
  .data/tools/bin/temporal operator cluster health --address "127.0.0.1:$PORT" 2>/dev/null | grep -q SERVING && break
  kill -0 "$TEMPORAL_PID" 2>/dev/null || { echo "the Temporal dev server did not start:"; cat "$LOG"; exit 1; }
  sleep 0.5
done
echo "[temporal] dev server on 127.0.0.1:$PORT (pid $TEMPORAL_PID)" >&2
export TEMPORAL_ADDRESS="127.0.0.1:$PORT"
"$@"
