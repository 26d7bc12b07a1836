//! Running one task instance: the check probe on resume, attempts, timeouts and retries.
//!
//! This runs in its own tokio task per instance. It writes `start` and `attempt_failed`
//! records; the scheduling loop writes the final outcome, so that outcomes and the decisions
//! that follow from them are recorded in one order. The loop also writes the first attempt's
//! `start` record itself when nothing has to happen before it (no check probe, no orphan to wait
//! for), in the same journal batch as the `done` records that released the instance, so that
//! both are made durable by one sync.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::observer::Observer;
use crate::actions::{Action, ActionContext, ActionError, ErrorClass, Outputs, TaskLog};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::{Ack, InstanceId, Journal, Record};
use crate::runbook::duration::format_duration;
use crate::runbook::retry::RetryPolicy;
use crate::ui::redact::Redactor;

/// What the scheduling loop learns when an instance job ends.
#[derive(Debug)]
pub enum JobOutcome {
    Succeeded {
        outputs: Outputs,
        checked: bool,
    },
    Failed {
        error: String,
    },
    /// Cancelled by a second Ctrl-C mid-attempt.
    Cancelled,
    /// Stopped between attempts because the run is stopping (first Ctrl-C, abort or pause);
    /// the instance will start again on resume.
    Interrupted,
    /// The journal could not be written: the run must stop.
    JournalFailed(String),
}

/// Who writes the first attempt's `start` record.
pub enum FirstStart {
    /// The job, once a check probe or the wait for an orphan is over.
    ByJob,
    /// The scheduling loop already queued it; a non-pure action waits for this before it runs.
    Queued(Option<Ack>),
}

/// Everything one instance job needs.
pub struct Job {
    pub id: InstanceId,
    pub action: Arc<dyn Action>,
    pub with: Value,
    pub check: Option<(Arc<dyn Action>, Value)>,
    pub policy: RetryPolicy,
    pub timeout: Option<Duration>,
    /// A process group left running by a crashed earlier segment: (pid, start time).
    pub orphan: Option<(u32, u64)>,
    /// Attempts recorded before this segment (attempt numbers continue from here).
    pub prior_attempts: u32,
    /// Attempts and time this instance has already used of its retry policy in an earlier,
    /// interrupted segment. The first attempt here always runs; retries count these too.
    pub used: (u32, Duration),
    pub first_start: FirstStart,
    /// When the scheduling loop made the first attempt's `start` record, if it did.
    pub launched: Instant,
    pub idempotency_key: String,
    /// The task's bottom level (see [`crate::actions::ActionContext::urgency`]).
    pub urgency: u32,
    pub run_id: String,
    pub drill: bool,
    pub work_dir: Option<std::path::PathBuf>,
    pub journal: Journal,
    pub observer: Arc<dyn Observer>,
    pub redactor: Redactor,
    /// The task's `secret_outputs`: their values are masked from the moment they are known.
    pub secret_outputs: Arc<[String]>,
    pub scratch_dir: std::path::PathBuf,
    /// First Ctrl-C, abort or pause: finish the current attempt but start no new one.
    pub stop: CancellationToken,
    /// Second Ctrl-C: cancel the attempt in progress.
    pub kill: CancellationToken,
}

/// What ends an attempt that runs too long.
#[derive(Clone, Copy)]
enum Limit {
    /// The task's `timeout`.
    Timeout(std::time::Duration),
    /// What is left of the retry `budget`, when less than the timeout.
    Budget(std::time::Duration),
}

/// A task log that goes through the journal writer, masked.
struct JournalLog {
    id: InstanceId,
    journal: Journal,
    file: String,
    redactor: Redactor,
    secret_outputs: Arc<[String]>,
    observer: Arc<dyn Observer>,
}

impl TaskLog for JournalLog {
    fn line(&self, line: &str) {
        let mut text = self.redactor.mask(line).into_owned();
        text.push('\n');
        self.journal.log(&self.file, text);
    }

    fn warn(&self, line: &str) {
        self.line(line);
        let shown = self.redactor.mask(line);
        self.observer.notice(&format!("{}: {shown}", self.id));
    }

