#!/usr/bin/env bash
# CPU of a node while its alert sinks are down (release build).
#
#   deploy/bench/alert-sink-down-cpu.sh [SECONDS] [PENDING]
#
# One authority (no probes, embedded store) with two webhook sinks that are down: one whose
# port refuses connections, one that accepts and never answers (timeout 10 s). It first
# measures SECONDS/10 idle (no alert pending) as a baseline, then switches PENDING services
# (default 20) to sh so each sink has PENDING alerts queued behind a head that is retried
# with backoff (capped at 60 s), and measures the node's CPU time (utime+stime from
# /proc/PID/stat) over SECONDS (default 600). Prints CPU seconds, % of one core, delivery
# attempts logged and the spool's size.
# Ports: 23153 (DNS), 23630 (admin), 23181 (refusing: nothing listens), 23182 (hanging).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-600}
N=${2:-20}
W=$(mktemp -d /tmp/alertcpu.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
(cd "$ROOT" && cargo build --release --features etcd --bin switchback >/dev/null 2>&1)
BIN="$ROOT/target/release/switchback"
mkdir -p "$W/probes" && : >"$W/probes/none.toml"
echo "bench-token" >"$W/admin.token"
printf '$ORIGIN boss.example.\n$TTL 300\n@ IN SOA ns1 noc 1 3600 600 86400 10\n@ IN NS ns1\nns1 IN A 127.0.0.1\n' >"$W/boss.zone"
{
  printf '[node]\nid = "bench-cpu"\nsite = "bj"\nroles = ["authority"]\nstate_dir = "%s/state"\n\n' "$W"
  printf '[dns]\nlisten = ["127.0.0.1:23153"]\nzones = ["boss.zone"]\n\n'
  printf '[admin]\nlisten = "127.0.0.1:23630"\ntoken_file = "admin.token"\n\n'
  printf '[sites.bj]\nrole = "primary"\n\n[sites.sh]\nrole = "backup"\n\n'
  for i in $(seq "$N"); do
    printf '[[service]]\nname = "svc%d"\nnames = ["svc%d.boss.example."]\n' "$i" "$i"
    printf 'addresses = { bj = ["127.0.1.10"], sh = ["127.0.2.10"] }\nprobes = "probes/none.toml"\n'
    printf 'policy = { mode = "manual" }\n\n'
  done
  printf '[[alert]]\nname = "refused"\nkind = "webhook"\nurl = "http://127.0.0.1:23181/hook"\n\n'
  printf '[[alert]]\nname = "hanging"\nkind = "webhook"\nurl = "http://127.0.0.1:23182/hook"\ntimeout = "10s"\n'
} >"$W/switchback.toml"
# The hanging receiver: accepts, reads, never answers.
python3 - <<'PY' &
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 23182)); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
PY
PIDS+=($!)
"$BIN" serve -c "$W/switchback.toml" >"$W/node.log" 2>&1 &
NODE=$!
PIDS+=($NODE)
for _ in $(seq 100); do grep -q 'node ready' "$W/node.log" && break; sleep 0.1; done
cpu() { awk '{print $14 + $15}' "/proc/$NODE/stat"; }
TCK=$(getconf CLK_TCK)
BASE=$((SECS / 10))
c0=$(cpu); sleep "$BASE"; c1=$(cpu)
echo "baseline, nothing pending: $(echo "scale=3; ($c1 - $c0) / $TCK" | bc) s CPU in ${BASE} s ($(echo "scale=3; 100 * ($c1 - $c0) / $TCK / $BASE" | bc) % of a core)"
for i in $(seq "$N"); do
  "$BIN" switch "svc$i" --to sh --reason "bench" --force --admin http://127.0.0.1:23630 \
    --token-file "$W/admin.token" >/dev/null
done
c0=$(cpu); sleep "$SECS"; c1=$(cpu)
echo "two sinks down, $N alerts pending each: $(echo "scale=3; ($c1 - $c0) / $TCK" | bc) s CPU in ${SECS} s ($(echo "scale=3; 100 * ($c1 - $c0) / $TCK / $SECS" | bc) % of a core)"
echo "retry log lines (first failure, then every 10th): $(grep -c 'alert delivery failed' "$W/node.log")"
echo "RSS: $(awk '/VmRSS/ {print $2, $3}' "/proc/$NODE/status"); spool: $(du -sh "$W/state/alerts" | cut -f1)"
