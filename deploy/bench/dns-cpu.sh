#!/usr/bin/env bash
# (comm may hold spaces, e.g. "nsd: server 1", so /proc/PID/stat is cut after its last ')'.)
# Server CPU per query: the same zone and query mix as dns-peers.sh, one server at a time,
# reading the server's utime+stime from /proc around a dnsperf run. On a loaded 2-core box
# dnsperf itself is often the bottleneck, so queries/s alone under-states a fast server;
# CPU microseconds per answered query compares the servers' own cost.
#
#   deploy/bench/dns-cpu.sh [SECS] [UDP_SOCKETS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/dns-peers.sh}
SECS=${1:-5}; SOCKETS=${2:-$(nproc)}
W=$(mktemp -d /tmp/dnscpu.XXXX)
PID=""
stop() { if [ -n "$PID" ]; then kill -INT "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi; }
trap 'stop; rm -rf "$W"' EXIT
(cd "$ROOT" && cargo build --release --example dns_serve >/dev/null 2>&1)
bash "$PEERS" --prepare "$W/zone" >/dev/null
tree() { local p; echo "$1"; for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$p"; done; }
ticks() { # utime+stime of a process and all its descendants (NSD serves from a child)
  local t=0 p; for p in $(tree "$1"); do
    t=$(( t + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12+$13}' || echo 0) )); done; echo "$t"; }
measure() { # name port
  dig +short +time=1 +tries=5 -p "$2" @127.0.0.1 crm.boss.example A >/dev/null
  local t0 q qps; t0=$(ticks "$PID")
  out=$(dnsperf -s 127.0.0.1 -p "$2" -d "$W/zone/queries.txt" -l "$SECS" -c 8 -q 200 2>&1)
  q=$(echo "$out" | awk '/Queries completed/{print $3}'); qps=$(echo "$out" | awk '/Queries per second/{printf "%.0f", $4}')
  local cpu=$(( $(ticks "$PID") - t0 )); local hz; hz=$(getconf CLK_TCK)
  awk -v n="$1" -v c="$cpu" -v hz="$hz" -v q="$q" -v qps="$qps" \
    'BEGIN{printf "%-12s %10s q/s %12s answered  %6.2f us CPU/query\n", n, qps, q, c/hz*1e6/q}'
}
cat > "$W/nsd.conf" <<C
server:
  ip-address: 127.0.0.1@5311
  username: ""
  zonesdir: "$W/zone"
  pidfile: "$W/nsd.pid"
  xfrdfile: "$W/xfrd.state"
  zonelistfile: "$W/zone.list"
  database: ""
  server-count: 1
  verbosity: 0
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: boss.example
  zonefile: boss.example.zone
C
nsd -d -c "$W/nsd.conf" >"$W/nsd.log" 2>&1 & PID=$!; sleep 1; measure nsd 5311; stop
mkdir -p "$W/knot"
cat > "$W/knot.conf" <<C
server:
  rundir: "$W/knot"
  listen: 127.0.0.1@5312
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: "$W/knot"
zone:
  - domain: boss.example
    file: "$W/zone/boss.example.zone"
    storage: "$W/knot"
log:
  - target: stderr
    any: error
C
knotd -c "$W/knot.conf" >"$W/knot.log" 2>&1 & PID=$!; sleep 1; measure knot 5312; stop
"$ROOT/target/release/examples/dns_serve" "$W/zone/boss.example.zone" 127.0.0.1:5313 "$SOCKETS" 0 >"$W/sb.log" 2>&1 & PID=$!
sleep 1; measure switchback 5313; stop
