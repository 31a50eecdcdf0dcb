#!/usr/bin/env bash
# Builds the Temporal server and its SQL schema tool from the Go module proxy (go.temporal.io/server,
# ./cmd/server and ./cmd/tools/sql), cached under .data/tools/temporal-server/, and links the module's
# PostgreSQL schema and config templates beside them. The production-shaped cluster (npm run temporal --
# --postgres, the cluster tests) runs these; the dev server stays the temporal CLI's.
#   bash scripts/tools/temporal-server.sh       (prints one line per binary: cached, or built in N s)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# Keep in step with temporal-docker-compose.yml (temporalio/server and admin-tools images; a test checks).
TEMPORAL_SERVER_VERSION=v1.32.2
# v1.32.2 needs Go >= 1.26.10; Go's own toolchain module comes through the same proxy.
TEMPORAL_SERVER_GOTOOLCHAIN=${TEMPORAL_SERVER_GOTOOLCHAIN:-go1.26.10}
OUT="$ROOT/.data/tools/temporal-server"
build=scripts/tools/go-module-build.sh
# Absolute outputs: go-module-build.sh runs `go build -o OUTPUT` inside its copy of the module.
bash "$build" go.temporal.io/server "$TEMPORAL_SERVER_VERSION" ./cmd/server "$OUT/temporal-server" "$TEMPORAL_SERVER_GOTOOLCHAIN"
bash "$build" go.temporal.io/server "$TEMPORAL_SERVER_VERSION" ./cmd/tools/sql "$OUT/temporal-sql-tool" "$TEMPORAL_SERVER_GOTOOLCHAIN"
# The schema (schema/postgresql/v12/{temporal,visibility}/versioned) and the config template the
# temporalio/server image renders (config/docker.yaml) come from the same module version.
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
dir=$(cd "$OUT" && GOFLAGS=-mod=mod GOTOOLCHAIN=$TEMPORAL_SERVER_GOTOOLCHAIN "$GO" mod download -json "go.temporal.io/server@$TEMPORAL_SERVER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$dir/schema/postgresql" ] && [ -f "$dir/config/docker.yaml" ] || { echo "[tools] go.temporal.io/server@$TEMPORAL_SERVER_VERSION: no schema/ or config/ in $dir" >&2; exit 1; }
# Copied, not linked: the module cache may be cleaned.
for d in schema config; do rm -rf "${OUT:?}/$d"; cp -r "$dir/$d" "$OUT/$d"; chmod -R u+w "$OUT/$d"; done
printf '%s\n' "$TEMPORAL_SERVER_VERSION" > "$OUT/VERSION"
