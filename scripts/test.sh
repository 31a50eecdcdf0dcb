#!/usr/bin/env bash
# `npm test`: provision what is missing, then lint, type-check, and run every test (unit, workflow,
# lab) in one `node --test` run against a Temporal dev server of its own (scripts/with-temporal.sh).
# Lab tests bring up and tear down their own labs under .lab-test*/; anything left is removed here.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

bash scripts/provision.sh

echo "[test] lint (eslint) and type-check (tsc --noEmit)"
npx eslint . --max-warnings=0
npx tsc -p tsconfig.json --noEmit

cleanup() {
  code=$?
  for dir in "$ROOT"/.lab-test*; do
    [ -f "$dir/state.json" ] && node dist/lab/cli.js --dir "$dir" -q down >/dev/null 2>&1 || true
  done
  # PostgreSQL-backed Temporal clusters of cluster tests that did not get to stop them.
  for dir in "$ROOT"/.data/test-cluster-*/cluster; do
    [ -d "$dir" ] && node dist/scripts/temporal-cluster.js --stop "$dir" >/dev/null 2>&1 || true
  done
  exit $code
}
trap cleanup EXIT INT TERM

export API7HA_TEST=1
if [ $# -gt 0 ]; then targets=("$@"); else targets=(dist/test/unit/ dist/test/workflows/ dist/test/lab/); fi
# Files run one at a time (lab tests share this machine's namespaces and CPU); the summary lines at
# the end (# tests / # pass / # fail) cover the whole suite.
bash scripts/with-temporal.sh node --test --test-concurrency=1 "${targets[@]}"
