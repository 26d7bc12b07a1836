//! Replays a journal into the state of every task instance.
//!
//! Replay is how `resume`, `status`, `report` and the operator commands learn what happened.
//! A torn last line (a crash mid-write) is dropped and reported; damage anywhere else stops
//! replay with an error naming the line, because guessing could run a finished task twice.

use crate::hash::FastMap;
use std::collections::hash_map::Entry;
use std::path::Path;

use serde_json::{Map, Value};

use super::record::{decode, Actor, AuditAction, InstanceId, LineError, Millis, Record, RunState};
use super::CheckpointError;

/// State of one task instance as the journal tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Pending,
    /// Started and not finished: running now, or caught mid-flight by a crash ("in doubt").
    Running,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
    AwaitingApproval,
}

impl TaskState {
    /// The name used in status output (an instance awaiting approval is pending).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending | TaskState::AwaitingApproval => "pending",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Skipped => "skipped",
            TaskState::Cancelled => "cancelled",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, TaskState::Succeeded | TaskState::Skipped)
    }
}

#[derive(Debug, Clone)]
pub struct InstanceRecord {
    pub state: TaskState,
    pub attempts: u32,
    pub outputs: Map<String, Value>,
    /// Outputs stored masked (they held a secret): not what the task produced.
    pub masked: Vec<String>,
    pub error: Option<String>,
    pub reason: Option<String>,
    pub first_start: Option<Millis>,
    pub last_start: Option<Millis>,
    pub end: Option<Millis>,
    /// Succeeded because resume's check found the work done.
    pub checked: bool,
    pub approval_message: Option<String>,
    /// A process group the last attempt started, as (pid, start time), until the attempt ends.
    pub orphan: Option<(u32, u64)>,
    /// Skipped by the engine (condition or failed dependency) in an earlier segment.
    pub engine_skip: bool,
    /// When the instance first waited for an approval.
    pub awaiting_since: Option<Millis>,
    /// Each failed attempt: (attempt, class, error).
    pub failures: Vec<(u32, String, String)>,
    /// Every attempt with its start and end, in journal order.
    pub attempt_spans: Vec<AttemptSpan>,
    /// What the current run of attempts has used of the retry policy.
    pub allowance: Allowance,
    /// The instance as it was before its last `start` record, for a `withdrawn` record.
    before_start: Option<BeforeStart>,
}

/// What a `start` record changes, kept so that a `withdrawn` record can undo it.
#[derive(Debug, Clone)]
struct BeforeStart {
    attempt: u32,
    state: TaskState,
    attempts: u32,
    first_start: Option<Millis>,
    last_start: Option<Millis>,
    allowance: Allowance,
}

/// What an instance has used of its retry policy since its attempts last started afresh (its
/// first attempt, a new attempt after it failed, or `drctl retry`). An interruption does not
/// start them afresh: a resumed instance goes on with the attempts and time it has left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowance {
    pub attempts: u32,
    /// Time in attempts, and in the waits between them within one segment (a wait cut off by
    /// an interruption, and the time the run was stopped, do not count).
    pub spent_ms: u64,
    /// The segment and the end of the last failed attempt, while the next may follow it.
    last_failure: Option<(u32, Millis)>,
    /// The start of the attempt in progress.
    running_since: Option<Millis>,
}

impl InstanceRecord {
    /// Ends the attempt still open, if any (the instance finished).
    fn close_attempt(&mut self, at: Millis) {
        if let Some(span) = self.attempt_spans.last_mut().filter(|s| s.end.is_none()) {
            span.end = Some(at);
        }
    }

    /// When the instance began: its first attempt, or, for an approval, when it began to wait.
    pub fn started_at(&self) -> Option<Millis> {
        self.first_start.or(self.awaiting_since)
    }

    /// The pid of the process group its last attempt started, while that process still runs
    /// (the same pid with another start time is another process).
    pub fn live_orphan(&self) -> Option<u32> {
        let (pid, started) = self.orphan?;
        super::record::process_start_time(pid).is_some_and(|s| started == 0 || s == started).then_some(pid)
    }

    /// From [`InstanceRecord::started_at`] to the end, once it has ended.
    pub fn duration_ms(&self) -> Option<u64> {
        Some(self.end?.saturating_sub(self.started_at()?))
    }
}

