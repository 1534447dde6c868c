#!/bin/sh
# Transaction test for one BOSS service: create, read back and delete a probe record.
# Arguments come from the check's `command` array; the site and address from the environment.
# Exit 0 = up. Keep it idempotent and fast: it runs every `interval` and is killed (with its
# whole process group) after `timeout`. Only the first stdout line is kept (output is capped).
set -eu
service="${1:?service}"
base="http://$SWITCHBACK_TARGET:8080/$service/probe-txn"
id=$(curl -fsS --max-time 2 -X POST "$base") || { echo "create failed at $SWITCHBACK_SITE"; exit 1; }
curl -fsS --max-time 2 "$base/$id" >/dev/null || { echo "read-back $id failed"; exit 1; }
curl -fsS --max-time 2 -X DELETE "$base/$id" >/dev/null || { echo "delete $id failed"; exit 1; }
echo "txn $id ok at $SWITCHBACK_SITE"
