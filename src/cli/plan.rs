//! `drctl plan FILE`: the dry run. Makes no call and writes nothing but `--save`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::{params, CliError, Exit, OutputFormat, ParamArgs, StateArgs};
use crate::checkpoint::{RunDir, TaskState};
use crate::plan::{self, Plan};
use crate::runbook::Runbook;
use crate::ui::redact::Redactor;

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// The runbook file.
    pub file: PathBuf,
    #[command(flatten)]
    pub params: ParamArgs,
    /// How many tasks may run at once, for the waves and the estimate (default: the runbook's, else 8).
    #[arg(long, value_parser = super::at_least_one)]
    pub parallelism: Option<usize>,
    /// `json` for tools: the waves, each task's resolved inputs, the critical path and the estimate.
    #[arg(long, short, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Save the plan (JSON, with hashes) for `drctl run --plan`.
    #[arg(long, value_name = "PLAN.json")]
    pub save: Option<PathBuf>,
    /// Plan a drill (game day): `run.drill` reads true, as under `drctl run --drill`.
    #[arg(long)]
    pub drill: bool,
    #[command(flatten)]
    pub state: StateArgs,
    /// Also ask OCI (read-only calls) what each task would create, update or leave alone.
    #[arg(long)]
    pub refresh: bool,
    /// With --refresh: ask the simulator of a `run --sim` (default directory: <state dir>/sim).
    #[arg(long, value_name = "DIR", requires = "refresh")]
    #[allow(clippy::option_option)]
    pub sim: Option<Option<PathBuf>>,
}

/// How many succeeded runs of a runbook [`history`] reads at most.
const HISTORY_RUNS: usize = 10;

/// Measured durations of each task: from the latest succeeded run of the same runbook in which
/// it ran (a task skipped in that run, by its condition or by an operator, keeps its measure
/// from an earlier one). A `for_each` task takes its longest instance.
pub fn history(state_dir: &Path, runbook: &Runbook) -> HashMap<String, Duration> {
    let mut out: HashMap<String, Duration> = HashMap::new();
    let succeeded = RunDir::list(state_dir).into_iter().rev().filter_map(|dir| {
        let meta = dir.meta().ok().filter(|meta| meta.runbook_name == runbook.name)?;
        let replay = dir.replay().ok().filter(|r| r.last_end == Some(crate::checkpoint::RunState::Succeeded))?;
        Some((meta, replay))
    });
    for (_, replay) in succeeded.take(HISTORY_RUNS) {
        let mut measured: HashMap<&str, Duration> = HashMap::new();
        for (id, rec) in &replay.instances {
            if let (TaskState::Succeeded, Some(s), Some(e)) = (rec.state, rec.last_start, rec.end) {
                let d = Duration::from_millis(e.saturating_sub(s));
                let slot = measured.entry(id.task.as_str()).or_insert(Duration::ZERO);
                *slot = (*slot).max(d);
            }
        }
        for (task, d) in measured {
            out.entry(task.to_owned()).or_insert(d);
        }
        if runbook.tasks.iter().all(|t| out.contains_key(&t.id)) {
            break;
        }
    }
    out
}

fn build(
    runbook: &Runbook,
    values: &Value,
    redactor: &Redactor,
    parallelism: usize,
    drill: bool,
    state_dir: &Path,
) -> Plan {
    let actions = crate::actions::builtin();
    plan::build(runbook, &actions, values, redactor, parallelism, drill, &history(state_dir, runbook))
}

