//! `drctl status RUN` and `drctl runs`.

use clap::Args;
use serde_json::{json, Value};

use super::{CliError, Exit, OutputFormat, StateArgs};
use crate::checkpoint::{InstanceId, Replay, RunDir, RunState, TaskState};
use crate::runbook::duration::format_duration;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The run id (or a unique prefix).
    pub run: String,
    #[command(flatten)]
    pub state: StateArgs,
    /// `json` for tools: the run id, state, tasks and audit log.
    #[arg(long, short, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// `json` for tools: one object per run.
    #[arg(long, short, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Every instance the run knows of, in runbook order, pending ones included; then those only
/// the journal knows, which a resume with `--allow-changed` removed (flagged true).
fn instances(runbook: Option<&crate::runbook::checked::Runbook>, replay: &Replay) -> Vec<(InstanceId, bool)> {
    let mut out: Vec<(InstanceId, bool)> =
        runbook.map(|rb| replay.listed_instances(rb)).unwrap_or_default().into_iter().map(|id| (id, false)).collect();
    let known: std::collections::HashSet<InstanceId> = out.iter().map(|(id, _)| id.clone()).collect();
    for id in &replay.order {
        if !known.contains(id) && !runbook.is_some_and(|rb| replay.superseded(rb, id)) {
            out.push((id.clone(), runbook.is_some()));
        }
    }
    out
}

pub fn status(args: StatusArgs) -> Result<Exit, CliError> {
    let dir = RunDir::open(&args.state.state_dir, &args.run)?;
    let meta = dir.meta()?;
    let replay = dir.replay()?;
    let state = dir.state(&replay);
    let run_state = state;
    // Without the run's copy of its runbook, only what the journal saw can be listed.
    let runbook = dir.runbook_text().map_err(|e| e.to_string()).and_then(|text| {
        crate::runbook::load("runbook.yaml", &text, &crate::actions::builtin())
            .map_err(|_| format!("{}: it no longer validates", dir.runbook_path().display()))
    });
    if let Err(problem) = &runbook {
        crate::errln!("warning: {problem}; tasks the journal has not seen are not listed");
    }
    let tasks: Vec<Value> = instances(runbook.as_ref().ok(), &replay)
        .into_iter()
        .map(|(id, removed)| {
            let rec = replay.instance(&id);
            let empty = id.key.is_none() && replay.no_items(&id.task);
            let state = match rec {
                Some(r) => r.state,
                None if empty => TaskState::Succeeded,
                None => TaskState::Pending,
            };
            let mut v = json!({
                "id": id.to_string(),
                "task": id.task,
                "state": state.as_str(),
                "attempts": rec.map_or(0, |r| r.attempts),
            });
            if let Some(key) = &id.key {
                v["key"] = json!(key);
            }
            if removed {
                v["removed"] = json!(true);
            }
            if empty {
                v["items"] = json!(0);
            }
            if let Some(r) = rec {
                if let Some(e) = &r.error {
                    v["error"] = json!(e);
                }
                if let Some(reason) = &r.reason {
                    v["reason"] = json!(reason);
                }
                if state == TaskState::AwaitingApproval {
                    v["awaiting_approval"] = json!(true);
                }
                if r.checked {
                    v["checked"] = json!(true);
                }
                // Started, and no drctl drives the run: it may or may not have finished.
                if state == TaskState::Running && run_state != RunState::Running {
                    v["in_doubt"] = json!(true);
                    if let Some(pid) = r.live_orphan() {
                        v["pid"] = json!(pid);
                    }
                }
                if let Some(ms) = replay.active_ms(r) {
                    v["duration_ms"] = json!(ms);
                }
            }
            v
        })
        .collect();
    let audit: Vec<Value> = replay
        .audit
        .iter()
        .map(|a| json!({ "action": a.action, "task": a.task.as_ref().map(|t| t.to_string()), "user": a.actor.user, "host": a.actor.host, "reason": a.reason, "at": a.at }))
        .collect();
    // A run being driven now has lasted until now, not until its last record.
    let end = match state {
        RunState::Running => crate::checkpoint::record::now_millis(),
        _ => replay.last_at.unwrap_or(meta.created_at),
    };
    let elapsed = std::time::Duration::from_millis(end.saturating_sub(meta.created_at));
    if args.output == OutputFormat::Json {
        let out = json!({
            "run_id": meta.run_id,
            "runbook": meta.runbook_name,
            "state": state.as_str(),
            "drill": meta.drill,
            "created_at": meta.created_at,
            "elapsed_ms": elapsed.as_millis() as u64,
            "tasks": tasks,
            "audit": audit,
        });
        crate::outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(Exit::Success);
    }
    // A segment without an end record stopped abruptly (killed, machine lost): when is not
    // known, only its last record.
    let abrupt = state == RunState::Interrupted && replay.segment_spans.last().is_some_and(|s| s.end.is_none());
    if abrupt {
        crate::outln!(
            "run {} ({}): interrupted; drctl stopped without closing the run, {} after the start (its last record)",
            meta.run_id,
            crate::ui::one_line(&meta.runbook_name),
            format_duration(elapsed)
        );
    } else {
        crate::outln!(
            "run {} ({}): {} after {}",
            meta.run_id,
            crate::ui::one_line(&meta.runbook_name),
            state.as_str(),
            format_duration(elapsed)
        );
    }
    for t in &tasks {
        let attempts = t["attempts"].as_u64().unwrap_or(0);
        let id = crate::ui::one_line(t["id"].as_str().unwrap_or_default());
        let mut line =
            format!("  {} {}", crate::ui::pad(&id, 40), crate::ui::pad(t["state"].as_str().unwrap_or_default(), 10));
        if attempts > 1 {
            line.push_str(&format!(" {attempts} attempts"));
        }
        if t.get("awaiting_approval").is_some() {
            line.push_str(" awaiting approval");
        }
        if t.get("items").is_some() {
            line.push_str(" (for_each over no items)");
        }
        if t.get("removed").is_some() {
            line.push_str(" (no longer in the runbook)");
        }
        if t.get("in_doubt").is_some() {
            line.push_str(&match t.get("pid").and_then(Value::as_u64) {
                Some(pid) => format!(" in doubt: drctl stopped while it ran; its command (pid {pid}) is still running"),
                None => {
                    " in doubt: drctl stopped while it ran; `drctl resume` runs its check, or runs it again".to_owned()
                }
            });
        }
        if let Some(e) = t.get("error").and_then(Value::as_str) {
            // A multi-line error (what a command printed last) goes on under its task.
            line.push_str(&format!(" — {}", crate::ui::indented(e, "      ")));
        }
        crate::outln!("{line}");
    }
    if !audit.is_empty() {
        crate::outln!("audit:");
        for a in &replay.audit {
            let when = crate::report::timestamp_utc_seconds(a.at);
            let task = a.task.as_ref().map_or(String::new(), |t| format!(" {t}"));
            let why = if a.reason.is_empty() { String::new() } else { format!(": {}", a.reason) };
            crate::outln!("  {when} {:?}{task} by {}@{}{why}", a.action, a.actor.user, a.actor.host);
        }
    }
    Ok(Exit::Success)
}

