//! `drctl run` and `drctl resume`, and the drive loop they share with the operator commands.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::embedded_sim::EmbeddedSim;
use super::{params, CliError, Exit, ParamArgs, ProgressMode, StateArgs};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::{new_run_id, Actor, AuditAction, Record, Replay, RunDir, RunLock, RunMeta, TaskState};
use crate::engine::{self, EngineConfig};
use crate::runbook::Runbook;
use crate::ui::progress;
use crate::ui::redact::Redactor;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The runbook file.
    pub file: PathBuf,
    #[command(flatten)]
    pub params: ParamArgs,
    /// How many tasks may run at once (default: the runbook's, else 8).
    #[arg(long, value_parser = super::at_least_one)]
    pub parallelism: Option<usize>,
    #[command(flatten)]
    pub state: StateArgs,
    /// Approve every approval task (drills, CI).
    #[arg(long)]
    pub yes: bool,
    /// Refuse to start unless this saved plan still matches the runbook and parameters.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Mark the run as a drill (game day).
    #[arg(long)]
    pub drill: bool,
    /// How progress shows: `auto` (bars on a terminal, plain lines elsewhere), `bars` or `plain`.
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressMode,
    /// Run against an OCI simulator inside this process instead of OCI; with an inventory
    /// file, a fresh simulator's source region is seeded from it.
    #[arg(long, value_name = "SEED")]
    #[allow(clippy::option_option)]
    pub sim: Option<Option<PathBuf>>,
    /// Directory of the `--sim` simulator (default: <state dir>/sim).
    #[arg(long, value_name = "DIR", requires = "sim")]
    pub sim_dir: Option<PathBuf>,
}

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

/// Options of every command that drives a run onwards.
#[derive(Args, Debug, Clone, Default)]
pub struct DriveArgs {
    /// Resume even though the runbook file changed since the run started.
    #[arg(long)]
    pub allow_changed: bool,
    /// Break the lock of a run whose driving process is gone.
    #[arg(long)]
    pub break_lock: bool,
    /// Approve every approval task the run reaches from now on (drills, CI).
    #[arg(long)]
    pub yes: bool,
    /// How many tasks may run at once from now on (default: the runbook's, else 8).
    #[arg(long, value_parser = super::at_least_one)]
    pub parallelism: Option<usize>,
    /// How progress shows: `auto` (bars on a terminal, plain lines elsewhere), `bars` or `plain`.
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressMode,
}

pub async fn run(args: RunArgs, oci: &super::OciArgs, quiet: bool) -> Result<Exit, CliError> {
    let runbook = Arc::new(super::validate::load_file(&args.file)?);
    let redactor = Redactor::new();
    let values = params::resolve(&runbook, &args.params, None, &redactor)?;
    let parallelism = args.parallelism.or(runbook.parallelism).unwrap_or(8).max(1);
    match &args.plan {
        // The plan matches the one saved, and a plan with errors is never saved: nothing in it
        // would fail, and it need not be built a second time.
        Some(plan_path) => super::plan::check_saved(
            plan_path,
            &runbook,
            &values,
            &redactor,
            parallelism,
            args.drill,
            &args.state.state_dir,
        )?,
        None => refuse_what_would_fail(&runbook, &values, &redactor, parallelism, args.drill)?,
    }
    let sim = match &args.sim {
        Some(seed) => {
            let dir = args.sim_dir.clone().unwrap_or_else(|| args.state.state_dir.join("sim"));
            Some(EmbeddedSim::start(&dir, seed.as_deref(), quiet).await?)
        }
        None => None,
    };
    let run_id = new_run_id();
    let runbook_path = std::fs::canonicalize(&args.file).unwrap_or_else(|_| args.file.clone());
    let meta = RunMeta {
        work_dir: std::env::current_dir().ok().map(|d| d.display().to_string()),
        run_id: run_id.clone(),
        runbook_name: runbook.name.clone(),
        runbook_path: runbook_path.display().to_string(),
        runbook_sha256: runbook.source.sha256.clone(),
        params: params::stored_form(&runbook, &values),
        secret_params: runbook.secret_params().map(str::to_owned).collect(),
        created_at: now_millis(),
        actor: Actor::current(),
        drill: args.drill,
        parallelism: Some(parallelism),
        rto_ms: runbook.rto.map(|d| d.as_millis() as u64),
        drctl_version: env!("CARGO_PKG_VERSION").to_owned(),
        sim: sim.as_ref().map(|s| s.dir.display().to_string()),
        params_file: args
            .params
            .params_file
            .as_ref()
            .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()).display().to_string()),
        flag_params: flag_names(&args.params.params),
        oci: sim.is_none().then(|| super::target::record(&runbook, oci)),
    };
    let run_dir = RunDir::create(&args.state.state_dir, &meta, &runbook.source.text)?;
    tracing::info!(dir = %run_dir.path.display(), tasks = runbook.tasks.len(), "run directory created");
    crate::outln!("run {run_id}");
    let (lock, _) = RunLock::acquire(&run_dir.path, false)?;
    let drive_args =
        DriveArgs { yes: args.yes, parallelism: Some(parallelism), progress: args.progress, ..DriveArgs::default() };
    let ctx = DriveContext {
        runbook,
        params: values,
        redactor,
        run_dir,
        meta,
        replay: Replay::default(),
        resumed: false,
        oci: EmbeddedSim::settings_or(sim.as_ref(), oci),
    };
    let exit = drive(ctx, &drive_args, quiet).await;
    drop(lock);
    if let Some(sim) = sim {
        sim.stop().await;
    }
    exit
}

