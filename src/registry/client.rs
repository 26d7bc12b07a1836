//! The Distribution API calls a copy makes (manifests, blob existence, blob reads; uploads
//! are in [`super::upload_session`]),
//! each authenticated through [`Authenticator`] and turned into a [`RegistryError`] naming the
//! registry, repository and operation. Replayable requests are retried on transient failures
//! here; streamed uploads are not (their body cannot be replayed), the blob transfer retries
//! them as a whole. This module never logs headers: they may carry credentials.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{RequestBuilder, Response, StatusCode};

use super::auth::Authenticator;
use super::credentials::Credentials;
use super::digest::Digest;
use super::error::RegistryError;
use super::manifest::{FetchedManifest, ACCEPT};

const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// Deadline for requests that carry no blob stream (manifests, HEADs, session control).
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One repository on one registry, and the token scopes requests to it need.
#[derive(Clone, Debug)]
pub(crate) struct Repo {
    pub registry: String,
    pub repository: String,
    pub scopes: Vec<String>,
}

impl Repo {
    pub(super) fn http_error(&self, operation: &str, status: StatusCode, detail: Option<String>) -> RegistryError {
        RegistryError::Http {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            operation: operation.to_string(),
            status: status.as_u16(),
            detail,
        }
    }

    fn transport_error(&self, operation: &str, source: reqwest::Error) -> RegistryError {
        RegistryError::Transport {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            operation: operation.to_string(),
            source: source.without_url(),
        }
    }
}

/// HTTP access to the registries of one copy. Cheap to share behind an `Arc`: the connection
/// pool inside keeps HTTP/1.1 connections alive across every request of the copy.
pub(crate) struct RegistryClient {
    pub(super) http: reqwest::Client,
    auth: Authenticator,
    /// Every registry speaks plain HTTP (`--plain-http`), or those named here.
    plain_http: bool,
    plain_hosts: Vec<String>,
    retries: u32,
}

impl RegistryClient {
    pub(crate) fn new(
        plain_http: bool,
        credentials: HashMap<String, Credentials>,
        retries: u32,
    ) -> Result<RegistryClient, RegistryError> {
        let http = crate::tls::trusting(reqwest::Client::builder())
            .user_agent(concat!("drctl/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            // No client-wide read timeout: reqwest counts it from the start of a request to
            // its response head, which would cut off long uploads. Replayable requests get
            // REQUEST_TIMEOUT; blob streams are watched for stalls by the blob transfer.
            .tcp_keepalive(Duration::from_secs(30))
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| RegistryError::HttpClient { reason: e.to_string() })?;
        Ok(RegistryClient {
            auth: Authenticator::new(http.clone(), credentials),
            http,
            plain_http,
            plain_hosts: Vec::new(),
            retries,
        })
    }

    /// The client with the registries in `hosts` reached over plain HTTP too.
    pub(crate) fn with_plain_hosts(mut self, hosts: &[String]) -> RegistryClient {
        self.plain_hosts = hosts.to_vec();
        self
    }

    /// `http` or `https`, for `registry`.
    pub(super) fn scheme(&self, registry: &str) -> &'static str {
        if self.plain_http || self.plain_hosts.iter().any(|h| h == registry) {
            "http"
        } else {
            "https"
        }
    }

    pub(super) fn url(&self, repo: &Repo, tail: &str) -> String {
        format!("{}://{}/v2/{}/{tail}", self.scheme(&repo.registry), repo.registry, repo.repository)
    }

    /// Sends one request with whatever credentials the host is known to want.
    pub(super) async fn send_once(
        &self,
        repo: &Repo,
        op: &str,
        req: RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let req = match self.auth.header(&repo.registry, &repo.scopes).await? {
            Some(h) => req.header(AUTHORIZATION, h.expose()),
            None => req,
        };
        req.send().await.map_err(|e| repo.transport_error(op, e))
    }

    /// Sends a replayable request: answers one 401 challenge, retries transport failures,
    /// 5xx and 429 with exponential backoff.
    pub(super) async fn send(
        &self,
        repo: &Repo,
        op: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        self.send_with(repo, op, Some(REQUEST_TIMEOUT), build).await
    }

