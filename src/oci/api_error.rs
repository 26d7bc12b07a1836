//! Errors of the remote half: what an OCI service answered, and what can go wrong sending a
//! request or waiting on one.
//!
//! [`OciError`] carries everything an operator needs to act on or to quote to Oracle support
//! (status, code, message, opc-request-id, method and URL) plus a help text for the common
//! codes. Request bodies, headers and credentials never appear in these errors.

use std::fmt;
use std::time::Duration;

use thiserror::Error;

use super::error::{EndpointError, SignError};
use super::retry::{is_retryable, Failure};

/// An error response from an OCI service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciError {
    pub status: u16,
    /// The service's error code (`NotAuthorizedOrNotFound`), or the HTTP reason when the
    /// body was not OCI's JSON error shape.
    pub code: String,
    pub message: String,
    pub opc_request_id: Option<String>,
    pub method: String,
    pub url: String,
    /// Attempts made, the failing one included.
    pub attempts: u32,
}

impl OciError {
    /// Builds an error from a response status and body.
    pub fn from_response(status: u16, body: &[u8], opc_request_id: Option<String>, method: &str, url: &str) -> Self {
        #[derive(serde::Deserialize)]
        struct Wire {
            code: Option<String>,
            message: Option<String>,
        }
        let wire: Option<Wire> = serde_json::from_slice(body).ok();
        let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Unknown");
        let code = wire.as_ref().and_then(|w| w.code.clone()).unwrap_or_else(|| reason.replace(' ', ""));
        let message = wire.and_then(|w| w.message).unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            // Keep unexpected bodies (proxy HTML pages) short in the message.
            text.chars().take(300).collect()
        });
        OciError {
            status,
            code,
            message,
            opc_request_id,
            method: method.to_string(),
            url: url.to_string(),
            attempts: 1,
        }
    }

    /// Whether retrying could succeed (the same rule the client applies).
    pub fn is_retryable(&self) -> bool {
        is_retryable(Failure::Status { status: self.status, code: Some(&self.code) })
    }

    /// What the operator should check for this error, when OCI's code is a common one.
    pub fn help(&self) -> Option<&'static str> {
        Some(match (self.status, self.code.as_str()) {
            (_, "NotAuthorizedOrNotFound") | (404, "NotFound") => {
                "the resource does not exist or you lack permission: check the OCID and region, that the compartment is right, and that an IAM policy grants your group access (e.g. `allow group X to manage functions-family in compartment Y`)"
            }
            (_, "NotAuthenticated") | (401, _) => {
                "the signature was rejected: check that key_file is the private key of the API key uploaded for this user, that fingerprint and the tenancy/user OCIDs are right, that a session token has not expired, and that this machine's clock is within 5 minutes of real time"
            }
            (_, "LimitExceeded") | (_, "QuotaExceeded") => {
                "a service limit or compartment quota is reached: check Governance > Limits, Quotas and Usage in the target region, request an increase, or delete unused resources"
            }
            (_, "TooManyRequests") | (429, _) => {
                "OCI is throttling this tenancy: lower the runbook's parallelism or retry later"
            }
            (_, "IncorrectState") => {
                "the resource is busy in another lifecycle state (creating, updating or deleting): wait for it to settle and retry"
            }
            (_, "NoEtagMatch") | (412, _) => {
                "the resource changed since it was read (if-match/etag mismatch): read it again and reapply the change"
            }
            (_, "InvalidParameter") | (_, "MissingParameter") => {
                "the request body or query is invalid: compare the fields with the OCI API reference for this operation"
            }
            _ => return None,
        })
    }
}

impl OciError {
    /// The error on one line, without the help that [`fmt::Display`] adds on the next.
    pub fn line(&self) -> String {
        let mut out = format!("{} {} failed: {} {}: {}", self.method, self.url, self.status, self.code, self.message);
        if let Some(id) = &self.opc_request_id {
            out.push_str(&format!(" (opc-request-id: {id})"));
        }
        if self.attempts > 1 {
            out.push_str(&format!(" after {} attempts", self.attempts));
        }
        out
    }
}

impl fmt::Display for OciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line())?;
        if let Some(help) = self.help() {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OciError {}

/// Errors sending a request through [`super::client::OciClient`].
#[derive(Debug, Error)]
pub enum ClientError {
    #[error(transparent)]
    Api(Box<OciError>),
    #[error(
        "{method} {url}: {} (opc-request-id: {request_id}, after {attempts} attempt(s)){}",
        crate::causes::with_causes(.source),
        transport_hint(.source)
    )]
    Transport { method: String, url: String, request_id: String, attempts: u32, source: reqwest::Error },
    #[error("{method} {url}: cancelled")]
    Cancelled { method: String, url: String },
    #[error("signing {method} {url}: {source}")]
    Sign { method: String, url: String, source: SignError },
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("{method} {url}: response body is not the expected JSON: {source} (opc-request-id: {request_id})")]
    Decode { method: String, url: String, request_id: String, source: serde_json::Error },
    #[error("request body cannot be encoded as JSON: {0}")]
    Encode(serde_json::Error),
    #[error("building the HTTP client: {0}")]
    Build(reqwest::Error),
}

impl ClientError {
    /// The service error, when the failure was an error response.
    pub fn api(&self) -> Option<&OciError> {
        match self {
            ClientError::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// The next step after a request that got no answer at all.
fn transport_hint(source: &reqwest::Error) -> &'static str {
    if source.is_connect() {
        "; check that this machine reaches the endpoint (network, firewall, HTTPS_PROXY) and that it is the \
         region's (an endpoints file, --endpoints or DRCTL_ENDPOINTS, overrides it)"
    } else if source.is_timeout() {
        "; the service did not answer in time: check the network path to it"
    } else {
        ""
    }
}

/// Errors waiting for a work request or a lifecycle state.
#[derive(Debug, Error)]
pub enum WaitError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("work request {id} ended {status}{detail}")]
    WorkRequestFailed { id: String, status: String, detail: String },
    #[error("{what} reached lifecycle state {state} while waiting for {wanted}")]
    Failed { what: String, state: String, wanted: String },
    #[error("{what} did not reach {wanted} within {timeout:?} (last state: {last})")]
    Timeout { what: String, wanted: String, timeout: Duration, last: String },
    #[error("{what}: response has no `{field}` field")]
    MissingField { what: String, field: &'static str },
    #[error("waiting for {what}: cancelled")]
    Cancelled { what: String },
}
