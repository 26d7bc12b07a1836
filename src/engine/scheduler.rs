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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::attempt::{FirstStart, Job, JobOutcome};
use super::observer::Finish;
use super::scope::RunScope;
use super::{EngineConfig, EngineError, Outcome};
use crate::checkpoint::record::{now_millis, Millis};
use crate::checkpoint::{Actor, AuditAction, Batch, InstanceId, Record, Replay, RunState, TaskState};
use crate::hash::FastMap;
use crate::runbook::checked::{ForEach, TaskIdx};
use crate::runbook::duration::parse_duration;
use crate::runbook::expr::{truthy, type_name};
use crate::runbook::model::OnFailure;

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

/// An approval's inputs, read once.
#[derive(Clone)]
struct Asked {
    /// The message may quote a secret parameter; it is journaled and shown, so masked.
    message: String,
    timeout: Option<Duration>,
    approve_on_timeout: bool,
}

impl Asked {
    fn read(with: &Value, redactor: &crate::ui::redact::Redactor) -> Self {
        let message = with.get("message").and_then(Value::as_str).unwrap_or("approve to continue");
        Asked {
            message: redactor.mask(message).into_owned(),
            timeout: with.get("timeout").and_then(Value::as_str).and_then(|t| parse_duration(t).ok()),
            approve_on_timeout: with.get("on_timeout").and_then(Value::as_str) == Some("approve"),
        }
    }
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

    /// All dependencies of `t` are resolved: decide whether it runs, and queue its instances.
    fn activate(&mut self, t: TaskIdx) {
        let cfg = self.cfg;
        let task = &cfg.runbook.tasks[t];
        // A task an earlier segment finished keeps its record whatever happened upstream since:
        // one that succeeded is not run or skipped again, and an operator's skip (the work was
        // done by hand) stands, so that what only comes after it goes on.
        let decided = self.recorded_done(t);
        if let Some((end, reason)) = self.tasks[t].skip.clone().filter(|_| !decided) {
            self.skip_task(t, end, &reason);
            return;
        }
        // A task reading a secret output lost with the interruption cannot be evaluated again
        // (the value would read as null); one that had already finished keeps its record.
        let kept = match self.reads_withheld(t) {
            Some(_) if decided => true,
            Some(error) => {
                self.fail_unstarted(t, error);
                return;
            }
            None => false,
        };
        if let Some(condition) = task.condition.as_ref().filter(|_| !decided) {
            let value = {
                let scope = self.scope(None);
                condition.render(&scope)
            };
            match value {
                Ok(v) if !truthy(&v) => {
                    self.skip_task(t, TaskEnd::SkippedByCondition, "condition is false");
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    self.fail_unstarted(t, format!("`if` could not be evaluated: {e}"));
                    return;
                }
            }
        }
        let items: Vec<(Option<String>, Option<Value>)> = match &task.for_each {
            None => vec![(None, None)],
            Some(_) if kept => {
                let keys = self.replay.expansions.get(&task.id).cloned().unwrap_or_default();
                keys.into_iter().map(|k| (Some(k), None)).collect()
            }
            Some(for_each) => {
                let list = match for_each {
                    ForEach::List(items) => Ok(Value::Array(items.clone())),
                    ForEach::Expr(template) => {
                        let scope = self.scope(None);
                        template.render(&scope).map_err(|e| e.to_string())
                    }
                };
                match list {
                    Ok(Value::Array(items)) => {
                        let keys = instance_keys(&items, &self.cfg.redactor);
                        if let Some(before) = self.replay.expansions.get(&task.id).filter(|b| **b != keys) {
                            // An item a changed list dropped will neither run again nor be
                            // checked: caught mid-flight, it ends cancelled.
                            for key in before.iter().filter(|k| !keys.contains(k)) {
                                let id = InstanceId { task: task.id.clone(), key: Some(key.clone()) };
                                if self.replay.instance(&id).is_some_and(|r| r.state == TaskState::Running) {
                                    cfg.observer.notice(&format!(
                                        "{id}: in doubt, and no longer an item of `{}`: cancelled",
                                        task.id
                                    ));
                                    self.batch.push(&Record::Cancelled { id, at: now_millis() });
                                }
                            }
                        }
                        if self.replay.expansions.get(&task.id) != Some(&keys) {
                            self.batch.push(&Record::Expand {
                                task: task.id.clone(),
                                keys: keys.clone(),
                                at: now_millis(),
                            });
                        }
                        keys.into_iter().map(Some).zip(items.into_iter().map(Some)).collect()
                    }
                    Ok(other) => {
                        self.fail_unstarted(t, format!("for_each must give a list, got {}", type_name(&other)));
                        return;
                    }
                    Err(e) => {
                        self.fail_unstarted(t, format!("for_each could not be evaluated: {e}"));
                        return;
                    }
                }
            }
        };
        if task.for_each.is_some() {
            self.total = self.total - 1 + items.len();
            cfg.observer.total_changed(self.total);
        }
        if items.is_empty() {
            self.complete_task(t);
            return;
        }
        let is_approval = cfg.actions.get(&task.uses).is_some_and(|a| a.is_approval());
        let mut instances = Vec::with_capacity(items.len());
        for (key, item) in items {
            let id = InstanceId { task: task.id.clone(), key };
            let prior = self.replay.instance(&id);
            let mut slot = Slot::Waiting;
            let mut in_doubt = false;
            if let Some(rec) = prior {
                match rec.state {
                    TaskState::Succeeded => slot = Slot::Done(rec.state),
                    TaskState::Skipped if !rec.engine_skip => slot = Slot::Done(rec.state),
                    // A denial stands until an operator retries the approval, and stops the
                    // run as it did when it was made: nothing new starts under `abort`.
                    TaskState::Failed if is_approval => {
                        slot = Slot::Done(rec.state);
                        let stop = match task.on_failure {
                            OnFailure::Abort => Some((RunState::Failed, "aborting (no new tasks start)")),
                            OnFailure::Pause => Some((RunState::Paused, "pausing the run")),
                            OnFailure::Continue => None,
                        };
                        if let (Some((state, what)), None) = (stop, self.stopping) {
                            let flags = cfg.run_dir.resume_flags();
                            let retry = crate::ui::operator_command("retry", &cfg.run_dir.id, &id.to_string(), &flags);
                            cfg.observer.notice(&format!("{id} was denied; {what}; to ask again: {retry}"));
                            self.stopping = Some(state);
                            cfg.stop_attempts.cancel();
                        }
                    }
                    // Caught mid-flight by a crash, or cancelled mid-attempt by a second
                    // Ctrl-C: its work may be done or half done, so resume waits for its
                    // processes and runs its check before running it again.
                    TaskState::Running | TaskState::Cancelled => in_doubt = true,
                    _ => {}
                }
            }
            let key = id.key.clone();
            instances.push(Instance {
                id,
                item,
                slot,
                in_doubt,
                orphan: prior.and_then(|r| r.orphan),
                prior_attempts: prior.map_or(0, |r| r.attempts),
                used: prior.filter(|r| r.state != TaskState::Failed).map_or((0, Duration::ZERO), |r| {
                    (r.allowance.attempts, Duration::from_millis(r.allowance.spent_ms))
                }),
                // Secret outputs, and outputs that held a secret, were never stored (the journal
                // holds `***` in their place): they are left out, so that a task reading one
                // fails naming it instead of getting the mask.
                outputs: prior
                    .map(|r| {
                        let mut outputs = r.outputs.clone();
                        outputs.retain(|name, value| {
                            let secret = task.secret_outputs.contains(name) || r.masked.contains(name);
                            if !secret {
                                return true;
                            }
                            // A map or a list keeps its texts that were never secret.
                            let kept = matches!(value, Value::Array(_) | Value::Object(_)).then(|| value.clone());
                            let partial = kept.is_some();
                            self.withheld.entry(t).or_default().push(Withheld {
                                key: key.clone(),
                                name: name.clone(),
                                kept,
                            });
                            partial
                        });
                        for value in outputs.values() {
                            self.cfg.redactor.add_public(value);
                        }
                        outputs
                    })
                    .unwrap_or_default(),
                started: None,
            });
        }
        let pending = instances.iter().filter(|i| !matches!(i.slot, Slot::Done(_))).count();
        self.finished += instances.len() - pending;
        self.recorded += instances.len() - pending;
        self.tasks[t].instances = instances;
        self.tasks[t].pending = pending;
        if pending == 0 {
            self.complete_task(t);
            return;
        }
        for i in 0..self.tasks[t].instances.len() {
            if self.tasks[t].instances[i].slot == Slot::Waiting {
                self.tasks[t].instances[i].slot = Slot::Queued;
                self.seq += 1;
                self.queue.push((self.priority[t], Reverse(self.seq), t, i));
            }
        }
    }

