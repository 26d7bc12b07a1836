//! Checking an OCI request signature on the receiving side (the simulator and tests).
//!
//! It parses the `authorization` header, rebuilds the signing string with the same
//! [`build_signing_string`] the signer uses, and verifies it with the caller's public key.
//! It never decides *which* key belongs to a key id; the caller looks that up.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use reqwest::header::HeaderMap;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;
use rsa::RsaPublicKey;
use sha2::Sha256;

use super::error::SignError;
use super::signer::build_signing_string;

/// The parameters of a `Signature ...` authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationParams {
    pub algorithm: String,
    /// Signed header names in signing order.
    pub headers: Vec<String>,
    pub key_id: String,
    pub signature: Vec<u8>,
    pub version: String,
}

/// Parses `Signature algorithm="...",headers="...",keyId="...",signature="...",version="1"`.
pub fn parse_authorization(value: &str) -> Result<AuthorizationParams, SignError> {
    let rest = value
        .strip_prefix("Signature ")
        .ok_or_else(|| SignError::BadAuthorization { reason: "does not start with `Signature `".into() })?;
    let mut algorithm = None;
    let mut headers = None;
    let mut key_id = None;
    let mut signature = None;
    let mut version = None;
    for part in split_params(rest) {
        let (name, quoted) = part
            .split_once('=')
            .ok_or_else(|| SignError::BadAuthorization { reason: format!("parameter `{part}` has no value") })?;
        let value = quoted
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| SignError::BadAuthorization { reason: format!("parameter `{name}` is not quoted") })?
            .to_string();
        match name.trim() {
            "algorithm" => algorithm = Some(value),
            "headers" => headers = Some(value),
            "keyId" => key_id = Some(value),
            "signature" => signature = Some(value),
            "version" => version = Some(value),
            _ => {}
        }
    }
    let missing = |what: &str| SignError::BadAuthorization { reason: format!("missing `{what}`") };
    let signature = BASE64
        .decode(signature.ok_or_else(|| missing("signature"))?)
        .map_err(|_| SignError::BadAuthorization { reason: "signature is not base64".into() })?;
    Ok(AuthorizationParams {
        algorithm: algorithm.ok_or_else(|| missing("algorithm"))?,
        headers: headers
            .unwrap_or_else(|| "date".into())
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        key_id: key_id.ok_or_else(|| missing("keyId"))?,
        signature,
        version: version.unwrap_or_default(),
    })
}

/// Splits on commas that are outside quotes (a keyId never holds a comma, but be exact).
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Rebuilds the signing string of a received request from its method, request target
/// (`path?query` as received) and headers; `host` is read from the `host` header.
pub fn signing_string_for(
    params: &AuthorizationParams,
    method: &str,
    target: &str,
    headers: &HeaderMap,
) -> Result<String, SignError> {
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| SignError::MissingHeader { name: "host".into() })?;
    let names: Vec<&str> = params.headers.iter().map(String::as_str).collect();
    build_signing_string(&names, method, target, host, |n| headers.get(n).and_then(|v| v.to_str().ok()))
}

/// Verifies a received request's signature with `public_key`. Returns the parsed
/// authorization parameters so the caller can check the key id and the signed header set
/// (for example that POST signed `x-content-sha256`, and that the body matches it).
pub fn verify_request(
    public_key: &RsaPublicKey,
    method: &str,
    target: &str,
    headers: &HeaderMap,
) -> Result<AuthorizationParams, SignError> {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| SignError::MissingHeader { name: "authorization".into() })?;
    let params = parse_authorization(value)?;
    if params.algorithm != "rsa-sha256" {
        return Err(SignError::BadAuthorization { reason: format!("unsupported algorithm `{}`", params.algorithm) });
    }
    let text = signing_string_for(&params, method, target, headers)?;
    let signature = Signature::try_from(params.signature.as_slice()).map_err(|_| SignError::BadSignature)?;
    VerifyingKey::<Sha256>::new(public_key.clone())
        .verify(text.as_bytes(), &signature)
        .map_err(|_| SignError::BadSignature)?;
    Ok(params)
}
