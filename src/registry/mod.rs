//! OCI Distribution API client used to copy container images between registries (for a
//! region failover, from one OCIR region to another) without a Docker daemon.
//!
//! Data flow: [`reference`] parses `host/repo:tag` / `host/repo@sha256:…`; [`plan`] fetches the
//! source manifest tree and asks the destination what it lacks; [`copy`] mounts or streams the
//! missing blobs ([`blob_transfer`], verified by [`digest`]) and pushes manifests byte for byte.
//! [`client`] holds the HTTP calls, [`auth`] the 401 challenge / token flow, [`credentials`]
//! where user names and passwords come from. [`cli`] is the `drctl image copy` front end.
//! Nothing here shells out, and nothing here may log a credential or token.

mod auth;
mod blob_transfer;
pub mod cli;
mod client;
mod copy;
pub mod credentials;
mod digest;
mod error;
mod manifest;
mod plan;
mod reference;
mod undo;
mod upload_session;

pub use blob_transfer::UploadMode;
pub use copy::{
    copy_image, plain_sides, plan_copy, preview_copy, CopyOptions, CopyPreview, CopyReport, CopyRequest, ManifestCopy,
};
pub use credentials::{resolve_credentials, Credentials, DockerConfig, Secret};
pub use digest::Digest;
pub use error::RegistryError;
pub use manifest::{DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2, OCI_INDEX, OCI_MANIFEST};
pub use plan::{BlobAction, CopyPlan, PlannedBlob, PlannedManifest};
pub use reference::ImageRef;
pub use undo::{RepoUndo, TagUndo};