    fn scope<'s>(&'s self, each: Option<&'s Value>) -> RunScope<'s> {
        RunScope { params: &self.cfg.params, run: &self.run_value, each, tasks: &self.records }
    }

    /// Starts queued instances while capacity allows.
    fn launch_ready(&mut self) {
        let mut deferred = Vec::new();
        while self.stopping.is_none()
            && self.journal_error.is_none()
            && self.running - self.asking < self.cfg.parallelism
        {
            let Some((prio, seq, t, i)) = self.queue.pop() else { break };
            let task = &self.cfg.runbook.tasks[t];
            if let Some(group) = &task.concurrency {
                let limit = self.cfg.runbook.concurrency.get(group).copied().unwrap_or(usize::MAX);
                let used = self.group_running.get(group).copied().unwrap_or(0);
                if used >= limit {
                    deferred.push((prio, seq, t, i));
                    continue;
                }
                *self.group_running.entry(group.clone()).or_default() += 1;
            }
            let running = self.running;
            self.launch(t, i);
            if self.running == running {
                // Nothing was started (the instance ended at once, or waits for an approval):
                // the group's slot, which only a running job gives back, is free again.
                if let Some(n) = task.concurrency.as_ref().and_then(|g| self.group_running.get_mut(g)) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        self.queue.extend(deferred);
        self.commit();
    }

    /// Why task `t` cannot run: it reads a secret output that a dependency produced before the
    /// run was interrupted. Such values are never stored, so a resume cannot give them back;
    /// the task fails naming the output rather than running with a masked value.
    fn reads_withheld(&self, t: TaskIdx) -> Option<String> {
        if self.withheld.is_empty() {
            return None; // every run that was not resumed after producing a secret output
        }
        let tasks = &self.cfg.runbook.tasks;
        for dep in tasks[t].deps.iter().filter(|d| d.outputs) {
            let Some(lost) = self.withheld.get(&dep.task) else { continue };
            // A `for_each` task's outputs are keyed by item first, then by name.
            let keyed = tasks[dep.task].for_each.is_some();
            let at = usize::from(keyed);
            for path in &dep.output_paths {
                // `None` where the expression chooses at run time: any of them may be read.
                let key = if keyed { path.first().cloned().flatten() } else { None };
                let name = path.get(at).cloned().flatten();
                let rest = path.get(at + 1..).unwrap_or_default();
                let read = lost.iter().find(|w| {
                    (!keyed || key.is_none() || key == w.key)
                        && name.as_ref().is_none_or(|n| *n == w.name)
                        && w.kept.as_ref().is_none_or(|value| masked_below(value, rest))
                });
                if let Some(w) = read {
                    let mut shown = w.name.clone();
                    if w.kept.is_some() {
                        for segment in rest.iter().map_while(|s| s.as_deref()) {
                            shown.push('.');
                            shown.push_str(segment);
                        }
                    }
                    return Some(format!(
                        "reads output `{shown}` of `{}`, which held a secret and so was never stored: a resumed run \
                         cannot give it back; start a new run to produce it again",
                        tasks[dep.task].id
                    ));
                }
            }
        }
        None
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
            (Some(_), None) => false,
        }
    }

    /// Hands this step's records to the journal, then spawns the jobs launched in it. When a
    /// job waits for its `start` record, the journal syncs here, on this thread, so the job
    /// finds it durable as it starts (see the journal module for why here).
    fn commit(&mut self) {
        self.cfg.journal.send(&mut self.batch);
        // `starting` is in priority order, and the most urgent job must run first: it then asks
        // for its command to be started (or makes its call) before the rest do. Commands
        // waiting to start are also taken by urgency (`actions::launcher`). A one-thread
        // runtime (what `drctl run` uses) runs jobs in the order they were spawned. A runtime
        // with workers runs the job spawned last first and the others in order, so there the
        // most urgent one is spawned last.
        let lifo = tokio::runtime::Handle::current().runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread;
        if lifo && self.starting.len() > 1 {
            self.starting.rotate_left(1);
        }
        for (t, i, in_doubt, job) in self.starting.drain(..) {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                // A job that panics (a defect of drctl's) fails its instance rather than leave
                // the run waiting for it for ever.
                let outcome = std::panic::AssertUnwindSafe(job.run(in_doubt))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| JobOutcome::Failed { error: panicked(panic.as_ref()) });
                let _ = tx.send(Event { task: t, inst: i, outcome: Reply::Done(outcome), asked: false });
            });
        }
    }

    fn launch(&mut self, t: TaskIdx, i: usize) {
        let cfg = self.cfg;
        let task = &cfg.runbook.tasks[t];
        let inst = &self.tasks[t].instances[i];
        let id = inst.id.clone();
        let Some(action) = cfg.actions.get(&task.uses).cloned() else {
            self.finish_instance(t, i, JobOutcome::Failed { error: format!("unknown action `{}`", task.uses) });
            return;
        };
        if let Some(error) = self.reads_withheld(t) {
            self.finish_instance(t, i, JobOutcome::Failed { error });
            return;
        }
        let resolved = {
            let scope = self.scope(inst.item.as_ref());
            let with = task.with.resolve(&scope).map_err(|e| format!("inputs could not be resolved: {e}"));
            let check = task.check.as_ref().map(|c| {
                let probe = cfg.actions.get(&c.uses).cloned();
                let with = c.with.resolve(&scope).map_err(|e| format!("check inputs could not be resolved: {e}"));
                (probe, with)
            });
            (with, check)
        };
        let (with, check) = match resolved {
            (Ok(with), None) => (with, None),
            (Ok(with), Some((Some(probe), Ok(check_with)))) => (with, Some((probe, check_with))),
            (Ok(_), Some((None, _))) => {
                self.finish_instance(t, i, JobOutcome::Failed { error: "unknown check action".into() });
                return;
            }
            (Err(error), _) | (Ok(_), Some((_, Err(error)))) => {
                self.finish_instance(t, i, JobOutcome::Failed { error });
                return;
            }
        };
        // Values from expressions meet the checks `validate` gave the literal ones.
        let refused = refused_inputs(action.as_ref(), &with, "")
            .or_else(|| check.as_ref().and_then(|(probe, with)| refused_inputs(probe.as_ref(), with, "check ")));
        if let Some(error) = refused {
            let error = cfg.redactor.mask(&error).into_owned();
            self.finish_instance(t, i, JobOutcome::Failed { error });
            return;
        }
        if action.is_approval() {
            self.approval(t, i, &with);
            return;
        }
        let inst = &mut self.tasks[t].instances[i];
        inst.slot = Slot::Running;
        inst.started = Some(Instant::now());
        let in_doubt = inst.in_doubt;
        if in_doubt {
            cfg.observer.notice(&format!(
                "{id} was running when the run stopped; {}",
                if check.is_some() {
                    "running its check first"
                } else {
                    "running it again with the same idempotency key"
                }
            ));
        }
        // With nothing to do before the first attempt, its `start` record joins this step's batch.
        let first_start = if in_doubt || inst.orphan.is_some() {
            FirstStart::ByJob
        } else {
            let start = Record::Start { id: id.clone(), attempt: inst.prior_attempts + 1, at: now_millis() };
            if action.is_pure() {
                self.batch.push(&start);
                FirstStart::Queued(None)
            } else {
                FirstStart::Queued(Some(self.batch.push_acked(&start)))
            }
        };
        let job = Job {
            first_start,
            launched: Instant::now(),
            idempotency_key: idempotency_key(&cfg.run_dir.id, &id),
            urgency: self.priority[t],
            id,
            action,
            with,
            check,
            policy: task.retry.clone(),
            timeout: task.timeout,
            prior_attempts: inst.prior_attempts,
            used: inst.used,
            orphan: inst.orphan,
            run_id: cfg.run_dir.id.clone(),
            drill: cfg.drill,
            work_dir: cfg.work_dir.clone(),
            journal: cfg.journal.clone(),
            observer: cfg.observer.clone(),
            redactor: cfg.redactor.clone(),
            secret_outputs: task.secret_outputs.clone(),
            scratch_dir: self.scratch_dir.clone(),
            stop: cfg.stop_attempts.clone(),
            kill: cfg.kill.clone(),
        };
        self.running += 1;
        self.starting.push((t, i, in_doubt, job));
    }

    fn on_event(&mut self, event: Event) {
        self.running -= 1;
        if event.asked {
            self.asking -= 1;
        } else if let Some(group) = &self.cfg.runbook.tasks[event.task].concurrency {
            if let Some(n) = self.group_running.get_mut(group) {
                *n = n.saturating_sub(1);
            }
        }
        match event.outcome {
            Reply::Done(outcome) => self.finish_instance(event.task, event.inst, outcome),
            Reply::Unanswered(asked) => self.await_operator(event.task, event.inst, &asked),
        }
    }

    fn finish_instance(&mut self, t: TaskIdx, i: usize, outcome: JobOutcome) {
        let cfg = self.cfg;
        let task = &cfg.runbook.tasks[t];
        let id = self.tasks[t].instances[i].id.clone();
        let elapsed = self.tasks[t].instances[i].started.map_or(Duration::ZERO, |s| s.elapsed());
        let now = now_millis();
        let state = match outcome {
            JobOutcome::Succeeded { outputs, checked } => {
                let mut stored = Map::with_capacity(outputs.len());
                let mut masked = Vec::new();
                for (name, value) in outputs.iter() {
                    if task.secret_outputs.contains(name) {
                        cfg.redactor.add_output(value);
                        let kept = match value {
                            Value::Array(_) | Value::Object(_) => cfg.redactor.stored_secret(value),
                            _ => Value::String(crate::ui::redact::MASK.into()),
                        };
                        stored.insert(name.clone(), kept);
                        masked.push(name.clone());
                    } else {
                        let shown = cfg.redactor.mask_value(value);
                        if shown != *value {
                            masked.push(name.clone());
                        }
                        if !shown.is_null() {
                            cfg.redactor.add_public(&shown);
                        }
                        stored.insert(name.clone(), shown);
                    }
                }
                self.batch.push(&Record::Done { id: id.clone(), outputs: stored, at: now, checked, masked });
                let how = if checked { Finish::AlreadyDone } else { Finish::Succeeded };
                // What a resource action did to its resource (`create`, `update`, `none`).
                let change = outputs.get("operation").and_then(Value::as_str).unwrap_or_default();
                cfg.observer.finished(&id, how, elapsed, change);
                self.tasks[t].instances[i].outputs = outputs;
                TaskState::Succeeded
            }
            JobOutcome::Failed { error } => {
                let error = cfg.redactor.mask(&error).into_owned();
                self.batch.push(&Record::Failed { id: id.clone(), error: error.clone(), at: now });
                cfg.observer.finished(&id, Finish::Failed, elapsed, &error);
                self.failed.push(id.clone());
                match task.on_failure {
                    OnFailure::Abort => {
                        if self.stopping.is_none() {
                            cfg.observer.notice(&format!("{id} failed; aborting (no new tasks start)"));
                            self.stopping = Some(RunState::Failed);
                            cfg.stop_attempts.cancel();
                        }
                    }
                    OnFailure::Pause => {
                        if self.stopping.is_none() {
                            cfg.observer.notice(&format!("{id} failed; pausing the run"));
                            self.stopping = Some(RunState::Paused);
                            cfg.stop_attempts.cancel();
                        }
                    }
                    OnFailure::Continue => {}
                }
                TaskState::Failed
            }
            JobOutcome::Cancelled => {
                self.batch.push(&Record::Cancelled { id: id.clone(), at: now });
                cfg.observer.finished(&id, Finish::Cancelled, elapsed, "cancelled");
                TaskState::Cancelled
            }
            JobOutcome::Interrupted => {
                // Not finished: the instance runs again on resume.
                self.tasks[t].instances[i].slot = Slot::Waiting;
                return;
            }
            JobOutcome::JournalFailed(e) => {
                self.journal_error.get_or_insert(e);
                self.tasks[t].instances[i].slot = Slot::Waiting;
                return;
            }
        };
        self.tasks[t].instances[i].slot = Slot::Done(state);
        self.finished += 1;
        self.tasks[t].pending -= 1;
        if self.tasks[t].pending == 0 {
            self.complete_task(t);
        }
    }

    /// Every instance of `t` is done: record its outcome for expressions and release dependents.
    fn complete_task(&mut self, t: TaskIdx) {
        let task = &self.cfg.runbook.tasks[t];
        let run = &mut self.tasks[t];
        let any_failed = run.instances.iter().any(|i| matches!(i.slot, Slot::Done(TaskState::Failed)));
        let cancelled = run.instances.iter().any(|i| matches!(i.slot, Slot::Done(TaskState::Cancelled)));
        // A task that stops the run (`on_failure: abort` or `pause`), or was cancelled by a
        // second Ctrl-C, is decided on again later: an operator retries or skips it, or resume
        // runs it again. Its dependents are undecided until then, so they stay pending. A
        // denied approval is a decision that stands: its dependents are skipped.
        let denied = any_failed && self.cfg.actions.get(&task.uses).is_some_and(|a| a.is_approval());
        if (any_failed && !denied && task.on_failure != OnFailure::Continue) || (!any_failed && cancelled) {
            run.end = Some(TaskEnd::Failed);
            return;
        }
        // Skipped by an operator (the work was done by hand, or is not needed): like a false
        // condition, tasks that only come after it go on, those that need its outputs skip.
        let skipped =
            !run.instances.is_empty() && run.instances.iter().all(|i| i.slot == Slot::Done(TaskState::Skipped));
        let end = match (any_failed, skipped) {
            (true, _) => TaskEnd::Failed,
            (false, true) => TaskEnd::SkippedByCondition,
            (false, false) => TaskEnd::Succeeded,
        };
        // Only records that expressions read are kept: in a large run most are never read.
        if self.read[t] {
            // The instances' outputs are read only from here on (by expressions), so they move.
            let outputs = if task.for_each.is_some() {
                Value::Object(
                    run.instances
                        .iter_mut()
                        .map(|i| (i.id.key.clone().unwrap_or_default(), Value::Object(std::mem::take(&mut i.outputs))))
                        .collect(),
                )
            } else {
                Value::Object(run.instances.first_mut().map(|i| std::mem::take(&mut i.outputs)).unwrap_or_default())
            };
            let state = match end {
                TaskEnd::Failed => "failed",
                TaskEnd::SkippedByCondition => "skipped",
                _ => "succeeded",
            };
            let mut record = json!({ "outputs": outputs, "state": state });
            if task.for_each.is_some() {
                // Its outputs are keyed by item first: `tasks.ID.outputs.ITEM.NAME`.
                record["for_each"] = json!(true);
            }
            self.records.insert(task.id.clone(), record);
        }
        self.end_task(t, end);
    }

    fn skip_task(&mut self, t: TaskIdx, end: TaskEnd, reason: &str) {
        let cfg = self.cfg;
        let task = &cfg.runbook.tasks[t];
        let id = InstanceId { task: task.id.clone(), key: None };
        // Recorded once: again only when something since (a retry's reset) undid the skip.
        if !self.replay.instance(&id).is_some_and(|r| r.engine_skip && r.state == TaskState::Skipped) {
            self.batch.push(&Record::Skipped {
                id: id.clone(),
                reason: reason.to_owned(),
                at: now_millis(),
                by_operator: false,
            });
        }
        cfg.observer.finished(&id, Finish::Skipped, Duration::ZERO, reason);
        self.finished += 1;
        if self.read[t] {
            self.records.insert(task.id.clone(), json!({ "outputs": {}, "state": "skipped" }));
        }
        self.end_task(t, end);
    }

    /// Fails task `t` before any instance starts. A `for_each` task an earlier segment
    /// expanded fails instance by instance (those that segment finished keep their end), so
    /// that `status` and reports show the failure where its instances are listed.
    fn fail_unstarted(&mut self, t: TaskIdx, error: String) {
        let task = &self.cfg.runbook.tasks[t];
        let keys: Vec<Option<String>> = match (&task.for_each, self.replay.expansions.get(&task.id)) {
            (Some(_), Some(keys)) if !keys.is_empty() => keys.iter().cloned().map(Some).collect(),
            _ => vec![None],
        };
        let finished = |id: &InstanceId| {
            let r = self.replay.instance(id)?;
            (r.state == TaskState::Succeeded || (r.state == TaskState::Skipped && !r.engine_skip)).then_some(r.state)
        };
        let instances: Vec<Instance> = keys
            .into_iter()
            .map(|key| {
                let id = InstanceId { task: task.id.clone(), key };
                let slot = finished(&id).map_or(Slot::Waiting, Slot::Done);
                Instance {
                    id,
                    item: None,
                    slot,
                    in_doubt: false,
                    orphan: None,
                    prior_attempts: 0,
                    used: (0, Duration::ZERO),
                    outputs: Map::new(),
                    started: None,
                }
            })
            .collect();
        let failing: Vec<usize> =
            instances.iter().enumerate().filter(|(_, i)| matches!(i.slot, Slot::Waiting)).map(|(n, _)| n).collect();
        if task.for_each.is_some() {
            self.total = self.total - 1 + instances.len();
            self.cfg.observer.total_changed(self.total);
        }
        self.finished += instances.len() - failing.len();
        self.recorded += instances.len() - failing.len();
        self.tasks[t].instances = instances;
        self.tasks[t].pending = failing.len();
        if failing.is_empty() {
            self.complete_task(t);
            return;
        }
        for i in failing {
            self.finish_instance(t, i, JobOutcome::Failed { error: error.clone() });
        }
    }

    fn end_task(&mut self, t: TaskIdx, end: TaskEnd) {
        self.tasks[t].end = Some(end);
        let cfg = self.cfg;
        let name = &cfg.runbook.tasks[t].id;
        for k in 0..self.dependents[t].len() {
            let (d, link) = self.dependents[t][k];
            let skip = match (end, link) {
                (TaskEnd::Succeeded, _) | (_, Link::State) => None,
                (TaskEnd::SkippedByCondition, Link::Order) => None,
                // Not applicable, like the task it reads: what only comes after it still runs.
                (TaskEnd::SkippedByCondition, Link::Outputs) => {
                    Some((TaskEnd::SkippedByCondition, format!("needs outputs of `{name}`, which was skipped")))
                }
                (TaskEnd::SkippedUpstream, _) => Some((TaskEnd::SkippedUpstream, format!("`{name}` was skipped"))),
                (TaskEnd::Failed, _) => Some((TaskEnd::SkippedUpstream, format!("`{name}` failed"))),
            };
            if let Some(skip) = skip {
                // A failure upstream outweighs a task that does not apply.
                let slot = &mut self.tasks[d].skip;
                if slot
                    .as_ref()
                    .is_none_or(|(e, _)| *e == TaskEnd::SkippedByCondition && skip.0 == TaskEnd::SkippedUpstream)
                {
                    *slot = Some(skip);
                }
            }
            self.tasks[d].remaining -= 1;
            if self.tasks[d].remaining == 0 {
                self.activate(d);
            }
        }
    }

    /// An approval instance: approve with `--yes`, ask on a terminal, or wait for an operator.
    fn approval(&mut self, t: TaskIdx, i: usize, with: &Value) {
        let cfg = self.cfg;
        let id = self.tasks[t].instances[i].id.clone();
        let asked = Asked::read(with, &cfg.redactor);
        let (timeout, approve_on_timeout) = (asked.timeout, asked.approve_on_timeout);
        // The wait is recorded before any decision, on every path, so that the instance has a
        // start: its duration runs from here to the decision, and a timeout survives a resume.
        let waiting =
            self.replay.instance(&id).filter(|r| r.state == TaskState::AwaitingApproval).and_then(|r| r.awaiting_since);
        let since = waiting.unwrap_or_else(now_millis);
        if waiting.is_none() {
            self.batch.push(&Record::AwaitingApproval { id: id.clone(), message: asked.message.clone(), at: since });
        }
        let waited = Duration::from_millis(now_millis().saturating_sub(since));
        self.tasks[t].instances[i].started = Some(Instant::now().checked_sub(waited).unwrap_or_else(Instant::now));
        let remaining = timeout.map(|t| t.saturating_sub(Duration::from_millis(now_millis().saturating_sub(since))));
        if remaining == Some(Duration::ZERO) {
            let limit = timeout.unwrap_or_default();
            let reason = format!("no answer within {}", fmt(limit));
            // Decided by the timeout when it ran out (the run resumed after the deadline), not
            // when the resume noticed: the wait recorded is the timeout, whenever that was.
            let deadline = since.saturating_add(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX));
            self.decide(
                t,
                i,
                approve_on_timeout,
                &Actor { user: "timeout".into(), host: crate::checkpoint::record::hostname() },
                &reason,
                deadline.min(now_millis()),
            );
            return;
        }
        if cfg.approve_all {
            self.decide(t, i, true, &Actor::current(), "approved by --yes", now_millis());
            return;
        }
        if let Some(approver) = cfg.approver.clone() {
            self.tasks[t].instances[i].slot = Slot::Running;
            self.running += 1;
            // A person answers at their own pace: the wait holds no task slot.
            self.asking += 1;
            if let Some(n) = cfg.runbook.tasks[t].concurrency.as_ref().and_then(|g| self.group_running.get_mut(g)) {
                *n = n.saturating_sub(1);
            }
            let tx = self.tx.clone();
            let journal = cfg.journal.clone();
            let observer = cfg.observer.clone();
            // Ctrl-C, or a failure that aborts or pauses the run, withdraws the question: the
            // approval stays open for the resumed run.
            let stop = cfg.stop_attempts.clone();
            let unanswered = asked.clone();
            let prompt = self.prompt.clone();
            let redactor = cfg.redactor.clone();
            let whole = timeout;
            tokio::spawn(async move {
                // The timeout runs while the question is on the terminal: time spent waiting
                // behind another question does not count, so no question is decided unseen.
                // A question that panics (a defect of drctl's) leaves the approval open.
                let decision = std::panic::AssertUnwindSafe(async {
                    tokio::select! {
                        // One question on the terminal at a time, in the order they came: two open
                        // at once would each read the next answer typed.
                        answer = async {
                            let _turn = prompt.lock().await;
                            let ask = approver.ask(&id, &unanswered.message, observer.as_ref());
                            match remaining {
                                Some(limit) => tokio::time::timeout(limit, ask).await.map_err(|_| limit),
                                None => Ok(ask.await),
                            }
                        } => match answer {
                            Ok(answer) => answer.map(|d| (Actor::current(), d)),
                            Err(limit) => {
                                // The question's line was ended when it was withdrawn; say what
                                // the timeout decided, naming the timeout as the runbook gives it
                                // (what was left of it when the question was shown ran out).
                                let outcome = if approve_on_timeout { "approved" } else { "denied" };
                                let within = fmt(whole.unwrap_or(limit));
                                observer.notice(&format!("{id}: no answer within {within}: {outcome} (on_timeout)"));
                                Some((
                                    Actor { user: "timeout".into(), host: crate::checkpoint::record::hostname() },
                                    (approve_on_timeout, format!("no answer within {within}")),
                                ))
                            }
                        },
                        () = stop.cancelled() => {
                            // End the prompt's line before the interrupt notice.
                            crate::errln!();
                            None
                        }
                    }
                })
                .catch_unwind()
                .await
                .unwrap_or(None);
                let outcome = match decision {
                    Some((actor, (approved, reason))) => {
                        // The answer may quote a secret the run was given.
                        let reason = redactor.mask(&reason);
                        let (audit, result) = approval_decision(&id, approved, &actor, &reason, now_millis());
                        journal.append_nowait(&audit);
                        Reply::Done(result.into())
                    }
                    None => Reply::Unanswered(unanswered),
                };
                let _ = tx.send(Event { task: t, inst: i, outcome, asked: true });
            });
            return;
        }
        self.await_operator(t, i, &asked);
    }

    /// Leaves an approval waiting for `drctl approve|deny`, saying how to answer it.
    fn await_operator(&mut self, t: TaskIdx, i: usize, asked: &Asked) {
        let cfg = self.cfg;
        let id = self.tasks[t].instances[i].id.clone();
        let Asked { message, timeout, approve_on_timeout } = asked;
        let (run, flags, task) = (&cfg.run_dir.id, cfg.run_dir.resume_flags(), id.to_string());
        let command = |verb| crate::ui::operator_command(verb, run, &task, &flags);
        let mut how = format!("  approve: {}\n  deny:    {}", command("approve"), command("deny"));
        if let Some(note) = cfg.run_dir.secrets_to_pass() {
            how.push('\n');
            how.push_str(&note);
        }
        // With a timeout, the decision falls to it once the time has passed: at the next
        // resume, or at once if the run is resumed after the deadline.
        let until = timeout.map_or(String::new(), |limit| {
            let outcome = if *approve_on_timeout { "approved" } else { "denied" };
            format!("\n  unanswered {} after it was asked, it counts as {outcome} when the run is resumed", fmt(limit))
        });
        cfg.observer.notice(&format!("{id} needs approval: {message}{until}\n{how}"));
        self.tasks[t].instances[i].slot = Slot::AwaitingApproval;
    }

    /// Records an operator's (or the timeout's) decision on an approval, made `at`, and
    /// finishes it.
    fn decide(&mut self, t: TaskIdx, i: usize, approved: bool, actor: &Actor, reason: &str, at: Millis) {
        let id = self.tasks[t].instances[i].id.clone();
        let (audit, result) = approval_decision(&id, approved, actor, reason, at);
        self.batch.push(&audit);
        self.finish_instance(t, i, result.into());
    }

    /// When the next RTO warning (at 80%, then at 100%) is due, if one is left to give.
    fn next_rto_warning(&self) -> Option<tokio::time::Instant> {
        let rto = self.cfg.runbook.rto?;
        let fraction = match self.rto_warned {
            0 => 0.8,
            1 => 1.0,
            _ => return None,
        };
        let due = self.cfg.created_at + (rto.as_millis() as f64 * fraction).ceil() as u64;
        let wait = Duration::from_millis(due.saturating_sub(now_millis()));
        Some(tokio::time::Instant::now() + wait)
    }

    fn check_rto(&mut self) {
        let Some(rto) = self.cfg.runbook.rto else { return };
        let elapsed = Duration::from_millis(now_millis().saturating_sub(self.cfg.created_at));
        let fraction = elapsed.as_secs_f64() / rto.as_secs_f64().max(0.001);
        let level = if fraction >= 1.0 {
            2
        } else if fraction >= 0.8 {
            1
        } else {
            0
        };
        if level > self.rto_warned {
            self.rto_warned = level;
            let text = if level == 2 {
                format!("RTO exceeded: {} elapsed, objective {}", fmt(elapsed), fmt(rto))
            } else {
                format!("80% of the RTO used: {} elapsed, objective {}", fmt(elapsed), fmt(rto))
            };
            self.cfg.observer.notice(&text);
            self.batch.push(&Record::RtoWarning { fraction, elapsed_ms: elapsed.as_millis() as u64, at: now_millis() });
        }
    }
}

