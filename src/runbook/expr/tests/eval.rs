//! Evaluation: names, paths, operators, truthiness and the errors evaluation can end with.

use std::borrow::Cow;

use serde_json::{json, Value};

use crate::runbook::expr::{parse_expr, EvalError, Scope};

pub(super) fn scope() -> Value {
    json!({
        "params": {
            "dest_region": "eu-frankfurt-1",
            "regions": ["eu-frankfurt-1", "uk-london-1"],
            "empty": "",
            "none": null,
            "count": 3,
            "ratio": 0.5,
            "flag": true,
            "apps": {"app1": {"image": "img1"}, "app2": {"image": "img2"}},
            "dash-key": "dashed"
        },
        "each": {"key": "app1", "index": 1},
        "tasks": {
            "make-app": {
                "state": "succeeded",
                "outputs": {"id": "ocid1.app", "app1": {"id": "fn1"}, "list": [10, 20]}
            }
        }
    })
}

pub(super) fn eval(src: &str) -> Value {
    parse_expr(src).unwrap().eval(&scope()).unwrap()
}

pub(super) fn eval_err(src: &str) -> EvalError {
    parse_expr(src).unwrap().eval(&scope()).unwrap_err()
}

#[test]
fn literals_evaluate_to_themselves() {
    assert_eq!(eval("'a''b'"), json!("a'b"));
    assert_eq!(eval("-12"), json!(-12));
    assert_eq!(eval("2.5"), json!(2.5));
    assert_eq!(eval("null"), json!(null));
    assert_eq!(eval("[1, 'x', [true], params.count]"), json!([1, "x", [true], 3]));
}

#[test]
fn paths_read_the_scope() {
    assert_eq!(eval("params.dest_region"), json!("eu-frankfurt-1"));
    assert_eq!(eval("params.regions[1]"), json!("uk-london-1"));
    assert_eq!(eval("params['dash-key']"), json!("dashed"));
    assert_eq!(eval("params.dash-key"), json!("dashed"));
    assert_eq!(eval("params.apps[each.key].image"), json!("img1"));
    assert_eq!(eval("tasks.make-app.outputs.id"), json!("ocid1.app"));
    assert_eq!(eval("tasks['make-app'].state"), json!("succeeded"));
    assert_eq!(eval("tasks.make-app.outputs[each.key].id"), json!("fn1"));
    assert_eq!(eval("tasks.make-app.outputs.list[each.index]"), json!(20));
}

#[test]
fn missing_members_and_out_of_range_indexes_are_null() {
    assert_eq!(eval("params.nope"), json!(null));
    assert_eq!(eval("params['nope']"), json!(null));
    assert_eq!(eval("params.regions[2]"), json!(null));
    assert_eq!(eval("params.regions[-1]"), json!(null));
    assert_eq!(eval("params.regions[1.0]"), json!("uk-london-1"));
    assert_eq!(eval("tasks.make-app.outputs.missing"), json!(null));
}

#[test]
fn values_built_by_the_expression_can_be_indexed() {
    assert_eq!(eval("[10, 20, 30][2]"), json!(30));
    assert_eq!(eval("fromJSON('{\"a\": {\"b\": 1}}').a.b"), json!(1));
    assert_eq!(eval("fromJSON('{\"a\": 1}').z"), json!(null));
    assert_eq!(eval("[1][5]"), json!(null));
}

#[test]
fn indexing_errors() {
    let e = eval_err("params.dest_region.x");
    assert_eq!(
        e,
        EvalError::Type { message: "cannot read member `x` of a string (`params.dest_region`)".into(), range: 0..20 }
    );
    let e = eval_err("params.none.x");
    assert_eq!(e.to_string(), "cannot read member `x` of null (`params.none`)");
    let e = eval_err("params.regions['a']");
    assert_eq!(e.to_string(), "cannot index a list (`params.regions`) with a string");
    assert_eq!(e.range(), &(0..19));
    let e = eval_err("params.apps[0]");
    assert_eq!(e.to_string(), "cannot index a map (`params.apps`) with a number");
    let e = eval_err("params.count[0]");
    assert_eq!(e.to_string(), "cannot index a number (`params.count`) with a number");
    let e = eval_err("params.regions[0.5]");
    assert_eq!(e.to_string(), "a list index must be a whole number, found 0.5");
    let e = eval_err("tasks[params.count]");
    assert_eq!(e.to_string(), "a task id must be a string, found a number");
    assert_eq!(e.range(), &(6..18));
}

#[test]
fn unknown_names_and_unknown_tasks() {
    let e = eval_err("params.x == nope.y");
    assert_eq!(e, EvalError::UnknownName { name: "nope".into(), range: 12..16 });
    assert_eq!(e.to_string(), "unknown name `nope`");

    let e = eval_err("null || tasks.later.outputs.id");
    assert_eq!(e, EvalError::Unknown { reference: "tasks.later".into(), range: 8..19 });
    assert!(e.is_unknown());
    assert_eq!(e.to_string(), "`tasks.later` is not known until the task has run");
    let e = eval_err("tasks[each.key].state");
    assert_eq!(e.to_string(), "`tasks.app1` is not known until the task has run");
    assert_eq!(e.range(), &(0..15));
}

