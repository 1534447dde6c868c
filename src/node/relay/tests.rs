//! The relay over a real (embedded) board, on tokio's paused clock.

use super::*;
use crate::store::battery::vote;
use crate::store::{EmbeddedStore, LeaderInfo};

const GRACE: Duration = Duration::from_millis(500);
const TTL: Duration = Duration::from_secs(2);

fn led_by(node: &str) -> Standing {
    Standing {
        cluster: true,
        stale_since: None,
        leader: Some(LeaderInfo {
            node: node.into(),
            admin: None,
        }),
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    board: Arc<dyn VoteBoard>,
    relay: Arc<dyn VoteBoard>,
    standing: watch::Sender<Standing>,
    stats: Arc<RelayStats>,
    _stop: tokio_util::sync::DropGuard,
}

/// A relay for node `a2` over an embedded board, with `leader` leading.
fn rig(leader: &str) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let board: Arc<dyn VoteBoard> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let (standing, rx) = watch::channel(led_by(leader));
    let stats = Arc::new(RelayStats::default());
    let stop = CancellationToken::new();
    let (relay, task) = start(
        Arc::clone(&board),
        "a2".into(),
        rx,
        GRACE,
        Arc::clone(&stats),
        stop.clone(),
    );
    tokio::spawn(task);
    Rig {
        _dir: dir,
        board,
        relay,
        standing,
        stats,
        _stop: stop.drop_guard(),
    }
}

/// The next vote put on the board: node and sequence.
async fn next_put(w: &mut VoteWatch) -> (String, u64) {
    loop {
        if let VoteChange::Put(v) = w.changes.recv().await.unwrap() {
            return (v.observation.node.to_string(), v.observation.seq);
        }
    }
}

fn count(n: &AtomicU64) -> u64 {
    n.load(Ordering::Relaxed)
}

#[tokio::test(start_paused = true)]
async fn the_leader_publishes_a_pushed_vote_at_once() {
    let r = rig("a2");
    r.relay.publish(&vote("p1", 1), TTL).await.unwrap();
    let on_board = r.board.watch_votes().await.unwrap().current;
    assert_eq!(on_board.len(), 1);
    assert_eq!(count(&r.stats.published), 0, "not held, so not relayed");
}

#[tokio::test(start_paused = true)]
async fn a_follower_publishes_what_the_board_lacks_after_the_grace() {
    let r = rig("a1");
    let mut w = r.board.watch_votes().await.unwrap();
    let start = Instant::now();
    r.relay.publish(&vote("p1", 1), TTL).await.unwrap();
    r.relay.publish(&vote("p1", 2), TTL).await.unwrap();
    assert_eq!(
        next_put(&mut w).await,
        ("p1".into(), 2),
        "the newest held goes out"
    );
    assert!(start.elapsed() >= GRACE, "held for {:?}", start.elapsed());
    assert_eq!(count(&r.stats.published), 1);
    assert_eq!(count(&r.stats.superseded), 1);
}

#[tokio::test(start_paused = true)]
async fn a_follower_does_not_publish_what_the_leader_put() {
    let r = rig("a1");
    let mut w = r.board.watch_votes().await.unwrap();
    // The leader heard p1 and put it; this follower got the same push.
    r.board.publish(&vote("p1", 7), TTL).await.unwrap();
    r.relay.publish(&vote("p1", 7), TTL).await.unwrap();
    // p2 reached only this follower.
    r.relay.publish(&vote("p2", 1), TTL).await.unwrap();
    assert_eq!(next_put(&mut w).await, ("p1".into(), 7));
    assert_eq!(next_put(&mut w).await, ("p2".into(), 1));
    tokio::time::sleep(GRACE * 4).await;
    assert!(w.changes.is_empty(), "p1 was put a second time");
    assert_eq!(count(&r.stats.published), 1);
    assert_eq!(count(&r.stats.on_board), 1);
}

#[tokio::test(start_paused = true)]
async fn a_follower_that_becomes_leader_publishes_what_it_held_at_once() {
    let r = rig("a1");
    let mut w = r.board.watch_votes().await.unwrap();
    r.relay.publish(&vote("p1", 3), TTL).await.unwrap();
    tokio::task::yield_now().await;
    let start = Instant::now();
    r.standing.send_replace(led_by("a2"));
    assert_eq!(next_put(&mut w).await, ("p1".into(), 3));
    assert!(start.elapsed() < GRACE, "waited {:?}", start.elapsed());
    // Leading, it publishes new pushes itself.
    r.relay.publish(&vote("p1", 4), TTL).await.unwrap();
    assert_eq!(next_put(&mut w).await, ("p1".into(), 4));
}