/// Inputs and expressions that fail with these parameters would fail the run when their task
/// starts, after earlier tasks changed the world, and a resume keeps the parameters: refused
/// before anything starts, as `drctl plan` refuses them. Only a runbook with templates needs
/// the plan for this.
pub(super) fn refuse_what_would_fail(
    runbook: &Runbook,
    values: &Value,
    redactor: &Redactor,
    parallelism: usize,
    drill: bool,
) -> Result<(), CliError> {
    let templated = runbook.tasks.iter().any(|t| {
        t.with.has_templates()
            || t.condition.is_some()
            || matches!(t.for_each, Some(crate::runbook::checked::ForEach::Expr(_)))
    });
    if !templated {
        return Ok(());
    }
    let actions = crate::actions::builtin();
    let plan =
        crate::plan::build(runbook, &actions, values, redactor, parallelism, drill, &std::collections::HashMap::new());
    // Each named with the place of its task in the runbook.
    let errors: Vec<String> = plan
        .waves
        .iter()
        .flatten()
        .flat_map(|t| {
            let at = runbook.task_index(&t.id).map_or(0, |i| runbook.tasks[i].span.start);
            let (line, column) = crate::runbook::problem::line_col(&runbook.source.text, at);
            let place = format!("{}:{line}:{column}", runbook.source.path);
            t.errors.iter().map(move |e| format!("{place}: {}: {e}", t.id))
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(CliError::usage_help(
        format!(
            "{} {} would fail with these parameters, so a run with them does not start:\n  {}",
            errors.len(),
            if errors.len() == 1 { "expression or input" } else { "expressions or inputs" },
            errors.join("\n  ")
        ),
        "fix the expression, the input or the parameter it reads; `drctl plan` shows them in the whole plan",
    ))
}

/// What [`drive`] needs.
pub(super) struct DriveContext {
    pub runbook: Arc<Runbook>,
    pub params: Value,
    pub redactor: Redactor,
    pub run_dir: RunDir,
    pub meta: RunMeta,
    pub replay: Replay,
    pub resumed: bool,
    pub oci: crate::actions::oci::OciSettings,
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
        0 => "lock file left empty by a crash".to_owned(),
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

/// Resumes a run whose lock the caller holds; `pre` records (an operator's decision) are
/// written first.
/// What a resume needs besides the run directory.
pub(super) struct Resumption<'a> {
    pub params: &'a ParamArgs,
    pub drive: &'a DriveArgs,
    pub oci: &'a super::OciArgs,
    pub quiet: bool,
}

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
    let current_text = std::fs::read_to_string(&meta.runbook_path).ok();
    let mut changed_note = None;
    let mut cancelled = Vec::new();
    let runbook = match current_text {
        Some(text) if text != stored_text => {
            let current = crate::runbook::load(&meta.runbook_path, &text, &actions)?;
            let changed = changed_tasks(&stored, &current);
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
                        if changed.is_empty() {
                            "none (only text outside tasks)".to_owned()
                        } else {
                            changed.join(", ")
                        }
                    ),
                    "resume with --allow-changed to use the new runbook, or restore the file",
                ));
            }
            // The runbook the earlier segments ran is kept beside the new one, and the audit
            // record of this resume says what changed.
            let kept = (1..)
                .map(|k| format!("runbook.{k}.yaml"))
                .find(|name| !run_dir.path.join(name).exists())
                .unwrap_or_else(|| "runbook.old.yaml".to_owned());
            run_dir.write_file(&kept, stored_text.as_bytes())?;
            run_dir.write_file("runbook.yaml", text.as_bytes())?;
            // An instance in doubt whose task is gone will neither run again nor be checked: it
            // ends cancelled, and a command it left running is left alone.
            let mut dropped = Vec::new();
            for id in &replay.order {
                let Some(r) = replay.instances.get(id) else { continue };
                if r.state != crate::checkpoint::TaskState::Running || current.task_index(&id.task).is_some() {
                    continue;
                }
                let left =
                    r.live_orphan().map_or(String::new(), |pid| format!(" (its command, pid {pid}, still runs)"));
                dropped.push(format!("{id}{left}"));
                cancelled.push(Record::Cancelled { id: id.clone(), at: now_millis() });
            }
            if !dropped.is_empty() && !how.quiet {
                crate::errln!(
                    "note: in doubt when removed from the runbook, now cancelled: {}; drctl leaves what they did, and \
                     any command still running, as it is",
                    dropped.join(", ")
                );
            }
            let dropped = if dropped.is_empty() {
                String::new()
            } else {
                format!("; cancelled, in doubt: {}", dropped.join(", "))
            };
            changed_note = Some(format!(
                "with a changed runbook (--allow-changed): {}{dropped}; sha256 {} -> {}; the runbook run until now is \
                 kept as {kept}",
                if changed.is_empty() {
                    "no task changed".to_owned()
                } else {
                    format!("changed tasks {}", changed.join(", "))
                },
                &stored.source.sha256[..12.min(stored.source.sha256.len())],
                &current.source.sha256[..12.min(current.source.sha256.len())],
            ));
            current
        }
        Some(_) => stored,
        None => {
            if !how.quiet {
                crate::errln!("note: {} is gone; resuming with the copy kept in the run directory", meta.runbook_path);
            }
            stored
        }
    };
    let runbook = Arc::new(runbook);
    let redactor = Redactor::new();
    let values = params::resolve(&runbook, how.params, Some(&meta.params), &redactor)?;
    record_new_params(&run_dir, &mut meta, &runbook, &values)?;
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
    // Settings given here that passed become the run's own, so the commands printed later
    // (which carry no OCI flags) go where this one goes.
    if let Some(target) = super::target::updated(&meta, how.oci) {
        meta.oci = Some(target);
        let json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| CliError::failed(format!("cannot record the run's OCI settings: {e}")))?;
        run_dir.write_file("meta.json", &json)?;
    }
    if replay.torn_tail && !how.quiet {
        crate::errln!("note: the journal's last record was torn by a crash and was ignored");
    }
    let actor = Actor::current();
    let mut appended = Vec::new();
    // An operator's reason may quote a secret the run was given: masked like everything else.
    appended.extend(pre.into_iter().flatten().map(|record| match record {
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
    }));
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