    fn spawned(&self, pid: u32, started: Option<u64>) {
        let started = started.or_else(|| crate::checkpoint::record::process_start_time(pid)).unwrap_or(0);
        self.journal.append_unsynced(&Record::Spawned { id: self.id.clone(), pid, started });
    }

    fn streams(&self) -> bool {
        self.secret_outputs.is_empty()
    }

    fn outputs(&self, outputs: &crate::actions::Outputs) {
        for name in self.secret_outputs.iter() {
            if let Some(value) = outputs.get(name) {
                self.redactor.add_output(value);
            }
        }
    }
}

/// File name of an instance's log: the id with anything unusual replaced.
pub fn log_file_name(id: &InstanceId) -> String {
    /// Characters of the id kept in the name: well under the 255 bytes a file name may have.
    const KEPT: usize = 96;
    let raw = id.to_string();
    let clean: String =
        raw.chars().take(KEPT).map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if clean == raw {
        return format!("{clean}.log");
    }
    // Changed or cut short, the name could be another instance's (`t[a b]` and `t[a_b]` both
    // read `t_a_b_`): a digest of the whole id tells them apart.
    use sha2::Digest;
    let digest = crate::hash::hex(&sha2::Sha256::digest(raw.as_bytes())[..4]);
    format!("{clean}-{digest}.log")
}

impl Job {
    fn context(&self, attempt: u32, started: Instant, cancel: CancellationToken) -> ActionContext {
        ActionContext {
            started,
            task_id: self.id.task.clone(),
            instance_key: self.id.key.clone(),
            idempotency_key: self.idempotency_key.clone(),
            attempt,
            cancel,
            log: Arc::new(JournalLog {
                id: self.id.clone(),
                journal: self.journal.clone(),
                file: log_file_name(&self.id),
                redactor: self.redactor.clone(),
                secret_outputs: self.secret_outputs.clone(),
                observer: self.observer.clone(),
            }),
            scratch_dir: self.scratch_dir.clone(),
            drill: self.drill,
            work_dir: self.work_dir.clone(),
            run_id: self.run_id.clone(),
            only_tagged: None,
            urgency: self.urgency,
        }
    }

