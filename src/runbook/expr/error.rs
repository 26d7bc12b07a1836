//! The two ways an expression can fail: it does not parse ([`ExprError`]), or it parses but
//! cannot be evaluated against a scope ([`EvalError`]).
//!
//! Both carry the byte range of the offending text so the runbook loader can underline it in
//! the YAML file. This module only describes failures; it never renders them with source
//! context (that happens once, at the edge, with miette).

use std::ops::Range;

/// An expression or template that does not parse, or calls a function wrongly.
///
/// `range` is relative to the string that was parsed (the expression source for
/// [`parse_expr`](super::parse_expr), the whole string for [`Template::parse`](super::Template::parse)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
    pub range: Range<usize>,
    /// A hint on how to fix it: a function's signature, a did-you-mean, the quoting rule.
    pub help: Option<String>,
}

impl ExprError {
    pub(crate) fn new(message: impl Into<String>, range: Range<usize>) -> Self {
        Self { message: message.into(), range, help: None }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// An expression that parsed but could not be evaluated.
///
/// Every variant carries the byte range of the sub-expression that failed, relative to the
/// same string the expression was parsed from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A top-level name the scope does not define (a typo, or `each` outside `for_each`).
    #[error("unknown name `{name}`")]
    UnknownName { name: String, range: Range<usize> },

    /// A task whose record is not known yet. Plans show these as "known after run"; during a
    /// run it means the task is not a dependency that has finished.
    #[error("`{reference}` is not known until the task has run")]
    Unknown { reference: String, range: Range<usize> },

    /// An operator or index applied to a value of the wrong type.
    #[error("{message}")]
    Type { message: String, range: Range<usize> },

    /// A function given arguments it cannot work with.
    #[error("{function}(): {message}")]
    Function { function: &'static str, message: String, range: Range<usize> },
}

impl EvalError {
    /// The byte range of the sub-expression that failed.
    pub fn range(&self) -> &Range<usize> {
        match self {
            EvalError::UnknownName { range, .. }
            | EvalError::Unknown { range, .. }
            | EvalError::Type { range, .. }
            | EvalError::Function { range, .. } => range,
        }
    }

    /// Whether this only means "not known yet" (a plan renders it instead of failing).
    pub fn is_unknown(&self) -> bool {
        matches!(self, EvalError::Unknown { .. })
    }

    pub(crate) fn type_error(message: impl Into<String>, range: Range<usize>) -> Self {
        EvalError::Type { message: message.into(), range }
    }
}
