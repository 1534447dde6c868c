#!/usr/bin/env bash
# Runs every test switchback has, on a clean Debian machine as on a developer's.
#
# Installs what the tests need (Debian packages: protoc for the etcd client, etcd, NSD, Knot,
# dig/kdig, iproute2, nftables, BIRD, Alertmanager, promtool, Chromium) when it is missing and
# we are root, then runs the whole suite
# with the etcd store compiled in. Tests that need root or a tool fail loudly under CI=true and
# skip with a reason otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have protoc || need+=(protobuf-compiler)
# protoc alone lacks the well-known types etcd's protos import (google/protobuf/*.proto).
[ -f /usr/include/google/protobuf/descriptor.proto ] || need+=(libprotobuf-dev)
have etcd || need+=(etcd-server)
have etcdctl || need+=(etcd-client)
have nsd || need+=(nsd)
have knotd || need+=(knot)
have kdig || need+=(knot-dnsutils)
have dig || need+=(dnsutils)
have ip || need+=(iproute2)
have nft || need+=(nftables)
have curl || need+=(curl)
have bird || need+=(bird2)
have prometheus-alertmanager || need+=(prometheus-alertmanager)
have promtool || need+=(prometheus)
have chromium || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && have apt-get; then
    echo "test.sh: installing ${need[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "test.sh: missing ${need[*]} and cannot apt-get install (not root); the tests needing them will say so" >&2
  fi
fi

# The packaged daemons must not hold the ports or files our tests use.
for svc in nsd knot etcd bird prometheus prometheus-alertmanager; do
  if have systemctl && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --features etcd --all-targets "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary (the last binary alone may hold no tests).
awk '/^test result:/ { p += $4; f += $6; s += $8 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
