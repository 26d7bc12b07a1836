//! Errors of the simulated registry in the Distribution specification's shape:
//! `{"errors": [{"code", "message", "detail"}]}` with the status the specification gives
//! each code. Handlers decide which error applies; this file only renders them.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The header every registry response carries, as Docker clients expect.
pub const API_VERSION: (&str, &str) = ("docker-distribution-api-version", "registry/2.0");

/// One Distribution API error.
#[derive(Debug, Clone, PartialEq)]
pub struct DistError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Boxed: most errors carry none, and results stay small.
    pub detail: Box<Value>,
    /// `WWW-Authenticate` challenge, for 401.
    pub challenge: Option<String>,
}

impl DistError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        DistError { status, code, message: message.into(), detail: Box::new(Value::Null), challenge: None }
    }

    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Box::new(detail);
        self
    }

    pub fn blob_unknown(digest: &str) -> Self {
        Self::new(404, "BLOB_UNKNOWN", "blob unknown to registry").with_detail(json!({ "digest": digest }))
    }

    pub fn upload_unknown() -> Self {
        Self::new(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
    }

    pub fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new(400, "DIGEST_INVALID", message)
    }

    pub fn manifest_unknown(reference: &str) -> Self {
        Self::new(404, "MANIFEST_UNKNOWN", "manifest unknown").with_detail(json!({ "reference": reference }))
    }

    pub fn manifest_invalid(message: impl Into<String>) -> Self {
        Self::new(400, "MANIFEST_INVALID", message)
    }

    pub fn name_invalid(name: &str) -> Self {
        Self::new(400, "NAME_INVALID", "invalid repository name").with_detail(json!({ "name": name }))
    }

    pub fn name_unknown(message: impl Into<String>) -> Self {
        Self::new(404, "NAME_UNKNOWN", message)
    }

    pub fn unauthorized(realm: &str) -> Self {
        let mut e = Self::new(401, "UNAUTHORIZED", "authentication required");
        e.challenge = Some(format!("Basic realm=\"{realm}\""));
        e
    }

    /// OCIR's challenge: fetch a token from `realm` for `service`.
    pub fn bearer_challenge(realm: &str, service: &str) -> Self {
        let mut e = Self::new(401, "UNAUTHORIZED", "authentication required");
        e.challenge = Some(format!("Bearer realm=\"{realm}\",service=\"{service}\""));
        e
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(405, "UNSUPPORTED", message)
    }
}

impl IntoResponse for DistError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"errors": [{"code": self.code, "message": self.message, "detail": *self.detail}]});
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(API_VERSION.0, HeaderValue::from_static(API_VERSION.1));
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert("www-authenticate", challenge);
        }
        response
    }
}
