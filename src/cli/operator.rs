//! `drctl approve|deny|skip|retry RUN TASK --reason ...`: an operator's decision, written to
//! the audit log with who, when and why, after which the run continues.

use clap::Args;

use super::resume::{resume_locked, Resumption};
use super::run::DriveArgs;
use super::{CliError, Exit, ParamArgs, StateArgs};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::{Actor, AuditAction, InstanceId, Record, Replay, RunDir, RunLock, TaskState};
use crate::runbook::Runbook;

#[derive(Args, Debug)]
pub struct DecisionArgs {
    /// The run id (or a unique prefix).
    pub run: String,
    /// The task, as `id` or `id[key]` for one instance of a `for_each` task.
    pub task: String,
    /// Why; recorded in the audit log (required, except for `retry`).
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Record the decision without continuing the run.
    #[arg(long)]
    pub no_resume: bool,
    #[command(flatten)]
    pub params: ParamArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub drive: DriveArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
    Skip,
    Retry,
}

/// Instances the engine skipped (not an operator) of the tasks that depend on `task`,
/// directly or through others.
fn skipped_downstream(runbook: Option<&Runbook>, replay: &Replay, task: &str) -> Vec<InstanceId> {
    let Some((runbook, t)) = runbook.and_then(|r| Some((r, r.task_index(task)?))) else { return Vec::new() };
    let below = crate::graph::downstream(runbook, t);
    replay
        .order
        .iter()
        .filter(|i| runbook.task_index(&i.task).is_some_and(|t| below[t]))
        .filter(|i| replay.instance(i).is_some_and(|r| r.state == TaskState::Skipped && r.engine_skip))
        .cloned()
        .collect()
}

/// The tasks a skip of `task` skips as well: those that read its outputs, and those that read
/// theirs, in runbook order. Tasks that only run after it still run.
fn skipped_with(runbook: Option<&Runbook>, task: &str) -> Vec<String> {
    let Some((runbook, t)) = runbook.and_then(|r| Some((r, r.task_index(task)?))) else { return Vec::new() };
    let mut skipped = vec![false; runbook.tasks.len()];
    skipped[t] = true;
    for u in crate::graph::topo_order(runbook) {
        if runbook.tasks[u].deps.iter().any(|d| d.needs_outputs && skipped[d.task]) {
            skipped[u] = true;
        }
    }
    skipped[t] = false;
    runbook.tasks.iter().zip(&skipped).filter(|(_, s)| **s).map(|(task, _)| task.id.clone()).collect()
}

/// The runbook as run, or `None` when it no longer loads (an older drctl wrote it).
fn runbook_as_run(dir: &RunDir) -> Result<Option<Runbook>, CliError> {
    let text = dir.runbook_text()?;
    Ok(crate::runbook::load("runbook.yaml", &text, &crate::actions::builtin()).ok())
}

/// Refuses an id that names no task instance of the run: a task the runbook (as run) lacks,
/// a `for_each` task named without its item, or an item the task does not have. Gives whether
/// the task is an approval, when the runbook (as run) tells.
fn known_instance(
    dir: &RunDir,
    runbook: Option<&Runbook>,
    replay: &Replay,
    id: &InstanceId,
) -> Result<Option<bool>, CliError> {
    // A stored runbook that no longer loads: judge by the journal.
    let Some(runbook) = runbook else { return Ok(None) };
    let Some(task) = runbook.tasks.iter().find(|t| t.id == id.task) else {
        let ids = runbook.tasks.iter().map(|t| t.id.as_str());
        return Err(CliError::usage_help(
            format!("run {} has no task `{}`", dir.id, id.task),
            crate::runbook::de::did_you_mean(&id.task, ids)
                .unwrap_or_else(|| "`drctl status RUN` lists the run's tasks".to_owned()),
        ));
    };
    let approval = Some(task.uses == "approval");
    let keys = replay.expansions.get(&id.task);
    let listed = |keys: &[String]| keys.iter().map(|k| format!("{}[{k}]", id.task)).collect::<Vec<_>>().join(", ");
    match (&id.key, task.for_each.is_some(), keys) {
        (None, false, _) => Ok(approval),
        (None, true, Some(keys)) => Err(CliError::usage_help(
            format!("`{}` runs once per item; name one instance", id.task),
            format!("its instances: {}", listed(keys)),
        )),
        // Its list failed before it had items: the task is decided on as a whole.
        (None, true, None) if replay.instance(id).is_some() => Ok(approval),
        (None, true, None) => Err(CliError::usage_help(
            format!("`{}` runs once per item and has not started yet, so it has no instances to decide on", id.task),
            "decide on its instances once the run has reached it (`drctl status RUN` lists them)",
        )),
        (Some(_), false, _) => Err(CliError::usage_help(
            format!("`{}` has no `for_each`, so it has no instance `{id}`", id.task),
            format!("name the task alone: {}", id.task),
        )),
        (Some(key), true, Some(keys)) if !keys.contains(key) => Err(CliError::usage_help(
            format!("`{}` has no item `{key}`", id.task),
            format!("its instances: {}", listed(keys)),
        )),
        (Some(_), true, _) => Ok(approval),
    }
}

