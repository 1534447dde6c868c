//! Real etcd members for tests: `etcd` from Debian's `etcd-server`, on loopback, in a temp
//! dir, on ports from `ports::free_port` (etcd cannot take port 0). Each member runs
//! under `sh`, which kills it when this process's pipe to it closes, so even a test process
//! killed mid-run leaves no etcd behind. The tests wait for etcd's own "serving client traffic" line.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const ETCD: &str = "/usr/bin/etcd";

/// Whether etcd is installed; without it, fail under `CI=true`, else say why and skip.
pub fn available() -> bool {
    if std::path::Path::new(ETCD).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true and {ETCD} is missing (apt-get install etcd-server)"
    );
    eprintln!("skipped: {ETCD} missing (apt-get install etcd-server)");
    false
}

/// One port allocator for every user of this file (two counters could hand out a port twice).
#[path = "ports.rs"]
pub mod ports;
pub use ports::free_port;

struct Member {
    name: String,
    client: u16,
    peer: u16,
    child: Option<Child>,
}

/// An etcd cluster of `n` members; dropped, it stops them and removes their data.
pub struct EtcdCluster {
    dir: tempfile::TempDir,
    members: Vec<Member>,
    /// The `--initial-cluster` string.
    initial: String,
}

impl EtcdCluster {
    /// Start `n` members and wait until each serves clients.
    pub fn start(n: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                client: free_port(),
                peer: free_port(),
                child: None,
            })
            .collect();
        let initial = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let mut c = Self {
            dir,
            members,
            initial,
        };
        let ready: Vec<_> = (0..n).map(|i| c.spawn(i, "new")).collect();
        for r in ready {
            r.recv_timeout(Duration::from_secs(60))
                .expect("etcd member did not become ready");
        }
        c
    }

    fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(&self.members[i].name)
    }

    /// Start member `i`; the receiver fires when it says it serves clients.
    fn spawn(&mut self, i: usize, state: &str) -> mpsc::Receiver<()> {
        let m = &self.members[i];
        let args = [
            format!("--name={}", m.name),
            format!("--data-dir={}", self.data_dir(i).display()),
            format!("--listen-client-urls=http://127.0.0.1:{}", m.client),
            format!("--advertise-client-urls=http://127.0.0.1:{}", m.client),
            format!("--listen-peer-urls=http://127.0.0.1:{}", m.peer),
            format!("--initial-advertise-peer-urls=http://127.0.0.1:{}", m.peer),
            format!("--initial-cluster={}", self.initial),
            format!("--initial-cluster-state={state}"),
            "--initial-cluster-token=s9-test".to_owned(),
            "--log-level=info".to_owned(),
            "--logger=zap".to_owned(),
        ];
        // sh reads its stdin until it closes (this process exits or drops the member), then
        // kills etcd: no orphan outlives the test.
        let script = format!(
            "{ETCD} \"$@\" & e=$!; cat >/dev/null; kill -9 $e 2>/dev/null; wait $e 2>/dev/null"
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("etcd")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn etcd");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        let name = m.name.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("serving client traffic")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
                if std::env::var_os("S9_ETCD_LOG").is_some() {
                    eprintln!("[etcd {name}] {line}");
                }
            }
        });
        self.members[i].child = Some(child);
        rx
    }

    /// Client URLs of every member.
    pub fn endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| format!("http://127.0.0.1:{}", m.client))
            .collect()
    }

    /// Client port of member `i`.
    pub fn client_port(&self, i: usize) -> u16 {
        self.members[i].client
    }

    /// Kill member `i` with SIGKILL (its data stays, so it can come back).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            // Closing sh's stdin makes it kill -9 etcd; then reap sh.
            drop(c.stdin.take());
            let _ = c.wait();
        }
    }

    /// Restart member `i` after [`EtcdCluster::kill`] and wait until it serves.
    pub fn restart(&mut self, i: usize) {
        let ready = self.spawn(i, "existing");
        ready
            .recv_timeout(Duration::from_secs(60))
            .expect("restarted etcd member did not become ready");
    }

    /// Whether member `i` runs.
    pub fn is_up(&self, i: usize) -> bool {
        self.members[i].child.is_some()
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}
