//! [`Call`]: one received API request as handlers see it (path parameters, query pairs,
//! headers, body), plus the small helpers that build OCI-shaped JSON responses.
//! It never authenticates or routes; middleware and the router did that already.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::errors::ApiError;

/// Largest accepted request body (Object Storage puts included).
pub const MAX_BODY: usize = 64 << 20;

/// A request, fully read.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub params: BTreeMap<String, String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Call {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let params = RawPathParams::from_request_parts(&mut parts, state)
            .await
            .map(|p| p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default();
        let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .map_err(|e| ApiError::invalid(format!("malformed query string: {e}")))?;
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| ApiError::new(413, "RequestEntityTooLarge", "The request body is too large."))?;
        Ok(Call { params, query, headers: parts.headers, body })
    }
}

impl Call {
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as a JSON object (an empty body is an empty object).
    pub fn json_object(&self) -> Result<Map<String, Value>, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::invalid("The request body must be a JSON object.")),
            Err(e) => Err(ApiError::invalid(format!("The request body is not valid JSON: {e}"))),
        }
    }

    /// `if-match` check against a resource's etag (absent or `*` always matches).
    pub fn check_if_match(&self, etag: &str) -> Result<(), ApiError> {
        match self.header("if-match") {
            Some(want) if want != "*" && want != etag => Err(ApiError::etag_mismatch()),
            _ => Ok(()),
        }
    }
}

/// A JSON response with extra headers.
pub fn json(status: u16, body: &Value, headers: &[(&str, String)]) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, axum::Json(body.clone())).into_response();
    add_headers(&mut response, headers);
    response
}

/// A response without a body.
pub fn empty(status: u16, headers: &[(&str, String)]) -> Response {
    let mut response = StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT).into_response();
    add_headers(&mut response, headers);
    response
}

pub fn add_headers(response: &mut Response, headers: &[(&str, String)]) {
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(*name), HeaderValue::from_str(value)) {
            response.headers_mut().insert(n, v);
        }
    }
}

/// Turns a handler result into a response.
pub fn respond(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}
