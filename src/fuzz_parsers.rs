//! Long mutation runs over the three parsers that face the outside: DNS messages (UDP/TCP
//! answer path), pushed vote bodies (JSON + HMAC verification) and config files (TOML +
//! env + validation). Ignored by default; run in release with a count:
//!
//! ```text
//! FUZZ_INPUTS=10000000 cargo test --release --features etcd --lib fuzz_parsers::dns -- --ignored --nocapture
//! ```
//!
//! Each input is a seed mutated by a few random edits (bit flip, byte set, insert, delete,
//! duplicate a span, splice from another seed, truncate, interesting values). A run fails on
//! the first panic or broken invariant, printing the input in hex; it prints its count and rate.

use tokio::time::Instant;

/// A small, fast PRNG (xorshift64*): the harness needs speed, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, b'"', b'[', b']', b'{', b'}', b'=', b'\n', b'.', b',',
];

/// One mutant of a random seed.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&seeds[rng.below(seeds.len())]);
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                out.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                out.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                let span = out[i..i + n].to_vec();
                let at = rng.below(len + 1);
                out.splice(at..at, span);
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let i = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - i).min(64));
                    let at = rng.below(len + 1);
                    out.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            6 if len > 0 => out.truncate(rng.below(len)),
            _ if len > 0 => {
                let i = rng.below(len);
                out[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            _ => out.push(rng.next() as u8),
        }
    }
}

/// Runs `FUZZ_INPUTS` (default 10,000) mutants through `target`; reports count and rate.
fn run(name: &str, seeds: Vec<Vec<u8>>, mut target: impl FnMut(&[u8]) -> Result<(), String>) {
    let total: u64 = std::env::var("FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_0001);
    let mut rng = Rng(seed | 1);
    let mut input = Vec::new();
    let start = Instant::now();
    for s in &seeds {
        if let Err(why) = target(s) {
            panic!("{name}: seed fails: {why}");
        }
    }
    for i in 0..total {
        mutate(&mut rng, &seeds, &mut input);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&input)));
        match r {
            Ok(Ok(())) => {}
            Ok(Err(why)) => panic!("{name}: input {i} ({}): {why}", hex::encode(&input)),
            Err(_) => panic!("{name}: input {i} panicked: {}", hex::encode(&input)),
        }
        if (i + 1) % 1_000_000 == 0 {
            let secs = start.elapsed().as_secs_f64();
            println!("{name}: {} inputs, {:.0}/s", i + 1, (i + 1) as f64 / secs);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}: {total} inputs in {secs:.1} s ({:.0}/s), no panic, every invariant held",
        total as f64 / secs
    );
}

#[test]
#[ignore = "long; run with FUZZ_INPUTS in release"]
fn dns() {
    use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query};
    use hickory_server::proto::rr::{DNSClass, Name, RecordType};
    let (rt, server, _dir) = crate::dns::fuzz::setup();
    let mut seeds = Vec::new();
    for name in [
        "crm.boss.example.",
        "boss.example.",
        "nx.boss.example.",
        "www.boss.example.",
    ] {
        for qtype in [1u16, 28, 6, 2, 15, 16, 255, 252, 251, 5] {
            for edns in [false, true] {
                let mut m = Message::new(0x4242, MessageType::Query, OpCode::Query);
                let mut q = Query::query(
                    Name::from_ascii(name).expect("name"),
                    RecordType::from(qtype),
                );
                if qtype == 5 {
                    q.set_query_class(DNSClass::CH);
                }
                m.add_query(q);
                if edns {
                    let mut e = Edns::new();
                    e.enable_dnssec();
                    m.set_edns(e);
                }
                seeds.push(m.to_vec().expect("encode"));
            }
        }
    }
    run("dns", seeds, |raw| {
        crate::dns::fuzz::check(&rt, &server, raw).map_err(|e| e.to_string())
    });
}

#[test]
#[ignore = "long; run with FUZZ_INPUTS in release"]
fn vote() {
    use crate::fixture;
    use crate::model::Health;
    use crate::tally::{SignedObservation, Verifier};
    let voters = fixture::voters(3, 3);
    let key = b"fuzz-key".to_vec();
    let mut verifier = Verifier::new(
        vec![key.clone()],
        &voters,
        std::time::Duration::from_secs(5),
    );
    let obs = fixture::obs_of(&voters[0], 1, 1_000)
        .site("bj", fixture::view(Health::Up, Health::Up, Health::Up))
        .service("crm", "bj", Health::Down)
        .gate("sh", "db", Health::Up)
        .build();
    let signed = Verifier::sign(&key, &obs);
    let mut seeds = vec![
        serde_json::to_vec(&signed).expect("json"),
        serde_json::to_vec_pretty(&Verifier::sign_with_id(&key, 0, &obs)).expect("json"),
        serde_json::to_vec(&fixture::obs_of(&voters[1], 2, 900).abstain("self").build())
            .expect("json"),
    ];
    seeds.push(b"{}".to_vec());
    let now = crate::model::Timestamp(1_500);
    let mut accepted = 0u64;
    run("vote", seeds, |raw| {
        let Ok(s) = serde_json::from_slice::<SignedObservation>(raw) else {
            return Ok(());
        };
        if verifier.verify(&s, now).is_ok() {
            accepted += 1;
            // Only the genuine signature may pass, and only once per sequence number.
            if s.observation != obs || accepted > 1 {
                return Err(format!("forged or replayed vote accepted: {s:?}"));
            }
        }
        Ok(())
    });
}

#[test]
#[ignore = "long; run with FUZZ_INPUTS in release"]
fn config() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples");
    let path = dir.join("demo.toml");
    let mut seeds = vec![std::fs::read(&path).expect("demo.toml")];
    seeds.push(
        b"[node]\nid = \"a\"\nsite = \"bj\"\n[[service]]\nname = \"crm\"\npolicy = { mode = \"confirm\", quorum = 1 }\n".to_vec(),
    );
    let env = std::collections::HashMap::new();
    run("config", seeds, |raw| {
        let Ok(text) = std::str::from_utf8(raw) else {
            return Ok(());
        };
        match crate::config::load_text(&path, text, Some(env.clone())) {
            Ok(_) => Ok(()),
            Err(errs) if errs.0.is_empty() => Err("refused without a reason".into()),
            Err(errs) => {
                for e in &errs.0 {
                    if e.to_string().trim().is_empty() {
                        return Err("an empty error message".into());
                    }
                }
                Ok(())
            }
        }
    });
}
