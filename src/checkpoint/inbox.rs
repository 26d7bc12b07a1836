//! Decisions handed to the process driving a run.
//!
//! Only the lock holder writes a run's journal. An approval that waits with a timeout keeps
//! its run going, so `drctl approve` or `deny` from another shell cannot take the lock: it
//! leaves the decision as a file in the run's `inbox/`, written whole and renamed into place,
//! and the driving process picks it up, journals it and removes it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::{Actor, InstanceId};
use super::CheckpointError;

/// An operator's decision on a waiting approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub approved: bool,
    pub actor: Actor,
    pub reason: String,
}

fn file(run_dir: &Path, id: &InstanceId) -> PathBuf {
    let name: String =
        id.to_string().chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    run_dir.join("inbox").join(format!("{name}.json"))
}

/// Leaves `decision` on `id` for the process driving the run in `run_dir`.
pub fn post(run_dir: &Path, id: &InstanceId, decision: &Decision) -> Result<(), CheckpointError> {
    let path = file(run_dir, id);
    let dir = run_dir.join("inbox");
    std::fs::create_dir_all(&dir).map_err(|e| CheckpointError::io(&dir, e))?;
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec(decision).map_err(|e| CheckpointError::Write(e.to_string()))?;
    std::fs::write(&tmp, bytes).map_err(|e| CheckpointError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| CheckpointError::io(&path, e))
}

/// Takes the decision left on `id`, if there is one. A file that does not parse is removed and
/// reported, so that a bad write cannot block the approval.
pub fn take(run_dir: &Path, id: &InstanceId) -> Option<Result<Decision, String>> {
    let path = file(run_dir, id);
    let bytes = std::fs::read(&path).ok()?;
    let _ = std::fs::remove_file(&path);
    Some(serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posted_decision_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let id = InstanceId { task: "gate".into(), key: Some("us east".into()) };
        assert_eq!(take(dir.path(), &id), None);
        let decision =
            Decision { approved: true, actor: Actor { user: "ana".into(), host: "h".into() }, reason: "ok".into() };
        post(dir.path(), &id, &decision).unwrap();
        assert_eq!(take(dir.path(), &id), Some(Ok(decision)));
        assert_eq!(take(dir.path(), &id), None);
        std::fs::write(file(dir.path(), &id), "{").unwrap();
        assert!(matches!(take(dir.path(), &id), Some(Err(_))));
    }
}
