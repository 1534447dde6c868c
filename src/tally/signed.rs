//! The signed observation as it travels from a probe to an authority (HMAC-SHA256, hex).

use crate::model::Observation;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Domain separation so a signature over an observation can never be reused for another message kind.
const CONTEXT: &[u8] = b"switchback-observation-v1\n";

/// An observation plus its HMAC; the wire format between probes and authorities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedObservation {
    /// What the probe believes.
    pub observation: Observation,
    /// Index of the key (in `votes.key_files` order) that signed it, when the signer says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<u32>,
    /// Lower-case hex HMAC-SHA256 over the canonical JSON of `observation`.
    pub signature: String,
}

/// The bytes that are signed: a context line, then the observation's canonical JSON.
///
/// `Observation` holds only structs and `BTreeMap`s, so its JSON is deterministic for one schema.
fn signed_bytes(obs: &Observation) -> Vec<u8> {
    let mut bytes = CONTEXT.to_vec();
    // Serialising plain data with string keys cannot fail; an empty body would only fail verification.
    bytes.extend(serde_json::to_vec(obs).unwrap_or_default());
    bytes
}

/// A keyed MAC ready for input; `None` never happens for HMAC (any key length is valid).
fn mac(key: &[u8]) -> Option<HmacSha256> {
    HmacSha256::new_from_slice(key).ok()
}

/// Sign an observation with one key.
pub(crate) fn sign(key: &[u8], key_id: Option<u32>, obs: &Observation) -> SignedObservation {
    let signature = mac(key)
        .map(|mut m| {
            m.update(&signed_bytes(obs));
            hex::encode(m.finalize().into_bytes())
        })
        .unwrap_or_default();
    SignedObservation {
        observation: obs.clone(),
        key_id,
        signature,
    }
}

/// Whether `s` carries a valid signature by `key` (constant-time comparison).
pub(crate) fn check(key: &[u8], s: &SignedObservation) -> bool {
    let Ok(sig) = hex::decode(&s.signature) else {
        return false;
    };
    let Some(mut m) = mac(key) else {
        return false;
    };
    m.update(&signed_bytes(&s.observation));
    m.verify_slice(&sig).is_ok()
}
