//! Runs the real `switchback` binary: a node directory (config, token, state) that outlives
//! node processes, a [`Node`] that waits for the "admin listening on" log line (never sleeps)
//! and kills its process and prints its log on drop, and [`Node::cli`] for operator verbs.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The binary under test.
pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_switchback")
}

/// The token written into every test node's token file.
pub(crate) const TOKEN: &str = "integration-test-token";

/// Upper bound on waiting for a log line; a guard against hangs, not a synchronisation sleep.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);

/// A config, token file and state dir; several node processes can run on it one after another.
pub(crate) struct NodeDir {
    dir: tempfile::TempDir,
}

impl NodeDir {
    /// A node with sites bj (primary) and sh (backup) and one service `crm`, admin on port 0.
    pub(crate) fn new() -> Self {
        Self::with(&["authority"], "# no checks\n", r#"{ mode = "auto" }"#)
    }

    /// The same node with its own roles, probes file text and crm `policy` inline table; DNS
    /// serves a minimal `boss.example.` zone on a free loopback port.
    pub(crate) fn with(roles: &[&str], probes: &str, policy: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::write(d.join("admin.token"), format!("{TOKEN}\n")).expect("write token");
        std::fs::create_dir_all(d.join("probes")).expect("mkdir probes");
        std::fs::write(d.join("probes/crm.toml"), probes).expect("write probes");
        std::fs::write(
            d.join("boss.example.zone"),
            "$ORIGIN boss.example.\n$TTL 300\n@ IN SOA ns1 noc 2026112501 3600 600 86400 10\n@ IN NS ns1\nns1 IN A 127.0.0.1\n",
        )
        .expect("write zone");
        let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
        let config = format!(
            r#"[node]
id = "it-1"
site = "bj"
roles = [{roles}]
state_dir = "{state}"

[store]
kind = "embedded"

[votes]
stale_after = "2s"

[dns]
listen = ["127.0.0.1:0"]
zones = ["boss.example.zone"]

[admin]
listen = "127.0.0.1:0"
token_file = "admin.token"

{sites_and_crm}"#,
            roles = roles.join(", "),
            state = d.join("state").display(),
            sites_and_crm = sites_and_crm("probes/crm.toml", policy),
        );
        std::fs::write(d.join("switchback.toml"), config).expect("write config");
        Self { dir }
    }

    /// The config file.
    pub(crate) fn config(&self) -> PathBuf {
        self.dir.path().join("switchback.toml")
    }

    /// The token file.
    pub(crate) fn token_file(&self) -> PathBuf {
        self.dir.path().join("admin.token")
    }

    /// The node's state_dir.
    pub(crate) fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Start a node on this directory and wait until its admin API listens.
    pub(crate) fn start(&self) -> Node {
        Node::spawn(&self.config(), &self.token_file(), &[])
    }

    /// Start a node with extra `serve` flags (e.g. `--log-format json`).
    pub(crate) fn start_with(&self, extra: &[&str]) -> Node {
        Node::spawn(&self.config(), &self.token_file(), extra)
    }
}

/// One running `switchback serve` process.
pub(crate) struct Node {
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    lines: mpsc::Receiver<String>,
    /// Where its admin API listens.
    pub(crate) admin: SocketAddr,
    token_file: PathBuf,
}

impl Node {
    pub(crate) fn spawn(config: &Path, token_file: &Path, extra: &[&str]) -> Node {
        let mut child = Command::new(bin())
            .args(["serve", "-c"])
            .arg(config)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchback");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (log, tx) = (Arc::clone(&log), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_str(&format!("{line}\n"));
                    let _ = tx.send(line);
                }
            });
        }
        let mut node = Node {
            child: Some(child),
            log,
            lines,
            admin: "0.0.0.0:0".parse().expect("addr"),
            token_file: token_file.to_path_buf(),
        };
        node.admin = node.wait_for_addr("admin listening on");
        node
    }

    /// Wait for the next log line with `phrase` and parse the socket address that follows it.
    pub(crate) fn wait_for_addr(&mut self, phrase: &str) -> SocketAddr {
        let line = self.wait_for_line(phrase);
        // Text or JSON log line: the address follows the phrase, up to the first character
        // that cannot be part of an IPv4 socket address.
        let addr = line.split(&format!("{phrase} ")).nth(1).and_then(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
                .unwrap_or(rest.len());
            rest[..end].parse().ok()
        });
        addr.unwrap_or_else(|| panic!("no address in log line {line:?}"))
    }

    /// Wait for the next log line containing `needle`; panics (with the log) if the process
    /// exits or no line arrives within the startup limit.
    pub(crate) fn wait_for_line(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(STARTUP_LIMIT) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needle:?}; log:\n{}", self.log()),
            }
        }
    }

    /// Wait for the next log line containing `needle` for at most `limit` in all (a chatty
    /// log does not extend it, unlike [`Node::wait_for_line`]); panics with the log after.
    pub(crate) fn wait_for_line_within(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no log line with {needle:?} within {limit:?}; log:\n{}",
                    self.log()
                ),
            }
        }
    }

    /// The next log line if one arrives within `wait` (for waiting on whichever of several
    /// nodes logs first).
    pub(crate) fn next_line_within(&mut self, wait: Duration) -> Option<String> {
        self.lines.recv_timeout(wait).ok()
    }

    /// Wait until a line containing each of `needles` has arrived, in any order (what
    /// different tasks log races); returns the first such line for each.
    pub(crate) fn wait_for_each<const N: usize>(&mut self, needles: [&str; N]) -> [String; N] {
        let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
        while found.iter().any(Option::is_none) {
            match self.lines.recv_timeout(STARTUP_LIMIT) {
                Ok(line) => {
                    for (slot, needle) in found.iter_mut().zip(needles) {
                        if slot.is_none() && line.contains(needle) {
                            *slot = Some(line.clone());
                        }
                    }
                }
                Err(_) => panic!("no log lines with {needles:?}; log:\n{}", self.log()),
            }
        }
        found.map(Option::unwrap_or_default)
    }

    /// Everything it logged so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The process id (for signals sent from another thread).
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// The admin base URL.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.admin)
    }

    /// Run `switchback ARGS --admin URL --token-file FILE` and return its output.
    pub(crate) fn cli(&self, args: &[&str]) -> Output {
        let out = Command::new(bin())
            .args(args)
            .args(["--admin", &self.url()])
            .arg("--token-file")
            .arg(&self.token_file)
            .env_remove("SWITCHBACK_TOKEN")
            .output()
            .expect("run switchback cli");
        eprintln!(
            "$ switchback {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Like [`Node::cli`] but panics unless it succeeds; returns stdout.
    pub(crate) fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(out.status.success(), "switchback {args:?} failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A plain `GET path` against the admin API; returns the response body.
    pub(crate) fn get(&self, path: &str) -> String {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(self.admin).expect("connect admin");
        conn.set_read_timeout(Some(STARTUP_LIMIT)).expect("timeout");
        write!(
            conn,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.admin
        )
        .expect("send request");
        let mut answer = String::new();
        conn.read_to_string(&mut answer).expect("read answer");
        assert!(answer.starts_with("HTTP/1.1 200"), "GET {path}: {answer}");
        answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }

    /// `status --json` parsed.
    pub(crate) fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.cli_ok(&["status", "--json"])).expect("status is JSON")
    }

    /// SIGKILL, as a crash would.
    pub(crate) fn kill9(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Send SIGTERM and wait for the process to exit.
    pub(crate) fn terminate(mut self) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let status = c.wait().expect("wait");
        // Let the reader threads drain the last lines into the log.
        while self.lines.recv_timeout(Duration::from_secs(5)).is_ok() {}
        eprintln!("--- node log ---\n{}--- end ---", self.log());
        status
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        eprintln!(
            "--- node log ({}) ---\n{}--- end ---",
            self.admin,
            self.log()
        );
    }
}

/// One service's entry in a status answer.
pub(crate) fn service<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["services"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no service {name} in {status}"))
}

/// The config tables every integration node shares: sites bj (primary) and sh (backup) and
/// service crm at 127.0.1.10 / 127.0.2.10, with its probes file and inline policy table.
pub(crate) fn sites_and_crm(probes: &str, policy: &str) -> String {
    format!(
        r#"[sites.bj]
role = "primary"

[sites.sh]
role = "backup"

[[service]]
name = "crm"
names = ["crm.boss.example."]
addresses = {{ bj = ["127.0.1.10"], sh = ["127.0.2.10"] }}
probes = "{probes}"
policy = {policy}
"#
    )
}

/// Run `switchback serve -c config` expecting it to refuse to start (`what` says why it
/// should); returns its stderr.
pub(crate) fn serve_refused(config: &Path, what: &str) -> String {
    let out = std::process::Command::new(bin())
        .args(["serve", "-c"])
        .arg(config)
        .output()
        .expect("run serve");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "started {what}: {stderr}");
    stderr
}
