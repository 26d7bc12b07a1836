//! Errors of the local half of the OCI client: signing, keys, configuration and endpoints.
//!
//! Each variant names the file, line, profile or URL it came from and, where there is one,
//! the fix. None of them may carry a private key, a pass phrase or a session token.

use std::path::PathBuf;

use thiserror::Error;

/// Errors building or checking a request signature.
#[derive(Debug, Error)]
pub enum SignError {
    #[error("cannot sign HTTP method {method}: OCI signs only GET, HEAD, DELETE, POST, PUT and PATCH")]
    UnsupportedMethod { method: String },
    #[error("URL {url} has no host to sign")]
    NoHost { url: String },
    #[error("header `{name}` is required by the signature but missing from the request")]
    MissingHeader { name: String },
    #[error("header `{name}` is not valid visible ASCII and cannot be signed")]
    InvalidHeader { name: String },
    #[error("the signing string contains non-ASCII text; percent-encode the path and query")]
    NonAscii,
    #[error("a streamed body cannot be hashed for x-content-sha256; sign it with exclude_body_headers or buffer it")]
    StreamingBody,
    #[error("malformed authorization header: {reason}")]
    BadAuthorization { reason: String },
    #[error("signature does not verify with the given public key")]
    BadSignature,
}

/// Errors loading an RSA private key.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("key file {path} holds a public key; key_file must point at the private key (the .pem you generated, not *_public.pem)")]
    PublicKey { path: PathBuf },
    #[error("key file {path} is encrypted; set pass_phrase in the profile")]
    MissingPassPhrase { path: PathBuf },
    #[error("cannot decrypt key file {path} ({detail}): check pass_phrase; if it is right, the key's encryption is one drctl does not read: re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`")]
    Decrypt { path: PathBuf, detail: String },
    #[error("key file {path} holds {what}; OCI API signing keys are RSA: {fix}")]
    NotRsa { path: PathBuf, what: &'static str, fix: &'static str },
    #[error("key file {path} is not a PEM RSA private key ({detail}); expected BEGIN RSA PRIVATE KEY, BEGIN PRIVATE KEY or BEGIN ENCRYPTED PRIVATE KEY")]
    Format { path: PathBuf, detail: String },
}

/// Errors reading `~/.oci/config`.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read OCI config file {path}: {source}; create it with `oci setup config` or pass --config-file")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Syntax { path: PathBuf, line: usize, message: String },
    #[error("profile [{profile}] not found in {path} (profiles present: {available}); pass --profile or set OCI_CLI_PROFILE")]
    ProfileNotFound { path: PathBuf, profile: String, available: String },
    #[error("{path}: profile [{profile}] has no `{key}`; add `{key}=...` to {}{hint}", where_to_add(profile))]
    MissingKey { path: PathBuf, profile: String, key: &'static str, hint: &'static str },
    #[error("{path}:{line}: `{key}` in profile [{profile}] is malformed: {reason}")]
    Malformed { path: PathBuf, line: usize, profile: String, key: String, reason: String },
    #[error("{path}:{line}: {source}")]
    Key { path: PathBuf, line: usize, source: KeyError },
    #[error("{path}:{line}: cannot read security_token_file {token_path}: {source}; refresh it with `oci session authenticate`")]
    Token { path: PathBuf, line: usize, token_path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: the session token in {token_path} {reason}; make a new one with `oci session authenticate` (`oci session refresh` only renews a token that has not expired)")]
    TokenUnusable { path: PathBuf, line: usize, token_path: PathBuf, reason: String },
    #[error("{variable}={value}: drctl signs with `api_key` or `security_token` (instance and resource principals are not supported); set one of those or unset {variable}")]
    UnknownAuth { variable: &'static str, value: String },
    #[error("cannot locate the home directory to expand `~` in {value}; set HOME or use an absolute path")]
    NoHome { value: String },
}

/// Errors resolving a service endpoint or reading an endpoints file.
#[derive(Debug, Error)]
pub enum EndpointError {
    #[error("unknown OCI region `{region}`{suggestion}; use a region id such as us-ashburn-1 or map it in the endpoints file")]
    UnknownRegion { region: String, suggestion: String },
    #[error("unknown OCI service `{service}`; known services: {known}")]
    UnknownService { service: String, known: String },
    #[error("cannot read endpoints file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("endpoints file {path} is not a JSON object of region to base URL: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    /// `twice` says which region, and as what.
    #[error("endpoints file {path} names {twice}: the later would silently win; keep one")]
    Duplicate { path: PathBuf, twice: String },
    #[error("endpoint `{value}`{context} is not an absolute http(s) URL: {reason}")]
    BadUrl { value: String, context: String, reason: String },
}

/// Where a missing config key can go: the profile, or the DEFAULT profile every other one
/// inherits from.
fn where_to_add(profile: &str) -> String {
    if profile == "DEFAULT" {
        "[DEFAULT]".to_owned()
    } else {
        format!("[{profile}] or to [DEFAULT]")
    }
}
