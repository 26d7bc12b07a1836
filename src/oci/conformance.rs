//! A line-oriented signing service for conformance tests against Oracle's SDK.
//!
//! Reads one JSON request per line (method, URL, headers, body, key id, key file) and writes
//! one JSON line per request with the headers the signer adds and the signing string, so a
//! script can sign the same requests with `oci.signer.Signer` and compare byte for byte.
//! It signs with a caller-chosen `date` header and never sends anything.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use rsa::RsaPrivateKey;
use serde::Deserialize;
use serde_json::json;
use thiserror::Error;

use super::key::load_private_key_file;
use super::signer::{RequestSigner, SignBody, SignOptions};

/// Failures that stop the whole run (a bad line only produces an `error` output line).
#[derive(Debug, Error)]
pub enum ConformanceError {
    #[error("reading requests: {0}")]
    Read(std::io::Error),
    #[error("writing results: {0}")]
    Write(std::io::Error),
}

/// One request to sign.
#[derive(Debug, Deserialize)]
struct Line {
    #[serde(default)]
    id: serde_json::Value,
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    key_id: String,
    key_file: PathBuf,
    #[serde(default)]
    exclude_body_headers: bool,
}

/// Signs every JSON line of `reader` and writes one JSON result line per input line:
/// `{"id", "headers": {name: value}, "signing_string"}` or `{"id", "error"}`.
/// Returns the number of lines signed without error.
pub fn sign_json_lines(reader: impl BufRead, mut writer: impl Write) -> Result<usize, ConformanceError> {
    let mut keys: HashMap<PathBuf, RsaPrivateKey> = HashMap::new();
    let mut signed = 0;
    for line in reader.lines() {
        let line = line.map_err(ConformanceError::Read)?;
        if line.trim().is_empty() {
            continue;
        }
        let out = match serde_json::from_str::<Line>(&line) {
            Ok(input) => match sign_one(&input, &mut keys) {
                Ok(result) => {
                    signed += 1;
                    result
                }
                Err(error) => json!({"id": input.id, "error": error}),
            },
            Err(e) => json!({"id": null, "error": format!("bad input line: {e}")}),
        };
        writeln!(writer, "{out}").map_err(ConformanceError::Write)?;
    }
    writer.flush().map_err(ConformanceError::Write)?;
    Ok(signed)
}

fn sign_one(input: &Line, keys: &mut HashMap<PathBuf, RsaPrivateKey>) -> Result<serde_json::Value, String> {
    let key = load_key(&input.key_file, keys)?;
    let signer = RequestSigner::new(input.key_id.clone(), key);
    let method = Method::from_bytes(input.method.as_bytes()).map_err(|e| e.to_string())?;
    let url = Url::parse(&input.url).map_err(|e| format!("url: {e}"))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &input.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
        headers.insert(name, value);
    }
    let decoded;
    let body = match (&input.body, &input.body_base64) {
        (_, Some(b64)) => {
            decoded = BASE64.decode(b64).map_err(|e| format!("body_base64: {e}"))?;
            SignBody::Bytes(&decoded)
        }
        (Some(text), None) => SignBody::Bytes(text.as_bytes()),
        (None, None) => SignBody::None,
    };
    let options = SignOptions { exclude_body_headers: input.exclude_body_headers };
    let signed =
        signer.sign_parts(&method, &url, &headers, body, options, SystemTime::now()).map_err(|e| e.to_string())?;
    let added: BTreeMap<&str, &str> = signed.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    Ok(json!({"id": input.id, "headers": added, "signing_string": signed.signing_string}))
}

fn load_key(path: &Path, keys: &mut HashMap<PathBuf, RsaPrivateKey>) -> Result<RsaPrivateKey, String> {
    if let Some(key) = keys.get(path) {
        return Ok(key.clone());
    }
    let key = load_private_key_file(path, None).map_err(|e| e.to_string())?;
    keys.insert(path.to_path_buf(), key.clone());
    Ok(key)
}
