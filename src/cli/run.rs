//! `drctl run`, and the drive loop it shares with `drctl resume` and the operator commands.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::embedded_sim::EmbeddedSim;
use super::{params, CliError, Exit, ParamArgs, ProgressMode, StateArgs};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::{new_run_id, Actor, Replay, RunDir, RunLock, RunMeta, TaskState};
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

/// An input or expression that fails with the parameters given, at the place of its task.
pub(super) struct WouldFail {
    pub line: usize,
    pub column: usize,
    pub task: String,
    pub message: String,
}

/// Inputs and expressions that fail with these parameters would fail the run when their task
/// starts, after earlier tasks changed the world, and a resume keeps the parameters: refused
/// before anything starts, as `drctl plan` refuses them. Only a runbook with templates needs
/// the plan for this.
pub(super) fn what_would_fail(
    runbook: &Runbook,
    values: &Value,
    redactor: &Redactor,
    parallelism: usize,
    drill: bool,
) -> Vec<WouldFail> {
    let templated = runbook.tasks.iter().any(|t| {
        t.with.has_templates()
            || t.condition.is_some()
            || matches!(t.for_each, Some(crate::runbook::checked::ForEach::Expr(_)))
    });
    if !templated {
        return Vec::new();
    }
    let actions = crate::actions::builtin();
    let plan =
        crate::plan::build(runbook, &actions, values, redactor, parallelism, drill, &std::collections::HashMap::new());
    plan.waves
        .iter()
        .flatten()
        .flat_map(|t| {
            let at = runbook.task_index(&t.id).map_or(0, |i| runbook.tasks[i].span.start);
            let (line, column) = crate::runbook::problem::line_col(&runbook.source.text, at);
            t.errors.iter().map(move |e| WouldFail {
                line,
                column,
                task: t.id.clone(),
                message: crate::ui::one_line(e).into_owned(),
            })
        })
        .collect()
}

/// [`what_would_fail`] as the error that stops a run (or `validate` with parameters), each
/// named with the place of its task in the runbook.
pub(super) fn refuse_what_would_fail(
    runbook: &Runbook,
    values: &Value,
    redactor: &Redactor,
    parallelism: usize,
    drill: bool,
) -> Result<(), CliError> {
    let failing = what_would_fail(runbook, values, redactor, parallelism, drill);
    if failing.is_empty() {
        return Ok(());
    }
    let errors: Vec<String> = failing
        .iter()
        .map(|f| format!("{}:{}:{}: {}: {}", runbook.source.path, f.line, f.column, f.task, f.message))
        .collect();
    Err(CliError::usage_help(
        format!(
            "{} {} would fail with these parameters, so a run with them does not start:\n  {}",
            errors.len(),
            if errors.len() == 1 { "expression or input" } else { "expressions or inputs" },
            errors.join("\n  ")
        ),
        REFUSED_HELP,
    ))
}

/// What to do about inputs and expressions that would fail.
pub(super) const REFUSED_HELP: &str =
    "fix the expression, the input or the parameter it reads; `drctl plan` shows them in the whole plan";

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

/// A runbook with OCI tasks needs the OCI config, its key and the endpoints file: read them
/// before the first task, so that a broken setup stops the run before anything ran, rather
/// than at its first OCI task after the steps before it.
fn check_oci_setup(ctx: &DriveContext, yes: bool) -> Result<(), CliError> {
    oci_setup_reads(&ctx.runbook, &ctx.oci, &ctx.run_dir, yes, None)
}

/// Refuses an OCI setup (config, key, endpoints) that does not read, when the runbook has OCI
/// tasks, before any task runs. `again` names what to give once it is fixed, when not a
/// plain resume.
pub(super) fn oci_setup_reads(
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
