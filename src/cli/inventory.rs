//! `drctl inventory --region R --compartment C [-o FILE]`: captures what the compartment
//! holds in the region (see `crate::inventory`) and prints it as YAML or writes it to FILE.
//! Credentials and endpoints come from the global `--config-file`, `--profile`, `--endpoints`.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, Exit, OciArgs};
use crate::actions::oci::build_client;

#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Region to capture (id such as us-ashburn-1).
    #[arg(long)]
    pub region: String,
    /// OCID of the compartment to capture.
    #[arg(long)]
    pub compartment: String,
    /// Write the inventory to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub async fn inventory(args: InventoryArgs, oci: &OciArgs) -> Result<Exit, CliError> {
    let (client, _) = build_client(&oci.settings()).map_err(|e| CliError::usage(e.to_string()))?;
    let captured = crate::inventory::capture(&client, &args.region, &args.compartment)
        .await
        .map_err(|e| CliError::failed(e.to_string()))?;
    match &args.output {
        Some(path) => {
            crate::inventory::save(&captured, path).map_err(|e| CliError::failed(e.to_string()))?;
            let count: usize = crate::inventory::LISTS.iter().map(|l| captured.list(l.list).len()).sum();
            crate::errln!("wrote {} ({count} resources)", path.display());
        }
        None => crate::out!("{}", crate::inventory::render(&captured)),
    }
    Ok(Exit::Success)
}
