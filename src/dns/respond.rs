//! The path behind the fast path: hickory's parser and Catalog, encoding into our own buffer.
//!
//! hickory's own `ResponseHandle` writes to its internal streams; ours captures the encoded
//! bytes so the same code serves our UDP loop, our TCP loop and the tests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::Edns;
use hickory_server::proto::op::{MessageType, ResponseCode};
use hickory_server::proto::rr::DNSClass;
use hickory_server::proto::rr::Record;
use hickory_server::proto::serialize::binary::BinEncoder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{MessageResponse, MessageResponseBuilder};

use super::conform;
use super::hot::EDNS_PAYLOAD;
use super::metrics::Counters;
use super::snapshot::Snapshot;

/// Captures one encoded response.
#[derive(Clone)]
pub(crate) struct Capture {
    protocol: Protocol,
    /// The query asked for DNSSEC records (RFC 3225): the DO bit is copied to the response.
    dnssec_ok: bool,
    out: Arc<Mutex<Option<Vec<u8>>>>,
}

#[async_trait::async_trait]
impl ResponseHandler for Capture {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let max = match (self.protocol, response.edns()) {
            (Protocol::Udp, Some(edns)) => edns.max_payload().clamp(512, EDNS_PAYLOAD),
            (Protocol::Udp, None) => 512,
            _ => u16::MAX,
        };
        let mut bytes = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(max);
        // destructive_emit sets TC=1 and cuts sections when the limit is reached.
        let info = response.destructive_emit(&mut encoder)?;
        if self.dnssec_ok {
            conform::set_dnssec_ok(&mut bytes);
        }
        if let Ok(mut out) = self.out.lock() {
            *out = Some(bytes);
        }
        Ok(info)
    }
}

/// What the slow path made of a packet.
pub(crate) enum Outcome {
    /// Send these bytes back.
    Reply(Vec<u8>),
    /// Not a request we can parse: dropped (and counted).
    Dropped,
}

/// Parses a request (dropping garbage) for the TCP path to inspect before answering.
pub(crate) fn parse(
    raw: &[u8],
    src: SocketAddr,
    protocol: Protocol,
    counters: &Counters,
) -> Option<Request> {
    if conform::question_has_pointer(raw) {
        Counters::bump(&counters.malformed_dropped);
        return None;
    }
    match Request::from_bytes(raw.to_vec(), src, protocol) {
        Ok(req) if req.metadata.message_type == MessageType::Query => Some(req),
        _ => {
            Counters::bump(&counters.malformed_dropped);
            None
        }
    }
}

/// Answers a parsed request through the snapshot's Catalog.
pub(crate) async fn answer(snap: &Snapshot, req: &Request, counters: &Counters) -> Outcome {
    let mut capture = Capture {
        protocol: req.protocol(),
        dnssec_ok: req.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
        out: Arc::new(Mutex::new(None)),
    };
    let in_class = req
        .request_info()
        .map_or(true, |i| i.query.query_class() == DNSClass::IN);
    let refused = if in_class {
        let info = snap
            .catalog
            .handle_request::<Capture, TokioTime>(req, capture.clone())
            .await;
        info.response_code == ResponseCode::Refused
    } else {
        // Our zones are class IN: any other class (HS, NONE, CH, unknown) is refused.
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        let response = MessageResponseBuilder::new(&req.queries, req.edns.as_ref().map(|_| &edns))
            .error_msg(&req.metadata, ResponseCode::Refused);
        let _ = capture.send_response(response).await;
        true
    };
    if refused {
        Counters::bump(&counters.refused);
    }
    let bytes = capture.out.lock().ok().and_then(|mut o| o.take());
    match bytes {
        Some(b) => Outcome::Reply(b),
        None => {
            Counters::bump(&counters.malformed_dropped);
            Outcome::Dropped
        }
    }
}

/// Answers from the pre-rendered tables alone (no await, no allocation on a hit).
pub(crate) fn fast(snap: &Snapshot, raw: &[u8], counters: &Counters, out: &mut Vec<u8>) -> bool {
    Counters::bump(&counters.queries);
    let answered = fast_uncounted(snap, raw, out);
    if answered {
        Counters::bump(&counters.fast_answers);
    }
    answered
}

/// The fast path without touching the shared counters (the UDP loop counts per batch).
pub(crate) fn fast_uncounted(snap: &Snapshot, raw: &[u8], out: &mut Vec<u8>) -> bool {
    snap.hot.answer(raw, out) || snap.static_hot.answer(raw, out)
}

/// Answers what the fast path declined through hickory; `false` means dropped.
pub(crate) async fn slow(
    snap: &Snapshot,
    raw: &[u8],
    src: SocketAddr,
    protocol: Protocol,
    counters: &Counters,
    out: &mut Vec<u8>,
) -> bool {
    if conform::formerr_for_two_opts(raw, out) {
        return true;
    }
    let Some(req) = parse(raw, src, protocol, counters) else {
        return false;
    };
    match answer(snap, &req, counters).await {
        Outcome::Reply(b) => {
            *out = b;
            true
        }
        Outcome::Dropped => false,
    }
}
