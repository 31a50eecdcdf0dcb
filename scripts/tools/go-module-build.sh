#!/usr/bin/env bash
# Builds a Go program from a module on the Go module proxy into a cached binary, for the programs
# Debian lacks (docker compose v2, the Temporal server, etcd 3.5). `go install pkg@version` refuses
# modules with replace/exclude directives in their go.mod, so: `go mod download` the module, copy it
# somewhere writable, and `go build` inside the copy (its own go.mod and go.sum pin every dependency).
#
#   bash scripts/tools/go-module-build.sh MODULE VERSION PACKAGE OUTPUT [GOTOOLCHAIN] [-- GO BUILD FLAGS]
#     e.g. ... github.com/docker/compose/v2 v2.40.3 ./cmd .data/tools/compose/docker-compose
#
# Skips the build when OUTPUT exists and was built from the same module, version, package, toolchain
# and flags (recorded in OUTPUT.built-from). Prints one line for what it did, and the build time.
set -euo pipefail
if [ $# -lt 4 ]; then echo "usage: $0 MODULE VERSION PACKAGE OUTPUT [GOTOOLCHAIN] [-- FLAGS...]" >&2; exit 2; fi
module=$1 version=$2 pkg=$3 out=$4
# Absolute: the build runs inside the module copy, where a relative OUTPUT would land.
case $out in /*) ;; *) out="$(pwd)/$out" ;; esac
shift 4
toolchain=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then toolchain=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
flags=("$@")

# Strict shapes: these values reach `go` and file names (no shell evaluation, but fail early and clearly).
[[ $module =~ ^[a-z0-9.-]+(/[A-Za-z0-9._-]+)+$ ]] || { echo "go-module-build: bad module path: $module" >&2; exit 2; }
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[A-Za-z0-9.-]+)?$ ]] || { echo "go-module-build: bad version: $version" >&2; exit 2; }
[[ $pkg =~ ^\.(/[A-Za-z0-9._/-]*)?$ ]] || { echo "go-module-build: package must be ./path inside the module: $pkg" >&2; exit 2; }
[ -z "$toolchain" ] || [[ $toolchain =~ ^go[0-9]+\.[0-9]+(\.[0-9]+)?$ ]] || { echo "go-module-build: bad toolchain: $toolchain" >&2; exit 2; }

GO=${GO:-$(command -v go || true)}
[ -x "$GO" ] || GO=/usr/local/go/bin/go
[ -x "$GO" ] || { echo "go-module-build: no Go toolchain (run scripts/provision.sh)" >&2; exit 1; }

want="$module@$version $pkg toolchain=${toolchain:-local} flags=${flags[*]:-}"
if [ -x "$out" ] && [ "$(cat "$out.built-from" 2>/dev/null)" = "$want" ]; then
  echo "[tools] $(basename "$out"): cached ($module@$version)"
  exit 0
fi

mkdir -p "$(dirname "$out")"
work=$(mktemp -d "${TMPDIR:-/tmp}/api7-ha-gobuild.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
t0=$(date +%s)
export GOFLAGS=-mod=mod
[ -n "$toolchain" ] && export GOTOOLCHAIN=$toolchain
# The download needs a module context for the toolchain switch; an empty one in the work dir.
(cd "$work" && "$GO" mod init api7-ha-tool-build >/dev/null 2>&1)
dir=$(cd "$work" && "$GO" mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -n "$dir" ] && [ -d "$dir" ] || { echo "go-module-build: could not download $module@$version" >&2; exit 1; }
cp -r "$dir" "$work/src"
chmod -R u+w "$work/src"
# Multi-module repositories (etcd) replace their sibling modules with ../paths that a lone module copy
# lacks: drop those replacements, so the required versions come from the proxy like any dependency.
for old in $(cd "$work/src" && "$GO" mod edit -json | node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const r of m.Replace ?? []) if (/^\.\.?\//.test(r.New.Path)) console.log(r.Old.Path)'); do
  (cd "$work/src" && "$GO" mod edit -dropreplace="$old")
done
echo "[tools] building $(basename "$out") from $module@$version ($pkg${toolchain:+, $toolchain})"
(cd "$work/src" && CGO_ENABLED=0 "$GO" build -trimpath "${flags[@]}" -o "$out.tmp" "$pkg")
mv -f "$out.tmp" "$out"
printf '%s' "$want" > "$out.built-from"
echo "[tools] $(basename "$out") built in $(( $(date +%s) - t0 )) s"
