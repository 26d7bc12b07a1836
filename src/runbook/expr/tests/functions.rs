//! Every built-in function: results and the errors it reports.

use serde_json::json;

use super::eval::{eval, eval_err, scope};
use crate::runbook::expr::{parse_expr, EvalError};

fn function_error(src: &str) -> (String, std::ops::Range<usize>) {
    match eval_err(src) {
        EvalError::Function { function, message, range } => (format!("{function}(): {message}"), range),
        other => panic!("expected a function error for {src}, got {other:?}"),
    }
}

#[test]
fn default_falls_back_on_null_and_empty_string() {
    assert_eq!(eval("default(params.none, 'x')"), json!("x"));
    assert_eq!(eval("default(params.nope, 'x')"), json!("x"));
    assert_eq!(eval("default(params.empty, 'x')"), json!("x"));
    assert_eq!(eval("default(params.count, 'x')"), json!(3));
    assert_eq!(eval("default(false, 'x')"), json!(false));
    assert_eq!(eval("default(0, 'x')"), json!(0));
    assert_eq!(eval("default([], 'x')"), json!([]));
    // The fallback is only evaluated when needed.
    assert_eq!(eval("default(params.dest_region, nope)"), json!("eu-frankfurt-1"));
    assert!(eval_err("default(params.none, tasks.later.outputs.id)").is_unknown());
}

#[test]
fn a_missing_link_anywhere_in_a_chain_gives_the_fallback() {
    assert_eq!(eval("default(params.none.key, 'x')"), json!("x"));
    assert_eq!(eval("default(params.nope['a'].b[0], 'x')"), json!("x"));
    assert_eq!(eval("default(tasks['make-app'].outputs.gone.id, 'x')"), json!("x"));
    assert_eq!(eval("params.none.key || params.nope.key || 'x'"), json!("x"));
    assert_eq!(eval("default(params.apps.app1.image, 'x')"), json!("img1"));
    // Only null links: reading into a value of the wrong type is still an error,
    assert!(matches!(eval_err("default(params.count.key, 'x')"), EvalError::Type { .. }));
    // and so is a chain outside a fallback's place.
    assert!(matches!(eval_err("default(params.none, params.none.key)"), EvalError::Type { .. }));
    assert!(matches!(eval_err("'' || params.none.key"), EvalError::Type { .. }));
}

#[test]
fn join_items_in_string_form() {
    assert_eq!(eval("join(params.regions)"), json!("eu-frankfurt-1,uk-london-1"));
    assert_eq!(eval("join(params.regions, ' ')"), json!("eu-frankfurt-1 uk-london-1"));
    assert_eq!(
        eval("join(['a', 1, 2.5, true, null, [1], fromJSON('{\"k\":1}')], '|')"),
        json!("a|1|2.5|true||[1]|{\"k\":1}")
    );
    assert_eq!(eval("join([], '-')"), json!(""));
    assert_eq!(eval("join('already text', '-')"), json!("already text"));
    assert_eq!(eval("join([1, 2], 0)"), json!("102"));
    assert_eq!(function_error("join(params.apps)"), ("join(): expects a list, found a map".to_string(), 0..17));
    assert_eq!(function_error("join([], null)").0, "join(): the separator must be text, found null");
}

