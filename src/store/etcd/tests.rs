//! The shared battery on a real etcd (one member per test process, a fresh prefix per store),
//! plus the etcd-only cases: two candidates, fencing of a deposed leader by another's lease.

use super::*;
use crate::config::OnIsolation;
use crate::store::battery::{AnyStore, Factory, committed};
use crate::store::{Election, StoreError};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

#[path = "../../../tests/support/etcd.rs"]
mod support;

/// One etcd for the whole test process (tests are threads; `sh` kills it when we exit).
fn etcd() -> Option<&'static support::EtcdCluster> {
    static ETCD: OnceLock<Option<support::EtcdCluster>> = OnceLock::new();
    ETCD.get_or_init(|| support::available().then(|| support::EtcdCluster::start(1)))
        .as_ref()
}

pub(crate) fn settings(endpoints: Vec<String>, prefix: &str, ttl: Duration) -> EtcdSettings {
    EtcdSettings {
        endpoints,
        prefix: prefix.to_owned(),
        lease_ttl: ttl,
        options: EtcdOptions {
            dial_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
            tls: None,
            auth: None,
            on_isolation: OnIsolation::Keep,
            advertise: None,
        },
    }
}

fn unique_prefix() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "/s9-test/{}-{}/",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Fresh stores under fresh prefixes; real time passes (etcd's lease clock).
#[derive(Default)]
struct Prefixes {
    current: Option<(String, tempfile::TempDir)>,
}

impl Prefixes {
    async fn open(&self) -> EtcdStore {
        let (prefix, dir) = self.current.as_ref().expect("fresh first");
        let endpoints = etcd().expect("etcd").endpoints();
        EtcdStore::open(
            &settings(endpoints, prefix, Duration::from_secs(2)),
            None,
            dir.path(),
        )
        .await
        .unwrap()
    }
}

#[async_trait]
impl Factory for Prefixes {
    async fn fresh(&mut self) -> Arc<dyn AnyStore> {
        self.current = Some((unique_prefix(), tempfile::tempdir().unwrap()));
        Arc::new(self.open().await)
    }

    async fn reopen(&mut self) -> Arc<dyn AnyStore> {
        Arc::new(self.open().await)
    }

    async fn pass(&mut self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// Skips (or fails under CI=true) without etcd; else the factory.
fn factory() -> Prefixes {
    if etcd().is_none() {
        panic!("etcd missing; see the message above");
    }
    Prefixes::default()
}

mod battery {
    use super::*;
    store_battery!(factory());
}

#[tokio::test]
async fn second_candidate_leads_after_the_first_resigns_and_old_fence_is_refused() {
    let Some(e) = etcd() else { return };
    let dir = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let prefix = unique_prefix();
    let s = settings(e.endpoints(), &prefix, Duration::from_secs(2));
    let a = EtcdStore::open(&s, Some("http://a".into()), dir.0.path())
        .await
        .unwrap();
    let b = EtcdStore::open(&s, Some("http://b".into()), dir.1.path())
        .await
        .unwrap();
    let la = a.campaign(&"a".into()).await.unwrap();
    a.commit(&la, &committed("crm", "bj", 1)).await.unwrap();
    let b2 = b.clone();
    let waiting = tokio::spawn(async move { b2.campaign(&"b".into()).await.unwrap() });
    // b waits while a leads; a's standing names a as leader once it checks.
    let mut st = b.standing();
    st.wait_for(|s| s.leader.as_ref().is_some_and(|l| l.node.as_str() == "a"))
        .await
        .unwrap();
    assert!(!waiting.is_finished());
    // a's lease vanishes behind its back (as after a long pause): b takes over, and a's late
    // write under the leadership it still believes in is refused by etcd's transaction.
    let lease = a.inner.leaders.lock().unwrap()[&la.fence()].lease();
    let mut client = etcd_client::Client::connect(e.endpoints(), None)
        .await
        .unwrap();
    client.lease_revoke(lease).await.unwrap();
    let lb = waiting.await.unwrap();
    assert!(lb.fence() > la.fence(), "a later leader has a higher fence");
    b.commit(&lb, &committed("crm", "sh", 2)).await.unwrap();
    match a.commit(&la, &committed("crm", "bj", 3)).await {
        Err(StoreError::Deposed { .. }) => {}
        other => panic!("deposed leader's late write not refused: {other:?}"),
    }
    let mut w = a.watch();
    let seen = w
        .wait_for(|r| r.get(&"crm".into()).is_some_and(|c| c.epoch().0 == 2))
        .await
        .unwrap()
        .clone();
    assert_eq!(seen[&"crm".into()], committed("crm", "sh", 2));
}

/// A record whose pending proposal does not parse stops the open with its key and the cause
/// (never read as "nothing pending").
#[tokio::test]
async fn corrupt_pending_proposal_names_its_key() {
    let Some(e) = etcd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique_prefix();
    let mut record = serde_json::to_value(committed("crm", "bj", 1)).unwrap();
    record["pending"] = serde_json::json!({"to": "sh", "kind": "sideways", "since": 1,
        "deadline": 2, "reason": "x"});
    let key = format!("{prefix}decisions/crm");
    let mut client = etcd_client::Client::connect(e.endpoints(), None)
        .await
        .unwrap();
    client
        .put(key.clone(), record.to_string(), None)
        .await
        .unwrap();
    let s = settings(e.endpoints(), &prefix, Duration::from_secs(2));
    match EtcdStore::open(&s, None, dir.path()).await {
        Err(err @ StoreError::CorruptKey { .. }) => {
            let text = err.to_string();
            assert!(text.contains(&key) && text.contains("sideways"), "{text}");
        }
        Ok(_) => panic!("opened over a corrupt proposal"),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// `[audit]` rotation applies to the etcd store's local audit log too.
#[tokio::test]
async fn local_audit_log_rotates() {
    use crate::model::Timestamp;
    use crate::policy::{AuditRecord, Input};
    let Some(e) = etcd() else { return };
    let dir = tempfile::tempdir().unwrap();
    let s = settings(e.endpoints(), &unique_prefix(), Duration::from_secs(2));
    let store = EtcdStore::open(&s, None, dir.path()).await.unwrap();
    store.rotate_audit(512, 2);
    for at in 0..100 {
        store
            .append(&[AuditRecord::input(Timestamp(at), Input::Tick)])
            .await
            .unwrap();
    }
    assert!(dir.path().join("audit.jsonl.1").exists(), "rotated once");
    assert!(dir.path().join("audit.jsonl.2").exists(), "kept two");
    assert!(
        !dir.path().join("audit.jsonl.3").exists(),
        "no more than keep"
    );
}
