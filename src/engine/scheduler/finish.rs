//! Recording how instances and tasks end, and releasing or skipping what depends on them.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::{Event, Instance, Link, Reply, Scheduler, Slot, TaskEnd};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::{InstanceId, Record, RunState, TaskState};
use crate::engine::attempt::JobOutcome;
use crate::engine::observer::Finish;
use crate::runbook::checked::TaskIdx;
use crate::runbook::model::OnFailure;

impl Scheduler<'_> {
    /// A job has ended: gives back its slots and records its outcome.
    pub(super) fn on_event(&mut self, event: Event) {
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

    /// Records how instance `i` of task `t` ended and, once it is the task's last, ends the
    /// task.
    pub(super) fn finish_instance(&mut self, t: TaskIdx, i: usize, outcome: JobOutcome) {
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
                        if self.stops_anew(RunState::Failed) {
                            cfg.observer.notice(&format!("{id} failed; aborting (no new tasks start)"));
                            self.stopping = Some(RunState::Failed);
                            cfg.stop_attempts.cancel();
                        }
                    }
                    OnFailure::Pause => {
                        if self.stops_anew(RunState::Paused) {
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
    pub(super) fn complete_task(&mut self, t: TaskIdx) {
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
            // A `for_each` task's are those of the items that succeeded: an item skipped (by
            // an operator, its work done by hand) or failed gave none, and is not counted as if
            // it had (`length(tasks.ID.outputs)` is the items that did their work).
            let outputs = if task.for_each.is_some() {
                Value::Object(
                    run.instances
                        .iter_mut()
                        .filter(|i| i.slot == Slot::Done(TaskState::Succeeded))
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

    /// Skips the whole of task `t` (`reason` says why) before any instance of it runs.
    pub(super) fn skip_task(&mut self, t: TaskIdx, end: TaskEnd, reason: &str) {
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
    pub(super) fn fail_unstarted(&mut self, t: TaskIdx, error: String) {
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

    /// Task `t` has ended: tells each dependent, which is skipped if the end calls for it, and
    /// activates those with nothing left to wait for.
    pub(super) fn end_task(&mut self, t: TaskIdx, end: TaskEnd) {
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
}
