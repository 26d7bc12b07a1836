//! Evaluates an [`Expr`] against a [`Scope`].
//!
//! Evaluation works on `Cow<Value>`: reading `tasks.x.outputs.id` borrows from the scope all
//! the way down and copies nothing; only values the expression builds (lists, strings, bools)
//! are owned. It runs for every task of every run, so it must stay allocation-light, and it
//! never has side effects: no I/O, no loops beyond the size of its inputs.

use std::borrow::Cow;
use std::ops::Range;

use serde_json::Value;

use super::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
use super::builtins;
use super::error::EvalError;
use super::scope::Scope;
use super::value::{compare, loose_eq, truthy, type_name};

static NULL: Value = Value::Null;
static TRUE: Value = Value::Bool(true);
static FALSE: Value = Value::Bool(false);

fn boolean<'a>(b: bool) -> Cow<'a, Value> {
    Cow::Borrowed(if b { &TRUE } else { &FALSE })
}

pub(crate) fn eval<'a>(expr: &'a Expr, scope: &'a dyn Scope) -> Result<Cow<'a, Value>, EvalError> {
    match expr.kind() {
        ExprKind::Literal(value) => Ok(Cow::Borrowed(value)),
        ExprKind::List(items) => items
            .iter()
            .map(|item| eval_top(item, scope).map(Cow::into_owned))
            .collect::<Result<Vec<_>, _>>()
            .map(|items| Cow::Owned(Value::Array(items))),
        ExprKind::Name(name) if name == "tasks" => {
            Err(EvalError::type_error("`tasks` needs a task id, as in `tasks.<task-id>.outputs`", expr.span()))
        }
        ExprKind::Name(name) => scope.var(name).ok_or_else(|| {
            if scope.known_later(name) {
                EvalError::Unknown { reference: name.clone(), range: expr.span() }
            } else {
                EvalError::UnknownName { name: name.clone(), range: expr.span() }
            }
        }),
        ExprKind::Member { object, name } => {
            if object.as_name() == Some("tasks") {
                return task(scope, &name.node, expr.span());
            }
            later_member(object, &name.node, scope, expr)?;
            let value = eval(object, scope)?;
            member_of(value, &name.node, object, expr.span())
        }
        ExprKind::Index { object, index } => {
            let key = eval(index, scope)?;
            if object.as_name() == Some("tasks") {
                return match key.as_ref() {
                    Value::String(id) => task(scope, id, expr.span()),
                    other => Err(EvalError::type_error(
                        format!("a task id must be a string, found {}", type_name(other)),
                        index.span(),
                    )),
                };
            }
            if let Value::String(member) = key.as_ref() {
                later_member(object, member, scope, expr)?;
            }
            let value = eval(object, scope)?;
            element(value, &key, object, expr.span())
        }
        ExprKind::Call { function, args } => builtins::call(function.node, args, scope, expr.span()),
        ExprKind::Unary { op: UnaryOp::Not, operand } => Ok(boolean(!truthy(eval_top(operand, scope)?.as_ref()))),
        ExprKind::Binary { op, lhs, rhs } => binary(*op, lhs, rhs, scope, expr.span()),
    }
}

/// Unknown when `object` is a top-level name whose `member` the scope knows only later.
fn later_member(object: &Expr, member: &str, scope: &dyn Scope, expr: &Expr) -> Result<(), EvalError> {
    match object.as_name() {
        Some(name) if scope.known_later_member(name, member) => {
            Err(EvalError::Unknown { reference: format!("{name}.{member}"), range: expr.span() })
        }
        _ => Ok(()),
    }
}

/// Evaluates an expression in a fallback's place (the first argument of `default(...)`, an
/// operand of `||` but the last): like [`eval`], but a member or element of null is null, so
/// that a missing link anywhere in a chain gives the fallback. `default(tasks.a.outputs.x.y,
/// 'none')` is `'none'` when `a` was skipped and set nothing, as `default(params.opt.key, 1)` is
/// `1` when the map parameter `opt` was not given.
pub(crate) fn eval_optional<'a>(expr: &'a Expr, scope: &'a dyn Scope) -> Result<Cow<'a, Value>, EvalError> {
    match expr.kind() {
        ExprKind::Member { object, name } if object.as_name() != Some("tasks") => {
            later_member(object, &name.node, scope, expr)?;
            let value = eval_optional(object, scope)?;
            if value.is_null() {
                return Ok(Cow::Borrowed(&NULL));
            }
            member_of(value, &name.node, object, expr.span())
        }
        ExprKind::Index { object, index } if object.as_name() != Some("tasks") => {
            let key = eval(index, scope)?;
            if let Value::String(member) = key.as_ref() {
                later_member(object, member, scope, expr)?;
            }
            let value = eval_optional(object, scope)?;
            if value.is_null() {
                return Ok(Cow::Borrowed(&NULL));
            }
            element(value, &key, object, expr.span())
        }
        _ => eval(expr, scope),
    }
}

