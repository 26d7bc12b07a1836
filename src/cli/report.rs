//! `drctl report RUN`: a run's report as Markdown, JUnit XML, HTML or JSON, on stdout or to a
//! file; with `--fail-on-rto`, exit 1 when the measured RTO is over the objective.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{CliError, Exit, OciArgs, StateArgs};
use crate::checkpoint::RunDir;
use crate::report::{self, Report};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The run id (or a unique prefix).
    pub run: String,
    /// What to write: a Markdown report, JUnit XML for CI, a self-contained HTML page, or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when the measured RTO (wall time) is over the runbook's objective, or when the run
    /// did not succeed (failed, paused or interrupted), with or without an objective.
    #[arg(long)]
    pub fail_on_rto: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportFormat {
    #[default]
    Markdown,
    Junit,
    Html,
    Json,
}

pub fn report(args: ReportArgs, oci: &OciArgs) -> Result<Exit, CliError> {
    let dir = RunDir::open(&args.state.state_dir, &args.run)?;
    let built = report::build(&dir, &crate::actions::builtin_with(oci.settings())).map_err(failed)?;
    let text = render(&built, args.format)?;
    match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .map_err(|e| CliError::failed(format!("cannot write {}: {e}", path.display())))?,
        None => crate::out!("{text}"),
    }
    if !args.fail_on_rto {
        return Ok(Exit::Success);
    }
    match built.rto.met() {
        Some(false) => {
            crate::errln!("error: {} (run {})", report::rto_verdict(&built.rto), built.run.run_id);
            Ok(Exit::Failed)
        }
        Some(true) => Ok(Exit::Success),
        // Without an objective there is no time to check, but a recovery that did not complete
        // has not met any objective: a CI gate must not pass a failed drill.
        None if !built.rto.finished => {
            crate::errln!(
                "error: run {} did not complete (it is {}); the runbook sets no RTO objective",
                built.run.run_id,
                built.run.state
            );
            Ok(Exit::Failed)
        }
        None => {
            crate::errln!("note: run {} has no RTO objective; --fail-on-rto has nothing to check", built.run.run_id);
            Ok(Exit::Success)
        }
    }
}

fn render(built: &Report, format: ReportFormat) -> Result<String, CliError> {
    Ok(match format {
        ReportFormat::Markdown => report::markdown::render(built),
        ReportFormat::Junit => report::junit::render(built).map_err(failed)?,
        ReportFormat::Html => report::html::render(built),
        ReportFormat::Json => {
            let mut text = serde_json::to_string_pretty(built).map_err(|e| CliError::failed(e.to_string()))?;
            text.push('\n');
            text
        }
    })
}

fn failed(e: report::ReportError) -> CliError {
    match e {
        report::ReportError::Checkpoint(c) => c.into(),
        other => CliError::failed(other.to_string()),
    }
}
