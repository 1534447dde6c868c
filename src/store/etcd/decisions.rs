//! Committed records in etcd: one key per service; a commit is one transaction that holds
//! only while this node's leadership key exists with its fence (create revision) and the
//! record is the one [`may_replace`] was checked against (mod revision), so a deposed
//! leader's late write fails.

use super::{Inner, Keys, timed};
use crate::model::{ServiceId, ServiceRecord};
use crate::store::{Leadership, StoreError, may_replace};
use etcd_client::{Client, Compare, CompareOp, GetOptions, KeyValue, Txn, TxnOp, TxnOpResponse};
use std::collections::BTreeMap;
use std::time::Duration;

/// Decode one decision key; the service in the key must match the record.
pub(super) fn decode(keys: &Keys, kv: &KeyValue) -> Result<ServiceRecord, StoreError> {
    let key = String::from_utf8_lossy(kv.key()).into_owned();
    let record: ServiceRecord =
        serde_json::from_slice(kv.value()).map_err(|e| StoreError::CorruptKey {
            key: key.clone(),
            detail: e.to_string(),
        })?;
    if keys.decision(record.service()) != key {
        return Err(StoreError::CorruptKey {
            key,
            detail: format!("holds a record of service {}", record.service()),
        });
    }
    Ok(record)
}

/// Every committed record and the revision they were read at.
pub(super) async fn load_all(
    client: &Client,
    keys: &Keys,
    timeout: Duration,
) -> Result<(BTreeMap<ServiceId, ServiceRecord>, i64), StoreError> {
    let (stored, revision) = read_all(client, keys, timeout).await?;
    let records = stored.into_iter().map(|(s, (r, _))| (s, r)).collect();
    Ok((records, revision))
}

/// Every committed record with the revision its key was last changed at (what a
/// compare-and-swap checks), and the revision they were read at.
async fn read_all(
    client: &Client,
    keys: &Keys,
    timeout: Duration,
) -> Result<(BTreeMap<ServiceId, (ServiceRecord, i64)>, i64), StoreError> {
    let prefix = keys.decisions();
    let mut kv = client.kv_client();
    let resp = timed(
        timeout,
        "get",
        &prefix,
        kv.get(prefix.clone(), Some(GetOptions::new().with_prefix())),
    )
    .await?;
    let revision = resp.header().map(|h| h.revision()).unwrap_or_default();
    let mut records = BTreeMap::new();
    for kv in resp.kvs() {
        let r = decode(keys, kv)?;
        records.insert(r.service().clone(), (r, kv.mod_revision()));
    }
    Ok((records, revision))
}

/// The leadership key this node campaigned with, while its leadership holds.
fn leader_key(inner: &Inner, leadership: &Leadership) -> Option<Vec<u8>> {
    let leaders = inner.leaders.lock().unwrap_or_else(|p| p.into_inner());
    leaders.get(&leadership.fence()).map(|k| k.key().to_vec())
}

/// At most this many records go in one transaction (etcd's `--max-txn-ops` defaults to 128
/// and counts compares and puts separately).
const BATCH: usize = 100;

