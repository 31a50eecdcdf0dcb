#!/usr/bin/env bash
# `npm run demo`: the main job on an embedded default. Provisions, starts the Temporal dev server
# (UI on :8233) and the 7-host lab, starts a worker, deploys .lab/inventory.yaml, prints the result
# and the UI link, and leaves it all running to explore.   `npm run demo -- down` stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
mkdir -p .data
TEMPORAL_PID_FILE=.data/temporal.pid
WORKER_PID_FILE=.data/worker.pid
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() { if alive "$1"; then kill "$(cat "$1")"; for _ in $(seq 1 40); do alive "$1" || break; sleep 0.25; done; fi; rm -f "$1"; }

if [ "${1:-up}" = down ]; then
  echo "[demo] stopping the worker, the lab and the Temporal dev server"
  stop "$WORKER_PID_FILE"
  [ -f dist/lab/cli.js ] && node dist/lab/cli.js down || true
  stop "$TEMPORAL_PID_FILE"
  exit 0
fi

bash scripts/provision.sh
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"

if ! alive "$TEMPORAL_PID_FILE"; then
  echo "[demo] starting the Temporal dev server (SQLite in .data/temporal.db, UI http://localhost:8233)"
  nohup bash scripts/temporal.sh >.data/temporal.log 2>&1 &
  echo $! >"$TEMPORAL_PID_FILE"
fi
for _ in $(seq 1 120); do
  .data/tools/bin/temporal operator cluster health --address "$TEMPORAL_ADDRESS" 2>/dev/null | grep -q SERVING && break
  sleep 0.5
done

node dist/lab/cli.js up

if ! alive "$WORKER_PID_FILE"; then
  echo "[demo] starting a worker (log: .data/worker.log)"
  # The lab's host-fault driver (host-loss, etcd-partition drills) is a module the worker loads.
  nohup node bin/api7-ha.js worker --fault-driver dist/lab/fault-driver.js >.data/worker.log 2>&1 &
  echo $! >"$WORKER_PID_FILE"
fi

node bin/api7-ha.js deploy -i .lab/inventory.yaml --wait
LB=$(node -e 'const y=require("yaml");const i=y.parse(require("fs").readFileSync(".lab/inventory.yaml","utf8"));console.log(i.hosts.find((h)=>h.roles.includes("load_balancer")).address)')
echo
echo "[demo] Everything is still running. Try:"
echo "  curl -H 'Host: test.com' http://$LB/get               # through the data plane load balancer"
echo "  node bin/api7-ha.js drill -i .lab/inventory.yaml --wait   # a measured HA drill"
echo "  node bin/api7-ha.js status deploy-lab                  # or watch / cancel / report"
echo "  Temporal UI: http://localhost:8233/namespaces/default/workflows"
echo "  npm run demo -- down                                   # stop everything"