/// What one decision is made on, besides the instance.
struct Deciding<'a> {
    args: &'a DecisionArgs,
    decision: Decision,
    dir: &'a RunDir,
    runbook: Option<&'a Runbook>,
    replay: &'a Replay,
    quiet: bool,
}

/// The instances of a `for_each` task named as a whole that a skip or retry applies to: for a
/// retry, those that failed or were cancelled; for a skip, those not finished (succeeded, or
/// skipped by an operator). `None` when `named` is not such a task, or the decision is made on
/// one instance only (an approval).
fn whole_task(
    runbook: Option<&Runbook>,
    replay: &Replay,
    named: &InstanceId,
    decision: Decision,
) -> Option<Vec<InstanceId>> {
    let task = runbook?.tasks.iter().find(|t| t.id == named.task)?;
    if named.key.is_some() || task.for_each.is_none() || !matches!(decision, Decision::Skip | Decision::Retry) {
        return None;
    }
    let keys = replay.expansions.get(&named.task).filter(|k| !k.is_empty())?;
    let ids = keys.iter().map(|k| InstanceId { task: named.task.clone(), key: Some(k.clone()) });
    Some(
        ids.filter(|id| {
            let rec = replay.instance(id);
            let state = rec.map(|r| r.state);
            match decision {
                Decision::Retry => matches!(state, Some(TaskState::Failed | TaskState::Cancelled)),
                _ => {
                    !matches!(state, Some(TaskState::Succeeded))
                        && !rec.is_some_and(|r| r.state == TaskState::Skipped && !r.engine_skip)
                }
            }
        })
        .collect(),
    )
}

/// How a decision is said in a line (`skipping`, `retrying`).
fn decision_verb(decision: Decision) -> &'static str {
    match decision {
        Decision::Approve => "approving",
        Decision::Deny => "denying",
        Decision::Skip => "skipping",
        Decision::Retry => "retrying",
    }
}

