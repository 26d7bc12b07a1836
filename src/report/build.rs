//! Builds a [`Report`] from a run directory: its metadata, the runbook kept there, and the
//! journal replayed.
//!
//! It only reads the run directory and never writes to it. The runbook gives each instance its
//! phase and action; when it cannot be loaded (an action this build does not know), the report
//! still shows every time, with phases and actions unknown.

use std::collections::HashSet;

use super::model::{
    ApprovalReport, AttemptReport, AuditLine, Counts, FailureReport, InstanceReport, PhaseReport, Report, RunInfo,
    NO_PHASE,
};
use super::timing;
use super::ReportError;
use crate::actions::ActionRegistry;
use crate::checkpoint::{AuditAction, InstanceId, InstanceRecord, Replay, RunDir, RunState, TaskState};
use crate::runbook::Runbook;

/// Reads the run in `dir` into a report. `actions` is the registry the runbook is checked with.
pub fn build(dir: &RunDir, actions: &ActionRegistry) -> Result<Report, ReportError> {
    let meta = dir.meta()?;
    let replay = dir.replay()?;
    let loaded = dir
        .runbook_text()
        .map_err(|e| e.to_string())
        .and_then(|text| crate::runbook::load(&meta.runbook_path, &text, actions).map_err(|e| e.to_string()));
    let (runbook, runbook_problem) = match loaded {
        Ok(rb) => (Some(rb), None),
        Err(problem) => (None, Some(problem)),
    };
    let state = dir.state(&replay);
    let shape = Shape { runbook: runbook.as_ref(), actions };
    let mut phases = phase_shells(runbook.as_ref());
    let mut counts = Counts::default();
    for id in instance_ids(runbook.as_ref(), &replay) {
        let mut inst = instance(&id, replay.instance(&id), &shape);
        // Without the time no drctl drove the run.
        inst.duration_ms = replay.instance(&id).and_then(|r| replay.active_ms(r));
        if id.key.is_none() && replay.no_items(&id.task) {
            inst.state = "succeeded".to_owned();
            inst.reason = Some("for_each over no items: nothing to run".to_owned());
        }
        counts.add(&inst.state);
        let phase = match phases.iter_mut().position(|p| p.name == inst.phase) {
            Some(n) => n,
            None => {
                phases.push(empty_phase(&inst.phase));
                phases.len() - 1
            }
        };
        phases[phase].instances.push(inst);
    }
    phases.retain(|p| !p.instances.is_empty());
    phases.iter_mut().for_each(close_phase);
    let mut segments = timing::segments(&replay);
    // A run being driven now has lasted until now, not until its last record.
    if state == RunState::Running {
        if let Some(live) = segments.last_mut() {
            live.end = live.end.max(crate::checkpoint::record::now_millis());
        }
    }
    let objective_ms = runbook.as_ref().and_then(|rb| rb.rto).map(|d| d.as_millis() as u64).or(meta.rto_ms);
    let approvals: HashSet<&str> =
        phases.iter().flat_map(|p| &p.instances).filter(|i| i.approval).map(|i| i.task.as_str()).collect();
    let rto = timing::measure(
        &replay,
        &segments,
        &|id| approvals.contains(id.task.as_str()),
        objective_ms,
        state == RunState::Succeeded,
    );
    let failures = phases
        .iter()
        .flat_map(|p| &p.instances)
        .filter(|i| i.state == "failed" || i.state == "cancelled")
        .map(|i| FailureReport {
            task: i.id.clone(),
            phase: i.phase.clone(),
            state: i.state.clone(),
            error: i.error.clone().unwrap_or_else(|| i.state.clone()),
            at: i.end,
            attempts_made: i.attempts,
            attempts: i.attempt_log.iter().filter(|a| a.error.is_some()).cloned().collect(),
        })
        .collect();
    Ok(Report {
        run: RunInfo {
            run_id: meta.run_id.clone(),
            runbook: meta.runbook_name.clone(),
            drill: meta.drill,
            state: state.as_str().to_owned(),
            started_by: format!("{}@{}", meta.actor.user, meta.actor.host),
            created_at: meta.created_at,
            segments,
            counts,
        },
        rto,
        phases,
        approvals: approvals_of(&replay),
        failures,
        audit: replay
            .audit
            .iter()
            .map(|a| AuditLine {
                action: audit_name(a.action).to_owned(),
                task: a.task.as_ref().map(ToString::to_string),
                user: a.actor.user.clone(),
                host: a.actor.host.clone(),
                at: a.at,
                reason: a.reason.clone(),
            })
            .collect(),
        runbook_problem,
    })
}

/// What the runbook says about tasks, when it could be loaded.
struct Shape<'a> {
    runbook: Option<&'a Runbook>,
    actions: &'a ActionRegistry,
}

impl Shape<'_> {
    fn task(&self, id: &str) -> Option<&crate::runbook::checked::Task> {
        let rb = self.runbook?;
        rb.task_index(id).map(|i| &rb.tasks[i])
    }
}

/// Every instance in runbook order (expanded `for_each` keys included); when the runbook could
/// not be loaded, every instance the journal knows. Instances a resume with `--allow-changed`
/// removed are not part of the run as it now stands: they are left out, as the run's own
/// summary leaves them out.
fn instance_ids(runbook: Option<&Runbook>, replay: &Replay) -> Vec<InstanceId> {
    match runbook {
        Some(rb) => replay.listed_instances(rb),
        None => replay.order.clone(),
    }
}

