//! `drctl approve|deny|skip|retry RUN TASK --reason ...`: an operator's decision, written to
//! the audit log with who, when and why, after which the run continues.

use clap::Args;

use super::run::{resume_locked, DriveArgs, Resumption};
use super::{CliError, Exit, ParamArgs, StateArgs};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::{Actor, AuditAction, InstanceId, Record, RunDir, RunLock, TaskState};

#[derive(Args, Debug)]
pub struct DecisionArgs {
    /// The run id (or a unique prefix).
    pub run: String,
    /// The task, as `id` or `id[key]` for one instance of a `for_each` task.
    pub task: String,
    /// Why; recorded in the audit log.
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

fn parse_instance(text: &str) -> InstanceId {
    match text.strip_suffix(']').and_then(|t| t.split_once('[')) {
        Some((task, key)) => InstanceId { task: task.to_owned(), key: Some(key.to_owned()) },
        None => InstanceId { task: text.to_owned(), key: None },
    }
}

pub async fn decide(
    args: DecisionArgs,
    decision: Decision,
    oci: &super::OciArgs,
    quiet: bool,
) -> Result<Exit, CliError> {
    let dir = RunDir::open(&args.state.state_dir, &args.run)?;
    let (lock, broken) = RunLock::acquire(&dir.path, args.drive.break_lock)?;
    let replay = dir.replay()?;
    let id = parse_instance(&args.task);
    let state = replay.instance(&id).map(|r| r.state);
    let allowed = match decision {
        Decision::Approve | Decision::Deny => state == Some(TaskState::AwaitingApproval),
        Decision::Skip => !matches!(state, Some(TaskState::Succeeded | TaskState::Running)),
        Decision::Retry => matches!(state, Some(TaskState::Failed | TaskState::Cancelled)),
    };
    if !allowed {
        let known: Vec<String> = replay.order.iter().map(ToString::to_string).collect();
        let shown = state.map_or("not started".to_owned(), |s| s.as_str().to_owned());
        return Err(CliError::usage_help(
            format!("cannot {decision:?} `{id}` in run {}: it is {shown}", dir.id).to_lowercase(),
            crate::runbook::de::did_you_mean(&args.task, known.iter().map(String::as_str))
                .unwrap_or_else(|| "`drctl status RUN` shows each task's state".to_owned()),
        ));
    }
    let actor = Actor::current();
    let at = now_millis();
    let records = match decision {
        Decision::Approve | Decision::Deny => {
            let approved = decision == Decision::Approve;
            let (audit, result) = crate::engine::approval_decision(&id, approved, &actor, &args.reason);
            let outcome = match result {
                Ok(outputs) => Record::Done { id: id.clone(), outputs, at, checked: false },
                Err(error) => Record::Failed { id: id.clone(), error, at },
            };
            vec![audit, outcome]
        }
        Decision::Skip | Decision::Retry => {
            let (action, outcome) = if decision == Decision::Skip {
                let reason = format!("skipped by {}: {}", actor.user, args.reason);
                (AuditAction::Skip, Record::Skipped { id: id.clone(), reason, at, by_operator: true })
            } else {
                (AuditAction::Retry, Record::Reset { id: id.clone(), at })
            };
            let audit =
                Record::Audit { action, task: Some(id.clone()), actor: actor.clone(), reason: args.reason.clone(), at };
            vec![audit, outcome]
        }
    };
    if args.no_resume {
        let journal = dir.open_journal()?;
        for r in &records {
            journal.append_nowait(r);
        }
        journal.flush().wait().await?;
        if !quiet {
            eprintln!("recorded; continue with: drctl resume {}", dir.id);
        }
        drop(lock);
        return Ok(Exit::Success);
    }
    let exit = {
        let how = Resumption { params: &args.params, drive: &args.drive, state_dir: &args.state.state_dir, oci, quiet };
        resume_locked(dir, &how, broken, Some(records)).await
    };
    drop(lock);
    exit
}
