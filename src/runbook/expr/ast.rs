//! The expression tree the parser builds and the evaluator walks.
//!
//! Every node keeps the byte range it was parsed from, so later stages can point at the exact
//! text. Equality deliberately ignores those ranges: two trees are equal when they mean the
//! same thing, which is what the printer round trip (`parse(print(e)) == e`) needs. The tree
//! never holds lists or maps as literals, only scalars; list literals stay nodes.

use std::ops::Range;

use serde_json::Value;

use super::functions::Function;

/// A value with the byte range it came from; equality looks at the value only.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Range<usize>,
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinaryOp {
    /// Whether the operator orders its operands (`<`, `<=`, `>`, `>=`), which fails on values
    /// that have no order.
    pub fn orders(self) -> bool {
        matches!(self, BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
        }
    }

    /// Binding strength; higher binds tighter. All binary operators are left-associative.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq | BinaryOp::Ne => 3,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `null`, `true`, a number or a string. Never a list or map.
    Literal(Value),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// A top-level name: `params`, `tasks`, `each`, ...
    Name(String),
    /// `object.name`.
    Member {
        object: Box<Expr>,
        name: Spanned<String>,
    },
    /// `object[index]`.
    Index {
        object: Box<Expr>,
        index: Box<Expr>,
    },
    /// `function(args...)`; the arity was checked when parsing.
    Call {
        function: Spanned<Function>,
        args: Vec<Expr>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub struct Expr {
    kind: ExprKind,
    span: Range<usize>,
    /// Height of the tree below and including this node; the parser caps it so evaluation and
    /// printing (both recursive) cannot exhaust the stack.
    depth: usize,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Expr {
    pub fn new(kind: ExprKind, span: Range<usize>) -> Expr {
        let children = match &kind {
            ExprKind::Literal(_) | ExprKind::Name(_) => 0,
            ExprKind::List(items) | ExprKind::Call { args: items, .. } => {
                items.iter().map(|e| e.depth).max().unwrap_or(0)
            }
            ExprKind::Member { object, .. } => object.depth,
            ExprKind::Index { object, index } => object.depth.max(index.depth),
            ExprKind::Unary { operand, .. } => operand.depth,
            ExprKind::Binary { lhs, rhs, .. } => lhs.depth.max(rhs.depth),
        };
        Expr { kind, span, depth: children + 1 }
    }

    pub fn kind(&self) -> &ExprKind {
        &self.kind
    }

    /// Byte range in the source the expression was parsed from.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Calls `f` on each direct sub-expression, left to right.
    pub fn for_each_child<'e>(&'e self, mut f: impl FnMut(&'e Expr)) {
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Name(_) => {}
            ExprKind::List(items) | ExprKind::Call { args: items, .. } => items.iter().for_each(f),
            ExprKind::Member { object, .. } => f(object),
            ExprKind::Index { object, index } => {
                f(object);
                f(index);
            }
            ExprKind::Unary { operand, .. } => f(operand),
            ExprKind::Binary { lhs, rhs, .. } => {
                f(lhs);
                f(rhs);
            }
        }
    }

    /// The top-level name this expression reads, if it is a bare name.
    pub fn as_name(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Name(name) => Some(name),
            _ => None,
        }
    }
}
