#!/usr/bin/env bash
# `npm run bench [-- --quick]`: provisions, then runs bench/run.ts against its own Temporal dev server
# and its own lab (.lab-bench). Results: bench/results/<time>.json and a Markdown table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh >&2
trap 'node dist/lab/cli.js --dir .lab-bench -q down >/dev/null 2>&1 || true' EXIT
bash scripts/with-temporal.sh node dist/bench/run.js "$@"
