#!/usr/bin/env bash
# docker compose v2 (the CLI plugin current Docker installs ship; Debian 12 packages only v1), built
# from the Go module proxy into .data/tools/compose/docker-compose. The lab installs it on its hosts
# as /usr/local/lib/docker/cli-plugins/docker-compose, so `docker compose` works there.
set -euo pipefail
cd "$(dirname "$0")/../.."
COMPOSE_VERSION=v2.40.3
exec bash scripts/tools/go-module-build.sh github.com/docker/compose/v2 "$COMPOSE_VERSION" ./cmd .data/tools/compose/docker-compose -- \
  -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION"
