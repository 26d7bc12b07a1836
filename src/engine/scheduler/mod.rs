//! The scheduling loop: decides what runs when, and records every outcome.
//!
//! One loop owns all run state, so no locks are needed: instance jobs run as tokio tasks and
//! report back over a channel. A task becomes ready when all its dependencies are resolved; its
//! condition and `for_each` are evaluated then, against the outputs of finished tasks. Ready
//! instances wait in a queue ordered by the length of the longest chain of tasks after them
//! (the critical path first), and start while the global parallelism and their concurrency
//! group allow.
//!
//! Records the loop writes during one step (outcomes, skips, the `start` records of what it
//! launches) go to the journal as one batch before the step's instance jobs are spawned: one sync
//! then covers a dependency's `done` and its dependents' `start`, and nothing a job writes can
//! overtake the records that precede it.

mod activate;
mod approvals;
mod finish;
mod keys;
mod launch;
mod rto;
mod withheld;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::attempt::{Job, JobOutcome};
use super::scope::RunScope;
use super::{EngineConfig, EngineError, Outcome};
use crate::checkpoint::{Batch, InstanceId, Replay, RunState, TaskState};
use crate::hash::FastMap;
use crate::runbook::checked::TaskIdx;

pub use approvals::approval_decision;
use approvals::Asked;
pub use keys::{idempotency_key, instance_keys};
use withheld::Withheld;

/// What a dependent takes from a task it depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// The order (`depends_on`), and maybe outputs read with a fallback: it runs after the
    /// task, and is skipped if the task failed.
    Order,
    /// The task's state only (`tasks.X.state`): it runs whatever the task's end.
    State,
    /// The task's outputs: it is skipped unless the task succeeded.
    Outputs,
}

/// How a whole task ended, as its dependents see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskEnd {
    Succeeded,
    /// Its condition was false, or an operator skipped it: explicit dependents go on, those
    /// needing its outputs skip.
    SkippedByCondition,
    /// Skipped because something upstream failed or was skipped; dependents skip too.
    SkippedUpstream,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Waiting,
    Queued,
    Running,
    AwaitingApproval,
    Done(TaskState),
}

struct Instance {
    id: InstanceId,
    item: Option<Value>,
    slot: Slot,
    in_doubt: bool,
    orphan: Option<(u32, u64)>,
    prior_attempts: u32,
    /// Attempts and time already used of the retry policy: carried over from an interrupted
    /// segment, nothing for an instance that failed (resuming it starts its attempts afresh).
    used: (u32, Duration),
    outputs: Map<String, Value>,
    started: Option<Instant>,
}

struct TaskRun {
    remaining: usize,
    skip: Option<(TaskEnd, String)>,
    end: Option<TaskEnd>,
    instances: Vec<Instance>,
    pending: usize,
}

struct Event {
    task: TaskIdx,
    inst: usize,
    outcome: Reply,
    /// From an approval asked on the terminal, which held no task slot while it waited.
    asked: bool,
}

/// What ended a job: its outcome, or, for an approval asked on the terminal, no answer (the
/// input closed or the run was interrupted): the approval then waits for an operator.
enum Reply {
    Done(JobOutcome),
    Unanswered(Asked),
}

