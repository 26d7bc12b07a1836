//! The registry module's error type. Every variant names the registry and repository it came
//! from and, where one is involved, the digest and HTTP status, so a runbook failure says which
//! image broke and where. Errors must never carry credentials or tokens.

use std::path::PathBuf;

use super::digest::Digest;

/// What went wrong while talking to a registry or copying an image.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// An image reference on the command line or in a runbook could not be parsed.
    #[error("invalid image reference `{input}`: {reason}")]
    InvalidReference { input: String, reason: String },

    /// The destination is named by a digest the source image does not have.
    #[error(
        "the destination `{destination}` names digest {named}, but the source image is {source_digest}: name the \
         destination by a tag, or by the source's digest"
    )]
    DigestConflict { destination: String, named: String, source_digest: String },

    /// A digest string is not `sha256:` followed by 64 lowercase hex digits.
    #[error("invalid digest `{input}`: {reason}")]
    InvalidDigest { input: String, reason: String },

    /// The registry answered with an unexpected HTTP status.
    #[error("{registry}/{repository}: {operation} failed with HTTP {status}{}", detail_suffix(.detail))]
    Http {
        registry: String,
        repository: String,
        operation: String,
        status: u16,
        /// The registry's error code and message from the JSON error body, if any.
        detail: Option<String>,
    },

    /// The request never got an HTTP answer (connection refused, reset, timeout).
    /// The cause chain (reset, refused, TLS) is in `source`, rendered by the caller.
    #[error("{registry}/{repository}: {operation} got no HTTP answer")]
    Transport {
        registry: String,
        repository: String,
        operation: String,
        #[source]
        source: reqwest::Error,
    },

    /// A blob transfer made no progress for `seconds` (a stalled source or destination).
    #[error("{registry}/{repository}: transfer of {digest} stalled for {seconds} s")]
    Stalled { registry: String, repository: String, digest: Digest, seconds: u64 },

    /// Content read from the source does not hash to the digest that names it.
    #[error("{registry}/{repository}: content of {expected} hashes to {actual}; refusing to copy it")]
    DigestMismatch { registry: String, repository: String, expected: Digest, actual: Digest },

    /// Content read from the source is not as long as its descriptor says.
    #[error("{registry}/{repository}: {digest} should be {expected} bytes but the source sent {actual}")]
    SizeMismatch { registry: String, repository: String, digest: Digest, expected: u64, actual: u64 },

    /// The source's answer broke off while a blob was read from it (closed or reset).
    #[error("{registry}/{repository}: reading {digest} from the source broke after {received} of {expected} bytes: {reason}")]
    SourceBroken { registry: String, repository: String, digest: Digest, received: u64, expected: u64, reason: String },

    /// The destination stored a manifest under a different digest than the bytes we sent.
    #[error("{registry}/{repository}: pushed manifest {expected} but the registry reports {actual}")]
    DestinationDigest { registry: String, repository: String, expected: Digest, actual: String },

    /// A manifest has a media type this client does not copy.
    #[error("{registry}/{repository}: manifest {digest} has unsupported media type `{media_type}`")]
    UnsupportedMediaType { registry: String, repository: String, digest: Digest, media_type: String },

    /// A manifest's JSON could not be read.
    #[error("{registry}/{repository}: manifest {digest} is malformed: {reason}")]
    MalformedManifest { registry: String, repository: String, digest: Digest, reason: String },

    /// The registry's authentication challenge or token service failed.
    #[error("{registry}: authentication failed: {reason}")]
    Auth { registry: String, reason: String },

    /// Credentials could not be read (docker config file, flag or environment).
    #[error("credentials{}: {reason}", path_suffix(.path))]
    Credentials { path: Option<PathBuf>, reason: String },

    /// A blob upload kept failing after every retry; `last` is the final attempt's error.
    #[error("{registry}/{repository}: upload of {digest} failed after {attempts} attempts")]
    UploadFailed {
        registry: String,
        repository: String,
        digest: Digest,
        attempts: u32,
        #[source]
        last: Box<RegistryError>,
    },

    /// The HTTP client could not be set up (TLS backend initialisation).
    #[error("cannot build the HTTP client: {reason}")]
    HttpClient { reason: String },

    /// A blob transfer task panicked or was aborted.
    #[error("{registry}/{repository}: blob transfer task failed: {reason}")]
    TaskFailed { registry: String, repository: String, reason: String },

    /// The copy was cancelled (Ctrl-C or a runbook timeout) before it finished.
    #[error("image copy cancelled")]
    Cancelled,
}

fn detail_suffix(detail: &Option<String>) -> String {
    match detail {
        Some(d) => format!(": {d}"),
        None => String::new(),
    }
}

fn path_suffix(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!(" ({})", p.display()),
        None => String::new(),
    }
}

impl RegistryError {
    /// The message followed by its causes (`a: b: c`), for one-line logs.
    pub fn chain(&self) -> String {
        crate::causes::with_causes(self)
    }

    /// The message for a person: its causes, and what to do when a registry answered in plain
    /// HTTP where TLS was expected (rustls reads the answer as a record of the wrong type).
    pub fn describe(&self) -> String {
        let mut message = self.chain();
        if let RegistryError::Http { registry, repository, operation, status: 404, .. } = self {
            if let Some(reference) = operation.strip_prefix("GET manifest ") {
                message.push_str(&format!(
                    "\n  {registry}/{repository} has no image `{reference}`: check the repository and the tag or digest \
                     (the tags it has: GET /v2/{repository}/tags/list)"
                ));
            }
        }
        let unreachable = match self {
            RegistryError::UploadFailed { last, .. } => last.as_ref(),
            other => other,
        };
        if let RegistryError::Transport { registry, source, .. } = unreachable {
            let causes = crate::causes::with_causes(source);
            if causes.contains("certificate") || causes.contains("UnknownIssuer") {
                message.push_str(&format!(
                    "\n  {registry}'s TLS certificate is not trusted here: drctl trusts the built-in (Mozilla) roots, the \
                     system's CA bundle (/etc/ssl/certs/ca-certificates.crt) and the PEM bundle SSL_CERT_FILE names; add \
                     the CA that signed it to one of them"
                ));
            } else if source.is_connect() && !message.contains("InvalidContentType") {
                message.push_str(&format!(
                    "\n  {registry} did not take the connection: check that it is running and reachable from here; what \
                     was copied before stays there, and a retry of the task (or a resume) copies only what is missing"
                ));
            }
        }
        if message.contains("InvalidContentType") {
            message.push_str(
                "\n  the registry answered in plain HTTP, not TLS: for a local registry or the simulator, give `drctl image copy` --plain-http, or map the region to an http:// URL in the endpoints file",
            );
        }
        message
    }

    /// Whether a later attempt of the same request might succeed: transport failures, server
    /// errors and throttling. Integrity failures and client errors are final.
    pub fn is_transient(&self) -> bool {
        match self {
            // A registry answering in plain HTTP where TLS was expected answers so every time.
            RegistryError::Transport { source, .. } => {
                !crate::causes::with_causes(source).contains("InvalidContentType")
            }
            RegistryError::Stalled { .. } | RegistryError::SourceBroken { .. } => true,
            RegistryError::Http { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            RegistryError::UploadFailed { last, .. } => last.is_transient(),
            _ => false,
        }
    }
}
