//! Tests of the expression language as a whole, through its public API.

mod eval;
mod functions;
mod parse;
mod properties;
mod templates;

use serde_json::Value;

use super::{Expr, ExprKind};

/// A fully parenthesized prefix form that shows the tree's shape: `(|| a (&& b c))`.
pub(super) fn sexp(expr: &Expr) -> String {
    let all = |items: &[Expr]| items.iter().map(sexp).collect::<Vec<_>>();
    match expr.kind() {
        ExprKind::Literal(Value::String(_)) => expr.to_string(),
        ExprKind::Literal(value) => value.to_string(),
        ExprKind::List(items) => {
            let mut parts = vec!["list".to_string()];
            parts.extend(all(items));
            format!("({})", parts.join(" "))
        }
        ExprKind::Name(name) => name.clone(),
        ExprKind::Member { object, name } => format!("(. {} {})", sexp(object), name.node),
        ExprKind::Index { object, index } => format!("([] {} {})", sexp(object), sexp(index)),
        ExprKind::Call { function, args } => {
            let mut parts = vec![function.node.name().to_string()];
            parts.extend(all(args));
            format!("({})", parts.join(" "))
        }
        ExprKind::Unary { operand, .. } => format!("(! {})", sexp(operand)),
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", op.symbol(), sexp(lhs), sexp(rhs))
        }
    }
}
