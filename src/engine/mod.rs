//! The engine: runs a checked runbook's graph with bounded parallelism, retries, timeouts,
//! failure modes and approvals, checkpointing every step through the journal.
//!
//! It knows actions only through the [`crate::actions::Action`] trait and the filesystem only
//! through [`crate::checkpoint`]; it never prints (progress goes to an [`Observer`]).

mod attempt;
pub mod observer;
mod scheduler;
mod scope;

use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::actions::{ActionRegistry, BoxFuture};
use crate::checkpoint::record::{now_millis, Millis};
use crate::checkpoint::{Actor, InstanceId, Journal, Record, Replay, RunDir, RunState};
use crate::runbook::Runbook;
use crate::ui::redact::Redactor;

pub use attempt::log_file_name;

/// Pids of processes started for the instance with this idempotency key (its commands carry
/// it in their environment): the work of an attempt that may still be going on.
pub fn processes_of(idempotency_key: &str) -> Vec<u32> {
    crate::actions::processes_with_env(&[("DRCTL_IDEMPOTENCY_KEY", idempotency_key)])
}
pub use observer::{Finish, Observer, Silent};
pub use scheduler::{approval_decision, idempotency_key, instance_keys};
pub use scope::RunScope;

/// Asks a person to approve or deny; returns the decision and a reason, or `None` when no
/// answer came (the input closed): the approval then waits for `drctl approve|deny`.
pub trait Approver: Send + Sync {
    fn ask<'a>(
        &'a self,
        id: &'a InstanceId,
        message: &'a str,
        observer: &'a dyn Observer,
    ) -> BoxFuture<'a, Option<(bool, String)>>;
}

/// Everything one segment of a run needs.
pub struct EngineConfig {
    pub runbook: Arc<Runbook>,
    /// Parameter values (an object), secrets included: they live only in memory.
    pub params: Value,
    pub actions: ActionRegistry,
    pub run_dir: RunDir,
    pub journal: Journal,
    pub redactor: Redactor,
    pub observer: Arc<dyn Observer>,
    /// Present when a person can answer approvals on this terminal.
    pub approver: Option<Arc<dyn Approver>>,
    pub parallelism: usize,
    /// `--yes`: approve every approval (drills).
    pub approve_all: bool,
    /// Where commands run: the run's recorded working directory (`None`: drctl's own).
    pub work_dir: Option<std::path::PathBuf>,
    pub drill: bool,
    /// When the run was created (the RTO clock starts there).
    pub created_at: Millis,
    /// First Ctrl-C: start nothing new.
    pub stop: CancellationToken,
    /// Cancelled on abort, pause or the first Ctrl-C: no retry starts after it.
    pub stop_attempts: CancellationToken,
    /// Second Ctrl-C: cancel running attempts.
    pub kill: CancellationToken,
}

/// How a segment ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: RunState,
    pub failed: Vec<InstanceId>,
    pub awaiting: Vec<InstanceId>,
    pub journal_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    #[error("the scheduling loop stopped unexpectedly: {0}")]
    Scheduler(String),
}

/// Drives the run until it succeeds, fails, pauses or is interrupted, writing a segment start
/// and end record around it. `replay` is the journal so far (empty for a new run).
///
/// The segment record is not waited for: the first `start` record a task waits on comes after
/// it in the file, so its sync covers both, and a pure task may run before either is durable.
///
/// The scheduling loop runs as a task of its own on the runtime's workers rather than in the
/// caller's future, which `block_on` polls on the main thread: a job that ends then wakes the
/// loop on the same worker, and the jobs the loop spawns start there too, instead of every
/// step crossing between threads twice.
pub async fn execute(cfg: EngineConfig, replay: Replay, resumed: bool) -> Result<Outcome, EngineError> {
    cfg.journal.append_nowait(&Record::Segment {
        at: now_millis(),
        pid: std::process::id(),
        actor: Actor::current(),
        resumed,
    });
    let journal = cfg.journal.clone();
    let run_dir = cfg.run_dir.clone();
    let outcome = tokio::spawn(async move { scheduler::Scheduler::new(&cfg, &replay).run().await })
        .await
        .map_err(|e| EngineError::Scheduler(e.to_string()))??;
    journal.append(&Record::SegmentEnd { state: outcome.state, at: now_millis() }).wait().await?;
    // A run that ended has no attempt in doubt whose outputs a resume could still read.
    if matches!(outcome.state, RunState::Succeeded | RunState::Failed) {
        run_dir.discard_outputs(None);
    }
    Ok(outcome)
}
