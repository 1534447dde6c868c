//! One drill's procedure: admit, switch, verify, hold (watching the target), switch back,
//! verify; every step on the report's timeline.

use super::{DrillError, DrillReport, DrillRequest, Drills, ENACT_TIMEOUT, Outcome, Phase};
use crate::decide::{Clock, DecisionHandle};
use crate::enact::{Applied, Reports, Verification};
use crate::model::{Epoch, Health, ServiceId, SiteId};
use crate::policy::{Command, Output, ServiceStatus};
use std::collections::BTreeMap;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

fn status_of(decide: &DecisionHandle, service: &ServiceId) -> Option<ServiceStatus> {
    decide
        .published
        .borrow()
        .status
        .iter()
        .find(|s| &s.service == service)
        .cloned()
}

/// Check a drill request against the service's state now; its initial report if it may run.
pub(super) fn admit(
    decide: &DecisionHandle,
    clock: &Clock,
    req: &DrillRequest,
) -> Result<DrillReport, DrillError> {
    let st = status_of(decide, &req.service)
        .ok_or_else(|| DrillError::UnknownService(req.service.0.clone()))?;
    let refuse = |why: String| DrillError::Refused {
        service: req.service.clone(),
        why,
    };
    if st.maintenance {
        return Err(refuse("it is in maintenance".into()));
    }
    if let Some(p) = &st.pending {
        return Err(refuse(format!(
            "a switch to {} waits for approval; approve or reject it first",
            p.to
        )));
    }
    let to = match &req.to {
        Some(to) => to.clone(),
        None => st
            .sites
            .keys()
            .find(|s| **s != st.active_site)
            .cloned()
            .ok_or_else(|| refuse("it has no other serving site".into()))?,
    };
    if to == st.active_site {
        return Err(refuse(format!("it is already active at {to}")));
    }
    let Some(site) = st.sites.get(&to) else {
        let known: Vec<&str> = st.sites.keys().map(SiteId::as_str).collect();
        return Err(refuse(format!(
            "{to} does not serve it (serving sites: {})",
            known.join(", ")
        )));
    };
    if site.verdict != Health::Up {
        return Err(refuse(format!(
            "target {to} is {} by quorum, not up",
            site.verdict
        )));
    }
    let now = clock.now();
    let mut report = DrillReport {
        id: format!("{}-{}", req.service, now.0),
        service: req.service.clone(),
        from: st.active_site.clone(),
        to: to.clone(),
        by: req.by.clone(),
        hold_ms: u64::try_from(req.hold.as_millis()).unwrap_or(u64::MAX),
        started_at: now,
        finished_at: None,
        outcome: Outcome::Running,
        rto_ms: None,
        back_rto_ms: None,
        phases: Vec::new(),
        timeline: Vec::new(),
        failures: Vec::new(),
    };
    report.step(
        now,
        format!(
            "drill by {}: {} at {} (epoch {}) → {to}, hold {}",
            req.by,
            req.service,
            st.active_site,
            st.epoch,
            humantime::format_duration(req.hold)
        ),
    );
    Ok(report)
}

/// Run an admitted drill to its end; returns the final report (also written to disk).
pub(super) async fn drive(d: &Drills, mut r: DrillReport) -> DrillReport {
    let (from, to) = (r.from.clone(), r.to.clone());
    r.rto_ms = switch(d, &mut r, &to, "switchover").await;
    d.update(&r);
    let mut aborted = false;
    if r.rto_ms.is_some() {
        aborted = hold(d, &mut r).await;
        d.update(&r);
    }
    let active = status_of(&d.inner.decide, &r.service).map(|s| s.active_site);
    if active.as_ref() == Some(&from) {
        let now = d.inner.clock.now();
        r.step(
            now,
            format!("already back at {from}: no switch back needed"),
        );
    } else {
        r.back_rto_ms = switch(d, &mut r, &from, "switchback").await;
    }
    let now = d.inner.clock.now();
    r.finished_at = Some(now);
    r.outcome = match (r.failures.is_empty(), aborted) {
        (false, _) => Outcome::Failed,
        (true, true) => Outcome::Aborted,
        (true, false) => Outcome::Passed,
    };
    r.step(now, format!("drill {:?}", r.outcome).to_lowercase());
    if let Err(e) = r.write(&d.inner.dir) {
        tracing::error!(drill = %r.id, dir = %d.inner.dir.display(), error = %e,
            "cannot write the drill report");
    }
    r
}

