//! Strings with `${{ ... }}` parts, as they appear in runbook YAML values.
//!
//! A template is split once, at load time, into literal text and parsed expressions; every
//! range (of parts, errors and references) is relative to the whole string so the loader can
//! shift it by the string's position in the file. Rendering never re-parses.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde_json::Value;

use super::ast::Expr;
use super::error::{EvalError, ExprError};
use super::eval::eval_top;
use super::parser::parse_at;
use super::reference::{references, Reference};
use super::scope::Scope;
use super::value::write_string_form;

const OPEN: &str = "${{";
const CLOSE: &str = "}}";

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    /// Text copied as is.
    Literal { text: String, range: Range<usize> },
    /// `${{ expr }}`; `range` covers the braces, the expression's own spans the inside.
    Expr { expr: Expr, range: Range<usize> },
}

/// A string with zero or more `${{ ... }}` parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<TemplatePart>,
}

impl Template {
    /// Splits `s` into literal text and expressions. `${{` opens an expression and the next
    /// `}}` outside a quoted string closes it; a `$` not followed by `{{` is plain text.
    pub fn parse(s: &str) -> Result<Template, ExprError> {
        let (template, mut errors) = Template::parse_all(s);
        match errors.is_empty() {
            true => Ok(template),
            false => Err(errors.swap_remove(0)),
        }
    }

    /// Like [`Template::parse`], but goes on past a bad expression: returns the parts that
    /// parsed (a bad expression is left out) and every error, in order, so that one mistake
    /// does not hide the others in the same string.
    pub fn parse_all(s: &str) -> (Template, Vec<ExprError>) {
        let mut parts = Vec::new();
        let mut errors = Vec::new();
        let mut pos = 0;
        while let Some(rel) = s[pos..].find(OPEN) {
            let open = pos + rel;
            if open > pos {
                parts.push(literal(s, pos..open));
            }
            let inner_start = open + OPEN.len();
            let Some(close) = find_close(s, inner_start) else {
                errors.push(
                    ExprError::new("unclosed `${{`", open..inner_start)
                        .with_help("end the expression with `}}` (check for an unterminated 'string')"),
                );
                return (Template { parts }, errors);
            };
            let inner = &s[inner_start..close];
            let range = open..close + CLOSE.len();
            if inner.trim().is_empty() {
                errors.push(
                    ExprError::new("empty expression", range).with_help("write an expression between `${{` and `}}`"),
                );
            } else {
                match parse_at(inner, inner_start) {
                    Ok(expr) => parts.push(TemplatePart::Expr { expr, range }),
                    Err(e) => errors.push(e),
                }
            }
            pos = close + CLOSE.len();
        }
        if pos < s.len() {
            parts.push(literal(s, pos..s.len()));
        }
        (Template { parts }, errors)
    }

    pub fn parts(&self) -> &[TemplatePart] {
        &self.parts
    }

    /// No expressions: rendering always gives the string back.
    pub fn is_literal(&self) -> bool {
        self.expressions().next().is_none()
    }

