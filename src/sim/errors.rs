//! Errors of the simulator: [`ApiError`] is what a simulated OCI service answers (status,
//! OCI error code, message), rendered exactly as OCI renders it; [`SimError`] is what
//! starting, configuring or driving the simulator itself can fail with.
//! Nothing here decides *when* an error happens; services and middleware do.

use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An OCI error response: `{"code": ..., "message": ...}` with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameter", message)
    }
    pub fn missing(field: &str) -> Self {
        Self::new(400, "MissingParameter", format!("Missing required parameter `{field}`."))
    }
    pub fn not_authenticated(message: impl Into<String>) -> Self {
        Self::new(401, "NotAuthenticated", message)
    }
    /// OCI answers 404 both for "absent" and "not allowed", so callers cannot probe.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            404,
            "NotAuthorizedOrNotFound",
            format!("Authorization failed or requested resource not found: {what}."),
        )
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, "Conflict", message)
    }
    pub fn incorrect_state(message: impl Into<String>) -> Self {
        Self::new(409, "IncorrectState", message)
    }
    pub fn etag_mismatch() -> Self {
        Self::new(412, "NoEtagMatch", "The resource's etag does not match the value of the if-match header.")
    }
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(400, "LimitExceeded", message)
    }
    pub fn throttled() -> Self {
        Self::new(429, "TooManyRequests", "Too many requests for the tenancy; slow down.")
    }
    pub fn internal() -> Self {
        Self::new(500, "InternalServerError", "Internal error (injected fault).")
    }
    pub fn unavailable() -> Self {
        Self::new(503, "ServiceUnavailable", "The service is unavailable in this region (injected outage).")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(json!({"code": self.code, "message": self.message}))).into_response()
    }
}

/// Failures of the simulator process: files, keys, sockets, arguments.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("cannot generate or encode the API key: {detail}")]
    Key { detail: String },
    #[error("cannot listen on {addr} for region {region}: {source}")]
    Bind { region: String, addr: String, source: std::io::Error },
    #[error("unknown region `{region}`; use a region id such as us-ashburn-1")]
    UnknownRegion { region: String },
    #[error("invalid fault: {detail}")]
    Fault { detail: String },
    #[error("cannot reach the simulator's admin listener at {url}: {detail}")]
    Admin { url: String, detail: String },
    #[error("seeding from {path}: {detail}")]
    Seed { path: PathBuf, detail: String },
    #[error("{0}")]
    Usage(String),
    /// The state file (`--state`) cannot be read at start (`reading`) or written.
    #[error("{detail}")]
    StateFile { detail: String, reading: bool },
    #[error("cannot start the simulator's thread: {0}")]
    Thread(std::io::Error),
    #[error(
        "{} is already served by another simulator ({holder}): two would share its state file, and the one \
         stopped last would overwrite what the other saved; stop that one first, or use it (its endpoints are in \
         endpoints.json there)",
        dir.display()
    )]
    Busy { dir: PathBuf, holder: String },
}
