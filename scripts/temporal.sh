#!/usr/bin/env bash
# `npm run temporal`: the Temporal dev server with a persistent SQLite file under .data/, the Web UI
# on 8233 and api7-ha's search attributes registered. Runs in the foreground (Ctrl-C stops it).
# Ports: TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233).
#   npm run temporal -- --postgres   the production shape instead: PostgreSQL 15 + the Temporal server
#                                    built from source, as temporal-docker-compose.yml (data in
#                                    .data/temporal-cluster; scripts/temporal-cluster.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --postgres ]; then
  shift
  [ -x .data/tools/temporal-server/temporal-server ] && [ -f dist/scripts/temporal-cluster.js ] || bash scripts/provision.sh
  exec node dist/scripts/temporal-cluster.js "$@"
fi
[ -x .data/tools/bin/temporal ] || bash scripts/provision.sh
mkdir -p .data
exec .data/tools/bin/temporal server start-dev \
  --db-filename .data/temporal.db \
  --port "${TEMPORAL_PORT:-7233}" \
  --ui-port "${TEMPORAL_UI_PORT:-8233}" \
  --log-level warn \
  $(node -e 'const {SEARCH_ATTRIBUTE_TYPES: t} = require("./dist/src/workflows/search-attributes.js"); process.stdout.write(Object.entries(t).map(([k, v]) => `--search-attribute ${k}=${v}`).join(" "))') \
  "$@"
