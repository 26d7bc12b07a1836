//! Errors of reading, writing, capturing and loading inventories, each naming the file,
//! item or request it concerns.

use std::path::PathBuf;

use crate::oci::ClientError;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid inventory: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("{at}: unresolved reference {reference} ({available})")]
    Reference { at: String, reference: String, available: String },
    #[error("capturing {what}: {source}")]
    Capture { what: String, source: ClientError },
    #[error("capturing {what}: {detail}")]
    Shape { what: String, detail: String },
    #[error("the saved inventory {path} is of {found_region} / {found_compartment}, not of {region} / {compartment}")]
    SavedMismatch {
        path: PathBuf,
        found_region: String,
        found_compartment: String,
        region: String,
        compartment: String,
    },
}

impl InventoryError {
    /// Whether the failure means the region did not answer (connection refused or timed out,
    /// or 5xx after the client's retries), the case a saved inventory stands in for.
    pub fn region_unavailable(&self) -> bool {
        match self {
            InventoryError::Capture { source, .. } => match source {
                ClientError::Transport { .. } => true,
                ClientError::Api(api) => api.status >= 500,
                _ => false,
            },
            _ => false,
        }
    }
}
