//! Every problem found with the parameters of one command, gathered so that they are all
//! reported in one go.
//!
//! Problems in the params file carry their place and are rendered as diagnostics against the
//! file's text (with secret values blanked out); problems with values from `--param`,
//! `DRCTL_PARAM_*` or the run being resumed have no place and are rendered as plain lines.

use crate::cli::CliError;
use crate::runbook::{Invalid, Problem};

/// The parameters given to a command do not fit the runbook (exit 2).
#[derive(Debug)]
pub struct InvalidParams {
    /// The params file's problems, with its text for the snippets; `None` when it has none.
    pub file: Option<Invalid>,
    /// Problems without a place in a file, in the order they were found.
    pub unplaced: Vec<Problem>,
}

impl InvalidParams {
    /// How many problems there are in all.
    pub fn count(&self) -> usize {
        self.file.as_ref().map_or(0, |f| f.problems.len()) + self.unplaced.len()
    }

    /// `Ok` when nothing is wrong. A lone problem without a place stays the plain usage error
    /// (message and help) it has always been.
    pub fn into_result(mut self) -> Result<(), CliError> {
        match (self.file.is_some(), self.unplaced.len()) {
            (false, 0) => Ok(()),
            (false, 1) => {
                let problem = self.unplaced.remove(0);
                Err(CliError::Usage { message: problem.message, help: problem.help })
            }
            _ => Err(CliError::Params(self)),
        }
    }
}

impl std::fmt::Display for InvalidParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.count();
        let plural = if n == 1 { "" } else { "s" };
        match &self.file {
            Some(file) if self.unplaced.is_empty() => write!(f, "{}: {n} problem{plural}", file.path),
            Some(file) => {
                write!(f, "{n} problems with the parameters ({} in {})", file.problems.len(), file.path)
            }
            None => write!(f, "{n} problem{plural} with the parameters"),
        }
    }
}

impl std::error::Error for InvalidParams {}
