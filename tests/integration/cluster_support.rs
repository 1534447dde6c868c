//! A cluster for the tests: a real three-member etcd, three switchback authorities (each
//! also a probe, in its own failure domain) on loopback, two stand-in sites, and a TCP relay
//! per authority between it and etcd that a test can cut (an authority's own partition).

use crate::etcd_support::{EtcdCluster, available};
use crate::failover::{StandIn, http_check};
use crate::harness::{Node, TOKEN, sites_and_crm};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A loopback TCP relay to one target; `cut` drops every connection and refuses new ones
/// until `heal` (what a network partition looks like to the client).
pub(crate) struct Relay {
    pub(crate) addr: SocketAddr,
    open: Arc<AtomicBool>,
    /// Open connections (both ends) by number; forgotten when they close.
    conns: Arc<Mutex<Vec<(u64, TcpStream)>>>,
}

impl Relay {
    pub(crate) fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        let addr = listener.local_addr().expect("addr");
        let open = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<(u64, TcpStream)>>> = Arc::default();
        let (o, c) = (Arc::clone(&open), Arc::clone(&conns));
        std::thread::spawn(move || {
            for (n, inbound) in (0u64..).zip(listener.incoming()) {
                let Ok(inbound) = inbound else { continue };
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let Ok(outbound) = TcpStream::connect(target) else {
                    continue;
                };
                let mut list = c.lock().unwrap();
                list.push((n, inbound.try_clone().expect("clone")));
                list.push((n, outbound.try_clone().expect("clone")));
                drop(list);
                for (mut from, mut to) in [
                    (
                        inbound.try_clone().expect("clone"),
                        outbound.try_clone().expect("clone"),
                    ),
                    (outbound, inbound),
                ] {
                    let c = Arc::clone(&c);
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                        c.lock().unwrap().retain(|(id, _)| *id != n);
                    });
                }
            }
        });
        Relay { addr, open, conns }
    }

    /// Partition: drop every connection, refuse new ones.
    pub(crate) fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for (_, c) in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Heal the partition.
    pub(crate) fn heal(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// One authority's directory: config, key, token, state; reused across restarts.
pub(crate) struct Authority {
    pub(crate) id: String,
    pub(crate) dir: tempfile::TempDir,
    /// One relay per etcd member, in member order.
    pub(crate) relays: Vec<Relay>,
    pub(crate) node: Option<Node>,
    pub(crate) dns: Option<SocketAddr>,
    /// Its probes' relays to the stand-in sites (bj, sh), when the cluster relays them.
    pub(crate) sites: Vec<(&'static str, Relay)>,
}

impl Authority {
    pub(crate) fn config(&self) -> PathBuf {
        self.dir.path().join("switchback.toml")
    }

    pub(crate) fn start(&mut self) {
        let mut node = Node::spawn(&self.config(), &self.dir.path().join("admin.token"), &[]);
        self.dns = Some(node.wait_for_addr("dns listening on"));
        self.node = Some(node);
    }

    pub(crate) fn node(&mut self) -> &mut Node {
        self.node.as_mut().expect("running")
    }

    pub(crate) fn kill9(&mut self) {
        if let Some(n) = self.node.take() {
            n.kill9();
        }
    }

    /// Cut this authority off from every etcd member.
    pub(crate) fn isolate(&self) {
        for r in &self.relays {
            r.cut();
        }
    }

    pub(crate) fn rejoin(&self) {
        for r in &self.relays {
            r.heal();
        }
    }

    /// Cut this authority's probes off from one stand-in site (needs relayed sites).
    pub(crate) fn cut_site(&self, site: &str) {
        let (_, relay) = self
            .sites
            .iter()
            .find(|(s, _)| *s == site)
            .expect("the cluster relays its sites");
        relay.cut();
    }

    /// Whether it logged `needle` so far.
    pub(crate) fn logged(&self, needle: &str) -> bool {
        self.node.as_ref().is_some_and(|n| n.log().contains(needle))
    }
}

/// The whole cluster under test.
pub(crate) struct Cluster {
    pub(crate) etcd: EtcdCluster,
    pub(crate) bj: StandIn,
    pub(crate) sh: StandIn,
    pub(crate) auth: Vec<Authority>,
    pub(crate) prefix: String,
}

/// crm's policy unless a test sets its own.
pub(crate) const POLICY: &str =
    r#"{ mode = "auto", quorum = 2, min_domains = 2, hold_down = "300ms" }"#;

/// The vote key every authority shares (tests sign their own votes with it).
pub(crate) const KEY: &str = "s9-cluster-test-vote-key";

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

impl Cluster {
    /// Three authorities a1 (bj, d1), a2 (sh, d2), a3 (sh, d3); quorum 2 of 3 domains; crm in
    /// auto mode. `None` (and a printed reason) without etcd.
    pub(crate) fn start(on_isolation: &str) -> Option<Cluster> {
        Self::start_with(on_isolation, false)
    }

    /// Like [`Cluster::start`]; with `relay_sites` each authority probes the stand-ins through
    /// its own relays, so a test can cut one probe off from a site ([`Authority::cut_site`]).
    pub(crate) fn start_with(on_isolation: &str, relay_sites: bool) -> Option<Cluster> {
        Self::start_full(on_isolation, relay_sites, POLICY, "")
    }

    /// Like [`Cluster::start`] with crm on `policy` (an inline TOML table).
    pub(crate) fn start_with_policy(on_isolation: &str, policy: &str) -> Option<Cluster> {
        Self::start_full(on_isolation, false, policy, "")
    }

    /// Like [`Cluster::start`], with more voters (probe-only nodes a test starts): `extra` is
    /// inline tables, each with a leading comma.
    pub(crate) fn start_with_voters(on_isolation: &str, extra: &str) -> Option<Cluster> {
        Self::start_full(on_isolation, false, POLICY, extra)
    }

    fn start_full(
        on_isolation: &str,
        relay_sites: bool,
        policy: &str,
        extra_voters: &str,
    ) -> Option<Cluster> {
        if !available() {
            return None;
        }
        static N: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "/s9-it-{}-{}/",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let etcd = EtcdCluster::start(3);
        let (bj, sh) = (StandIn::start(), StandIn::start());
        let probes = format!("{}{}", http_check("bj", bj.addr), http_check("sh", sh.addr));
        let members: Vec<SocketAddr> = (0..3)
            .map(|i| SocketAddr::from(([127, 0, 0, 1], etcd.client_port(i))))
            .collect();
        let mut auth = Vec::new();
        for (i, site) in ["bj", "sh", "sh"].iter().enumerate() {
            let id = format!("a{}", i + 1);
            let dir = tempfile::tempdir().expect("tempdir");
            let d = dir.path();
            write(&d.join("admin.token"), &format!("{TOKEN}\n"));
            write(&d.join("votes.key"), KEY);
            std::fs::create_dir_all(d.join("probes")).expect("mkdir");
            let sites: Vec<(&'static str, Relay)> = if relay_sites {
                vec![("bj", Relay::start(bj.addr)), ("sh", Relay::start(sh.addr))]
            } else {
                Vec::new()
            };
            let probes = match sites.as_slice() {
                [(_, b), (_, s)] => {
                    format!("{}{}", http_check("bj", b.addr), http_check("sh", s.addr))
                }
                _ => probes.clone(),
            };
            write(&d.join("probes/crm.toml"), &probes);
            write(
                &d.join("boss.example.zone"),
                "$ORIGIN boss.example.\n$TTL 300\n@ IN SOA ns1 noc 2026112501 3600 600 86400 10\n@ IN NS ns1\nns1 IN A 127.0.0.1\n",
            );
            let relays: Vec<Relay> = members.iter().map(|m| Relay::start(*m)).collect();
            let endpoints: Vec<String> = relays
                .iter()
                .map(|r| format!("\"http://{}\"", r.addr))
                .collect();
            let config = format!(
                r#"[node]
id = "{id}"
site = "{site}"
domain = "d{n}"
roles = ["probe", "authority"]
state_dir = "{state}"

[store]
kind = "etcd"
endpoints = [{endpoints}]
prefix = "{prefix}"
lease_ttl = "2s"
request_timeout = "1s"
on_isolation = "{on_isolation}"

[votes]
key_files = ["votes.key"]
stale_after = "2s"
voters = [{{ id = "a1", domain = "d1" }}, {{ id = "a2", domain = "d2" }}, {{ id = "a3", domain = "d3" }}{extra_voters}]

[dns]
listen = ["127.0.0.1:0"]
zones = ["boss.example.zone"]

[admin]
listen = "127.0.0.1:0"
token_file = "admin.token"

{crm}"#,
                n = i + 1,
                state = d.join("state").display(),
                endpoints = endpoints.join(", "),
                crm = sites_and_crm("probes/crm.toml", policy),
            );
            write(&d.join("switchback.toml"), &config);
            auth.push(Authority {
                id,
                dir,
                relays,
                node: None,
                dns: None,
                sites,
            });
        }
        let mut c = Cluster {
            etcd,
            bj,
            sh,
            auth,
            prefix,
        };
        for a in &mut c.auth {
            a.start();
        }
        Some(c)
    }

    /// `etcdctl ARGS` against the test's etcd, as any client with access to it could; its
    /// stdout, after asserting it succeeded.
    pub(crate) fn etcdctl(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .args(["--endpoints", &self.etcd.endpoints().join(",")])
            .args(args)
            .output()
            .expect("run etcdctl");
        assert!(out.status.success(), "etcdctl {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// One key's value in the test's etcd (empty when absent).
    pub(crate) fn etcd_get(&self, key: &str) -> String {
        self.etcdctl(&["get", "--print-value-only", key])
    }

    /// Put one key in the test's etcd.
    pub(crate) fn etcd_put(&self, key: &str, value: &str) {
        self.etcdctl(&["put", key, value]);
    }

    /// Wait until every running authority enacted `epoch` of crm (its log line).
    pub(crate) fn wait_enacted(&mut self, epoch: u64) {
        let line = format!("enacted enactor=\"dns\" service=crm epoch={epoch}");
        for a in self.auth.iter_mut().filter(|a| a.node.is_some()) {
            if !a.logged(&line) {
                a.node().wait_for_line(&line);
            }
        }
    }

    /// The running authority that most recently logged "leading" (by its log timestamp): the
    /// current leader once something was committed under it.
    pub(crate) fn leader(&self) -> usize {
        let last_lead = |a: &Authority| -> Option<String> {
            let log = a.node.as_ref()?.log();
            log.lines()
                .rev()
                .find(|l| l.contains(" leading node="))
                .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        };
        (0..self.auth.len())
            .filter_map(|i| last_lead(&self.auth[i]).map(|t| (t, i)))
            .max()
            .map(|(_, i)| i)
            .expect("nobody leads")
    }
}

/// `dig +short NAME A` at `dns`; empty when nothing answers.
pub(crate) fn dig(dns: SocketAddr, name: &str) -> String {
    let out = std::process::Command::new("dig")
        .args([
            "+short",
            "+time=2",
            "+tries=3",
            "-p",
            &dns.port().to_string(),
        ])
        .arg(format!("@{}", dns.ip()))
        .args([name, "A"])
        .output()
        .expect("run dig");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether dig got no answer at all (timed out).
pub(crate) fn dig_times_out(dns: SocketAddr, name: &str) -> bool {
    let out = std::process::Command::new("dig")
        .args(["+time=1", "+tries=1", "-p", &dns.port().to_string()])
        .arg(format!("@{}", dns.ip()))
        .args([name, "A"])
        .output()
        .expect("run dig");
    let text = String::from_utf8_lossy(&out.stdout);
    text.contains("timed out") || text.contains("no servers could be reached")
}

/// A GET against a node's admin API: (status code, body).
pub(crate) fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut conn = match TcpStream::connect(addr) {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => return (0, String::new()),
        Err(e) => panic!("connect {addr}: {e}"),
    };
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read");
    let code = answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}
