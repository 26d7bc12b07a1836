//! Parsing: structure, precedence, spans and error messages with their exact ranges.

use serde_json::Value;

use super::sexp;
use crate::runbook::expr::{parse_expr, ExprError, ExprKind, Function, MAX_DEPTH, MAX_TREE_DEPTH};

fn tree(src: &str) -> String {
    sexp(&parse_expr(src).unwrap())
}

fn error(src: &str) -> ExprError {
    parse_expr(src).unwrap_err()
}

/// The message, the underlined text and the help line of a parse error.
fn diagnosis(src: &str) -> (String, &str, Option<String>) {
    let e = error(src);
    (e.message, &src[e.range], e.help)
}

#[test]
fn literals() {
    assert_eq!(tree("'it''s'"), "'it''s'");
    assert_eq!(tree("42"), "42");
    assert_eq!(tree("-3.5"), "-3.5");
    assert_eq!(tree("true"), "true");
    assert_eq!(tree("false"), "false");
    assert_eq!(tree("null"), "null");
    assert_eq!(tree("[]"), "(list)");
    assert_eq!(tree("[1, 'a', [null]]"), "(list 1 'a' (list null))");
}

#[test]
fn paths() {
    assert_eq!(tree("tasks.make-vcn.outputs.id"), "(. (. (. tasks make-vcn) outputs) id)");
    assert_eq!(
        tree("tasks.make-app.outputs[each.application].id"),
        "(. ([] (. (. tasks make-app) outputs) (. each application)) id)"
    );
    assert_eq!(tree("a['x'][0]"), "([] ([] a 'x') 0)");
    // Keywords and function names are fine as member names and plain names.
    assert_eq!(tree("a.true.null.join"), "(. (. (. a true) null) join)");
    assert_eq!(tree("join.x"), "(. join x)");
    assert_eq!(tree("_x-1"), "_x-1");
}

#[test]
fn precedence_lowest_to_highest() {
    assert_eq!(tree("a || b && c == d < e"), "(|| a (&& b (== c (< d e))))");
    assert_eq!(tree("a < b == c && d || e"), "(|| (&& (== (< a b) c) d) e)");
    assert_eq!(tree("!a == b"), "(== (! a) b)");
    assert_eq!(tree("!a.b[0]"), "(! ([] (. a b) 0))");
    assert_eq!(tree("!!a"), "(! (! a))");
    assert_eq!(tree("(a || b) && c"), "(&& (|| a b) c)");
    assert_eq!(tree("(a || b).c"), "(. (|| a b) c)");
}

#[test]
fn binary_operators_are_left_associative() {
    assert_eq!(tree("a || b || c"), "(|| (|| a b) c)");
    assert_eq!(tree("a == b != c"), "(!= (== a b) c)");
    assert_eq!(tree("a <= b >= c > d"), "(> (>= (<= a b) c) d)");
}

#[test]
fn calls() {
    assert_eq!(tree("join(a, ', ')"), "(join a ', ')");
    assert_eq!(tree("format('{0}')"), "(format '{0}')");
    assert_eq!(tree("default(lower(params.x), 'y').z"), "(. (default (lower (. params x)) 'y') z)");
    let expr = parse_expr("  toJSON(x)").unwrap();
    let ExprKind::Call { function, args } = expr.kind() else {
        panic!("not a call: {expr:?}");
    };
    assert_eq!(function.node, Function::ToJson);
    assert_eq!(function.span, 2..8);
    assert_eq!(args.len(), 1);
    assert_eq!(expr.span(), 2..11);
}

#[test]
fn spans_cover_each_node() {
    let src = "a.b == [1, 'x'] || !c";
    let expr = parse_expr(src).unwrap();
    assert_eq!(expr.span(), 0..21);
    let ExprKind::Binary { lhs, rhs, .. } = expr.kind() else {
        panic!("not binary");
    };
    assert_eq!(&src[lhs.span()], "a.b == [1, 'x']");
    assert_eq!(&src[rhs.span()], "!c");
    let ExprKind::Binary { lhs, rhs, .. } = lhs.kind() else {
        panic!("not binary");
    };
    assert_eq!(&src[lhs.span()], "a.b");
    assert_eq!(&src[rhs.span()], "[1, 'x']");
    let ExprKind::Member { name, .. } = lhs.kind() else {
        panic!("not a member");
    };
    assert_eq!(name.span, 2..3);
    assert!(matches!(
        parse_expr("'x'").unwrap().kind(),
        ExprKind::Literal(Value::String(s)) if s == "x"
    ));
}

