//! Request policies of simulated gateway deployments: JWT authentication and rate limiting.
//!
//! JWT_AUTHENTICATION follows API Gateway's rules: the token comes from `tokenHeader` (with
//! `tokenAuthScheme`, e.g. `Bearer`) or `tokenQueryParam`; it must be an RS256, RS384 or
//! RS512 token signed by one of the STATIC_KEYS (JSON web keys of type RSA, or PEM public
//! keys, of 2048 to 4096 bits; others are not used), with `iss` among `issuers`, `aud` among
//! `audiences`, and `exp`/`nbf` (each optional, as OCI documents them) within
//! `maxClockSkewInSeconds`. A failure answers 401, unless `isAnonymousAccessAllowed` and no
//! token was sent. Rate limiting counts requests per second per client address or in total and
//! answers 429 past the rate.
//! Nothing here reaches outside the simulator (remote JWKS URIs are refused as unsupported).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde_json::Value;
use sha2::{Sha256, Sha384, Sha512};

/// Why a request was turned away.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    Unauthorized(String),
    TooManyRequests,
}

/// Applies the deployment's authentication policy to a request.
pub fn authenticate(policies: &Value, parts: &Parts) -> Result<(), Refusal> {
    let Some(auth) = policies.get("authentication") else { return Ok(()) };
    if auth.get("type").and_then(Value::as_str) != Some("JWT_AUTHENTICATION") {
        return Err(Refusal::Unauthorized("this authentication type is not simulated".into()));
    }
    let anonymous = auth.get("isAnonymousAccessAllowed").and_then(Value::as_bool) == Some(true);
    let token = match token(auth, parts) {
        Some(t) => t,
        None if anonymous => return Ok(()),
        None => return Err(Refusal::Unauthorized("no token".into())),
    };
    verify(auth, &token, now_secs()).map_err(Refusal::Unauthorized)
}

fn token(auth: &Value, parts: &Parts) -> Option<String> {
    if let Some(header) = auth.get("tokenHeader").and_then(Value::as_str) {
        let value = parts.headers.get(header)?.to_str().ok()?.trim();
        return match auth.get("tokenAuthScheme").and_then(Value::as_str) {
            Some(scheme) => {
                let (given, rest) = value.split_once(' ')?;
                given.eq_ignore_ascii_case(scheme).then(|| rest.trim().to_owned())
            }
            None => Some(value.to_owned()),
        };
    }
    let param = auth.get("tokenQueryParam").and_then(Value::as_str)?;
    url::form_urlencoded::parse(parts.uri.query()?.as_bytes()).find(|(k, _)| k == param).map(|(_, v)| v.into_owned())
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Checks signature and claims of `token` against the policy at time `now` (Unix seconds).
pub fn verify(auth: &Value, token: &str, now: i64) -> Result<(), String> {
    let mut pieces = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (pieces.next(), pieces.next(), pieces.next(), pieces.next()) else {
        return Err("malformed token".into());
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| "malformed token".to_owned());
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| "malformed token header")?;
    let claims: Value = serde_json::from_slice(&decode(p)?).map_err(|_| "malformed token claims")?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    if !matches!(alg, "RS256" | "RS384" | "RS512") {
        return Err(format!("a token signed with `{alg}` is not accepted (RS256, RS384 or RS512 are)"));
    }
    let signature = Signature::try_from(decode(s)?.as_slice()).map_err(|_| "malformed signature")?;
    let kid = header.get("kid").and_then(Value::as_str);
    let keys = static_keys(auth)?;
    let signed = format!("{h}.{p}");
    let good = keys
        .iter()
        .filter(|(key_id, _)| kid.is_none() || key_id.is_none() || key_id.as_deref() == kid)
        .any(|(_, key)| verifies(alg, key, signed.as_bytes(), &signature));
    if !good {
        return Err("signature does not match any key".into());
    }
    let skew = auth.get("maxClockSkewInSeconds").and_then(Value::as_f64).unwrap_or(0.0) as i64;
    if claims.get("exp").and_then(Value::as_i64).is_some_and(|exp| now > exp + skew) {
        return Err("token expired".into());
    }
    if claims.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| now + skew < nbf) {
        return Err("token not yet valid".into());
    }
    let listed = |field: &str| -> Vec<&str> {
        auth.get(field)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let issuers = listed("issuers");
    if !issuers.is_empty() && !claims.get("iss").and_then(Value::as_str).is_some_and(|i| issuers.contains(&i)) {
        return Err("issuer not accepted".into());
    }
    let audiences = listed("audiences");
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.is_empty() && !aud.iter().any(|a| audiences.contains(a)) {
        return Err("audience not accepted".into());
    }
    Ok(())
}

