//! Runs the OCI simulator with the same arguments as `drctl sim ...`
//! (`cargo run --example sim -- init DIR`, `cargo run --example sim -- --dir DIR`).

use clap::Parser;

#[derive(Parser)]
#[command(name = "sim", about = "OCI control-plane simulator (drctl sim)")]
struct Cli {
    #[command(flatten)]
    args: drctl::sim::SimArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match drctl::sim::run_sim(cli.args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
