//! `https` checks against a loopback TLS server with a test CA made by `openssl`: TLS
//! verification is on by default (an unknown CA is down), `ca_file` trusts the CA, and
//! `tls_verify = false` accepts any certificate.

use crate::probe_servers::Server;
use crate::probe_support::{config, have, probes, require, sh};
use std::path::Path;
use switchback::model::Health;
use switchback::probe;

/// Makes `ca.pem` and a `srv.pem`/`srv.key` for IP 127.0.0.1 signed by it, in `dir`.
fn make_certs(dir: &Path) {
    let p = |f: &str| dir.join(f).display().to_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "openssl",
        "req",
        "-x509",
        "-days",
        "1",
        "-subj",
        "/CN=switchback test CA",
    ];
    ca.extend(ec);
    let (ca_key, ca_pem) = (p("ca.key"), p("ca.pem"));
    ca.extend(["-keyout", &ca_key, "-out", &ca_pem]);
    sh(&ca);
    let (srv_key, csr) = (p("srv.key"), p("srv.csr"));
    let mut req = vec!["openssl", "req", "-subj", "/CN=localhost"];
    req.extend(ec);
    req.extend(["-keyout", &srv_key, "-out", &csr]);
    sh(&req);
    let ext = p("ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    let srv = p("srv.pem");
    sh(&[
        "openssl",
        "x509",
        "-req",
        "-days",
        "1",
        "-in",
        &csr,
        "-CA",
        &ca_pem,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-extfile",
        &ext,
        "-out",
        &srv,
    ]);
}

#[tokio::test]
async fn tls_is_verified_by_default_and_ca_file_trusts_a_private_ca() {
    if !require("openssl", have("openssl")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    make_certs(dir.path());
    let server = Server::https(
        "127.0.0.1:0".parse().expect("addr"),
        &dir.path().join("srv.pem"),
        &dir.path().join("srv.key"),
    )
    .await;
    let url = format!("https://{}/health", server.addr);
    let check = |name: &str, extra: &str| {
        format!(
            "[[check]]\nname = \"{name}\"\nsite = \"bj\"\nlayer = \"app\"\nkind = \"https\"\nurl = \"{url}\"\nbody = \"ok\"\ntimeout = \"800ms\"\n{extra}\n\n"
        )
    };
    let text = check("default", "")
        + &check("private-ca", "ca_file = \"ca.pem\"")
        + &check("no-verify", "tls_verify = false");
    let (path, file) = probes(dir.path(), "crm.toml", &text);
    let cfg = config(&dir.path().join("node.toml"), &[("crm", &path, &[])]);
    let report = probe::run_once(&cfg, vec![file]).await.expect("once");
    let states: Vec<Health> = report.rows.iter().map(|r| r.state).collect();
    assert_eq!(states, [Health::Down, Health::Up, Health::Up], "\n{report}");
    assert!(
        report.rows[0].detail.to_lowercase().contains("certificate"),
        "\n{report}"
    );
}
