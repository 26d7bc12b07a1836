//! Command-line interface: clap definitions and one file per group of subcommands.
//!
//! Every command returns an [`ExitCode`]-deciding result to `main`, which renders errors with
//! miette; exit codes are decided in [`exit`] only.

mod cleanup;
mod embedded_sim;
mod exit;
mod graph;
mod image;
mod inspect;
mod inventory;
mod oci;
mod operator;
mod params;
mod plan;
mod report;
mod resume;
mod run;
mod signals;
mod target;
mod validate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use exit::{CliError, Exit};
pub use params::InvalidParams;

/// drctl: declarative disaster-recovery runbooks — validate, plan, run, resume, drill.
#[derive(Parser, Debug)]
#[command(name = "drctl", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors: no progress, and no summary for a run that succeeds (one that fails,
    /// pauses or is interrupted still ends with its summary and what to do next).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(flatten)]
    pub oci: OciArgs,
}

/// Where OCI credentials and endpoints come from.
#[derive(Args, Debug, Clone, Default)]
pub struct OciArgs {
    /// OCI config file (default: OCI_CONFIG_FILE, else ~/.oci/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Profile of the OCI config file (default: OCI_CLI_PROFILE, else DEFAULT).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// JSON file mapping regions to base URLs, for every service of that region (a simulator).
    #[arg(long, global = true, env = "DRCTL_ENDPOINTS", value_name = "FILE")]
    pub endpoints: Option<PathBuf>,
}

