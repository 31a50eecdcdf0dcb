#!/usr/bin/env bash
# The vendor's HA runbook (api7-ee-2.13-high-availability.zh.txt) as the plain shell script an operator
# writes first: step by step, one host after another, a fresh `ssh`/`scp` per command, no checks
# beyond the runbook's own. The baseline `npm run bench` compares api7-ha with. Written from the runbook,
# not from api7-ha's builders.
#
# Environment (bench/run.ts sets it from the lab): ETCD_IPS, CP_IPS, DP_IPS (space-separated), LB_IP,
# UPSTREAM (ip:port), CLUSTER_ID, SSH_KEY, KNOWN_HOSTS, ETCD_TAR, HAPROXY_TAR, CP_PKG, DP_PKG,
# SECRET_FILE, ADMIN_PASSWORD_FILE.
set -euo pipefail

SSH_OPTS=(-i "$SSH_KEY" -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN_HOSTS" -o BatchMode=yes -o LogLevel=ERROR)
on() { local ip=$1; shift; ssh "${SSH_OPTS[@]}" "root@$ip" "$@"; }
copy() { scp -q "${SSH_OPTS[@]}" "$1" "root@$2:$3"; }
step() { echo "[runbook $(date +%T)] $*"; }

read -r -a etcd <<<"$ETCD_IPS"
ha_ip1=${etcd[0]}; ha_ip2=${etcd[1]}; ha_ip3=${etcd[2]}
SECRET=$(cat "$SECRET_FILE")
ADMIN_PASSWORD=$(cat "$ADMIN_PASSWORD_FILE")

# --- etcd HA: steps 1-3 on each of the three etcd nodes -----------------------------------------
n=0
for ip in "${etcd[@]}"; do
  n=$((n + 1))
  step "etcd on $ip"
  copy "$ETCD_TAR" "$ip" /root/etcd.tar.gz
  on "$ip" "docker load < /root/etcd.tar.gz" >/dev/null
  on "$ip" "sudo mkdir -p /usr/local/etcd/etcd_data"
  on "$ip" "sudo docker run --restart always --name etcd -u root -v /usr/local/etcd/etcd_data:/etcd_data -e ALLOW_NONE_AUTHENTICATION=yes -e ETCD_NAME=api7-etcd-$n -e ETCD_LISTEN_PEER_URLS=http://0.0.0.0:2380 -e ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379 -e ETCD_ADVERTISE_CLIENT_URLS=http://$ip:2379 -e ETCD_INITIAL_ADVERTISE_PEER_URLS=http://$ip:2380 -e ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster -e ETCD_INITIAL_CLUSTER=api7-etcd-1=http://$ha_ip1:2380,api7-etcd-2=http://$ha_ip2:2380,api7-etcd-3=http://$ha_ip3:2380 -e ETCD_DATA_DIR=/etcd_data -e ETCD_ENABLE_V2=true --network=host -d bitnami/etcd:3.4.13" >/dev/null
done

# Step 4: check the members' health (until all three answer).
step "etcd health"
until [ "$(on "$ha_ip1" "docker exec etcd bash -c \"etcdctl --endpoints $ha_ip1:2379,$ha_ip2:2379,$ha_ip3:2379 endpoint health\"" 2>&1 | grep -c 'is healthy')" = 3 ]; do sleep 1; done

# --- control plane: steps 2-5 on each dashboard node --------------------------------------------
cp_dir=$(basename "$CP_PKG" .tar.gz)
for ip in $CP_IPS; do
  step "dashboard on $ip"
  copy "$CP_PKG" "$ip" "/root/$cp_dir.tar.gz"
  on "$ip" "cd /root && tar -zxvf $cp_dir.tar.gz" >/dev/null
  on "$ip" "cd /root/$cp_dir && docker load < images/\$(ls images)" >/dev/null
  on "$ip" "cat > /root/$cp_dir/dashboard_conf/conf.yaml" <<EOF
conf:
  listen:
    host: 0.0.0.0
    port: 9000
  etcd:
    name: "default"
    endpoints:
      - $ha_ip1:2379
      - $ha_ip2:2379
      - $ha_ip3:2379
    enable_auth: false
    mtls:
      enable: false
    prefix: /api7
authentication:
  secret: $SECRET
  expire_time: 3600
  users:
    - username: admin
      password: $ADMIN_PASSWORD
EOF
  on "$ip" "cd /root/$cp_dir && docker compose up api7-dashboard -d" 2>/dev/null
  until on "$ip" "docker logs \$(docker ps -q --filter label=com.docker.compose.service=api7-dashboard) 2>&1 | grep -q 'The manager-api is running successfully!'"; do sleep 1; done
done

# --- data plane: steps 2-5 on each gateway node -------------------------------------------------
dp_dir=$(basename "$DP_PKG" .tar.gz)
for ip in $DP_IPS; do
  step "gateway on $ip"
  copy "$DP_PKG" "$ip" "/root/$dp_dir.tar.gz"
  on "$ip" "cd /root && tar -zxvf $dp_dir.tar.gz" >/dev/null
  on "$ip" "cd /root/$dp_dir && docker load < images/\$(ls images)" >/dev/null
  on "$ip" "cat > /root/$dp_dir/gateway_conf/config.yaml" <<EOF
etcd:
  host:
    - "http://$ha_ip1:2379"
    - "http://$ha_ip2:2379"
    - "http://$ha_ip3:2379"
  prefix: /api7/$CLUSTER_ID
apisix:
  node_listen: 80
  ssl:
    enable: true
    listen_port: 443
EOF
  on "$ip" "cd /root/$dp_dir && docker compose up -d" 2>/dev/null
done

# --- the load balancers in front ("any load balancer product") -----------------------------------
step "load balancer on $LB_IP"
copy "$HAPROXY_TAR" "$LB_IP" /root/haproxy.tar.gz
on "$LB_IP" "docker load < /root/haproxy.tar.gz" >/dev/null
{
  printf 'defaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
  printf 'frontend cp\n  bind :9000\n  default_backend dashboards\nbackend dashboards\n'
  for ip in $CP_IPS; do printf '  server %s %s:9000 check\n' "$ip" "$ip"; done
  printf 'frontend dp\n  bind :80\n  default_backend gateways\nbackend gateways\n'
  for ip in $DP_IPS; do printf '  server %s %s:80 check\n' "$ip" "$ip"; done
} | on "$LB_IP" "mkdir -p /root/haproxy && cat > /root/haproxy/haproxy.cfg"
on "$LB_IP" "docker run -d --restart always --name lb --network=host -v /root/haproxy:/usr/local/etc/haproxy:ro api7-ha/haproxy:2.6" >/dev/null

# --- "create a cluster and test": a route through the console, then the runbook's curl ----------
step "route and check"
token=""
until [ -n "$token" ]; do
  token=$(curl -s -X POST "http://$LB_IP:9000/api/user/login" -d "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p') || true
  [ -n "$token" ] || sleep 1
done
until curl -sf -X PUT -H "Authorization: $token" "http://$LB_IP:9000/api/clusters/$CLUSTER_ID/routes/test-com" \
  -d "{\"uri\":\"/get\",\"host\":\"test.com\",\"upstream\":{\"type\":\"roundrobin\",\"nodes\":{\"$UPSTREAM\":1}}}" >/dev/null; do sleep 1; done
until curl -sf "http://$LB_IP/get" -H "Host: test.com" | grep -q '"url"'; do sleep 0.5; done
step "done"