fn phase_shells(runbook: Option<&Runbook>) -> Vec<PhaseReport> {
    let mut phases: Vec<PhaseReport> =
        runbook.map(|rb| rb.phases.iter().map(|p| empty_phase(p)).collect()).unwrap_or_default();
    phases.push(empty_phase(NO_PHASE));
    phases
}

fn empty_phase(name: &str) -> PhaseReport {
    PhaseReport {
        name: name.to_owned(),
        first_start: None,
        last_end: None,
        wall_ms: None,
        counts: Counts::default(),
        instances: Vec::new(),
    }
}

fn close_phase(phase: &mut PhaseReport) {
    // Instances that never started (skipped, cancelled before their turn) end when the engine
    // decides they will not run: that moment is not work of the phase.
    phase.first_start = phase.instances.iter().filter_map(|i| i.start).min();
    phase.last_end = phase.instances.iter().filter(|i| i.start.is_some()).filter_map(|i| i.end).max();
    phase.wall_ms = match (phase.first_start, phase.last_end) {
        (Some(s), Some(e)) => Some(e.saturating_sub(s)),
        _ => None,
    };
    for inst in &phase.instances {
        phase.counts.add(&inst.state);
    }
}

fn instance(id: &InstanceId, rec: Option<&InstanceRecord>, shape: &Shape<'_>) -> InstanceReport {
    let task = shape.task(&id.task);
    let action = task.map_or("?", |t| t.uses.as_str()).to_owned();
    let approval = shape.actions.get(&action).is_some_and(|a| a.is_approval())
        || rec.is_some_and(|r| r.approval_message.is_some());
    let phase = match (shape.runbook, task) {
        (_, Some(t)) => t.phase.clone().unwrap_or_else(|| NO_PHASE.to_owned()),
        (Some(_), None) => "(removed from the runbook)".to_owned(),
        (None, None) => NO_PHASE.to_owned(),
    };
    let state = rec.map_or(TaskState::Pending, |r| r.state);
    let attempt_log: Vec<AttemptReport> = rec
        .map(|r| r.attempt_spans.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| AttemptReport {
            attempt: s.attempt,
            start: s.start,
            end: s.end,
            duration_ms: s.end.map(|e| e.saturating_sub(s.start)),
            class: s.failure.as_ref().map(|f| f.0.clone()),
            error: s.failure.as_ref().map(|f| f.1.clone()),
            cancelled: s.cancelled,
            call_retries: s.call_retries,
            call_retry_last: s.call_retry_last.clone(),
        })
        .collect();
    let attempts = rec.map_or(0, |r| r.attempts);
    let error = match state {
        TaskState::Failed | TaskState::Cancelled => {
            Some(rec.and_then(|r| r.error.clone()).unwrap_or_else(|| state.as_str().to_owned()))
        }
        _ => None,
    };
    // Skipped by an operator after it ran: its work ended with its last attempt, not when
    // the decision was recorded (maybe long after, with `--no-resume`).
    let after_attempts = rec
        .filter(|r| r.state == TaskState::Skipped && !r.engine_skip)
        .and_then(|r| r.attempt_spans.last())
        .and_then(|span| span.end);
    let end = after_attempts.or_else(|| rec.and_then(|r| r.end));
    InstanceReport {
        id: id.to_string(),
        task: id.task.clone(),
        key: id.key.clone(),
        phase,
        action,
        state: state_name(state).to_owned(),
        start: rec.and_then(InstanceRecord::started_at),
        end,
        // Without the time no drctl drove the run: set by the caller, which has the replay.
        duration_ms: None,
        attempts,
        retries: attempts.saturating_sub(1),
        attempt_log,
        error,
        reason: rec.filter(|r| r.state == TaskState::Skipped).and_then(|r| r.reason.clone()),
        checked: rec.is_some_and(|r| r.checked),
        approval,
    }
}

/// Like [`TaskState::as_str`], but an approval still waiting says so.
fn state_name(state: TaskState) -> &'static str {
    match state {
        TaskState::AwaitingApproval => "awaiting approval",
        other => other.as_str(),
    }
}

fn approvals_of(replay: &Replay) -> Vec<ApprovalReport> {
    replay
        .audit
        .iter()
        .filter(|a| matches!(a.action, AuditAction::Approve | AuditAction::Deny))
        .filter_map(|a| {
            let task = a.task.as_ref()?;
            let rec = replay.instance(task);
            Some(ApprovalReport {
                task: task.to_string(),
                message: rec.and_then(|r| r.approval_message.clone()),
                decision: audit_name(a.action).to_owned(),
                user: a.actor.user.clone(),
                host: a.actor.host.clone(),
                at: a.at,
                reason: a.reason.clone(),
                waited_ms: a.waiting_since.map(|since| a.at.saturating_sub(since)),
            })
        })
        .collect()
}

fn audit_name(action: AuditAction) -> &'static str {
    match action {
        AuditAction::Approve => "approve",
        AuditAction::Deny => "deny",
        AuditAction::Skip => "skip",
        AuditAction::Retry => "retry",
        AuditAction::Resume => "resume",
        AuditAction::BreakLock => "break-lock",
        AuditAction::Cleanup => "cleanup",
    }
}
