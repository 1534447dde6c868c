#!/usr/bin/env bash
# Route enactment figures (root: network namespaces named s10*, created and deleted by the
# benches themselves).
#
#   deploy/bench/route.sh [SWITCHES]      # default 100
#
# 1. Switch latency (tests/integration/route_bench.rs, s10_bench_switch_latency): the edge lab
#    of the route tests (client, edge router, sites bj and sh on one LAN, an upstream router),
#    real BIRD 2 in the edge and upstream namespaces (deploy/bird/*.conf), the release
#    `switchback` in the edge namespace, a client sending a UDP datagram to the VIP every
#    100 µs. SWITCHES operator switches of crm between bj and sh; for each, the node's own log
#    timestamps give committed → route replaced, and the first datagram at the new site and
#    the upstream kernel's route change (`ip monitor route` in the upstream namespace) are
#    mapped onto the same wall clock.
# 2. Reconcile cost (s10_bench_reconcile_scale): the route enactor in-process in a namespace
#    with 1,000 and 10,000 route-mode VIPs: install, switch all, a resync with nothing to do,
#    and restore after `ip route flush proto 57`; wall time, CPU (user+sys of the enacting
#    thread, which also runs the netlink socket) and netlink requests.
# Results: deploy/bench/route.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
cargo build --release --features etcd --bin switchback >/dev/null
export S10_BIN="$ROOT/target/release/switchback"
export S10_SWITCHES="${1:-100}"
cargo test --release --features etcd --test integration s10_bench -- --ignored --nocapture --test-threads=1 2>&1 |
  grep -E '^(route switch|switch request|committed|route enactor| *[0-9]+ VIPs)'
