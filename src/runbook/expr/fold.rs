//! Finds operations that fail before anything runs: function calls on literals only
//! (`format('{1}', 'x')`, `fromJSON('{bad')`), and calls, member reads, indexing and ordering
//! comparisons on typed parameters that fail for every value of the parameter's type
//! (`lower(params.count)` or `params.count.x` with `count` a number, `params.list > 1`).
//!
//! An operation on parameters is tried with a few sample values of each declared type; it is
//! reported only when every sample fails, so one that fails for some values only
//! (`fromJSON(params.text)`) is left to run time. A member read or an index is tried only on a
//! parameter or a literal itself: what a map or a list parameter holds inside is not declared.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use super::ast::{Expr, ExprKind};
use super::error::EvalError;
use super::scope::Scope;
use crate::runbook::model::ParamType;

/// How many sample values each parameter type has.
const SAMPLES: usize = 5;

fn sample(kind: ParamType, i: usize) -> Value {
    // Text samples include JSON of each kind a string parameter may carry for `fromJSON`.
    let samples = match kind {
        ParamType::String => [json!(""), json!("1"), json!("{\"a\": [1]}"), json!("[\"a\"]"), json!("\"a\"")],
        ParamType::Number => [json!(0), json!(1), json!(2.5), json!(-3), json!(10)],
        ParamType::Bool => [json!(false), json!(true), json!(true), json!(false), json!(true)],
        ParamType::List => [json!([]), json!(["a"]), json!([1, "b"]), json!(["a", "b"]), json!([{"a": 1}])],
        ParamType::Map => [json!({}), json!({"a": "b"}), json!({"a": 1}), json!({"a": [1]}), json!({"b": "c"})],
    };
    samples[i % SAMPLES].clone()
}

/// A failing operation: the error, whether it fails whatever the parameters (`false`) or for
/// every value of the types of the parameters it reads (`true`), and whether it is a function
/// call.
pub struct Failure {
    pub error: EvalError,
    pub reads_params: bool,
    pub call: bool,
}

/// The operations in `expr` that cannot succeed. `param_type` gives a parameter's declared
/// type.
pub fn failing_calls(expr: &Expr, param_type: &dyn Fn(&str) -> Option<ParamType>) -> Vec<Failure> {
    let mut out = Vec::new();
    walk(expr, param_type, &mut out);
    out
}

fn walk(expr: &Expr, param_type: &dyn Fn(&str) -> Option<ParamType>, out: &mut Vec<Failure>) {
    let mut params = Vec::new();
    let p = &mut params;
    let tried = match expr.kind() {
        ExprKind::Call { args, .. } => args.iter().all(|a| foldable(a, param_type, p)),
        ExprKind::Member { object, .. } => plain(object, param_type) && foldable(object, param_type, p),
        ExprKind::Index { object, index } => {
            plain(object, param_type) && foldable(object, param_type, p) && foldable(index, param_type, p)
        }
        ExprKind::Binary { op, lhs, rhs } if op.orders() => {
            foldable(lhs, param_type, p) && foldable(rhs, param_type, p)
        }
        _ => false,
    };
    if tried {
        if let Some(error) = fails_always(expr, &params, param_type) {
            let call = matches!(expr.kind(), ExprKind::Call { .. });
            out.push(Failure { error, reads_params: !params.is_empty(), call });
            return;
        }
    }
    expr.for_each_child(|child| walk(child, param_type, out));
}

/// Whether `expr` is made of literals and `params.<name>` of declared types only.
fn foldable<'e>(expr: &'e Expr, param_type: &dyn Fn(&str) -> Option<ParamType>, params: &mut Vec<&'e str>) -> bool {
    match expr.kind() {
        ExprKind::Literal(_) => true,
        ExprKind::Member { object, name } if object.as_name() == Some("params") => {
            let known = param_type(&name.node).is_some();
            if known {
                params.push(&name.node);
            }
            known
        }
        ExprKind::List(items) | ExprKind::Call { args: items, .. } => {
            items.iter().all(|e| foldable(e, param_type, params))
        }
        ExprKind::Unary { operand, .. } => foldable(operand, param_type, params),
        ExprKind::Binary { lhs, rhs, .. } => foldable(lhs, param_type, params) && foldable(rhs, param_type, params),
        ExprKind::Name(_) | ExprKind::Member { .. } | ExprKind::Index { .. } => false,
    }
}

/// Whether `expr` is a literal or a declared parameter itself, whose type is known.
fn plain(expr: &Expr, param_type: &dyn Fn(&str) -> Option<ParamType>) -> bool {
    match expr.kind() {
        ExprKind::Literal(_) => true,
        ExprKind::Member { object, name } => object.as_name() == Some("params") && param_type(&name.node).is_some(),
        _ => false,
    }
}

