//! `drctl resume`: going on with an interrupted run, from its journal, with the runbook it
//! ran or (with `--allow-changed`) the file as changed since.

use std::sync::Arc;

use clap::Args;
use serde_json::Value;

use super::embedded_sim::EmbeddedSim;
use super::run::{drive, oci_setup_reads, DriveArgs, DriveContext};
use super::{params, CliError, Exit, ParamArgs, StateArgs};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::{Actor, AuditAction, Record, Replay, RunDir, RunLock, RunMeta};
use crate::runbook::Runbook;
use crate::ui::redact::Redactor;

#[derive(Args, Debug)]
pub struct ResumeArgs {
    /// The run id (or a unique prefix of it).
    pub run: String,
    #[command(flatten)]
    pub params: ParamArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub drive: DriveArgs,
}

pub async fn resume(args: ResumeArgs, oci: &super::OciArgs, quiet: bool) -> Result<Exit, CliError> {
    let run_dir = RunDir::open(&args.state.state_dir, &args.run)?;
    let (lock, broken) = RunLock::acquire(&run_dir.path, args.drive.break_lock)?;
    let how = Resumption { params: &args.params, drive: &args.drive, oci, quiet };
    let exit = resume_locked(run_dir, &how, broken, None).await;
    drop(lock);
    exit
}

/// Writes the audit record of a lock the operator broke, at once: the lock is gone whether or
/// not the command goes on. Called after the journal was read, since opening it for writing
/// cuts off a torn last record, which the reader reports.
pub(super) async fn record_broken_lock(
    run_dir: &RunDir,
    owner: &crate::checkpoint::LockOwner,
) -> Result<Record, CliError> {
    let reason = match owner.pid {
        0 => "lock file emptied or damaged outside drctl".to_owned(),
        pid => format!("lock of pid {pid} on {}", owner.host),
    };
    let record =
        Record::Audit { action: AuditAction::BreakLock, task: None, actor: Actor::current(), reason, at: now_millis() };
    let journal = run_dir.open_journal()?;
    journal.append_nowait(&record);
    journal.flush().wait().await?;
    Ok(record)
}

/// Refuses to continue a drill that `drctl cleanup` has undone (even in part): its tasks'
/// outputs name resources that may be gone, and going on would fail on them, or create anew
/// what the cleanup removed.
pub(super) fn refuse_if_cleaned_up(replay: &Replay, meta: &RunMeta) -> Result<(), CliError> {
    let Some(cleanup) = replay.cleaned_up() else { return Ok(()) };
    Err(CliError::usage_help(
        format!(
            "run {} was cleaned up ({}@{}, {}): what it created may be gone, so it cannot go on",
            meta.run_id,
            cleanup.actor.user,
            cleanup.actor.host,
            crate::report::timestamp_utc_seconds(cleanup.at)
        ),
        format!(
            "start a new drill: drctl run {} --drill (with its parameters); its cleanup is in the audit log of \
             `drctl status {}`",
            crate::ui::shell_word(&meta.runbook_path),
            meta.run_id
        ),
    ))
}

/// What a resume needs besides the run directory.
pub(super) struct Resumption<'a> {
    pub params: &'a ParamArgs,
    pub drive: &'a DriveArgs,
    pub oci: &'a super::OciArgs,
    pub quiet: bool,
}

