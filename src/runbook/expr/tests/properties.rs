//! Property tests: printing any tree parses back to the same tree, and no input string makes
//! the parser, the template splitter or the evaluator panic.

use proptest::prelude::*;
use serde_json::{Number, Value};

use super::eval::scope;
use crate::runbook::expr::{parse_expr, BinaryOp, Expr, ExprKind, Function, Spanned, Template, UnaryOp};

fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, 0..0)
}

fn identifier() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_-]{0,8}"
}

/// A top-level name: not a keyword (those are literals) and not `tasks` (which needs an id).
fn root_name() -> impl Strategy<Value = String> {
    identifier().prop_filter("keywords and tasks are not plain names", |name| {
        !matches!(name.as_str(), "true" | "false" | "null" | "tasks")
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite floats only", Number::from_f64).prop_map(Value::Number),
        any::<String>().prop_map(Value::String),
        "[a-z' {}$]{0,6}".prop_map(Value::String),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        scalar().prop_map(|v| node(ExprKind::Literal(v))),
        root_name().prop_map(|name| node(ExprKind::Name(name))),
        identifier().prop_map(|id| node(ExprKind::Member {
            object: Box::new(node(ExprKind::Name("tasks".into()))),
            name: Spanned { node: id, span: 0..0 },
        })),
    ]
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    prop_oneof![
        Just(BinaryOp::Or),
        Just(BinaryOp::And),
        Just(BinaryOp::Eq),
        Just(BinaryOp::Ne),
        Just(BinaryOp::Lt),
        Just(BinaryOp::Le),
        Just(BinaryOp::Gt),
        Just(BinaryOp::Ge),
    ]
}

fn call(args: Vec<Expr>) -> impl Strategy<Value = Expr> {
    let candidates: Vec<Function> = Function::ALL.into_iter().filter(|f| f.accepts(args.len())).collect();
    let fallback = args.first().cloned();
    (0..candidates.len().max(1)).prop_map(move |i| match candidates.get(i) {
        Some(function) => {
            node(ExprKind::Call { function: Spanned { node: *function, span: 0..0 }, args: args.clone() })
        }
        // No function takes this many arguments; a list holds them instead.
        None => fallback.clone().unwrap_or_else(|| node(ExprKind::List(vec![]))),
    })
}

/// Random well-formed trees, shallow enough to stay under the parser's depth cap.
pub(super) fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| node(ExprKind::List(items))),
            (inner.clone(), identifier()).prop_map(|(object, name)| node(ExprKind::Member {
                object: Box::new(object),
                name: Spanned { node: name, span: 0..0 },
            })),
            (inner.clone(), inner.clone())
                .prop_map(|(object, index)| node(ExprKind::Index { object: Box::new(object), index: Box::new(index) })),
            prop::collection::vec(inner.clone(), 1..4).prop_flat_map(call),
            inner.clone().prop_map(|operand| node(ExprKind::Unary { op: UnaryOp::Not, operand: Box::new(operand) })),
            (binary_op(), inner.clone(), inner).prop_map(|(op, lhs, rhs)| node(ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            })),
        ]
    })
}

/// Every span lies inside the source and on character boundaries (slicing would panic
/// otherwise), and each node's span contains its children's.
fn check_spans(expr: &Expr, src: &str) {
    let span = expr.span();
    assert!(span.start <= span.end && span.end <= src.len(), "{span:?} in {src:?}");
    assert!(src.is_char_boundary(span.start) && src.is_char_boundary(span.end));
    let children: Vec<&Expr> = match expr.kind() {
        ExprKind::Literal(_) | ExprKind::Name(_) => vec![],
        ExprKind::List(items) | ExprKind::Call { args: items, .. } => items.iter().collect(),
        ExprKind::Member { object, .. } => vec![object],
        ExprKind::Index { object, index } => vec![object, index],
        ExprKind::Unary { operand, .. } => vec![operand],
        ExprKind::Binary { lhs, rhs, .. } => vec![lhs, rhs],
    };
    for child in children {
        let inner = child.span();
        assert!(span.start <= inner.start && inner.end <= span.end);
        check_spans(child, src);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printed_trees_parse_back_equal(tree in expr()) {
        let printed = tree.to_string();
        let parsed = parse_expr(&printed)
            .unwrap_or_else(|e| panic!("{printed:?} does not parse: {e} at {:?}", e.range));
        prop_assert_eq!(&parsed, &tree, "printed as {}", printed);
        // Printing is canonical: a second round gives the same text.
        prop_assert_eq!(parsed.to_string(), printed.clone());
        check_spans(&parsed, &printed);
        // Evaluating any tree ends in a value or an error, never a panic.
        let _ = parsed.eval(&scope());
        let _ = parsed.references();
    }

    #[test]
    fn parser_never_panics(src in any::<String>()) {
        if let Ok(expr) = parse_expr(&src) {
            check_spans(&expr, &src);
            let _ = expr.eval(&scope());
        }
    }

    #[test]
    fn parser_never_panics_on_expression_like_text(
        src in r#"[a-z_.'\[\](),!=<>&| 0-9\-{}$"]{0,40}"#
    ) {
        if let Ok(expr) = parse_expr(&src) {
            check_spans(&expr, &src);
            let reparsed = parse_expr(&expr.to_string()).unwrap();
            prop_assert_eq!(reparsed, expr);
        } else {
            let error = parse_expr(&src).unwrap_err();
            prop_assert!(error.range.end <= src.len());
        }
    }

    #[test]
    fn templates_never_panic(src in r#"([a-z $'{}]|\$\{\{|\}\}|params\.x|'){0,20}"#) {
        match Template::parse(&src) {
            Ok(template) => {
                for reference in template.references() {
                    prop_assert!(reference.range.end <= src.len());
                }
                let _ = template.render_partial(&scope(), "?");
                if template.is_literal() {
                    prop_assert_eq!(template.render(&scope()).unwrap(), Value::String(src.clone()));
                }
            }
            Err(error) => prop_assert!(error.range.end <= src.len()),
        }
    }
}
