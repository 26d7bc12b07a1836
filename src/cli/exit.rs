//! Exit codes, decided in one place: 0 succeeded, 1 failed, 2 invalid runbook or usage,
//! 3 paused, 130 interrupted.

use crate::checkpoint::RunState;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    Failed,
    Invalid,
    Paused,
    Interrupted,
}

impl Exit {
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Invalid => 2,
            Exit::Paused => 3,
            Exit::Interrupted => 130,
        }
    }

    pub fn from_run(state: RunState) -> Exit {
        match state {
            RunState::Succeeded => Exit::Success,
            RunState::Failed | RunState::Running => Exit::Failed,
            RunState::Paused => Exit::Paused,
            RunState::Interrupted => Exit::Interrupted,
        }
    }
}

/// Errors that end a command, each with the exit code it implies.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A runbook with problems (rendered as diagnostics by `main`).
    #[error(transparent)]
    Invalid(#[from] crate::runbook::Invalid),
    /// Parameters that do not fit the runbook, every problem at once (rendered by `main`).
    #[error(transparent)]
    Params(#[from] super::params::InvalidParams),
    /// Wrong usage or input the operator can fix (exit 2).
    #[error("{message}")]
    Usage { message: String, help: Option<String> },
    /// Something failed while doing the work (exit 1).
    #[error("{message}")]
    Failed { message: String, help: Option<String> },
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage { message: message.into(), help: None }
    }

    pub fn usage_help(message: impl Into<String>, help: impl Into<String>) -> Self {
        CliError::Usage { message: message.into(), help: Some(help.into()) }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        CliError::Failed { message: message.into(), help: None }
    }

    pub fn failed_help(message: impl Into<String>, help: impl Into<String>) -> Self {
        CliError::Failed { message: message.into(), help: Some(help.into()) }
    }

    pub fn exit(&self) -> Exit {
        match self {
            CliError::Invalid(_) | CliError::Params(_) | CliError::Usage { .. } => Exit::Invalid,
            CliError::Failed { .. } => Exit::Failed,
        }
    }

    pub fn help(&self) -> Option<&str> {
        match self {
            CliError::Usage { help, .. } | CliError::Failed { help, .. } => help.as_deref(),
            CliError::Invalid(_) | CliError::Params(_) => None,
        }
    }
}

impl From<crate::checkpoint::CheckpointError> for CliError {
    fn from(e: crate::checkpoint::CheckpointError) -> Self {
        use crate::checkpoint::CheckpointError as C;
        let help = e.help();
        match e {
            C::NoSuchRun { .. }
            | C::AmbiguousRun { .. }
            | C::StaleLock { .. }
            | C::Locked { .. }
            | C::LockBeingTaken { .. }
            | C::LockElsewhere { .. }
            | C::DamagedLock { .. }
            | C::StateDir { .. } => CliError::Usage { message: e.to_string(), help },
            _ => CliError::Failed { message: e.to_string(), help },
        }
    }
}