/// The names `--param name=value` flags give, once each, in order.
fn flag_names(pairs: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in pairs.iter().filter_map(|p| p.split_once('=')).map(|(n, _)| n) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
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

/// Runs the engine over a run directory until the segment ends, with progress, Ctrl-C
/// handling and the closing summary.
pub(super) async fn drive(ctx: DriveContext, args: &DriveArgs, quiet: bool) -> Result<Exit, CliError> {
    check_oci_setup(&ctx, args.yes)?;
    let journal = ctx.run_dir.open_journal()?;
    crate::checkpoint::open_trace_log(&ctx.run_dir)?;
    let parallelism = args.parallelism.or(ctx.meta.parallelism).or(ctx.runbook.parallelism).unwrap_or(8).max(1);
    let observer = progress::observer(args.progress, quiet, ctx.redactor.clone());
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let approver: Option<Arc<dyn engine::Approver>> =
        if interactive && !args.yes { Some(Arc::new(progress::TerminalApprover)) } else { None };
    let stop = CancellationToken::new();
    let kill = CancellationToken::new();
    let mut interrupts = super::signals::Interrupts::listen();
    let signals = tokio::spawn({
        let (stop, kill) = (stop.clone(), kill.clone());
        async move {
            interrupts.next().await;
            stop.cancel();
            interrupts.next().await;
            kill.cancel();
        }
    });
    let run_id = ctx.run_dir.id.clone();
    let cfg = EngineConfig {
        runbook: ctx.runbook.clone(),
        params: ctx.params,
        actions: crate::actions::builtin_with(ctx.oci.clone()),
        run_dir: ctx.run_dir.clone(),
        journal: journal.clone(),
        redactor: ctx.redactor.clone(),
        observer: observer.clone(),
        approver,
        parallelism,
        approve_all: args.yes,
        drill: ctx.meta.drill,
        work_dir: ctx.meta.work_dir.as_ref().map(std::path::PathBuf::from),
        created_at: ctx.meta.created_at,
        stop,
        stop_attempts: CancellationToken::new(),
        kill,
    };
    let outcome = engine::execute(cfg, ctx.replay, ctx.resumed).await;
    signals.abort();
    observer.close();
    let outcome = outcome.map_err(|e| ended_by_the_journal(&ctx.run_dir, &run_id, &e.to_string()))?;
    // `-q` keeps what needs a person: why a run did not succeed, and what to do next.
    if !quiet || outcome.state != crate::checkpoint::RunState::Succeeded {
        let replay = ctx.run_dir.replay()?;
        let state_flag = ctx.run_dir.resume_flags();
        crate::err!("{}", crate::ui::printable(&progress::summary(&ctx.runbook, &ctx.meta, &replay, outcome.state)));
        // Named again at the end, whatever stopped the run: on a long run their notices have
        // scrolled away (or `-q` hid them).
        // An approval this segment did not reach (a run that stopped as it resumed) still waits.
        let mut awaiting = outcome.awaiting.clone();
        for id in &replay.order {
            let waits = replay.instance(id).is_some_and(|r| r.state == crate::checkpoint::TaskState::AwaitingApproval);
            if waits && !awaiting.contains(id) {
                awaiting.push(id.clone());
            }
        }
        for id in &awaiting {
            let approve = crate::ui::operator_command("approve", &run_id, &id.to_string(), &state_flag);
            crate::errln!("  ⏸ {id} awaits approval: {approve}");
        }
        // A resume asked for here approves as this segment did: a drill run with `--yes` goes
        // on with it, rather than stopping at its next approval.
        let resume = format!("drctl resume {run_id}{state_flag}{}", if args.yes { " --yes" } else { "" });
        match outcome.state {
            crate::checkpoint::RunState::Interrupted => crate::errln!("interrupted; continue with: {resume}"),
            crate::checkpoint::RunState::Paused => {
                crate::errln!("paused; continue with: {resume} (or approve, skip, retry)")
            }
            crate::checkpoint::RunState::Failed => {
                crate::err!("{}", failed_hint(&replay, &run_id, &resume, &state_flag, !ctx.runbook.params.is_empty()))
            }
            _ => {}
        }
        if outcome.state != crate::checkpoint::RunState::Succeeded {
            if let Some(note) = ctx.run_dir.secrets_to_pass() {
                crate::errln!("{note}");
            }
        }
    }
    if let Some(e) = outcome.journal_error {
        return Err(ended_by_the_journal(&ctx.run_dir, &run_id, &format!("the journal could not be written: {e}")));
    }
    Ok(Exit::from_run(outcome.state))
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

/// A runbook with OCI tasks needs the OCI config, its key and the endpoints file: read them
/// before the first task, so that a broken setup stops the run before anything ran, rather
/// than at its first OCI task after the steps before it.
fn check_oci_setup(ctx: &DriveContext, yes: bool) -> Result<(), CliError> {
    oci_setup_reads(&ctx.runbook, &ctx.oci, &ctx.run_dir, yes, None)
}

/// Refuses an OCI setup (config, key, endpoints) that does not read, when the runbook has OCI
/// tasks, before any task runs. `again` names what to give once it is fixed, when not a
/// plain resume.
fn oci_setup_reads(
    runbook: &Runbook,
    settings: &crate::actions::oci::OciSettings,
    run_dir: &RunDir,
    yes: bool,
    again: Option<&str>,
) -> Result<(), CliError> {
    let Some(task) = runbook.tasks.iter().find(|t| t.uses.starts_with("oci.")) else { return Ok(()) };
    let Err(e) = crate::actions::oci::build_client(settings) else { return Ok(()) };
    let next = match again {
        Some(what) => format!("{what} (nothing was recorded)"),
        None => format!("`drctl resume {}{}{}`", run_dir.id, run_dir.resume_flags(), if yes { " --yes" } else { "" }),
    };
    Err(CliError::usage_help(
        format!("the OCI setup this runbook's OCI tasks need (`{}` is one) does not read: {e}", task.id),
        format!(
            "fix it (or give --config-file, --profile or --endpoints), then {next}: no task has run in this segment"
        ),
    ))
}

/// The error of a run the journal ended (a full or failing disk). What the journal holds
/// decides a resume: a task shown as finished whose record did not reach the disk is in doubt,
/// and is named here rather than left to look done.
fn ended_by_the_journal(run_dir: &crate::checkpoint::RunDir, run_id: &str, error: &str) -> CliError {
    let in_doubt: Vec<String> = run_dir
        .replay()
        .map(|replay| {
            replay
                .order
                .iter()
                .filter(|id| replay.instance(id).is_some_and(|r| r.state == TaskState::Running))
                .map(ToString::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut message = error.to_owned();
    if !in_doubt.is_empty() {
        message.push_str(&format!(
            "\n  not on record, so in doubt (even if shown as finished above): {}\n  free the space or fix the disk, \
             then `drctl resume {run_id}{}`: each runs again with the same idempotency key, after its `check` if it \
             has one",
            in_doubt.join(", "),
            run_dir.resume_flags()
        ));
    }
    CliError::failed(message)
}

/// What to do about a failed run. A denied approval stays denied on resume (a resume with
/// `--yes` must not overturn a person's decision): asking again is an explicit `drctl retry`.
fn failed_hint(
    replay: &crate::checkpoint::Replay,
    run_id: &str,
    resume: &str,
    state_flag: &str,
    has_params: bool,
) -> String {
    let mut denied = Vec::new();
    let mut other = false;
    for id in &replay.order {
        match replay.instance(id) {
            Some(rec) if rec.state == TaskState::Failed && rec.approval_message.is_some() => denied.push(id),
            Some(rec) if matches!(rec.state, TaskState::Failed | TaskState::Cancelled) => other = true,
            _ => {}
        }
    }
    let mut out = String::new();
    if other || denied.is_empty() {
        out.push_str(&format!("failed; after fixing the cause: {resume}\n"));
        if has_params {
            // A resume keeps the run's parameters, and what finished tasks read and gave: a
            // wrong value, or a wrong file a finished task read (an inventory), needs a new run.
            out.push_str(
                "(if the cause is a parameter's value, or a file a finished task read, such as an inventory, start a \
                 new run with it fixed: a run keeps its parameters and what its finished tasks gave)\n",
            );
        }
    }
    for id in denied {
        let retry = crate::ui::operator_command("retry", run_id, &id.to_string(), state_flag);
        out.push_str(&format!("{id} was denied; to ask again: {retry}\n"));
    }
    out
}
