//! The console's part of `/metrics`: gauges read from the published status, votes, this
//! node's checks, the enactors' reports and the drills, named per the Prometheus conventions
//! (base units, `_total` only on counters, enum states as a label with 0/1 values).

use super::ApiState;
use crate::metrics::{esc, family};
use crate::model::Health;
use crate::tally::VoteState;
use std::fmt::Write;

const HEALTHS: [(Health, &str); 3] = [
    (Health::Up, "up"),
    (Health::Down, "down"),
    (Health::Unknown, "unknown"),
];

/// Append the console's metric families.
pub(crate) fn render(s: &ApiState, out: &mut String) {
    checks(s, out);
    let published = s.inner.decide.published.borrow().clone();
    family(
        out,
        "switchback_service_epoch",
        "gauge",
        "The committed epoch of each service.",
    );
    for st in &published.status {
        let _ = writeln!(
            out,
            "switchback_service_epoch{{service=\"{}\"}} {}",
            esc(st.service.as_str()),
            st.epoch.0
        );
    }
    family(
        out,
        "switchback_service_active",
        "gauge",
        "1 for the site each service is active at.",
    );
    for st in &published.status {
        let _ = writeln!(
            out,
            "switchback_service_active{{service=\"{}\",site=\"{}\"}} 1",
            esc(st.service.as_str()),
            esc(st.active_site.as_str())
        );
    }
    for (name, help, get) in [
        (
            "switchback_service_degraded",
            "1 while the active site is not seen up or a switch is pending.",
            (|st| st.degraded) as fn(&crate::policy::ServiceStatus) -> bool,
        ),
        (
            "switchback_service_maintenance",
            "1 while automatic decisions are frozen.",
            |st| st.maintenance,
        ),
        (
            "switchback_service_pending",
            "1 while a switch waits for approval.",
            |st| st.pending.is_some(),
        ),
        (
            "switchback_service_quorum",
            "1 while enough counting probes reach a verdict.",
            |st| st.quorum,
        ),
    ] {
        family(out, name, "gauge", help);
        for st in &published.status {
            let _ = writeln!(
                out,
                "{name}{{service=\"{}\"}} {}",
                esc(st.service.as_str()),
                u8::from(get(st))
            );
        }
    }
    family(
        out,
        "switchback_site_verdict",
        "gauge",
        "Each serving site's verdict by quorum (1 for the current state).",
    );
    for st in &published.status {
        for (site, ss) in &st.sites {
            for (h, label) in HEALTHS {
                let _ = writeln!(
                    out,
                    "switchback_site_verdict{{service=\"{}\",site=\"{}\",state=\"{label}\"}} {}",
                    esc(st.service.as_str()),
                    esc(site.as_str()),
                    u8::from(ss.verdict == h)
                );
            }
        }
    }
    family(
        out,
        "switchback_site_layer_probes",
        "gauge",
        "Counting probes that see a site's layer up, down or unknown.",
    );
    for st in &published.status {
        for (site, ss) in &st.sites {
            for (layer, v) in &ss.layers {
                for (label, n) in [("up", v.up), ("down", v.down), ("unknown", v.unknown)] {
                    let _ = writeln!(
                        out,
                        "switchback_site_layer_probes{{service=\"{}\",site=\"{}\",layer=\"{}\",state=\"{label}\"}} {n}",
                        esc(st.service.as_str()),
                        esc(site.as_str()),
                        esc(layer)
                    );
                }
            }
        }
    }
    family(
        out,
        "switchback_probes",
        "gauge",
        "Probe nodes by how their vote stands: counting, abstaining, stale, silent.",
    );
    let votes = &published.votes;
    let count = |state| votes.nodes.iter().filter(|n| n.state == state).count();
    for (label, n) in [
        ("counting", count(VoteState::Counting)),
        ("abstaining", count(VoteState::Abstaining)),
        ("stale", count(VoteState::Stale)),
        ("silent", votes.silent.len()),
    ] {
        let _ = writeln!(out, "switchback_probes{{state=\"{label}\"}} {n}");
    }
    enactment(s, out);
    drills(s, out);
}