/// Evaluates an expression written on its own in a template (`${{ ... }}`), or an operand of a
/// comparison or `!`. Like [`eval`], but naming an output that a finished task did not set is
/// an error rather than null: a typo or a step that forgot to write its output would otherwise
/// hand an empty value to the next call, or decide a condition. `default(...)` and `||` still
/// give optional outputs a fallback.
pub(crate) fn eval_top<'a>(expr: &'a Expr, scope: &'a dyn Scope) -> Result<Cow<'a, Value>, EvalError> {
    let value = eval(expr, scope)?;
    if !value.is_null() {
        return Ok(value);
    }
    // `<object>.NAME` or `<object>['NAME']`, where `<object>` is `tasks.ID.outputs`, or one
    // item's outputs of a `for_each` task (`tasks.ID.outputs[KEY]`).
    let (object, output) = match expr.kind() {
        ExprKind::Member { object, name } => (object, name.node.clone()),
        ExprKind::Index { object, index } => match eval(index, scope)?.as_ref() {
            Value::String(name) => (object, name.clone()),
            _ => return Ok(value),
        },
        _ => return Ok(value),
    };
    let Some(id) = outputs_of(object).or_else(|| item_outputs_of(object, scope)) else { return Ok(value) };
    let Some(record) = scope.task(&id) else { return Ok(value) };
    if record.get("state").and_then(Value::as_str) != Some("succeeded") {
        return Ok(value);
    }
    let Value::Object(set) = eval(object, scope)?.into_owned() else { return Ok(value) };
    if set.contains_key(&output) {
        return Ok(value);
    }
    // A refreshed plan's record of a resource the run would create: its outputs beyond the
    // few the preview knows come with the resource.
    if record.get("planned") == Some(&Value::Bool(true)) {
        return Err(EvalError::Unknown { reference: format!("tasks.{id}.outputs.{output}"), range: expr.span() });
    }
    let have = if set.is_empty() {
        "it set none".to_owned()
    } else {
        format!("it set {}", set.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "))
    };
    Err(EvalError::Type {
        message: format!(
            "task `{id}` succeeded without setting output `{output}` ({have}); if the output is optional, \
             write default({expr}, '...')"
        ),
        range: expr.span(),
    })
}

/// The task id when `object` is `tasks.ID.outputs` or `tasks.ID.outputs[KEY]` (by member or
/// by index).
fn outputs_of(object: &Expr) -> Option<String> {
    let outputs = match object.kind() {
        ExprKind::Index { object: inner, .. } if is_outputs(inner).is_some() => inner,
        _ => object,
    };
    is_outputs(outputs)
}

/// The task id when `object` is `tasks.ID.outputs.ITEM` and `ID` is a `for_each` task (for
/// other tasks that is a member of an output, such as `http`'s `json`).
fn item_outputs_of(object: &Expr, scope: &dyn Scope) -> Option<String> {
    let ExprKind::Member { object: inner, .. } = object.kind() else { return None };
    let id = is_outputs(inner)?;
    let record = scope.task(&id)?;
    (record.get("for_each") == Some(&Value::Bool(true))).then_some(id)
}

fn is_outputs(expr: &Expr) -> Option<String> {
    let ExprKind::Member { object: task, name } = expr.kind() else { return None };
    if name.node != "outputs" {
        return None;
    }
    match task.kind() {
        ExprKind::Member { object: root, name: id } if root.as_name() == Some("tasks") => Some(id.node.clone()),
        ExprKind::Index { object: root, index } if root.as_name() == Some("tasks") => match index.kind() {
            ExprKind::Literal(Value::String(id)) => Some(id.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// `tasks.<id>` or `tasks[<id>]`: the task record, or Unknown if the scope has none yet.
fn task<'a>(scope: &'a dyn Scope, id: &str, span: Range<usize>) -> Result<Cow<'a, Value>, EvalError> {
    scope.task(id).ok_or_else(|| EvalError::Unknown { reference: format!("tasks.{id}"), range: span })
}

/// `object.name`, where `value` is what `object` gave.
fn member_of<'a>(
    value: Cow<'a, Value>,
    name: &str,
    object: &Expr,
    span: Range<usize>,
) -> Result<Cow<'a, Value>, EvalError> {
    member(value, name)
        .map_err(|found| EvalError::type_error(format!("cannot read member `{name}` of {found} (`{object}`)"), span))
}

/// A map's member, null when missing. `Err` carries the type name of a non-map.
fn member<'a>(value: Cow<'a, Value>, key: &str) -> Result<Cow<'a, Value>, &'static str> {
    match value {
        Cow::Borrowed(Value::Object(map)) => Ok(Cow::Borrowed(map.get(key).unwrap_or(&NULL))),
        Cow::Owned(Value::Object(mut map)) => Ok(Cow::Owned(map.swap_remove(key).unwrap_or(Value::Null))),
        other => Err(type_name(&other)),
    }
}