fn fmt(d: Duration) -> String {
    crate::runbook::duration::format_duration(d)
}

/// What a decision on an approval records: the audit entry (who, when, why) and the instance's
/// result: outputs `approved`, `by`, `reason` when approved, an error naming who denied it
/// otherwise. Shared by the engine and `drctl approve|deny`.
pub fn approval_decision(
    id: &InstanceId,
    approved: bool,
    actor: &Actor,
    reason: &str,
    at: Millis,
) -> (Record, Result<Map<String, Value>, String>) {
    let audit = Record::Audit {
        action: if approved { AuditAction::Approve } else { AuditAction::Deny },
        task: Some(id.clone()),
        actor: actor.clone(),
        reason: reason.to_owned(),
        at,
    };
    let by = format!("{}@{}", actor.user, actor.host);
    let result = if approved {
        let mut outputs = Map::new();
        outputs.insert("approved".into(), Value::Bool(true));
        outputs.insert("by".into(), Value::String(by));
        outputs.insert("reason".into(), Value::String(reason.to_owned()));
        Ok(outputs)
    } else {
        Err(format!("denied by {by}: {reason}"))
    };
    (audit, result)
}

impl From<Result<Map<String, Value>, String>> for JobOutcome {
    fn from(result: Result<Map<String, Value>, String>) -> Self {
        match result {
            Ok(outputs) => JobOutcome::Succeeded { outputs, checked: false },
            Err(error) => JobOutcome::Failed { error },
        }
    }
}

