//! Builds an [`Expr`] from tokens by recursive descent, one function per precedence level.
//!
//! The parser owns the grammar and every check that needs no values: function names and
//! arities, `tasks` always followed by a task id, a cap on nesting. It never looks at a scope.
//!
//! ```text
//! or      := and ('||' and)*
//! and     := eq ('&&' eq)*
//! eq      := cmp (('==' | '!=') cmp)*
//! cmp     := unary (('<' | '<=' | '>' | '>=') unary)*
//! unary   := '!' unary | postfix
//! postfix := primary ('.' IDENT | '[' or ']')*
//! primary := literal | IDENT | IDENT '(' args ')' | '(' or ')' | '[' args ']'
//! ```

use std::ops::Range;

use serde_json::Value;

use super::ast::{BinaryOp, Expr, ExprKind, Spanned, UnaryOp};
use super::error::ExprError;
use super::functions::Function;
use super::lexer::{tokenize, Token, TokenKind};

/// Deepest nesting of parentheses, `!`, brackets and calls accepted. Real expressions stay
/// far below; the cap keeps the recursive parser safe on hostile input.
pub const MAX_DEPTH: usize = 100;

/// Deepest tree accepted. Chains of operators and members (`a || b || ...`, `a.b.c...`) build
/// a level per link without nesting anything, and a generated check may chain a couple of
/// hundred; the cap keeps the recursive evaluator, folder and printer within the stack of any
/// thread they run on (tests drive 256-deep chains of every operator through plan and run).
pub const MAX_TREE_DEPTH: usize = 256;

/// Parses a whole expression. Spans are shifted by `offset`.
pub(crate) fn parse_at(src: &str, offset: usize) -> Result<Expr, ExprError> {
    let tokens = tokenize(src, offset)?;
    let mut parser = Parser { tokens, pos: 0, nesting: 0 };
    if parser.peek().kind == TokenKind::Eof {
        return Err(ExprError::new("expected an expression", parser.peek().span.clone()));
    }
    let expr = parser.or()?;
    let next = parser.peek();
    if next.kind != TokenKind::Eof {
        return Err(ExprError::new(format!("unexpected {} after the expression", next.describe()), next.span.clone())
            .with_help("combine values with `||`, `&&`, `==`, `!=`, `<`, `<=`, `>`, `>=` or a function"));
    }
    Ok(expr)
}

struct Parser<'s> {
    tokens: Vec<Token<'s>>,
    pos: usize,
    nesting: usize,
}

fn binary_op(kind: &TokenKind) -> Option<BinaryOp> {
    Some(match kind {
        TokenKind::Or => BinaryOp::Or,
        TokenKind::And => BinaryOp::And,
        TokenKind::Eq => BinaryOp::Eq,
        TokenKind::Ne => BinaryOp::Ne,
        TokenKind::Lt => BinaryOp::Lt,
        TokenKind::Le => BinaryOp::Le,
        TokenKind::Gt => BinaryOp::Gt,
        TokenKind::Ge => BinaryOp::Ge,
        _ => return None,
    })
}

