//! `assert`: fails the task unless a value is true (or two values are equal).

use serde_json::{Map, Value};

use super::{Action, ActionContext, ActionError, BoxFuture, ErrorClass, InputProblem, Outputs};
use crate::runbook::expr::loose_eq;

pub struct Assert;

const KEYS: &[&str] = &["that", "actual", "expected", "message"];

/// How to write a condition, when the text given cannot simply be wrapped into one.
const ONE_EXPRESSION_THAT: &str =
    "write the condition as one expression, with text in single quotes, as in: that: ${{ \
     tasks.check.outputs.status == 'ok' }}";

impl Action for Assert {
    fn output_names(&self) -> Option<&'static [&'static str]> {
        Some(&[])
    }

    fn is_pure(&self) -> bool {
        true
    }

    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = super::unknown_keys(with, KEYS);
        let has_that = with.contains_key("that");
        let has_pair = with.contains_key("actual") || with.contains_key("expected");
        if has_that == has_pair {
            problems.push(
                InputProblem::new("", "give either `that` or both `actual` and `expected`")
                    .with_help("that: ${{ tasks.x.outputs.ok }}  or  actual: ..., expected: ..."),
            );
        }
        if has_pair && !(with.contains_key("actual") && with.contains_key("expected")) {
            problems.push(InputProblem::new("", "`actual` and `expected` go together").with_help(
                "give both (`actual: ${{ ... }}`, `expected: value`), or check a condition alone with `that: ${{ ... }}`",
            ));
        }
        // Text without `${{ }}` is a constant, never a condition: `that: params.n == 4` would
        // always pass.
        if let Some(text) = with.get("that").and_then(Value::as_str).filter(|t| !t.contains("${{")) {
            problems.push(
                InputProblem::new("that", format!("`that` is the text `{text}`, not a condition")).with_help(
                    match crate::runbook::expr::text_as_expression(text) {
                        Some(expr) => format!("write it as an expression: that: ${{{{ {expr} }}}}"),
                        None => ONE_EXPRESSION_THAT.into(),
                    },
                ),
            );
        }
        // Nor is text around expressions: `${{ a }} == ${{ b }}` renders as the text `x == y`.
        if let Some(text) = with.get("that").and_then(Value::as_str).filter(|t| t.contains("${{")) {
            if let Ok(template) = crate::runbook::expr::Template::parse(text) {
                if template.single_expression().is_none() {
                    problems.push(
                        InputProblem::new("that", "`that` mixes text with `${{ }}`: it would be text, not a condition")
                            .with_help(match template.as_one_expression() {
                                Some(expr) => {
                                    format!("write the whole condition as one expression: that: ${{{{ {expr} }}}}")
                                }
                                None => ONE_EXPRESSION_THAT.into(),
                            }),
                    );
                }
            }
        }
        // A literal number, list, map or nothing is never a condition either.
        if let Some(other) = with.get("that").filter(|t| !(t.is_string() || t.is_boolean())) {
            let what = match other {
                Value::Null => "empty".to_owned(),
                Value::Number(n) => format!("the number {n}"),
                Value::Array(_) => "a list".to_owned(),
                _ => "a map".to_owned(),
            };
            problems.push(
                InputProblem::new("that", format!("`that` is {what}, not a condition"))
                    .with_help("write a condition as an expression: that: ${{ tasks.x.outputs.ok == 'true' }}"),
            );
        }
        problems
    }

    fn run<'a>(&'a self, _ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let message = with.get("message").and_then(Value::as_str).map(str::to_owned);
            let failure = if let Some(that) = with.get("that") {
                match condition(that) {
                    Some(true) => None,
                    Some(false) => Some(format!("assertion failed: got {that}")),
                    None => {
                        return Err(ActionError::input(format!(
                            "assertion failed: `that` must be true or false, got {that}"
                        )))
                    }
                }
            } else {
                let actual = with.get("actual").unwrap_or(&Value::Null);
                let expected = with.get("expected").unwrap_or(&Value::Null);
                (!loose_eq(actual, expected)).then(|| format!("assertion failed: expected {expected}, got {actual}"))
            };
            match failure {
                None => Ok(Outputs::new()),
                Some(detail) => {
                    // A block scalar's message ends in a line break, which is not part of it.
                    let text = match message.as_deref().map(str::trim_end).filter(|m| !m.is_empty()) {
                        Some(m) => format!("{m} ({detail})"),
                        None => detail,
                    };
                    Err(ActionError::fatal(ErrorClass::Assertion, text))
                }
            }
        })
    }
}

/// What `that` says: a boolean, `null` (false), or the text `true` or `false` (outputs of
/// shell tasks are text). Anything else is not a condition.
fn condition(that: &Value) -> Option<bool> {
    match that {
        Value::Bool(b) => Some(*b),
        Value::Null => Some(false),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}
