#!/usr/bin/env bash
# Committed decision → first DNS answer with the new address, through the whole node.
#
#   deploy/bench/commit-to-answer.sh [SWITCHES]
#
# Builds the release binary, runs the loopback demo (`switchback serve`, state in a temp dir,
# JSON logs), and while a client asks 127.0.0.1:5353 for crm.boss.example back to back it
# switches crm between bj and sh SWITCHES times with `switchback switch`. For each switch it
# pairs the node's "decision committed" log time with the client's receive time of the first
# answer carrying the new address (same machine, same wall clock), and prints percentiles of
# committed → swapped (the node's own log) and committed → first answer.
# Uses ports 5353, 9530, 18081-18082, like the demo; stop a running demo first.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-50}
W=$(mktemp -d /tmp/commit2answer.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
(cd "$ROOT" && cargo build --release --bin switchback >/dev/null 2>&1)
BIN="$ROOT/target/release/switchback"
SWITCHBACK__NODE__STATE_DIR="$W/state" SWITCHBACK__LOG__FORMAT=json ${WRAP:-} "$BIN" serve >"$W/node.log" 2>&1 &
PIDS+=($!)
# Ready when the probes see both sites up (a switch to an unseen site is refused).
for _ in $(seq 100); do
  curl -sf http://127.0.0.1:9530/v1/status 2>/dev/null | grep -q '"sh":{[^}]*"verdict":"up"' && break; sleep 0.1; done
# The client: one query in flight, paced (PACE_US between answer and next query, default 50)
# so that it does not keep a core and the UDP thread busy; each change of answer is logged
# with its receive time (wall clock). PACE_US=0 asks back to back.
python3 - "$W/answers" "${PACE_US:-50}" <<'PY' &
import socket, struct, sys, time
out = open(sys.argv[1], "w", buffering=1)
pace = int(sys.argv[2]) / 1e6
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("127.0.0.1", 5353)); s.settimeout(1)
q = b"crm\x04boss\x07example\x00"
last = None; qid = 0
while True:
    qid = (qid + 1) & 0xffff
    s.send(struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + bytes([3]) + q + b"\x00\x01\x00\x01")
    try:
        r = s.recv(512)
    except OSError:  # a timeout, or the node going away at the end
        continue
    t = time.time()
    ip = ".".join(str(b) for b in r[-4:]) if struct.unpack(">H", r[6:8])[0] else "-"
    if ip != last:
        out.write(f"{t:.6f} {ip}\n"); last = ip
    if pace:
        time.sleep(pace)
PY
PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/answers" ] && break; sleep 0.1; done
for i in $(seq "$N"); do
  to=$([ $((i % 2)) -eq 1 ] && echo sh || echo bj)
  "$BIN" switch crm --to "$to" --reason "bench $i" --token-file "$ROOT/deploy/demo/admin.token" >/dev/null
  sleep 0.2
done
python3 - "$W/node.log" "$W/answers" <<'PY'
import json, sys, datetime
want = {"sh": "127.0.2.10", "bj": "127.0.1.10"}
def ts(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
commits, swaps = [], {}
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    f = e.get("fields", {})
    if f.get("message") == "decision committed" and f.get("service") == "crm" and f.get("epoch") != "1":
        commits.append((ts(e["timestamp"]), want[f["active_site"]], f["epoch"]))
    # Older builds log the swap only; newer ones also log "enacted" with the epoch.
    if f.get("message") == "enacted" and f.get("service") == "crm":
        swaps[f["epoch"]] = ts(e["timestamp"])
    if f.get("message") == "dns snapshot swapped":
        swaps.setdefault(("t", len(swaps)), ts(e["timestamp"]))
answers = [(float(t), ip) for t, ip in (l.split() for l in open(sys.argv[2]))]
# Pair by epoch, not by order in time: the enactor follows the store's watch and may swap (and
# the client see the new answer) before the decision loop has written its "committed" line, so
# a delta can be slightly negative. An answer counts for a commit if it came after the previous
# commit's line (the switches are 200 ms apart).
to_swap, to_answer = [], []
untagged = sorted(v for k, v in swaps.items() if isinstance(k, tuple))
for i, (t, ip, epoch) in enumerate(commits):
    prev = commits[i - 1][0] if i else 0
    s = swaps.get(epoch)
    if s is None:
        s = next((x for x in untagged if x >= t), None)
    a = next((x for x, got in answers if x > prev and got == ip), None)
    if s is not None: to_swap.append((s - t) * 1e6)
    if a is not None: to_answer.append((a - t) * 1e6)
print("slowest committed->answered (us):", " ".join(f"{x:.0f}" for x in sorted(to_answer)[-5:]))
def pct(v, p): v = sorted(v); return v[round((len(v) - 1) * p)]
for label, v in (("committed->swapped", to_swap), ("committed->answered", to_answer)):
    if not v: print(f"{label:<20} no samples"); continue
    print(f"{label:<20} n={len(v)} p50={pct(v,.5):.0f}us p90={pct(v,.9):.0f}us p99={pct(v,.99):.0f}us max={max(v):.0f}us")
PY
