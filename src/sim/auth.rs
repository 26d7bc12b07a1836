//! Authenticating requests the way OCI does: every request must carry a valid
//! draft-cavage signature by an API key the simulator knows, over the headers OCI requires
//! (`date (request-target) host`, plus `content-length content-type x-content-sha256` for
//! bodies), with `x-content-sha256` matching the body and `date` within five minutes.
//!
//! The signature itself is checked by `crate::oci::verify`, the same code path the
//! production signer is tested against, so the two cannot drift apart. This module never
//! decides what a caller may do once authenticated; OCI policies are not simulated.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, Method};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256};

use super::errors::ApiError;
use crate::oci::verify::{parse_authorization, verify_request};

/// Largest accepted difference between the request's `date` and the simulator's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(300);

/// The API keys the simulator accepts, by key id (`tenancy/user/fingerprint`).
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: BTreeMap<String, RsaPublicKey>,
}

impl Keyring {
    pub fn with_key(mut self, tenancy: &str, user: &str, public_key: RsaPublicKey) -> Self {
        let fingerprint = crate::oci::key::fingerprint(&public_key);
        self.keys.insert(format!("{tenancy}/{user}/{fingerprint}"), public_key);
        self
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &String> {
        self.keys.keys()
    }

    /// Checks one request. `target` is the path and query exactly as received.
    pub fn authenticate(
        &self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), ApiError> {
        let unauthenticated =
            |why: &str| ApiError::not_authenticated(format!("The request was not authenticated: {why}."));
        let value = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthenticated("missing authorization header"))?;
        let params = parse_authorization(value).map_err(|e| unauthenticated(&e.to_string()))?;
        let key = self.keys.get(&params.key_id).ok_or_else(|| unauthenticated("unknown key id"))?;
        let signed: Vec<&str> = params.headers.iter().map(String::as_str).collect();
        for required in ["date", "(request-target)", "host"] {
            if !signed.contains(&required) {
                return Err(unauthenticated(&format!("`{required}` is not signed")));
            }
        }
        let upload = crate::oci::signer::is_object_storage_upload(method, target.split('?').next().unwrap_or(""));
        let has_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH) && !upload;
        if has_body {
            for required in ["content-length", "content-type", "x-content-sha256"] {
                if !signed.contains(&required) {
                    return Err(unauthenticated(&format!("`{required}` is not signed")));
                }
            }
            let digest = BASE64.encode(Sha256::digest(body));
            if headers.get("x-content-sha256").and_then(|v| v.to_str().ok()) != Some(digest.as_str()) {
                return Err(unauthenticated("x-content-sha256 does not match the body"));
            }
        }
        verify_request(key, method.as_str(), target, headers).map_err(|e| unauthenticated(&e.to_string()))?;
        let date = headers
            .get("date")
            .or_else(|| headers.get("x-date"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .ok_or_else(|| unauthenticated("missing or malformed date header"))?;
        let skew = now.duration_since(date).or_else(|_| date.duration_since(now)).unwrap_or_default();
        if skew > MAX_SKEW {
            return Err(unauthenticated("date is more than 5 minutes from the server's clock"));
        }
        Ok(())
    }
}
