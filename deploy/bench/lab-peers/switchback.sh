#!/usr/bin/env bash
# failover-lab adapter for switchback, kept in the project (the lab's own peers/switchback.sh
# predates presets). Use: PEERS_DIR=deploy/bench/lab-peers ../shared/failover-lab/run.sh switchback:fast ...
# One node in the edge namespace (probe + authority, embedded store, state wiped per start);
# it checks both sites itself and answers $FL_NAME from its own DNS on $FL_DNS_ADDR:$FL_DNS_PORT.
#
# Checks per site (pri = primary, bak = backup), as an operator would write them:
#   app  : http GET http://<site addr>:$FL_APP_PORT$FL_HEALTH_PATH (Host: $FL_NAME), expect 200
#   host : icmp echo to the site address
#   link : iface carrier of the edge's transit interface to the site (e-pri / e-bak)
# Timing: one word, the preset (src/config/presets.rs), in every check and in the policy;
# no other timing key is written. Policy: mode auto, quorum 1, min_domains 1 (one node),
# failback auto (the preset's failback_hold).
#
# Profiles: default (no preset key: `standard` applies), lan, fast, standard, wan.
set -euo pipefail
cmd=${1:?}; profile=${2:-default}; role=${3:-edge}
BIN=${SUT_BIN:-switchback}

# Preset figures in ms (mirrors src/config/presets.rs; used only for the lab's wait bounds):
# IV interval, FIV fast_interval, TO timeout, JIT jitter, FALL, SIL silence, HD hold_down, FBH failback_hold
knobs() {
  case $profile in
    default|standard) P=standard IV=1000 FIV=1000 TO=500 JIT=100 FALL=3 SIL=5 HD=1000 FBH=600000 ;;
    lan)  P=lan  IV=50   FIV=10  TO=25   JIT=5   FALL=2 SIL=20 HD=50   FBH=30000 ;;
    fast) P=fast IV=100  FIV=20  TO=50   JIT=10  FALL=2 SIL=15 HD=100  FBH=30000 ;;
    wan)  P=wan  IV=2000 FIV=500 TO=1000 JIT=200 FALL=3 SIL=6  HD=5000 FBH=1800000 ;;
    *) echo "switchback: unknown profile $profile" >&2; exit 2 ;;
  esac
}
s() { awk "BEGIN{print $1/1000}"; }
# LAB_FAILBACK_HOLD (ms): write failback_hold explicitly so reps of the slow presets finish
# (standard waits 10 min, wan 30 min before failing back); detection does not depend on it.
fbh() { knobs; FBH=${LAB_FAILBACK_HOLD:-$FBH}; }

case $cmd in
deps) echo "" ;;
version) echo "$("$BIN" --version 2>/dev/null | head -1) ($BIN)" ;;
profiles) echo "default lan fast standard wan" ;;
meta)
  fbh
  # worst cases: definitive = interval + (fall-1) fast + jitter*fall + timeout; black hole =
  # interval + silence * (timeout + jitter); + hold_down, + margin
  DET=$(awk "BEGIN{d=$IV + $FIV*($FALL-1) + $JIT*$FALL + $TO; b=$IV + $SIL*($TO+$JIT); print (d>b?d:b)}")
  echo "PROBES=dns"
  echo "PROCS=edge"
  echo "LINK_IF=pri-e"
  echo "JITTER=$(s $IV)"
  echo "WARMUP_MAX=30"
  echo "SWITCH_MAX=$(awk "BEGIN{print int(($DET + $HD)/1000) + 15}")"
  echo "BACK_MAX=$(awk "BEGIN{print int(($IV*60 + $FBH)/1000) + 15}")"
  echo "HOLD=3"
  if [ "$profile" = default ]; then t="no preset key (standard applies)"; else t="preset = \"$P\" in every check and the policy"; fi
  echo "SETTINGS=1 node (probe+authority, embedded store, state wiped per rep); checks per site: http GET $FL_HEALTH_PATH :$FL_APP_PORT (app), icmp site addr (host), iface e-pri/e-bak carrier (link); $t: interval=${IV}ms fast_interval=${FIV}ms timeout=${TO}ms fall=$FALL silence=$SIL hold_down=${HD}ms failback=auto failback_hold=${FBH}ms$([ -n "${LAB_FAILBACK_HOLD:-}" ] && echo ' (forced by LAB_FAILBACK_HOLD)'); mode=auto quorum=1 min_domains=1; TTL $FL_TTL"
  ;;
start|config)
  fbh
  D=$(realpath -m "$FL_WORK")/switchback; mkdir -p "$D/zones"
  rm -rf "$D/state"; mkdir -p "$D/state"
  cat > "$D/zones/$FL_ZONE.zone" <<Z
\$ORIGIN $FL_ZONE.
\$TTL $FL_TTL
@   IN SOA ns1.$FL_ZONE. noc.$FL_ZONE. 1 3600 600 86400 $FL_TTL
@   IN NS  ns1.$FL_ZONE.
ns1 IN A   $FL_DNS_ADDR
Z
  pre() { [ "$profile" = default ] || echo "preset = \"$P\""; }
  {
    echo "# checks of $FL_NAME at pri (primary) and bak (backup), from the edge node"
    for site in pri bak; do
      if [ $site = pri ]; then addr=$FL_PRI_ADDR; else addr=$FL_BAK_ADDR; fi
      cat <<P

[[check]]
name = "crm-app-$site"
site = "$site"
layer = "app"
kind = "http"
url = "http://$addr:$FL_APP_PORT$FL_HEALTH_PATH"
method = "GET"
expect_status = [200]
host = "$FL_NAME"
$(pre)

[[check]]
name = "crm-host-$site"
site = "$site"
layer = "host"
kind = "icmp"
target = "$addr"
$(pre)

[[check]]
name = "crm-transit-$site"
site = "$site"
layer = "link"
kind = "iface"
iface = "e-$site"
$(pre)
P
    done
  } > "$D/probes.toml"
  cat > "$D/switchback.toml" <<C
# switchback node for the failover lab (edge namespace); profile $profile
[node]
id = "edge-1"
site = "edge"
roles = ["probe", "authority"]
state_dir = "state"

[store]
kind = "embedded"

[dns]
listen = ["$FL_DNS_ADDR:$FL_DNS_PORT"]
zones = ["zones/$FL_ZONE.zone"]

[sites.pri]
role = "primary"
[sites.bak]
role = "backup"
[sites.edge]
role = "arbiter"

[[service]]
name = "crm"
names = ["$FL_NAME."]
ttl = "${FL_TTL}s"
addresses = { pri = ["$FL_PRI_ADDR"], bak = ["$FL_BAK_ADDR"] }
probes = "probes.toml"
policy = { mode = "auto", quorum = 1, min_domains = 1, $([ "$profile" = default ] || echo "preset = \"$P\", ")$([ -n "${LAB_FAILBACK_HOLD:-}" ] && echo "failback_hold = \"${FBH}ms\", ")failback = "auto" }
C
  if [ "$cmd" = config ]; then ls "$D/switchback.toml" "$D/probes.toml" "$D/zones/$FL_ZONE.zone"; exit 0; fi
  "$BIN" check -c "$D/switchback.toml" >&2 || { echo "switchback check failed" >&2; exit 1; }
  exec "$BIN" serve -c "$D/switchback.toml"
  ;;
*) echo "usage: $0 deps|version|profiles|meta|config|start [profile] [role]" >&2; exit 2 ;;
esac
