//! The `drctl` binary: parses the command line, runs the command, renders errors, exits.

use clap::Parser;
use drctl::cli::{dispatch, Cli, CliError, Exit};

fn main() {
    let cli = Cli::parse();
    let filter = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    init_tracing(filter);
    limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(Exit::Failed.code());
        }
    };
    let exit = match runtime.block_on(dispatch(cli)) {
        Ok(exit) => exit,
        Err(err) => {
            render(&err);
            err.exit()
        }
    };
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    drctl::checkpoint::flush_trace_log();
    std::process::exit(exit.code());
}

/// One malloc arena for the whole process. glibc gives each thread that allocates its own
/// arena; with the scheduling loop and the instance jobs moving between runtime workers, that
/// raised the peak memory of a 10,000-task run from 42 to 48 MiB, while drctl's few threads
/// hardly contend for the allocator.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it runs before the runtime starts its threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Logs go to stderr at the chosen level, and as JSON lines at info level to the run's
/// `drctl.log` once a run directory is open.
fn init_tracing(filter: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, EnvFilter, Layer};
    let terminal = fmt::layer().with_writer(std::io::stderr).with_filter(
        EnvFilter::try_from_env("DRCTL_LOG").unwrap_or_else(|_| EnvFilter::new(format!("{filter},drctl::run=off"))),
    );
    let run_log = fmt::layer()
        .json()
        .with_writer(drctl::checkpoint::TraceLogWriter)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::registry().with(terminal).with(run_log).init();
}

fn render(err: &CliError) {
    match err {
        CliError::Invalid(invalid) => {
            for diagnostic in invalid.diagnostics() {
                eprintln!("{:?}", miette::Report::new(diagnostic));
            }
            eprintln!("error: {invalid}");
        }
        other => {
            eprintln!("error: {other}");
            if let Some(help) = other.help() {
                eprintln!("  help: {help}");
            }
        }
    }
}
