#!/usr/bin/env bash
# `npm run lab -- up | down | status | power-off H | power-on H | disconnect H | reconnect H | ssh H`
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/lab/cli.js ] || [ ! -d node_modules ]; then bash scripts/provision.sh; fi
exec node dist/lab/cli.js "$@"