/// Resumes a run whose lock the caller holds; `pre` records (an operator's decision) are
/// written first.
pub(super) async fn resume_locked(
    run_dir: RunDir,
    how: &Resumption<'_>,
    broken: Option<crate::checkpoint::LockOwner>,
    pre: Option<Vec<Record>>,
) -> Result<Exit, CliError> {
    let mut meta = run_dir.meta()?;
    let stored_text = match run_dir.runbook_text() {
        Ok(text) => text,
        Err(e) if !run_dir.runbook_path().exists() => original_runbook(&run_dir, &meta).ok_or(e)?,
        Err(e) => return Err(e.into()),
    };
    let actions = crate::actions::builtin();
    let stored = crate::runbook::load(&meta.runbook_path, &stored_text, &actions)?;
    // Read before anything is appended: opening the journal cuts off a torn last record.
    let mut replay = run_dir.replay()?;
    refuse_if_cleaned_up(&replay, &meta)?;
    if let Some(owner) = broken {
        replay.extend([record_broken_lock(&run_dir, &owner).await?]);
    }
    if pre.is_none() && replay.last_end == Some(crate::checkpoint::RunState::Succeeded) {
        // Nothing is left to do; a new segment would only stretch the run's measured RTO.
        if !how.quiet {
            crate::errln!("run {} already succeeded; nothing to resume", meta.run_id);
        }
        return Ok(Exit::Success);
    }
    let Taken { runbook, note: changed_note, cancelled, swap } =
        runbook_to_resume(&run_dir, &meta, (stored, &stored_text), &replay, how, &actions)?;
    let runbook = Arc::new(runbook);
    let redactor = Redactor::new();
    let values = params::resolve(&runbook, how.params, Some(&meta.params), &redactor)?;
    // A run started with `--sim` goes on against the same simulator, unless the operator
    // names other endpoints; another, with the OCI settings it started with, unless told
    // otherwise, and never in another tenancy. Checked before this resume is put on record.
    let oci = super::target::for_run(&meta, how.oci);
    super::target::check(&meta, &runbook, &oci)?;
    let sim = EmbeddedSim::of_run(meta.sim.as_deref(), &oci).await?;
    let settings = EmbeddedSim::settings_or(sim.as_ref(), &oci);
    // A resume that cannot go on records nothing, nor does the operator's decision it carries:
    // the same command, given again once the setup is fixed, does both.
    let again = pre.is_some().then_some("the same command again");
    if let Err(e) = oci_setup_reads(&runbook, &settings, &run_dir, how.drive.yes, again) {
        if let Some(sim) = sim {
            sim.stop().await;
        }
        return Err(e);
    }
    // Every check has passed: only now does a changed runbook replace the run's copy (a
    // resume refused above leaves the run as it was, and the next command checks again), and
    // do parameters it declares join the run's.
    if let Some(swap) = &swap {
        run_dir.write_file(&swap.kept, swap.old.as_bytes())?;
        run_dir.write_file("runbook.yaml", swap.new.as_bytes())?;
    }
    record_new_params(&run_dir, &mut meta, &runbook, &values)?;
    // Settings given here that passed become the run's own, so the commands printed later
    // (which carry no OCI flags) go where this one goes.
    if let Some(target) = super::target::updated(&meta, how.oci) {
        meta.oci = Some(target);
        let json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| CliError::failed(format!("cannot record the run's OCI settings: {e}")))?;
        run_dir.write_file("meta.json", &json)?;
    }
    if replay.torn_tail && !how.quiet {
        crate::errln!("note: the journal's last record was cut short (a crash, or a full disk) and is ignored: what it recorded had not been acknowledged");
    }
    let actor = Actor::current();
    let mut appended = Vec::new();
    appended.extend(pre.into_iter().flatten().map(|record| masked(record, &redactor)));
    appended.extend(cancelled);
    appended.push(Record::Audit {
        action: AuditAction::Resume,
        task: None,
        actor,
        reason: changed_note.unwrap_or_default(),
        at: now_millis(),
    });
    let journal = run_dir.open_journal()?;
    for record in &appended {
        journal.append_nowait(record);
    }
    journal.flush().wait().await?;
    drop(journal);
    replay.extend(appended);
    crate::outln!("run {}", meta.run_id);
    let ctx = DriveContext { runbook, params: values, redactor, run_dir, replay, resumed: true, meta, oci: settings };
    let exit = drive(ctx, how.drive, how.quiet).await;
    if let Some(sim) = sim {
        sim.stop().await;
    }
    exit
}

/// The runbook a resume goes on with, and what its audit record says of it: the run's own
/// copy, or the file it started from as changed since (with `--allow-changed`).
fn runbook_to_resume(
    run_dir: &RunDir,
    meta: &RunMeta,
    (stored, stored_text): (Runbook, &str),
    replay: &Replay,
    how: &Resumption<'_>,
    actions: &crate::actions::ActionRegistry,
) -> Result<Taken, CliError> {
    let unchanged = |runbook| Ok(Taken { runbook, note: None, cancelled: Vec::new(), swap: None });
    match std::fs::read_to_string(&meta.runbook_path).ok() {
        Some(text) if text != stored_text => {
            let current = crate::runbook::load(&meta.runbook_path, &text, actions)?;
            take_changed(run_dir, meta, (&stored, stored_text), (current, &text), replay, how)
        }
        Some(_) => unchanged(stored),
        None => {
            if !how.quiet {
                crate::errln!("note: {} is gone; resuming with the copy kept in the run directory", meta.runbook_path);
            }
            unchanged(stored)
        }
    }
}

