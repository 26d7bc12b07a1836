//! `drctl validate FILE`.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{CliError, Exit, OutputFormat};
use crate::runbook::Runbook;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The runbook file.
    pub file: PathBuf,
    /// `json` prints the problems as JSON (file, line, column, message, help).
    #[arg(long, short, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Parameter values to check against the runbook's `params` as well (types, enums,
    /// required ones, unknown names), as `run` would.
    #[command(flatten)]
    pub params: super::ParamArgs,
}

/// Reads and validates a runbook file with the built-in actions.
pub fn load_file(file: &std::path::Path) -> Result<Runbook, CliError> {
    let bytes = crate::input::read_bytes(file)
        .map_err(|e| CliError::usage(format!("cannot read runbook {}: {e}", file.display())))?;
    if let Some((line, column)) = crate::input::not_utf8_at(&bytes) {
        return Err(CliError::usage_help(
            format!("{}:{line}:{column}: the runbook is not UTF-8 text", file.display()),
            "save the file as UTF-8",
        ));
    }
    let text = String::from_utf8(bytes).unwrap_or_default();
    let actions = crate::actions::builtin();
    Ok(crate::runbook::load(&file.display().to_string(), &text, &actions)?)
}

pub fn validate(args: ValidateArgs) -> Result<Exit, CliError> {
    let loaded = load_file(&args.file);
    if let Ok(runbook) = &loaded {
        let from_environment = std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("DRCTL_PARAM_"));
        if !args.params.params.is_empty() || args.params.params_file.is_some() || from_environment {
            let redactor = crate::ui::redact::Redactor::new();
            match super::params::resolve(runbook, &args.params, None, &redactor) {
                Err(CliError::Params(invalid)) if args.output == OutputFormat::Json => {
                    crate::outln!("{}", params_json(&args.file, &invalid));
                    return Ok(Exit::Invalid);
                }
                Err(e) if args.output == OutputFormat::Json => {
                    let help = match &e {
                        CliError::Usage { help, .. } | CliError::Failed { help, .. } => help.clone(),
                        _ => None,
                    };
                    let problem = json!({ "code": "drctl::params", "message": e.to_string(), "file": null, "line": null, "column": null, "help": help });
                    crate::outln!(
                        "{}",
                        json!({ "file": args.file.display().to_string(), "valid": false, "problems": [problem] })
                    );
                    return Ok(Exit::Invalid);
                }
                Err(e) => return Err(e),
                // With the values known, what `run` would refuse before it starts.
                Ok(values) => {
                    let parallelism = runbook.parallelism.unwrap_or(8).max(1);
                    if args.output == OutputFormat::Json {
                        let failing = super::run::what_would_fail(runbook, &values, &redactor, parallelism, false);
                        if !failing.is_empty() {
                            // One problem each, at the place of its task, like the runbook's own.
                            let problems: Vec<_> = failing
                                .iter()
                                .map(|f| {
                                    json!({ "code": "drctl::plan", "message": format!("{}: {}", f.task, f.message),
                                            "file": runbook.source.path, "line": f.line, "column": f.column,
                                            "help": super::run::REFUSED_HELP })
                                })
                                .collect();
                            crate::outln!(
                                "{}",
                                json!({ "file": args.file.display().to_string(), "valid": false, "problems": problems })
                            );
                            return Ok(Exit::Invalid);
                        }
                    } else {
                        super::run::refuse_what_would_fail(runbook, &values, &redactor, parallelism, false)?;
                    }
                }
            }
        }
    }
    match (loaded, args.output) {
        (Ok(runbook), OutputFormat::Human) => {
            let n = runbook.tasks.len();
            crate::outln!("{}: ok ({n} task{})", args.file.display(), if n == 1 { "" } else { "s" });
            // The process ends right after; skip freeing the runbook piece by piece.
            std::mem::forget(runbook);
            Ok(Exit::Success)
        }
        (Ok(runbook), OutputFormat::Json) => {
            crate::outln!(
                "{}",
                json!({ "file": args.file.display().to_string(), "valid": true, "tasks": runbook.tasks.len(), "problems": [] })
            );
            Ok(Exit::Success)
        }
        (Err(CliError::Invalid(invalid)), OutputFormat::Json) => {
            let problems: Vec<_> = invalid
                .problems
                .iter()
                .map(|p| {
                    let start = p.labels.first().map_or(0, |(s, _)| s.start);
                    let (line, column) = invalid.line_col(start);
                    json!({ "code": p.code, "message": p.message, "line": line, "column": column, "help": p.help })
                })
                .collect();
            crate::outln!("{}", json!({ "file": invalid.path, "valid": false, "problems": problems }));
            Ok(Exit::Invalid)
        }
        (Err(e @ CliError::Usage { .. }), OutputFormat::Json) => {
            // A file that cannot be read is reported in the same shape, for tools; one that is
            // not UTF-8, at the first byte that is not.
            let place = crate::input::read_bytes(&args.file).ok().and_then(|bytes| crate::input::not_utf8_at(&bytes));
            let (line, column) = place.map_or((None, None), |(l, c)| (Some(l), Some(c)));
            let help = e.help();
            let problem = json!({ "code": "drctl::read", "message": e.to_string(), "line": line, "column": column, "help": help });
            crate::outln!(
                "{}",
                json!({ "file": args.file.display().to_string(), "valid": false, "problems": [problem] })
            );
            Ok(Exit::Invalid)
        }
        (Err(e), _) => Err(e),
    }
}

/// Parameter problems in the shape of runbook problems; each names the file it is in, and
/// those without a place (a `--param` flag, a variable) have no line.
fn params_json(runbook: &std::path::Path, invalid: &super::params::InvalidParams) -> serde_json::Value {
    let mut problems = Vec::new();
    if let Some(file) = &invalid.file {
        for p in &file.problems {
            let start = p.labels.first().map_or(0, |(s, _)| s.start);
            let (line, column) = file.line_col(start);
            problems.push(json!({ "code": p.code, "message": p.message, "file": file.path, "line": line, "column": column, "help": p.help }));
        }
    }
    for p in &invalid.unplaced {
        problems.push(
            json!({ "code": p.code, "message": p.message, "file": null, "line": null, "column": null, "help": p.help }),
        );
    }
    json!({ "file": runbook.display().to_string(), "valid": false, "problems": problems })
}
