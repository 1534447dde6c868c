//! The dashboard in a real headless Chromium, driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`): load it against a running node, fail the primary of a confirm-mode
//! service, assert what is rendered (active site, approve button, timeline entry), approve
//! from the page (confirm dialog, token prompt), and see the "not answering" banner once the
//! node is gone. Screenshots go to `target/tmp/test-artifacts/`.

use crate::dns_support::require;
use crate::drill::wait_both_up;
use crate::failover::{StandIn, http_check};
use crate::harness::{NodeDir, TOKEN, service};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A chromedriver process and one browser session; both end on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Browser {
    fn start(chromedriver: &std::path::Path) -> Browser {
        // A free port outside the ephemeral range; chromedriver says when it listens.
        let port = crate::ports::free_port();
        let mut driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let stdout = driver.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("started successfully") => break,
                Some(Ok(_)) => {}
                _ => panic!("chromedriver did not start"),
            }
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let mut b = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            rt,
            http,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1100"]
            }
        }}});
        let v = b.call("POST", "/session", Some(caps)).expect("new session");
        b.session = v["sessionId"].as_str().expect("session id").to_owned();
        b.call("POST", "/timeouts", Some(json!({"script": 30_000})))
            .expect("timeouts");
        b
    }

    /// One WebDriver command (path relative to the session once there is one); its `value`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let url = if self.session.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        self.rt.block_on(async {
            let req = match method {
                "GET" => self.http.get(&url),
                "DELETE" => self.http.delete(&url),
                _ => self
                    .http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.unwrap_or(json!({})).to_string()),
            };
            let r = req.send().await.expect("webdriver request");
            let ok = r.status().is_success();
            let text = r.text().await.expect("webdriver answer");
            let v: Value = serde_json::from_str(&text).expect("webdriver JSON");
            if ok {
                Ok(v["value"].clone())
            } else {
                Err(v["value"].clone())
            }
        })
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })))
            .expect("navigate");
    }

    /// Wait (in the page, on DOM mutations, never by polling) until `cond` (a JS expression)
    /// holds; panics with the page's text when the script timeout passes first.
    fn wait_for(&self, what: &str, cond: &str) {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const cond = () => {{ try {{ return !!({cond}); }} catch (e) {{ return false; }} }};
             if (cond()) return done(true);
             const obs = new MutationObserver(() => {{ if (cond()) {{ obs.disconnect(); done(true); }} }});
             obs.observe(document, {{subtree: true, childList: true, characterData: true, attributes: true}});"
        );
        if let Err(e) = self.call(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": []})),
        ) {
            panic!("{what}: {e}\npage text:\n{}", self.text());
        }
    }

    fn eval(&self, expr: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": format!("return {expr};"), "args": []})),
        )
        .expect("execute")
    }

    fn text(&self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn click(&self, css: &str) {
        let el = self
            .call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        let id = el
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("element id")
            .to_owned();
        // The click opens a dialog; the command may report it as an error, which is fine.
        let _ = self.call("POST", &format!("/element/{id}/click"), None);
    }

    /// Answer the next dialog (`text` for a prompt), waiting for it to open.
    fn answer_dialog(&self, text: Option<&str>) {
        for _ in 0..200 {
            if self.call("GET", "/alert/text", None).is_ok() {
                if let Some(t) = text {
                    self.call("POST", "/alert/text", Some(json!({ "text": t })))
                        .expect("type into prompt");
                }
                self.call("POST", "/alert/accept", None).expect("accept");
                return;
            }
            // The dialog opens from the page's own event handler; give it a moment.
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("no dialog opened");
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.call("GET", "/screenshot", None).expect("screenshot");
        let png = data_encoding::BASE64
            .decode(v.as_str().expect("base64").as_bytes())
            .expect("decode");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-artifacts");
        std::fs::create_dir_all(&dir).expect("artifacts dir");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", "", None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn dashboard_renders_failover_pending_approval_and_lost_node() {
    let Some(chromedriver) = require("chromedriver") else {
        return;
    };
    if require("chromium").is_none() {
        return;
    }
    let (bj, sh) = (StandIn::start(), StandIn::start());
    let dir = NodeDir::with(
        &["probe", "authority"],
        &format!("{}{}", http_check("bj", bj.addr), http_check("sh", sh.addr)),
        r#"{ mode = "confirm", quorum = 1, min_domains = 1, hold_down = "300ms", confirm_timeout = "10m", on_confirm_timeout = "abort" }"#,
    );
    let node = dir.start();
    wait_both_up(&node);
    let browser = Browser::start(&chromedriver);
    browser.go(&node.url());
    let card = r#"document.querySelector('section[data-svc="crm"]')"#;
    browser.wait_for(
        "crm active at bj",
        &format!("{card}.querySelector('.active').textContent === 'bj'"),
    );
    browser.wait_for("vote matrix", "document.querySelector('#votes .c-up')");
    browser.screenshot("dashboard-before.png");

    // The primary fails: a confirm-mode service proposes and waits for approval.
    bj.up.store(false, Ordering::SeqCst);
    browser.wait_for("approve button", "document.querySelector('button.approve')");
    browser.wait_for(
        "timeline entry",
        "document.querySelector('#timeline').innerText.includes('switch to sh proposed')",
    );
    let text = browser.text();
    assert!(text.contains("Approve switch to sh"), "{text}");
    assert!(text.contains("waits for approval"), "{text}");
    assert_eq!(
        browser.eval(&format!("{card}.querySelector('.active').textContent")),
        "bj"
    );
    browser.screenshot("dashboard-pending.png");

    // Approve from the page: the name was given earlier, the token is asked for now.
    browser.eval("localStorage.setItem('switchback-operator', 'carol')");
    browser.click("button.approve");
    browser.answer_dialog(None);
    browser.answer_dialog(Some(TOKEN));
    browser.wait_for(
        "crm active at sh",
        &format!("{card}.querySelector('.active').textContent === 'sh'"),
    );
    browser.wait_for(
        "the approval on the timeline",
        "document.querySelector('#timeline').innerText.includes('carol (dashboard) approved')",
    );
    // The authorities table: this node alone, leading itself, at the new epoch.
    let status = node.status();
    let (me, epoch) = (
        &status["cluster"]["node"],
        &service(&status, "crm")["epoch"],
    );
    let row = format!(
        r#"document.querySelector('#authorities tr[data-authority="{}"]')"#,
        me.as_str().unwrap_or_default()
    );
    browser.wait_for(
        "this authority's row at the new epoch",
        &format!("{row} && {row}.cells[3].textContent === '{epoch}'"),
    );
    let text = browser.eval(&format!("{row}.innerText")).to_string();
    assert!(text.contains("single") && text.contains("ok"), "{text}");
    browser.screenshot("dashboard-after.png");
    assert_eq!(service(&status, "crm")["active_site"], "sh");

    // The node goes away: the page says so plainly.
    node.kill9();
    browser.wait_for(
        "not-answering banner",
        "document.querySelector('#banner').classList.contains('on')",
    );
    assert!(browser.text().contains("Node not answering"));
    browser.screenshot("dashboard-node-gone.png");
}