/// sha256 of run id, task id and instance key: the same on every attempt and every resume.
pub fn idempotency_key(run_id: &str, id: &InstanceId) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(run_id.as_bytes());
    hasher.update([0]);
    hasher.update(id.task.as_bytes());
    hasher.update([0]);
    if let Some(key) = &id.key {
        hasher.update(key.as_bytes());
    }
    let digest = hasher.finalize();
    crate::hash::hex(&digest)
}

/// Keys of `for_each` instances: strings and numbers as themselves, maps by their `key`,
/// `name` or `id` field, anything else by position; duplicates get `#n` appended.
/// Sleeps until `deadline`, or forever without one.
/// What the action refuses in inputs resolved as the task starts (`what` is `""` or `"check "`).
fn refused_inputs(action: &dyn crate::actions::Action, with: &Value, what: &str) -> Option<String> {
    let Value::Object(map) = with else { return None };
    let problems = action.check_resolved(map);
    let first = problems.first()?;
    let place = if first.key.is_empty() { String::new() } else { format!(" `{}`", first.key) };
    let help = first.help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default();
    Some(format!("{what}input{place} refused: {}{help}", first.message))
}

/// What a job that panicked failed with.
fn panicked(panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    format!("drctl failed inside this task ({what}); this is a defect of drctl: resume retries the task")
}