/// `value[key]`: a map by string, a list by whole number (null when out of range).
fn element<'a>(
    value: Cow<'a, Value>,
    key: &Value,
    object: &Expr,
    span: Range<usize>,
) -> Result<Cow<'a, Value>, EvalError> {
    let mismatch = |value: &Value| {
        EvalError::type_error(
            format!("cannot index {} (`{object}`) with {}", type_name(value), type_name(key)),
            span.clone(),
        )
    };
    match (value.as_ref(), key) {
        (Value::Object(_), Value::String(name)) => member(value, name).map_err(|_| mismatch(key)),
        (Value::Array(items), Value::Number(n)) => {
            let Some(position) = list_position(n) else {
                return Err(EvalError::type_error(format!("a list index must be a whole number, found {n}"), span));
            };
            let Some(position) = position.filter(|p| *p < items.len()) else {
                return Ok(Cow::Borrowed(&NULL));
            };
            Ok(match value {
                Cow::Borrowed(Value::Array(items)) => Cow::Borrowed(&items[position]),
                Cow::Owned(Value::Array(mut items)) => Cow::Owned(items.swap_remove(position)),
                // Matched as a list above.
                _ => Cow::Borrowed(&NULL),
            })
        }
        (other, _) => Err(mismatch(other)),
    }
}

/// `Some(None)` for a whole number that cannot be a position (negative, huge), `None` for a
/// fraction.
fn list_position(n: &serde_json::Number) -> Option<Option<usize>> {
    if let Some(u) = n.as_u64() {
        return Some(usize::try_from(u).ok());
    }
    if n.as_i64().is_some() {
        return Some(None);
    }
    let f = n.as_f64()?;
    if f.fract() != 0.0 {
        return None;
    }
    // A whole float: 2.0 indexes like 2.
    Some((f >= 0.0 && f < usize::MAX as f64).then_some(f as usize))
}

/// The left side of `||`: itself, or each operand of the `||` chain it is (`a || b` in
/// `a || b || c`), evaluated without the check for unset outputs; the first true one.
fn fallbacks<'a>(expr: &'a Expr, scope: &'a dyn Scope) -> Result<Cow<'a, Value>, EvalError> {
    match expr.kind() {
        ExprKind::Binary { op: BinaryOp::Or, lhs, rhs } => {
            let left = fallbacks(lhs, scope)?;
            if truthy(&left) {
                return Ok(left);
            }
            eval_optional(rhs, scope)
        }
        _ => eval_optional(expr, scope),
    }
}

fn binary<'a>(
    op: BinaryOp,
    lhs: &'a Expr,
    rhs: &'a Expr,
    scope: &'a dyn Scope,
    span: Range<usize>,
) -> Result<Cow<'a, Value>, EvalError> {
    // `||` gives optional outputs a fallback: in `a || b || 'none'` every operand but the last
    // may name one that is not set. The last, and every other operand (of `&&`, of a
    // comparison), may not: `tasks.a.outputs.typo != 'x'` would be true whatever `a` did.
    if op == BinaryOp::Or {
        let left = fallbacks(lhs, scope)?;
        return if truthy(&left) { Ok(left) } else { eval_top(rhs, scope) };
    }
    let left = eval_top(lhs, scope)?;
    // `&&` returns an operand and does not evaluate the right side when decided.
    match op {
        BinaryOp::And if !truthy(&left) => return Ok(left),
        BinaryOp::And => return eval_top(rhs, scope),
        _ => {}
    }
    let right = eval_top(rhs, scope)?;
    let ordering = match op {
        BinaryOp::Eq => return Ok(boolean(loose_eq(&left, &right))),
        BinaryOp::Ne => return Ok(boolean(!loose_eq(&left, &right))),
        _ => compare(&left, &right).ok_or_else(|| {
            EvalError::type_error(
                format!(
                    "`{}` compares two numbers (or text spelling one) or two strings, not {} and {}",
                    op.symbol(),
                    type_name(&left),
                    type_name(&right)
                ),
                span,
            )
        })?,
    };
    Ok(boolean(match op {
        BinaryOp::Lt => ordering.is_lt(),
        BinaryOp::Le => ordering.is_le(),
        BinaryOp::Gt => ordering.is_gt(),
        _ => ordering.is_ge(),
    }))
}
