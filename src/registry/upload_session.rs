//! Blob upload sessions on the destination: open (or mount), send the body monolithically or
//! as a `PATCH`, close with `PUT ?digest=`, ask an interrupted session for its offset, cancel.
//! Calls carrying a streamed body cannot be replayed, so they are sent once; retrying a
//! broken upload is the blob transfer's decision, never this module's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Body, Response, StatusCode, Url};

use super::client::{header_str, status_error, RegistryClient, Repo};
use super::digest::Digest;
use super::error::RegistryError;

/// Outcome of a cross-repository mount request.
pub(crate) enum Mount {
    Mounted,
    /// The registry could not mount and opened an ordinary upload instead.
    Upload(Url),
}

impl RegistryClient {
    fn upload_location(&self, repo: &Repo, op: &str, resp: &Response) -> Result<Url, RegistryError> {
        let loc = header_str(resp.headers(), LOCATION.as_str())
            .ok_or_else(|| repo.http_error(op, resp.status(), Some("no Location header".into())))?;
        // Location may be relative to the registry root.
        let base = Url::parse(&format!("{}://{}/", self.scheme(&repo.registry), repo.registry))
            .map_err(|e| repo.http_error(op, resp.status(), Some(format!("bad registry URL: {e}"))))?;
        base.join(&loc).map_err(|e| repo.http_error(op, resp.status(), Some(format!("bad Location: {e}"))))
    }

    pub(crate) async fn start_upload(&self, repo: &Repo) -> Result<Url, RegistryError> {
        let op = "POST blob upload";
        let url = self.url(repo, "blobs/uploads/");
        let resp = self.send(repo, op, || self.http.post(&url).header(CONTENT_LENGTH, 0)).await?;
        let resp = self.check(repo, op, resp, &[StatusCode::ACCEPTED]).await?;
        self.upload_location(repo, op, &resp)
    }

    /// Asks the registry to link `digest` from repository `from` (same registry) into `repo`.
    pub(crate) async fn mount(&self, repo: &Repo, digest: &Digest, from: &str) -> Result<Mount, RegistryError> {
        let op = format!("POST mount {digest} from {from}");
        let url = self.url(repo, "blobs/uploads/");
        let resp = self
            .send(repo, &op, || {
                self.http.post(&url).query(&[("mount", digest.as_str()), ("from", from)]).header(CONTENT_LENGTH, 0)
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
        let req =
            self.http.put(url).header(CONTENT_TYPE, "application/octet-stream").header(CONTENT_LENGTH, len).body(body);
        let resp = self.send_once(repo, &op, req).await?;
        self.check(repo, &op, resp, &[StatusCode::CREATED]).await.map(drop)
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
    pub(crate) async fn finish_upload(&self, repo: &Repo, url: &Url, digest: &Digest) -> Result<(), RegistryError> {
        let op = format!("PUT blob {digest}");
        let mut url = url.clone();
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let resp = self.send(repo, &op, || self.http.put(url.clone()).header(CONTENT_LENGTH, 0)).await?;
        self.check(repo, &op, resp, &[StatusCode::CREATED]).await.map(drop)
    }

    /// How many bytes an interrupted upload holds (`Range: 0-<last>`) and where to continue;
    /// `None` when the registry has dropped the session.
    pub(crate) async fn upload_offset(&self, repo: &Repo, url: &Url) -> Result<Option<(u64, Url)>, RegistryError> {
        let op = "GET upload status";
        let resp = self.send(repo, op, || self.http.get(url.clone())).await?;
        if resp.status() != StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let next = self.upload_location(repo, op, &resp)?;
        let offset = header_str(resp.headers(), "range")
            .and_then(|r| r.rsplit_once('-').and_then(|(_, end)| end.parse::<u64>().ok()))
            // "0-0" is what an empty session reports; a one-byte session is indistinguishable,
            // and resuming it from 0 fails cleanly with 416, which restarts the upload.
            .map(|end| if end == 0 { 0 } else { end + 1 });
        Ok(offset.map(|o| (o, next)))
    }

    /// Best-effort cleanup of an abandoned upload session.
    pub(crate) async fn cancel_upload(&self, repo: &Repo, url: &Url) {
        let req = self.http.delete(url.clone());
        if let Err(e) = self.send_once(repo, "DELETE upload", req).await {
            tracing::debug!(registry = %repo.registry, error = %e.chain(), "upload cleanup failed");
        }
    }
}

/// The upload sessions of one copy that are open: opened, and neither closed nor cancelled.
/// A copy that fails or is interrupted cancels them before it returns, rather than leave the
/// bytes already sent on the destination until its purge (a week by default for the
/// reference registry); a transfer dropped mid-flight (the copy was cancelled, or another
/// blob failed) leaves its session here for that.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpenUploads(Arc<Mutex<OpenSessions>>);

#[derive(Debug, Default)]
struct OpenSessions {
    next: u64,
    open: HashMap<u64, (Repo, Url)>,
}

/// How long the sessions left open by a copy that ended may take to cancel, in all.
const CANCEL_WITHIN: Duration = Duration::from_secs(5);

impl OpenUploads {
    fn sessions(&self) -> MutexGuard<'_, OpenSessions> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes a session opened at `url`; returns its key for [`OpenUploads::moved`] and
    /// [`OpenUploads::ended`].
    pub(crate) fn opened(&self, repo: &Repo, url: &Url) -> u64 {
        let mut sessions = self.sessions();
        sessions.next += 1;
        let key = sessions.next;
        sessions.open.insert(key, (repo.clone(), url.clone()));
        key
    }

    /// The session `key` goes on at `url` (each answer may give the next location).
    pub(crate) fn moved(&self, key: u64, url: &Url) {
        if let Some(entry) = self.sessions().open.get_mut(&key) {
            entry.1 = url.clone();
        }
    }

    /// The session `key` is closed (its blob complete) or cancelled.
    pub(crate) fn ended(&self, key: u64) {
        self.sessions().open.remove(&key);
    }

    /// How many sessions are open.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sessions().open.len()
    }

    /// Cancels every session still open, within [`CANCEL_WITHIN`] in all; best effort.
    pub(crate) async fn cancel_all(&self, client: &RegistryClient) {
        let open: Vec<(Repo, Url)> = self.sessions().open.drain().map(|(_, session)| session).collect();
        if open.is_empty() {
            return;
        }
        tracing::debug!(sessions = open.len(), "cancelling the upload sessions the copy left open");
        let all = futures::future::join_all(open.iter().map(|(repo, url)| client.cancel_upload(repo, url)));
        if tokio::time::timeout(CANCEL_WITHIN, all).await.is_err() {
            tracing::debug!("some upload sessions did not cancel in time; the registry purges them");
        }
    }
}
