//! Persistence of the simulator's state (`--state FILE`): loading it at start, and saving
//! it after changes (an answer to a change waits for that), every 30 s while running and once
//! more at shutdown. Every
//! write goes to a temporary file that is renamed over the target, so a crash never
//! leaves a half-written state file. Also the atomic JSON writer other files use.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::context::Sim;
use super::errors::SimError;
use super::store::Store;

/// Reads a state file, or an empty store when it does not exist yet.
pub fn load(path: &Path) -> Result<Store, SimError> {
    // A simulator's registry keeps its images' bytes in the state: a larger bound than inputs.
    match crate::input::read_limited(path, 16 * crate::input::MAX_INPUT) {
        Ok(text) => serde_json::from_slice(&text)
            .map_err(|e| SimError::Parse { path: path.to_path_buf(), detail: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::default()),
        Err(source) => Err(SimError::Read { path: path.to_path_buf(), source }),
    }
}

/// Writes `value` as pretty JSON to `path` through a synced temporary file and a rename.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), SimError> {
    let err = |source| SimError::Write { path: path.to_path_buf(), source };
    let text = serde_json::to_vec_pretty(value).map_err(|e| err(std::io::Error::other(e)))?;
    let tmp = temp_path(path);
    // On disk before it replaces the file: a power cut then leaves the old state or the new
    // one, never an empty file under the name.
    let mut file = std::fs::File::create(&tmp).map_err(err)?;
    std::io::Write::write_all(&mut file, &text).and_then(|()| file.sync_all()).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// Saves `sim`'s store to `path` as soon as it changes, every 30 s, and at shutdown. Changes
/// made while a save runs share the next one. Runs until `shutdown` is cancelled; the final
/// save happens before returning.
pub async fn saver(sim: Arc<Sim>, path: PathBuf, shutdown: CancellationToken) {
    let save = |sim: &Arc<Sim>| {
        // Every change counted here is in the snapshot: a change is counted after it is made.
        let version = sim.version();
        let snapshot = sim.store().clone();
        let path = path.clone();
        let sim = sim.clone();
        async move {
            // Serialising a large store is blocking work; keep it off the runtime.
            let error = match tokio::task::spawn_blocking(move || write_json_atomic(&path, &snapshot)).await {
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
                Ok(Ok(())) => None,
            };
            if let Some(e) = &error {
                tracing::error!("saving simulator state: {e}");
            }
            // Also after a failed write: the answers waiting for it say it failed.
            sim.saved(version, error);
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = sim.changed.notified() => {}
            _ = tick.tick() => {}
        }
        save(&sim).await;
    }
    save(&sim).await;
}
