//! Deciding, once a task's dependencies are resolved, whether it runs: its condition, its
//! `for_each` items, a resumed run's record of it, and its instances queued or finished.

use std::cmp::Reverse;
use std::time::Duration;

use serde_json::Value;

use super::{instance_keys, Instance, Scheduler, Slot, TaskEnd, Withheld};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::{InstanceId, Record, RunState, TaskState};
use crate::runbook::checked::{ForEach, TaskIdx};
use crate::runbook::expr::{truthy, type_name};
use crate::runbook::model::OnFailure;

impl Scheduler<'_> {
    /// All dependencies of `t` are resolved: decide whether it runs, and queue its instances.
    pub(super) fn activate(&mut self, t: TaskIdx) {
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
        let Some(items) = self.items(t, kept) else { return };
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
            let instance = self.instance(t, key, item, is_approval);
            instances.push(instance);
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

    /// The instances of task `t`: one, or a key and item for each of its `for_each` items (an
    /// earlier segment's keys when the task had finished, `kept`), with the expansion and what
    /// it no longer holds put on record. `None` when the list could not be had: the task has
    /// failed.
    fn items(&mut self, t: TaskIdx, kept: bool) -> Option<Vec<(Option<String>, Option<Value>)>> {
        let cfg = self.cfg;
        let task = &cfg.runbook.tasks[t];
        let items = match &task.for_each {
            None => vec![(None, None)],
            // Its list failed before it had items, then an operator skipped it as a whole: that
            // decision stands, as one instance.
            Some(_) if !self.replay.expansions.contains_key(&task.id) && self.recorded_done(t) => vec![(None, None)],
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
                        // A command's outputs are text: a list comes as JSON, read with fromJSON.
                        let hint = if other.is_string() {
                            " (a command gives a list as JSON text, `list=[\"a\",\"b\"]`, read with \
                             `fromJSON(...)`)"
                        } else {
                            ""
                        };
                        self.fail_unstarted(t, format!("for_each must give a list, got {}{hint}", type_name(&other)));
                        return None;
                    }
                    Err(e) => {
                        self.fail_unstarted(t, format!("for_each could not be evaluated: {e}"));
                        return None;
                    }
                }
            }
        };
        Some(items)
    }

    /// An instance of task `t`, as an earlier segment left it (finished, denied, in doubt, or
    /// not started), with the outputs it recorded less those that held a secret.
    fn instance(&mut self, t: TaskIdx, key: Option<String>, item: Option<Value>, is_approval: bool) -> Instance {
        let cfg = self.cfg;
        let task = &cfg.runbook.tasks[t];
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
                    if let Some((state, what)) = stop.filter(|(state, _)| self.stops_anew(*state)) {
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
        Instance {
            id,
            item,
            slot,
            in_doubt,
            orphan: prior.and_then(|r| r.orphan),
            prior_attempts: prior.map_or(0, |r| r.attempts),
            used: prior
                .filter(|r| r.state != TaskState::Failed)
                .map_or((0, Duration::ZERO), |r| (r.allowance.attempts, Duration::from_millis(r.allowance.spent_ms))),
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
        }
    }
}
