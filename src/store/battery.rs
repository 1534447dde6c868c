//! One test battery for every [`Store`]: the embedded store runs it now, an etcd store later.
//!
//! A [`Factory`] hands out a fresh, empty store and can reopen the same one (a restart).

use super::{HistoryQuery, Store, StoreError};
use crate::model::{Committed, Decision, DecisionKind, Epoch, OperatorState, Timestamp};
use async_trait::async_trait;
use serde_json::json;

/// Makes stores for the battery.
#[async_trait]
pub(crate) trait Factory: Send {
    /// A new, empty store.
    async fn fresh(&mut self) -> Box<dyn Store>;
    /// The last fresh store again, as a restarted node would open it.
    async fn reopen(&mut self) -> Box<dyn Store>;
}

/// A committed decision for tests.
pub(crate) fn committed(service: &str, site: &str, epoch: u64) -> Committed {
    Committed {
        decision: Decision {
            service: service.into(),
            active_site: site.into(),
            epoch: Epoch(epoch),
            kind: if epoch == 1 {
                DecisionKind::Initial
            } else {
                DecisionKind::Operator
            },
            reason: format!("test epoch {epoch}"),
            at: Timestamp(1_000 + epoch),
        },
        operator: OperatorState::default(),
    }
}

/// Run every battery test against stores from `factory`.
pub(crate) async fn run(factory: &mut dyn Factory) {
    empty_store_loads_nothing(factory).await;
    commit_survives_reopen(factory).await;
    cas_refuses_stale_epochs(factory).await;
    operator_state_update_at_same_epoch(factory).await;
    services_are_independent(factory).await;
    history_newest_first_filtered_limited(factory).await;
    batch_append_keeps_order(factory).await;
}

async fn batch_append_keeps_order(f: &mut dyn Factory) {
    let s = f.fresh().await;
    s.append_audit(&[]).await.unwrap();
    let batch: Vec<_> = (0..3).map(|n| json!({"at": n})).collect();
    s.append_audit(&batch).await.unwrap();
    s.append_audit(&[json!({"at": 3})]).await.unwrap();
    drop(s);
    let s = f.reopen().await;
    let ats: Vec<_> = s
        .history(&HistoryQuery::default())
        .await
        .unwrap()
        .iter()
        .map(|r| r["at"].as_u64())
        .collect();
    assert_eq!(ats, [3, 2, 1, 0].map(Some));
}

async fn empty_store_loads_nothing(f: &mut dyn Factory) {
    let s = f.fresh().await;
    assert!(s.load().await.unwrap().is_empty());
    assert!(
        s.history(&HistoryQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn commit_survives_reopen(f: &mut dyn Factory) {
    let s = f.fresh().await;
    s.commit(&committed("crm", "bj", 1)).await.unwrap();
    s.commit(&committed("crm", "sh", 2)).await.unwrap();
    drop(s);
    let s = f.reopen().await;
    let all = s.load().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[&"crm".into()], committed("crm", "sh", 2));
}

async fn cas_refuses_stale_epochs(f: &mut dyn Factory) {
    let s = f.fresh().await;
    s.commit(&committed("crm", "sh", 5)).await.unwrap();
    for stale in [committed("crm", "bj", 4), committed("crm", "bj", 5)] {
        match s.commit(&stale).await {
            Err(StoreError::Fenced {
                service,
                stored,
                offered,
            }) => {
                assert_eq!(service.as_str(), "crm");
                assert_eq!(stored, Epoch(5));
                assert_eq!(offered, stale.decision.epoch);
            }
            other => panic!(
                "stale commit at {} not fenced: {other:?}",
                stale.decision.epoch
            ),
        }
    }
    assert_eq!(
        s.load().await.unwrap()[&"crm".into()],
        committed("crm", "sh", 5)
    );
    drop(s);
    let s = f.reopen().await;
    assert_eq!(
        s.load().await.unwrap()[&"crm".into()],
        committed("crm", "sh", 5)
    );
}

async fn operator_state_update_at_same_epoch(f: &mut dyn Factory) {
    let s = f.fresh().await;
    let mut c = committed("crm", "bj", 3);
    s.commit(&c).await.unwrap();
    c.operator.maintenance = true;
    c.operator.held_out.insert("sh".into());
    s.commit(&c).await.unwrap();
    drop(s);
    let s = f.reopen().await;
    assert_eq!(s.load().await.unwrap()[&"crm".into()], c);
}

async fn services_are_independent(f: &mut dyn Factory) {
    let s = f.fresh().await;
    s.commit(&committed("crm", "sh", 9)).await.unwrap();
    s.commit(&committed("billing", "bj", 1)).await.unwrap();
    let all = s.load().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[&"billing".into()].decision.epoch, Epoch(1));
    assert_eq!(all[&"crm".into()].decision.epoch, Epoch(9));
}

async fn history_newest_first_filtered_limited(f: &mut dyn Factory) {
    let s = f.fresh().await;
    for n in 0..6 {
        let service = if n % 2 == 0 { "crm" } else { "billing" };
        let rec = json!({"at": n, "input": {"command": {"switch": {"service": service}}}});
        s.append_audit(std::slice::from_ref(&rec)).await.unwrap();
    }
    let all = s.history(&HistoryQuery::default()).await.unwrap();
    let ats: Vec<_> = all.iter().map(|r| r["at"].as_u64()).collect();
    assert_eq!(ats, [5, 4, 3, 2, 1, 0].map(Some));
    let q = HistoryQuery {
        service: Some("crm".into()),
        limit: Some(2),
    };
    let crm: Vec<_> = s.history(&q).await.unwrap();
    let ats: Vec<_> = crm.iter().map(|r| r["at"].as_u64()).collect();
    assert_eq!(ats, [4, 2].map(Some));
    drop(s);
    let s = f.reopen().await;
    assert_eq!(s.history(&HistoryQuery::default()).await.unwrap(), all);
}