/// Whether `signature` over `signed` verifies with `key` under `alg` (RS256, RS384, RS512).
fn verifies(alg: &str, key: &RsaPublicKey, signed: &[u8], signature: &Signature) -> bool {
    match alg {
        "RS256" => VerifyingKey::<Sha256>::new(key.clone()).verify(signed, signature).is_ok(),
        "RS384" => VerifyingKey::<Sha384>::new(key.clone()).verify(signed, signature).is_ok(),
        "RS512" => VerifyingKey::<Sha512>::new(key.clone()).verify(signed, signature).is_ok(),
        _ => false,
    }
}

/// Key sizes API Gateway takes for verifying tokens, in bits.
const KEY_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// The policy's static keys, with their key ids; keys of a size API Gateway refuses are left
/// out.
fn static_keys(auth: &Value) -> Result<Vec<(Option<String>, RsaPublicKey)>, String> {
    let keys = auth.get("publicKeys").ok_or("no publicKeys")?;
    if keys.get("type").and_then(Value::as_str) != Some("STATIC_KEYS") {
        return Err("only STATIC_KEYS are simulated (no outbound calls for remote JWKS)".into());
    }
    let mut out = Vec::new();
    let mut sized_out = 0;
    for key in keys.get("keys").and_then(Value::as_array).into_iter().flatten() {
        let kid = key.get("kid").and_then(Value::as_str).map(str::to_owned);
        let parsed = match key.get("format").and_then(Value::as_str) {
            Some("PEM") => {
                key.get("key").and_then(Value::as_str).and_then(|pem| RsaPublicKey::from_public_key_pem(pem).ok())
            }
            _ => {
                let part = |f: &str| key.get(f).and_then(Value::as_str).and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
                match (key.get("kty").and_then(Value::as_str), part("n"), part("e")) {
                    (Some("RSA"), Some(n), Some(e)) => {
                        RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).ok()
                    }
                    _ => None,
                }
            }
        };
        match parsed {
            Some(k) if KEY_BITS.contains(&(rsa::traits::PublicKeyParts::size(&k) * 8)) => out.push((kid, k)),
            Some(_) => sized_out += 1,
            None => {}
        }
    }
    if out.is_empty() && sized_out > 0 {
        return Err("the policy's keys are not of 2048 to 4096 bits, the sizes API Gateway verifies with".into());
    }
    Ok(out)
}

