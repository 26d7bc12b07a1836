//! The image copy itself: plan, move the missing blobs in parallel (bounded by a semaphore),
//! then push manifests children-first with their exact source bytes, so the destination ends
//! up serving the same digest. This is the library entry point the runbook action and the CLI
//! call. It never writes a manifest before every blob it references is in place.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::auth::scope;
use super::blob_transfer::{transfer_blob, BlobJob, BlobOutcome, TransferSettings, UploadMode};
use super::client::{RegistryClient, Repo};
use super::credentials::Credentials;
use super::digest::Digest;
use super::error::RegistryError;
use super::plan::{plan, BlobAction, CopyPlan, PlannedCopy};
use super::reference::ImageRef;
use super::upload_session::OpenUploads;

/// What to copy, from where to where, with which credentials.
#[derive(Debug, Clone)]
pub struct CopyRequest {
    pub source: ImageRef,
    pub destination: ImageRef,
    /// `None` = anonymous (or whatever the caller resolved; see `resolve_credentials`).
    pub source_credentials: Option<Credentials>,
    pub destination_credentials: Option<Credentials>,
    pub options: CopyOptions,
}

/// Tuning knobs; the defaults suit OCIR and local registries alike.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Talk `http://` instead of `https://` to both registries (local test registries).
    pub plain_http: bool,
    /// Registries (`host[:port]`) reached over `http://`, whatever `plain_http` says (see
    /// [`plain_sides`]).
    pub plain_http_hosts: Vec<String>,
    /// Blobs moved at the same time (and manifests / HEADs in flight while planning).
    pub concurrency: usize,
    /// Retries per request and per blob upload after a transient failure.
    pub retries: u32,
    pub upload_mode: UploadMode,
    /// A blob transfer that moves no byte for this long is abandoned and retried.
    pub stall_timeout: Duration,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            plain_http: false,
            plain_http_hosts: Vec::new(),
            concurrency: 6,
            retries: 3,
            upload_mode: UploadMode::Monolithic,
            stall_timeout: Duration::from_secs(60),
        }
    }
}

/// The registries of `source` and `destination` that speak plain HTTP, for
/// [`CopyOptions::plain_http_hosts`]: each side as its own flag says.
pub fn plain_sides(source: (bool, &ImageRef), destination: (bool, &ImageRef)) -> Vec<String> {
    [source, destination].into_iter().filter(|(plain, _)| *plain).map(|(_, image)| image.registry.clone()).collect()
}

/// What a finished copy did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CopyReport {
    pub source: String,
    pub destination: String,
    pub source_digest: Digest,
    /// Digest the destination reports for the pushed reference; equal to `source_digest`.
    pub destination_digest: String,
    pub blobs_copied: usize,
    pub blobs_skipped: usize,
    pub blobs_mounted: usize,
    /// Blob bytes streamed to the destination (manifests not counted).
    pub bytes_moved: u64,
    /// Blob uploads that broke and were resumed or restarted.
    pub upload_retries: u32,
    /// Every manifest of the image, children first (empty when the source was not read).
    pub manifests: Vec<ManifestCopy>,
    /// The destination repository held the top-level manifest (by digest, under any tag) before
    /// the copy; when false, this copy wrote it, and undoing the copy may delete it.
    pub existed: bool,
    /// The copy put the destination tag on its image: the tag was absent, or named another
    /// digest ([`CopyReport::tag_before`]). Undoing the copy puts it back as it was.
    pub tag_written: bool,
    /// The digest the destination tag named before the copy moved it (`None`: no such tag, or
    /// the copy did not write the tag).
    pub tag_before: Option<String>,
    #[serde(with = "millis")]
    pub elapsed: Duration,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ManifestCopy {
    pub digest: Digest,
    pub media_type: String,
    pub platform: Option<String>,
    /// `false` when the destination already had it.
    pub pushed: bool,
}

