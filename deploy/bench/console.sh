#!/usr/bin/env bash
# The operator's console under load: dashboard page weight and refresh cost with 100 services
# and 10 probe nodes, and a drill's measured network-layer RTO.
#
#   deploy/bench/console.sh [REFRESHES] [DRILLS]
#
# Builds the release binary and runs on loopback (ports 26000-26999, helper s14's range): two
# stand-in sites (python http.server), one authority with 100 services (crm000..crm099, DNS on
# 26053, admin on 26530) and 10 probe-only nodes p01..p10 (one failure domain each) that sign
# and push their observations to it. Then it measures, with curl, the page (`GET /`), a full
# dashboard refresh (`GET /v1/dashboard`, 200 + body) and a steady refresh (`If-None-Match`,
# 304, no body) REFRESHES times each, and runs DRILLS drills of crm000 (hold 1s), printing
# each report's RTO. Everything is torn down on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-300}
DRILLS=${2:-5}
W=$(mktemp -d /tmp/s14-console-bench.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
(cd "$ROOT" && cargo build --release --features etcd --bin switchback >/dev/null 2>&1)
BIN="$ROOT/target/release/switchback"
ADMIN=http://127.0.0.1:26530

mkdir -p "$W/bj" "$W/sh" "$W/probes"
echo ok >"$W/bj/health"; echo ok >"$W/sh/health"
(cd "$W/bj" && exec python3 -m http.server 26081 --bind 127.0.0.1 >/dev/null 2>&1) & PIDS+=($!)
(cd "$W/sh" && exec python3 -m http.server 26082 --bind 127.0.0.1 >/dev/null 2>&1) & PIDS+=($!)
echo bench-token >"$W/admin.token"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/votes.key"
for site in bj sh; do
  port=$([ $site = bj ] && echo 26081 || echo 26082)
  cat >>"$W/probes/app.toml" <<EOT
[[check]]
name = "app-$site"
site = "$site"
layer = "app"
kind = "http"
url = "http://127.0.0.1:$port/health"
expect_status = [200]
interval = "1s"
timeout = "500ms"
rise = 1
fall = 2

EOT
done
cp "$ROOT/zones/boss.example.zone" "$W/"
voters=$(for i in $(seq -w 1 10); do printf '{ id = "p%s", domain = "d%s" }, ' "$i" "$i"; done)
common() { # $1 = node id, $2 = roles, $3 = admin port
  cat <<EOT
[node]
id = "$1"
site = "bj"
domain = "d${1#p}"
roles = $2
state_dir = "$W/state-$1"

[store]
kind = "embedded"

[votes]
key_files = ["votes.key"]
stale_after = "5s"
voters = [ $voters ]
authorities = ["$ADMIN"]

[log]
format = "text"
level = "warn"

[admin]
listen = "127.0.0.1:$3"
token_file = "admin.token"

[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

EOT
  for s in $(seq -w 0 99); do
    cat <<EOT
[[service]]
name = "crm0$s"
names = ["crm0$s.boss.example."]
addresses = { bj = ["127.0.1.$((10#$s + 1))"], sh = ["127.0.2.$((10#$s + 1))"] }
probes = "probes/app.toml"
policy = { mode = "auto", quorum = 6, min_domains = 3, hold_down = "2s", failback = "manual" }

EOT
  done
}
{ common auth '["authority"]' 26530 | sed 's/^domain = "dauth"/domain = "auth"/'
  printf '[dns]\nlisten = ["127.0.0.1:26053"]\nzones = ["boss.example.zone"]\n'; } >"$W/auth.toml"
"$BIN" check -c "$W/auth.toml" >/dev/null
"$BIN" serve -c "$W/auth.toml" >"$W/auth.log" 2>&1 & PIDS+=($!)
for i in $(seq -w 1 10); do
  common "p$i" '["probe"]' "266$i" >"$W/p$i.toml"
  "$BIN" serve -c "$W/p$i.toml" >"$W/p$i.log" 2>&1 & PIDS+=($!)
done
# Ready when all ten probes count and crm000's backup is up (a drill refuses a target not up).
for _ in $(seq 300); do
  d=$(curl -sf "$ADMIN/v1/dashboard" 2>/dev/null || true)
  if [ -n "$d" ] && [ "$(echo "$d" | jq '[.votes.nodes[] | select(.state=="counting")] | length')" = 10 ] &&
     [ "$(echo "$d" | jq -r '.services[0].sites.sh.verdict')" = up ]; then break; fi
  sleep 0.2
done
echo "services: $(curl -sf $ADMIN/v1/status | jq '.services | length'), counting probes: $(curl -sf $ADMIN/v1/votes | jq '[.nodes[] | select(.state=="counting")] | length')"

stats() { sort -n | awk '{a[NR]=$1} END {printf "p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms (n=%d)\n", a[int(NR*.5)]*1000, a[int(NR*.9)]*1000, a[int(NR*.99)]*1000, a[NR]*1000, NR}'; }
page=$(curl -s -o /dev/null -w '%{size_download}' "$ADMIN/")
doc=$(curl -s -o /dev/null -w '%{size_download}' "$ADMIN/v1/dashboard")
gz=$(curl -s "$ADMIN/v1/dashboard" | gzip -9 | wc -c)
echo "page weight: HTML $page bytes; dashboard document $doc bytes ($gz gzipped, the API does not compress)"
echo -n "full refresh (200, body):        "
for _ in $(seq "$N"); do curl -s -o /dev/null -w '%{time_total}\n' "$ADMIN/v1/dashboard"; done | stats
echo -n "steady refresh (304, no body):   "
ok=0; times=()
for _ in $(seq "$N"); do
  tag=$(curl -s -D - -o /dev/null "$ADMIN/v1/dashboard" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
  curl -s -o /dev/null -w '%{time_total} %{http_code}\n' -H "If-None-Match: $tag" "$ADMIN/v1/dashboard"
done >"$W/cond"
awk '{print $1}' "$W/cond" | stats
echo "  304 share: $(awk '$2==304' "$W/cond" | wc -l)/$N (a 200 means a vote arrived between the two requests)"
echo -n "GET /metrics:                    "
for _ in $(seq 50); do curl -s -o /dev/null -w '%{time_total}\n' "$ADMIN/metrics"; done | stats
echo "metrics page: $(curl -s $ADMIN/metrics | wc -c) bytes"
echo "authority CPU after the run: $(ps -o cputime= -p "${PIDS[2]}") (ps cputime)"
for i in $(seq "$DRILLS"); do
  "$BIN" drill crm000 --hold 1s --by bench --admin "$ADMIN" --token-file "$W/admin.token" --json >"$W/drill$i.json"
  jq -r '.drill | "drill \(.id): \(.outcome) rto \(.rto_ms) ms, back \(.back_rto_ms) ms; \(.phases | map("\(.name) \(.took_ms) ms") | join(", "))"' "$W/drill$i.json"
done