async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

pub fn instance_keys(items: &[Value], redactor: &crate::ui::redact::Redactor) -> Vec<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let base = match item {
                Value::String(s) => s.clone(),
                Value::Number(x) => x.to_string(),
                Value::Bool(b) => b.to_string(),
                // `{id: 1, ...}` is keyed `1`, as the item `1` is.
                Value::Object(map) => ["key", "name", "id"]
                    .iter()
                    .find_map(|k| match map.get(*k) {
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(Value::Number(x)) => Some(x.to_string()),
                        _ => None,
                    })
                    .unwrap_or_else(|| n.to_string()),
                _ => n.to_string(),
            };
            // A key is written to the journal, log names and status: one that shows a secret
            // becomes the item's position.
            let base = if redactor.mask(&base) == base { base } else { format!("secret-{}", n + 1) };
            // A repeated item gets `#2`, `#3`, ...: the first of those no other item has taken
            // (items `[x, x, "x#2"]` give keys `x`, `x#2` and `x#2#2`).
            let mut key = base.clone();
            let count = counts.entry(base.clone()).or_default();
            while !taken.insert(key.clone()) {
                *count += 1;
                key = format!("{base}#{}", *count + 1);
            }
            key
        })
        .collect()
}

/// An output of a task finished in an earlier segment that held a secret.
struct Withheld {
    /// The instance's `for_each` key.
    key: Option<String>,
    name: String,
    /// What was stored of a map or a list: its texts that were never secret, `***` for the rest.
    /// `None` when nothing was stored.
    kept: Option<Value>,
}

