#!/usr/bin/env bash
# Issue #13's slow-client load on DNS over TCP, against switchback and NSD on the same zone:
#
#   deploy/bench/dns-slow-clients.sh [CONNS] [SECONDS] [SOURCES]   (defaults 600, 40, 1)
#
# CONNS attacker connections (from SOURCES addresses 127.0.0.2, .3, ...) each send a 4-byte
# garbage frame every 8 s and reopen at once when closed. Meanwhile a legitimate client on
# 127.0.0.1 asks one TCP query per second (2 s timeout), and one UDP query for comparison.
# Prints answered/asked for each server. Ports 25053 (switchback) and 25054 (NSD).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CONNS=${1:-600}
SECS=${2:-40}
SOURCES=${3:-1}
BIN=${BIN:-$ROOT/target/release/switchback}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release --features etcd --bin switchback >/dev/null 2>&1)
W=$(mktemp -d /tmp/s13-slow.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

# switchback: the demo config with DNS moved to 25053 and the admin API to 25530.
SWITCHBACK__NODE__STATE_DIR="$W/state" SWITCHBACK__DNS__LISTEN=127.0.0.1:25053 \
  SWITCHBACK__ADMIN__LISTEN=127.0.0.1:25530 SWITCHBACK__NODE__ROLES=authority \
  "$BIN" serve -c "$ROOT/deploy/demo/switchback.toml" >"$W/node.log" 2>&1 &
PIDS+=($!)
# NSD: the same zone file.
cp "$ROOT/zones/boss.example.zone" "$W/boss.example.zone"
cat >"$W/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@25054
  zonesdir: "$W"
  username: ""
  chroot: ""
  pidfile: "$W/nsd.pid"
  xfrdfile: "$W/xfrd.state"
  zonelistfile: "$W/zone.list"
  database: ""
  logfile: "$W/nsd.log"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: boss.example.
  zonefile: boss.example.zone
EOF
/usr/sbin/nsd -d -c "$W/nsd.conf" &
PIDS+=($!)
for port in 25053 25054; do
  for _ in $(seq 100); do dig +short +time=1 +tries=1 @127.0.0.1 -p $port boss.example SOA >/dev/null 2>&1 && break; sleep 0.1; done
done

for target in "switchback 25053" "nsd 25054"; do
  set -- $target
  python3 - "$2" "$CONNS" "$SECS" "$SOURCES" "$1" <<'PY'
import random, selectors, socket, struct, sys, threading, time
port, conns, secs, sources, name = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
stop = time.time() + secs
opened = 0
def attack():
    global opened
    sel = selectors.DefaultSelector()
    def one(i, first=False):
        global opened
        s = socket.socket(); s.setblocking(False)
        s.bind((f"127.0.0.{2 + i % sources}", 0))
        try: s.connect(("127.0.0.1", port))
        except BlockingIOError: pass
        except OSError: s.close(); return
        # Slow: the first garbage frame 8 s after connecting (spread at the start).
        sel.register(s, selectors.EVENT_READ, [i, time.time() + (8 * (i / conns) if first else 8)])
        opened += 1
    for i in range(conns): one(i, True)
    while time.time() < stop:
        now = time.time()
        for key in list(sel.get_map().values()):
            if now >= key.data[1]:
                try: key.fileobj.send(b"\x00\x02\xde\xad")
                except OSError: pass
                key.data[1] = now + 8
        for key, ev in sel.select(timeout=0.05):
            try: data = key.fileobj.recv(4096)
            except OSError: data = b""
            if not data:
                i = key.data[0]
                sel.unregister(key.fileobj); key.fileobj.close(); one(i)
    for key in list(sel.get_map().values()): key.fileobj.close()
t = threading.Thread(target=attack); t.start()
time.sleep(2)
q = struct.pack(">HHHHHH", 0x4242, 0, 1, 0, 0, 0) + b"\x06portal\x04boss\x07example\x00\x00\x01\x00\x01"
tcp_ok = tcp_n = udp_ok = udp_n = 0
while time.time() < stop - 2:
    tcp_n += 1
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.settimeout(2); s.sendall(struct.pack(">H", len(q)) + q)
        hdr = s.recv(2)
        if len(hdr) == 2 and s.recv(4096)[:2] == b"\x42\x42": tcp_ok += 1
        s.close()
    except OSError: pass
    udp_n += 1
    try:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
        u.sendto(q, ("127.0.0.1", port)); u.recv(4096); udp_ok += 1; u.close()
    except OSError: pass
    time.sleep(1)
t.join()
print(f"{name}: TCP answered {tcp_ok}/{tcp_n}, UDP {udp_ok}/{udp_n}; attacker connections opened {opened} from {sources} source(s)")
PY
done
