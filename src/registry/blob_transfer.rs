//! Moves one blob from the source to the destination: a cross-repository mount when the
//! registry allows it, else a streamed copy (source GET body → destination upload body) that
//! is hashed on the way and resumed or restarted when the connection breaks. A blob is never
//! held in memory, and a blob whose bytes do not match its digest never completes an upload.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Body, Url};

use super::client::{backoff, RegistryClient, Repo};
use super::digest::{Digest, VerifyFailure, VerifyingStream};
use super::error::RegistryError;
use super::upload_session::{Mount, OpenUploads};

/// How a blob's bytes are sent to the destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum UploadMode {
    /// `POST` to open a session, then one `PUT ?digest=` whose body is the whole streamed blob.
    /// One round trip fewer than chunked, and the fastest on every registry measured.
    #[default]
    Monolithic,
    /// `POST`, one streamed `PATCH` with the whole blob, then an empty `PUT ?digest=`.
    /// For registries that reject bodies on the closing `PUT`.
    Chunked,
}

/// How each blob transfer behaves; the same for every blob of a copy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransferSettings {
    pub mode: UploadMode,
    /// Attempts after the first when an upload breaks.
    pub retries: u32,
    /// No byte moved for this long = stalled, abandon the attempt.
    pub stall_timeout: Duration,
}

/// What happened to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlobOutcome {
    Mounted,
    /// `retries`: interrupted attempts before the one that completed.
    Copied {
        bytes: u64,
        retries: u32,
    },
}

/// One blob to bring to the destination.
#[derive(Debug, Clone)]
pub(crate) struct BlobJob {
    pub digest: Digest,
    pub size: u64,
    /// Repository on the destination's registry that already has the blob.
    pub mount_from: Option<String>,
}

/// Mounts or copies one blob, retrying transient failures up to `retries` times. The upload
/// session is noted in `open` while it is open, so that the copy can cancel it should this
/// transfer be dropped before it ends.
pub(crate) async fn transfer_blob(
    client: &RegistryClient,
    src: &Repo,
    dst: &Repo,
    job: &BlobJob,
    settings: TransferSettings,
    open: &OpenUploads,
) -> Result<BlobOutcome, RegistryError> {
    let retries = settings.retries;
    let mut url = match &job.mount_from {
        Some(from) => match client.mount(dst, &job.digest, from).await? {
            Mount::Mounted => return Ok(BlobOutcome::Mounted),
            Mount::Upload(url) => url,
        },
        None => client.start_upload(dst).await?,
    };
    let mut session = open.opened(dst, &url);
    let mut offset = 0;
    let mut attempt = 0;
    loop {
        let err = match send_blob(client, src, dst, job, &url, offset, settings).await {
            Ok(()) => {
                open.ended(session);
                return Ok(BlobOutcome::Copied { bytes: job.size, retries: attempt });
            }
            Err(e) => e,
        };
        if !err.is_transient() || attempt >= retries {
            client.cancel_upload(dst, &url).await;
            open.ended(session);
            if attempt == 0 && !err.is_transient() {
                return Err(err);
            }
            // The last attempt's error says which side failed: the source or the destination.
            return Err(RegistryError::UploadFailed {
                registry: dst.registry.clone(),
                repository: dst.repository.clone(),
                digest: job.digest.clone(),
                attempts: attempt + 1,
                last: Box::new(err),
            });
        }
        tracing::warn!(digest = %job.digest, attempt, error = %err.chain(), "blob upload interrupted; retrying");
        backoff(attempt).await;
        attempt += 1;
        // Continue where the destination stopped if it kept the session; many registries drop
        // or invalidate a session whose request broke, and then the upload starts over.
        match client.upload_offset(dst, &url).await {
            Ok(Some((held, next))) if held > 0 && held <= job.size => {
                tracing::warn!(digest = %job.digest, offset = held, "resuming blob upload");
                offset = held;
                url = next;
                open.moved(session, &url);
            }
            // Nothing kept ("0-0" also reads as one byte held, so the session is not reused), or
            // no session any more: a new one.
            _ => {
                tracing::warn!(digest = %job.digest, "the destination kept none of the blob; starting over");
                client.cancel_upload(dst, &url).await;
                open.ended(session);
                url = client.start_upload(dst).await?;
                session = open.opened(dst, &url);
                offset = 0;
            }
        }
    }
}

/// Resolves once `progress` has not moved for a whole `window`: the source stopped sending,
/// or the destination stopped reading (and so stopped us reading), or it never answered.
async fn stalled(progress: &AtomicU64, window: Duration) {
    let mut last = progress.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(window).await;
        let now = progress.load(Ordering::Relaxed);
        if now == last {
            return;
        }
        last = now;
    }
}

/// One attempt: stream the source blob from the start, hash it all, send the part past `offset`.
async fn send_blob(
    client: &RegistryClient,
    src: &Repo,
    dst: &Repo,
    job: &BlobJob,
    url: &Url,
    offset: u64,
    settings: TransferSettings,
) -> Result<(), RegistryError> {
    let stall_timeout = settings.stall_timeout;
    if offset == job.size && offset > 0 {
        return client.finish_upload(dst, url, &job.digest).await;
    }
    let resp = client.get_blob(src, &job.digest).await?;
    let (stream, verdict) = VerifyingStream::new(Box::pin(resp.bytes_stream()), job.digest.clone(), job.size, offset);
    let progress = stream.progress();
    let body = Body::wrap_stream(stream);
    let upload = async {
        if offset == 0 && settings.mode == UploadMode::Monolithic {
            client.put_upload(dst, url, &job.digest, body, job.size).await
        } else {
            let next = client.patch_upload(dst, url, body, offset, job.size - offset).await?;
            client.finish_upload(dst, &next, &job.digest).await
        }
    };
    let result = tokio::select! {
        result = upload => result,
        () = stalled(&progress, stall_timeout) => Err(RegistryError::Stalled {
            registry: dst.registry.clone(),
            repository: dst.repository.clone(),
            digest: job.digest.clone(),
            seconds: stall_timeout.as_secs(),
        }),
    };
    // A failed request may be our own doing: the verifier aborts the body on bad content.
    let failure = verdict.lock().ok().and_then(|mut v| v.take());
    match (result, failure) {
        (_, Some(VerifyFailure::Digest { actual })) => Err(RegistryError::DigestMismatch {
            registry: src.registry.clone(),
            repository: src.repository.clone(),
            expected: job.digest.clone(),
            actual,
        }),
        (_, Some(VerifyFailure::Size { actual })) => Err(RegistryError::SizeMismatch {
            registry: src.registry.clone(),
            repository: src.repository.clone(),
            digest: job.digest.clone(),
            expected: job.size,
            actual,
        }),
        (_, Some(VerifyFailure::Source { received, reason })) => Err(RegistryError::SourceBroken {
            registry: src.registry.clone(),
            repository: src.repository.clone(),
            digest: job.digest.clone(),
            received,
            expected: job.size,
            reason,
        }),
        (result, None) => result,
    }
}

#[cfg(test)]
#[path = "blob_transfer_tests.rs"]
mod tests;
