//! `drctl cleanup` of a drill: removes exactly what the drill created, through the same
//! converge actions with `ensure: absent` (and only resources tagged with the drill's run id),
//! in reverse dependency order, so a game day leaves the destination region as it found it.
//!
//! [`plan`] decides what to undo from the run directory alone; [`execute`] carries it out;
//! this module ties them to the run directory: it refuses runs that are not drills, holds the
//! run lock while it works, and records every result in `cleanup.json` and the audit log
//! through the checkpoint layer. It never touches anything the plan does not list.

mod execute;
mod plan;
mod unfinished;

use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

pub use execute::{tally, ItemResult, Outcome};
pub use plan::{plan, CleanupPlan, RunFacts, Undo, UndoKind};

use crate::actions::{ActionRegistry, TaskLog};
use crate::checkpoint::record::{now_millis, Millis};
use crate::checkpoint::{Actor, AuditAction, Journal, Record, RunDir, RunLock, RunState};

/// File in the run directory holding the results of the last cleanup.
pub const RESULTS_FILE: &str = "cleanup.json";

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("run {run_id} is not a drill; cleanup only removes what a drill (`drctl run --drill`) created")]
    NotADrill { run_id: String },
    #[error("the runbook kept with run {run_id} cannot be loaded: {reason}")]
    Runbook { run_id: String, reason: String },
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    #[error("cannot record the cleanup of run {run_id}: {reason}")]
    Record { run_id: String, reason: String },
}

/// A planned cleanup, holding the run's lock until it is dropped.
pub struct Prepared {
    pub plan: CleanupPlan,
    /// How the drill stands (`paused`, `failed`, ...) when it could still be continued: it did
    /// not succeed, and no cleanup has started on it yet.
    pub continuable: Option<&'static str>,
    dir: RunDir,
    actions: ActionRegistry,
    _lock: RunLock,
}

/// What a cleanup did, as written to `cleanup.json`.
#[derive(Debug, Clone, Serialize)]
pub struct CleanupReport {
    pub run_id: String,
    pub by: Actor,
    pub started_at: Millis,
    pub ended_at: Millis,
    pub results: Vec<ItemResult>,
}

impl CleanupReport {
    /// Whether anything could not be removed (failed, or blocked by a failure).
    pub fn failed(&self) -> bool {
        self.results.iter().any(|r| matches!(r.outcome, Outcome::Failed | Outcome::Blocked))
    }
}

/// Locks the run (breaking a stale lock if `break_lock`, whose owner is returned to be
/// recorded) and plans its cleanup. Refuses runs that are not drills.
pub fn prepare(
    dir: &RunDir,
    actions: ActionRegistry,
    break_lock: bool,
) -> Result<(Prepared, Option<crate::checkpoint::LockOwner>), CleanupError> {
    let meta = dir.meta()?;
    if !meta.drill {
        return Err(CleanupError::NotADrill { run_id: meta.run_id });
    }
    let (lock, broken) = RunLock::acquire(&dir.path, break_lock)?;
    let text = dir.runbook_text()?;
    let runbook = crate::runbook::load(&meta.runbook_path, &text, &actions)
        .map_err(|e| CleanupError::Runbook { run_id: meta.run_id.clone(), reason: e.to_string() })?;
    let replay = dir.replay()?;
    // Secret values were never stored: they read as masked.
    let mut params = meta.params.clone();
    for name in &meta.secret_params {
        params.entry(name.clone()).or_insert_with(|| crate::ui::redact::MASK.into());
    }
    let plan = plan::plan(&RunFacts {
        run_id: &meta.run_id,
        runbook: &runbook,
        replay: &replay,
        actions: &actions,
        params: &params,
    });
    let continuable = (replay.cleaned_up().is_none() && replay.last_end != Some(RunState::Succeeded))
        .then(|| replay.last_end.map_or("unfinished", RunState::as_str));
    Ok((Prepared { plan, continuable, dir: dir.clone(), actions, _lock: lock }, broken))
}

impl Prepared {
    /// Carries out the plan with at most `parallelism` removals at once, then records the
    /// results in `cleanup.json` and, one entry per item, in the audit log.
    /// Registry credentials come from `docker_config` (see [`crate::actions::oci::OciSettings`]).
    pub async fn execute(
        self,
        parallelism: usize,
        cancel: CancellationToken,
        docker_config: Option<std::path::PathBuf>,
    ) -> Result<CleanupReport, CleanupError> {
        let run_id = self.plan.run_id.clone();
        let recording = |e: crate::checkpoint::CheckpointError| CleanupError::Record {
            run_id: run_id.clone(),
            reason: e.to_string(),
        };
        let journal = self.dir.open_journal().map_err(recording)?;
        let started_at = now_millis();
        // On record before anything is removed: from here on the drill cannot be continued
        // (`resume` and the operator commands refuse it), even if this cleanup is cut short.
        journal.append_nowait(&Record::Audit {
            action: AuditAction::Cleanup,
            task: None,
            actor: Actor::current(),
            reason: format!("started: {} to undo", self.plan.items.len()),
            at: started_at,
        });
        journal.flush().wait().await.map_err(recording)?;
        let by = Actor::current();
        // Each item goes on record as soon as it is done (synced within the journal's linger,
        // or with the next sync): a cleanup cut short, run again, leaves what this one removed
        // (an image a later failover copied is not deleted).
        let (record_journal, actor) = (journal.clone(), by.clone());
        let record = move |item: &plan::Undo, r: &execute::ItemResult| {
            let mut reason =
                format!("{} {}", r.outcome.as_str(), if r.resource.is_empty() { &r.action } else { &r.resource });
            if !r.detail.is_empty() {
                reason.push_str(&format!(": {}", r.detail));
            }
            record_journal.append_nowait(&Record::Audit {
                action: AuditAction::Cleanup,
                task: Some(item.id.clone()),
                actor: actor.clone(),
                reason,
                at: r.at,
            });
        };
        let executor = execute::Executor {
            actions: self.actions.clone(),
            parallelism,
            scratch_dir: self.dir.scratch_dir(),
            log: Arc::new(CleanupLog { journal: journal.clone() }),
            cancel,
            docker_config,
            record: Box::new(record),
        };
        let results = executor.run(&self.plan).await;
        let report = CleanupReport { run_id: run_id.clone(), by, started_at, ended_at: now_millis(), results };
        journal.flush().wait().await.map_err(recording)?;
        let json = serde_json::to_vec_pretty(&report)
            .map_err(|e| CleanupError::Record { run_id: run_id.clone(), reason: e.to_string() })?;
        self.dir.write_file(RESULTS_FILE, &json).map_err(recording)?;
        Ok(report)
    }
}

/// The cleanup's log, `logs/cleanup.log` in the run directory.
struct CleanupLog {
    journal: Journal,
}

impl TaskLog for CleanupLog {
    fn line(&self, line: &str) {
        self.journal.log("cleanup.log", format!("{line}\n"));
    }
}