/// The records of a decision on instance `id`, or why it cannot be made.
fn decision_records(ctx: &Deciding<'_>, id: &InstanceId) -> Result<Vec<Record>, CliError> {
    let Deciding { args, decision, dir, runbook, replay, quiet } = *ctx;
    let approval_task = known_instance(dir, runbook, replay, id)?;
    let state = replay.instance(id).map(|r| r.state);
    // Skipped by an operator already (not by the engine, after a failure upstream).
    let skipped_by_operator = replay.instance(id).filter(|r| r.state == TaskState::Skipped && !r.engine_skip);
    let allowed = match decision {
        Decision::Approve | Decision::Deny => state == Some(TaskState::AwaitingApproval),
        // A task left running by a crash or Ctrl-C may be skipped (done by hand); the lock,
        // held here, shows no process drives the run.
        Decision::Skip => !matches!(state, Some(TaskState::Succeeded)) && skipped_by_operator.is_none(),
        Decision::Retry => matches!(state, Some(TaskState::Failed | TaskState::Cancelled)),
    };
    if !allowed {
        let shown = state.map_or("not started".to_owned(), |s| s.as_str().to_owned());
        let flag = dir.resume_flags();
        let run = &dir.id;
        let command = |verb| crate::ui::operator_command(verb, run, &args.task, &flag);
        let is_approval =
            approval_task.unwrap_or_else(|| replay.instance(id).is_some_and(|r| r.approval_message.is_some()));
        let help = match (decision, state) {
            // A denied approval that was retried asks again when the run goes on.
            (Decision::Approve | Decision::Deny, Some(TaskState::Pending)) if is_approval => {
                format!("it was retried and asks again when the run goes on: drctl resume {run}{flag}")
            }
            (Decision::Approve | Decision::Deny, _) if !is_approval => {
                "only approval tasks are approved or denied".to_owned()
            }
            // Stopped between attempts (an abort, a pause or Ctrl-C elsewhere): it runs again.
            (_, Some(TaskState::Pending)) if replay.instance(id).is_some_and(|r| r.attempts > 0) => {
                format!("it was stopped between attempts and runs again when the run goes on: drctl resume {run}{flag}")
            }
            (_, None | Some(TaskState::Pending)) => "the run has not reached it yet".to_owned(),
            (Decision::Skip, Some(TaskState::Skipped)) => format!(
                "it was skipped already ({}); `drctl status {run}` shows the audit log",
                skipped_by_operator.and_then(|r| r.reason.as_deref()).unwrap_or("by an operator")
            ),
            (Decision::Approve | Decision::Deny, Some(TaskState::Failed)) if is_approval => {
                format!("it was denied; to ask again: {}", command("retry"))
            }
            (Decision::Approve | Decision::Deny, Some(TaskState::Succeeded)) if is_approval => {
                format!("it was approved already; `drctl status {run}` shows who decided and why")
            }
            (_, Some(TaskState::Succeeded)) => "it succeeded; there is nothing left to do for it".to_owned(),
            (_, Some(TaskState::Running)) => format!(
                "it was in flight when the run stopped: `drctl resume {run}{flag}` runs its check and runs it again \
                 if needed, or skip it if it was finished by hand"
            ),
            (Decision::Retry, Some(TaskState::Skipped)) => "a skipped task stays skipped".to_owned(),
            (Decision::Retry, Some(TaskState::AwaitingApproval)) => {
                format!("it waits for a decision: {}", command("approve"))
            }
            _ => format!("`drctl status {run}` shows each task's state"),
        };
        let verb = format!("{decision:?}").to_lowercase();
        let why = match decision {
            Decision::Approve | Decision::Deny if !is_approval => "it is not an approval task".to_owned(),
            _ => match state {
                None => "it has not started".to_owned(),
                Some(TaskState::Succeeded) => "it succeeded".to_owned(),
                Some(TaskState::Failed) => "it failed".to_owned(),
                Some(TaskState::Skipped) => "it was skipped".to_owned(),
                Some(TaskState::Cancelled) => "it was cancelled".to_owned(),
                Some(_) => format!("it is {shown}"),
            },
        };
        return Err(CliError::usage_help(format!("cannot {verb} `{id}` in run {}: {why}", dir.id), help));
    }
    // The command of an attempt a crash left running may still be at work: skipping the task
    // would start its dependents alongside it.
    if decision == Decision::Skip && state == Some(TaskState::Running) {
        let alive = replay
            .instance(id)
            .and_then(|r| r.live_orphan())
            // A crash between starting the command and recording its pid: found by its key.
            .or_else(|| crate::engine::processes_of(&crate::engine::idempotency_key(&dir.id, id)).first().copied());
        if let Some(pid) = alive {
            return Err(CliError::usage_help(
                format!("cannot skip `{id}` yet: pid {pid}, left running by its interrupted attempt, is still running"),
                "wait for it to end, or stop it, then skip again",
            ));
        }
    }
    let actor = Actor::current();
    let at = now_millis();
    let records = match decision {
        Decision::Approve | Decision::Deny => {
            let approved = decision == Decision::Approve;
            let (audit, result) = crate::engine::approval_decision(id, approved, &actor, &args.reason, at);
            let outcome = match result {
                Ok(outputs) => Record::Done { id: id.clone(), outputs, at, checked: false, masked: Vec::new() },
                Err(error) => Record::Failed { id: id.clone(), error, at },
            };
            vec![audit, outcome]
        }
        Decision::Skip | Decision::Retry => {
            let (action, outcome) = if decision == Decision::Skip {
                let also = skipped_with(runbook, &id.task);
                if !also.is_empty() && !quiet {
                    if id.key.is_some() {
                        // One item of a `for_each`: the task's outputs lack that item's, and what
                        // reads them runs (and fails where it reads the missing item).
                        crate::errln!(
                            "note: {} reads the outputs of `{}`, which will lack those of {id}; reading {id}'s \
                             fails",
                            also.join(", "),
                            id.task
                        );
                    } else {
                        crate::errln!(
                            "note: skipping {id} also skips what reads its outputs: {}; the run counts them as \
                             skipped, not done",
                            also.join(", ")
                        );
                    }
                }
                let reason = format!("skipped by {}: {}", actor.user, args.reason);
                (AuditAction::Skip, Record::Skipped { id: id.clone(), reason, at, by_operator: true })
            } else {
                (AuditAction::Retry, Record::Reset { id: id.clone(), at })
            };
            let audit =
                Record::Audit { action, task: Some(id.clone()), actor: actor.clone(), reason: args.reason.clone(), at };
            let mut records = vec![audit, outcome];
            if decision == Decision::Retry {
                // What was skipped only because this task failed waits again for it: shown as
                // pending (not skipped) until the run goes on and decides.
                records.extend(
                    skipped_downstream(runbook, replay, &id.task).into_iter().map(|id| Record::Reset { id, at }),
                );
            }
            records
        }
    };
    Ok(records)
}

