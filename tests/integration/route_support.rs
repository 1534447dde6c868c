//! Helpers for the route suites: network namespaces named `s10…` that are always deleted,
//! the real `switchback` (and BIRD) running inside one, route monitors whose lines are
//! awaited (never polled), and stand-in site servers answering on the VIP.

use crate::harness::{TOKEN, bin};
use crate::probe_support::{have, is_root, require, sh};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Guard against hangs while awaiting a line; not a synchronisation sleep.
pub(crate) const LIMIT: Duration = Duration::from_secs(30);

/// Root and iproute2 (namespaces, veths, routes).
pub(crate) fn can_run() -> bool {
    require("root (network namespaces)", is_root()) && require("ip (iproute2)", have("ip"))
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A network namespace this test created (`s10<tag><pid><seq>`); deleted on drop.
pub(crate) struct Ns {
    /// Its name under /run/netns.
    pub(crate) name: String,
}

impl Ns {
    /// A fresh namespace with loopback up.
    pub(crate) fn new(tag: &str) -> Ns {
        let name = format!(
            "s10{tag}{}x{}",
            std::process::id() % 100_000,
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        sh(&["ip", "netns", "add", &name]);
        let ns = Ns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        // No duplicate address detection: addresses (and link-locals) usable at once.
        ns.sysctl("net.ipv6.conf.all.accept_dad=0");
        ns.sysctl("net.ipv6.conf.default.accept_dad=0");
        ns
    }

    /// `ip -n NAME args…`, panicking with stderr on failure.
    pub(crate) fn ip(&self, args: &[&str]) {
        let mut full = vec!["ip", "-n", &self.name];
        full.extend_from_slice(args);
        sh(&full);
    }

    /// `ip -n NAME args…` output.
    pub(crate) fn show(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.name])
            .args(args)
            .output()
            .expect("run ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `sysctl -w key=value` inside the namespace.
    pub(crate) fn sysctl(&self, kv: &str) {
        sh(&["ip", "netns", "exec", &self.name, "sysctl", "-qw", kv]);
    }

    /// A veth `here` in this namespace whose peer `there` lives in `other`, both up.
    pub(crate) fn veth(&self, here: &str, other: &Ns, there: &str) {
        self.ip(&[
            "link",
            "add",
            here,
            "type",
            "veth",
            "peer",
            "name",
            there,
            "netns",
            &other.name,
        ]);
        self.ip(&["link", "set", here, "up"]);
        other.ip(&["link", "set", there, "up"]);
    }

    /// Run `f` on a thread that entered this namespace (its sockets live here).
    pub(crate) fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let fd = std::fs::File::open(&path).expect("open netns");
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
    }

    /// Run `f` inside this namespace and wait for it.
    pub(crate) fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.spawn(f)
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A child process whose output lines are collected and can be awaited; killed on drop.
pub(crate) struct Proc {
    what: String,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
    lines: mpsc::Receiver<(Instant, String)>,
}

impl Proc {
    /// Start `cmd` (stdout and stderr read line by line).
    pub(crate) fn start(what: &str, mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let outs: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().expect("stdout")),
            Box::new(child.stderr.take().expect("stderr")),
        ];
        for s in outs {
            let (log, tx) = (Arc::clone(&log), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(s).lines().map_while(Result::ok) {
                    let at = Instant::now();
                    log.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_str(&format!("{line}\n"));
                    let _ = tx.send((at, line));
                }
            });
        }
        Proc {
            what: what.into(),
            child: Some(child),
            log,
            lines,
        }
    }

    /// Wait for the next line containing `needle`; the instant it was read.
    pub(crate) fn wait_for(&self, needle: &str) -> (Instant, String) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if line.contains(needle) => return (at, line),
                Ok(_) => {}
                Err(_) => panic!(
                    "{}: no line with {needle:?}; output:\n{}",
                    self.what,
                    self.log()
                ),
            }
        }
    }

    /// SIGTERM (`ip netns exec` execs the program, so the pid is its own) and wait for exit.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
        let status = c.wait().expect("wait");
        self.child = None;
        status
    }

    /// The first line so far (or next) containing `needle`, from the whole log.
    pub(crate) fn wait_for_seen(&self, needle: &str) -> (Instant, String) {
        if let Some(l) = self.log().lines().find(|l| l.contains(needle)) {
            return (Instant::now(), l.to_owned());
        }
        self.wait_for(needle)
    }

    /// Drop every line read so far.
    pub(crate) fn drain(&self) {
        while self.lines.try_recv().is_ok() {}
    }

    /// Everything it printed so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() || std::env::var("S10_SHOW_LOGS").is_ok() {
            eprintln!("--- {} ---\n{}--- end ---", self.what, self.log());
        }
    }
}

