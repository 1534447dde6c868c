#!/usr/bin/env python3
"""Writes the config.toml and input.jsonl of each golden scenario (run once; outputs come from
UPDATE_GOLDEN=1).

Probes p0 (d0), p1 (d1), p2 (d0) watch service crm at sites bj (primary) and sh (backup) every
100 ms. Times are milliseconds. Each scenario is a list of phases; see SCENARIOS below. Its
policy is the base policy of CONFIG with the scenario's POLICIES overrides.
"""
import json, os

PROBES = [("p0", "d0"), ("p1", "d1"), ("p2", "d0")]
SEQ = {}


def obs(at, node, domain, bj, sh, self_ok=True, host_bj="up", gate_sh=None):
    SEQ[node] = SEQ.get(node, 0) + 1
    o = {
        "node": node, "domain": domain, "seq": SEQ[node], "at": at, "self_ok": self_ok,
        "sites": {"bj": {"app": "unknown", "host": host_bj, "link": "up"},
                  "sh": {"app": "unknown", "host": "up", "link": "up"}},
        "services": {"crm": {"bj": bj, "sh": sh}},
    }
    if not self_ok:
        o["self_detail"] = "uplink gateway 127.0.0.1 unreachable"
    if gate_sh is not None:
        o["gates"] = {"sh": {"replication-lag": gate_sh}}
    return {"at": at, "input": {"observation": o}}


def heartbeats(t, ms, bj, sh, which=(0, 1, 2), **kw):
    lines = []
    end = t + ms
    while t < end:
        for i in which:
            node, domain = PROBES[i]
            lines.append(obs(t, node, domain, bj, sh, **kw))
        t += 100
    return t, lines


def cmd(at, name, **fields):
    return {"at": at, "input": {"command": {name: dict(service="crm", **fields)}}}


def scenario(phases, start=None):
    SEQ.clear()
    lines = []
    t = 10_000
    if start is not None:
        lines.append({"at": t, "start": start})
    for p in phases:
        if p[0] == "hb":
            _, ms, bj, sh, *rest = p
            kw = rest[0] if rest else {}
            t, ls = heartbeats(t, ms, bj, sh, **kw)
            lines += ls
        elif p[0] == "tick":
            t += p[1]
            lines.append({"at": t, "input": "tick"})
        elif p[0] == "cmd":
            lines.append(cmd(t, p[1], **p[2]))
        elif p[0] == "late":
            # A delayed copy of an older observation (seq `back` behind) from probe p[1].
            _, i, back, bj, sh = p
            node, domain = PROBES[i]
            o = obs(t - 100 * back, node, domain, bj, sh)
            SEQ[node] -= 1
            o["input"]["observation"]["seq"] = SEQ[node] - back + 1
            o["at"] = t
            lines.append(o)
    return lines


MAINT = {"crm": {"decision": {"service": "crm", "active_site": "bj", "epoch": 7, "kind": "operator",
                              "reason": "operator ops: planned work", "at": 5000},
                 "operator": {"maintenance": True, "held_out": []}}}

