//! The Distribution API calls a copy makes (manifests, blob existence, blob reads, uploads),
//! each authenticated through [`Authenticator`] and turned into a [`RegistryError`] naming the
//! registry, repository and operation. Replayable requests are retried on transient failures
//! here; streamed uploads are not (their body cannot be replayed), the blob transfer retries
//! them as a whole. This module never logs headers: they may carry credentials.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Body, RequestBuilder, Response, StatusCode, Url};

use super::auth::Authenticator;
use super::credentials::Credentials;
use super::digest::Digest;
use super::error::RegistryError;
use super::manifest::{FetchedManifest, ACCEPT};

const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

/// One repository on one registry, and the token scopes requests to it need.
#[derive(Clone, Debug)]
pub(crate) struct Repo {
    pub registry: String,
    pub repository: String,
    pub scopes: Vec<String>,
}

impl Repo {
    fn http_error(
        &self,
        operation: &str,
        status: StatusCode,
        detail: Option<String>,
    ) -> RegistryError {
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

/// Outcome of a cross-repository mount request.
pub(crate) enum Mount {
    Mounted,
    /// The registry could not mount and opened an ordinary upload instead.
    Upload(Url),
}

/// HTTP access to the registries of one copy. Cheap to share behind an `Arc`: the connection
/// pool inside keeps HTTP/1.1 connections alive across every request of the copy.
pub(crate) struct RegistryClient {
    http: reqwest::Client,
    auth: Authenticator,
    scheme: &'static str,
    retries: u32,
}

impl RegistryClient {
    pub(crate) fn new(
        plain_http: bool,
        credentials: HashMap<String, Credentials>,
        retries: u32,
    ) -> Result<RegistryClient, RegistryError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("drctl/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| RegistryError::HttpClient {
                reason: e.to_string(),
            })?;
        Ok(RegistryClient {
            auth: Authenticator::new(http.clone(), credentials),
            http,
            scheme: if plain_http { "http" } else { "https" },
            retries,
        })
    }

    fn url(&self, repo: &Repo, tail: &str) -> String {
        format!(
            "{}://{}/v2/{}/{tail}",
            self.scheme, repo.registry, repo.repository
        )
    }

    /// Sends one request with whatever credentials the host is known to want.
    async fn send_once(
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
    async fn send(
        &self,
        repo: &Repo,
        op: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut challenged = false;
        let mut attempt = 0;
        loop {
            let result = self.send_once(repo, op, build()).await;
            match result {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && !challenged => {
                    challenged = true;
                    let www = header_str(resp.headers(), "www-authenticate");
                    self.auth
                        .learn(&repo.registry, www.as_deref(), &repo.scopes)?;
                    continue;
                }
                Ok(resp) if is_retryable_status(resp.status()) && attempt < self.retries => {}
                Err(e) if e.is_transient() && attempt < self.retries => {
                    tracing::debug!(registry = %repo.registry, op, error = %e, "retrying");
                }
                other => return other,
            }
            backoff(attempt).await;
            attempt += 1;
        }
    }

    async fn check(
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
    pub(crate) async fn get_manifest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let op = format!("GET manifest {reference}");
        let url = self.url(repo, &format!("manifests/{reference}"));
        let resp = self
            .send(repo, &op, || self.http.get(&url).header("accept", ACCEPT))
            .await?;
        let resp = self.check(repo, &op, resp, &[StatusCode::OK]).await?;
        let media_type = header_str(resp.headers(), CONTENT_TYPE.as_str()).unwrap_or_default();
        let claimed = header_str(resp.headers(), DOCKER_CONTENT_DIGEST);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| repo.transport_error(&op, e))?;
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
        Ok(FetchedManifest {
            digest,
            media_type,
            bytes,
        })
    }

