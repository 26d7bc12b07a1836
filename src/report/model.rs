//! The report model: what happened in one run, with every time and count a renderer shows.
//!
//! It is plain data built once from the run directory ([`super::build`]); renderers read it and
//! never look at the journal themselves. Text in it comes from the journal, where secrets are
//! already masked; the model must never add parameter values or task outputs.

use serde::Serialize;

use crate::checkpoint::record::Millis;

/// A drill or recovery report for one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run: RunInfo,
    pub rto: RtoMeasure,
    /// Phases in runbook order; tasks without a phase come last, under [`NO_PHASE`].
    pub phases: Vec<PhaseReport>,
    pub approvals: Vec<ApprovalReport>,
    /// Instances that failed or were cancelled, with their errors.
    pub failures: Vec<FailureReport>,
    /// Every operator decision (approvals, denials, skips, retries, resumes, broken locks).
    pub audit: Vec<AuditLine>,
    /// Set when the runbook kept in the run directory could not be loaded: phases and actions are
    /// then unknown, the times are not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook_problem: Option<String>,
}

/// The phase name used for tasks that declare none.
pub const NO_PHASE: &str = "(no phase)";

#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub runbook: String,
    pub drill: bool,
    /// `succeeded`, `failed`, `paused`, `interrupted` or `running`.
    pub state: String,
    /// Who started the run, as `user@host`.
    pub started_by: String,
    pub created_at: Millis,
    pub segments: Vec<SegmentReport>,
    pub counts: Counts,
}

/// One process driving the run.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentReport {
    pub start: Millis,
    /// When it ended; for a segment that crashed, its last record.
    pub end: Millis,
    /// How it ended; `None` when it crashed or still runs.
    pub state: Option<String>,
    pub by: String,
    pub resumed: bool,
}

/// Instances by state.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    pub cancelled: usize,
    /// Not finished: pending, running or awaiting approval.
    pub unfinished: usize,
}

/// The measured recovery time and how it splits.
///
/// `wall_ms` is the measured RTO: from the start of the first segment to the end of the last
/// one, every pause included, as an outage would feel it. `operator_wait_ms` is the part of it
/// spent waiting for people: the gaps between segments (a paused or stopped run waits for
/// someone to resume it) plus the time inside segments when an approval was waiting and no
/// attempt was running. `excluding_operator_waits_ms` is the difference: what the run would
/// have taken with instant decisions.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RtoMeasure {
    pub objective_ms: Option<u64>,
    pub started_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub wall_ms: u64,
    pub between_segments_ms: u64,
    pub approval_wait_ms: u64,
    pub operator_wait_ms: u64,
    pub excluding_operator_waits_ms: u64,
    /// Whether `wall_ms` is over the objective; `None` without an objective.
    pub exceeded: Option<bool>,
    /// False while the run has not succeeded: the figure is then the time spent so far.
    pub finished: bool,
}

impl RtoMeasure {
    /// Whether the objective was met: the run succeeded within it. A run that failed, paused
    /// or was interrupted has not recovered, however little time it took. `None` without an
    /// objective.
    pub fn met(&self) -> Option<bool> {
        self.exceeded.map(|exceeded| self.finished && !exceeded)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub name: String,
    pub first_start: Option<Millis>,
    pub last_end: Option<Millis>,
    /// From the phase's first start to its last end.
    pub wall_ms: Option<u64>,
    pub counts: Counts,
    pub instances: Vec<InstanceReport>,
}

/// One task instance.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    /// `task` or `task[key]`.
    pub id: String,
    pub task: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub phase: String,
    /// The `uses` of the task (`?` when the runbook could not be loaded).
    pub action: String,
    pub state: String,
    /// First attempt, or when an approval began to wait.
    pub start: Option<Millis>,
    pub end: Option<Millis>,
    pub duration_ms: Option<u64>,
    pub attempts: u32,
    pub retries: u32,
    pub attempt_log: Vec<AttemptReport>,
    /// Why it failed (the last error) or was cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Resume's check found the work already done.
    pub checked: bool,
    pub approval: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttemptReport {
    pub attempt: u32,
    pub start: Millis,
    /// `None` when a crash cut the attempt off.
    pub end: Option<Millis>,
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Ended by a second Ctrl-C rather than on its own.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
    /// Calls of the attempt that its service client retried (throttling, 5xx, connection
    /// errors), and the failure behind the last retry.
    #[serde(skip_serializing_if = "is_zero")]
    pub call_retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_retry_last: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A decision on an approval.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalReport {
    pub task: String,
    pub message: Option<String>,
    /// `approve` or `deny`.
    pub decision: String,
    pub user: String,
    pub host: String,
    pub at: Millis,
    pub reason: String,
    /// From the start of the wait to the decision.
    pub waited_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailureReport {
    pub task: String,
    pub phase: String,
    pub state: String,
    pub error: String,
    pub at: Option<Millis>,
    /// How many attempts it made, those cancelled or cut short by a crash included.
    pub attempts_made: u32,
    /// Every failed attempt before the end: (attempt, class, error).
    pub attempts: Vec<AttemptReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditLine {
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    pub user: String,
    pub host: String,
    pub at: Millis,
    pub reason: String,
}

impl Report {
    /// Every instance, phase by phase.
    pub fn instances(&self) -> impl Iterator<Item = &InstanceReport> {
        self.phases.iter().flat_map(|p| p.instances.iter())
    }
}

impl Counts {
    pub fn add(&mut self, state: &str) {
        self.total += 1;
        match state {
            "succeeded" => self.succeeded += 1,
            "failed" => self.failed += 1,
            "skipped" => self.skipped += 1,
            "cancelled" => self.cancelled += 1,
            _ => self.unfinished += 1,
        }
    }
}
