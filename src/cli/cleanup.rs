//! `drctl cleanup RUN`: removes what a drill created. Prints the plan first, asks on a
//! terminal unless `--yes`, and exits 1 if anything could not be removed.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::embedded_sim::EmbeddedSim;
use super::{CliError, Exit, OciArgs, StateArgs};
use crate::checkpoint::RunDir;
use crate::cleanup::{self, CleanupError, CleanupPlan, Outcome};

#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// The drill's run id (or a unique prefix).
    pub run: String,
    /// Do not ask before removing.
    #[arg(long)]
    pub yes: bool,
    /// Print the plan only.
    #[arg(long)]
    pub dry_run: bool,
    /// How many removals may run at once.
    #[arg(long, default_value_t = 4, value_parser = super::at_least_one)]
    pub parallelism: usize,
    /// Take over a stale lock (its process is gone, as after a crash); recorded in the audit log.
    #[arg(long)]
    pub break_lock: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

pub async fn cleanup(args: CleanupArgs, oci: &OciArgs, quiet: bool) -> Result<Exit, CliError> {
    let dir = RunDir::open(&args.state.state_dir, &args.run)?;
    // A drill run with `--sim` is cleaned up in the same simulator; another with the OCI
    // settings it ran with, unless told otherwise, and only in its own tenancy.
    let meta = dir.meta()?;
    let oci = super::target::for_run(&meta, oci);
    if let Ok(text) = dir.runbook_text() {
        if let Ok(runbook) = crate::runbook::load(&meta.runbook_path, &text, &crate::actions::builtin()) {
            super::target::check(&meta, &runbook, &oci)?;
        }
    }
    let sim = EmbeddedSim::of_run(meta.sim.as_deref(), &oci).await?;
    let settings = EmbeddedSim::settings_or(sim.as_ref(), &oci);
    let exit = clean(&args, &dir, settings, quiet).await;
    if let Some(sim) = sim {
        sim.stop().await;
    }
    exit
}

async fn clean(
    args: &CleanupArgs,
    dir: &RunDir,
    settings: crate::actions::oci::OciSettings,
    quiet: bool,
) -> Result<Exit, CliError> {
    let docker_config = settings.docker_config.clone();
    let (prepared, broken) =
        cleanup::prepare(dir, crate::actions::builtin_with(settings), args.break_lock).map_err(cli_error)?;
    if let Some(owner) = &broken {
        super::resume::record_broken_lock(dir, owner).await?;
    }
    print_plan(&prepared.plan);
    if prepared.plan.items.is_empty() || args.dry_run {
        return Ok(Exit::Success);
    }
    // A drill that did not end well could still be continued, until it is cleaned up.
    if let Some(state) = prepared.continuable {
        crate::errln!(
            "note: run {} is {state}; once cleaned up, it cannot be resumed, approved or retried",
            prepared.plan.run_id
        );
    }
    if !args.yes && !confirm()? {
        crate::errln!("nothing removed");
        return Ok(Exit::Success);
    }
    let cancel = CancellationToken::new();
    let mut interrupts = super::signals::Interrupts::listen();
    let signals = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            interrupts.next().await;
            cancel.cancel();
        }
    });
    let report = prepared.execute(args.parallelism.max(1), cancel.clone(), docker_config).await.map_err(cli_error);
    signals.abort();
    let interrupted = cancel.is_cancelled();
    let report = report?;
    for r in &report.results {
        let what = if r.resource.is_empty() { r.action.as_str() } else { r.resource.as_str() };
        let detail = if r.detail.is_empty() { String::new() } else { format!(": {}", r.detail) };
        crate::outln!("{:<13} {} {what}{detail}", r.outcome.as_str(), r.instance);
    }
    if !quiet {
        let counts = cleanup::tally(&report.results);
        let parts: Vec<String> = [
            Outcome::Deleted,
            Outcome::Restored,
            Outcome::AlreadyGone,
            Outcome::DoneEarlier,
            Outcome::Kept,
            Outcome::Failed,
            Outcome::Blocked,
        ]
        .iter()
        .filter_map(|o| counts.get(o.as_str()).map(|n| format!("{n} {}", o.as_str())))
        .collect();
        crate::errln!("cleanup of {}: {} (recorded in {})", report.run_id, parts.join(", "), cleanup::RESULTS_FILE);
    }
    // Cut short by Ctrl-C or another signal: interrupted (130), not failed; running it again
    // goes on where it stopped.
    if interrupted {
        if !quiet {
            crate::errln!("interrupted; to go on: drctl cleanup {}{}", report.run_id, dir.state_dir_flag());
        }
        return Ok(Exit::Interrupted);
    }
    Ok(if report.failed() { Exit::Failed } else { Exit::Success })
}

/// The plan in the order it runs: each step only after the ones before it that depended on it.
fn print_plan(plan: &CleanupPlan) {
    if plan.items.is_empty() {
        crate::outln!("cleanup of drill {}: nothing this drill created is left to remove", plan.run_id);
        return;
    }
    crate::outln!("cleanup of drill {}: {} item(s)", plan.run_id, plan.items.len());
    let mut level = vec![0usize; plan.items.len()];
    // `after` only points at items that depend on this one; a few passes settle the depths.
    for _ in 0..plan.items.len() {
        for (i, item) in plan.items.iter().enumerate() {
            level[i] = item.after.iter().map(|&j| level[j] + 1).max().unwrap_or(0);
        }
    }
    let depth = level.iter().copied().max().unwrap_or(0);
    for step in 0..=depth {
        crate::outln!("  step {}:", step + 1);
        for (_, item) in plan.items.iter().enumerate().filter(|(i, _)| level[*i] == step) {
            crate::outln!("    {}", item.describe());
        }
    }
}

fn confirm() -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage_help(
            "cleanup removes cloud resources and needs a confirmation",
            "pass --yes to confirm without a terminal, or --dry-run to see the plan only",
        ));
    }
    crate::err!("remove these? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    Ok(matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

fn cli_error(e: CleanupError) -> CliError {
    match e {
        CleanupError::Checkpoint(c) => c.into(),
        CleanupError::NotADrill { .. } => CliError::usage_help(
            e.to_string(),
            "only runs started with `drctl run --drill` tag what they create; remove other runs' resources by hand",
        ),
        other => CliError::failed(other.to_string()),
    }
}