pub(super) struct Scheduler<'a> {
    cfg: &'a EngineConfig,
    tasks: Vec<TaskRun>,
    dependents: Vec<Vec<(TaskIdx, Link)>>,
    /// Whether an expression of some task reads this task's record (`tasks.X`).
    read: Vec<bool>,
    priority: Vec<u32>,
    records: FastMap<String, Value>,
    /// Secret outputs of tasks that finished in an earlier segment: never stored, so gone in
    /// whole or in part.
    withheld: FastMap<TaskIdx, Vec<Withheld>>,
    queue: BinaryHeap<(u32, Reverse<usize>, TaskIdx, usize)>,
    seq: usize,
    running: usize,
    /// Of the running jobs, approvals waiting for a person on the terminal: they take no slot
    /// of the parallelism or of a concurrency group.
    asking: usize,
    /// Held by the approval whose question is on the terminal.
    prompt: std::sync::Arc<tokio::sync::Mutex<()>>,
    group_running: HashMap<String, usize>,
    total: usize,
    finished: usize,
    /// Of those, the instances the journal showed finished before this segment began.
    recorded: usize,
    stopping: Option<RunState>,
    journal_error: Option<String>,
    failed: Vec<InstanceId>,
    run_value: Value,
    /// Where attempts write scratch files, made absolute once.
    scratch_dir: std::path::PathBuf,
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    replay: &'a Replay,
    rto_warned: u8,
    /// Records of the current step, not yet handed to the journal.
    batch: Batch,
    /// Jobs launched in the current step, spawned once `batch` is sent.
    starting: Vec<(TaskIdx, usize, bool, Job)>,
}

impl<'a> Scheduler<'a> {
    pub(super) fn new(cfg: &'a EngineConfig, replay: &'a Replay) -> Self {
        let runbook = &cfg.runbook;
        let mut dependents = vec![Vec::new(); runbook.tasks.len()];
        let mut read = vec![false; runbook.tasks.len()];
        for (idx, task) in runbook.tasks.iter().enumerate() {
            for dep in &task.deps {
                let link = if dep.needs_outputs {
                    Link::Outputs
                } else if dep.state {
                    Link::State
                } else {
                    // Ordered, and outputs read only with a fallback: that applies when the task
                    // was skipped by its `if`, but a failure still skips what reads it.
                    Link::Order
                };
                dependents[dep.task].push((idx, link));
                read[dep.task] |= dep.reads;
            }
        }
        let tasks = runbook
            .tasks
            .iter()
            .map(|t| TaskRun { remaining: t.deps.len(), skip: None, end: None, instances: Vec::new(), pending: 0 })
            .collect();
        let (tx, rx) = mpsc::unbounded_channel();
        let run_value = json!({
            "id": cfg.run_dir.id,
            "name": runbook.name,
            "drill": cfg.drill,
        });
        Scheduler {
            cfg,
            tasks,
            dependents,
            read,
            priority: crate::graph::bottom_levels(runbook),
            records: FastMap::default(),
            withheld: FastMap::default(),
            queue: BinaryHeap::new(),
            seq: 0,
            running: 0,
            asking: 0,
            prompt: std::sync::Arc::default(),
            group_running: HashMap::new(),
            total: 0,
            finished: 0,
            recorded: 0,
            stopping: None,
            journal_error: None,
            failed: Vec::new(),
            run_value,
            scratch_dir: std::path::absolute(cfg.run_dir.scratch_dir()).unwrap_or_else(|_| cfg.run_dir.scratch_dir()),
            tx,
            rx,
            replay,
            rto_warned: 0,
            batch: Batch::default(),
            starting: Vec::new(),
        }
    }

    pub(super) async fn run(mut self) -> Result<Outcome, EngineError> {
        let roots: Vec<TaskIdx> = (0..self.tasks.len()).filter(|&t| self.tasks[t].remaining == 0).collect();
        self.total = self.cfg.runbook.tasks.len();
        let tasks = self.total;
        for t in roots {
            self.activate(t);
        }
        // In tasks, like the total: every task an earlier segment finished, not only the roots.
        let already = (0..self.tasks.len()).filter(|&t| self.recorded_done(t)).count();
        self.cfg.observer.run_started(&self.cfg.run_dir.id, tasks, already, self.cfg.runbook.rto);
        loop {
            self.launch_ready();
            if self.running == 0 {
                break;
            }
            let next_warning = self.next_rto_warning();
            tokio::select! {
                Some(event) = self.rx.recv() => {
                    self.on_event(event);
                    // Drain what else has arrived before deciding what to launch.
                    while let Ok(event) = self.rx.try_recv() {
                        self.on_event(event);
                    }
                }
                () = self.cfg.stop.cancelled(), if self.stopping.is_none() => {
                    self.stopping = Some(RunState::Interrupted);
                    self.cfg.stop_attempts.cancel();
                    self.cfg.observer.notice("interrupt: starting no new tasks; waiting for running ones (Ctrl-C or another signal again cancels them)");
                }
                () = sleep_until_some(next_warning) => self.check_rto(),
            }
        }
        // Ctrl-C may have ended the last running job (an approval prompt) before the loop saw
        // the stop itself.
        if self.cfg.stop.is_cancelled() && self.stopping.is_none() {
            self.stopping = Some(RunState::Interrupted);
        }
        self.check_rto();
        self.commit();
        Ok(self.outcome())
    }