pub async fn plan(args: PlanArgs, oci: &super::OciArgs) -> Result<Exit, CliError> {
    let runbook = super::validate::load_file(&args.file)?;
    let redactor = Redactor::new();
    let values = params::resolve(&runbook, &args.params, None, &redactor)?;
    let parallelism = args.parallelism.or(runbook.parallelism).unwrap_or(8).max(1);
    let plan = build(&runbook, &values, &redactor, parallelism, args.drill, &args.state.state_dir);
    let errors = plan.errors();
    if let Some(path) = args.save.as_ref().filter(|_| errors.is_empty()) {
        std::fs::File::create(path)
            .and_then(|file| write_json(file, &plan))
            .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))?;
    }
    // The refresh describes the live region, not the plan: it stays out of the saved plan and
    // its hash, so `run --plan` still compares what was reviewed with what would run.
    // The plan itself is shown before the live regions are read: reads can take minutes when
    // a region does not answer.
    let human = matches!(args.output, OutputFormat::Human);
    if human {
        crate::out!("{}", plan::render_text(&plan));
    }
    let refreshed = if args.refresh {
        if human {
            crate::errln!("reading the live state of what the plan touches...");
        }
        let sim = match &args.sim {
            Some(dir) => {
                let dir = dir.clone().unwrap_or_else(|| args.state.state_dir.join("sim"));
                if !dir.join(crate::sim::setup::SIM_JSON).exists() {
                    return Err(CliError::usage_help(
                        format!("there is no simulator in {}", dir.display()),
                        "run the runbook with `drctl run ... --sim SEED` first, or name the directory with --sim DIR",
                    ));
                }
                Some(super::embedded_sim::EmbeddedSim::start(&dir, None, true).await?)
            }
            None => None,
        };
        let mut settings = super::embedded_sim::EmbeddedSim::settings_or(sim.as_ref(), oci);
        settings.retry = Some(crate::oci::RetryPolicy::preview());
        let actions = crate::actions::builtin_with(settings);
        let refreshed = plan::refresh(&runbook, &values, &actions, &redactor, args.drill).await;
        if let Some(sim) = sim {
            sim.stop().await;
        }
        Some(refreshed)
    } else {
        None
    };
    match args.output {
        OutputFormat::Json => match &refreshed {
            Some(r) => {
                let mut value = serde_json::to_value(&plan).map_err(|e| CliError::failed(e.to_string()))?;
                value["refresh"] = serde_json::to_value(r).map_err(|e| CliError::failed(e.to_string()))?;
                crate::outln!("{}", serde_json::to_string_pretty(&value).map_err(|e| CliError::failed(e.to_string()))?);
            }
            None => match write_json(std::io::stdout().lock(), &plan) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(CliError::failed(format!("cannot write the plan: {e}")));
                }
                _ => {}
            },
        },
        OutputFormat::Human => {
            if let Some(r) = &refreshed {
                crate::out!("{}", plan::render_refresh(r));
            }
        }
    }
    if !errors.is_empty() {
        return Err(CliError::usage_help(
            format!(
                "{} {} would fail with these parameters:\n  {}",
                errors.len(),
                if errors.len() == 1 { "expression or input" } else { "expressions or inputs" },
                errors.iter().map(|e| crate::ui::one_line(e)).collect::<Vec<_>>().join("\n  ")
            ),
            "fix the expression, the input or the parameter it reads (a plan with errors is not saved)",
        ));
    }
    if let Some(path) = &args.save {
        let drill = if args.drill { " --drill" } else { "" };
        let params = if args.params.params.is_empty() && args.params.params_file.is_none() {
            ""
        } else {
            " (and the same parameters)"
        };
        crate::errln!(
            "saved to {}; run it with: drctl run {} --plan {}{drill}{params}",
            path.display(),
            args.file.display(),
            path.display()
        );
    }
    // A preview that hit errors (an unreadable config, a refused read) foretells a run that
    // fails there: `plan --refresh && run` must stop.
    if let Some(n) = refreshed.as_ref().map(|r| r.summary.errors).filter(|n| *n > 0) {
        return Err(CliError::failed_help(
            format!(
                "the refresh hit {n} error{} (marked `!` above); a run would fail there",
                if n == 1 { "" } else { "s" }
            ),
            "fix what they name (credentials, endpoints, the inventory), then plan again",
        ));
    }
    // The process ends right after; freeing ten thousand tasks' worth of small allocations
    // one by one would only delay the exit.
    std::mem::forget((runbook, plan));
    Ok(Exit::Success)
}

/// The plan as pretty JSON and a newline, streamed: a 10,000-task plan is megabytes.
fn write_json(out: impl Write, plan: &Plan) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
    serde_json::to_writer_pretty(&mut out, plan)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Refuses unless the saved plan matches what would run now.
pub fn check_saved(
    path: &Path,
    runbook: &Runbook,
    values: &Value,
    redactor: &Redactor,
    parallelism: usize,
    drill: bool,
    state_dir: &Path,
) -> Result<(), CliError> {
    let text = crate::input::read_text(path)
        .map_err(|e| CliError::usage(format!("cannot read plan {}: {e}", path.display())))?;
    let saved: Plan = serde_json::from_str(&text)
        .map_err(|e| CliError::usage(format!("{} is not a saved plan: {e}", path.display())))?;
    let mut current = build(runbook, values, redactor, parallelism, drill, state_dir);
    // Where the runbook was read from does not change what runs; its content (hash) does.
    current.runbook_path.clone_from(&saved.runbook_path);
    current.plan_sha256 = current.content_hash();
    // Estimates come from history, which may have grown since; they do not change what runs.
    if current.critical_path_ms != saved.critical_path_ms
        || current.estimated_ms != saved.estimated_ms
        || current.waves != saved.waves
    {
        let mut aligned = current.clone();
        for (wave, saved_wave) in aligned.waves.iter_mut().zip(&saved.waves) {
            for (task, saved_task) in wave.iter_mut().zip(saved_wave) {
                task.estimate_ms = saved_task.estimate_ms;
            }
        }
        aligned.critical_path_ms = saved.critical_path_ms;
        aligned.estimated_ms = saved.estimated_ms;
        aligned.critical_path = saved.critical_path.clone();
        aligned.plan_sha256 = aligned.content_hash();
        current = aligned;
    }
    let changes = plan::compare_saved(&saved, &current);
    if changes.is_empty() {
        return Ok(());
    }
    Err(CliError::usage_help(
        format!("the saved plan {} no longer matches: {}", path.display(), changes.join("; ")),
        "review a fresh plan with `drctl plan ... --save` and run that",
    ))
}
