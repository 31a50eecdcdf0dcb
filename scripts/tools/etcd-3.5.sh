#!/usr/bin/env bash
# etcd 3.5 (server and etcdctl), built from the Go module proxy into .data/tools/etcd-3.5/, for the
# lab's bitnami/etcd:3.5 image (the 3.4 -> 3.5 upgrade); Debian 12 packages 3.4 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
ETCD_VERSION=v3.5.35
bash scripts/tools/go-module-build.sh go.etcd.io/etcd/server/v3 "$ETCD_VERSION" . .data/tools/etcd-3.5/etcd -- -ldflags "-s -w"
bash scripts/tools/go-module-build.sh go.etcd.io/etcd/etcdctl/v3 "$ETCD_VERSION" . .data/tools/etcd-3.5/etcdctl -- -ldflags "-s -w"