    /// HEADs a manifest; `None` when absent, else the digest the registry reports for it.
    pub(crate) async fn manifest_digest(
        &self,
        repo: &Repo,
        reference: &str,
    ) -> Result<Option<String>, RegistryError> {
        let op = format!("HEAD manifest {reference}");
        let url = self.url(repo, &format!("manifests/{reference}"));
        let resp = self
            .send(repo, &op, || self.http.head(&url).header("accept", ACCEPT))
            .await?;
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
                self.http
                    .put(&url)
                    .header(CONTENT_TYPE, &manifest.media_type)
                    .body(manifest.bytes.clone())
            })
            .await?;
        let resp = self
            .check(repo, &op, resp, &[StatusCode::CREATED, StatusCode::OK])
            .await?;
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

    pub(crate) async fn blob_exists(
        &self,
        repo: &Repo,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
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
    pub(crate) async fn get_blob(
        &self,
        repo: &Repo,
        digest: &Digest,
    ) -> Result<Response, RegistryError> {
        let op = format!("GET blob {digest}");
        let url = self.url(repo, &format!("blobs/{digest}"));
        let resp = self.send(repo, &op, || self.http.get(&url)).await?;
        self.check(repo, &op, resp, &[StatusCode::OK]).await
    }

    fn upload_location(
        &self,
        repo: &Repo,
        op: &str,
        resp: &Response,
    ) -> Result<Url, RegistryError> {
        let loc = header_str(resp.headers(), LOCATION.as_str())
            .ok_or_else(|| repo.http_error(op, resp.status(), Some("no Location header".into())))?;
        // Location may be relative to the registry root.
        let base = Url::parse(&format!("{}://{}/", self.scheme, repo.registry)).map_err(|e| {
            repo.http_error(op, resp.status(), Some(format!("bad registry URL: {e}")))
        })?;
        base.join(&loc)
            .map_err(|e| repo.http_error(op, resp.status(), Some(format!("bad Location: {e}"))))
    }

    pub(crate) async fn start_upload(&self, repo: &Repo) -> Result<Url, RegistryError> {
        let op = "POST blob upload";
        let url = self.url(repo, "blobs/uploads/");
        let resp = self
            .send(repo, op, || self.http.post(&url).header(CONTENT_LENGTH, 0))
            .await?;
        let resp = self.check(repo, op, resp, &[StatusCode::ACCEPTED]).await?;
        self.upload_location(repo, op, &resp)
    }

    /// Asks the registry to link `digest` from repository `from` (same registry) into `repo`.
    pub(crate) async fn mount(
        &self,
        repo: &Repo,
        digest: &Digest,
        from: &str,
    ) -> Result<Mount, RegistryError> {
        let op = format!("POST mount {digest} from {from}");
        let url = self.url(repo, "blobs/uploads/");
        let resp = self
            .send(repo, &op, || {
                self.http
                    .post(&url)
                    .query(&[("mount", digest.as_str()), ("from", from)])
                    .header(CONTENT_LENGTH, 0)
            })
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(Mount::Mounted),
            StatusCode::ACCEPTED => Ok(Mount::Upload(self.upload_location(repo, &op, &resp)?)),
            _ => Err(status_error(repo, &op, resp).await),
        }
    }

    /// Monolithic upload: one PUT carrying the whole (streamed) blob.
    pub(crate) async fn put_upload(
        &self,
        repo: &Repo,
        url: &Url,
        digest: &Digest,
        body: Body,
        len: u64,
    ) -> Result<(), RegistryError> {
        let op = format!("PUT blob {digest}");
        let mut url = url.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let req = self
            .http
            .put(url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, len)
            .body(body);
        let resp = self.send_once(repo, &op, req).await?;
        self.check(repo, &op, resp, &[StatusCode::CREATED])
            .await
            .map(drop)
    }

    /// Chunked upload step: appends `len` bytes at `start`; returns the next upload URL.
    pub(crate) async fn patch_upload(
        &self,
        repo: &Repo,
        url: &Url,
        body: Body,
        start: u64,
        len: u64,
    ) -> Result<Url, RegistryError> {
        let op = format!("PATCH upload at {start}");
        let end = (start + len).saturating_sub(1);
        let req = self
            .http
            .patch(url.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, len)
            .header("content-range", format!("{start}-{end}"))
            .body(body);
        let resp = self.send_once(repo, &op, req).await?;
        let resp = self.check(repo, &op, resp, &[StatusCode::ACCEPTED]).await?;
        self.upload_location(repo, &op, &resp)
    }

    /// Closes a chunked upload with an empty PUT naming the digest.
    pub(crate) async fn finish_upload(
        &self,
        repo: &Repo,
        url: &Url,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let op = format!("PUT blob {digest}");
        let mut url = url.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let resp = self
            .send(repo, &op, || {
                self.http.put(url.clone()).header(CONTENT_LENGTH, 0)
            })
            .await?;
        self.check(repo, &op, resp, &[StatusCode::CREATED])
            .await
            .map(drop)
    }

    /// How many bytes an interrupted upload holds (`Range: 0-<last>`) and where to continue;
    /// `None` when the registry has dropped the session.
    pub(crate) async fn upload_offset(
        &self,
        repo: &Repo,
        url: &Url,
    ) -> Result<Option<(u64, Url)>, RegistryError> {
        let op = "GET upload status";
        let resp = self.send(repo, op, || self.http.get(url.clone())).await?;
        if resp.status() != StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let next = self.upload_location(repo, op, &resp)?;
        let offset = header_str(resp.headers(), "range")
            .and_then(|r| {
                r.rsplit_once('-')
                    .and_then(|(_, end)| end.parse::<u64>().ok())
            })
            // "0-0" is what an empty session reports; a one-byte session is indistinguishable,
            // and resuming it from 0 fails cleanly with 416, which restarts the upload.
            .map(|end| if end == 0 { 0 } else { end + 1 });
        Ok(offset.map(|o| (o, next)))
    }

    /// Best-effort cleanup of an abandoned upload session.
    pub(crate) async fn cancel_upload(&self, repo: &Repo, url: &Url) {
        let req = self.http.delete(url.clone());
        if let Err(e) = self.send_once(repo, "DELETE upload", req).await {
            tracing::debug!(registry = %repo.registry, error = %e, "upload cleanup failed");
        }
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
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
async fn status_error(repo: &Repo, op: &str, resp: Response) -> RegistryError {
    let status = resp.status();
    let body: Bytes = resp.bytes().await.unwrap_or_default();
    let detail = serde_json::from_slice::<ErrorBody>(&body)
        .ok()
        .and_then(|b| {
            b.errors.into_iter().next().map(|e| {
                let text = format!(
                    "{} {}",
                    e.code.unwrap_or_default(),
                    e.message.unwrap_or_default()
                );
                text.trim().chars().take(200).collect::<String>()
            })
        });
    repo.http_error(op, status, detail)
}
