//! Alert spool under a burst: 10,000 distinct alerts raised at once through the real feed
//! (noise control, one fsynced append per batch), the disk they take, then how fast one
//! webhook worker drains them to a local HTTP receiver (in order, one POST at a time).
//! Also the worst case of one fsync per alert (events trickling in one by one).
//!
//!   cargo bench --features etcd --bench alert_spool [-- EVENTS]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use switchback::alert::{self, Action, AlertEvent, spool::Spool};
use switchback::config::{AlertFilter, AlertSink, Severity, SinkKind};
use switchback::model::{NodeId, Timestamp};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn event(i: usize) -> AlertEvent {
    AlertEvent::new(
        "failover",
        "failover",
        Action::Trigger,
        format!("failover/svc{i}"),
        Severity::Critical,
        format!("svc{i} switched bj → sh (epoch 2, failover)"),
        NodeId::from("bench-1"),
        Timestamp::now(),
    )
    .service(&format!("svc{i}").as_str().into())
    .epoch(switchback::model::Epoch(2))
    .reason("failover: bj down: app down 3/3, host up, link up from 3 counting probes in 3 domains")
}

fn queue_lines(path: &std::path::Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tempdir");

    // A local receiver that counts.
    let got = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let c = Arc::clone(&counter);
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let sink = AlertSink {
        name: "hook".into(),
        kind: SinkKind::Webhook {
            url: format!("http://{addr}/hook"),
            headers: Default::default(),
            hmac_secret_file: None,
        },
        filter: AlertFilter::default(),
        timeout: Duration::from_secs(10),
        max_age: Duration::from_secs(3600),
    };
    let parts =
        alert::start(&[sink], NodeId::from("bench-1"), dir.path(), Timestamp::now).expect("start");
    let shutdown = CancellationToken::new();
    tokio::spawn(parts.feed.run(shutdown.clone()));
    let queue = dir.path().join("alerts/hook/queue.jsonl");

    // 1. The burst, spooled (no worker yet, so nothing leaves the queue).
    let started = Instant::now();
    for i in 0..n {
        assert!(parts.raise.raise(event(i)), "raise {i}");
    }
    let raised = started.elapsed();
    while queue_lines(&queue) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let spooled = started.elapsed();
    let bytes = std::fs::metadata(&queue).map(|m| m.len()).unwrap_or(0);
    println!(
        "burst of {n}: raised in {:.1} ms, all spooled (fsynced) in {:.1} ms = {:.0} alerts/s; \
         queue.jsonl {:.2} MB ({} B/alert)",
        raised.as_secs_f64() * 1e3,
        spooled.as_secs_f64() * 1e3,
        n as f64 / spooled.as_secs_f64(),
        bytes as f64 / 1e6,
        bytes / n.max(1) as u64
    );

    // 2. Drain: one worker delivers them in order.
    let started = Instant::now();
    for w in parts.workers {
        tokio::spawn(w.run(shutdown.clone()));
    }
    while got.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let drained = started.elapsed();
    // The last ack lands just after the last POST.
    tokio::time::sleep(Duration::from_millis(50)).await;
    println!(
        "drained {n} to a local webhook in {:.2} s = {:.0} alerts/s (in order, one POST at a time, \
         cursor fsync every 64 acks); queue.jsonl after: {} B",
        drained.as_secs_f64(),
        n as f64 / drained.as_secs_f64(),
        std::fs::metadata(&queue).map(|m| m.len()).unwrap_or(0)
    );
    shutdown.cancel();

    // 3. Worst case: alerts trickling in one at a time, one fsync each.
    let one = 1000.min(n);
    let d2 = tempfile::tempdir().expect("tempdir");
    let (mut spool, _) = Spool::open(d2.path()).expect("spool");
    let started = Instant::now();
    for i in 0..one {
        spool
            .append(vec![event(i)], Timestamp::now())
            .expect("append");
    }
    let t = started.elapsed();
    println!(
        "one fsync per alert: {one} appends in {:.1} ms = {:.0} alerts/s ({:.3} ms each)",
        t.as_secs_f64() * 1e3,
        one as f64 / t.as_secs_f64(),
        t.as_secs_f64() * 1e3 / one as f64
    );
}
