//! Works out what a copy has to do: fetches the source manifest tree (an index and all its
//! children, every platform), and asks the destination which manifests and blobs it already
//! holds. The result is a [`CopyPlan`], shown as a dry-run preview and executed by
//! [`super::copy`]. Planning only reads; it never writes to either registry.

use std::collections::HashSet;

use futures_util::{stream, StreamExt, TryStreamExt};

use super::client::{RegistryClient, Repo};
use super::digest::Digest;
use super::error::RegistryError;
use super::manifest::{self, Contents, Descriptor, FetchedManifest, ParseError};
use super::reference::ImageRef;

/// Everything a copy would do, for previews and for the copy itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CopyPlan {
    pub source: String,
    pub destination: String,
    /// Digest of the top-level manifest (the index for multi-platform images).
    pub source_digest: Digest,
    /// Tag or digest the top-level manifest will be pushed under.
    pub destination_reference: String,
    /// Children before parents; the top-level manifest is last.
    pub manifests: Vec<PlannedManifest>,
    /// Every distinct blob referenced, in manifest order.
    pub blobs: Vec<PlannedBlob>,
    /// Bytes that would be streamed (blobs with [`BlobAction::Copy`]).
    pub bytes_to_copy: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedManifest {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// `os/arch[/variant]` for children of an index.
    pub platform: Option<String>,
    /// Already at the destination under the reference it would be pushed with.
    pub present: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedBlob {
    pub digest: Digest,
    pub size: u64,
    #[serde(flatten)]
    pub action: BlobAction,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BlobAction {
    /// The destination already has it.
    Skip,
    /// Same registry: link it from the source repository without moving bytes.
    Mount { from: String },
    /// Stream it from the source.
    Copy,
    /// A foreign (non-distributable) layer: referenced by URL, never uploaded.
    Foreign,
}

/// The plan plus the manifest bytes fetched while making it, so the copy pushes exactly
/// what was planned without fetching twice.
pub(crate) struct PlannedCopy {
    pub plan: CopyPlan,
    pub bodies: Vec<FetchedManifest>,
    /// Digest the destination reported for the top-level reference before the copy.
    pub destination_digest: Option<String>,
}

/// Manifests in push order with the platform label their parent gave them.
struct ManifestTree {
    manifests: Vec<(FetchedManifest, Option<String>, Contents)>,
}

pub(crate) fn repo_error(repo: &Repo, digest: &Digest, e: ParseError) -> RegistryError {
    match e {
        ParseError::Malformed(reason) => RegistryError::MalformedManifest {
            registry: repo.registry.clone(),
            repository: repo.repository.clone(),
            digest: digest.clone(),
            reason,
        },
        ParseError::Unsupported(media_type) => RegistryError::UnsupportedMediaType {
            registry: repo.registry.clone(),
            repository: repo.repository.clone(),
            digest: digest.clone(),
            media_type,
        },
    }
}

/// Fetches the top manifest and, level by level, every child of every index.
async fn fetch_tree(
    client: &RegistryClient,
    src: &Repo,
    reference: &str,
    concurrency: usize,
) -> Result<ManifestTree, RegistryError> {
    let top = client.get_manifest(src, reference).await?;
    let mut levels: Vec<Vec<(FetchedManifest, Option<String>, Contents)>> = Vec::new();
    let mut current = vec![(top, None)];
    let mut seen = HashSet::new();
    while !current.is_empty() {
        let mut level = Vec::new();
        let mut next = Vec::new();
        for (mut fetched, platform) in current {
            let (media_type, contents) = manifest::parse(Some(&fetched.media_type), &fetched.bytes)
                .map_err(|e| repo_error(src, &fetched.digest, e))?;
            fetched.media_type = media_type;
            if let Contents::Index { manifests } = &contents {
                for child in manifests {
                    if seen.insert(child.digest.clone()) {
                        next.push(child.clone());
                    }
                }
            }
            level.push((fetched, platform, contents));
        }
        levels.push(level);
        current = stream::iter(next)
            .map(|child: Descriptor| async move {
                let fetched = client.get_manifest(src, child.digest.as_str()).await?;
                Ok::<_, RegistryError>((fetched, child.platform.as_ref().map(|p| p.label())))
            })
            .buffered(concurrency)
            .try_collect()
            .await?;
    }
    // Deepest level first, so every manifest is pushed after everything it references.
    let manifests = levels.into_iter().rev().flatten().collect();
    Ok(ManifestTree { manifests })
}

/// Builds the plan. `mount_from` is the source repository when both images live on the same
/// registry under different repositories.
pub(crate) async fn plan(
    client: &RegistryClient,
    src: &Repo,
    dst: &Repo,
    source: &ImageRef,
    destination: &ImageRef,
    concurrency: usize,
) -> Result<PlannedCopy, RegistryError> {
    let tree = fetch_tree(client, src, source.reference(), concurrency).await?;
    let top_digest = match tree.manifests.last() {
        Some((m, _, _)) => m.digest.clone(),
        None => unreachable_empty(src)?,
    };
    let destination_reference = match (&destination.tag, &destination.digest) {
        (Some(t), _) => t.clone(),
        (None, Some(d)) if *d == top_digest => d.to_string(),
        (None, Some(d)) => {
            return Err(RegistryError::DigestConflict {
                destination: destination.to_string(),
                named: d.to_string(),
                source_digest: top_digest.to_string(),
            })
        }
        (None, None) => top_digest.to_string(),
    };
    let destination_digest = client.manifest_digest(dst, &destination_reference).await?;
    let top_present = destination_digest.as_deref() == Some(top_digest.as_str());

    // Which manifests are already there. A registry accepts a manifest only once everything
    // it references is present, so a present manifest's blobs need no HEAD of their own.
    let count = tree.manifests.len();
    let present: Vec<bool> = stream::iter(tree.manifests.iter().enumerate())
        .map(|(i, (m, _, _))| async move {
            if top_present {
                Ok(true)
            } else if i + 1 == count {
                Ok(false)
            } else {
                Ok::<_, RegistryError>(client.manifest_digest(dst, m.digest.as_str()).await?.is_some())
            }
        })
        .buffered(concurrency.max(8))
        .try_collect()
        .await?;

    let mut blobs: Vec<(Descriptor, bool)> = Vec::new();
    let mut seen = HashSet::new();
    for ((_, _, contents), here) in tree.manifests.iter().zip(&present) {
        if let Contents::Image { blobs: refs } = contents {
            for b in refs {
                if seen.insert(b.digest.clone()) {
                    blobs.push((b.clone(), *here));
                }
            }
        }
    }
    let mount_from = (source.same_registry(destination) && source.repository != destination.repository)
        .then(|| source.repository.clone());
    let blobs: Vec<PlannedBlob> = stream::iter(blobs)
        .map(|(desc, known)| {
            let mount_from = mount_from.clone();
            async move {
                let action = if desc.is_foreign() {
                    BlobAction::Foreign
                } else if known || client.blob_exists(dst, &desc.digest).await? {
                    BlobAction::Skip
                } else if let Some(from) = mount_from {
                    BlobAction::Mount { from }
                } else {
                    BlobAction::Copy
                };
                Ok::<_, RegistryError>(PlannedBlob { digest: desc.digest, size: desc.size, action })
            }
        })
        .buffered(concurrency.max(8))
        .try_collect()
        .await?;

    let bytes_to_copy = blobs.iter().filter(|b| b.action == BlobAction::Copy).map(|b| b.size).sum();
    let manifests = tree
        .manifests
        .iter()
        .zip(&present)
        .map(|((m, platform, _), here)| PlannedManifest {
            digest: m.digest.clone(),
            media_type: m.media_type.clone(),
            size: m.bytes.len() as u64,
            platform: platform.clone(),
            present: *here,
        })
        .collect();
    let bodies = tree.manifests.into_iter().map(|(m, _, _)| m).collect();
    Ok(PlannedCopy {
        plan: CopyPlan {
            source: source.to_string(),
            destination: destination.to_string(),
            source_digest: top_digest,
            destination_reference,
            manifests,
            blobs,
            bytes_to_copy,
        },
        bodies,
        destination_digest,
    })
}

/// `fetch_tree` always yields the top manifest; this keeps the impossible case an error
/// rather than a panic.
fn unreachable_empty(src: &Repo) -> Result<Digest, RegistryError> {
    Err(RegistryError::Http {
        registry: src.registry.clone(),
        repository: src.repository.clone(),
        operation: "GET manifest".into(),
        status: 200,
        detail: Some("no manifest returned".into()),
    })
}