/// The error of the operation when it fails with every sample of its parameters.
fn fails_always(call: &Expr, params: &[&str], param_type: &dyn Fn(&str) -> Option<ParamType>) -> Option<EvalError> {
    let rounds = if params.is_empty() { 1 } else { SAMPLES };
    let mut first = None;
    for i in 0..rounds {
        let mut values = Map::new();
        for name in params {
            if let Some(kind) = param_type(name) {
                values.insert((*name).to_owned(), sample(kind, i));
            }
        }
        match call.eval(&Samples(Value::Object(values))) {
            Ok(_) => return None,
            // Samples stand in for values; a function that needs a task's record is for later.
            Err(EvalError::Unknown { .. } | EvalError::UnknownName { .. }) => return None,
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    first
}

/// A scope with sample parameters and nothing else.
struct Samples(Value);

impl Scope for Samples {
    fn var(&self, name: &str) -> Option<Cow<'_, Value>> {
        (name == "params").then_some(Cow::Borrowed(&self.0))
    }

    fn task(&self, _id: &str) -> Option<Cow<'_, Value>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::expr::parse_expr;

    fn failing(src: &str) -> Vec<(String, bool)> {
        let types = |name: &str| match name {
            "n" => Some(ParamType::Number),
            "s" => Some(ParamType::String),
            "l" => Some(ParamType::List),
            "m" => Some(ParamType::Map),
            _ => None,
        };
        let expr = parse_expr(src).unwrap();
        failing_calls(&expr, &types).into_iter().map(|f| (f.error.to_string(), f.reads_params)).collect()
    }

    #[test]
    fn member_reads_indexes_and_orderings_that_cannot_succeed_are_found() {
        assert_eq!(failing("params.n.x"), vec![("cannot read member `x` of a number (`params.n`)".into(), true)]);
        assert_eq!(failing("params.l.x").len(), 1);
        assert_eq!(failing("params.n[0]").len(), 1);
        assert_eq!(failing("params.l['a']").len(), 1);
        assert_eq!(failing("params.l > 1").len(), 1);
        assert_eq!(failing("1 < [1]").len(), 1);
        assert_eq!(failing("params.n > 'abc'").len(), 1);
        assert_eq!(failing("upper(params.s) == 'A' && params.l >= 2").len(), 1);
    }

    #[test]
    fn member_reads_indexes_and_orderings_that_may_succeed_are_left_alone() {
        assert!(failing("params.l[5]").is_empty(), "out of range is null");
        assert!(failing("params.m.x").is_empty(), "a map parameter's keys are not declared");
        assert!(failing("params.m.a.b").is_empty(), "nor what its values hold");
        assert!(failing("params.l[0].name").is_empty(), "nor what a list's items hold");
        assert!(failing("fromJSON(params.s).a.b").is_empty());
        assert!(failing("params.s > 1").is_empty(), "text may spell a number");
        assert!(failing("params.n >= 1").is_empty());
        assert!(failing("length(params.l) > 1").is_empty());
        assert!(failing("params.l > tasks.a.outputs.n").is_empty());
        assert!(failing("params.l == 1 || !params.l").is_empty(), "equality and negation never fail");
    }

    #[test]
    fn calls_that_cannot_succeed_are_found() {
        assert_eq!(failing("format('{1}', 'x')").len(), 1);
        assert_eq!(failing("fromJSON('{bad')").len(), 1);
        assert_eq!(failing("lower(params.n)"), vec![("lower(): expects a string, found a number".into(), true)]);
        assert_eq!(failing("'a' == upper(params.n) && length(params.l) > 0").len(), 1);
    }

    #[test]
    fn calls_that_may_succeed_are_left_alone() {
        assert!(failing("fromJSON(params.s)").is_empty(), "some strings are JSON");
        assert!(failing("lower(params.s)").is_empty());
        assert!(failing("join(params.l, '-')").is_empty());
        assert!(failing("lower(params.undeclared)").is_empty(), "reported as an unknown parameter instead");
        assert!(failing("lower(tasks.a.outputs.x)").is_empty());
        assert!(failing("format('{0}', each)").is_empty());
        // A string parameter may carry JSON of any kind.
        assert!(failing("join(fromJSON(params.s), ' ')").is_empty());
        assert!(failing("contains(fromJSON(params.s), 'x')").is_empty());
        assert!(failing("lower(fromJSON(params.s))").is_empty());
    }
}
