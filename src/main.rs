//! The `drctl` binary: parses the command line, runs the command, renders errors, exits.

use clap::Parser;
use drctl::cli::{dispatch, Cli, CliError, Exit};

fn main() {
    tune_malloc();
    // A variable set to nothing (`DRCTL_STATE_DIR=` in a CI file) is one not set: clap would
    // take it for an option given without its value, and refuse every command.
    for name in ["DRCTL_STATE_DIR", "DRCTL_ENDPOINTS", "DRCTL_SRC_CREDS", "DRCTL_DEST_CREDS"] {
        if std::env::var_os(name).is_some_and(|v| v.is_empty()) {
            std::env::remove_var(name);
        }
    }
    let cli = Cli::parse();
    let filter = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    init_tracing(filter);
    let runtime = match runtime_for(&cli.command).build() {
        Ok(rt) => rt,
        Err(e) => {
            drctl::errln!("error: cannot start the async runtime: {e}");
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
    // The commands being started finish starting while the runtime can still take them; each
    // is then stopped, its task gone or dropped as the runtime ends, rather than left running.
    drctl::actions::stop_launching();
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    drctl::checkpoint::flush_trace_log();
    std::process::exit(exit.code());
}

/// The runtime a command runs on.
///
/// Commands that drive a run do so from one thread. A run's work is waiting: for commands,
/// for answers, for the journal's disk. What the engine does between the waits is short, and
/// on one thread a task's dependents start without a hand-over between worker threads: a
/// dependency's `done` record reaches its dependent sooner. In a chain of short commands run
/// 64 at a time (`benches/dag.py`, case b), that took the makespan from about 1.055 to about
/// 1.048 times the critical path. The work that takes CPU or holds a thread stays off that
/// thread: the embedded simulator serves from a runtime of its own (`cli::embedded_sim`),
/// image layers are hashed and moved on blocking threads (`actions::registry_copy`), commands
/// are started by launcher threads (`actions::launcher`), and task logs are written by the
/// journal's own thread. The other commands (the simulator, image copies) keep a runtime with
/// a worker per core.
fn runtime_for(command: &drctl::cli::Command) -> tokio::runtime::Builder {
    let mut builder = if command.drives_runs() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all();
    builder
}

/// Tunes glibc's allocator before anything else allocates much.
///
/// - One arena for the whole process. glibc gives each thread that allocates its own arena;
///   with the scheduling loop and the instance jobs moving between runtime workers, that raised
///   the peak memory of a 10,000-task run from 42 to 48 MiB, while drctl's few threads hardly
///   contend for the allocator.
/// - The heap grows in one 32 MiB step, backed by transparent huge pages where the kernel
///   offers them on request (`madvise` mode). Reading and checking a large runbook touches tens
///   of megabytes of fresh memory, and with 4 KiB pages a fifth of `drctl validate` on a
///   10,000-task runbook went to page faults; huge pages cut its time by about a fifth and
///   `drctl plan`'s by as much, for about 4 MiB more peak memory in a 10,000-task run. This is
///   what glibc's own `glibc.malloc.hugetlb=1` tunable does, which only the environment can set.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt, malloc, free, sbrk(0) and madvise only tune or query the allocator and
    // the kernel's paging of memory the process owns; this runs first in `main`, before the
    // runtime starts its threads, and every block allocated here is freed here.
    unsafe {
        const STEP: usize = 32 << 20;
        const HUGE: usize = 2 << 20;
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_TOP_PAD, STEP as libc::c_int);
        // The heap grows (by the request plus the pad) the next time its free top is too small:
        // ask for blocks just under the mmap threshold until the break moves.
        let before = libc::sbrk(0) as usize;
        let mut blocks = [std::ptr::null_mut::<libc::c_void>(); 8];
        for slot in &mut blocks {
            *slot = libc::malloc(120 << 10);
            if libc::sbrk(0) as usize != before {
                break;
            }
        }
        let end = libc::sbrk(0) as usize;
        for block in blocks {
            libc::free(block);
        }
        let start = before.next_multiple_of(HUGE);
        if end > start + HUGE {
            libc::madvise(start as *mut libc::c_void, (end - start) / HUGE * HUGE, libc::MADV_HUGEPAGE);
        }
    }
}

/// Logs go to stderr at the chosen level, and as JSON lines at info level to the run's
/// `drctl.log` once a run directory is open.
fn init_tracing(filter: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, EnvFilter, Layer};
    // Colours only for a person reading a terminal; a file or a CI log gets plain text.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let terminal = fmt::layer().with_writer(std::io::stderr).with_ansi(colour).with_filter(
        EnvFilter::try_from_env("DRCTL_LOG").unwrap_or_else(|_| EnvFilter::new(format!("{filter},drctl::run=off"))),
    );
    let run_log = fmt::layer()
        .json()
        .with_writer(drctl::checkpoint::TraceLogWriter)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    tracing_subscriber::registry().with(terminal).with(run_log).init();
}

/// How many problems of a file are drawn, at most.
const SHOWN_PROBLEMS: usize = 100;

fn render(err: &CliError) {
    match err {
        CliError::Invalid(invalid) => {
            let diagnostics = invalid.diagnostics();
            let more = diagnostics.len().saturating_sub(SHOWN_PROBLEMS);
            // Each drawing reads the file up to its place: thousands of them (a generated
            // runbook with one mistake repeated) would take minutes and fill the terminal.
            for diagnostic in diagnostics.into_iter().take(SHOWN_PROBLEMS) {
                drctl::errln!("{:?}", miette::Report::new(diagnostic));
            }
            if more > 0 {
                drctl::errln!("... and {more} more problems, not shown: `drctl validate FILE -o json` lists every one");
            }
            drctl::errln!("error: {invalid}");
        }
        CliError::Params(invalid) => {
            for diagnostic in invalid.file.iter().flat_map(|file| file.diagnostics()) {
                drctl::errln!("{:?}", miette::Report::new(diagnostic));
            }
            for problem in &invalid.unplaced {
                drctl::errln!("error: {}", problem.message);
                if let Some(help) = &problem.help {
                    drctl::errln!("  help: {help}");
                }
            }
            drctl::errln!("error: {invalid}");
        }
        other => {
            drctl::errln!("error: {other}");
            if let Some(help) = other.help() {
                drctl::errln!("  help: {help}");
            }
        }
    }
}