/// Counts a request against the deployment's rate limit; `Err` past the rate.
pub fn rate_limit(deployment_id: &str, policies: &Value, client: &str) -> Result<(), Refusal> {
    let Some(limit) = policies.get("rateLimiting") else { return Ok(()) };
    let rate = limit.get("rateInRequestsPerSecond").and_then(Value::as_u64).unwrap_or(u64::MAX);
    let key = match limit.get("rateKey").and_then(Value::as_str) {
        Some("TOTAL") => format!("{deployment_id}|*"),
        _ => format!("{deployment_id}|{client}"),
    };
    static WINDOWS: OnceLock<Mutex<HashMap<String, (Instant, u64)>>> = OnceLock::new();
    let mut windows = WINDOWS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    let slot = windows.entry(key).or_insert((now, 0));
    if now.duration_since(slot.0).as_secs_f64() >= 1.0 {
        *slot = (now, 0);
    }
    slot.1 += 1;
    if slot.1 > rate {
        return Err(Refusal::TooManyRequests);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use rsa::traits::PublicKeyParts;
    use serde_json::json;

    fn token(key: &rsa::RsaPrivateKey, claims: Value) -> String {
        token_as(key, "RS256", claims)
    }

    fn token_as(key: &rsa::RsaPrivateKey, alg: &str, claims: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "kid": "k1"}).to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{h}.{p}");
        let sig = match alg {
            "RS384" => SigningKey::<Sha384>::new(key.clone()).sign(signed.as_bytes()).to_bytes(),
            "RS512" => SigningKey::<Sha512>::new(key.clone()).sign(signed.as_bytes()).to_bytes(),
            _ => SigningKey::<Sha256>::new(key.clone()).sign(signed.as_bytes()).to_bytes(),
        };
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn policy(public: &rsa::RsaPublicKey) -> Value {
        json!({
            "type": "JWT_AUTHENTICATION", "tokenHeader": "Authorization", "tokenAuthScheme": "Bearer",
            "issuers": ["https://idp.example"], "audiences": ["orders"], "maxClockSkewInSeconds": 5,
            "publicKeys": {"type": "STATIC_KEYS", "keys": [{"format": "JSON_WEB_KEY", "kty": "RSA", "kid": "k1",
                "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()), "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be())}]}
        })
    }

    #[test]
    fn jwt_checks_signature_issuer_audience_and_expiry() {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let auth = policy(&key.to_public_key());
        let good = token(&key, json!({"iss": "https://idp.example", "aud": "orders", "exp": 2000}));
        assert_eq!(verify(&auth, &good, 1000), Ok(()));
        assert_eq!(verify(&auth, &good, 2010).unwrap_err(), "token expired");
        let wrong_aud = token(&key, json!({"iss": "https://idp.example", "aud": "billing"}));
        assert_eq!(verify(&auth, &wrong_aud, 1000).unwrap_err(), "audience not accepted");
        let other = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let forged = token(&other, json!({"iss": "https://idp.example", "aud": "orders"}));
        assert_eq!(verify(&auth, &forged, 1000).unwrap_err(), "signature does not match any key");
        assert_eq!(verify(&auth, "a.b", 1000).unwrap_err(), "malformed token");
        // `exp` and `nbf` are optional: a token without them is checked for the rest.
        let lasting = token(&key, json!({"iss": "https://idp.example", "aud": "orders"}));
        assert_eq!(verify(&auth, &lasting, 1000), Ok(()));
    }

    #[test]
    fn jwt_takes_rs384_and_rs512_and_only_keys_of_2048_to_4096_bits() {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let auth = policy(&key.to_public_key());
        let claims = json!({"iss": "https://idp.example", "aud": "orders"});
        for alg in ["RS384", "RS512"] {
            assert_eq!(verify(&auth, &token_as(&key, alg, claims.clone()), 1000), Ok(()), "{alg}");
        }
        let hs = token_as(&key, "HS256", claims.clone());
        assert!(verify(&auth, &hs, 1000).unwrap_err().contains("HS256"));
        // A 1024-bit key is not one API Gateway verifies with.
        let small = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let small_auth = policy(&small.to_public_key());
        let refused = verify(&small_auth, &token(&small, claims), 1000).unwrap_err();
        assert!(refused.contains("2048 to 4096 bits"), "{refused}");
    }

    #[test]
    fn rate_limit_per_client() {
        let policies = json!({"rateLimiting": {"rateInRequestsPerSecond": 2, "rateKey": "CLIENT_IP"}});
        assert!(rate_limit("d1", &policies, "1.2.3.4").is_ok());
        assert!(rate_limit("d1", &policies, "1.2.3.4").is_ok());
        assert_eq!(rate_limit("d1", &policies, "1.2.3.4"), Err(Refusal::TooManyRequests));
        assert!(rate_limit("d1", &policies, "5.6.7.8").is_ok());
    }
}
