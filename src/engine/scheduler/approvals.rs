//! Approvals: given with `--yes`, asked on the terminal, or left waiting for `drctl approve|deny`,
//! and the decision recorded with who made it.

use std::time::{Duration, Instant};

use futures::FutureExt as _;
use serde_json::{Map, Value};

use super::{fmt, Event, Reply, Scheduler, Slot};
use crate::checkpoint::record::{now_millis, Millis};
use crate::checkpoint::{Actor, AuditAction, InstanceId, Record, TaskState};
use crate::engine::attempt::JobOutcome;
use crate::runbook::checked::TaskIdx;
use crate::runbook::duration::parse_duration;

/// An approval's inputs, read once.
#[derive(Clone)]
pub(super) struct Asked {
    /// The message may quote a secret parameter; it is journaled and shown, so masked.
    pub(super) message: String,
    pub(super) timeout: Option<Duration>,
    pub(super) approve_on_timeout: bool,
}

impl Asked {
    /// Reads an approval's resolved `with`.
    pub(super) fn read(with: &Value, redactor: &crate::ui::redact::Redactor) -> Self {
        let message = with.get("message").and_then(Value::as_str).unwrap_or("approve to continue");
        Asked {
            message: redactor.mask(message).into_owned(),
            timeout: with.get("timeout").and_then(Value::as_str).and_then(|t| parse_duration(t).ok()),
            approve_on_timeout: with.get("on_timeout").and_then(Value::as_str) == Some("approve"),
        }
    }
}

impl Scheduler<'_> {
    /// An approval instance: approve with `--yes`, ask on a terminal, or wait for an operator.
    pub(super) fn approval(&mut self, t: TaskIdx, i: usize, with: &Value) {
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
    pub(super) fn await_operator(&mut self, t: TaskIdx, i: usize, asked: &Asked) {
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
    pub(super) fn decide(&mut self, t: TaskIdx, i: usize, approved: bool, actor: &Actor, reason: &str, at: Millis) {
        let id = self.tasks[t].instances[i].id.clone();
        let (audit, result) = approval_decision(&id, approved, actor, reason, at);
        self.batch.push(&audit);
        self.finish_instance(t, i, result.into());
    }
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
