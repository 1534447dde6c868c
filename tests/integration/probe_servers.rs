//! Real loopback servers the probe suites check and kill: HTTP (healthy or silent), a TCP
//! banner server and a UDP DNS responder. Stopping one aborts its connection tasks too.

use hickory_server::proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_server::proto::rr::rdata::A;
use hickory_server::proto::rr::{RData, Record};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// How a test server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Answers `200 ok` to every HTTP request.
    Healthy,
    /// Accepts and reads, never answers (a hung server).
    Silent,
    /// Writes `220 switchback-test ready` on connect.
    Banner,
}

/// A running loopback server; `stop` (or drop) kills it and all its connections.
pub(crate) struct Server {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    /// Starts a TCP server on `addr` (port 0 for any).
    pub(crate) async fn tcp(addr: SocketAddr, mode: Mode) -> Server {
        let listener = TcpListener::bind(addr).await.expect("bind test server");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((s, _)) = listener.accept().await {
                conns.spawn(serve(s, mode));
            }
        });
        Server { addr, task }
    }

    /// Starts an HTTPS server (healthy) on `addr` with this certificate chain and key (PEM).
    pub(crate) async fn https(
        addr: SocketAddr,
        cert_pem: &std::path::Path,
        key_pem: &std::path::Path,
    ) -> Server {
        use tokio_rustls::rustls::{self, pki_types::pem::PemObject};
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(cert_pem)
            .expect("cert file")
            .collect::<Result<Vec<_>, _>>()
            .expect("certs");
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key_pem).expect("key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(addr).await.expect("bind https");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((s, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                conns.spawn(async move {
                    if let Ok(tls) = acceptor.accept(s).await {
                        serve(tls, Mode::Healthy).await;
                    }
                });
            }
        });
        Server { addr, task }
    }

    /// Starts a DNS responder: `A 127.0.0.1` for `ok.test.`, NXDOMAIN otherwise.
    pub(crate) async fn dns(addr: SocketAddr) -> Server {
        let sock = UdpSocket::bind(addr).await.expect("bind dns");
        let addr = sock.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
                let Ok(q) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
                r.metadata.authoritative = true;
                let query = q.queries.first().cloned();
                if let Some(query) = query {
                    let name = query.name().clone();
                    r.add_query(query);
                    if name.to_ascii().eq_ignore_ascii_case("ok.test.") {
                        r.add_answer(Record::from_rdata(
                            name,
                            30,
                            RData::A(A(Ipv4Addr::LOCALHOST)),
                        ));
                    } else {
                        r.metadata.response_code = ResponseCode::NXDomain;
                    }
                }
                if let Ok(bytes) = r.to_vec() {
                    let _ = sock.send_to(&bytes, peer).await;
                }
            }
        });
        Server { addr, task }
    }

    /// Kills the server and every open connection, and waits until it is gone.
    pub(crate) async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut s: impl AsyncRead + AsyncWrite + Unpin, mode: Mode) {
    let mut buf = vec![0u8; 4096];
    let mut have = Vec::new();
    if mode == Mode::Banner {
        let _ = s.write_all(b"220 switchback-test ready\r\n").await;
    }
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        have.extend_from_slice(&buf[..n]);
        while let Some(end) = have.windows(4).position(|w| w == b"\r\n\r\n") {
            have.drain(..end + 4);
            if mode == Mode::Healthy {
                let resp = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nstatus ok";
                if s.write_all(resp).await.is_err() {
                    return;
                }
            }
        }
    }
}