#[test]
fn equality_is_strict_except_for_numbers_and_the_text_that_spells_them() {
    assert_eq!(eval("params.dest_region == 'eu-frankfurt-1'"), json!(true));
    assert_eq!(eval("params.dest_region != 'none'"), json!(true));
    assert_eq!(eval("1 == 1.0"), json!(true));
    assert_eq!(eval("params.count == 3.0"), json!(true));
    assert_eq!(eval("1 == '1'"), json!(true), "shell outputs are text");
    assert_eq!(eval("1 == '1 replica'"), json!(false));
    assert_eq!(eval("true == 'True'"), json!(true));
    assert_eq!(eval("null == ''"), json!(false));
    assert_eq!(eval("params.nope == null"), json!(true));
    assert_eq!(eval("[1, 'a'] == [1.0, 'a']"), json!(true));
    assert_eq!(eval("params.regions != ['eu-frankfurt-1']"), json!(true));
}

#[test]
fn ordering_of_numbers_and_strings() {
    assert_eq!(eval("params.count > 2"), json!(true));
    assert_eq!(eval("params.count >= 3"), json!(true));
    assert_eq!(eval("params.ratio < 1"), json!(true));
    assert_eq!(eval("2 <= 1"), json!(false));
    assert_eq!(eval("'abc' < 'abd'"), json!(true));
    assert_eq!(eval("'b' > 'abc'"), json!(true));
}

#[test]
fn ordering_mixed_types_is_a_type_error() {
    assert_eq!(eval("params.count < '10'"), json!(true), "text that spells a number compares as one");
    let e = eval_err("params.count < 'ten'");
    assert_eq!(
        e,
        EvalError::Type {
            message: "`<` compares two numbers (or text spelling one) or two strings, not a number and a string".into(),
            range: 0..20,
        }
    );
    let e = eval_err("x >= 1 || null >= null");
    assert!(matches!(e, EvalError::UnknownName { .. }));
    assert_eq!(eval("params.flag || null >= null"), json!(true));
    let e = eval_err("true && null >= null");
    assert_eq!(e.range(), &(8..20));
}

#[test]
fn not_uses_truthiness() {
    for (src, expected) in [
        ("!false", true),
        ("!null", true),
        ("!''", true),
        ("!0", true),
        ("!0.0", true),
        ("![]", true),
        ("!fromJSON('{}')", true),
        ("!params.none", true),
        ("!'false'", true),
        ("!'False '", true),
        ("!'0'", false),
        ("!1", false),
        ("![0]", false),
        ("!params.apps", false),
        ("!!params.flag", true),
    ] {
        assert_eq!(eval(src), json!(expected), "{src}");
    }
}

#[test]
fn or_and_return_an_operand() {
    assert_eq!(eval("params.empty || 'fallback'"), json!("fallback"));
    assert_eq!(eval("params.dest_region || 'fallback'"), json!("eu-frankfurt-1"));
    assert_eq!(eval("params.none || 0 || []"), json!([]));
    assert_eq!(eval("params.flag && params.count"), json!(3));
    assert_eq!(eval("'' && params.count"), json!(""));
    assert_eq!(eval("params.regions && params.regions[0]"), json!("eu-frankfurt-1"));
}

#[test]
fn or_and_short_circuit() {
    // The right side would fail (unknown name, unknown task); it is never evaluated.
    assert_eq!(eval("true || nope"), json!(true));
    assert_eq!(eval("false && nope"), json!(false));
    assert_eq!(eval("params.flag || tasks.later.outputs.id"), json!(true));
    assert!(matches!(eval_err("false || nope"), EvalError::UnknownName { .. }));
    assert!(matches!(eval_err("true && nope"), EvalError::UnknownName { .. }));
}

#[test]
fn bare_tasks_in_a_hand_built_tree_is_a_type_error() {
    use crate::runbook::expr::{Expr, ExprKind};
    let expr = Expr::new(ExprKind::Name("tasks".into()), 0..5);
    let e = expr.eval(&scope()).unwrap_err();
    assert_eq!(e.to_string(), "`tasks` needs a task id, as in `tasks.<task-id>.outputs`");
}

#[test]
fn eval_bool_and_borrowed() {
    let s = scope();
    assert!(parse_expr("params.regions").unwrap().eval_bool(&s).unwrap());
    assert!(!parse_expr("params.empty").unwrap().eval_bool(&s).unwrap());
    let expr = parse_expr("tasks.make-app.outputs").unwrap();
    let value = expr.eval_borrowed(&s).unwrap();
    assert!(matches!(value, Cow::Borrowed(_)), "a path must not copy");
    assert_eq!(value.as_ref(), &s["tasks"]["make-app"]["outputs"]);
}

/// A scope that is not a JSON document: the engine's kind, computing records on demand.
struct Computed;

impl Scope for Computed {
    fn var(&self, name: &str) -> Option<Cow<'_, Value>> {
        (name == "run").then(|| Cow::Owned(json!({"id": "r-1"})))
    }

    fn task(&self, id: &str) -> Option<Cow<'_, Value>> {
        id.starts_with("done-").then(|| Cow::Owned(json!({"state": "succeeded", "outputs": {"id": id}})))
    }
}

#[test]
fn owned_values_from_a_custom_scope() {
    let value = |src: &str| parse_expr(src).unwrap().eval(&Computed);
    assert_eq!(value("run.id").unwrap(), json!("r-1"));
    assert_eq!(value("tasks.done-a.outputs.id").unwrap(), json!("done-a"));
    assert_eq!(value("tasks['done-b'].outputs['id']").unwrap(), json!("done-b"));
    assert!(value("tasks.pending.state").unwrap_err().is_unknown());
    assert!(matches!(value("params.x").unwrap_err(), EvalError::UnknownName { .. }));
}