fn parse_instance(text: &str) -> InstanceId {
    match text.strip_suffix(']').and_then(|t| t.split_once('[')) {
        Some((task, key)) => InstanceId { task: task.to_owned(), key: Some(key.to_owned()) },
        None => InstanceId { task: text.to_owned(), key: None },
    }
}

pub async fn decide(
    mut args: DecisionArgs,
    decision: Decision,
    oci: &super::OciArgs,
    quiet: bool,
) -> Result<Exit, CliError> {
    // One line in the audit trail: a line break in a reason could print as a record of its own.
    args.reason = crate::ui::one_line(&args.reason).into_owned();
    if decision != Decision::Retry && args.reason.trim().is_empty() {
        return Err(CliError::usage_help(
            format!("{} needs a reason: it goes to the run's audit log", format!("{decision:?}").to_lowercase()),
            "add --reason '...', for example the change or incident number",
        ));
    }
    let dir = RunDir::open(&args.state.state_dir, &args.run)?;
    let (lock, broken) = RunLock::acquire(&dir.path, args.drive.break_lock)?;
    let replay = dir.replay()?;
    super::resume::refuse_if_cleaned_up(&replay, &dir.meta()?)?;
    if let Some(owner) = &broken {
        super::resume::record_broken_lock(&dir, owner).await?;
    }
    let named = parse_instance(&args.task);
    let runbook = runbook_as_run(&dir)?;
    // A `for_each` task named as a whole: its instances the decision applies to.
    let ids = match whole_task(runbook.as_ref(), &replay, &named, decision) {
        Some(ids) if !ids.is_empty() => ids,
        Some(_) => {
            let (verb, why) = match decision {
                Decision::Retry => ("retry", "none of them failed"),
                _ => ("skip", "every one of them has finished"),
            };
            return Err(CliError::usage_help(
                format!("cannot {verb} `{}` in run {}: {why}", named.task, dir.id),
                format!("`drctl status {}` shows each instance's state", dir.id),
            ));
        }
        None => vec![named],
    };
    if ids.len() > 1 && !quiet {
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        crate::errln!("{} {} instances: {}", decision_verb(decision), ids.len(), shown.join(", "));
    }
    let mut records = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let ctx = Deciding {
            args: &args,
            decision,
            dir: &dir,
            runbook: runbook.as_ref(),
            replay: &replay,
            quiet: quiet || n > 0,
        };
        for record in decision_records(&ctx, id)? {
            // A retry resets what waits on its task once, however many of its instances it retries.
            let repeated = matches!(&record, Record::Reset { id, .. } if records.iter().any(|r| matches!(r, Record::Reset { id: seen, .. } if seen == id)));
            if !repeated {
                records.push(record);
            }
        }
    }
    if args.no_resume {
        // Masked as a resume would mask them: with the secret parameters given here (a
        // reason, or the approval's `reason` output, may quote one).
        let redactor = crate::ui::redact::Redactor::new();
        let unmasked = runbook
            .as_ref()
            .map(|runbook| super::params::mask_given_secrets(runbook, &args.params, &redactor))
            .unwrap_or_default();
        if !unmasked.is_empty() && !quiet {
            crate::errln!(
                "note: secret parameter{} {} not given here: a reason that quotes one is stored as written",
                if unmasked.len() == 1 { "" } else { "s" },
                unmasked.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            );
        }
        let records: Vec<Record> = records.into_iter().map(|r| super::resume::masked(r, &redactor)).collect();
        let journal = dir.open_journal()?;
        for r in &records {
            journal.append_nowait(r);
        }
        journal.flush().wait().await?;
        if decision == Decision::Skip {
            // What an interrupted attempt of the task wrote is never read now.
            for id in &ids {
                dir.discard_outputs(Some(&crate::engine::idempotency_key(&dir.id, id)));
            }
        }
        if !quiet {
            crate::errln!("recorded; continue with: drctl resume {}{}", dir.id, dir.resume_flags());
            if let Some(note) = dir.secrets_to_pass() {
                crate::errln!("{note}");
            }
        }
        drop(lock);
        return Ok(Exit::Success);
    }
    let exit = {
        let how = Resumption { params: &args.params, drive: &args.drive, oci, quiet };
        resume_locked(dir, &how, None, Some(records)).await
    };
    drop(lock);
    exit
}
