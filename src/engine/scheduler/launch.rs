//! Starting instances: taking them from the queue while the parallelism and concurrency groups
//! allow, writing their `start` records, and spawning their jobs once those records are sent.

use std::time::Instant;

use futures::FutureExt as _;
use serde_json::Value;

use super::{idempotency_key, Event, Reply, Scheduler, Slot};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::Record;
use crate::engine::attempt::{FirstStart, Job, JobOutcome};
use crate::runbook::checked::TaskIdx;

impl Scheduler<'_> {
    /// Starts queued instances while capacity allows.
    pub(super) fn launch_ready(&mut self) {
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

    /// Hands this step's records to the journal, then spawns the jobs launched in it. When a
    /// job waits for its `start` record, the journal syncs here, on this thread, so the job
    /// finds it durable as it starts (see the journal module for why here).
    pub(super) fn commit(&mut self) {
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

    /// Starts instance `i` of task `t`: resolves its inputs, records its `start`, and readies its
    /// job (spawned by [`Self::commit`]); an instance that cannot start is finished at once.
    pub(super) fn launch(&mut self, t: TaskIdx, i: usize) {
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
}

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