mod millis {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

struct Session {
    client: Arc<RegistryClient>,
    src: Repo,
    dst: Repo,
    /// The copy's upload sessions that are open.
    open: OpenUploads,
}

fn session(req: &CopyRequest) -> Result<Session, RegistryError> {
    let mut creds = HashMap::new();
    if let Some(c) = &req.source_credentials {
        creds.insert(req.source.registry.clone(), c.clone());
    }
    // On a shared host the destination's credentials must be able to push, so they win.
    if let Some(c) = &req.destination_credentials {
        creds.insert(req.destination.registry.clone(), c.clone());
    }
    let client = RegistryClient::new(req.options.plain_http, creds, req.options.retries)?
        .with_plain_hosts(&req.options.plain_http_hosts);
    let src = Repo {
        registry: req.source.registry.clone(),
        repository: req.source.repository.clone(),
        scopes: vec![scope(&req.source.repository, "pull")],
    };
    let mut dst_scopes = vec![scope(&req.destination.repository, "pull,push")];
    if req.source.same_registry(&req.destination) && req.source.repository != req.destination.repository {
        // One token for both repositories, so a mount can read the source.
        dst_scopes.push(scope(&req.source.repository, "pull"));
    }
    let dst = Repo {
        registry: req.destination.registry.clone(),
        repository: req.destination.repository.clone(),
        scopes: dst_scopes,
    };
    Ok(Session { client: Arc::new(client), src, dst, open: OpenUploads::default() })
}

/// Previews a copy: which manifests and blobs are missing at the destination and how many
/// bytes would move. Reads both registries, writes neither.
pub async fn plan_copy(req: &CopyRequest, cancel: CancellationToken) -> Result<CopyPlan, RegistryError> {
    let s = session(req)?;
    let concurrency = req.options.concurrency.max(1);
    tokio::select! {
        _ = cancel.cancelled() => Err(RegistryError::Cancelled),
        planned = plan(&s.client, &s.src, &s.dst, &req.source, &req.destination, concurrency) => {
            Ok(planned?.plan)
        }
    }
}

/// Copies an image (every platform of an index) so that the destination serves the same
/// manifest bytes under the same digest. Cancelling the token stops in-flight transfers.
pub async fn copy_image(req: CopyRequest, cancel: CancellationToken) -> Result<CopyReport, RegistryError> {
    let s = session(&req)?;
    let copied = tokio::select! {
        _ = cancel.cancelled() => Err(RegistryError::Cancelled),
        report = run_copy(&req, &s) => report,
    };
    // A copy that failed or was cancelled leaves the upload sessions of the blobs still moving
    // open (their transfers were dropped): cancelled here, not left holding what they received.
    if copied.is_err() {
        s.open.cancel_all(&s.client).await;
    }
    copied
}

async fn run_copy(req: &CopyRequest, s: &Session) -> Result<CopyReport, RegistryError> {
    let started = Instant::now();
    if let Some(report) = pinned_and_present(s, req, started).await? {
        return Ok(report);
    }
    let concurrency = req.options.concurrency.max(1);
    let planned = plan(&s.client, &s.src, &s.dst, &req.source, &req.destination, concurrency).await?;
    let moved = move_blobs(s, &planned.plan, &req.options).await?;
    let skipped = planned.plan.blobs.iter().filter(|b| b.action == BlobAction::Skip).count();
    let existed = top_existed(s, &planned).await?;
    let tag_written = req.destination.tag.is_some()
        && planned.destination_digest.as_deref() != Some(planned.plan.source_digest.as_str());
    let tag_before = planned.destination_digest.clone().filter(|_| tag_written);
    let (manifests, destination_digest) = push_manifests(s, &planned).await?;
    Ok(CopyReport {
        source: planned.plan.source,
        destination: planned.plan.destination,
        source_digest: planned.plan.source_digest,
        destination_digest,
        blobs_copied: moved.copied,
        blobs_skipped: skipped,
        blobs_mounted: moved.mounted,
        bytes_moved: moved.bytes,
        upload_retries: moved.retries,
        manifests,
        existed,
        tag_written,
        tag_before,
        elapsed: started.elapsed(),
    })
}

/// A source pinned by digest whose digest the destination already serves needs nothing from
/// the source: this is what lets a failover go on when the source region's registry is down
/// but the image was replicated beforehand. Under the destination tag, nothing is written;
/// under another tag or none, the destination's own manifest bytes (the same digest, with
/// everything they reference already there) are put under the tag.
async fn pinned_and_present(
    s: &Session,
    req: &CopyRequest,
    started: Instant,
) -> Result<Option<CopyReport>, RegistryError> {
    let Some(pinned) = &req.source.digest else { return Ok(None) };
    // A destination named by digest (the same one, or the copy is refused later) needs that
    // digest there, under whatever tag.
    let tag = match (&req.destination.tag, &req.destination.digest) {
        (Some(tag), _) => tag.as_str(),
        (None, Some(d)) if d == pinned => pinned.as_str(),
        _ => return Ok(None),
    };
    let present = s.client.manifest_digest(&s.dst, tag).await?;
    let mut manifests = Vec::new();
    let tag_written = present.as_deref() != Some(pinned.as_str());
    if tag_written {
        if tag == pinned.as_str() {
            return Ok(None);
        }
        // One GET both tells whether the destination holds the digest and gives its bytes.
        let held = match s.client.get_manifest(&s.dst, pinned.as_str()).await {
            Ok(held) => held,
            Err(RegistryError::Http { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        s.client.put_manifest(&s.dst, tag, &held).await?;
        manifests.push(ManifestCopy {
            digest: held.digest.clone(),
            media_type: held.media_type.clone(),
            platform: None,
            pushed: true,
        });
    }
    Ok(Some(CopyReport {
        source: req.source.to_string(),
        destination: req.destination.to_string(),
        source_digest: pinned.clone(),
        destination_digest: pinned.to_string(),
        blobs_copied: 0,
        blobs_skipped: 0,
        blobs_mounted: 0,
        bytes_moved: 0,
        upload_retries: 0,
        manifests,
        existed: true,
        tag_written,
        tag_before: present.filter(|_| tag_written),
        elapsed: started.elapsed(),
    }))
}

/// For a source pinned by digest that the destination already holds (the copy then reads
/// nothing from the source): whether the copy would write the destination tag. `None` when
/// the source is not pinned, or the destination lacks the digest.
pub async fn held_at_destination(req: &CopyRequest, cancel: CancellationToken) -> Result<Option<bool>, RegistryError> {
    let Some(pinned) = &req.source.digest else { return Ok(None) };
    let s = session(req)?;
    let reads = async {
        if s.client.manifest_digest(&s.dst, pinned.as_str()).await?.is_none() {
            return Ok(None);
        }
        match &req.destination.tag {
            Some(tag) => Ok(Some(s.client.manifest_digest(&s.dst, tag).await?.as_deref() != Some(pinned.as_str()))),
            None => Ok(Some(false)),
        }
    };
    tokio::select! {
        _ = cancel.cancelled() => Err(RegistryError::Cancelled),
        held = reads => held,
    }
}

/// What a copy would find: the image's digest and whether the destination already serves it
/// under the destination reference.
#[derive(Debug, Clone)]
pub struct CopyPreview {
    pub digest: Digest,
    pub present: bool,
}

/// Previews a copy with reads only. A source pinned by digest is not read: the destination
/// alone answers, as it does for the copy itself.
pub async fn preview_copy(req: &CopyRequest, cancel: CancellationToken) -> Result<CopyPreview, RegistryError> {
    let s = session(req)?;
    if let (Some(pinned), Some(tag)) = (&req.source.digest, &req.destination.tag) {
        let present = tokio::select! {
            _ = cancel.cancelled() => return Err(RegistryError::Cancelled),
            d = s.client.manifest_digest(&s.dst, tag) => d?,
        };
        return Ok(CopyPreview { digest: pinned.clone(), present: present.as_deref() == Some(pinned.as_str()) });
    }
    let plan = plan_copy(req, cancel).await?;
    let present = plan.manifests.last().is_some_and(|m| m.present);
    Ok(CopyPreview { digest: plan.source_digest, present })
}

/// Whether the destination holds the top-level manifest already: under the destination
/// reference (the plan knows), else under any other tag (one HEAD by digest).
async fn top_existed(s: &Session, planned: &PlannedCopy) -> Result<bool, RegistryError> {
    if planned.plan.manifests.last().is_some_and(|m| m.present) {
        return Ok(true);
    }
    let top = planned.plan.source_digest.as_str();
    Ok(s.client.manifest_digest(&s.dst, top).await?.is_some())
}

/// Tally of the blob phase.
#[derive(Default)]
struct Moved {
    copied: usize,
    mounted: usize,
    bytes: u64,
    retries: u32,
}

/// Runs every mount and copy, at most `concurrency` at a time, each on its own task so
/// hashing spreads over the runtime's threads. The first failure aborts the rest.
async fn move_blobs(s: &Session, plan: &CopyPlan, options: &CopyOptions) -> Result<Moved, RegistryError> {
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for blob in &plan.blobs {
        let mount_from = match &blob.action {
            BlobAction::Copy => None,
            BlobAction::Mount { from } => Some(from.clone()),
            BlobAction::Skip | BlobAction::Foreign => continue,
        };
        let job = BlobJob { digest: blob.digest.clone(), size: blob.size, mount_from };
        let (client, src, dst, open) = (s.client.clone(), s.src.clone(), s.dst.clone(), s.open.clone());
        let permits = permits.clone();
        let settings = TransferSettings {
            mode: options.upload_mode,
            retries: options.retries,
            stall_timeout: options.stall_timeout,
        };
        let tally = crate::call_retries::Tally::current().unwrap_or_default();
        tasks.spawn(tally.scope(async move {
            let _permit = permits.acquire_owned().await;
            transfer_blob(&client, &src, &dst, &job, settings, &open).await
        }));
    }
    let mut moved = Moved::default();
    while let Some(joined) = tasks.join_next().await {
        let outcome = match joined {
            Ok(result) => result?,
            Err(e) => {
                return Err(RegistryError::TaskFailed {
                    registry: s.dst.registry.clone(),
                    repository: s.dst.repository.clone(),
                    reason: e.to_string(),
                })
            }
        };
        match outcome {
            BlobOutcome::Mounted => moved.mounted += 1,
            BlobOutcome::Copied { bytes, retries } => {
                moved.copied += 1;
                moved.bytes += bytes;
                moved.retries += retries;
            }
        }
    }
    Ok(moved)
}

/// Pushes the manifests the destination lacks, children (by digest) before the top-level one
/// (by the destination tag), and returns the destination's digest for the top reference.
async fn push_manifests(s: &Session, planned: &PlannedCopy) -> Result<(Vec<ManifestCopy>, String), RegistryError> {
    let count = planned.bodies.len();
    let mut out = Vec::with_capacity(count);
    for (i, (body, info)) in planned.bodies.iter().zip(&planned.plan.manifests).enumerate() {
        let is_top = i + 1 == count;
        if !info.present {
            let reference = if is_top { planned.plan.destination_reference.as_str() } else { body.digest.as_str() };
            s.client.put_manifest(&s.dst, reference, body).await?;
        }
        out.push(ManifestCopy {
            digest: body.digest.clone(),
            media_type: body.media_type.clone(),
            platform: info.platform.clone(),
            pushed: !info.present,
        });
    }
    let top_present = planned.plan.manifests.last().is_some_and(|m| m.present);
    let destination_digest = match (&planned.destination_digest, top_present) {
        (Some(d), true) => Some(d.clone()),
        // Ask again rather than trust the push: this is the figure a failover relies on.
        _ => s.client.manifest_digest(&s.dst, &planned.plan.destination_reference).await?,
    };
    let destination_digest = destination_digest.ok_or_else(|| RegistryError::DestinationDigest {
        registry: s.dst.registry.clone(),
        repository: s.dst.repository.clone(),
        expected: planned.plan.source_digest.clone(),
        actual: "nothing (manifest not found after push)".to_string(),
    })?;
    Ok((out, destination_digest))
}