    pub fn expressions(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|part| match part {
            TemplatePart::Expr { expr, .. } => Some(expr),
            TemplatePart::Literal { .. } => None,
        })
    }

    /// Every reference of every expression, with ranges relative to the whole string.
    pub fn references(&self) -> Vec<Reference> {
        self.expressions().flat_map(references).collect()
    }

    /// The expression when the string is exactly one `${{ expr }}` with only whitespace around.
    pub fn single_expression(&self) -> Option<&Expr> {
        let mut found = None;
        for part in &self.parts {
            match part {
                TemplatePart::Literal { text, .. } if text.trim().is_empty() => {}
                TemplatePart::Literal { .. } => return None,
                TemplatePart::Expr { expr, .. } if found.is_none() => found = Some(expr),
                TemplatePart::Expr { .. } => return None,
            }
        }
        found
    }

    /// The text with each `${{ }}` replaced by its expression, as one expression would read
    /// it: `${{ params.a }} && ${{ params.b }}` gives `params.a && params.b`.
    pub fn unwrapped(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Literal { text, .. } => out.push_str(text),
                TemplatePart::Expr { expr, .. } => out.push_str(&expr.to_string()),
            }
        }
        out.trim().to_owned()
    }

    /// The template's text as one expression (what `${{ a }} == ${{ b }}` was meant to say),
    /// when that reads as meant: it parses, and it reads nothing the template's own
    /// expressions did not (`${{ params.env }} == prod` would read a name `prod`, and
    /// `${{ params.x }}x` the parameter `xx`). `None` when it would not.
    pub fn as_one_expression(&self) -> Option<String> {
        let text = self.unwrapped();
        let expr = super::parse_expr(&text).ok()?;
        let own: Vec<String> = self.references().iter().map(ToString::to_string).collect();
        let reads_only_its_own =
            expr.references().iter().all(|r| own.contains(&r.to_string()) || (own.is_empty() && is_root(&r.root)));
        reads_only_its_own.then_some(text)
    }

    /// A single expression gives its value as is (a list stays a list); anything else gives
    /// the literal text with each value's string form in place of its `${{ }}`.
    pub fn render(&self, scope: &dyn Scope) -> Result<Value, EvalError> {
        if let Some(expr) = self.single_expression() {
            return eval_top(expr, scope).map(Cow::into_owned);
        }
        self.concatenate(scope, None).map(Value::String)
    }

    /// Like [`render`](Self::render), but an expression that is not known yet
    /// ([`EvalError::Unknown`]) renders as `unknown` (plans use "(known after run)"). A single
    /// unknown expression gives `unknown` as a string.
    pub fn render_partial(&self, scope: &dyn Scope, unknown: &str) -> Result<Value, EvalError> {
        if let Some(expr) = self.single_expression() {
            return match eval_top(expr, scope) {
                Err(EvalError::Unknown { .. }) => Ok(Value::String(placeholder(expr, scope, unknown))),
                other => other.map(Cow::into_owned),
            };
        }
        self.concatenate(scope, Some(unknown)).map(Value::String)
    }

    fn concatenate(&self, scope: &dyn Scope, unknown: Option<&str>) -> Result<String, EvalError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Literal { text, .. } => out.push_str(text),
                TemplatePart::Expr { expr, .. } => match (eval_top(expr, scope), unknown) {
                    (Ok(value), _) => write_string_form(&value, &mut out),
                    (Err(EvalError::Unknown { .. }), Some(unknown)) => out.push_str(&placeholder(expr, scope, unknown)),
                    (Err(error), _) => return Err(error),
                },
            }
        }
        Ok(out)
    }
}

/// `text` (written without `${{ }}`) as an expression, when it reads as one: it parses and
/// reads only names an expression can start with (`the vcn exists` does not parse).
pub fn text_as_expression(text: &str) -> Option<String> {
    let expr = super::parse_expr(text.trim()).ok()?;
    expr.references().iter().all(|r| is_root(&r.root)).then(|| text.trim().to_owned())
}

/// Whether `name` is a name an expression can start with.
fn is_root(name: &str) -> bool {
    matches!(name, "params" | "tasks" | "each" | "run" | "env")
}

/// What stands for an expression not known yet: the scope's own placeholder for a name written
/// on its own, else `unknown`.
fn placeholder(expr: &Expr, scope: &dyn Scope, unknown: &str) -> String {
    expr.as_name().and_then(|name| scope.placeholder(name)).unwrap_or_else(|| unknown.to_owned())
}

fn literal(s: &str, range: Range<usize>) -> TemplatePart {
    TemplatePart::Literal { text: s[range.clone()].to_string(), range }
}

/// The byte position of the `}}` closing an expression that starts at `from`, skipping
/// single-quoted strings (a `''` escape is two toggles, so it needs no special case).
fn find_close(s: &str, from: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut quoted = false;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'}' if !quoted && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Prints the template with each expression in canonical form: `text ${{ expr }} text`.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                TemplatePart::Literal { text, .. } => f.write_str(text)?,
                TemplatePart::Expr { expr, .. } => write!(f, "{OPEN} {expr} {CLOSE}")?,
            }
        }
        Ok(())
    }
}
