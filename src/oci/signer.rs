//! The OCI HTTP request signature (draft-cavage version 1, `rsa-sha256`), byte for byte as
//! Oracle's Python SDK signer produces it.
//!
//! This module owns which headers are signed, how missing headers are filled in and how the
//! signing string is laid out; the verifier half lives in `verify.rs` and shares
//! [`build_signing_string`]. It must never log, print or put into an error the private key,
//! the signature input's body or a session token.

use std::fmt;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};

use super::error::SignError;

/// Headers signed on every request.
pub const GENERIC_HEADERS: [&str; 3] = ["date", "(request-target)", "host"];
/// Headers signed in addition on POST, PUT and PATCH (unless the body is excluded).
pub const BODY_HEADERS: [&str; 3] = ["content-length", "content-type", "x-content-sha256"];

/// Signs requests with one key id and private key. Cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct RequestSigner {
    key_id: String,
    signing_key: SigningKey<Sha256>,
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A session-token key id is a bearer credential, so only its kind is shown.
        let key_id = if self.key_id.starts_with("ST$") { "ST$<redacted>" } else { self.key_id.as_str() };
        f.debug_struct("RequestSigner").field("key_id", &key_id).field("key", &"<redacted>").finish()
    }
}

/// Per-request signing choices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignOptions {
    /// Sign POST/PUT/PATCH without `content-length content-type x-content-sha256`, as the SDK
    /// does for Object Storage PutObject and UploadPart (see [`is_object_storage_upload`]).
    pub exclude_body_headers: bool,
}

/// The headers a signature adds to a request, in the order they were added, plus the exact
/// text that was signed (useful for debugging 401s against a verifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// Lower-case header names and values that were absent from the request and must be set.
    pub headers: Vec<(String, String)>,
    /// The signing string, lines joined by `\n`, no trailing newline.
    pub signing_string: String,
}

impl SignedHeaders {
    /// Writes the added headers into `map`, replacing any value with the same name.
    pub fn apply(&self, map: &mut HeaderMap) -> Result<(), SignError> {
        for (name, value) in &self.headers {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| SignError::InvalidHeader { name: name.clone() })?;
            let value =
                HeaderValue::from_str(value).map_err(|_| SignError::InvalidHeader { name: name.to_string() })?;
            map.insert(name, value);
        }
        Ok(())
    }

    /// The value of an added header, by lower-case name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The body as the signer sees it.
#[derive(Debug, Clone, Copy)]
pub enum SignBody<'a> {
    /// No body (GET, HEAD, DELETE, or a POST without payload): hashed as the empty string.
    None,
    /// A body held in memory.
    Bytes(&'a [u8]),
    /// A streamed body the signer cannot read; only allowed with `exclude_body_headers`.
    Stream,
}

impl RequestSigner {
    /// A signer with an explicit key id.
    pub fn new(key_id: impl Into<String>, key: RsaPrivateKey) -> Self {
        RequestSigner { key_id: key_id.into(), signing_key: SigningKey::<Sha256>::new(key) }
    }

    /// An API-key signer: key id `<tenancy>/<user>/<fingerprint>`.
    pub fn api_key(tenancy: &str, user: &str, fingerprint: &str, key: RsaPrivateKey) -> Self {
        Self::new(format!("{tenancy}/{user}/{fingerprint}"), key)
    }

    /// A session-token signer: key id `ST$<token>`.
    pub fn session_token(token: &str, key: RsaPrivateKey) -> Self {
        Self::new(format!("ST${}", token.trim()), key)
    }

    /// The key id placed in the `authorization` header.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The tenancy OCID of an API-key signer (key id `<tenancy>/<user>/<fingerprint>`);
    /// `None` for other signers, whose key id does not name it.
    pub fn tenancy(&self) -> Option<&str> {
        self.key_id.split('/').next().filter(|t| t.starts_with("ocid1.tenancy."))
    }

    /// Signs one request given its parts. Headers already in `headers` are kept and signed
    /// as they are (like the SDK's `setdefault`); `date` defaults to `now`.
    pub fn sign_parts(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: SignBody<'_>,
        options: SignOptions,
        now: SystemTime,
    ) -> Result<SignedHeaders, SignError> {
        let verb = method.as_str().to_ascii_lowercase();
        if !matches!(verb.as_str(), "get" | "head" | "delete" | "put" | "post" | "patch") {
            return Err(SignError::UnsupportedMethod { method: method.to_string() });
        }
        let sign_body = matches!(verb.as_str(), "put" | "post" | "patch") && !options.exclude_body_headers;

        let mut view = HeaderView::new(headers);
        view.set_default("date", || httpdate::fmt_http_date(now))?;
        let host = netloc(url)?;
        view.set_default("host", || host.clone())?;
        let default_type = match body {
            SignBody::Stream => "application/octet-stream",
            _ => "application/json",
        };
        view.set_default("content-type", || default_type.to_string())?;
        if sign_body && view.get("x-content-sha256").is_none() {
            let bytes = match body {
                SignBody::None => &[][..],
                SignBody::Bytes(b) => b,
                SignBody::Stream => return Err(SignError::StreamingBody),
            };
            view.set_default("content-length", || bytes.len().to_string())?;
            view.added.push(("x-content-sha256".into(), BASE64.encode(Sha256::digest(bytes))));
        }

        let names: Vec<&str> = if sign_body {
            GENERIC_HEADERS.iter().chain(BODY_HEADERS.iter()).copied().collect()
        } else {
            GENERIC_HEADERS.to_vec()
        };
        let signing_string = build_signing_string(&names, &verb, &request_target(url), &host, |n| view.get(n))?;
        let signature = self.signing_key.sign(signing_string.as_bytes());
        let authorization = format!(
            "Signature algorithm=\"rsa-sha256\",headers=\"{}\",keyId=\"{}\",signature=\"{}\",version=\"1\"",
            names.join(" "),
            self.key_id,
            BASE64.encode(signature.to_bytes())
        );
        let mut headers = view.added;
        headers.push(("authorization".into(), authorization));
        Ok(SignedHeaders { headers, signing_string })
    }