    fn outcome(&self) -> Outcome {
        let mut awaiting = Vec::new();
        let mut unfinished = 0;
        let mut cancelled = false;
        let mut failed = self.failed.clone();
        for task in &self.tasks {
            for inst in &task.instances {
                cancelled |= matches!(inst.slot, Slot::Done(TaskState::Cancelled));
                match inst.slot {
                    Slot::AwaitingApproval => awaiting.push(inst.id.clone()),
                    Slot::Done(TaskState::Failed | TaskState::Cancelled) if !failed.contains(&inst.id) => {
                        failed.push(inst.id.clone())
                    }
                    Slot::Done(_) => {}
                    _ => unfinished += 1,
                }
            }
            if task.end.is_none() && task.instances.is_empty() {
                unfinished += 1;
            }
        }
        let state = if let Some(e) = &self.journal_error {
            tracing::error!(error = %e, "journal failure ended the run");
            RunState::Failed
        } else if let Some(stop) = self.stopping.filter(|s| {
            // An interrupt that came while the last tasks ran, which all then ended on their
            // own, cut nothing short: the run ends as it would have without it.
            *s != RunState::Interrupted || unfinished > 0 || !awaiting.is_empty() || cancelled
        }) {
            stop
        } else if !awaiting.is_empty() {
            RunState::Paused
        } else if !failed.is_empty() || unfinished > 0 {
            RunState::Failed
        } else {
            RunState::Succeeded
        };
        Outcome { state, failed, awaiting, journal_error: self.journal_error.clone() }
    }

    fn scope<'s>(&'s self, each: Option<&'s Value>) -> RunScope<'s> {
        RunScope { params: &self.cfg.params, run: &self.run_value, each, tasks: &self.records }
    }

    /// Whether a failure that stops the run as `state` decides how it ends: the first stop does,
    /// and an abort outranks a pause that came first (the run ends failed, exit 1, not waiting
    /// for an operator, exit 3). An interrupt stays what it was.
    fn stops_anew(&self, state: RunState) -> bool {
        self.stopping.is_none() || (state, self.stopping) == (RunState::Failed, Some(RunState::Paused))
    }

    /// Whether the journal shows every instance of `t` finished before this segment began.
    fn recorded_done(&self, t: TaskIdx) -> bool {
        let task = &self.cfg.runbook.tasks[t];
        let done = |key: Option<String>| {
            self.replay
                .instance(&InstanceId { task: task.id.clone(), key })
                .is_some_and(|r| r.state == TaskState::Succeeded || (r.state == TaskState::Skipped && !r.engine_skip))
        };
        match (&task.for_each, self.replay.expansions.get(&task.id)) {
            (None, _) => done(None),
            (Some(_), Some(keys)) => keys.iter().all(|k| done(Some(k.clone()))),
            // Its list failed before it had items, and an operator skipped it as a whole.
            (Some(_), None) => done(None),
        }
    }
}

fn fmt(d: Duration) -> String {
    crate::runbook::duration::format_duration(d)
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
