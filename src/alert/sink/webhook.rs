//! Generic webhook: the event document as JSON, custom headers, an `Idempotency-Key` (the
//! event id), and with a secret an `X-Switchback-Signature: sha256=HEX` HMAC of the body.

use super::{DeliveryError, post};
use crate::alert::event::AlertEvent;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

/// The signature header.
pub(crate) const SIGNATURE: &str = "x-switchback-signature";

#[derive(Debug)]
pub(super) struct Webhook {
    pub(super) client: reqwest::Client,
    pub(super) url: String,
    pub(super) headers: BTreeMap<String, String>,
    pub(super) secret: Option<String>,
}

/// `sha256=HEX` of `body` under `secret`.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Webhook {
    pub(super) async fn deliver(&self, e: &AlertEvent) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&e.document()).unwrap_or_default();
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        headers.push(("idempotency-key".into(), e.id()));
        if let Some(secret) = &self.secret {
            headers.push((SIGNATURE.into(), signature(secret, &body)));
        }
        post(&self.client, &self.url, body, &headers).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
