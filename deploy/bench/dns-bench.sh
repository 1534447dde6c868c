#!/usr/bin/env bash
# switchback's DNS authority against NSD, Knot, gdnsd and PowerDNS in one run.
#
#   deploy/bench/dns-bench.sh [UDP_SOCKETS] [SWITCH_SAMPLES] [SECS]
#
# Builds examples/dns_serve (release), prepares the zone and query mix of
# ../shared/bench/dns-peers.sh, starts dns_serve on 127.0.0.1:5399 (the zone's eight
# hot names served as switched services), prints the apply() -> first-answer latency
# over SWITCH_SAMPLES switches, then runs dns-peers.sh with switchback as an extra row.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/dns-peers.sh}
SOCKETS=${1:-$(nproc)}; SAMPLES=${2:-2000}; SECS=${3:-10}
W=$(mktemp -d /tmp/dnsbench.XXXX)
SERVER=""
cleanup() { if [ -n "$SERVER" ]; then kill -INT "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi; rm -rf "$W"; }
trap cleanup EXIT
(cd "$ROOT" && cargo build --release --example dns_serve)
bash "$PEERS" --prepare "$W/zone"
"$ROOT/target/release/examples/dns_serve" "$W/zone/boss.example.zone" 127.0.0.1:5399 "$SOCKETS" "$SAMPLES" >"$W/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q "^serving on" "$W/serve.log" && break; sleep 0.1; done
grep -E "^(apply|serving)" "$W/serve.log"
bash "$PEERS" --dir "$W/zone" --secs "$SECS" switchback=127.0.0.1:5399
