//! [`Noise`]: what reaches the sinks (pure; time is a parameter).
//!
//! - A repeat of an open condition (same key, event and epoch as its last trigger) is dropped;
//!   a resolve of a condition already resolved is dropped; a notice identical to the last one
//!   of its key is dropped (a restarted node re-reporting the same enactment).
//! - An acknowledge goes out once per opening of a condition that is open (or unknown here:
//!   another node may have opened it); one for a closed or already acknowledged condition
//!   is dropped.
//! - Flapping: when a condition opens [`FLAP_OPENS`] times within [`FLAP_WINDOW`], it stays
//!   one incident: its later resolves are held and its re-openings dropped, each counted, and
//!   once it has been quiet for the window one resolve goes out with the count.
//!
//! The state is plain data, saved by the feed beside the spools so a restart keeps it.

use super::event::{Action, AlertEvent};
use crate::model::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Openings within [`FLAP_WINDOW`] that make a condition flapping.
pub const FLAP_OPENS: usize = 3;
/// The flap window, and how long a flapping condition must stay quiet to resolve.
pub const FLAP_WINDOW: Duration = Duration::from_secs(600);
/// Closed conditions are forgotten after this long.
const FORGET: Duration = Duration::from_secs(24 * 3600);

/// What is known of one condition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Condition {
    /// Open as far as the receivers know.
    open: bool,
    /// The id of the last event sent for this key.
    last_id: String,
    /// When it opened, within the flap window.
    opens: Vec<Timestamp>,
    /// Openings of the flapping incident (the ones sent and the ones dropped).
    flaps: u32,
    /// A resolve held back while flapping.
    held: Option<AlertEvent>,
    /// An operator acknowledged this opening.
    #[serde(default)]
    acked: bool,
    /// Last change.
    at: Timestamp,
}

/// The noise filter's state: one entry per condition key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Noise {
    conditions: BTreeMap<String, Condition>,
}

impl Noise {
    /// Offer one event; returns what to send (nothing, or the event, possibly annotated).
    pub fn offer(&mut self, mut e: AlertEvent, now: Timestamp) -> Option<AlertEvent> {
        let id = e.id();
        let c = self.conditions.entry(e.key.clone()).or_default();
        c.at = now;
        c.opens.retain(|t| now.since(*t) < FLAP_WINDOW);
        match e.action {
            Action::Notice => {
                if c.last_id == id {
                    return None;
                }
                c.last_id = id;
                Some(e)
            }
            Action::Acknowledge => {
                let unknown = c.last_id.is_empty() && !c.open;
                if c.acked || !(c.open || unknown) {
                    return None;
                }
                c.acked = true;
                Some(e)
            }
            Action::Trigger => {
                if c.open || c.held.is_some() {
                    if c.last_id == id || c.held.is_some() {
                        // A repeat, or a flapping condition re-opening under a held resolve.
                        if c.held.take().is_some() {
                            c.flaps += 1;
                            c.opens.push(now);
                            c.open = true;
                        }
                        return None;
                    }
                    // New facts on an open condition (another epoch): an update.
                    c.last_id = id;
                    return Some(e);
                }
                c.open = true;
                c.acked = false;
                c.opens.push(now);
                c.last_id = id;
                e.count = c.opens.len() as u32;
                if c.opens.len() >= FLAP_OPENS {
                    c.flaps = c.opens.len() as u32;
                    e.summary = format!(
                        "{} (flapping: opened {} times within {})",
                        e.summary,
                        c.opens.len(),
                        humantime::format_duration(FLAP_WINDOW)
                    );
                }
                Some(e)
            }
            Action::Resolve => {
                if !c.open {
                    // Unknown conditions are resolved anyway (another node may have opened
                    // it), unless only this node could have.
                    if c.last_id.is_empty() && !e.only_if_open {
                        c.last_id = id;
                        return Some(e);
                    }
                    return None;
                }
                c.open = false;
                if c.opens.len() >= FLAP_OPENS {
                    c.held = Some(e);
                    return None;
                }
                c.last_id = id;
                Some(e)
            }
        }
    }