impl<'s> Parser<'s> {
    fn peek(&self) -> &Token<'s> {
        // The token list always ends with Eof and `advance` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token<'s> {
        let token = self.peek().clone();
        if token.kind != TokenKind::Eof {
            self.pos += 1;
        }
        token
    }

    fn eat(&mut self, kind: &TokenKind) -> Option<Token<'s>> {
        (&self.peek().kind == kind).then(|| self.advance())
    }

    /// Wraps up a node, refusing trees deeper than [`MAX_TREE_DEPTH`].
    fn node(&self, kind: ExprKind, span: Range<usize>) -> Result<Expr, ExprError> {
        let expr = Expr::new(kind, span);
        if expr.depth() > MAX_TREE_DEPTH {
            return Err(too_deep(expr.span(), MAX_TREE_DEPTH));
        }
        Ok(expr)
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        self.binary_level(1)
    }

    /// One left-associative level: operands are parsed at `level + 1`.
    fn binary_level(&mut self, level: u8) -> Result<Expr, ExprError> {
        if level > 4 {
            return self.unary();
        }
        let mut lhs = self.binary_level(level + 1)?;
        while let Some(op) = binary_op(&self.peek().kind).filter(|op| op.precedence() == level) {
            self.advance();
            let rhs = self.binary_level(level + 1)?;
            let span = lhs.span().start..rhs.span().end;
            lhs = self.node(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span)?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        let Some(bang) = self.eat(&TokenKind::Not) else {
            return self.postfix();
        };
        self.enter(&bang.span)?;
        let operand = self.unary()?;
        self.nesting -= 1;
        let span = bang.span.start..operand.span().end;
        self.node(ExprKind::Unary { op: UnaryOp::Not, operand: Box::new(operand) }, span)
    }

    /// Counts one level of recursion through the grammar (parentheses, `!`, brackets, calls).
    fn enter(&mut self, at: &Range<usize>) -> Result<(), ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep(at.clone(), MAX_DEPTH));
        }
        Ok(())
    }

    fn postfix(&mut self) -> Result<Expr, ExprError> {
        let mut expr = self.primary()?;
        loop {
            if self.eat(&TokenKind::Dot).is_some() {
                let name = self.advance();
                if name.kind != TokenKind::Ident {
                    return Err(ExprError::new(
                        format!("expected a member name after `.`, found {}", name.describe()),
                        name.span,
                    ));
                }
                let span = expr.span().start..name.span.end;
                let member = Spanned { node: name.text.to_string(), span: name.span };
                expr = self.node(ExprKind::Member { object: Box::new(expr), name: member }, span)?;
            } else if let Some(open) = self.eat(&TokenKind::LBracket) {
                self.enter(&open.span)?;
                let index = self.or()?;
                let close = self.expect_close(&TokenKind::RBracket, "]", &open)?;
                self.nesting -= 1;
                let span = expr.span().start..close.span.end;
                expr = self.node(ExprKind::Index { object: Box::new(expr), index: Box::new(index) }, span)?;
            } else if self.peek().kind == TokenKind::LParen {
                return Err(ExprError::new("only functions can be called", self.peek().span.clone())
                    .with_help("call a function by its name, as in `lower(params.name)`"));
            } else {
                break;
            }
        }
        if expr.as_name() == Some("tasks") {
            return Err(ExprError::new("`tasks` needs a task id", expr.span())
                .with_help("write `tasks.<task-id>.outputs.<name>`"));
        }
        Ok(expr)
    }

    fn expect_close(&mut self, kind: &TokenKind, symbol: &str, open: &Token<'_>) -> Result<Token<'s>, ExprError> {
        if let Some(close) = self.eat(kind) {
            return Ok(close);
        }
        let found = self.peek();
        Err(if found.kind == TokenKind::Eof {
            ExprError::new(format!("unclosed `{}`", open.text), open.span.clone()).with_help(format!("add `{symbol}`"))
        } else {
            ExprError::new(format!("expected `{symbol}`, found {}", found.describe()), found.span.clone())
        })
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let token = self.advance();
        let literal = |value| Ok(Expr::new(ExprKind::Literal(value), token.span.clone()));
        match &token.kind {
            TokenKind::Number(n) => literal(Value::Number(n.clone())),
            TokenKind::Str(s) => literal(Value::String(s.clone())),
            TokenKind::Ident => match token.text {
                "true" => literal(Value::Bool(true)),
                "false" => literal(Value::Bool(false)),
                "null" => literal(Value::Null),
                _ if self.peek().kind == TokenKind::LParen => self.call(token),
                name => Ok(Expr::new(ExprKind::Name(name.to_string()), token.span)),
            },
            TokenKind::LParen => {
                self.enter(&token.span)?;
                let inner = self.or()?;
                self.expect_close(&TokenKind::RParen, ")", &token)?;
                self.nesting -= 1;
                Ok(inner)
            }
            TokenKind::LBracket => {
                self.enter(&token.span)?;
                let (items, close) = self.arguments(&TokenKind::RBracket, "]", &token)?;
                self.nesting -= 1;
                self.node(ExprKind::List(items), token.span.start..close.span.end)
            }
            _ => Err(ExprError::new(format!("expected an expression, found {}", token.describe()), token.span)),
        }
    }

    fn call(&mut self, name: Token<'s>) -> Result<Expr, ExprError> {
        let function = Function::resolve(name.text, name.span.clone())?;
        let open = self.advance();
        self.enter(&open.span)?;
        let (args, close) = self.arguments(&TokenKind::RParen, ")", &open)?;
        self.nesting -= 1;
        function.check_arity(args.len(), name.span.clone())?;
        self.node(
            ExprKind::Call { function: Spanned { node: function, span: name.span.clone() }, args },
            name.span.start..close.span.end,
        )
    }

    /// Comma-separated expressions up to the closing token (already past the opening one).
    fn arguments(
        &mut self,
        close: &TokenKind,
        symbol: &str,
        open: &Token<'_>,
    ) -> Result<(Vec<Expr>, Token<'s>), ExprError> {
        let mut items = Vec::new();
        if let Some(end) = self.eat(close) {
            return Ok((items, end));
        }
        loop {
            items.push(self.or()?);
            if self.eat(&TokenKind::Comma).is_none() {
                let end = self.expect_close(close, symbol, open)?;
                return Ok((items, end));
            }
        }
    }
}

fn too_deep(range: Range<usize>, limit: usize) -> ExprError {
    ExprError::new(format!("expression is nested too deeply (more than {limit} levels)"), range)
        .with_help("split it into smaller expressions")
}
