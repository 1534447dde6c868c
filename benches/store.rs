//! Durability costs: one embedded-store commit (temp file, fsync, rename, directory fsync),
//! one audit append (write + fsync), and a whole operator switch over the admin API
//! (HTTP, token, decision task, audit, commit, publish, reply).
//!
//! Run: `cargo bench --bench store`. Figures depend on the disk's fsync latency.

// `criterion_group!` generates a public function that cannot carry a doc comment.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;
use switchback::model::{
    Committed, Decision, DecisionKind, Epoch, OperatorState, ServiceRecord, Timestamp,
};
use switchback::node::{Listeners, run};
use switchback::policy::{AuditRecord, Command, Input};
use switchback::store::{AuditLog, DecisionStore, Election, EmbeddedStore};
use tokio_util::sync::CancellationToken;

fn committed(epoch: u64) -> ServiceRecord {
    ServiceRecord {
        committed: Committed {
            decision: Decision {
                service: "crm".into(),
                active_site: if epoch.is_multiple_of(2) { "sh" } else { "bj" }.into(),
                epoch: Epoch(epoch),
                kind: DecisionKind::Operator,
                reason: "bench".into(),
                at: Timestamp(epoch),
            },
            operator: OperatorState::default(),
            damping: Default::default(),
            pending: None,
        },
        health: Default::default(),
    }
}

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let s = EmbeddedStore::open(dir.path()).expect("open");
    let lead = rt.block_on(s.campaign(&"bench-1".into())).expect("lead");
    let mut epoch = 0;
    c.bench_function("store_commit", |b| {
        b.iter(|| {
            epoch += 1;
            rt.block_on(s.commit(&lead, &committed(epoch)))
                .expect("commit");
        })
    });
    let record = AuditRecord::input(
        Timestamp(1),
        Input::Command(Command::Reject {
            service: "crm".into(),
            by: "bench".into(),
        }),
    );
    c.bench_function("store_append_audit", |b| {
        b.iter(|| {
            rt.block_on(s.append(std::slice::from_ref(&record)))
                .expect("append")
        })
    });
}

const CONFIG: &str = r#"
[node]
id = "bench-1"
site = "bj"
roles = ["authority"]
state_dir = "STATE"

[dns]
listen = ["127.0.0.1:0"]
zones = ["boss.example.zone"]

[admin]
listen = "127.0.0.1:0"
token_file = "admin.token"

[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

[[service]]
name = "crm"
names = ["crm.boss.example."]
addresses = { bj = ["127.0.1.10"], sh = ["127.0.2.10"] }
probes = "probes.toml"
"#;

fn switch_over_api(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("admin.token"), "bench").expect("token");
    std::fs::write(d.join("probes.toml"), "").expect("probes");
    std::fs::write(
        d.join("boss.example.zone"),
        "$ORIGIN boss.example.\n$TTL 300\n@ IN SOA ns1 noc 1 3600 600 86400 10\n@ IN NS ns1\nns1 IN A 127.0.0.1\n",
    )
    .expect("zone");
    let text = CONFIG.replace("STATE", &d.join("state").display().to_string());
    std::fs::write(d.join("switchback.toml"), text).expect("config");
    let cfg = switchback::config::load(&d.join("switchback.toml"), Some(Default::default()))
        .unwrap_or_else(|e| panic!("{e}"));
    let shutdown = CancellationToken::new();
    let (url, node) = rt.block_on(async {
        let listeners = Listeners::bind(&cfg).await.expect("bind");
        let url = format!("http://{}", listeners.admin.local_addr().expect("addr"));
        (url, tokio::spawn(run(cfg, listeners, shutdown.clone())))
    });
    let http = reqwest::Client::new();
    let mut to_sh = true;
    c.bench_function("switch_over_admin_api", |b| {
        b.iter(|| {
            let to = if to_sh { "sh" } else { "bj" };
            to_sh = !to_sh;
            let body = format!(r#"{{"to":"{to}","reason":"bench","force":true}}"#);
            let status = rt.block_on(async {
                http.post(format!("{url}/v1/services/crm/switch"))
                    .bearer_auth("bench")
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("send")
                    .status()
            });
            assert!(status.is_success(), "{status}");
        })
    });
    shutdown.cancel();
    rt.block_on(node).expect("join").expect("node");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = store, switch_over_api
}
criterion_main!(benches);
