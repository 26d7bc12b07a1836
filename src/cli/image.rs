//! `drctl image copy SRC DST`: copies an image between registries (see `crate::registry`).

use clap::Subcommand;

use super::{CliError, Exit};
use crate::registry::cli::{run_image_copy, ImageCopyArgs};

#[derive(Subcommand)]
pub enum ImageCommand {
    /// Copy an image (every platform) between registries, by digest, verifying every blob.
    Copy(ImageCopyArgs),
}

// The arguments may hold credentials, so they are never printed.
impl std::fmt::Debug for ImageCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImageCommand::Copy(..)")
    }
}

pub async fn image(command: ImageCommand, quiet: bool) -> Result<Exit, CliError> {
    let ImageCommand::Copy(args) = command;
    match run_image_copy(args, quiet).await {
        Ok(()) => Ok(Exit::Success),
        // Interrupted, not failed (exit 130), as a run is.
        Err(crate::registry::RegistryError::Cancelled) => {
            crate::errln!("interrupted: image copy cancelled; the same command copies only what is missing");
            Ok(Exit::Interrupted)
        }
        Err(e) => Err(image_error(e)),
    }
}

fn image_error(e: crate::registry::RegistryError) -> CliError {
    let message = e.describe();
    match e {
        crate::registry::RegistryError::InvalidReference { .. }
        | crate::registry::RegistryError::DigestConflict { .. }
        | crate::registry::RegistryError::Credentials { .. } => CliError::usage(message),
        _ => CliError::failed(message),
    }
}
