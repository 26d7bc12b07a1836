//! A live capture with a saved inventory standing in when the source region does not
//! answer — the failover case, where the source region is the one that is down. Any other
//! failure (bad credentials, a 404, a malformed answer) is reported as it is: a saved
//! file must never hide a mistake.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::capture::capture;
use super::error::InventoryError;
use super::file::load;
use super::model::Inventory;
use crate::oci::OciClient;

/// Where a loaded inventory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Live,
    Saved,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Live => "live",
            Origin::Saved => "saved",
        }
    }
}

/// An inventory and where it came from; `reason` says why a saved one was used.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub inventory: Inventory,
    pub origin: Origin,
    pub reason: Option<String>,
}

/// Captures live within `timeout`; when the region does not answer (connection refused,
/// timeout, 5xx after retries) and `saved` is given, loads it instead, after checking
/// that it is an inventory of the same region and compartment.
pub async fn load_or_saved(
    client: &OciClient,
    region: &str,
    compartment: &str,
    timeout: Duration,
    saved: Option<&Path>,
) -> Result<Loaded, InventoryError> {
    let reason = match tokio::time::timeout(timeout, capture(client, region, compartment)).await {
        Ok(Ok(inventory)) => return Ok(Loaded { inventory, origin: Origin::Live, reason: None }),
        Ok(Err(e)) if e.region_unavailable() && saved.is_some() => e.to_string(),
        Ok(Err(e)) => return Err(e),
        Err(_) if saved.is_some() => format!("{region} did not answer within {}", humantime::format_duration(timeout)),
        Err(_) => {
            return Err(InventoryError::Shape {
                what: format!("{compartment} in {region}"),
                detail: format!("no answer within {}", humantime::format_duration(timeout)),
            })
        }
    };
    let path: PathBuf = saved.map(Path::to_path_buf).unwrap_or_default();
    let inventory = load(&path)?;
    let same_region = crate::oci::canonical_region(&inventory.source.region) == crate::oci::canonical_region(region);
    if !same_region || inventory.source.compartment_id != compartment {
        return Err(InventoryError::SavedMismatch {
            path,
            found_region: inventory.source.region,
            found_compartment: inventory.source.compartment_id,
            region: region.to_string(),
            compartment: compartment.to_string(),
        });
    }
    Ok(Loaded { inventory, origin: Origin::Saved, reason: Some(reason) })
}