/// The runbook a resume takes, the note its audit record carries, and the records of what it
/// cancels.
struct Taken {
    runbook: Runbook,
    note: Option<String>,
    cancelled: Vec<Record>,
    /// For a changed runbook: the run's copy to replace, once the resume has passed its checks.
    swap: Option<Swap>,
}

/// A changed runbook taking the place of the run's copy: the copy run until now is kept as
/// `kept`.
struct Swap {
    kept: String,
    old: String,
    new: String,
}

/// Takes the runbook file as changed since the run's copy was made (`current`, read from
/// `text`), when `--allow-changed` says to: keeps the copy the run ran until now beside it, cancels what was in doubt in tasks
/// it removes, and says what changed, for the resume's audit record.
fn take_changed(
    run_dir: &RunDir,
    meta: &RunMeta,
    (stored, stored_text): (&Runbook, &str),
    (current, text): (Runbook, &str),
    replay: &Replay,
    how: &Resumption<'_>,
) -> Result<Taken, CliError> {
    let changed = changed_tasks(stored, &current);
    // The file as it was when the run started, and the run's own copy edited since: the
    // copy is what changed, not the runbook (unless a resume took a new runbook, keeping
    // the first as runbook.1.yaml).
    let never_replaced = !run_dir.path.join("runbook.1.yaml").exists();
    if never_replaced && crate::hash::sha256_hex(text.as_bytes()) == meta.runbook_sha256 {
        return Err(CliError::usage_help(
            format!(
                "{}: the run's copy of its runbook differs from the one it started with (edited or \
                 damaged), while {} is unchanged",
                run_dir.runbook_path().display(),
                meta.runbook_path
            ),
            format!(
                "put the run's copy back: cp {} {}",
                crate::ui::shell_word(&meta.runbook_path),
                crate::ui::shell_word(&run_dir.runbook_path().display().to_string())
            ),
        ));
    }
    if !how.drive.allow_changed {
        return Err(CliError::usage_help(
            format!(
                "{} changed since run {} started; changed tasks: {}",
                meta.runbook_path,
                meta.run_id,
                if changed.is_empty() { "none (only text outside tasks)".to_owned() } else { changed.join(", ") }
            ),
            "add --allow-changed to this command to use the new runbook, or restore the file",
        ));
    }
    // The runbook the earlier segments ran is kept beside the new one, and the audit
    // record of this resume says what changed.
    let kept = (1..)
        .map(|k| format!("runbook.{k}.yaml"))
        .find(|name| !run_dir.path.join(name).exists())
        .unwrap_or_else(|| "runbook.old.yaml".to_owned());
    let (dropped, cancelled) = cancel_removed_in_doubt(replay, &current, how.quiet);
    let dropped =
        if dropped.is_empty() { String::new() } else { format!("; cancelled, in doubt: {}", dropped.join(", ")) };
    let note = format!(
        "with a changed runbook (--allow-changed): {}{dropped}; sha256 {} -> {}; the runbook run until now is \
         kept as {kept}",
        if changed.is_empty() { "no task changed".to_owned() } else { format!("changed tasks {}", changed.join(", ")) },
        &stored.source.sha256[..12.min(stored.source.sha256.len())],
        &current.source.sha256[..12.min(current.source.sha256.len())],
    );
    let swap = Swap { kept, old: stored_text.to_owned(), new: text.to_owned() };
    Ok(Taken { runbook: current, note: Some(note), cancelled, swap: Some(swap) })
}

/// Ends cancelled each instance in doubt whose task a changed runbook removed: it will neither
/// run again nor be checked, and a command it left running is left alone. Gives the instances,
/// as shown, and their records.
fn cancel_removed_in_doubt(replay: &Replay, current: &Runbook, quiet: bool) -> (Vec<String>, Vec<Record>) {
    let mut cancelled = Vec::new();
    let mut dropped = Vec::new();
    for id in &replay.order {
        let Some(r) = replay.instances.get(id) else { continue };
        if r.state != crate::checkpoint::TaskState::Running || current.task_index(&id.task).is_some() {
            continue;
        }
        let left = r.live_orphan().map_or(String::new(), |pid| format!(" (its command, pid {pid}, still runs)"));
        dropped.push(format!("{id}{left}"));
        cancelled.push(Record::Cancelled { id: id.clone(), at: now_millis() });
    }
    if !dropped.is_empty() && !quiet {
        crate::errln!(
            "note: in doubt when removed from the runbook, now cancelled: {}; drctl leaves what they did, and \
             any command still running, as it is",
            dropped.join(", ")
        );
    }
    (dropped, cancelled)
}