SCENARIOS = {
    # bj's app fails; 3/3 probes in 2 domains see it for hold_down (300 ms): fail over to sh.
    "failover-auto": [("hb", 1000, "up", "up"), ("hb", 1000, "down", "up")],
    # bj fails for 200 ms at a time, back for 300 ms: never down for hold_down, never a switch.
    "flapping-primary": [("hb", 500, "up", "up")] + [("hb", 200, "down", "up"), ("hb", 300, "up", "up")] * 6,
    # Confirm mode: proposal, page, approval by alice.
    "confirm-approve": [("hb", 500, "up", "up"), ("hb", 800, "down", "up"), ("cmd", "approve", {"by": "alice"}),
                        ("hb", 300, "down", "up")],
    # Confirm mode, abort on timeout (2 s): the proposal is dropped and paged, and not repeated.
    "confirm-timeout-abort": [("hb", 500, "up", "up"), ("hb", 4000, "down", "up")],
    # Both sites down: refuse to switch (once), expose all_down; then sh comes up: switch.
    "target-down-refused": [("hb", 500, "up", "up"), ("hb", 1000, "down", "down"), ("hb", 1000, "down", "up")],
    # p1 and p2 lose their own uplink and see everything down: they abstain, nothing switches.
    "abstain-uplink": [("hb", 500, "up", "up"), ("hb", 1500, "down", "down", {"which": (1, 2), "self_ok": False}),
                       ("hb", 300, "up", "up", {"which": (0,)})],
    # Restart into maintenance (operator decision at epoch 7): frozen; maintenance off: failover.
    "maintenance-restart": [("hb", 1000, "down", "up"), ("cmd", "maintenance", {"on": False, "by": "ops"}),
                            ("hb", 300, "down", "up")],
    # Gate replication-lag at sh blocks until up by quorum.
    "gate-blocks": [("hb", 500, "up", "up", {"gate_sh": "up"}), ("hb", 1000, "down", "up", {"gate_sh": "down"}),
                    ("hb", 300, "down", "up", {"gate_sh": "up"})],
    # hold_out_recovered + auto failback (1 s): bj held out after failing, readmitted, then failback.
    "hold-out-readmit": [("hb", 500, "up", "up"), ("hb", 800, "down", "up"), ("hb", 2000, "up", "up"),
                         ("cmd", "readmit", {"site": "bj", "by": "ops"}), ("hb", 300, "up", "up")],
    # ICMP to bj fails but the app answers: no switch; app checks stop reporting: host down counts.
    "host-down-layers": [("hb", 1000, "up", "up", {"host_bj": "down"}), ("hb", 600, "unknown", "up", {"host_bj": "down"})],
    # Confirm mode, proceed on timeout (2 s): the switch goes ahead, and says so.
    "confirm-timeout-proceed": [("hb", 500, "up", "up"), ("hb", 3000, "down", "up")],
    # Auto failback after 2 s: a flap of bj during the hold restarts the clock; then back to bj.
    "auto-failback": [("hb", 500, "up", "up"), ("hb", 600, "down", "up"), ("hb", 1500, "up", "up"),
                      ("hb", 200, "down", "up"), ("hb", 2500, "up", "up")],
    # Manual mode: only report; an operator switch to an up site works, back to a down one is refused
    # (no output) unless forced; the forced site is reported down only after a full hold-down.
    "manual-operator-switch": [("hb", 500, "up", "up"), ("hb", 1000, "down", "up"),
                               ("cmd", "switch", {"to": "sh", "reason": "bj app down", "by": "ops"}),
                               ("hb", 300, "down", "up"),
                               ("cmd", "switch", {"to": "bj", "reason": "try bj", "by": "ops"}),
                               ("cmd", "switch", {"to": "bj", "reason": "drill", "by": "ops", "force": True}),
                               ("hb", 500, "down", "up")],
    # Late, reordered copies of older "bj up" observations while bj is down change nothing.
    "late-observations": [("hb", 500, "up", "up"), ("hb", 100, "down", "up"), ("late", 0, 3, "up", "up"),
                          ("late", 1, 2, "up", "up"), ("hb", 400, "down", "up")],
}

STARTS = {"maintenance-restart": MAINT}

# A node config switchback loads (the schema of `switchback serve`): voters, sites, service crm.
CONFIG = """\
# Golden scenario {name}: the config its input.jsonl is replayed against, in the schema
# `switchback serve` loads. Written by gen.py; a real incident's folder holds the node's config.

[node]
id = "auth-1"
site = "bj"
roles = ["authority"]

[votes]
# Other nodes vote, so the schema wants a signing key; a replay never reads it.
key_files = ["votes.key"]
stale_after = "1s"
voters = [
    {{ id = "p0", domain = "d0" }},
    {{ id = "p1", domain = "d1" }},
    {{ id = "p2", domain = "d0" }},
]

[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

[[service]]
name = "crm"
names = ["crm.boss.example."]
ttl = "30s"
degraded_ttl = "5s"
addresses = {{ bj = ["127.1.0.1"], sh = ["127.2.0.1"] }}
probes = "probes/crm.toml"

[service.policy]
{policy}"""

POLICY = {"mode": "auto", "quorum": 2, "min_domains": 2, "hold_down": "300ms", "confirm_timeout": "1m",
          "on_confirm_timeout": "abort", "failback": "manual", "failback_hold": "10m",
          "hold_out_recovered": False, "gates": [], "all_down": "keep"}

POLICIES = {
    "confirm-approve": {"mode": "confirm"},
    "confirm-timeout-proceed": {"mode": "confirm", "confirm_timeout": "2s", "on_confirm_timeout": "proceed"},
    "auto-failback": {"failback": "auto", "failback_hold": "2s"},
    "manual-operator-switch": {"mode": "manual"},
    "confirm-timeout-abort": {"mode": "confirm", "confirm_timeout": "2s", "on_confirm_timeout": "abort"},
    "gate-blocks": {"gates": ["replication-lag"]},
    "hold-out-readmit": {"failback": "auto", "failback_hold": "1s", "hold_out_recovered": True},
}


def config(name):
    policy = dict(POLICY, **POLICIES.get(name, {}))
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in policy.items())
    return CONFIG.format(name=name, policy=lines)

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for name, phases in SCENARIOS.items():
        d = os.path.join(here, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.toml"), "w") as f:
            f.write(config(name))
        lines = scenario(phases, STARTS.get(name))
        with open(os.path.join(d, "input.jsonl"), "w") as f:
            for l in lines:
                f.write(json.dumps(l, separators=(",", ":")) + "\n")
