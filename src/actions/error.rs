//! The error an action attempt ends with, classified so retry policies can decide on it.

use std::fmt;

/// What kind of failure an attempt had; `retry_on` in a runbook matches on these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// The attempt ran out of time.
    Timeout,
    /// A process ended with this exit code.
    ExitCode(i32),
    /// A process was killed by this signal.
    Signal(i32),
    /// An HTTP call answered with this status.
    HttpStatus(u16),
    /// The network failed (connection refused or reset, DNS, TLS).
    Network,
    /// The inputs were wrong; retrying cannot help.
    Input,
    /// An assertion or expectation did not hold.
    Assertion,
    /// Anything else.
    Other,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorClass::Timeout => f.write_str("timeout"),
            ErrorClass::ExitCode(code) => write!(f, "exit code {code}"),
            ErrorClass::Signal(sig) => write!(f, "signal {sig}"),
            ErrorClass::HttpStatus(status) => write!(f, "HTTP {status}"),
            ErrorClass::Network => f.write_str("network"),
            ErrorClass::Input => f.write_str("input"),
            ErrorClass::Assertion => f.write_str("assertion"),
            ErrorClass::Other => f.write_str("error"),
        }
    }
}

/// How an attempt failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ActionError {
    pub class: ErrorClass,
    pub message: String,
    /// Whether the action itself says a retry may help (for example OCI's 409 IncorrectState).
    /// The task's retry policy has the last word.
    pub retryable: bool,
    /// Honoured as the minimum delay before the next attempt (HTTP `retry-after`).
    pub retry_after: Option<std::time::Duration>,
}

impl ActionError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        let retryable = !matches!(class, ErrorClass::Input | ErrorClass::Assertion);
        Self { class, message: message.into(), retryable, retry_after: None }
    }

    /// An error no retry can fix (bad inputs, a failed precondition).
    pub fn fatal(class: ErrorClass, message: impl Into<String>) -> Self {
        Self { retryable: false, ..Self::new(class, message) }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Self::fatal(ErrorClass::Input, message)
    }

    pub fn with_retry_after(mut self, delay: std::time::Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }
}