    /// Signs a `reqwest::Request` in place, right before it is sent. Call it once per attempt
    /// on a freshly built request so each attempt carries its own `date`.
    pub fn sign_request(
        &self,
        request: &mut reqwest::Request,
        options: SignOptions,
    ) -> Result<SignedHeaders, SignError> {
        let body = match request.body() {
            None => SignBody::None,
            Some(b) => match b.as_bytes() {
                Some(bytes) => SignBody::Bytes(bytes),
                None => SignBody::Stream,
            },
        };
        let signed =
            self.sign_parts(request.method(), request.url(), request.headers(), body, options, SystemTime::now())?;
        signed.apply(request.headers_mut())?;
        Ok(signed)
    }
}

/// `host[:port]` as the SDK takes it from the URL (the port only when it is not the
/// scheme's default, which is also what the HTTP client sends in `Host`).
pub fn netloc(url: &Url) -> Result<String, SignError> {
    let host = url.host_str().ok_or_else(|| SignError::NoHost { url: url.to_string() })?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// `<path>?<query>` exactly as sent (already percent-encoded); `/` for an empty path.
pub fn request_target(url: &Url) -> String {
    let path = if url.path().is_empty() { "/" } else { url.path() };
    match url.query() {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

/// Builds the signing string for `names` from a request's parts: `method` in lower case,
/// `target` the path and query as sent, `host` the value signed for `host`, and `lookup`
/// returning other header values by lower-case name. Shared by signer and verifier so both
/// sides agree on every byte.
pub fn build_signing_string<'h>(
    names: &[&str],
    method: &str,
    target: &str,
    host: &str,
    lookup: impl Fn(&str) -> Option<&'h str>,
) -> Result<String, SignError> {
    let mut lines = Vec::with_capacity(names.len());
    for raw in names {
        let name = raw.to_ascii_lowercase();
        let line = match name.as_str() {
            "(request-target)" => {
                format!("(request-target): {} {}", method.to_ascii_lowercase(), target)
            }
            "host" => format!("host: {host}"),
            _ => {
                let value = lookup(&name).ok_or_else(|| SignError::MissingHeader { name: name.clone() })?;
                format!("{name}: {value}")
            }
        };
        lines.push(line);
    }
    let text = lines.join("\n");
    // The SDK encodes the signing string as ASCII and fails otherwise; refusing here keeps
    // both sides identical and surfaces unencoded paths early.
    if !text.is_ascii() {
        return Err(SignError::NonAscii);
    }
    Ok(text)
}

/// True for Object Storage PutObject (`PUT /n/{ns}/b/{bucket}/o/{object}`) and UploadPart
/// (`PUT /n/{ns}/b/{bucket}/u/{object}`), which the SDK signs without the body headers.
pub fn is_object_storage_upload(method: &Method, path: &str) -> bool {
    if method != Method::PUT {
        return false;
    }
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(6, '/').collect();
    parts.len() == 6
        && parts[0] == "n"
        && parts[2] == "b"
        && (parts[4] == "o" || parts[4] == "u")
        && !parts[5].is_empty()
}

/// A case-insensitive view of the request's headers plus the ones the signer adds.
struct HeaderView<'a> {
    existing: &'a HeaderMap,
    added: Vec<(String, String)>,
}

impl<'a> HeaderView<'a> {
    fn new(existing: &'a HeaderMap) -> Self {
        HeaderView { existing, added: Vec::new() }
    }

    fn get(&self, name: &str) -> Option<&str> {
        if let Some((_, v)) = self.added.iter().find(|(n, _)| n == name) {
            return Some(v.as_str());
        }
        self.existing.get(name).and_then(|v| v.to_str().ok())
    }

    fn set_default(&mut self, name: &str, value: impl FnOnce() -> String) -> Result<(), SignError> {
        match self.existing.get(name) {
            Some(v) if v.to_str().is_err() => Err(SignError::InvalidHeader { name: name.to_string() }),
            Some(_) => Ok(()),
            None => {
                if self.added.iter().all(|(n, _)| n != name) {
                    self.added.push((name.to_string(), value()));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[path = "signer_tests.rs"]
mod tests;
