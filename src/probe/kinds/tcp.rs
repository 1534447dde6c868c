//! `tcp` checks: connect, optionally send a line and expect a banner substring.
//!
//! The connection is closed with a zero linger (RST), so thousands of checks per second leave
//! no TIME_WAIT sockets behind to exhaust ephemeral ports.

use super::{Outcome, io_evidence};
use crate::probe::defs::TcpSpec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Most banner bytes read while looking for `expect`.
const BANNER_CAP: usize = 4096;

/// One connect (the caller bounds it with the check's timeout).
pub(crate) async fn run(spec: &TcpSpec) -> Outcome {
    let start = Instant::now();
    let mut stream = match TcpStream::connect(spec.target).await {
        Ok(s) => s,
        Err(e) => {
            return Outcome::failed(
                io_evidence(&e),
                None,
                format!("connect {}: {e}", spec.target),
            );
        }
    };
    let rtt = Some(start.elapsed());
    let _ = socket2::SockRef::from(&stream).set_linger(Some(std::time::Duration::ZERO));
    if let Some(send) = &spec.send
        && let Err(e) = stream.write_all(send.as_bytes()).await
    {
        return Outcome::failed(io_evidence(&e), rtt, format!("send: {e}"));
    }
    let Some(want) = &spec.expect else {
        return Outcome::pass(rtt, "connected");
    };
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        if String::from_utf8_lossy(&buf).contains(want.as_str()) {
            return Outcome::pass(rtt, format!("banner has {want:?}"));
        }
        if buf.len() >= BANNER_CAP {
            return Outcome::fail(rtt, format!("no {want:?} in first {BANNER_CAP} bytes"));
        }
        match stream.read(&mut chunk).await {
            Ok(0) => {
                let got = String::from_utf8_lossy(&buf);
                let first = got.lines().next().unwrap_or("");
                return Outcome::fail(rtt, format!("closed without {want:?} (got {first:?})"));
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Outcome::failed(io_evidence(&e), rtt, format!("read: {e}")),
        }
    }
}