/// One attempt of an instance, as the journal tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptSpan {
    pub attempt: u32,
    pub start: Millis,
    /// `None` while it runs, or when a crash cut it off.
    pub end: Option<Millis>,
    /// Class and message of a failed attempt.
    pub failure: Option<(String, String)>,
    /// Ended by a second Ctrl-C rather than on its own.
    pub cancelled: bool,
    /// Calls of the attempt its service client retried, and the failure behind the last one.
    pub call_retries: u32,
    pub call_retry_last: Option<String>,
}

/// One process driving the run, from its `segment` record to its `segment_end`.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpan {
    pub start: Millis,
    /// `None` when the segment crashed or still runs.
    pub end: Option<Millis>,
    pub state: Option<RunState>,
    pub actor: Actor,
    pub resumed: bool,
}

impl Default for InstanceRecord {
    fn default() -> Self {
        Self {
            state: TaskState::Pending,
            attempts: 0,
            outputs: Map::new(),
            masked: Vec::new(),
            error: None,
            reason: None,
            first_start: None,
            last_start: None,
            end: None,
            checked: false,
            approval_message: None,
            awaiting_since: None,
            engine_skip: false,
            orphan: None,
            failures: Vec::new(),
            attempt_spans: Vec::new(),
            allowance: Allowance::default(),
            before_start: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub action: AuditAction,
    pub task: Option<InstanceId>,
    pub actor: Actor,
    pub reason: String,
    pub at: Millis,
    /// For a decision on an approval: since when it had waited. Kept with the decision, as a
    /// `retry` later starts the wait afresh.
    pub waiting_since: Option<Millis>,
}

/// Everything the journal says.
#[derive(Debug, Default)]
pub struct Replay {
    pub instances: FastMap<InstanceId, InstanceRecord>,
    /// Order in which instances first appeared, for stable listings.
    pub order: Vec<InstanceId>,
    pub expansions: FastMap<String, Vec<String>>,
    pub audit: Vec<AuditEntry>,
    /// Start of the first segment.
    pub started_at: Option<Millis>,
    /// Time of the last record of the run's work (audit records of operators' actions aside).
    pub last_at: Option<Millis>,
    /// How the last segment ended; `None` if it never wrote an end (it crashed or still runs).
    pub last_end: Option<RunState>,
    /// Pid of the process that drove the last segment.
    pub last_pid: Option<u32>,
    pub segments: u32,
    /// A torn last line was dropped.
    pub torn_tail: bool,
    /// Every segment in order.
    pub segment_spans: Vec<SegmentSpan>,
}

impl Replay {
    pub fn instance(&self, id: &InstanceId) -> Option<&InstanceRecord> {
        self.instances.get(id)
    }

    /// The first record of a `drctl cleanup` of this run (a drill), if one ran: from then on,
    /// what the run created may be removed, and its outputs name nothing.
    pub fn cleaned_up(&self) -> Option<&AuditEntry> {
        self.audit.iter().find(|a| a.action == AuditAction::Cleanup)
    }

    /// How long an instance took, once it has ended: from its start to its end, less the
    /// time no drctl drove the run in between (from a segment's end to the next one's start;
    /// a segment that crashed has no known end, and its gap counts). An approval's wait counts
    /// whole: the run waited for its answer, whether or not a drctl was running meanwhile.
    pub fn active_ms(&self, rec: &InstanceRecord) -> Option<u64> {
        let (start, end) = (rec.started_at()?, rec.end?);
        if rec.approval_message.is_some() {
            return rec.duration_ms();
        }
        let stopped: u64 = self
            .segment_spans
            .windows(2)
            .filter_map(|w| Some((w[0].end?, w[1].start)))
            .map(|(from, to)| to.min(end).saturating_sub(from.max(start)))
            .sum();
        Some(end.saturating_sub(start).saturating_sub(stopped))
    }

    /// Every instance of the runbook, in its order: a `for_each` task's expanded items, or the
    /// task itself while it has not expanded, or when it expanded to no items (it has no
    /// instance, yet it ran).
    pub fn listed_instances(&self, runbook: &crate::runbook::checked::Runbook) -> Vec<InstanceId> {
        let mut out = Vec::with_capacity(runbook.tasks.len());
        for task in &runbook.tasks {
            match self.expansions.get(&task.id) {
                Some(keys) if !keys.is_empty() => {
                    out.extend(keys.iter().map(|k| InstanceId { task: task.id.clone(), key: Some(k.clone()) }))
                }
                _ => out.push(InstanceId { task: task.id.clone(), key: None }),
            }
        }
        out
    }

    /// Whether `task` is a `for_each` that expanded to no items.
    pub fn no_items(&self, task: &str) -> bool {
        self.expansions.get(task).is_some_and(Vec::is_empty)
    }

    /// The record of a `for_each` task as a whole (skipped before it expanded) in a run that
    /// has since expanded it: its instances tell its story now.
    pub fn superseded(&self, runbook: &crate::runbook::checked::Runbook, id: &InstanceId) -> bool {
        id.key.is_none()
            && self.expansions.contains_key(&id.task)
            && runbook.task_index(&id.task).is_some_and(|i| runbook.tasks[i].for_each.is_some())
    }

    /// Whether the runbook (as the run now stands) still has this instance: a resume with
    /// `--allow-changed` may have removed its task, or the item from its `for_each` list.
    pub fn in_runbook(&self, runbook: &crate::runbook::checked::Runbook, id: &InstanceId) -> bool {
        let Some(task) = runbook.task_index(&id.task).map(|i| &runbook.tasks[i]) else { return false };
        match (&task.for_each, &id.key) {
            (None, None) => true,
            (Some(_), Some(key)) => self.expansions.get(&id.task).is_none_or(|keys| keys.contains(key)),
            // A `for_each` task that never expanded (skipped, or its list failed) is recorded
            // as the task itself.
            (Some(_), None) => !self.expansions.contains_key(&id.task),
            (None, Some(_)) => false,
        }
    }

    fn entry(&mut self, id: InstanceId) -> &mut InstanceRecord {
        match self.instances.entry(id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                self.order.push(e.key().clone());
                e.insert(InstanceRecord::default())
            }
        }
    }

    /// Notes the time of a record of the run's work. A record written while no segment runs
    /// (after one ended: an operator's decision recorded with `--no-resume`) is not: the run
    /// did not last until then.
    fn mark(&mut self, at: Millis) {
        if self.last_end.is_none() {
            self.last_at = Some(at);
        }
    }

    /// Applies records appended after the journal was read, as a new replay would.
    pub fn extend(&mut self, records: impl IntoIterator<Item = Record>) {
        for record in records {
            self.apply(record);
        }
    }

    fn apply(&mut self, record: Record) {
        match record {
            Record::Segment { at, pid, actor, resumed } => {
                self.segment_spans.push(SegmentSpan { start: at, end: None, state: None, actor, resumed });
                self.started_at.get_or_insert(at);
                self.last_end = None;
                self.last_pid = Some(pid);
                self.segments += 1;
                self.last_at = Some(at);
            }
            Record::SegmentEnd { state, at } => {
                self.last_end = Some(state);
                if let Some(span) = self.segment_spans.last_mut().filter(|s| s.end.is_none()) {
                    span.end = Some(at);
                    span.state = Some(state);
                }
                self.last_at = Some(at);
            }
            Record::Expand { task, keys, at } => {
                self.expansions.insert(task, keys);
                self.mark(at);
            }
            Record::Start { id, attempt, at } => {
                let segment = self.segments;
                let rec = self.entry(id);
                rec.before_start = Some(BeforeStart {
                    attempt,
                    state: rec.state,
                    attempts: rec.attempts,
                    first_start: rec.first_start,
                    last_start: rec.last_start,
                    allowance: rec.allowance.clone(),
                });
                if rec.state == TaskState::Failed {
                    rec.allowance = Allowance::default();
                }
                let allowance = &mut rec.allowance;
                allowance.attempts += 1;
                if let Some((_, failed_at)) = allowance.last_failure.take().filter(|(s, _)| *s == segment) {
                    allowance.spent_ms += at.saturating_sub(failed_at);
                }
                allowance.running_since = Some(at);
                rec.state = TaskState::Running;
                rec.attempts = rec.attempts.max(attempt);
                rec.first_start.get_or_insert(at);
                rec.last_start = Some(at);
                rec.attempt_spans.push(AttemptSpan {
                    attempt,
                    start: at,
                    end: None,
                    failure: None,
                    cancelled: false,
                    call_retries: 0,
                    call_retry_last: None,
                });
                self.mark(at);
            }
            Record::Withdrawn { id, attempt, at } => {
                let rec = self.entry(id);
                let open = rec.attempt_spans.last().is_some_and(|s| s.attempt == attempt && s.end.is_none());
                if let Some(before) = rec.before_start.take().filter(|b| open && b.attempt == attempt) {
                    rec.attempt_spans.pop();
                    rec.state = before.state;
                    rec.attempts = before.attempts;
                    rec.first_start = before.first_start;
                    rec.last_start = before.last_start;
                    rec.allowance = before.allowance;
                }
                self.mark(at);
            }
            Record::Spawned { id, pid, started } => {
                self.entry(id).orphan = Some((pid, started));
            }
            Record::CallsRetried { id, attempt, retries, last, .. } => {
                if let Some(span) = self.entry(id).attempt_spans.iter_mut().rev().find(|s| s.attempt == attempt) {
                    span.call_retries = retries;
                    span.call_retry_last = Some(last);
                }
            }
            Record::AttemptFailed { id, attempt, class, error, at } => {
                let segment = self.segments;
                let rec = self.entry(id);
                rec.orphan = None;
                if let Some(span) = rec.attempt_spans.iter_mut().rev().find(|s| s.attempt == attempt) {
                    span.end = Some(at);
                    span.failure = Some((class.clone(), error.clone()));
                }
                rec.failures.push((attempt, class, error.clone()));
                rec.error = Some(error);
                if let Some(since) = rec.allowance.running_since.take() {
                    rec.allowance.spent_ms += at.saturating_sub(since);
                }
                rec.allowance.last_failure = Some((segment, at));
                // The attempt is over; the instance is no longer in doubt.
                rec.state = TaskState::Pending;
                self.mark(at);
            }
            Record::Done { id, outputs, at, checked, masked } => {
                let rec = self.entry(id);
                // A check probe ran no attempt: an open one was cut off by a crash.
                if !checked {
                    rec.close_attempt(at);
                }
                rec.orphan = None;
                rec.state = TaskState::Succeeded;
                rec.outputs = outputs;
                rec.masked = masked;
                rec.end = Some(at);
                rec.checked = checked;
                rec.error = None;
                // A skip recorded by an earlier segment no longer explains anything.
                rec.reason = None;
                rec.engine_skip = false;
                self.mark(at);
            }
            Record::Failed { id, error, at } => {
                let rec = self.entry(id);
                rec.close_attempt(at);
                rec.orphan = None;
                rec.state = TaskState::Failed;
                rec.error = Some(error);
                rec.end = Some(at);
                rec.reason = None;
                rec.engine_skip = false;
                self.mark(at);
            }
            Record::Skipped { id, reason, at, by_operator } => {
                let rec = self.entry(id);
                // A failed task that an operator skips keeps the end of its last attempt: the
                // time the decision took is not the task's.
                if rec.state != TaskState::Failed || rec.end.is_none() {
                    rec.end = Some(at);
                }
                rec.state = TaskState::Skipped;
                rec.engine_skip = !by_operator;
                rec.reason = Some(reason);
                // Its failure is history (the attempts keep it); the task no longer fails.
                rec.error = None;
                self.mark(at);
            }
            Record::Cancelled { id, at } => {
                let rec = self.entry(id);
                if let Some(span) = rec.attempt_spans.last_mut().filter(|s| s.end.is_none()) {
                    span.cancelled = true;
                }
                rec.close_attempt(at);
                rec.state = TaskState::Cancelled;
                rec.end = Some(at);
                self.mark(at);
            }
            Record::AwaitingApproval { id, message, at } => {
                let rec = self.entry(id);
                rec.state = TaskState::AwaitingApproval;
                rec.approval_message = Some(message);
                rec.awaiting_since.get_or_insert(at);
                self.mark(at);
            }
            Record::Reset { id, at } => {
                let rec = self.entry(id);
                rec.state = TaskState::Pending;
                rec.allowance = Allowance::default();
                // A retried approval waits afresh (its timeout too).
                rec.awaiting_since = None;
                rec.engine_skip = false;
                rec.error = None;
                // Why it was skipped no longer holds: it waits to be decided again.
                rec.reason = None;
                rec.end = None;
                self.mark(at);
            }
            Record::Audit { action, task, actor, reason, at } => {
                let decides = matches!(action, AuditAction::Approve | AuditAction::Deny);
                let waiting_since = task
                    .as_ref()
                    .filter(|_| decides)
                    .and_then(|t| self.instances.get(t))
                    .and_then(|r| r.awaiting_since);
                // An operator's action is not the run's work: a lock broken, a resume or a
                // cleanup long after a crash does not stretch the run up to it.
                self.audit.push(AuditEntry { action, task, actor, reason, at, waiting_since });
            }
            Record::RtoWarning { at, .. } => self.mark(at),
        }
    }
}

/// Reads and replays the journal at `path`. A missing file is an empty journal.
pub fn replay(path: &Path) -> Result<Replay, CheckpointError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(CheckpointError::io(path, e)),
    };
    replay_bytes(path, &bytes)
}

