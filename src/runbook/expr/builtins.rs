//! What each built-in function computes.
//!
//! Functions are pure: they read their arguments and return a value, never touching the
//! scope beyond evaluating those arguments. `default` evaluates its fallback only when needed,
//! so `default(params.x, tasks.y.outputs.z)` is known whenever `params.x` is set.

use std::borrow::Cow;
use std::ops::Range;

use serde_json::Value;

use super::ast::Expr;
use super::error::EvalError;
use super::eval::eval_optional;
use super::functions::Function;
use super::scope::Scope;
use super::value::{loose_eq, scalar_text, type_name, write_string_form};

pub(crate) fn call<'a>(
    function: Function,
    args: &'a [Expr],
    scope: &'a dyn Scope,
    span: Range<usize>,
) -> Result<Cow<'a, Value>, EvalError> {
    let fail = |message: String| EvalError::Function { function: function.name(), message, range: span.clone() };
    if let (Function::Default, [value, fallback]) = (function, args) {
        let value = eval_optional(value, scope)?;
        // The fallback is what is left: naming an output not set there is a mistake.
        return match value.as_ref() {
            Value::Null => super::eval::eval_top(fallback, scope),
            Value::String(s) if s.is_empty() => super::eval::eval_top(fallback, scope),
            _ => Ok(value),
        };
    }
    // Only `default` (above) may be given an output a task did not set.
    let values = args.iter().map(|arg| super::eval::eval_top(arg, scope)).collect::<Result<Vec<_>, _>>()?;
    apply(function, &values).map(Cow::Owned).map_err(fail)
}

/// Computes a function of already evaluated arguments; the error is the message only.
fn apply(function: Function, values: &[Cow<'_, Value>]) -> Result<Value, String> {
    match (function, values) {
        (Function::Join, [list]) => join(list, ","),
        (Function::Join, [list, separator]) => match scalar_text(separator) {
            Some(separator) => join(list, &separator),
            None => Err(format!("the separator must be text, found {}", type_name(separator))),
        },
        (Function::Format, [template, values @ ..]) => match template.as_ref() {
            Value::String(template) => format(template, values).map(Value::String),
            other => Err(format!("the format must be a string, found {}", type_name(other))),
        },
        (Function::Contains, [haystack, needle]) => contains(haystack, needle).map(Value::Bool),
        (Function::StartsWith, [text, prefix]) => affix(text, prefix, |t, a| t.starts_with(a)),
        (Function::EndsWith, [text, suffix]) => affix(text, suffix, |t, a| t.ends_with(a)),
        (Function::Length, [value]) => match value.as_ref() {
            Value::String(s) => Ok(Value::from(s.chars().count())),
            Value::Array(items) => Ok(Value::from(items.len())),
            Value::Object(map) => Ok(Value::from(map.len())),
            other => Err(format!("expects a string, list or map, found {}", type_name(other))),
        },
        (Function::Lower, [value]) => string(value).map(|s| Value::String(s.to_lowercase())),
        (Function::Upper, [value]) => string(value).map(|s| Value::String(s.to_uppercase())),
        (Function::ToJson, [value]) => Ok(Value::String(value.to_string())),
        (Function::FromJson, [value]) => serde_json::from_str(string(value)?).map_err(|e| format!("invalid JSON: {e}")),
        (Function::Keys, [value]) => map(value).map(|m| m.keys().cloned().map(Value::String).collect()),
        (Function::Values, [value]) => map(value).map(|m| m.values().cloned().collect()),
        // The parser checks arities; only a hand-built tree gets here.
        _ => Err(format!("wrong number of arguments; signature: {}", function.signature())),
    }
}

fn string(value: &Value) -> Result<&str, String> {
    value.as_str().ok_or_else(|| format!("expects a string, found {}", type_name(value)))
}

fn map(value: &Value) -> Result<&serde_json::Map<String, Value>, String> {
    value.as_object().ok_or_else(|| format!("expects a map, found {}", type_name(value)))
}

/// `startsWith` and `endsWith`: both sides as text (numbers and bools as written).
fn affix(text: &Value, affix: &Value, test: fn(&str, &str) -> bool) -> Result<Value, String> {
    match (scalar_text(text), scalar_text(affix)) {
        (Some(text), Some(affix)) => Ok(Value::Bool(test(&text, &affix))),
        _ => Err(format!("expects text, found {} and {}", type_name(text), type_name(affix))),
    }
}

/// Items in string form between separators; a string is already joined and passes through.
fn join(list: &Value, separator: &str) -> Result<Value, String> {
    let items = match list {
        Value::Array(items) => items,
        Value::String(_) => return Ok(list.clone()),
        other => return Err(format!("expects a list, found {}", type_name(other))),
    };
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        write_string_form(item, &mut out);
    }
    Ok(Value::String(out))
}
/// Substring for text, element (by `==`) for lists.
fn contains(haystack: &Value, needle: &Value) -> Result<bool, String> {
    match haystack {
        Value::Array(items) => Ok(items.iter().any(|item| loose_eq(item, needle))),
        Value::String(s) => match scalar_text(needle) {
            Some(needle) => Ok(s.contains(needle.as_ref())),
            None => Err(format!("cannot look for {} in a string", type_name(needle))),
        },
        other => Err(format!("expects a string or list to search, found {}", type_name(other))),
    }
}

/// `{N}` is replaced by the N-th value's string form; `{{` and `}}` are literal braces.
fn format(template: &str, values: &[Cow<'_, Value>]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            return Err("unmatched `}` in the format; write `}}` for a literal brace".to_string());
        }
        let Some(close) = tail.find('}') else {
            return Err("unclosed `{` in the format; write `{{` for a literal brace".to_string());
        };
        let placeholder = &tail[1..close];
        // The format may be a secret, or hold one: its text is not quoted, only where it is.
        // Digits only: `usize` parsing would also take a sign (`{+0}`).
        let digits = Some(placeholder).filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        let index: usize = digits.and_then(|d| d.parse().ok()).ok_or_else(|| {
            let column = template[..template.len() - tail.len()].chars().count() + 1;
            format!(
                "the `{{` at character {column} of the format does not start a placeholder; use `{{0}}`, `{{1}}`, ... \
                 or `{{{{` for a literal brace"
            )
        })?;
        let value = values.get(index).ok_or_else(|| {
            format!(
                "`{{{index}}}` has no value; the format was given {}",
                match values.len() {
                    1 => "1 value".to_string(),
                    n => format!("{n} values"),
                }
            )
        })?;
        write_string_form(value, &mut out);
        rest = &tail[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
