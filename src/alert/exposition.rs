//! The alert role's metrics: how many alerts wait in each sink's spool (a sink that is down
//! shows as a growing depth) and how many were dropped because the feed could not keep up.

use super::feed::Outlet;
use crate::metrics::{Exposition, esc, family};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Renders `switchback_alert_spool_depth` and `switchback_alerts_dropped_total`.
pub struct AlertExposition {
    pub(super) outlets: Arc<Vec<Outlet>>,
    pub(super) dropped: Arc<AtomicU64>,
}

impl Exposition for AlertExposition {
    fn render(&self, out: &mut String) {
        family(
            out,
            "switchback_alert_spool_depth",
            "gauge",
            "Alerts spooled for a sink and not yet acknowledged by it.",
        );
        for o in self.outlets.iter() {
            let depth = o
                .spool
                .as_ref()
                .map_or(0, |s| s.lock().unwrap_or_else(|p| p.into_inner()).pending());
            let _ = writeln!(
                out,
                "switchback_alert_spool_depth{{sink=\"{}\"}} {depth}",
                esc(&o.sink.cfg.name)
            );
        }
        family(
            out,
            "switchback_alerts_dropped_total",
            "counter",
            "Alerts dropped because the alert queue was full (the spool could not keep up).",
        );
        let _ = writeln!(
            out,
            "switchback_alerts_dropped_total {}",
            self.dropped.load(Ordering::Relaxed)
        );
    }
}
