//! Prints an expression in canonical form: single spaces around binary operators, `, ` between
//! arguments, single-quoted strings, and only the parentheses the precedence rules need.
//!
//! Whatever this prints must parse back to an equal tree (the property tests check it); it
//! never prints anything the lexer would read differently.

use std::fmt::{self, Write as _};

use serde_json::Value;

use super::ast::{Expr, ExprKind, UnaryOp};

/// Precedence of unary `!`, between the comparisons and postfix operators.
const UNARY: u8 = 5;
/// Precedence of names, literals, calls and postfix member/index access.
const POSTFIX: u8 = 6;

fn precedence(expr: &Expr) -> u8 {
    match expr.kind() {
        ExprKind::Binary { op, .. } => op.precedence(),
        ExprKind::Unary { .. } => UNARY,
        _ => POSTFIX,
    }
}

/// Prints `expr`, in parentheses if it binds looser than `min`.
fn write_at(f: &mut fmt::Formatter<'_>, expr: &Expr, min: u8) -> fmt::Result {
    if precedence(expr) < min {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// Writes a string literal, doubling quotes.
pub(crate) fn write_quoted(f: &mut impl fmt::Write, text: &str) -> fmt::Result {
    f.write_char('\'')?;
    for (i, part) in text.split('\'').enumerate() {
        if i > 0 {
            f.write_str("''")?;
        }
        f.write_str(part)?;
    }
    f.write_char('\'')
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ExprKind::Literal(Value::String(text)) => write_quoted(f, text),
            // Null, bools and numbers print as JSON does, which the lexer reads back exactly.
            ExprKind::Literal(value) => write!(f, "{value}"),
            ExprKind::List(items) => {
                f.write_char('[')?;
                write_list(f, items)?;
                f.write_char(']')
            }
            ExprKind::Name(name) => f.write_str(name),
            ExprKind::Member { object, name } => {
                write_at(f, object, POSTFIX)?;
                write!(f, ".{}", name.node)
            }
            ExprKind::Index { object, index } => {
                write_at(f, object, POSTFIX)?;
                write!(f, "[{index}]")
            }
            ExprKind::Call { function, args } => {
                write!(f, "{}(", function.node)?;
                write_list(f, args)?;
                f.write_char(')')
            }
            ExprKind::Unary { op: UnaryOp::Not, operand } => {
                f.write_char('!')?;
                write_at(f, operand, UNARY)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let own = op.precedence();
                write_at(f, lhs, own)?;
                write!(f, " {} ", op.symbol())?;
                // Left-associative: a right operand at the same level needs parentheses.
                write_at(f, rhs, own + 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::runbook::expr::parse_expr;

    fn canonical(src: &str) -> String {
        parse_expr(src).unwrap().to_string()
    }

    #[test]
    fn prints_canonical_spacing() {
        assert_eq!(canonical("a.b==  'x'"), "a.b == 'x'");
        assert_eq!(canonical("join( a ,'-' )"), "join(a, '-')");
        assert_eq!(canonical("[1,2.5,'it''s',null,true]"), "[1, 2.5, 'it''s', null, true]");
        assert_eq!(canonical("tasks.make-app.outputs[ each.x ].id"), "tasks.make-app.outputs[each.x].id");
    }

    #[test]
    fn keeps_only_needed_parentheses() {
        assert_eq!(canonical("(a || b) || c"), "a || b || c");
        assert_eq!(canonical("a || (b || c)"), "a || (b || c)");
        assert_eq!(canonical("(a && b) || c"), "a && b || c");
        assert_eq!(canonical("(a || b) && c"), "(a || b) && c");
        assert_eq!(canonical("!(a == b)"), "!(a == b)");
        assert_eq!(canonical("(!a) == b"), "!a == b");
        assert_eq!(canonical("(a || b).c"), "(a || b).c");
        assert_eq!(canonical("(!a)[0]"), "(!a)[0]");
        assert_eq!(canonical("((a))"), "a");
        assert_eq!(canonical("a < (b < c)"), "a < (b < c)");
    }

    #[test]
    fn numbers_print_so_they_read_back() {
        assert_eq!(canonical("1.0"), "1.0");
        assert_eq!(canonical("1e20"), "1e+20");
        assert_eq!(canonical("-0.025"), "-0.025");
        assert_eq!(canonical("007"), "7");
        assert_eq!(canonical("1.foo"), "1.foo");
    }
}