    /// [`RegistryClient::send`] with an explicit deadline; `None` for blob downloads, whose
    /// body may stream for longer than any fixed deadline.
    async fn send_with(
        &self,
        repo: &Repo,
        op: &str,
        timeout: Option<Duration>,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut challenged = false;
        let mut attempt = 0;
        loop {
            let req = match timeout {
                Some(t) => build().timeout(t),
                None => build(),
            };
            let result = self.send_once(repo, op, req).await;
            match result {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && !challenged => {
                    challenged = true;
                    let www = header_str(resp.headers(), "www-authenticate");
                    self.auth.learn(&repo.registry, www.as_deref(), &repo.scopes)?;
                    continue;
                }
                // Answered the challenge, and still refused: the credentials are wrong.
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && self.auth.has_credentials(&repo.registry) => {
                    return Err(RegistryError::Auth {
                        registry: repo.registry.clone(),
                        reason: format!(
                            "{op}: the credentials given for {} were refused (HTTP 401); check them (--src-creds or \
                             --dest-creds, the environment, or the docker config's entry for the host)",
                            repo.registry
                        ),
                    });
                }
                // Answered the challenge without credentials (an anonymous token), and refused.
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED => {
                    return Err(RegistryError::Auth {
                        registry: repo.registry.clone(),
                        reason: format!(
                            "{op}: {} refused access without credentials (HTTP 401); give them ({})",
                            repo.registry,
                            super::auth::CREDENTIAL_SOURCES
                        ),
                    });
                }
                Ok(resp) if is_retryable_status(resp.status()) && attempt < self.retries => {
                    crate::call_retries::note(&format!("{op} on {}: HTTP {}", repo.registry, resp.status()), None);
                }
                Err(e) if e.is_transient() && attempt < self.retries => {
                    tracing::debug!(registry = %repo.registry, op, error = %e.chain(), "retrying");
                    crate::call_retries::note(&format!("{op} on {}: {}", repo.registry, e.chain()), None);
                }
                other => return other,
            }
            backoff(attempt).await;
            attempt += 1;
        }
    }

    pub(super) async fn check(
        &self,
        repo: &Repo,
        op: &str,
        resp: Response,
        ok: &[StatusCode],
    ) -> Result<Response, RegistryError> {
        if ok.contains(&resp.status()) {
            return Ok(resp);
        }
        Err(status_error(repo, op, resp).await)
    }

    /// GETs a manifest by tag or digest and checks the bytes against the digest: the one
    /// asked for, or the registry's `Docker-Content-Digest` when fetching by tag.
    pub(crate) async fn get_manifest(&self, repo: &Repo, reference: &str) -> Result<FetchedManifest, RegistryError> {
        let op = format!("GET manifest {reference}");
        let url = self.url(repo, &format!("manifests/{reference}"));
        let resp = self.send(repo, &op, || self.http.get(&url).header("accept", ACCEPT)).await?;
        let resp = self.check(repo, &op, resp, &[StatusCode::OK]).await?;
        let media_type = header_str(resp.headers(), CONTENT_TYPE.as_str()).unwrap_or_default();
        let claimed = header_str(resp.headers(), DOCKER_CONTENT_DIGEST);
        let bytes = resp.bytes().await.map_err(|e| repo.transport_error(&op, e))?;
        let digest = Digest::of(&bytes);
        let expected = match Digest::parse(reference) {
            Ok(d) => Some(d),
            Err(_) => claimed.as_deref().and_then(|c| Digest::parse(c).ok()),
        };
        if let Some(expected) = expected {
            if expected != digest {
                return Err(RegistryError::DigestMismatch {
                    registry: repo.registry.clone(),
                    repository: repo.repository.clone(),
                    expected,
                    actual: digest,
                });
            }
        }
        Ok(FetchedManifest { digest, media_type, bytes })
    }

