//! Stand-alone front end for `drctl image copy`, used by the benchmark until the subcommand
//! is wired into the main binary: `cargo run --release --example image_copy -- SRC DST`.

use std::process::ExitCode;

use clap::Parser;
use drctl::registry::cli::{run_image_copy, ImageCopyArgs};

#[derive(Parser)]
#[command(name = "image_copy", about = "Copy an image between registries")]
struct Cli {
    #[command(flatten)]
    args: ImageCopyArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Warnings (retries, resumed uploads) by default; RUST_LOG=debug for every retry.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run_image_copy(cli.args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
