//! [`ApiError`]: every failed request as a JSON `{error}` body with the right status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A failed admin request; the status follows the variant, the body is `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or wrong bearer token on a write (401).
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// The named service is not configured (404).
    #[error("unknown service {0:?}")]
    UnknownService(String),
    /// Nothing by that name (a drill id) (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request body or query is malformed (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The command does not fit the current state: nothing pending, target not up (409).
    #[error("{0}")]
    Conflict(String),
    /// An observation was refused by verification (per reason, 4xx).
    #[error("observation rejected: {reason}: {detail}")]
    Rejected {
        /// Metrics label of the reason.
        reason: &'static str,
        /// Human detail.
        detail: String,
        /// 400 for malformed, 401 for bad signature/unknown voter, 409 replay, 422 stale.
        status: StatusCode,
    },
    /// The node is not ready or is shutting down (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The leading authority answered a forwarded command with an error (its status).
    #[error("leader {leader}: {error}")]
    Leader {
        /// The leader's node id.
        leader: String,
        /// Its error text.
        error: String,
        /// Its status.
        status: StatusCode,
    },
    /// The request was not received and answered in time (408).
    #[error("request timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// The request body is over the limit (413).
    #[error("request body too large: {0}")]
    TooLarge(String),
    /// Something failed inside the node, e.g. the store (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A JSON body that could not be read: 413 when over the size limit, else 400.
    pub(crate) fn from_json(e: axum::extract::rejection::JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(e.body_text())
        } else {
            ApiError::BadRequest(e.body_text())
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::UnknownService(_) | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Leader { status, .. } => *status,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "admin request failed");
        }
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}
