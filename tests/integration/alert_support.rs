//! Real peers for the alert tests: a Prometheus Alertmanager started on loopback with a temp
//! config and storage, and local HTTP receivers (accept, fail then recover, hang, PagerDuty v2
//! validator) that record what they accepted. Loopback only; everything dies with the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bound on waiting for a peer; a guard against hangs, not a synchronisation sleep.
const LIMIT: Duration = Duration::from_secs(30);

/// A running Alertmanager.
pub(crate) struct Alertmanager {
    child: Child,
    /// Its base URL.
    pub(crate) url: String,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Start one on a free loopback port; waits for its "Listening on" line.
    pub(crate) fn start(bin: &std::path::Path) -> Alertmanager {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path().join("am.yml");
        std::fs::write(
            &cfg,
            "route:\n  receiver: \"null\"\nreceivers:\n- name: \"null\"\n",
        )
        .expect("write am config");
        let mut child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.path={}", dir.path().display()))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start alertmanager");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let addr = loop {
            let line = rx
                .recv_timeout(LIMIT)
                .expect("alertmanager says where it listens");
            if line.contains("Listening on") {
                let a = line
                    .rsplit("address=")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                break a;
            }
        };
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Alertmanager {
            child,
            url: format!("http://{addr}"),
            _dir: dir,
        }
    }

    /// `GET /api/v2/alerts` (active, not resolved ones).
    pub(crate) fn alerts(&self) -> serde_json::Value {
        let body = http_get(&format!("{}/api/v2/alerts", self.url));
        serde_json::from_str(&body).expect("alerts JSON")
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP GET of `url` (http://host:port/path); the body.
pub(crate) fn http_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut c = TcpStream::connect(host).expect("connect");
    c.set_read_timeout(Some(LIMIT)).expect("timeout");
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    c.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "GET {url}: {answer}");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    if answer
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    }
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

/// How a receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// 200 to everything.
    Accept,
    /// 500 to the first N requests, then 200.
    FailFirst(usize),
    /// 500 while `down` is set, else 200.
    Switchable,
    /// Reads the request and never answers.
    Hang,
    /// 202 to a valid PagerDuty Events v2 body with this routing key, 400 otherwise.
    Pagerduty,
}

/// One accepted request.
#[derive(Clone, Debug)]
pub(crate) struct Got {
    /// Lower-cased header names and values.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, parsed.
    pub(crate) body: serde_json::Value,
    /// The raw body.
    pub(crate) raw: Vec<u8>,
}

/// A local HTTP receiver.
pub(crate) struct Receiver {
    /// Its URL.
    pub(crate) url: String,
    /// What it accepted, in order.
    pub(crate) got: Arc<Mutex<Vec<Got>>>,
    /// Requests it refused (500 or 400), with why.
    pub(crate) refused: Arc<Mutex<Vec<String>>>,
    /// `Mode::Switchable`: answer 500 while set.
    pub(crate) down: Arc<AtomicBool>,
    accepted: mpsc::Receiver<()>,
}

/// The routing key the PagerDuty receiver wants.
pub(crate) const PD_KEY: &str = "R0UT1NGKEY0123456789abcdef012345";

impl Receiver {
    /// Start one on a free loopback port.
    pub(crate) fn start(mode: Mode) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let got = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicUsize::new(0));
        let (tx, accepted) = mpsc::channel();
        let (g, r, d) = (Arc::clone(&got), Arc::clone(&refused), Arc::clone(&down));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (g, r, d, seen, tx) = (
                    Arc::clone(&g),
                    Arc::clone(&r),
                    Arc::clone(&d),
                    Arc::clone(&seen),
                    tx.clone(),
                );
                std::thread::spawn(move || serve(conn, mode, &g, &r, &d, &seen, &tx));
            }
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            got,
            refused,
            down,
            accepted,
        }
    }

    /// Wait until `pred` holds for what was accepted (woken by each accepted request).
    pub(crate) fn wait_until(&self, what: &str, pred: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        loop {
            {
                let g = self.got.lock().unwrap_or_else(|p| p.into_inner());
                if pred(&g) {
                    return g.clone();
                }
            }
            if self.accepted.recv_timeout(LIMIT).is_err() {
                let g = self.got.lock().unwrap_or_else(|p| p.into_inner());
                let bodies: Vec<String> = g.iter().map(|x| x.body.to_string()).collect();
                panic!("receiver never saw {what}; got:\n{}", bodies.join("\n"));
            }
        }
    }

    /// Everything accepted so far.
    pub(crate) fn all(&self) -> Vec<Got> {
        self.got.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn serve(
    mut conn: TcpStream,
    mode: Mode,
    got: &Mutex<Vec<Got>>,
    refused: &Mutex<Vec<String>>,
    down: &AtomicBool,
    seen: &AtomicUsize,
    accepted: &mpsc::Sender<()>,
) {
    let Some((headers, raw)) = read_request(&mut conn) else {
        return;
    };
    let n = seen.fetch_add(1, Ordering::SeqCst);
    let body: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_default();
    let (status, why) = match mode {
        Mode::Accept => (200, None),
        Mode::FailFirst(k) if n < k => (500, Some(format!("planned failure {n}"))),
        Mode::FailFirst(_) => (200, None),
        Mode::Switchable if down.load(Ordering::SeqCst) => (500, Some("down".to_owned())),
        Mode::Switchable => (200, None),
        Mode::Hang => {
            // Hold the connection open without answering until the client gives up.
            let mut sink = [0u8; 64];
            let _ = conn.read(&mut sink);
            return;
        }
        Mode::Pagerduty => match validate_pagerduty(&body) {
            Ok(()) => (202, None),
            Err(e) => (400, Some(e)),
        },
    };
    if let Some(why) = why {
        refused.lock().unwrap_or_else(|p| p.into_inner()).push(why);
    } else {
        got.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Got { headers, body, raw });
    }
    let text = match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        _ => "Internal Server Error",
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status} {text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let _ = conn.flush();
    if status < 300 {
        let _ = accepted.send(());
    }
}

/// Lower-cased header names with their values.
type Headers = Vec<(String, String)>;

fn read_request(conn: &mut TcpStream) -> Option<(Headers, Vec<u8>)> {
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
            if k == "content-length" {
                len = v.parse().unwrap_or(0);
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some((headers, body))
}

/// What PagerDuty's Events API v2 requires of a body.
fn validate_pagerduty(b: &serde_json::Value) -> Result<(), String> {
    if b["routing_key"] != PD_KEY {
        return Err(format!("routing_key {}", b["routing_key"]));
    }
    let action = b["event_action"].as_str().unwrap_or_default();
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        return Err(format!("event_action {action:?}"));
    }
    let key = b["dedup_key"].as_str().unwrap_or_default();
    if key.is_empty() || key.len() > 255 {
        return Err("dedup_key missing or too long".into());
    }
    if action == "trigger" {
        let p = &b["payload"];
        let summary = p["summary"].as_str().unwrap_or_default();
        if summary.is_empty() || summary.len() > 1024 {
            return Err("payload.summary missing or too long".into());
        }
        if p["source"].as_str().unwrap_or_default().is_empty() {
            return Err("payload.source missing".into());
        }
        if !["critical", "error", "warning", "info"]
            .contains(&p["severity"].as_str().unwrap_or_default())
        {
            return Err(format!("payload.severity {}", p["severity"]));
        }
        if let Some(ts) = p["timestamp"].as_str()
            && humantime::parse_rfc3339(ts).is_err()
        {
            return Err(format!("payload.timestamp {ts:?} is not RFC 3339"));
        }
    }
    Ok(())
}