/// `ip -n NS monitor route` (or `address`): lines awaited with [`Proc::wait_for`].
pub(crate) fn monitor(ns: &Ns, what: &str) -> Proc {
    let mut cmd = Command::new("ip");
    cmd.args(["-n", &ns.name, "monitor", what]);
    Proc::start(&format!("ip monitor {what} in {}", ns.name), cmd)
}

/// The real `switchback serve` inside `ns`, with its admin API reached from inside `ns`.
pub(crate) struct Node {
    /// Its process.
    pub(crate) proc: Proc,
    ns: String,
    /// Its admin address (inside the namespace).
    pub(crate) admin: SocketAddr,
}

impl Node {
    /// Write `config` (with `{dir}` replaced by a temp dir) and start serving it in `ns`.
    pub(crate) fn start(ns: &Ns, dir: &std::path::Path, config: &str) -> Node {
        Self::start_with(ns, dir, config, &[])
    }

    /// [`Node::start`] with `wrapper` (e.g. `setpriv …`) between `ip netns exec` and the binary.
    pub(crate) fn start_with(
        ns: &Ns,
        dir: &std::path::Path,
        config: &str,
        wrapper: &[&str],
    ) -> Node {
        std::fs::write(dir.join("admin.token"), format!("{TOKEN}\n")).expect("token");
        std::fs::create_dir_all(dir.join("probes")).expect("probes dir");
        std::fs::write(dir.join("probes/none.toml"), "# no checks\n").expect("probes");
        let path = dir.join("switchback.toml");
        std::fs::write(&path, config.replace("{dir}", &dir.display().to_string())).expect("config");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.name])
            .args(wrapper)
            // S10_BIN: another build of the binary (the benches use the release one).
            .arg(std::env::var("S10_BIN").unwrap_or_else(|_| bin().to_owned()))
            .args(["serve", "-c"])
            .arg(&path)
            .env("RUST_LOG", "info");
        let proc = Proc::start(&format!("switchback in {}", ns.name), cmd);
        let (_, line) = proc.wait_for("admin listening on");
        let admin = line
            .split("admin listening on ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no admin address in {line:?}"));
        Node {
            proc,
            ns: ns.name.clone(),
            admin,
        }
    }

    /// One HTTP request to the admin API from inside the namespace; the response body.
    pub(crate) fn http(&self, method: &str, path: &str, body: &str) -> String {
        let (admin, req) = (
            self.admin,
            format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        );
        let nspath = format!("/run/netns/{}", self.ns);
        let answer = std::thread::spawn(move || {
            let fd = std::fs::File::open(&nspath).expect("open netns");
            nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let mut c = TcpStream::connect(admin).expect("connect admin");
            c.set_read_timeout(Some(LIMIT)).expect("timeout");
            c.write_all(req.as_bytes()).expect("send");
            let mut a = String::new();
            c.read_to_string(&mut a).expect("read");
            a
        })
        .join()
        .expect("http thread");
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "{method} {path}: {answer}"
        );
        answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default()
    }

    /// Commit a forced operator switch of `service` to `site`.
    pub(crate) fn switch(&self, service: &str, site: &str) {
        self.http(
            "POST",
            &format!("/v1/services/{service}/switch"),
            &format!(r#"{{"to":"{site}","reason":"s10 test","force":true}}"#),
        );
    }

    /// `GET /v1/status` parsed.
    pub(crate) fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.http("GET", "/v1/status", "")).expect("status JSON")
    }
}

/// A stand-in site server in `ns`: answers each TCP connection to `addr` with `site`.
pub(crate) struct SiteServer;

impl SiteServer {
    /// Serve on `addr` inside `ns` until the namespace is deleted.
    pub(crate) fn start(ns: &Ns, addr: SocketAddr, site: &'static str) -> SiteServer {
        let (tx, rx) = mpsc::channel();
        ns.spawn(move || {
            let tcp = TcpListener::bind(addr).expect("bind site tcp");
            tx.send(()).expect("ready");
            for c in tcp.incoming() {
                let Ok(mut c) = c else { break };
                let _ = c.write_all(site.as_bytes());
            }
        });
        rx.recv_timeout(LIMIT).expect("site server ready");
        SiteServer
    }
}

/// From inside `ns`, connect to `addr` and return what the site answered.
pub(crate) fn ask(ns: &Ns, addr: SocketAddr) -> String {
    ns.run(move || {
        let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut s = String::new();
        c.read_to_string(&mut s).expect("read answer");
        s
    })
}