pub fn runs(args: RunsArgs) -> Result<Exit, CliError> {
    crate::checkpoint::check_state_dir(&args.state.state_dir)?;
    let mut rows = Vec::new();
    for dir in RunDir::list(&args.state.state_dir) {
        // A run whose meta.json or journal cannot be read is listed as damaged, under the name
        // `drctl status` opens it by; status names the damage.
        let meta = dir.meta().ok();
        let state = match (&meta, dir.replay()) {
            (Some(_), Ok(replay)) => dir.state(&replay).as_str(),
            _ => "damaged",
        };
        rows.push(json!({
            "run_id": dir.id,
            "runbook": meta.as_ref().map(|m| m.runbook_name.as_str()),
            "state": state,
            "drill": meta.as_ref().is_some_and(|m| m.drill),
            "created_at": meta.as_ref().map(|m| m.created_at),
        }));
    }
    if args.output == OutputFormat::Json {
        crate::outln!("{}", Value::Array(rows));
    } else if rows.is_empty() {
        crate::outln!("no runs in {}", args.state.state_dir.display());
    } else {
        for r in rows {
            let drill = if r["drill"].as_bool() == Some(true) { " (drill)" } else { "" };
            crate::outln!(
                "{} {} {}{drill}",
                crate::ui::pad(&crate::ui::one_line(r["run_id"].as_str().unwrap_or_default()), 24),
                crate::ui::pad(r["state"].as_str().unwrap_or_default(), 12),
                crate::ui::one_line(r["runbook"].as_str().unwrap_or_default())
            );
        }
    }
    Ok(Exit::Success)
}
