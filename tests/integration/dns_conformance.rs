//! Differential conformance (issue #13): the same zone served by switchback and by a real NSD,
//! the same query bytes sent to both, every owner name × common type × {no EDNS, EDNS,
//! EDNS+DO}, plus the odd cases (class HS/NONE/unknown, two OPT records). Responses are
//! compared on rcode, AA, the DO bit, and the answer and authority sections (SOA serials
//! normalised: switchback bumps its own). The additional section is not compared (NSD and
//! hickory choose glue differently, both allowed), nor NS records in the authority section of
//! positive answers (NSD adds them, hickory does not).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

use crate::dns_support::{Running, config, require, services, shipped_zone};
use crate::ports::free_port;

/// A real NSD serving `zone_text` as boss.example. on 127.0.0.1:`port`; killed on drop.
struct Nsd(Child);

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_nsd(nsd: &Path, dir: &Path, zone_text: &str, port: u16) -> Nsd {
    std::fs::write(dir.join("boss.example.zone"), zone_text).expect("zone");
    let d = dir.display();
    let conf = format!(
        "server:\n  ip-address: 127.0.0.1@{port}\n  zonesdir: \"{d}\"\n  username: \"\"\n  chroot: \"\"\n  \
         pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  \
         database: \"\"\n  logfile: \"{d}/nsd.log\"\n  verbosity: 1\n  server-count: 1\n\
         remote-control:\n  control-enable: no\n\
         zone:\n  name: boss.example.\n  zonefile: boss.example.zone\n"
    );
    std::fs::write(dir.join("nsd.conf"), conf).expect("conf");
    let child = Command::new(nsd)
        .arg("-d")
        .arg("-c")
        .arg(dir.join("nsd.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nsd");
    Nsd(child)
}

/// Sends `raw` and returns the reply (or `None` after 2 s).
async fn ask(to: SocketAddr, raw: &[u8]) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    sock.send_to(raw, to).await.expect("send");
    let mut buf = vec![0u8; 65535];
    match tokio::time::timeout(Duration::from_secs(2), sock.recv(&mut buf)).await {
        Ok(Ok(n)) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

fn query(name: &str, qtype: RecordType, class: DNSClass, edns: u8) -> Vec<u8> {
    let mut m = Message::new(0x5151, MessageType::Query, OpCode::Query);
    let mut q = Query::query(Name::from_ascii(name).expect("name"), qtype);
    q.set_query_class(class);
    m.add_query(q);
    if edns > 0 {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        if edns > 1 {
            e.enable_dnssec();
        }
        m.set_edns(e);
    }
    m.to_vec().expect("encode")
}

fn record_text(r: &Record) -> String {
    let rdata = match &r.data {
        RData::SOA(soa) => format!(
            "SOA {} {} <serial> {} {} {} {}",
            soa.mname, soa.rname, soa.refresh, soa.retry, soa.expire, soa.minimum
        ),
        other => other.to_string(),
    };
    format!(
        "{} {} {} {} {}",
        r.name.to_ascii().to_lowercase(),
        r.ttl,
        r.dns_class,
        r.record_type(),
        rdata
    )
}

/// What is compared of a reply.
fn summary(raw: Option<&[u8]>) -> String {
    let Some(raw) = raw else {
        return "no reply".into();
    };
    let m = match Message::from_vec(raw) {
        Ok(m) => m,
        Err(e) => return format!("unparseable reply: {e}"),
    };
    // NSD adds the apex NS set to the authority section of positive answers, hickory does
    // not (both allowed, RFC 2181 §6.1 / minimal responses): compared without it.
    let positive = !m.answers.is_empty();
    let sorted = |rs: &[Record]| -> Vec<String> {
        rs.iter()
            .filter(|r| r.record_type() != RecordType::OPT)
            .filter(|r| {
                !(positive
                    && r.record_type() == RecordType::NS
                    && !rs.is_empty()
                    && std::ptr::eq(rs, &m.authorities[..]))
            })
            .map(record_text)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let edns = match m.edns.as_ref() {
        None => "no-opt".to_owned(),
        Some(e) => format!("opt do={}", e.flags().dnssec_ok),
    };
    format!(
        "rcode={} aa={} {edns}\n  answer: {:?}\n  authority: {:?}",
        m.metadata.response_code,
        m.metadata.authoritative,
        sorted(&m.answers),
        sorted(&m.authorities),
    )
}

/// The zone as switchback serves it with its default services at bj (their answers come
/// from the decision), written out as static records for NSD.
fn nsd_zone() -> String {
    let mut text = std::fs::read_to_string(shipped_zone()).expect("zone");
    for (name, addr) in [
        ("crm", "10.1.0.10"),
        ("billing", "10.1.0.11"),
        ("accounting", "10.1.0.12"),
    ] {
        text.push_str(&format!("{name} 30 IN A {addr}\n"));
    }
    text
}

#[tokio::test]
async fn answers_match_nsd_on_the_same_zone() {
    let Some(nsd_bin) = require("nsd") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let nsd_dir = dir.path().join("nsd");
    std::fs::create_dir_all(&nsd_dir).expect("mkdir");
    let port = free_port();
    let _nsd = start_nsd(&nsd_bin, &nsd_dir, &nsd_zone(), port);
    let nsd_addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let ours = Running::start(&config(&shipped_zone(), dir.path(), services()));

    // NSD is up once it answers (it loads the zone before listening).
    let probe = query("boss.example.", RecordType::SOA, DNSClass::IN, 0);
    let mut up = false;
    for _ in 0..100 {
        if ask(nsd_addr, &probe).await.is_some() {
            up = true;
            break;
        }
    }
    assert!(
        up,
        "nsd did not answer: {}",
        std::fs::read_to_string(nsd_dir.join("nsd.log")).unwrap_or_default()
    );

    let names = [
        "boss.example.",
        "ns1.boss.example.",
        "ns2.boss.example.",
        "portal.boss.example.",
        "noc.boss.example.",
        "www.boss.example.",
        "crm.boss.example.",
        "billing.boss.example.",
        "accounting.boss.example.",
        "CRM.Boss.Example.",
        "nx.boss.example.",
        "deep.nx.boss.example.",
    ];
    let types = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::NS,
        RecordType::SOA,
        RecordType::TXT,
        RecordType::CNAME,
        RecordType::MX,
    ];
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for name in names {
        for qtype in types {
            for edns in 0..3u8 {
                let what = format!("{name} {qtype} edns={edns}");
                cases.push((what, query(name, qtype, DNSClass::IN, edns)));
            }
        }
    }
    for class in [DNSClass::HS, DNSClass::NONE, DNSClass::Unknown(42)] {
        cases.push((
            format!("portal A class {class}"),
            query("portal.boss.example.", RecordType::A, class, 1),
        ));
    }
    // Two OPT records (RFC 6891 §6.1.1: FORMERR).
    let mut two = query("portal.boss.example.", RecordType::A, DNSClass::IN, 1);
    let opt = two[two.len() - 11..].to_vec();
    two.extend_from_slice(&opt);
    two[11] = 2; // ARCOUNT
    cases.push(("portal A with two OPT".into(), two));

    let mut diffs = Vec::new();
    for (what, raw) in &cases {
        let theirs = summary(ask(nsd_addr, raw).await.as_deref());
        let mine = summary(ask(ours.addr, raw).await.as_deref());
        if theirs != mine {
            diffs.push(format!(
                "{what}\n nsd:        {theirs}\n switchback: {mine}"
            ));
        }
    }
    ours.stop().await;
    assert!(
        diffs.is_empty(),
        "{} of {} cases differ from NSD:\n{}",
        diffs.len(),
        cases.len(),
        diffs.join("\n")
    );
}