/// Commit several records in one transaction per [`BATCH`]: one read of every record, then
/// puts that hold only while the leadership does and each record is the one read. Used for the
/// serving health of many services changing at once (a lost quorum touches every service),
/// which one commit each would serialise into two round trips per service. A batch whose
/// transaction fails while this node still leads (a record changed in between) is committed
/// record by record, which checks again.
pub(super) async fn commit_all(
    inner: &Inner,
    leadership: &Leadership,
    next: &[ServiceRecord],
) -> Result<(), StoreError> {
    let mut services: Vec<&ServiceId> = next.iter().map(ServiceRecord::service).collect();
    services.sort();
    services.dedup();
    // etcd refuses a transaction that puts one key twice: such a batch goes record by record.
    if next.len() < 2 || services.len() < next.len() {
        for r in next {
            commit(inner, leadership, r).await?;
        }
        return Ok(());
    }
    let deposed = |service: &ServiceId| StoreError::Deposed {
        service: service.clone(),
        node: leadership.node().clone(),
    };
    let first = next[0].service();
    let leader_key = leader_key(inner, leadership).ok_or_else(|| deposed(first))?;
    if leadership.is_lost() {
        return Err(deposed(first));
    }
    let (stored, _) = read_all(&inner.client, &inner.keys, inner.timeout).await?;
    let prefix = inner.keys.decisions();
    let mut kv = inner.client.kv_client();
    let fence = i64::try_from(leadership.fence()).unwrap_or(i64::MAX);
    for batch in next.chunks(BATCH) {
        let mut compares = vec![Compare::create_revision(
            leader_key.clone(),
            CompareOp::Equal,
            fence,
        )];
        let mut puts = Vec::with_capacity(batch.len());
        for record in batch {
            let key = inner.keys.decision(record.service());
            let old = stored.get(record.service());
            may_replace(old.map(|(r, _)| r), record)?;
            let value = serde_json::to_vec(record).map_err(|e| StoreError::CorruptKey {
                key: key.clone(),
                detail: e.to_string(),
            })?;
            let revision = old.map(|(_, rev)| *rev).unwrap_or_default();
            compares.push(Compare::mod_revision(
                key.clone(),
                CompareOp::Equal,
                revision,
            ));
            puts.push(TxnOp::put(key, value, None));
        }
        let txn = Txn::new()
            .when(compares)
            .and_then(puts)
            .or_else([TxnOp::get(leader_key.clone(), None)]);
        let resp = timed(inner.timeout, "txn", &prefix, kv.txn(txn)).await?;
        if resp.succeeded() {
            continue;
        }
        if !still_leads(&resp, fence) {
            leadership.end();
            return Err(deposed(batch[0].service()));
        }
        for record in batch {
            commit(inner, leadership, record).await?;
        }
    }
    Ok(())
}

/// Whether a failed transaction's `or_else` read found this leadership's key.
fn still_leads(resp: &etcd_client::TxnResponse, fence: i64) -> bool {
    resp.op_responses().into_iter().any(|r| match r {
        TxnOpResponse::Get(g) => g.kvs().iter().any(|k| k.create_revision() == fence),
        _ => false,
    })
}

pub(super) async fn commit(
    inner: &Inner,
    leadership: &Leadership,
    next: &ServiceRecord,
) -> Result<(), StoreError> {
    let service = next.service();
    let deposed = || StoreError::Deposed {
        service: service.clone(),
        node: leadership.node().clone(),
    };
    let Some(leader_key) = leader_key(inner, leadership) else {
        return Err(deposed());
    };
    let key = inner.keys.decision(service);
    let value = serde_json::to_vec(next).map_err(|e| StoreError::CorruptKey {
        key: key.clone(),
        detail: e.to_string(),
    })?;
    let mut kv = inner.client.kv_client();
    loop {
        if leadership.is_lost() {
            return Err(deposed());
        }
        let resp = timed(inner.timeout, "get", &key, kv.get(key.clone(), None)).await?;
        let (stored, revision) = match resp.kvs().first() {
            Some(found) => (Some(decode(&inner.keys, found)?), found.mod_revision()),
            None => (None, 0),
        };
        may_replace(stored.as_ref(), next)?;
        let fence = i64::try_from(leadership.fence()).unwrap_or(i64::MAX);
        let txn = Txn::new()
            .when([
                Compare::create_revision(leader_key.clone(), CompareOp::Equal, fence),
                Compare::mod_revision(key.clone(), CompareOp::Equal, revision),
            ])
            .and_then([TxnOp::put(key.clone(), value.clone(), None)])
            .or_else([TxnOp::get(leader_key.clone(), None)]);
        let resp = timed(inner.timeout, "txn", &key, kv.txn(txn)).await?;
        if resp.succeeded() {
            return Ok(());
        }
        if !still_leads(&resp, fence) {
            leadership.end();
            return Err(deposed());
        }
        // Another write to the record came between our read and the transaction: check again.
    }
}
