//! TSIG (RFC 8945) for zone transfers: verify the request, sign every response message; and
//! the keys NOTIFYs are signed with.
//!
//! hickory-proto signs a single response; the later messages of a multi-message transfer
//! are signed over the prior MAC, the message and the TSIG timers only (RFC 8945 §5.3.1),
//! which is written here.

use std::path::Path;

use hickory_proto::rr::rdata::tsig::{TSIG, TsigAlgorithm, TsigError, make_tsig_record};
use hickory_proto::rr::{Name, TSigResponseContext, TSigner};
use hickory_server::proto::op::{Message, ResponseCode};
use hickory_server::server::Request;

use super::error::DnsError;
use crate::config::TsigKey;

/// Allowed clock difference in seconds.
const FUDGE: u16 = 300;

/// The configured keys; empty means transfers need no signature.
#[derive(Clone, Default)]
pub(crate) struct Keyring {
    signers: Vec<TSigner>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .signers
            .iter()
            .map(|s| s.signer_name().to_ascii())
            .collect();
        f.debug_struct("Keyring").field("keys", &names).finish()
    }
}

/// How the messages of one transfer are signed.
pub(crate) enum Signing {
    /// Unsigned.
    None,
    /// Signed with `signer`, chaining MACs from the request's.
    Tsig {
        signer: TSigner,
        prev_mac: Vec<u8>,
        first: bool,
        time: u64,
    },
}

impl Keyring {
    /// Loads each key's base64 secret from its file.
    pub(crate) fn load(keys: &[TsigKey], base: &Path) -> Result<Self, DnsError> {
        let mut signers = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let fail = |problem: String| DnsError::Tsig {
                name: k.name.clone(),
                file: k.secret_file.clone(),
                problem,
            };
            let path = base.join(&k.secret_file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| fail(format!("dns.tsig_keys[{i}].secret_file: cannot read: {e}")))?;
            let secret = data_encoding::BASE64
                .decode(text.trim().as_bytes())
                .map_err(|e| fail(format!("secret is not base64: {e}")))?;
            let name = Name::from_ascii(&k.name).map_err(|e| fail(format!("bad key name: {e}")))?;
            let alg_name =
                Name::from_ascii(&k.algorithm).map_err(|e| fail(format!("bad algorithm: {e}")))?;
            let algorithm = TsigAlgorithm::from_name(alg_name);
            let signer = TSigner::new(secret, algorithm, name, FUDGE)
                .map_err(|e| fail(format!("unsupported: {e}")))?;
            signers.push(signer);
        }
        Ok(Self { signers })
    }

    /// The signer of the key named `name` (as written in the config).
    pub(crate) fn signer(&self, name: &str) -> Option<TSigner> {
        let name = Name::from_ascii(name).ok()?;
        self.signers
            .iter()
            .find(|s| *s.signer_name() == name)
            .cloned()
    }

    /// Checks a transfer request; `Err` carries the (unsigned) error reply to send.
    pub(crate) fn verify(&self, req: &Request, now: u64) -> Result<Signing, Vec<u8>> {
        if self.signers.is_empty() {
            return Ok(Signing::None);
        }
        let reply = |rcode: ResponseCode, err: Option<TsigError>| {
            let mut m = Message::new(
                req.metadata.id,
                hickory_server::proto::op::MessageType::Response,
                hickory_server::proto::op::OpCode::Query,
            );
            if let Some(q) = req.queries.queries().first() {
                m.add_query(q.original().clone());
            }
            m.metadata.response_code = rcode;
            if let (Some(err), Some(sig)) = (err, req.signature.as_ref()) {
                let tsig = TSIG::new(
                    sig.data.algorithm.clone(),
                    now,
                    FUDGE,
                    Vec::new(),
                    req.metadata.id,
                    Some(err),
                    Vec::new(),
                );
                m.set_signature(Box::new(make_tsig_record(sig.name.clone(), tsig)));
            }
            m.to_vec().unwrap_or_default()
        };
        let Some(sig) = req.signature.as_ref() else {
            return Err(reply(ResponseCode::Refused, None));
        };
        let Some(signer) = self.signers.iter().find(|s| *s.signer_name() == sig.name) else {
            return Err(reply(ResponseCode::NotAuth, Some(TsigError::BadKey)));
        };
        match signer.verify_message_byte(req.as_slice(), None, true) {
            Ok((mac, _, range)) if range.contains(&now) => Ok(Signing::Tsig {
                signer: signer.clone(),
                prev_mac: mac,
                first: true,
                time: now,
            }),
            Ok(_) => Err(reply(ResponseCode::NotAuth, Some(TsigError::BadTime))),
            Err(_) => Err(reply(ResponseCode::NotAuth, Some(TsigError::BadSig))),
        }
    }
}

impl Signing {
    /// Encodes one response message of the transfer, signed when the request was.
    pub(crate) fn finish(&mut self, mut msg: Message) -> Vec<u8> {
        let Signing::Tsig {
            signer,
            prev_mac,
            first,
            time,
        } = self
        else {
            return msg.to_vec().unwrap_or_default();
        };
        let Ok(unsigned) = msg.to_vec() else {
            return Vec::new();
        };
        let id = msg.metadata.id;
        let record = if *first {
            *first = false;
            TSigResponseContext::new(id, *time, signer.clone(), prev_mac.clone(), None)
                .sign(&unsigned)
                .ok()
        } else {
            // RFC 8945 §5.3.1: prior MAC, this message, then only the timers.
            let mut tbs = Vec::with_capacity(unsigned.len() + prev_mac.len() + 10);
            tbs.extend_from_slice(&(prev_mac.len() as u16).to_be_bytes());
            tbs.extend_from_slice(prev_mac);
            tbs.extend_from_slice(&unsigned);
            tbs.extend_from_slice(&((*time >> 32) as u16).to_be_bytes());
            tbs.extend_from_slice(&(*time as u32).to_be_bytes());
            tbs.extend_from_slice(&FUDGE.to_be_bytes());
            signer.sign(&tbs).ok().map(|mac| {
                let tsig = TSIG::new(
                    signer.algorithm().clone(),
                    *time,
                    FUDGE,
                    mac,
                    id,
                    None,
                    Vec::new(),
                );
                Box::new(make_tsig_record(signer.signer_name().clone(), tsig))
            })
        };
        let Some(record) = record else {
            return unsigned;
        };
        *prev_mac = record.data.mac.clone();
        msg.set_signature(record);
        msg.to_vec().unwrap_or(unsigned)
    }
}
