//! The check loop on tokio's paused clock: when runs happen (offset, fast interval while a
//! change is pending, normal interval), and that a pushed event runs a check at once.
//! An `iface` check over a link table the test controls needs no real I/O.

use super::*;
use crate::model::{CheckName, Layer, SiteId};
use crate::probe::defs::{IfaceSpec, Timing};
use crate::probe::kinds::Outcome;
use crate::probe::kinds::iface::{LinkState, LinkTable};
use crate::probe::machine::Transition;
use tokio::sync::watch;
use tokio::time::Instant;

fn table(carrier: bool) -> Arc<LinkTable> {
    let state = LinkState {
        index: 7,
        admin_up: true,
        lower_up: carrier,
        carrier: Some(carrier),
        oper: if carrier { "Up" } else { "LowerLayerDown" }.into(),
    };
    Arc::new([("va".to_owned(), state)].into())
}

fn def() -> Arc<CheckDef> {
    Arc::new(CheckDef {
        name: CheckName::from("transit"),
        site: Some(SiteId::from("bj")),
        layer: Layer::Link,
        line: 1,
        timing: Timing {
            interval: Duration::from_secs(1),
            fast_interval: Some(Duration::from_millis(100)),
            timeout: Duration::from_millis(50),
            rise: 2,
            fall: 3,
            loss_window: 10,
            down_ratio: 1.0,
            up_ratio: 0.2,
            silence: 5,
            jitter: Duration::ZERO,
        },
        kind: CheckKind::Iface(IfaceSpec { iface: "va".into() }),
    })
}

/// Receives the next report and the paused-clock time since `t0` at which it arrived.
async fn next(rx: &mut mpsc::Receiver<Report>, t0: Instant) -> (Duration, Report) {
    let r = rx.recv().await.expect("report");
    (t0.elapsed(), r)
}

#[tokio::test(start_paused = true)]
async fn fast_interval_confirms_and_events_run_at_once() {
    let (link_tx, link_rx) = watch::channel(table(true));
    let mut shared = Shared::new(&[]).expect("shared");
    shared.links = Some(link_rx);
    let probe = Probe::new(def(), Arc::new(shared));
    let (tx, mut rx) = mpsc::channel(16);
    let stop = CancellationToken::new();
    let t0 = Instant::now();
    tokio::spawn(check_task(0, probe, tx, stop.clone()));

    let ms = Duration::from_millis;
    // Event-driven: first run at once; unknown is pending, so the second comes a fast interval later.
    let (t, r) = next(&mut rx, t0).await;
    assert_eq!((t, r.state, r.transition), (ms(0), Health::Unknown, None));
    let (t, r) = next(&mut rx, t0).await;
    assert_eq!((t, r.state, r.streak), (ms(100), Health::Up, 2));
    // Settled: back to the normal interval.
    let (t, r) = next(&mut rx, t0).await;
    assert_eq!((t, r.state), (ms(1100), Health::Up));

    // Carrier lost at 1.5 s: the event runs the check at once, then fast runs confirm.
    tokio::time::sleep_until(t0 + ms(1500)).await;
    link_tx.send(table(false)).expect("send");
    let (t, r) = next(&mut rx, t0).await;
    assert_eq!((t, r.outcome.ok, r.state), (ms(1500), false, Health::Up));
    let (t, r) = next(&mut rx, t0).await;
    assert_eq!((t, r.state), (ms(1600), Health::Up));
    let (t, r) = next(&mut rx, t0).await;
    assert_eq!(
        (t, r.state, r.streak),
        (ms(1700), Health::Down, 3),
        "down after fall - 1 fast intervals"
    );
    assert_eq!(
        r.transition.map(|t| (t.from, t.to)),
        Some((Health::Up, Health::Down))
    );
    let (t, _) = next(&mut rx, t0).await;
    assert_eq!(t, ms(2700), "settled down: normal interval again");
    stop.cancel();
}

#[test]
fn apply_signals_an_observation_only_on_transitions() {
    let status = StatusHandle::default();
    *status.0.lock().expect("lock") = vec![initial_status(&def())];
    let report = |ok: bool, transition| Report {
        index: 0,
        outcome: if ok {
            Outcome::pass(None, "up")
        } else {
            Outcome::fail(None, "down")
        },
        state: if ok { Health::Up } else { Health::Down },
        transition,
        streak: 1,
        degraded: false,
        silent: false,
        down_by: None,
    };
    assert!(
        !apply(&status, report(true, None)),
        "no change, no observation"
    );
    let change = Transition {
        from: Health::Unknown,
        to: Health::Up,
    };
    assert!(apply(&status, report(true, Some(change))));
    let st = &status.snapshot()[0];
    assert_eq!((st.runs, st.failures, st.state), (2, 0, Health::Up));
    assert!(!apply(&status, report(false, None)));
    let st = &status.snapshot()[0];
    assert_eq!(
        (st.failures, st.last_error.as_deref(), st.state),
        (1, Some("down"), Health::Down)
    );
}

/// Thousands of checks each hold one task: keep its future small (kind futures are boxed).
#[tokio::test]
async fn check_task_stays_small() {
    let shared = Arc::new(Shared::new(&[]).expect("shared"));
    let probe = Probe::new(def(), shared);
    let (tx, _rx) = mpsc::channel(1);
    let fut = check_task(0, probe, tx, CancellationToken::new());
    let size = std::mem::size_of_val(&fut);
    assert!(size <= 1536, "check task future is {size} bytes");
}
