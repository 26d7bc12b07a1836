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
use super::eval::eval;
use super::functions::Function;
use super::scope::Scope;
use super::value::{loose_eq, scalar_text, type_name, write_string_form};

type Result<'a> = std::result::Result<Cow<'a, Value>, EvalError>;

pub(crate) fn call<'a>(
    function: Function,
    args: &'a [Expr],
    scope: &'a dyn Scope,
    span: Range<usize>,
) -> Result<'a> {
    let fail = |message: String| EvalError::Function {
        function: function.name(),
        message,
        range: span.clone(),
    };
    if !function.accepts(args.len()) {
        // The parser rejects these; only a hand-built tree gets here.
        return Err(fail(format!(
            "wrong number of arguments; signature: {}",
            function.signature()
        )));
    }
    if let (Function::Default, [value, fallback]) = (function, args) {
        let value = eval(value, scope)?;
        return match value.as_ref() {
            Value::Null => eval(fallback, scope),
            Value::String(s) if s.is_empty() => eval(fallback, scope),
            _ => Ok(value),
        };
    }
    let values = args
        .iter()
        .map(|arg| eval(arg, scope))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(match (function, values.as_slice()) {
        (Function::Join, [list, rest @ ..]) => {
            let separator = match rest.first() {
                Some(sep) => scalar_text(sep).ok_or_else(|| {
                    fail(format!(
                        "the separator must be text, found {}",
                        type_name(sep)
                    ))
                })?,
                None => Cow::Borrowed(","),
            };
            match list.as_ref() {
                Value::Array(items) => Cow::Owned(Value::String(join(items, &separator))),
                Value::String(_) => list.clone(),
                other => return Err(fail(format!("expects a list, found {}", type_name(other)))),
            }
        }
        (Function::Format, [template, values @ ..]) => match template.as_ref() {
            Value::String(t) => Cow::Owned(Value::String(format(t, values).map_err(fail)?)),
            other => {
                return Err(fail(format!(
                    "the format must be a string, found {}",
                    type_name(other)
                )))
            }
        },
        (Function::Contains, [haystack, needle]) => {
            Cow::Owned(Value::Bool(contains(haystack, needle).map_err(fail)?))
        }
        (Function::StartsWith | Function::EndsWith, [text, affix]) => {
            let (Some(text), Some(affix)) = (scalar_text(text), scalar_text(affix)) else {
                return Err(fail(format!(
                    "expects text, found {} and {}",
                    type_name(text),
                    type_name(affix)
                )));
            };
            Cow::Owned(Value::Bool(if function == Function::StartsWith {
                text.starts_with(affix.as_ref())
            } else {
                text.ends_with(affix.as_ref())
            }))
        }
        (Function::Length, [value]) => Cow::Owned(Value::from(match value.as_ref() {
            Value::String(s) => s.chars().count(),
            Value::Array(items) => items.len(),
            Value::Object(map) => map.len(),
            other => {
                return Err(fail(format!(
                    "expects a string, list or map, found {}",
                    type_name(other)
                )))
            }
        })),
        (Function::Lower | Function::Upper, [value]) => match value.as_ref() {
            Value::String(s) if function == Function::Lower => text_value(s.to_lowercase()),
            Value::String(s) => text_value(s.to_uppercase()),
            other => {
                return Err(fail(format!(
                    "expects a string, found {}",
                    type_name(other)
                )))
            }
        },
        (Function::ToJson, [value]) => text_value(value.to_string()),
        (Function::FromJson, [value]) => match value.as_ref() {
            Value::String(s) => {
                Cow::Owned(serde_json::from_str(s).map_err(|e| fail(format!("invalid JSON: {e}")))?)
            }
            other => {
                return Err(fail(format!(
                    "expects a string, found {}",
                    type_name(other)
                )))
            }
        },
        (Function::Keys, [value]) => match value.as_ref() {
            Value::Object(map) => Cow::Owned(Value::Array(
                map.keys().cloned().map(Value::String).collect(),
            )),
            other => return Err(fail(format!("expects a map, found {}", type_name(other)))),
        },
        (Function::Values, [value]) => match value.as_ref() {
            Value::Object(map) => Cow::Owned(Value::Array(map.values().cloned().collect())),
            other => return Err(fail(format!("expects a map, found {}", type_name(other)))),
        },
        _ => {
            return Err(fail(format!(
                "wrong number of arguments; signature: {}",
                function.signature()
            )))
        }
    })
}

fn text_value<'a>(s: String) -> Cow<'a, Value> {
    Cow::Owned(Value::String(s))
}

fn join(items: &[Value], separator: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        write_string_form(item, &mut out);
    }
    out
}

/// Substring for text, element (by `==`) for lists.
fn contains(haystack: &Value, needle: &Value) -> std::result::Result<bool, String> {
    match haystack {
        Value::Array(items) => Ok(items.iter().any(|item| loose_eq(item, needle))),
        Value::String(s) => match scalar_text(needle) {
            Some(needle) => Ok(s.contains(needle.as_ref())),
            None => Err(format!("cannot look for {} in a string", type_name(needle))),
        },
        other => Err(format!(
            "expects a string or list to search, found {}",
            type_name(other)
        )),
    }
}

/// `{N}` is replaced by the N-th value's string form; `{{` and `}}` are literal braces.
fn format(template: &str, values: &[Cow<'_, Value>]) -> std::result::Result<String, String> {
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
        let index: usize = placeholder.parse().map_err(|_| {
            format!("`{{{placeholder}}}` is not a placeholder; use `{{0}}`, `{{1}}`, ... or `{{{{` for a literal brace")
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