#[test]
fn format_replaces_placeholders() {
    assert_eq!(eval("format('{0}-{1}', 'a', 2)"), json!("a-2"));
    assert_eq!(eval("format('{1}{0}{1}', 'x', 'y')"), json!("yxy"));
    assert_eq!(eval("format('{{0}} is {0}', params.count)"), json!("{0} is 3"));
    assert_eq!(eval("format('}}{{')"), json!("}{"));
    assert_eq!(eval("format('{0}', params.regions)"), json!(r#"["eu-frankfurt-1","uk-london-1"]"#));
    assert_eq!(eval("format('{0}|', null)"), json!("|"));
    assert_eq!(eval("format('no placeholders')"), json!("no placeholders"));
    assert_eq!(eval("format('héllo {0}', 'wörld')"), json!("héllo wörld"));
}

#[test]
fn format_errors() {
    assert_eq!(
        function_error("format('{2}', 'a', 'b')"),
        ("format(): `{2}` has no value; the format was given 2 values".to_string(), 0..23)
    );
    assert_eq!(function_error("format('{0}')").0, "format(): `{0}` has no value; the format was given 0 values");
    assert_eq!(
        function_error("format('{x}', 1)").0,
        "format(): the `{` at character 1 of the format does not start a placeholder; use `{0}`, `{1}`, ... or `{{` \
         for a literal brace"
    );
    assert_eq!(
        function_error("format('{0', 1)").0,
        "format(): unclosed `{` in the format; write `{{` for a literal brace"
    );
    assert_eq!(
        function_error("format('a}b')").0,
        "format(): unmatched `}` in the format; write `}}` for a literal brace"
    );
    assert_eq!(function_error("format(1)").0, "format(): the format must be a string, found a number");
    for signed in ["format('{+0}', 1)", "format('{ 0}', 1)", "format('{}', 1)"] {
        assert!(function_error(signed).0.contains("does not start a placeholder"), "{signed}");
    }
}

#[test]
fn contains_substring_or_element() {
    assert_eq!(eval("contains(params.dest_region, 'frankfurt')"), json!(true));
    assert_eq!(eval("contains(params.dest_region, 'Frankfurt')"), json!(false));
    assert_eq!(eval("contains('v1.2.3', 2)"), json!(true));
    assert_eq!(eval("contains(params.regions, 'uk-london-1')"), json!(true));
    assert_eq!(eval("contains(params.regions, 'uk')"), json!(false));
    assert_eq!(eval("contains([1, 2], 2.0)"), json!(true));
    assert_eq!(eval("contains([[1]], [1])"), json!(true));
    assert_eq!(
        function_error("contains(params.apps, 'app1')").0,
        "contains(): expects a string or list to search, found a map"
    );
    assert_eq!(function_error("contains('abc', null)").0, "contains(): cannot look for null in a string");
}

#[test]
fn starts_and_ends_with() {
    assert_eq!(eval("startsWith(params.dest_region, 'eu-')"), json!(true));
    assert_eq!(eval("startsWith(params.dest_region, 'uk-')"), json!(false));
    assert_eq!(eval("endsWith(params.dest_region, '-1')"), json!(true));
    assert_eq!(eval("endsWith('v10', 0)"), json!(true));
    assert_eq!(eval("startsWith('abc', '')"), json!(true));
    assert_eq!(
        function_error("endsWith(params.regions, 'x')"),
        ("endsWith(): expects text, found a list and a string".to_string(), 0..29)
    );
}

#[test]
fn length_of_strings_lists_and_maps() {
    assert_eq!(eval("length('héllo')"), json!(5));
    assert_eq!(eval("length(params.regions)"), json!(2));
    assert_eq!(eval("length(params.apps)"), json!(2));
    assert_eq!(eval("length('')"), json!(0));
    assert_eq!(function_error("length(params.count)").0, "length(): expects a string, list or map, found a number");
    assert_eq!(function_error("length(null)").0, "length(): expects a string, list or map, found null");
}

#[test]
fn lower_and_upper() {
    assert_eq!(eval("lower('MiXeD Ä')"), json!("mixed ä"));
    assert_eq!(eval("upper(params.dest_region)"), json!("EU-FRANKFURT-1"));
    assert_eq!(function_error("upper(params.flag)").0, "upper(): expects a string, found a bool");
}

#[test]
fn json_round_trip() {
    assert_eq!(eval("toJSON(params.regions)"), json!(r#"["eu-frankfurt-1","uk-london-1"]"#));
    assert_eq!(eval("toJSON('a')"), json!(r#""a""#));
    assert_eq!(eval("toJSON(null)"), json!("null"));
    assert_eq!(eval("fromJSON('[1, {\"a\": true}]')"), json!([1, {"a": true}]));
    assert_eq!(eval("fromJSON(toJSON(params.apps))"), scope()["params"]["apps"]);
    assert_eq!(eval("fromJSON('3') == 3"), json!(true));
    assert_eq!(
        function_error("fromJSON('{bad')").0,
        "fromJSON(): invalid JSON: key must be a string at line 1 column 2"
    );
    assert_eq!(function_error("fromJSON(1)").0, "fromJSON(): expects a string, found a number");
}

#[test]
fn keys_and_values_keep_map_order() {
    assert_eq!(eval("keys(params.apps)"), json!(["app1", "app2"]));
    assert_eq!(eval("values(params.apps)"), json!([{"image": "img1"}, {"image": "img2"}]));
    assert_eq!(eval("keys(fromJSON('{\"z\":1,\"a\":2}'))"), json!(["z", "a"]));
    assert_eq!(eval("values(fromJSON('{}'))"), json!([]));
    assert_eq!(function_error("keys(params.regions)").0, "keys(): expects a map, found a list");
    assert_eq!(function_error("values('x')").0, "values(): expects a map, found a string");
}

#[test]
fn function_error_ranges_are_the_call() {
    let src = "params.flag && upper(1) == 'X'";
    let e = parse_expr(src).unwrap().eval(&scope()).unwrap_err();
    assert_eq!(&src[e.range().clone()], "upper(1)");
}

#[test]
fn a_hand_built_call_with_wrong_arity_is_an_error_not_a_panic() {
    use crate::runbook::expr::{Expr, ExprKind, Function, Spanned};
    let call =
        Expr::new(ExprKind::Call { function: Spanned { node: Function::Lower, span: 0..5 }, args: vec![] }, 0..7);
    assert_eq!(
        call.eval(&scope()).unwrap_err().to_string(),
        "lower(): wrong number of arguments; signature: lower(text)"
    );
}
