//! Bearer-token check for writes: `Authorization: Bearer <token>`, compared in constant time.

use super::error::ApiError;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use std::path::Path;
use subtle::ConstantTimeEq;

/// The admin token (as a SHA-256 digest, so comparison time does not depend on its length).
#[derive(Clone)]
pub struct Token {
    digest: Option<[u8; 32]>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.digest.is_some() {
            "Token(set)"
        } else {
            "Token(none)"
        })
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The credentials of `Bearer <token>`; the scheme name is case-insensitive (RFC 9110 §11.1).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(rest)
}

impl Token {
    /// A token from its text (surrounding whitespace trimmed); empty means no token.
    pub fn new(text: &str) -> Self {
        let t = text.trim();
        Self {
            digest: (!t.is_empty()).then(|| digest(t.as_bytes())),
        }
    }

    /// No token: every write is refused.
    pub fn none() -> Self {
        Self { digest: None }
    }

    /// Read the token from a file.
    pub fn from_file(path: &Path) -> std::io::Result<Self> {
        Ok(Self::new(&std::fs::read_to_string(path)?))
    }

    /// Check a request's `Authorization` header.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(want) = &self.digest else {
            return Err(ApiError::Unauthorized(
                "writes are disabled: no [admin] token_file configured",
            ));
        };
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .ok_or(ApiError::Unauthorized(
                "missing Authorization: Bearer token",
            ))?;
        if bool::from(digest(given.trim().as_bytes()).ct_eq(want)) {
            Ok(())
        } else {
            Err(ApiError::Unauthorized("wrong token"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn accepts_only_the_right_bearer_token() {
        let t = Token::new("s3cret\n");
        assert!(t.check(&headers("Bearer s3cret")).is_ok());
        assert!(t.check(&headers("bearer s3cret")).is_ok());
        assert!(t.check(&headers("BEARER  s3cret")).is_ok());
        assert!(t.check(&headers("Bearer s3cre")).is_err());
        assert!(t.check(&headers("Basic s3cret")).is_err());
        assert!(t.check(&HeaderMap::new()).is_err());
        assert!(Token::none().check(&headers("Bearer ")).is_err());
        assert!(Token::new("  ").check(&headers("Bearer ")).is_err());
    }
}
