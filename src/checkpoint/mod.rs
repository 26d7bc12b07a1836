//! Checkpoints: the run directory, its append-only journal, replay and the run lock.
//!
//! This module owns every write to a run directory; nothing else writes files there. A task
//! counts as done only once its record is on disk, so a crash at any point loses no finished
//! work and `drctl resume` never runs a succeeded task again.

mod journal;
mod lock;
pub mod record;
mod replay;
mod rundir;
mod trace_log;

use std::path::{Path, PathBuf};

pub use journal::{Ack, Batch, Journal};
pub use lock::{LockOwner, RunLock};
pub use record::{Actor, AuditAction, InstanceId, Record, RunState};
pub use replay::{replay, replay_bytes, AttemptSpan, AuditEntry, InstanceRecord, Replay, SegmentSpan, TaskState};
pub use rundir::{check_state_dir, new_run_id, outputs_file, OciTarget, RunDir, RunMeta};
pub use trace_log::{flush_trace_log, open_trace_log, TraceLogWriter};

/// Errors of the checkpoint layer.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("journal write failed: {0}")]
    Write(String),
    #[error("{path}, line {line}: journal record is damaged ({why})")]
    Corrupt { path: PathBuf, line: usize, why: String },
    #[error("run in {dir} is being driven by pid {pid} on {host}")]
    Locked { dir: PathBuf, pid: u32, host: String },
    #[error("run in {dir} has a stale lock: pid {pid} on {host} is no longer running")]
    StaleLock { dir: PathBuf, pid: u32, host: String },
    #[error("run in {dir} is locked by pid {pid} on {host}, which cannot be checked from this host")]
    LockElsewhere { dir: PathBuf, pid: u32, host: String },
    #[error("run in {dir} is being locked by another drctl at this moment")]
    LockBeingTaken { dir: PathBuf },
    #[error("run in {dir} has a lock file that names no process (it was emptied or damaged outside drctl)")]
    DamagedLock { dir: PathBuf },
    #[error("no run `{id}` in {state_dir}")]
    NoSuchRun { id: String, state_dir: PathBuf },
    #[error("`{id}` matches {} runs in {state_dir}: {}", matches.len(), matches.join(", "))]
    AmbiguousRun { id: String, state_dir: PathBuf, matches: Vec<String> },
    #[error("{path}: {why}")]
    BadMeta { path: PathBuf, why: String },
    #[error("{path} is missing: what the run did is unknown")]
    JournalMissing { path: PathBuf },
    #[error("cannot keep runs in {dir}: {why}")]
    StateDir { dir: PathBuf, why: String },
}

impl CheckpointError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        CheckpointError::Io { path: path.to_owned(), source }
    }

    /// What the operator can do about it.
    pub fn help(&self) -> Option<String> {
        match self {
            CheckpointError::LockElsewhere { host, .. } => Some(format!(
                "if no drctl on {host} drives this run any more (the host is down or lost), add --break-lock \
                 (it is recorded in the audit log)"
            )),
            CheckpointError::StaleLock { .. } | CheckpointError::DamagedLock { .. } => {
                Some("if no other drctl drives this run, add --break-lock (it is recorded in the audit log)".into())
            }
            CheckpointError::Locked { .. } => Some("wait for that process, or stop it first".into()),
            CheckpointError::LockBeingTaken { .. } => {
                Some("another drctl is starting to drive this run: see `drctl status`, or try again in a moment".into())
            }
            CheckpointError::NoSuchRun { .. } => {
                Some("`drctl runs` lists the runs; pass --state-dir if they live elsewhere".into())
            }
            CheckpointError::AmbiguousRun { .. } => Some("give more of the run id".into()),
            CheckpointError::StateDir { .. } => Some(
                "--state-dir (or DRCTL_STATE_DIR) must name a directory drctl can write, or one it can create".into(),
            ),
            CheckpointError::Corrupt { .. } => {
                Some("the journal was changed or damaged outside drctl; keep a copy before editing it".into())
            }
            CheckpointError::JournalMissing { .. } => Some(
                "the journal, the record of every step the run took, was removed outside drctl: restore it from a \
                 backup; without it a resume would do finished work again, so it is refused (start a new run)"
                    .into(),
            ),
            CheckpointError::BadMeta { .. } => Some(
                "meta.json, written once when the run started, was changed or damaged outside drctl: restore it \
                 from a backup, or start a new run (the run's journal.log still says what it did)"
                    .into(),
            ),
            CheckpointError::Io { path, .. } if path.file_name().is_some_and(|n| n == "runbook.yaml") => Some(
                "the run's own copy of its runbook is gone: restore it (meta.json gives its sha256), or start a new \
                 run"
                .into(),
            ),
            CheckpointError::Io { path, .. } if path.file_name().is_some_and(|n| n == "meta.json") => Some(
                "the run's meta.json is gone: restore it from a backup, or start a new run (the run's journal.log \
                 still says what it did)"
                    .into(),
            ),
            CheckpointError::Io { source, .. }
                if source.raw_os_error() == Some(libc::EROFS)
                    || source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                Some(
                    "drctl records every step of a run in the run's directory and cannot go on without writing \
                     there: make the state directory writable (or --state-dir a copy that is), then run the same \
                     command again; what the run recorded so far is kept"
                        .into(),
                )
            }
            CheckpointError::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC) => Some(
                "the disk that holds the state directory is full: free space, then run the same command again; \
                 what the run recorded so far is kept"
                    .into(),
            ),
            _ => None,
        }
    }
}