fn checks(s: &ApiState, out: &mut String) {
    let Some(handle) = &s.inner.checks else {
        return;
    };
    let checks = handle.snapshot();
    let labels = |c: &crate::probe::CheckStatus| {
        format!(
            "check=\"{}\",site=\"{}\",layer=\"{}\"",
            esc(c.name.as_str()),
            esc(c.site.as_ref().map_or("self", |s| s.as_str())),
            c.layer
        )
    };
    family(
        out,
        "switchback_check_state",
        "gauge",
        "This node's checks after rise/fall (1 for the current state).",
    );
    for c in &checks {
        for (h, label) in HEALTHS {
            let _ = writeln!(
                out,
                "switchback_check_state{{{},state=\"{label}\"}} {}",
                labels(c),
                u8::from(c.state == h)
            );
        }
    }
    family(
        out,
        "switchback_check_rtt_seconds",
        "gauge",
        "Round-trip time of each check's last attempt that measured one.",
    );
    for c in &checks {
        if let Some(rtt) = c.last_rtt {
            let _ = writeln!(
                out,
                "switchback_check_rtt_seconds{{{}}} {}",
                labels(c),
                rtt.as_secs_f64()
            );
        }
    }
    family(
        out,
        "switchback_check_attempts_total",
        "counter",
        "Attempts of each check.",
    );
    for c in &checks {
        let _ = writeln!(
            out,
            "switchback_check_attempts_total{{{}}} {}",
            labels(c),
            c.runs
        );
    }
    family(
        out,
        "switchback_check_failures_total",
        "counter",
        "Failed attempts of each check.",
    );
    for c in &checks {
        let _ = writeln!(
            out,
            "switchback_check_failures_total{{{}}} {}",
            labels(c),
            c.failures
        );
    }
}

fn enactment(s: &ApiState, out: &mut String) {
    let snapshot = s.inner.console.reports.snapshot();
    family(
        out,
        "switchback_enact_epoch",
        "gauge",
        "The epoch each enactor last applied for each service.",
    );
    for (enactor, by_service) in &snapshot {
        for (service, a) in by_service {
            let _ = writeln!(
                out,
                "switchback_enact_epoch{{enactor=\"{enactor}\",service=\"{}\"}} {}",
                esc(service.as_str()),
                a.epoch.0
            );
        }
    }
    family(
        out,
        "switchback_enact_verified",
        "gauge",
        "1 when the enactor verified its last apply from this node, 0 when that check failed.",
    );
    for (enactor, by_service) in &snapshot {
        for (service, a) in by_service {
            let v = match (&a.error, &a.verification) {
                (Some(_), _) | (None, crate::enact::Verification::Failed(_)) => 0,
                (None, crate::enact::Verification::Verified) => 1,
                (None, crate::enact::Verification::NotChecked) => continue,
            };
            let _ = writeln!(
                out,
                "switchback_enact_verified{{enactor=\"{enactor}\",service=\"{}\"}} {v}",
                esc(service.as_str())
            );
        }
    }
}

fn drills(s: &ApiState, out: &mut String) {
    let Some(drills) = &s.inner.console.drills else {
        return;
    };
    let all = drills.all();
    family(
        out,
        "switchback_drill_last_rto_seconds",
        "gauge",
        "Network-layer RTO measured by each service's latest finished drill.",
    );
    let mut seen = std::collections::BTreeSet::new();
    for d in &all {
        if let Some(rto) = d.rto_ms
            && seen.insert(d.service.clone())
        {
            let _ = writeln!(
                out,
                "switchback_drill_last_rto_seconds{{service=\"{}\"}} {}",
                esc(d.service.as_str()),
                rto as f64 / 1000.0
            );
        }
    }
    family(
        out,
        "switchback_drill_last_success",
        "gauge",
        "1 when each service's latest finished drill passed, 0 when it failed or aborted.",
    );
    let mut seen = std::collections::BTreeSet::new();
    for d in all
        .iter()
        .filter(|d| d.outcome != crate::drill::Outcome::Running)
    {
        if seen.insert(d.service.clone()) {
            let _ = writeln!(
                out,
                "switchback_drill_last_success{{service=\"{}\"}} {}",
                esc(d.service.as_str()),
                u8::from(d.outcome == crate::drill::Outcome::Passed)
            );
        }
    }
}