    /// Runs the instance to an outcome.
    pub async fn run(mut self, in_doubt: bool) -> JobOutcome {
        if let Some((pid, started)) = self.orphan {
            if !self.wait_for_orphan(pid, started).await {
                return JobOutcome::Cancelled;
            }
        }
        // drctl may have died between starting a command and recording its pid: the command's
        // processes are then found by the idempotency key in their environment.
        if in_doubt && !self.wait_for_key_holders().await {
            return JobOutcome::Cancelled;
        }
        if in_doubt {
            if let Some((probe, with)) = &self.check {
                let ctx = self.context(self.prior_attempts, Instant::now(), self.kill.child_token());
                // What the interrupted attempt had written, read before the probe (which may
                // write to the same place): with what the probe finds on top, the task's outputs.
                let mut outputs = self.action.leftover_outputs(&ctx);
                match self.attempt(probe.as_ref(), &ctx, with.clone(), self.timeout.map(Limit::Timeout)).await {
                    Ok(found) => {
                        outputs.extend(found);
                        return JobOutcome::Succeeded { outputs, checked: true };
                    }
                    Err(err) => ctx.log.line(&format!("check: work not done ({err}); running the task again")),
                }
            } else {
                // Nothing will read what the interrupted attempt wrote: the task runs again.
                let ctx = self.context(self.prior_attempts, Instant::now(), self.kill.child_token());
                drop(self.action.leftover_outputs(&ctx));
            }
        }
        // A first Ctrl-C while this waited for an earlier attempt's processes: start nothing. The
        // instance stays as the journal has it, for the next resume.
        if self.stop.is_cancelled() && matches!(self.first_start, FirstStart::ByJob) {
            return JobOutcome::Interrupted;
        }
        let started = Instant::now();
        let mut tries = 0u32;
        // Seeded on the first retry only: most attempts succeed, and seeding costs a syscall.
        let mut rng: Option<rand::rngs::StdRng> = None;
        loop {
            tries += 1;
            let attempt = self.prior_attempts + tries;
            let (durable, attempt_started) = match std::mem::replace(&mut self.first_start, FirstStart::ByJob) {
                FirstStart::Queued(ack) => (ack, self.launched),
                FirstStart::ByJob => {
                    let start = Record::Start { id: self.id.clone(), attempt, at: now_millis() };
                    let now = Instant::now();
                    if self.action.is_pure() {
                        self.journal.append_nowait(&start);
                        (None, now)
                    } else {
                        (Some(self.journal.append(&start)), now)
                    }
                }
            };
            if let Some(ack) = durable {
                if let Err(e) = ack.wait().await {
                    return JobOutcome::JournalFailed(e.to_string());
                }
            }
            // The run began to stop (first Ctrl-C, abort, pause) before this attempt began
            // (while its record was synced, or after the pass that launched it; a task that
            // reads nothing from the world, such as `assert`, too): the attempt, which has done
            // nothing yet, does not start, and the journal says so. Without that record the
            // instance would be in doubt on resume and lose an attempt of its retries; should
            // a crash lose it, that is what happens, which is safe.
            if self.stop.is_cancelled() {
                self.journal.append_nowait(&Record::Withdrawn { id: self.id.clone(), attempt, at: now_millis() });
                return JobOutcome::Interrupted;
            }
            self.observer.attempt_started(&self.id, attempt);
            tracing::debug!(task = %self.id, attempt, key = %self.idempotency_key, "attempt started");
            let cancel = self.kill.child_token();
            let ctx = self.context(attempt, attempt_started, cancel.clone());
            // The attempt's limit: its timeout, or what is left of the retry budget if less.
            // What earlier segments used of the budget counts from the first attempt on.
            let left = self.policy.budget.map(|b| b.saturating_sub(started.elapsed() + self.used.1));
            let limit = match (self.timeout, left) {
                (Some(t), Some(l)) if l < t => Some(Limit::Budget(l)),
                (Some(t), _) => Some(Limit::Timeout(t)),
                (None, Some(l)) => Some(Limit::Budget(l)),
                (None, None) => None,
            };
            let tally = crate::call_retries::Tally::default();
            let result = tally.clone().scope(self.attempt(self.action.as_ref(), &ctx, self.with.clone(), limit)).await;
            let counted = tally.counted();
            if counted.retries > 0 {
                self.journal.append_nowait(&Record::CallsRetried {
                    id: self.id.clone(),
                    attempt,
                    retries: counted.retries,
                    last: self.redactor.mask(counted.last.as_deref().unwrap_or_default()).into_owned(),
                    at: now_millis(),
                });
            }
            let err = match result {
                Ok(outputs) => return JobOutcome::Succeeded { outputs, checked: false },
                Err(_) if self.kill.is_cancelled() => return JobOutcome::Cancelled,
                Err(err) => err,
            };
            let message = self.redactor.mask(&err.message).into_owned();
            self.journal.append_nowait(&Record::AttemptFailed {
                id: self.id.clone(),
                attempt,
                class: err.class.to_string(),
                error: message.clone(),
                at: now_millis(),
            });
            if !self.policy.should_retry(&err, self.used.0 + tries) {
                self.observer.attempt_failed(&self.id, attempt, &message, None);
                return JobOutcome::Failed { error: message };
            }
            let rng = rng.get_or_insert_with(<rand::rngs::StdRng as rand::SeedableRng>::from_os_rng);
            let mut delay = self.policy.delay_after(tries, rng);
            if let Some(after) = err.retry_after {
                // `max_delay` bounds every wait. Retrying before the server's time would only be
                // refused again, so a longer wait than allowed ends the task, saying what to raise.
                if after > self.policy.longest_wait() {
                    let error = format!(
                        "{message} (the server asked to wait {} before retrying, longer than max_delay {}; raise \
                         max_delay to wait that long)",
                        format_duration(after),
                        format_duration(self.policy.longest_wait())
                    );
                    self.observer.attempt_failed(&self.id, attempt, &message, None);
                    return JobOutcome::Failed { error };
                }
                delay = delay.max(after);
            }
            if let Some(budget) = self.policy.budget {
                let used = self.used.1 + started.elapsed();
                if used + delay >= budget {
                    // An attempt cut off by the budget already says so.
                    let spent = format!("retry budget of {} spent", format_duration(budget));
                    let error = if message.contains(&spent) {
                        message.clone()
                    } else if used >= budget {
                        format!("{message} ({spent})")
                    } else {
                        format!(
                            "{message} (the next attempt, after a wait of {}, would start after the retry budget of \
                             {} ends)",
                            format_duration(delay),
                            format_duration(budget)
                        )
                    };
                    self.observer.attempt_failed(&self.id, attempt, &message, None);
                    return JobOutcome::Failed { error };
                }
            }
            self.observer.attempt_failed(&self.id, attempt, &message, Some(delay));
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.stop.cancelled() => return JobOutcome::Interrupted,
                () = self.kill.cancelled() => return JobOutcome::Cancelled,
            }
        }
    }

    /// Waits until a process group started by a crashed segment has ended, so the check and any
    /// new attempt never overlap the old one. Returns false when cancelled.
    async fn wait_for_orphan(&self, pid: u32, started: u64) -> bool {
        let alive = || crate::checkpoint::record::process_start_time(pid).is_some_and(|s| started == 0 || s == started);
        if !alive() {
            return true;
        }
        self.observer.notice(&format!("{}: waiting for pid {pid}, left running by the interrupted attempt", self.id));
        while alive() {
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
                () = self.kill.cancelled() => {
                    // A second Ctrl-C cancels running work, this included. The instance stays
                    // in doubt: the next resume runs its check.
                    if let Ok(group) = libc::pid_t::try_from(pid) {
                        if alive() {
                            // SAFETY: the process group the attempt was started in (its pid
                            // and start time match the journal); a gone one fails with ESRCH.
                            unsafe {
                                libc::killpg(group, libc::SIGKILL);
                            }
                        }
                    }
                    return false;
                }
            }
        }
        true
    }

    /// Waits until no process carries this instance's idempotency key in its environment (the
    /// processes of an attempt whose `spawned` record a crash kept from being written).
    /// False if a second Ctrl-C ends the wait.
    async fn wait_for_key_holders(&self) -> bool {
        let mut noticed = false;
        loop {
            let holders = crate::actions::processes_with_env(&[("DRCTL_IDEMPOTENCY_KEY", &self.idempotency_key)]);
            if holders.is_empty() {
                return true;
            }
            if !std::mem::replace(&mut noticed, true) {
                let pids: Vec<String> = holders.iter().map(u32::to_string).collect();
                self.observer.notice(&format!(
                    "{}: waiting for pid {}, left running by the interrupted attempt",
                    self.id,
                    pids.join(", ")
                ));
            }
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
                () = self.kill.cancelled() => {
                    // A second Ctrl-C cancels running work, this included. The instance stays
                    // in doubt: the next resume runs its check.
                    for pid in holders.iter().filter_map(|p| libc::pid_t::try_from(*p).ok()) {
                        // SAFETY: signalling processes that carry this run's idempotency key,
                        // started by an earlier segment of it; a gone one fails with ESRCH.
                        unsafe {
                            libc::kill(pid, libc::SIGKILL);
                        }
                    }
                    return false;
                }
            }
        }
    }

    /// One attempt within its limit, and the kill switch.
    async fn attempt(
        &self,
        action: &dyn Action,
        ctx: &ActionContext,
        with: Value,
        limit: Option<Limit>,
    ) -> Result<Outputs, ActionError> {
        let work = action.run(ctx, with);
        let limited = async {
            let Some(limit) = limit else { return work.await };
            let duration = match limit {
                Limit::Timeout(d) | Limit::Budget(d) => d,
            };
            match tokio::time::timeout(duration, work).await {
                Ok(result) => result,
                Err(_) => {
                    ctx.cancel.cancel();
                    Err(match (limit, self.policy.budget) {
                        (Limit::Budget(_), Some(budget)) => ActionError::fatal(
                            ErrorClass::Timeout,
                            format!("attempt cut off: retry budget of {} spent", format_duration(budget)),
                        ),
                        _ => ActionError::new(
                            ErrorClass::Timeout,
                            format!("attempt timed out after {}", humantime::format_duration(duration)),
                        ),
                    })
                }
            }
        };
        tokio::select! {
            result = limited => result,
            () = self.kill.cancelled() => {
                ctx.cancel.cancel();
                Err(ActionError::fatal(ErrorClass::Other, "cancelled"))
            }
        }
    }
}