/// Switch to `site` through the operator path and wait for every enactor; the network-layer
/// RTO in milliseconds, or `None` (with the failure recorded).
async fn switch(d: &Drills, r: &mut DrillReport, site: &SiteId, phase: &str) -> Option<u64> {
    let inner = &d.inner;
    let started_at = inner.clock.now();
    let t0 = Instant::now();
    // Subscribe before the command: no report can slip between the two.
    let rx = inner.reports.subscribe();
    r.step(
        started_at,
        format!("{phase}: switch {} to {site}", r.service),
    );
    let cmd = Command::Switch {
        service: r.service.clone(),
        to: site.clone(),
        reason: format!("drill {}: {phase} to {site}", r.id),
        by: r.by.clone(),
        force: false,
    };
    let result = match inner.decide.command(cmd).await {
        Ok(outputs) => {
            let epoch = outputs
                .iter()
                .find_map(|o| match o {
                    Output::Commit(c) if c.decision.service == r.service => Some(c.decision.epoch),
                    _ => None,
                })
                .or_else(|| status_of(&inner.decide, &r.service).map(|s| s.epoch))
                .unwrap_or_default();
            let now = inner.clock.now();
            r.step(now, format!("{phase}: committed epoch {epoch}"));
            wait_enacted(&inner.reports, rx, &r.service, epoch).await
        }
        Err(e) => Err(format!("switch to {site} refused: {e}")),
    };
    let took = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    let now = inner.clock.now();
    let (ok, detail) = match result {
        Ok(detail) => {
            r.step(
                now,
                format!("{phase}: enacted and verified in {took} ms ({detail})"),
            );
            (true, detail)
        }
        Err(why) => {
            r.fail(now, format!("{phase}: {why}"));
            (false, why)
        }
    };
    r.phases.push(Phase {
        name: phase.to_owned(),
        started_at,
        took_ms: took,
        ok,
        detail,
    });
    ok.then_some(took)
}

/// Wait until every enactor on this node reported `service` at `epoch` or later; ok with a
/// summary when each applied it and none failed its verification.
async fn wait_enacted(
    reports: &Reports,
    mut rx: tokio::sync::broadcast::Receiver<crate::enact::Report>,
    service: &ServiceId,
    epoch: Epoch,
) -> Result<String, String> {
    let want = reports.enactors();
    if want.is_empty() {
        return Err("no enactor runs on this node: nothing to verify".into());
    }
    let from_snapshot = |seen: &mut BTreeMap<&'static str, Applied>| {
        for (enactor, by_service) in reports.snapshot() {
            if let Some(a) = by_service.get(service).filter(|a| a.epoch >= epoch) {
                seen.insert(enactor, a.clone());
            }
        }
    };
    let mut seen = BTreeMap::new();
    from_snapshot(&mut seen);
    let deadline = Instant::now() + super::ENACT_TIMEOUT;
    while want.iter().any(|e| !seen.contains_key(e)) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => {
                let missing: Vec<&str> = want
                    .iter()
                    .filter(|e| !seen.contains_key(*e))
                    .copied()
                    .collect();
                return Err(format!(
                    "{} did not report epoch {epoch} within {}",
                    missing.join(", "),
                    humantime::format_duration(ENACT_TIMEOUT)
                ));
            }
            Ok(Ok(rep)) => {
                if &rep.applied.service == service && rep.applied.epoch >= epoch {
                    seen.insert(rep.enactor, rep.applied);
                }
            }
            Ok(Err(RecvError::Lagged(_))) => from_snapshot(&mut seen),
            Ok(Err(RecvError::Closed)) => return Err("enactment reports stopped".into()),
        }
    }
    let mut parts = Vec::new();
    let mut failures = Vec::new();
    for (enactor, a) in &seen {
        match (&a.error, &a.verification) {
            (Some(e), _) => failures.push(format!("{enactor} failed: {e}")),
            (None, Verification::Failed(why)) => {
                failures.push(format!("{enactor} not verified: {why}"));
            }
            (None, Verification::Verified) => parts.push(format!("{enactor} verified")),
            (None, Verification::NotChecked) => parts.push(format!("{enactor} applied, unchecked")),
        }
    }
    if failures.is_empty() {
        Ok(parts.join(", "))
    } else {
        Err(failures.join("; "))
    }
}

/// Hold on the target, watching it; true when the drill aborted early because the target
/// degraded or the service moved.
async fn hold(d: &Drills, r: &mut DrillReport) -> bool {
    let inner = &d.inner;
    let started_at = inner.clock.now();
    let t0 = Instant::now();
    let until = t0 + std::time::Duration::from_millis(r.hold_ms);
    let mut published = inner.decide.published.clone();
    r.step(started_at, format!("hold at {} for {} ms", r.to, r.hold_ms));
    let end: Result<(), String> = loop {
        let trouble = status_of(&inner.decide, &r.service).and_then(|st| {
            if st.active_site != r.to {
                Some(format!(
                    "{} moved to {} meanwhile",
                    r.service, st.active_site
                ))
            } else {
                match st.sites.get(&r.to).map(|s| s.verdict) {
                    Some(Health::Down) => Some(format!("target {} went down", r.to)),
                    _ => None,
                }
            }
        });
        if let Some(why) = trouble {
            break Err(why);
        }
        tokio::select! {
            () = tokio::time::sleep_until(until) => break Ok(()),
            changed = published.changed() => {
                if changed.is_err() {
                    break Err("the decision loop stopped".into());
                }
            }
            () = inner.shutdown.cancelled() => break Err("the node is shutting down".into()),
        }
    };
    let took = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    let now = inner.clock.now();
    let (ok, detail) = match end {
        Ok(()) => (true, format!("held at {} for {took} ms", r.to)),
        Err(why) => {
            r.step(now, format!("ABORT: {why}; back to {}", r.from));
            (false, why)
        }
    };
    r.phases.push(Phase {
        name: "hold".into(),
        started_at,
        took_ms: took,
        ok,
        detail,
    });
    !ok
}