impl OciArgs {
    pub fn settings(&self) -> crate::actions::oci::OciSettings {
        crate::actions::oci::OciSettings {
            config_file: self.config_file.clone(),
            profile: self.profile.clone(),
            endpoints_file: self.endpoints.clone(),
            retry: None,
            auth: None,
            docker_config: None,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a runbook and report every problem with its place.
    Validate(validate::ValidateArgs),
    /// Show what a run would do, in order, with the critical path and the RTO estimate.
    Plan(plan::PlanArgs),
    /// Print the dependency graph as DOT or Mermaid.
    Graph(graph::GraphArgs),
    /// Run a runbook.
    Run(run::RunArgs),
    /// Continue an interrupted, paused or failed run.
    Resume(resume::ResumeArgs),
    /// Show the state of a run.
    Status(inspect::StatusArgs),
    /// List runs.
    Runs(inspect::RunsArgs),
    /// Report on a run: RTO against the objective, phases, tasks, approvals, failures.
    Report(report::ReportArgs),
    /// Remove what a drill created, in reverse dependency order.
    Cleanup(cleanup::CleanupArgs),
    /// Approve a waiting approval task, then continue the run.
    Approve(operator::DecisionArgs),
    /// Deny a waiting approval task, then continue the run.
    Deny(operator::DecisionArgs),
    /// Mark a task skipped, then continue the run.
    Skip(operator::DecisionArgs),
    /// Run a failed task again, then continue the run.
    Retry(operator::DecisionArgs),
    /// Print the JSON Schema of the runbook format.
    Schema,
    /// The local OCI simulator: `drctl sim init DIR`, `drctl sim --dir DIR`, `fault`, `dump`.
    Sim(crate::sim::cli::SimArgs),
    /// Container images.
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Capture what a compartment of a region holds, as an inventory file.
    Inventory(inventory::InventoryArgs),
    /// Talk to OCI directly.
    #[command(subcommand)]
    Oci(oci::OciCommand),
}

impl Command {
    /// Whether the command drives the engine: starts, continues or cleans up a run.
    pub fn drives_runs(&self) -> bool {
        matches!(
            self,
            Command::Run(_)
                | Command::Resume(_)
                | Command::Cleanup(_)
                | Command::Approve(_)
                | Command::Deny(_)
                | Command::Skip(_)
                | Command::Retry(_)
        )
    }
}

/// Where runs are kept.
#[derive(Args, Debug, Clone)]
pub struct StateArgs {
    /// Directory holding run directories (`<dir>/runs/<id>`).
    #[arg(long, env = "DRCTL_STATE_DIR", default_value = ".drctl", global = true)]
    pub state_dir: PathBuf,
}

/// Parameter values.
#[derive(Args, Debug, Clone, Default)]
pub struct ParamArgs {
    /// A parameter value, `name=value` (lists and maps as JSON or comma-separated lists).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A YAML or JSON file of parameter values.
    #[arg(long, value_name = "FILE")]
    pub params_file: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Human,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Bars on a terminal, plain lines otherwise.
    #[default]
    Auto,
    Bars,
    Plain,
}

/// Runs the parsed command.
pub async fn dispatch(cli: Cli) -> Result<Exit, CliError> {
    // Commands that only read local files and print end quietly when their reader goes away
    // (`| head`), as other command-line tools do. Commands that talk over the network keep
    // SIGPIPE ignored: a peer closing a socket would otherwise kill them without a word.
    let local_only = matches!(
        &cli.command,
        Command::Validate(_)
            | Command::Graph(_)
            | Command::Status(_)
            | Command::Runs(_)
            | Command::Report(_)
            | Command::Schema
    ) || matches!(&cli.command, Command::Plan(args) if !args.refresh);
    if local_only {
        // SAFETY: restoring the default disposition of SIGPIPE before any thread writes.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // Not `cleanup`, which may ask for a confirmation first: Ctrl-C there must end it.
    let drives_a_run = matches!(
        &cli.command,
        Command::Run(_)
            | Command::Resume(_)
            | Command::Approve(_)
            | Command::Deny(_)
            | Command::Skip(_)
            | Command::Retry(_)
    );
    if drives_a_run {
        signals::listen_early();
    }
    match cli.command {
        Command::Validate(args) => validate::validate(args),
        Command::Plan(args) => plan::plan(args, &cli.oci).await,
        Command::Graph(args) => graph::graph(args),
        Command::Run(args) => run::run(args, &cli.oci, cli.quiet).await,
        Command::Resume(args) => resume::resume(args, &cli.oci, cli.quiet).await,
        Command::Status(args) => inspect::status(args),
        Command::Runs(args) => inspect::runs(args),
        Command::Report(args) => report::report(args, &cli.oci),
        Command::Cleanup(args) => cleanup::cleanup(args, &cli.oci, cli.quiet).await,
        Command::Approve(args) => operator::decide(args, operator::Decision::Approve, &cli.oci, cli.quiet).await,
        Command::Deny(args) => operator::decide(args, operator::Decision::Deny, &cli.oci, cli.quiet).await,
        Command::Skip(args) => operator::decide(args, operator::Decision::Skip, &cli.oci, cli.quiet).await,
        Command::Retry(args) => operator::decide(args, operator::Decision::Retry, &cli.oci, cli.quiet).await,
        Command::Image(command) => image::image(command, cli.quiet).await,
        Command::Sim(args) => {
            crate::sim::run_sim(args).await.map(|()| Exit::Success).map_err(|e| match e {
                // A mistake in the command line is a usage error (exit 2), as everywhere.
                crate::sim::SimError::Usage(_)
                | crate::sim::SimError::UnknownRegion { .. }
                | crate::sim::SimError::Seed { .. }
                // Another simulator serves the directory: as with a run another process drives.
                | crate::sim::SimError::Busy { .. } => CliError::usage(e.to_string()),
                crate::sim::SimError::StateFile { detail, reading: true } => CliError::usage_help(
                    detail,
                    "give --state a simulator state file (or a new path to start empty)",
                ),
                crate::sim::SimError::StateFile { detail, reading: false } => {
                    CliError::usage_help(detail, "give --state a file in a directory that exists and can be written")
                }
                other => CliError::failed(other.to_string()),
            })
        }
        Command::Oci(command) => oci::oci(command, &cli.oci, cli.quiet).await,
        Command::Inventory(args) => inventory::inventory(args, &cli.oci).await,
        Command::Schema => {
            crate::outln!("{}", crate::runbook::schema::runbook_schema());
            Ok(Exit::Success)
        }
    }
}

/// A count of at least one (`--parallelism`, `--jobs`), with a message that says so.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) => {
            Err(format!("`{text}` is more than drctl can count: give at most {}", usize::MAX))
        }
        Err(_) => Err(format!("`{text}` is not a whole number; give 1 or more")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_say_what_is_wrong_with_them() {
        assert_eq!(super::at_least_one(" 8 "), Ok(8));
        assert_eq!(super::at_least_one("0"), Err("must be at least 1".to_owned()));
        assert!(super::at_least_one("many").is_err_and(|e| e.contains("is not a whole number")));
        assert!(super::at_least_one("99999999999999999999999").is_err_and(|e| e.contains("more than drctl can count")));
    }
}
