// Shell scripts of the bitnami/etcd:3.4.13-compatible image, for busybox sh. They emulate what
// the runbook and operators rely on from bitnami's entrypoint.sh + run.sh + libetcd.sh:
//  - refuse to start without ALLOW_NONE_AUTHENTICATION=yes or ETCD_ROOT_PASSWORD (same message);
//  - with ETCD_ROOT_PASSWORD on a new data dir: once etcd answers, add user root with that
//    password, grant it the root role and `auth enable`;
//  - never pass ETCD_ROOT_PASSWORD to etcd (etcd logs unknown ETCD_* variables with their value);
//  - leave etcd as the process that gets `docker stop`'s SIGTERM: exec'd as PID 1 when no setup
//    is needed, otherwise the shell forwards TERM/INT and waits for it.

/** /opt/bitnami/scripts/etcd/entrypoint.sh (also /entrypoint.sh, as in the 3.4.13 image). */
export const ENTRYPOINT_SH = `#!/bin/sh
# bitnami/etcd:3.4.13-compatible entrypoint (api7-ha lab stand-in; etcd from Debian).
set -eu
. /opt/bitnami/scripts/liblog.sh

print_welcome_page

case "\${1:-}" in
  etcd|/opt/bitnami/scripts/etcd/run.sh)
    [ "\${1}" = etcd ] && shift
    info "** Starting etcd setup **"
    exec /opt/bitnami/scripts/etcd/run.sh "$@"
    ;;
esac
echo ""
exec "$@"
`;

/** /opt/bitnami/scripts/liblog.sh: bitnami's log line format ("etcd 12:00:00.00 INFO  ==> ..."). */
export const LIBLOG_SH = `# bitnami-style logging for busybox sh
_log() { printf '%s %s %-5s ==> %s\\n' "\${MODULE:-etcd}" "$(date +%T.00)" "$1" "$2" >&2; }
info() { _log INFO "$*"; }
warn() { _log WARN "$*"; }
error() { _log ERROR "$*"; }
print_welcome_page() {
  if [ -z "\${DISABLE_WELCOME_MESSAGE:-}" ]; then
    info ""
    info "Welcome to the Bitnami etcd container (api7-ha lab stand-in: Debian etcd, same ETCD_* variables)"
    info ""
  fi
}
is_boolean_yes() {
  case "$(echo "\${1:-}" | tr '[:upper:]' '[:lower:]')" in
    1|yes|true) return 0 ;;
    *) return 1 ;;
  esac
}
`;

/** /opt/bitnami/scripts/etcd/run.sh: validate, optional first-start auth setup, run etcd. */
export const RUN_SH = `#!/bin/sh
# bitnami/etcd-compatible run.sh (api7-ha lab stand-in).
set -eu
. /opt/bitnami/scripts/liblog.sh

export ETCD_DATA_DIR="\${ETCD_DATA_DIR:-/bitnami/etcd/data}"
root_password="\${ETCD_ROOT_PASSWORD:-}"
# etcd warns about unknown ETCD_* variables and prints their values: never hand it the password.
unset ETCD_ROOT_PASSWORD

info "Validating settings in ETCD_* env vars.."
if is_boolean_yes "\${ALLOW_NONE_AUTHENTICATION:-no}"; then
  warn "You set the environment variable ALLOW_NONE_AUTHENTICATION=\${ALLOW_NONE_AUTHENTICATION}. For safety reasons, do not use this flag in a production environment."
elif [ -z "$root_password" ]; then
  error "The ETCD_ROOT_PASSWORD environment variable is empty or not set. Set the environment variable ALLOW_NONE_AUTHENTICATION=yes to allow the container to be started with blank passwords. This is recommended only for development."
  exit 1
fi

mkdir -p "$ETCD_DATA_DIR"
new_data_dir=no
[ -d "$ETCD_DATA_DIR/member" ] || new_data_dir=yes

if [ -z "$root_password" ] || [ "$new_data_dir" = no ]; then
  info "** Starting etcd **"
  exec etcd "$@"
fi

# First start with a root password: etcd must run to accept the user; stay its parent and pass
# signals on, so docker stop still stops etcd at once.
local_endpoint() {
  first="$(echo "\${ETCD_LISTEN_CLIENT_URLS:-http://127.0.0.1:2379}" | cut -d, -f1)"
  echo "$first" | sed -e 's#://0\\.0\\.0\\.0:#://127.0.0.1:#' -e 's#://\\[::\\]:#://127.0.0.1:#'
}

configure_rbac() {
  ep="$(local_endpoint)"
  set -- --endpoints="$ep" --user="root:$root_password" --dial-timeout=2s --command-timeout=5s
  # With client TLS, talk to the local member as a client with the member's own certificate (as
  # bitnami's scripts do): its key pair is issued for server and client use.
  if [ -n "\${ETCD_TRUSTED_CA_FILE:-}" ]; then
    set -- "$@" --cacert="$ETCD_TRUSTED_CA_FILE" --cert="\${ETCD_CERT_FILE:-}" --key="\${ETCD_KEY_FILE:-}"
  fi
  tries=0
  while [ "$tries" -lt 300 ]; do
    tries=$((tries + 1))
    if etcdctl "$@" endpoint health >/dev/null 2>&1; then
      out="$(printf '%s\\n' "$root_password" | etcdctl "$@" user add root --interactive=false 2>&1)" || \\
        echo "$out" | grep -q "already exists" || { sleep 1; continue; }
      etcdctl "$@" user grant-role root root >/dev/null 2>&1 || true
      if etcdctl "$@" auth enable >/dev/null 2>&1; then
        info "etcd authentication enabled for user root"
        return 0
      fi
    fi
    sleep 1
  done
  error "could not enable etcd authentication (no quorum for 5 minutes?)"
  return 1
}

info "** Starting etcd **"
etcd "$@" &
etcd_pid=$!
stopping=no
trap 'stopping=yes; kill -TERM "$etcd_pid" 2>/dev/null || true' TERM INT
configure_rbac &
rbac_pid=$!
# wait returns early (status > 128) when a trapped signal arrives: wait again until etcd is gone.
status=0
wait "$etcd_pid" || status=$?
while kill -0 "$etcd_pid" 2>/dev/null; do
  status=0
  wait "$etcd_pid" || status=$?
done
kill "$rbac_pid" 2>/dev/null || true
# etcd re-raises the signal after a clean shutdown (exit 143 seen from here); as PID 1 it would
# have exited 0, so report that.
[ "$stopping" = yes ] && [ "$status" -eq 143 ] && status=0
exit "$status"
`;