/// An operator's record as it goes on record: a reason, error or output that quotes a secret
/// the run was given is masked like everything else.
pub(super) fn masked(record: Record, redactor: &Redactor) -> Record {
    match record {
        Record::Audit { action, task, actor, reason, at } => {
            Record::Audit { action, task, actor, reason: redactor.mask(&reason).into_owned(), at }
        }
        Record::Done { id, outputs, at, checked, mut masked } => {
            let mut stored = serde_json::Map::with_capacity(outputs.len());
            for (name, value) in outputs {
                let shown = redactor.mask_value(&value);
                if shown != value && !masked.contains(&name) {
                    masked.push(name.clone());
                }
                stored.insert(name, shown);
            }
            Record::Done { id, outputs: stored, at, checked, masked }
        }
        Record::Failed { id, error, at } => Record::Failed { id, error: redactor.mask(&error).into_owned(), at },
        Record::Skipped { id, reason, at, by_operator } => {
            Record::Skipped { id, reason: redactor.mask(&reason).into_owned(), at, by_operator }
        }
        other => other,
    }
}

/// Parameters a changed runbook declares that the run did not have (given at this resume)
/// join the run's metadata, so that a later resume keeps them like the others: it refuses a
/// different value, and asks again for a secret.
fn record_new_params(run_dir: &RunDir, meta: &mut RunMeta, runbook: &Runbook, values: &Value) -> Result<(), CliError> {
    let mut changed = false;
    for (name, value) in params::stored_form(runbook, values) {
        if !meta.params.contains_key(&name) {
            meta.params.insert(name, value);
            changed = true;
        }
    }
    for name in runbook.secret_params() {
        if !meta.secret_params.iter().any(|s| s == name) {
            meta.secret_params.push(name.to_owned());
            changed = true;
        }
    }
    if changed {
        let json = serde_json::to_vec_pretty(meta)
            .map_err(|e| CliError::failed(format!("cannot record the run's parameters: {e}")))?;
        run_dir.write_file("meta.json", &json)?;
    }
    Ok(())
}

/// Tasks whose definition differs between two versions of a runbook (or exists in one only).
fn changed_tasks(old: &Runbook, new: &Runbook) -> Vec<String> {
    let fingerprint = |rb: &Runbook, i: usize| {
        let t = &rb.tasks[i];
        let deps: Vec<&str> = t.deps.iter().map(|d| rb.tasks[d.task].id.as_str()).collect();
        format!(
            "{}|{:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            t.uses,
            t.phase,
            deps,
            t.with.to_source_value(),
            t.for_each.as_ref().map(|f| format!("{f:?}")),
            t.condition.as_ref().map(|c| format!("{c:?}")),
            t.retry,
            t.timeout,
            t.on_failure,
            t.check.as_ref().map(|c| (&c.uses, c.with.to_source_value())),
            t.secret_outputs,
            t.concurrency,
            t.estimate
        )
    };
    let mut changed = Vec::new();
    for (i, task) in new.tasks.iter().enumerate() {
        match old.task_index(&task.id) {
            Some(j) if fingerprint(old, j) == fingerprint(new, i) => {}
            Some(_) => changed.push(task.id.clone()),
            None => changed.push(format!("{} (new)", task.id)),
        }
    }
    for task in &old.tasks {
        if new.task_index(&task.id).is_none() {
            changed.push(format!("{} (removed)", task.id));
        }
    }
    changed
}

/// The runbook the run started from, when its copy in the run directory is lost but the file
/// it was started from is still there with the same sha256: the copy is written again.
fn original_runbook(run_dir: &RunDir, meta: &crate::checkpoint::RunMeta) -> Option<String> {
    let text = std::fs::read_to_string(&meta.runbook_path).ok()?;
    // The same digest the run recorded its runbook by.
    if crate::hash::sha256_hex(text.as_bytes()) != meta.runbook_sha256 {
        return None;
    }
    run_dir.restore_runbook(&text).ok()?;
    crate::errln!(
        "note: the run directory's copy of the runbook is gone; {} is the same file (sha256), so it is used and copied back",
        meta.runbook_path
    );
    Some(text)
}