pub fn replay_bytes(path: &Path, bytes: &[u8]) -> Result<Replay, CheckpointError> {
    let mut replay = Replay::default();
    let lines: Vec<(usize, &[u8])> =
        bytes.split(|b| *b == b'\n').enumerate().filter(|(_, line)| !line.is_empty()).collect();
    let last = lines.len().saturating_sub(1);
    // A record is written with its newline in one write: a last line that has its newline was
    // written whole, and if it does not read, it is damage, not a torn write.
    let ends_whole = bytes.last() == Some(&b'\n');
    for (n, (index, line)) in lines.into_iter().enumerate() {
        match decode(line) {
            Ok(record) => replay.apply(record),
            // A crash mid-write leaves a partial (or zero-filled) last line: that record was never
            // acknowledged, so nothing depended on it.
            Err(_) if n == last && !ends_whole => replay.torn_tail = true,
            Err(LineError::NotARecord) => return Err(corrupt(path, index, NOT_A_RECORD.into())),
            Err(LineError::Checksum) => return Err(corrupt(path, index, CHANGED.into())),
            Err(LineError::Syntax(why)) => return Err(corrupt(path, index, why)),
        }
    }
    Ok(replay)
}

const NOT_A_RECORD: &str = "not a journal record (no checksum before it): text inserted, or the file damaged";
const CHANGED: &str = "the record does not match its checksum: it was changed after it was written";