#[test]
fn empty_and_trailing_input() {
    let e = error("   ");
    assert_eq!(e.message, "expected an expression");
    assert_eq!(e.range, 3..3);

    let (message, at, help) = diagnosis("a b");
    assert_eq!(message, "unexpected `b` after the expression");
    assert_eq!(at, "b");
    assert!(help.unwrap().starts_with("combine values with"));

    let (message, at, _) = diagnosis("a == ");
    assert_eq!(message, "expected an expression, found the end of the expression");
    assert_eq!(at, "");
    assert_eq!(error("a == ").range, 5..5);
}

#[test]
fn unexpected_tokens() {
    let (message, at, _) = diagnosis("a == )");
    assert_eq!(message, "expected an expression, found `)`");
    assert_eq!(at, ")");
    assert_eq!(error("a == )").range, 5..6);

    let (message, at, _) = diagnosis("a.'b'");
    assert_eq!(message, "expected a member name after `.`, found `'b'`");
    assert_eq!(at, "'b'");

    let (message, at, _) = diagnosis("a. == 1");
    assert_eq!(message, "expected a member name after `.`, found `==`");
    assert_eq!(at, "==");

    let (message, at, help) = diagnosis("a.b(1)");
    assert_eq!(message, "only functions can be called");
    assert_eq!(at, "(");
    assert!(help.unwrap().contains("lower(params.name)"));
}

#[test]
fn unclosed_brackets_point_at_the_opening() {
    let e = error("(a || b");
    assert_eq!(e.message, "unclosed `(`");
    assert_eq!(e.range, 0..1);
    assert_eq!(e.help.as_deref(), Some("add `)`"));

    let e = error("x[each.y");
    assert_eq!(e.message, "unclosed `[`");
    assert_eq!(e.range, 1..2);

    let e = error("join(a, b");
    assert_eq!(e.message, "unclosed `(`");
    assert_eq!(e.range, 4..5);

    let e = error("[1, 2 3]");
    assert_eq!(e.message, "expected `]`, found `3`");
    assert_eq!(e.range, 6..7);

    let e = error("(a b)");
    assert_eq!(e.message, "expected `)`, found `b`");
    assert_eq!(e.range, 3..4);
}

#[test]
fn function_errors_point_at_the_name() {
    let e = error("x == Join(a)");
    assert_eq!(e.message, "unknown function `Join`");
    assert_eq!(e.range, 5..9);
    assert_eq!(e.help.as_deref(), Some("did you mean `join(list, separator?)`?"));

    let e = error("  lower(a, b)");
    assert_eq!(e.message, "`lower` takes 1 argument, but 2 were given");
    assert_eq!(e.range, 2..7);
    assert_eq!(e.help.as_deref(), Some("signature: lower(text)"));

    let e = error("default()");
    assert_eq!(e.message, "`default` takes 2 arguments, but 0 were given");
    assert_eq!(e.range, 0..7);
    assert_eq!(e.help.as_deref(), Some("signature: default(value, fallback)"));
}

#[test]
fn tasks_needs_an_id() {
    let e = error("tasks == null");
    assert_eq!(e.message, "`tasks` needs a task id");
    assert_eq!(e.range, 0..5);
    assert_eq!(e.help.as_deref(), Some("write `tasks.<task-id>.outputs.<name>`"));
    assert!(parse_expr("tasks[each.id].state").is_ok());
}

#[test]
fn lexer_errors_surface_with_ranges() {
    let e = error("params.x == \"eu\"");
    assert_eq!(e.message, "unexpected character `\"`");
    assert_eq!(e.range, 12..13);
    let e = error("a == 'open");
    assert_eq!(e.message, "unterminated string");
    assert_eq!(e.range, 5..10);
}

#[test]
fn nesting_is_capped() {
    let ok = format!("{}a{}", "(".repeat(MAX_DEPTH - 1), ")".repeat(MAX_DEPTH - 1));
    assert!(parse_expr(&ok).is_ok());
    let deep = format!("{}a{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    let e = parse_expr(&deep).unwrap_err();
    assert_eq!(e.message, "expression is nested too deeply (more than 100 levels)");
    assert_eq!(e.range, MAX_DEPTH..MAX_DEPTH + 1);

    let bangs = format!("{}a", "!".repeat(100_000));
    assert!(parse_expr(&bangs).is_err());
    // Long flat chains build deep trees without recursing in the parser; they are capped too.
    let chain = format!("a{}", ".b".repeat(100_000));
    let e = parse_expr(&chain).unwrap_err();
    assert_eq!(e.range, 0..2 * MAX_TREE_DEPTH + 1);
    let ors = vec!["a"; 100_000].join(" || ");
    assert!(parse_expr(&ors).is_err());
    let ok_chain = format!("a{}", ".b".repeat(MAX_TREE_DEPTH - 1));
    assert!(parse_expr(&ok_chain).is_ok());
    // A generated check of hundreds of operands nests nothing.
    let checks = vec!["a == 'x'"; 120].join(" && ");
    assert!(parse_expr(&checks).is_ok());
}