    /// HEADs a manifest; `None` when absent, else the digest the registry reports for it.
    pub(crate) async fn manifest_digest(&self, repo: &Repo, reference: &str) -> Result<Option<String>, RegistryError> {
        let op = format!("HEAD manifest {reference}");
        let url = self.url(repo, &format!("manifests/{reference}"));
        let resp = self.send(repo, &op, || self.http.head(&url).header("accept", ACCEPT)).await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::OK => Ok(header_str(resp.headers(), DOCKER_CONTENT_DIGEST)),
            status => Err(repo.http_error(&op, status, None)),
        }
    }

    /// PUTs the exact manifest bytes and checks the digest the registry stored them under.
    pub(crate) async fn put_manifest(
        &self,
        repo: &Repo,
        reference: &str,
        manifest: &FetchedManifest,
    ) -> Result<(), RegistryError> {
        let op = format!("PUT manifest {reference}");
        let url = self.url(repo, &format!("manifests/{reference}"));
        let resp = self
            .send(repo, &op, || {
                self.http.put(&url).header(CONTENT_TYPE, &manifest.media_type).body(manifest.bytes.clone())
            })
            .await?;
        let resp = self.check(repo, &op, resp, &[StatusCode::CREATED, StatusCode::OK]).await?;
        match header_str(resp.headers(), DOCKER_CONTENT_DIGEST) {
            Some(d) if d != manifest.digest.as_str() => Err(RegistryError::DestinationDigest {
                registry: repo.registry.clone(),
                repository: repo.repository.clone(),
                expected: manifest.digest.clone(),
                actual: d,
            }),
            _ => Ok(()),
        }
    }

    /// DELETEs a manifest by digest, or a tag alone. `Ok(false)` when the registry has no such one (already
    /// gone), `Ok(true)` when it was deleted.
    pub(crate) async fn delete_manifest(&self, repo: &Repo, reference: &str) -> Result<bool, RegistryError> {
        let op = format!("DELETE manifest {reference}");
        let url = self.url(repo, &format!("manifests/{reference}"));
        let resp = self.send(repo, &op, || self.http.delete(&url)).await?;
        match resp.status() {
            StatusCode::ACCEPTED | StatusCode::OK | StatusCode::NO_CONTENT => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(status_error(repo, &op, resp).await),
        }
    }

    pub(crate) async fn blob_exists(&self, repo: &Repo, digest: &Digest) -> Result<bool, RegistryError> {
        let op = format!("HEAD blob {digest}");
        let url = self.url(repo, &format!("blobs/{digest}"));
        let resp = self.send(repo, &op, || self.http.head(&url)).await?;
        match resp.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            status => Err(repo.http_error(&op, status, None)),
        }
    }

    /// Starts a blob download; the caller streams the body.
    pub(crate) async fn get_blob(&self, repo: &Repo, digest: &Digest) -> Result<Response, RegistryError> {
        let op = format!("GET blob {digest}");
        let url = self.url(repo, &format!("blobs/{digest}"));
        let resp = self.send_with(repo, &op, None, || self.http.get(&url)).await?;
        self.check(repo, &op, resp, &[StatusCode::OK]).await
    }
}

pub(super) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn is_retryable_status(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT
}

/// 100 ms, 200 ms, 400 ms … capped at 3.2 s.
pub(crate) async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(100u64 << attempt.min(5))).await;
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

#[derive(serde::Deserialize)]
struct ErrorEntry {
    code: Option<String>,
    message: Option<String>,
}

/// Builds the error for an unexpected status, with the registry's `errors[0]` code and message.
pub(super) async fn status_error(repo: &Repo, op: &str, resp: Response) -> RegistryError {
    let status = resp.status();
    let body: Bytes = resp.bytes().await.unwrap_or_default();
    let detail = serde_json::from_slice::<ErrorBody>(&body).ok().and_then(|b| {
        b.errors.into_iter().next().map(|e| {
            let text = format!("{} {}", e.code.unwrap_or_default(), e.message.unwrap_or_default());
            text.trim().chars().take(200).collect::<String>()
        })
    });
    repo.http_error(op, status, detail)
}