    /// Held resolves of conditions quiet for [`FLAP_WINDOW`], now due, with their counts; and
    /// forget long-closed conditions.
    pub fn tick(&mut self, now: Timestamp) -> Vec<AlertEvent> {
        let mut out = Vec::new();
        for c in self.conditions.values_mut() {
            let quiet = c.opens.last().is_none_or(|t| now.since(*t) >= FLAP_WINDOW);
            if quiet && let Some(mut e) = c.held.take() {
                e.count = c.flaps;
                e.summary = format!("{} (after opening {} times)", e.summary, c.flaps);
                c.last_id = e.id();
                c.opens.clear();
                c.flaps = 0;
                out.push(e);
            }
        }
        self.conditions
            .retain(|_, c| c.open || c.held.is_some() || now.since(c.at) < FORGET);
        out
    }

    /// When [`Noise::tick`] may next have something to do.
    pub fn has_held(&self) -> bool {
        self.conditions.values().any(|c| c.held.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Severity;

    fn ev(action: Action, epoch: u64) -> AlertEvent {
        AlertEvent::new(
            "quorum_lost",
            "quorum_lost",
            action,
            "quorum_lost/crm".into(),
            Severity::Critical,
            "crm".into(),
            "n1".into(),
            Timestamp(0),
        )
        .epoch(crate::model::Epoch(epoch))
    }

    fn t(s: u64) -> Timestamp {
        Timestamp(s * 1000)
    }

    #[test]
    fn repeats_of_an_open_condition_are_dropped() {
        let mut n = Noise::default();
        assert!(n.offer(ev(Action::Trigger, 1), t(0)).is_some());
        assert!(n.offer(ev(Action::Trigger, 1), t(1)).is_none());
        assert!(
            n.offer(ev(Action::Trigger, 2), t(2)).is_some(),
            "new facts go out"
        );
        assert!(n.offer(ev(Action::Resolve, 2), t(3)).is_some());
        assert!(n.offer(ev(Action::Resolve, 2), t(4)).is_none());
    }

    #[test]
    fn an_acknowledge_goes_out_once_per_opening_and_never_for_a_closed_condition() {
        let mut n = Noise::default();
        assert!(
            n.offer(ev(Action::Acknowledge, 1), t(0)).is_some(),
            "unknown here: another node may have opened it"
        );
        let mut n = Noise::default();
        assert!(n.offer(ev(Action::Trigger, 1), t(0)).is_some());
        assert!(n.offer(ev(Action::Acknowledge, 1), t(1)).is_some());
        assert!(n.offer(ev(Action::Acknowledge, 1), t(2)).is_none());
        assert!(n.offer(ev(Action::Resolve, 1), t(3)).is_some());
        assert!(
            n.offer(ev(Action::Acknowledge, 1), t(4)).is_none(),
            "closed"
        );
        assert!(n.offer(ev(Action::Trigger, 2), t(5)).is_some());
        assert!(
            n.offer(ev(Action::Acknowledge, 2), t(6)).is_some(),
            "a new opening may be acknowledged again"
        );
    }

    #[test]
    fn a_resolve_of_an_unknown_condition_goes_out() {
        let mut n = Noise::default();
        assert!(n.offer(ev(Action::Resolve, 1), t(0)).is_some());
    }

    #[test]
    fn flapping_is_one_incident_with_a_count() {
        let mut n = Noise::default();
        let mut sent = Vec::new();
        for i in 0..10 {
            sent.extend(n.offer(ev(Action::Trigger, 1), t(i * 10)));
            sent.extend(n.offer(ev(Action::Resolve, 1), t(i * 10 + 5)));
        }
        // Open, close, open, close, open (flapping) — then quiet.
        let actions: Vec<Action> = sent.iter().map(|e| e.action).collect();
        assert_eq!(
            actions,
            [
                Action::Trigger,
                Action::Resolve,
                Action::Trigger,
                Action::Resolve,
                Action::Trigger
            ]
        );
        assert_eq!(sent[4].count, 3);
        assert!(n.tick(t(100)).is_empty(), "not quiet yet");
        let due = n.tick(t(95 + 600));
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].action, Action::Resolve);
        assert_eq!(due[0].count, 10, "{due:?}");
        assert!(
            n.offer(ev(Action::Trigger, 1), t(2000)).is_some(),
            "a new incident later"
        );
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut n = Noise::default();
        n.offer(ev(Action::Trigger, 1), t(0));
        let back: Noise =
            serde_json::from_str(&serde_json::to_string(&n).expect("ser")).expect("de");
        assert_eq!(back, n);
    }
}
