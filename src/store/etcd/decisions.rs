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
        records.insert(r.service().clone(), r);
    }
    Ok((records, revision))
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
    let leader_key = {
        let leaders = inner.leaders.lock().unwrap_or_else(|p| p.into_inner());
        leaders.get(&leadership.fence()).map(|k| k.key().to_vec())
    };
    let Some(leader_key) = leader_key else {
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
        if !may_replace(stored.as_ref(), next) {
            return Err(StoreError::Fenced {
                service: service.clone(),
                stored: stored.map(|s| s.epoch()).unwrap_or_default(),
                offered: next.epoch(),
            });
        }
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
        let still_leads = resp.op_responses().into_iter().any(|r| match r {
            TxnOpResponse::Get(g) => g.kvs().iter().any(|k| k.create_revision() == fence),
            _ => false,
        });
        if !still_leads {
            leadership.end();
            return Err(deposed());
        }
        // Another write to the record came between our read and the transaction: check again.
    }
}