/// Whether what `path` reads inside a stored output holds a masked part. A segment chosen at
/// run time (`None`) may read any part below it.
fn masked_below(value: &Value, path: &[Option<String>]) -> bool {
    let mut at = value;
    for segment in path {
        let Some(segment) = segment else { break };
        let next = match at {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            // Reads nothing that was stored; the expression's own rules apply.
            None => return false,
        }
    }
    crate::ui::redact::holds_mask(at)
}

#[cfg(test)]
mod tests {
    use super::instance_keys;
    use serde_json::json;

    #[test]
    fn instance_keys_never_collide() {
        let none = crate::ui::redact::Redactor::new();
        let keys = |items: serde_json::Value| instance_keys(items.as_array().map_or(&[][..], |a| a.as_slice()), &none);
        assert_eq!(keys(json!(["a", "b"])), ["a", "b"]);
        assert_eq!(keys(json!(["x", "x", "x"])), ["x", "x#2", "x#3"]);
        assert_eq!(keys(json!(["x", "x", "x#2"])), ["x", "x#2", "x#2#2"]);
        assert_eq!(keys(json!(["x#2", "x", "x"])), ["x#2", "x", "x#3"]);
        assert_eq!(keys(json!([{ "name": "a" }, { "other": 1 }, 7, true])), ["a", "1", "7", "true"]);
        assert_eq!(keys(json!([{ "id": 1, "v": "one" }, { "id": 0, "v": "zero" }])), ["1", "0"]);
        let secrets = crate::ui::redact::Redactor::new();
        secrets.add("HOSTSEC1");
        let items = [json!("HOSTSEC1"), json!("plain"), json!({ "name": "HOSTSEC1" })];
        assert_eq!(instance_keys(&items, &secrets), ["secret-1", "plain", "secret-3"]);
    }
}
