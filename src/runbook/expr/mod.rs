//! The runbook expression language (`${{ ... }}`).
//!
//! Runbook strings may embed small expressions, much like GitHub Actions:
//! `${{ params.dest_region }}`, `${{ tasks.make-app.outputs.id }}`,
//! `${{ default(params.tag, 'latest') }}`. The language reads values (JSON) from a [`Scope`]
//! and combines them with comparisons, `!`, `&&`, `||` and a fixed set of functions. It has no
//! assignments, loops or calls into the host, so evaluating a runbook's expressions can never
//! do anything but compute a value.
//!
//! Data flows lexer → parser → [`Expr`] (with byte spans) → evaluator. Templates
//! ([`Template`]) split a YAML string into literal text and expressions once, at load time.
//! This module never reads files or YAML and never renders diagnostics; callers map the byte
//! ranges in [`ExprError`] and [`EvalError`] onto their source.
//!
//! ```
//! use drctl::runbook::expr::{parse_expr, Template};
//! use serde_json::json;
//!
//! let scope = json!({
//!     "params": {"regions": ["eu-frankfurt-1", "uk-london-1"]},
//!     "tasks": {"make-app": {"state": "succeeded", "outputs": {"id": "ocid1.app"}}},
//! });
//! let cond = parse_expr("length(params.regions) > 1 && tasks.make-app.state == 'succeeded'")?;
//! assert_eq!(cond.eval(&scope)?, json!(true));
//!
//! // One expression alone keeps its type; mixed with text it becomes a string.
//! assert_eq!(Template::parse("${{ params.regions }}")?.render(&scope)?, json!(["eu-frankfurt-1", "uk-london-1"]));
//! let run = Template::parse("invoke ${{ tasks.make-app.outputs.id }} in ${{ tasks.copy.outputs.region }}")?;
//! assert_eq!(run.render_partial(&scope, "(known after run)")?, json!("invoke ocid1.app in (known after run)"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ast;
mod builtins;
mod error;
mod eval;
mod fold;
mod functions;
mod lexer;
mod parser;
mod printer;
mod reference;
mod scope;
mod template;
mod value;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde_json::Value;

pub use ast::{BinaryOp, Expr, ExprKind, Spanned, UnaryOp};
pub use error::{EvalError, ExprError};
pub use fold::{failing_calls, Failure};
pub use functions::Function;
pub(crate) use lexer::{is_ident_continue, is_ident_start};
pub use parser::{MAX_DEPTH, MAX_TREE_DEPTH};
pub use reference::Reference;
pub use scope::Scope;
pub use template::{text_as_expression, Template, TemplatePart};
pub use value::{loose_eq, same_value, string_form, truthy, type_name};

/// Parses one expression (the text between `${{` and `}}`). Error ranges are relative to `src`.
pub fn parse_expr(src: &str) -> Result<Expr, ExprError> {
    parser::parse_at(src, 0)
}

impl Expr {
    /// Evaluates the expression. The result is owned; use [`Expr::eval_borrowed`] to avoid
    /// copying a large value that already lives in the scope.
    pub fn eval(&self, scope: &dyn Scope) -> Result<Value, EvalError> {
        eval::eval(self, scope).map(Cow::into_owned)
    }

    /// Evaluates the expression, borrowing from the scope (or the expression's literals) where
    /// the result is a value that already exists.
    pub fn eval_borrowed<'a>(&'a self, scope: &'a dyn Scope) -> Result<Cow<'a, Value>, EvalError> {
        eval::eval(self, scope)
    }

    /// Evaluates the expression as a condition (`if:`), by truthiness.
    pub fn eval_bool(&self, scope: &dyn Scope) -> Result<bool, EvalError> {
        eval::eval(self, scope).map(|value| truthy(&value))
    }

    /// Every path rooted at a name, in source order, with ranges relative to the source.
    pub fn references(&self) -> Vec<Reference> {
        reference::references(self)
    }
}
