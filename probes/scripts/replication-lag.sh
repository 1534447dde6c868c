#!/bin/sh
# Readiness gate: is the database replica at $SWITCHBACK_SITE caught up?
# switchback runs this directly (no shell interpolation of config values) with:
#   SWITCHBACK_CHECK, SWITCHBACK_SITE, SWITCHBACK_LAYER, SWITCHBACK_TARGET, SWITCHBACK_TIMEOUT_MS
# and any `env` from the check (here BOSS_DB). Exit 0 = up; the first stdout line is the detail.
# Replace the query with your database's own lag view (e.g. pg_last_xact_replay_timestamp()).
set -eu
max=5
if [ "${1:-}" = "--max-seconds" ]; then max="${2:-5}"; fi
lag=$(psql -h "$SWITCHBACK_TARGET" -d "${BOSS_DB:-boss}" -Atc \
  "select coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp())::int, 0)" 2>/dev/null) || {
  echo "cannot query replica at $SWITCHBACK_TARGET"
  exit 2
}
if [ "$lag" -gt "$max" ]; then
  echo "replication lag ${lag}s > ${max}s at $SWITCHBACK_SITE"
  exit 1
fi
echo "replication lag ${lag}s at $SWITCHBACK_SITE"
