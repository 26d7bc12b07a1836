//! Undoing a copy at its destination: deleting the manifest it wrote, and putting the tag it
//! wrote back as it was (removed, or naming the digest it named before).

use reqwest::StatusCode;

use super::auth::scope;
use super::client::{RegistryClient, Repo};
use super::copy::CopyOptions;
use super::credentials::Credentials;
use super::digest::Digest;
use super::error::RegistryError;
use super::reference::ImageRef;

/// What became of a tag a copy wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagUndo {
    /// It names the digest it named before the copy again.
    Restored,
    /// It was new, and is removed.
    Removed,
    /// Nothing to do: the tag is gone already.
    Gone,
    /// It names another digest than the copy's now: moved since, and not the copy's to undo.
    Moved(String),
    /// The digest it named before is no longer in the repository: it cannot be put back.
    BeforeGone(String),
    /// The registry does not delete a tag alone (the HTTP status it answered).
    Unsupported(u16),
}

/// One repository where copies are undone: one client, so that its token is fetched once for
/// every manifest and tag undone there.
pub struct RepoUndo {
    client: RegistryClient,
    repo: Repo,
}

impl RepoUndo {
    /// For `image`'s repository, with `credentials` for its registry.
    pub fn new(
        image: &ImageRef,
        credentials: Option<Credentials>,
        plain_http: bool,
    ) -> Result<RepoUndo, RegistryError> {
        let creds = credentials.map(|c| (image.registry.clone(), c)).into_iter().collect();
        let client = RegistryClient::new(plain_http, creds, CopyOptions::default().retries)?;
        let repo = Repo {
            registry: image.registry.clone(),
            repository: image.repository.clone(),
            scopes: vec![scope(&image.repository, "*")],
        };
        Ok(RepoUndo { client, repo })
    }

    /// Deletes one manifest, by digest (undoing a copy that wrote it). Returns false when the
    /// registry no longer had it. Tags pointing at it go with it.
    pub async fn delete_image(&self, digest: &Digest) -> Result<bool, RegistryError> {
        self.client.delete_manifest(&self.repo, digest.as_str()).await
    }

    /// Puts `tag` back as it was before a copy wrote it onto `written`: naming `before`
    /// again, or removed when there was none. A tag that names anything but `written` now was
    /// moved since, and is left alone.
    pub async fn undo_tag(&self, tag: &str, written: &str, before: Option<&str>) -> Result<TagUndo, RegistryError> {
        let (client, repo) = (&self.client, &self.repo);
        match client.manifest_digest(repo, tag).await? {
            None => return Ok(TagUndo::Gone),
            Some(now) if now != written => return Ok(TagUndo::Moved(now)),
            Some(_) => {}
        }
        match before {
            Some(before) => {
                // The registry's own bytes of the earlier manifest, put under the tag again: no
                // byte moves but the manifest, and its digest is the one the tag named.
                let held = match client.get_manifest(repo, before).await {
                    Ok(held) => held,
                    Err(RegistryError::Http { status: 404, .. }) => return Ok(TagUndo::BeforeGone(before.to_owned())),
                    Err(e) => return Err(e),
                };
                client.put_manifest(repo, tag, &held).await?;
                Ok(TagUndo::Restored)
            }
            // Deleting a tag alone is in version 1.1 of the distribution specification; a registry
            // without it answers 400 or 405.
            None => match client.delete_manifest(repo, tag).await {
                Ok(true) => Ok(TagUndo::Removed),
                Ok(false) => Ok(TagUndo::Gone),
                Err(RegistryError::Http { status, .. })
                    if status == StatusCode::BAD_REQUEST.as_u16()
                        || status == StatusCode::METHOD_NOT_ALLOWED.as_u16() =>
                {
                    Ok(TagUndo::Unsupported(status))
                }
                Err(e) => Err(e),
            },
        }
    }
}
