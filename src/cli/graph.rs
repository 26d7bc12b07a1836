//! `drctl graph FILE --format dot|mermaid`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{CliError, Exit};

#[derive(ValueEnum, Debug, Clone, Copy, Default)]
pub enum GraphFormat {
    #[default]
    Dot,
    Mermaid,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// The runbook file.
    pub file: PathBuf,
    /// `dot` (Graphviz) or `mermaid`.
    #[arg(long, short, value_enum, default_value_t)]
    pub format: GraphFormat,
}

pub fn graph(args: GraphArgs) -> Result<Exit, CliError> {
    let runbook = super::validate::load_file(&args.file)?;
    let text = match args.format {
        GraphFormat::Dot => crate::graph::to_dot(&runbook),
        GraphFormat::Mermaid => crate::graph::to_mermaid(&runbook),
    };
    crate::out!("{text}");
    Ok(Exit::Success)
}
