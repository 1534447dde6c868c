//! Cost of one tally + policy step: 100 services x 10 probes, one observation handled.
//!
//! `cargo bench --bench decide`. Three cases: a steady heartbeat (nothing changes), a heartbeat
//! whose view changed (bj down for one service: hold-down starts), and verify + decide (HMAC too).

#[path = "../tests/support/fixture.rs"]
mod fixture;

use criterion::{BatchSize, Criterion, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use switchback::model::{Health, Observation, Timestamp};
use switchback::policy::{Engine, Input};
use switchback::tally::Verifier;

const SERVICES: usize = 100;
const PROBES: usize = 10;

/// Probe `probe` sees both sites up and every service up, except bj for the first `bj_down`.
fn observation(probe: usize, seq: u64, at: u64, names: &[String], bj_down: usize) -> Observation {
    let up = fixture::view(Health::Up, Health::Up, Health::Up);
    let o = fixture::obs(&format!("p{probe}"), &format!("d{}", probe % 3), seq, at)
        .site("bj", up.clone())
        .site("sh", up);
    names
        .iter()
        .enumerate()
        .fold(o, |o, (i, n)| {
            let bj = if i < bj_down {
                Health::Down
            } else {
                Health::Up
            };
            o.service(n, "bj", bj).service(n, "sh", Health::Up)
        })
        .build()
}

/// An engine after every probe reported all services up once.
fn warm() -> (Engine, Vec<String>, u64) {
    let names: Vec<String> = (0..SERVICES).map(|i| format!("svc{i}")).collect();
    let cfg = fixture::config_owned(&names, fixture::voters(PROBES, 3), fixture::policy());
    let t0 = 1_000_000;
    let (mut engine, _) = Engine::new(&cfg, BTreeMap::new(), Timestamp(t0));
    for p in 0..PROBES {
        let o = observation(p, 1, t0, &names, 0);
        let _ = engine.handle(Input::Observation(o), Timestamp(t0));
    }
    (engine, names, t0)
}

fn bench(c: &mut Criterion) {
    let (mut engine, names, t0) = warm();
    let mut seq = 1;
    let mut now = t0;
    c.bench_function("decide/heartbeat 100 services x 10 probes", |b| {
        b.iter_batched(
            || {
                seq += 1;
                now += 10;
                (
                    observation((seq as usize) % PROBES, seq, now, &names, 0),
                    now,
                )
            },
            |(o, at)| black_box(engine.handle(Input::Observation(o), Timestamp(at))),
            BatchSize::SmallInput,
        )
    });

    let (mut engine, names, t0) = warm();
    let mut seq = 1;
    let mut now = t0;
    c.bench_function("decide/view change 100 services x 10 probes", |b| {
        b.iter_batched(
            || {
                seq += 1;
                now += 10;
                // Alternate one service's bj between down and up, so every step changes a view.
                let o = observation(
                    (seq as usize) % PROBES,
                    seq,
                    now,
                    &names,
                    (seq % 2) as usize,
                );
                (o, now)
            },
            |(o, at)| black_box(engine.handle(Input::Observation(o), Timestamp(at))),
            BatchSize::SmallInput,
        )
    });

    let (mut engine, names, t0) = warm();
    let voters = fixture::voters(PROBES, 3);
    let mut verifier = Verifier::new(
        vec![b"bench-key".to_vec()],
        &voters,
        std::time::Duration::from_secs(1),
    );
    let mut seq = 1;
    let mut now = t0;
    c.bench_function("decide/verify + heartbeat 100 services x 10 probes", |b| {
        b.iter_batched(
            || {
                seq += 1;
                now += 10;
                let o = observation((seq as usize) % PROBES, seq, now, &names, 0);
                (Verifier::sign(b"bench-key", &o), now)
            },
            |(s, at)| {
                if let Ok(o) = verifier.verify(&s, Timestamp(at)) {
                    black_box(engine.handle(Input::Observation(o), Timestamp(at))).ok();
                }
            },
            BatchSize::SmallInput,
        )
    });
}

mod group {
    //! criterion's macro generates an undocumented `pub fn`; keep the allowance this narrow.
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::bench);
}

criterion_main!(group::benches);
