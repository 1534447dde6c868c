#!/bin/sh
# A switchback cluster on loopback, without root: a three-member etcd, three authorities
# (a1 at bj, a2 at sh, a3 at the arbiter; each also a probe, in its own failure domain) and
# the two stand-in sites they probe.
#
#   deploy/cluster/demo.sh up      # start everything, print where it listens
#   deploy/cluster/demo.sh down    # stop everything it started, remove its state
#
# Ports (fixed, 21000-21999): etcd clients 21379-21381, peers 21479-21481; authority DNS
# 21053-21055, admin 21530-21532; stand-in sites bj 21081, sh 21082 (POST /fail, /recover).
# State lives in ${SWITCHBACK_CLUSTER_DEMO:-/tmp/switchback-cluster-demo}.
#
# For benchmarks (deploy/bench/cluster.md): SWITCHBACK_CLUSTER_POLICY replaces crm's policy
# inline table; SWITCHBACK_CLUSTER_STORE=embedded starts no etcd and makes a1 the only
# authority (embedded store) with a2 and a3 probe-only nodes pushing their votes to it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
state=${SWITCHBACK_CLUSTER_DEMO:-/tmp/switchback-cluster-demo}
etcd=${ETCD:-etcd}
bin=${SWITCHBACK:-$root/target/release/switchback}
store=${SWITCHBACK_CLUSTER_STORE:-etcd}
policy=${SWITCHBACK_CLUSTER_POLICY:-'{ mode = "auto", quorum = 2, min_domains = 2, hold_down = "1s" }'}
case $store in etcd | embedded) ;; *) echo "SWITCHBACK_CLUSTER_STORE: etcd or embedded, not $store" >&2; exit 64 ;; esac
[ -x "$bin" ] || bin=$root/target/debug/switchback

stand_in() { # name port: /health 200 until POST /fail, 503 until POST /recover
    python3 - "$1" "$2" <<'PY' >"$state/site-$1.log" 2>&1 &
import http.server, sys
site, port, up = sys.argv[1], int(sys.argv[2]), [True]
class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.path == "/health":
            self.reply(200 if up[0] else 503, site + (" up" if up[0] else " down"))
        else:
            self.reply(404, "no")
    def do_POST(self):
        if self.path in ("/fail", "/recover"):
            up[0] = self.path == "/recover"; self.reply(200, site + (" up" if up[0] else " down"))
        else:
            self.reply(404, "no")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
    echo $! >>"$state/pids"
}

up() {
    if [ -e "$state/pids" ]; then
        echo "already up (state in $state); run: $0 down" >&2
        exit 1
    fi
    [ "$store" = embedded ] || command -v "$etcd" >/dev/null || { echo "etcd not found (apt-get install etcd-server)" >&2; exit 1; }
    [ -x "$bin" ] || { echo "build first: cargo build --release --features etcd" >&2; exit 1; }
    mkdir -p "$state"
    : >"$state/pids"
    cluster=m1=http://127.0.0.1:21479,m2=http://127.0.0.1:21480,m3=http://127.0.0.1:21481
    members=3
    [ "$store" = etcd ] || members=0
    for i in $(seq 1 $members); do
        c=$((21378 + i)) p=$((21478 + i))
        "$etcd" --name "m$i" --data-dir "$state/etcd-m$i" \
            --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
            --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
            --initial-cluster "$cluster" --initial-cluster-state new \
            --initial-cluster-token switchback-demo >"$state/etcd-m$i.log" 2>&1 &
        echo $! >>"$state/pids"
    done
    # Wait for each member to serve clients (bounded), so the authorities read the records.
    for i in $(seq 1 $members); do
        j=0
        until grep -q "serving client traffic\|ready to serve client requests" "$state/etcd-m$i.log" 2>/dev/null; do
            j=$((j + 1))
            [ $j -le 300 ] || { echo "etcd m$i did not start; see $state/etcd-m$i.log" >&2; exit 1; }
            sleep 0.1
        done
    done
    stand_in bj 21081
    stand_in sh 21082
    printf 'switchback-cluster-demo-vote-key\n' >"$state/votes.key"
    printf 'switchback-cluster-demo-token\n' >"$state/admin.token"
    sed -e 's/demo-app-bj/app-bj/' -e 's/18081/21081/' -e 's/18082/21082/' \
        "$root/deploy/demo/probes/demo.toml" >"$state/probes.toml"
    n=0
    for a in "a1 bj" "a2 sh" "a3 arb"; do
        set -- $a
        n=$((n + 1))
        mkdir -p "$state/$1"
        roles='"probe", "authority"' storecfg='kind = "etcd"
endpoints = ["http://127.0.0.1:21379", "http://127.0.0.1:21380", "http://127.0.0.1:21381"]
prefix = "/switchback-demo/"
lease_ttl = "3s"
request_timeout = "1s"' push=
        if [ "$store" = embedded ]; then
            storecfg='kind = "embedded"'
            [ "$1" = a1 ] || { roles='"probe"'; push='authorities = ["http://127.0.0.1:21530"]'; }
        fi
        cat >"$state/$1.toml" <<TOML
[node]
id = "$1"
site = "$2"
domain = "$2"
roles = [$roles]
state_dir = "$state/$1"

[store]
$storecfg

[votes]
$push
key_files = ["votes.key"]
stale_after = "3s"
voters = [{ id = "a1", domain = "bj" }, { id = "a2", domain = "sh" }, { id = "a3", domain = "arb" }]

[dns]
listen = ["127.0.0.1:$((21052 + n))"]
zones = ["$root/zones/boss.example.zone"]

[admin]
listen = "127.0.0.1:$((21529 + n))"
token_file = "admin.token"

[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

[sites.arb]
role = "arbiter"

[[service]]
name = "crm"
names = ["crm.boss.example."]
ttl = "30s"
degraded_ttl = "5s"
addresses = { bj = ["127.0.1.10"], sh = ["127.0.2.10"] }
probes = "probes.toml"
policy = $policy
TOML
        "$bin" serve -c "$state/$1.toml" >"$state/$1.log" 2>&1 &
        echo $! >>"$state/pids"
    done
    # Wait for each authority's own "node ready" line (bounded), never a fixed sleep.
    for a in a1 a2 a3; do
        i=0
        until grep -q "node ready" "$state/$a.log" 2>/dev/null; do
            i=$((i + 1))
            if [ $i -gt 300 ] || ! kill -0 "$(sed -n "$((members + 2 + ${a#a}))p" "$state/pids")" 2>/dev/null; then
                echo "authority $a did not start; see $state/$a.log" >&2
                tail -n 20 "$state/$a.log" >&2
                exit 1
            fi
            sleep 0.1
        done
    done
    for n in 1 2 3; do
        [ "$store" = etcd ] || [ $n = 1 ] || { echo "probe a$n"; continue; }
        echo "authority a$n dns=127.0.0.1:$((21052 + n)) admin=http://127.0.0.1:$((21529 + n))"
    done
    echo "sites bj=http://127.0.0.1:21081 sh=http://127.0.0.1:21082"
}

down() {
    if [ -e "$state/pids" ]; then
        # Authorities first (they resign), then the stand-ins and etcd.
        tac "$state/pids" | while read -r pid; do kill "$pid" 2>/dev/null || true; done
        tac "$state/pids" | while read -r pid; do
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
            kill -9 "$pid" 2>/dev/null || true
        done
    fi
    rm -rf "$state"
}

case "${1:-}" in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 64 ;;
esac
