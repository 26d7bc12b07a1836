//! The signer against every vector Oracle's Python SDK produced (tests/fixtures/oci).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::Deserialize;

use super::*;
use crate::oci::key::load_private_key_file;
use crate::oci::verify::verify_request;

#[derive(Deserialize)]
struct Vectors {
    api_key_key_id: String,
    security_token: String,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    auth: String,
    method: String,
    url: String,
    headers_in: BTreeMap<String, String>,
    body: Option<String>,
    body_base64: Option<String>,
    expected_headers: BTreeMap<String, String>,
    signing_string: String,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oci")
}

fn key() -> RsaPrivateKey {
    load_private_key_file(&fixtures().join("test_key.pem"), None).unwrap()
}

fn header_map(pairs: &BTreeMap<String, String>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in pairs {
        map.insert(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    map
}

#[test]
fn every_sdk_vector_matches_byte_for_byte() {
    let text = std::fs::read_to_string(fixtures().join("signing.json")).unwrap();
    let set: Vectors = serde_json::from_str(&text).unwrap();
    assert_eq!(set.vectors.len(), 300);
    let key = key();
    let api = RequestSigner::new(set.api_key_key_id.clone(), key.clone());
    let token = RequestSigner::session_token(&set.security_token, key.clone());
    let public = key.to_public_key();
    for v in &set.vectors {
        let signer = if v.auth == "security_token" { &token } else { &api };
        let body_bytes = match (&v.body, &v.body_base64) {
            (_, Some(b)) => Some(BASE64.decode(b).unwrap()),
            (Some(s), None) => Some(s.as_bytes().to_vec()),
            (None, None) => None,
        };
        let body = match &body_bytes {
            Some(b) => SignBody::Bytes(b),
            None => SignBody::None,
        };
        let method = Method::from_bytes(v.method.as_bytes()).unwrap();
        let url = Url::parse(&v.url).unwrap();
        let headers = header_map(&v.headers_in);
        let signed =
            signer.sign_parts(&method, &url, &headers, body, SignOptions::default(), SystemTime::now()).unwrap();
        assert_eq!(signed.signing_string, v.signing_string, "{}", v.name);
        let added: BTreeMap<String, String> = signed.headers.iter().cloned().collect();
        assert_eq!(added, v.expected_headers, "{}", v.name);

        // The verifier accepts what was sent.
        let mut sent = headers.clone();
        signed.apply(&mut sent).unwrap();
        let params = verify_request(&public, &v.method, &request_target(&url), &sent).unwrap();
        assert_eq!(params.key_id, signer.key_id());
    }
}

#[test]
fn get_signs_three_headers_and_adds_json_content_type() {
    let signer = RequestSigner::api_key("ocid1.tenancy.oc1..t", "ocid1.user.oc1..u", "aa:bb", key());
    let url = Url::parse("http://127.0.0.1:8777/20160918/vcns?displayName=%C3%BCber%2Fx&limit=5").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("date", HeaderValue::from_static("Thu, 01 Jan 2026 00:00:00 GMT"));
    let signed = signer
        .sign_parts(&Method::GET, &url, &headers, SignBody::None, SignOptions::default(), SystemTime::now())
        .unwrap();
    assert_eq!(
        signed.signing_string,
        "date: Thu, 01 Jan 2026 00:00:00 GMT\n(request-target): get /20160918/vcns?displayName=%C3%BCber%2Fx&limit=5\nhost: 127.0.0.1:8777"
    );
    assert_eq!(signed.get("content-type"), Some("application/json"));
    assert_eq!(signed.get("x-content-sha256"), None);
}

#[test]
fn empty_post_body_hashes_the_empty_string() {
    let signer = RequestSigner::new("k", key());
    let url = Url::parse("https://iaas.us-ashburn-1.oraclecloud.com/20160918/vcns").unwrap();
    let signed = signer
        .sign_parts(
            &Method::POST,
            &url,
            &HeaderMap::new(),
            SignBody::None,
            SignOptions::default(),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
    assert_eq!(signed.get("content-length"), Some("0"));
    assert_eq!(signed.get("x-content-sha256"), Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
    assert_eq!(signed.get("date"), Some("Thu, 01 Jan 1970 00:00:00 GMT"));
    assert!(signed
        .get("authorization")
        .unwrap()
        .contains("headers=\"date (request-target) host content-length content-type x-content-sha256\""));
}

#[test]
fn object_storage_upload_excludes_body_headers() {
    let signer = RequestSigner::new("k", key());
    let url = Url::parse("https://objectstorage.us-ashburn-1.oraclecloud.com/n/ns/b/bk/o/a%2Fb").unwrap();
    assert!(is_object_storage_upload(&Method::PUT, url.path()));
    let options = SignOptions { exclude_body_headers: true };
    let signed = signer
        .sign_parts(&Method::PUT, &url, &HeaderMap::new(), SignBody::Stream, options, SystemTime::UNIX_EPOCH)
        .unwrap();
    assert_eq!(signed.signing_string.lines().count(), 3);
    assert_eq!(signed.get("x-content-sha256"), None);
    assert_eq!(signed.get("content-type"), Some("application/octet-stream"));
}

#[test]
fn streaming_body_without_exclusion_is_refused() {
    let signer = RequestSigner::new("k", key());
    let url = Url::parse("https://h/x").unwrap();
    let err = signer
        .sign_parts(
            &Method::POST,
            &url,
            &HeaderMap::new(),
            SignBody::Stream,
            SignOptions::default(),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap_err();
    assert!(matches!(err, SignError::StreamingBody));
    let err = signer
        .sign_parts(
            &Method::OPTIONS,
            &url,
            &HeaderMap::new(),
            SignBody::None,
            SignOptions::default(),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap_err();
    assert!(matches!(err, SignError::UnsupportedMethod { .. }));
}

#[test]
fn debug_output_hides_key_and_token() {
    let token = RequestSigner::session_token("secret-token-value", key());
    let text = format!("{token:?}");
    assert!(!text.contains("secret-token-value"), "{text}");
    assert!(!text.contains("RsaPrivateKey"), "{text}");
}

#[test]
fn tampered_request_fails_verification() {
    let signer = RequestSigner::new("k", key());
    let url = Url::parse("https://h/a?b=1").unwrap();
    let mut req = reqwest::Request::new(Method::GET, url);
    signer.sign_request(&mut req, SignOptions::default()).unwrap();
    let public = key().to_public_key();
    assert!(verify_request(&public, "GET", "/a?b=1", req.headers()).is_ok());
    assert!(matches!(verify_request(&public, "GET", "/a?b=2", req.headers()), Err(SignError::BadSignature)));
}
