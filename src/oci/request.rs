//! One OCI call as a value ([`OciRequest`]) and its answer ([`OciResponse`]).
//!
//! A request names a service, region and operation path (or a full URL) and carries the
//! query, extra headers, a JSON or byte body, the idempotency key and `if-match`. It is
//! cheap to clone so the client can rebuild and re-sign it on every attempt. Nothing here
//! performs I/O.

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::api_error::ClientError;
use super::endpoints::{Endpoints, Service};
use super::error::EndpointError;
use super::retry::RetryPolicy;
use super::signer::is_object_storage_upload;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An operation path of a service in a region, resolved through [`Endpoints`].
    Service { service: Service, region: String, path: String },
    /// A complete URL (for example a work request's or a next page's link).
    Url(Url),
}

/// One OCI API call.
#[derive(Debug, Clone)]
pub struct OciRequest {
    pub method: Method,
    pub target: Target,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// `opc-retry-token` value, derived from the caller's idempotency key.
    pub retry_token: Option<String>,
    pub if_match: Option<String>,
    /// A base URL that overrides the endpoints for this call only.
    pub endpoint_override: Option<Url>,
    /// A policy for this call instead of the client's.
    pub retry: Option<RetryPolicy>,
    /// Sign without body headers (Object Storage PutObject/UploadPart). `None` = detect.
    pub exclude_body_headers: Option<bool>,
    pub cancel: Option<CancellationToken>,
    /// `opc-request-id` to send; generated when absent.
    pub request_id: Option<String>,
}

impl OciRequest {
    /// A call to `path` (relative to the service's base path, or with its own version
    /// segment) of `service` in `region`.
    pub fn new(method: Method, service: Service, region: impl Into<String>, path: impl Into<String>) -> Self {
        Self::with_target(method, Target::Service { service, region: region.into(), path: path.into() })
    }

    /// A call to a complete URL.
    pub fn to_url(method: Method, url: Url) -> Self {
        Self::with_target(method, Target::Url(url))
    }

    fn with_target(method: Method, target: Target) -> Self {
        OciRequest {
            method,
            target,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            retry_token: None,
            if_match: None,
            endpoint_override: None,
            retry: None,
            exclude_body_headers: None,
            cancel: None,
            request_id: None,
        }
    }

    /// Appends a query parameter (percent-encoded when the URL is built).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets a query parameter, replacing earlier values of the same name.
    pub fn set_query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.retain(|(n, _)| n != name);
        self.query.push((name.to_string(), value.into()));
        self
    }

    /// Adds a header (replacing one of the same name).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(ClientError::Encode)?;
        self.body = Some(Bytes::from(bytes));
        self.headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(self)
    }

    /// A raw body with its content type.
    pub fn bytes(mut self, body: impl Into<Bytes>, content_type: HeaderValue) -> Self {
        self.body = Some(body.into());
        self.headers.insert(reqwest::header::CONTENT_TYPE, content_type);
        self
    }

    /// Makes a create idempotent: the same key gives the same `opc-retry-token`, so a
    /// retried or resumed create returns the original resource instead of a duplicate.
    pub fn idempotency_key(mut self, key: &str) -> Self {
        self.retry_token = Some(retry_token_for(key));
        self
    }

    /// Only act if the resource's etag still matches.
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Sends this call to `base` instead of the configured endpoint.
    pub fn endpoint(mut self, base: Url) -> Self {
        self.endpoint_override = Some(base);
        self
    }

    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Abandons the call (and its retries) when `token` is cancelled.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    pub fn exclude_body_headers(mut self, exclude: bool) -> Self {
        self.exclude_body_headers = Some(exclude);
        self
    }

    /// The region of a service call (used for the per-region concurrency limit).
    pub fn region(&self) -> Option<&str> {
        match &self.target {
            Target::Service { region, .. } => Some(region),
            Target::Url(_) => None,
        }
    }

    /// The full URL, query included.
    pub fn resolve_url(&self, endpoints: &Endpoints) -> Result<Url, EndpointError> {
        let mut url = match &self.target {
            Target::Service { service, region, path } => {
                endpoints.resolve(*service, region, self.endpoint_override.as_ref())?.url_for(path)?
            }
            Target::Url(url) => url.clone(),
        };
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &self.query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Whether the signature leaves out the body headers for this call.
    pub fn excludes_body_headers(&self, url: &Url) -> bool {
        self.exclude_body_headers.unwrap_or_else(|| {
            matches!(&self.target, Target::Service { service: Service::ObjectStorage, .. })
                && is_object_storage_upload(&self.method, url.path())
        })
    }
}

/// The `opc-retry-token` for an idempotency key: the key itself when OCI accepts it
/// (at most 64 characters of `[A-Za-z0-9._-]`), else a SHA-256 digest of it, so that any
/// caller key maps to one stable, valid token.
pub fn retry_token_for(key: &str) -> String {
    let valid = !key.is_empty()
        && key.len() <= 64
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        key.to_string()
    } else {
        crate::hash::hex(&Sha256::digest(key.as_bytes()))
    }
}

/// A successful (2xx) answer.
#[derive(Debug, Clone)]
pub struct OciResponse {
    pub method: Method,
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The `opc-request-id` the service returned (or the one sent).
    pub request_id: String,
    pub attempts: u32,
}

impl OciResponse {
    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The token for the next page, absent on the last page.
    pub fn next_page(&self) -> Option<&str> {
        self.header("opc-next-page").filter(|p| !p.is_empty())
    }

    pub fn etag(&self) -> Option<&str> {
        self.header("etag")
    }

    pub fn work_request_id(&self) -> Option<&str> {
        self.header("opc-work-request-id")
    }

    /// The body decoded as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ClientError> {
        // An empty body (204, or a 200 without payload) reads as JSON null.
        let body: &[u8] = if self.body.is_empty() { b"null" } else { &self.body };
        serde_json::from_slice(body).map_err(|source| ClientError::Decode {
            method: self.method.to_string(),
            url: self.url.to_string(),
            request_id: self.request_id.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_tokens_are_stable_and_valid() {
        assert_eq!(retry_token_for("run-42.create_vcn"), "run-42.create_vcn");
        let long = retry_token_for("run 42 / create vcn in us-ashburn-1");
        assert_eq!(long.len(), 64);
        assert_eq!(long, retry_token_for("run 42 / create vcn in us-ashburn-1"));
    }

    #[test]
    fn urls_carry_encoded_query() {
        let r = OciRequest::new(Method::GET, Service::Functions, "us-ashburn-1", "/applications")
            .query("compartmentId", "ocid1.compartment.oc1..a")
            .query("displayName", "a b/é");
        let url = r.resolve_url(&Endpoints::public()).unwrap();
        assert_eq!(
            url.as_str(),
            "https://functions.us-ashburn-1.oci.oraclecloud.com/20181201/applications?compartmentId=ocid1.compartment.oc1..a&displayName=a+b%2F%C3%A9"
        );
    }

    #[test]
    fn object_storage_uploads_are_detected() {
        let put = OciRequest::new(Method::PUT, Service::ObjectStorage, "iad", "/n/ns/b/bk/o/a%2Fb");
        let url = put.resolve_url(&Endpoints::public()).unwrap();
        assert!(put.excludes_body_headers(&url));
        let post = OciRequest::new(Method::POST, Service::ObjectStorage, "iad", "/n/ns/b/bk/o/x");
        assert!(!post.excludes_body_headers(&url));
    }
}