/// The damage at line `index` (from 0) of the journal at `path`.
fn corrupt(path: &Path, index: usize, why: String) -> CheckpointError {
    CheckpointError::Corrupt { path: path.to_owned(), line: index + 1, why }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::record::encode;

    fn id(task: &str) -> InstanceId {
        InstanceId { task: task.into(), key: None }
    }

    fn journal(records: &[Record]) -> Replay {
        let mut bytes = Vec::new();
        for r in records {
            encode(r, &mut bytes);
        }
        replay_bytes(Path::new("journal.log"), &bytes).unwrap()
    }

    #[test]
    fn the_retry_allowance_goes_on_across_an_interruption_and_restarts_after_a_failure() {
        let actor = Actor { user: "u".into(), host: "h".into() };
        let segment = |at| Record::Segment { at, pid: 1, actor: actor.clone(), resumed: at > 0 };
        let failed = |attempt, at| Record::AttemptFailed {
            id: id("a"),
            attempt,
            class: "exit".into(),
            error: "exit 1".into(),
            at,
        };
        let mut records = vec![
            segment(0),
            Record::Start { id: id("a"), attempt: 1, at: 100 },
            failed(1, 200),
            Record::Start { id: id("a"), attempt: 2, at: 500 },
            failed(2, 600),
            // Interrupted while waiting for attempt 3; resumed much later.
            Record::SegmentEnd { state: RunState::Interrupted, at: 700 },
            segment(60_000),
            Record::Start { id: id("a"), attempt: 3, at: 60_100 },
            failed(3, 60_150),
        ];
        let replay = journal(&records);
        let allowance = replay.instance(&id("a")).unwrap().allowance.clone();
        // Attempts 100 + 100 + 50 ms, the wait between 1 and 2; not the stop.
        assert_eq!((allowance.attempts, allowance.spent_ms), (3, 550));
        records.push(Record::Failed { id: id("a"), error: "exit 1".into(), at: 60_150 });
        let replay = journal(&records);
        // From 100 to 60,150, less the 59,300 ms no drctl ran.
        assert_eq!(replay.active_ms(replay.instance(&id("a")).unwrap()), Some(750));
        assert_eq!(replay.instance(&id("a")).unwrap().duration_ms(), Some(60_050));
        records.push(Record::Start { id: id("a"), attempt: 4, at: 90_000 });
        let allowance = journal(&records).instance(&id("a")).unwrap().allowance.clone();
        assert_eq!((allowance.attempts, allowance.spent_ms), (1, 0), "after a failure it starts afresh");
        records.push(failed(4, 90_010));
        records.push(Record::Reset { id: id("a"), at: 90_020 });
        let allowance = journal(&records).instance(&id("a")).unwrap().allowance.clone();
        assert_eq!((allowance.attempts, allowance.spent_ms), (0, 0), "`drctl retry` starts afresh");
    }

    #[test]
    fn a_withdrawn_attempt_leaves_the_instance_as_it_was() {
        let actor = Actor { user: "u".into(), host: "h".into() };
        let withdrawn = |attempt, at| Record::Withdrawn { id: id("a"), attempt, at };
        let mut records = vec![
            Record::Segment { at: 0, pid: 1, actor: actor.clone(), resumed: false },
            Record::Start { id: id("a"), attempt: 1, at: 100 },
            withdrawn(1, 101),
        ];
        let replay = journal(&records);
        let a = replay.instance(&id("a")).unwrap();
        assert_eq!((a.state, a.attempts, a.first_start, a.attempt_spans.len()), (TaskState::Pending, 0, None, 0));
        assert_eq!(a.allowance, Allowance::default());
        // In doubt after a crash; its next attempt is withdrawn: still in doubt, one attempt.
        records.extend([
            Record::Start { id: id("a"), attempt: 1, at: 200 },
            Record::Segment { at: 5_000, pid: 2, actor, resumed: true },
            Record::Start { id: id("a"), attempt: 2, at: 5_100 },
            withdrawn(2, 5_101),
        ]);
        let replay = journal(&records);
        let a = replay.instance(&id("a")).unwrap();
        assert_eq!((a.state, a.attempts, a.first_start, a.last_start), (TaskState::Running, 1, Some(200), Some(200)));
        assert_eq!(a.attempt_spans.len(), 1);
        // A `withdrawn` that names another attempt changes nothing.
        records.push(withdrawn(7, 5_200));
        let again = journal(&records);
        assert_eq!(again.instance(&id("a")).unwrap().attempts, 1);
    }

    #[test]
    fn attempts_and_segments_keep_their_times() {
        let actor = Actor { user: "u".into(), host: "h".into() };
        let r = journal(&[
            Record::Segment { at: 100, pid: 1, actor: actor.clone(), resumed: false },
            Record::Start { id: id("a"), attempt: 1, at: 110 },
            Record::AttemptFailed { id: id("a"), attempt: 1, class: "network".into(), error: "boom".into(), at: 150 },
            Record::Start { id: id("a"), attempt: 2, at: 200 },
            Record::CallsRetried { id: id("a"), attempt: 2, retries: 3, last: "429".into(), at: 259 },
            Record::Done { id: id("a"), outputs: Map::new(), at: 260, checked: false, masked: vec![] },
            Record::SegmentEnd { state: RunState::Succeeded, at: 270 },
        ]);
        let a = r.instance(&id("a")).unwrap();
        assert_eq!(
            a.attempt_spans,
            vec![
                AttemptSpan {
                    attempt: 1,
                    start: 110,
                    end: Some(150),
                    failure: Some(("network".into(), "boom".into())),
                    cancelled: false,
                    call_retries: 0,
                    call_retry_last: None,
                },
                AttemptSpan {
                    attempt: 2,
                    start: 200,
                    end: Some(260),
                    failure: None,
                    cancelled: false,
                    call_retries: 3,
                    call_retry_last: Some("429".into()),
                },
            ]
        );
        assert_eq!(a.duration_ms(), Some(150));
        assert_eq!(
            r.segment_spans,
            vec![SegmentSpan { start: 100, end: Some(270), state: Some(RunState::Succeeded), actor, resumed: false }]
        );
    }

    #[test]
    fn an_approval_lasts_from_its_wait_to_the_decision() {
        let r = journal(&[
            Record::AwaitingApproval { id: id("gate"), message: "go?".into(), at: 1_000 },
            Record::Done { id: id("gate"), outputs: Map::new(), at: 4_500, checked: false, masked: vec![] },
        ]);
        assert_eq!(r.instance(&id("gate")).unwrap().duration_ms(), Some(3_500));
    }

    #[test]
    fn a_retried_approval_waits_afresh() {
        let r = journal(&[
            Record::AwaitingApproval { id: id("gate"), message: "go?".into(), at: 1_000 },
            Record::Failed { id: id("gate"), error: "denied".into(), at: 2_000 },
            Record::Reset { id: id("gate"), at: 3_000 },
        ]);
        assert_eq!(r.instance(&id("gate")).unwrap().awaiting_since, None);
    }
}
