//! The alert role: starts the alert feed and one worker per `[[alert]]` sink, and the tasks
//! that turn policy events, enactment reports and committed health into alerts.
//!
//! Decision events come from this node's decision loop, so only the node that decides raises
//! them (the leader, in a cluster); enactment events are raised by every node for itself.
//! Keys do not name the raising node (except for its own enactment), so copies from
//! several nodes fold into one incident at the receiver.

use super::NodeError;
use super::tasks::Tasks;
use crate::alert::{self, Raise, degraded::Degraded, enacted::Enacted};
use crate::config::Config;
use crate::decide::DecisionHandle;
use crate::enact::Reports;
use crate::model::Timestamp;
use crate::store::Records;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

/// Start alerting if the config has sinks; returns the handle other parts raise through.
/// Subscribes to `reports` and `decide` before returning, so nothing raised after it is lost.
pub(super) fn start(
    cfg: &Arc<Config>,
    decide: &DecisionHandle,
    reports: &Reports,
    committed: watch::Receiver<Records>,
    enactors: &[&'static str],
    metrics: &crate::metrics::Metrics,
    tasks: &mut Tasks,
) -> Result<Raise, NodeError> {
    let node = cfg.node.id.clone();
    if cfg.alerts.is_empty() {
        return Ok(Raise::none(node));
    }
    let parts = alert::start(
        &cfg.alerts,
        node.clone(),
        &cfg.node.state_dir,
        Timestamp::now,
    )?;
    let raise = parts.raise.clone();
    metrics.add_source(parts.exposition.clone());
    tracing::info!(
        sinks = cfg.alerts.len(),
        "alerting to {} sink(s)",
        cfg.alerts.len()
    );
    let token = tasks.token();
    tasks.spawn("alert_feed", async move {
        parts.feed.run(token).await;
        Ok::<(), NodeError>(())
    });
    for w in parts.workers {
        let token = tasks.token();
        tasks.spawn("alert_worker", async move {
            w.run(token).await;
            Ok::<(), NodeError>(())
        });
    }

    // Policy events, each already durable in the audit log.
    let mut events = decide.events();
    let (r, c, n, token) = (raise.clone(), Arc::clone(cfg), node.clone(), tasks.token());
    tasks.spawn("alert_policy", async move {
        loop {
            let e = tokio::select! {
                () = token.cancelled() => return Ok::<(), NodeError>(()),
                e = events.recv() => e,
            };
            match e {
                Ok(e) => {
                    for a in alert::from_policy::alerts(&c, &n, &e) {
                        r.raise(a);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => tracing::error!(
                    missed,
                    "alerting fell behind the decision loop; missed events are in the audit log"
                ),
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    });

    // This node's enactment reports.
    let mut stream = reports.subscribe();
    let (r, token) = (raise.clone(), tasks.token());
    // Routes report only the services that have a VIP.
    let expected = cfg
        .services
        .iter()
        .map(|s| {
            let mine = enactors
                .iter()
                .copied()
                .filter(|e| *e != "route" || s.vip.is_some())
                .collect();
            (s.name.clone(), mine)
        })
        .collect();
    let mut enacted = Enacted::new(node.clone(), expected);
    tasks.spawn("alert_enacted", async move {
        let mut tick = tokio::time::interval(alert::enacted::GATHER / 4);
        loop {
            let out = tokio::select! {
                () = token.cancelled() => return Ok::<(), NodeError>(()),
                _ = tick.tick() => enacted.due(Timestamp::now()),
                rep = stream.recv() => match rep {
                    Ok(rep) => enacted.report(rep, Timestamp::now()),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::error!(missed, "alerting fell behind the enactment reports");
                        Vec::new()
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
            };
            for a in out {
                r.raise(a);
            }
        }
    });

    // Committed serving health: degraded without a switch.
    let (r, c, token) = (raise.clone(), Arc::clone(cfg), tasks.token());
    let mut committed = committed;
    tasks.spawn("alert_degraded", async move {
        let mut degraded = Degraded::default();
        loop {
            let records = committed.borrow_and_update().clone();
            for a in degraded.update(&c, &node, &records, Timestamp::now()) {
                r.raise(a);
            }
            tokio::select! {
                () = token.cancelled() => return Ok::<(), NodeError>(()),
                changed = committed.changed() => if changed.is_err() { return Ok(()) },
            }
        }
    });
    Ok(raise)
}
