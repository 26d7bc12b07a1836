//! Splits an expression's source into tokens, each with its byte range.
//!
//! The lexer owns the spelling of literals (single-quoted strings, numbers) and identifiers
//! (which may contain `-`, so task ids like `make-vcn` are one token). It never decides what
//! a name means: `true`, `null` and function names are plain identifiers here.

use std::ops::Range;

use serde_json::Number;

use super::error::ExprError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    Ident,
    Number(Number),
    Str(String),
    Dot,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'s> {
    pub kind: TokenKind,
    /// The token's text as written (empty for `Eof`).
    pub text: &'s str,
    /// Byte range, already shifted by the lexer's offset.
    pub span: Range<usize>,
}

impl Token<'_> {
    /// How an error message names this token.
    pub fn describe(&self) -> String {
        match self.kind {
            TokenKind::Eof => "the end of the expression".to_string(),
            _ => format!("`{}`", self.text),
        }
    }
}

/// Names start with a letter of any script or `_`, so a parameter named `région` reads as
/// `params.région`.
pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

pub(crate) fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Tokenizes `src`; every span is shifted by `offset` so that expressions inside a template
/// report ranges relative to the whole template string.
pub(crate) fn tokenize(src: &str, offset: usize) -> Result<Vec<Token<'_>>, ExprError> {
    let mut lexer = Lexer { src, bytes: src.as_bytes(), pos: 0, offset };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.kind == TokenKind::Eof;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

struct Lexer<'s> {
    src: &'s str,
    bytes: &'s [u8],
    pos: usize,
    offset: usize,
}

impl<'s> Lexer<'s> {
    fn span(&self, start: usize, end: usize) -> Range<usize> {
        start + self.offset..end + self.offset
    }

    fn token(&self, kind: TokenKind, start: usize, end: usize) -> Token<'s> {
        Token { kind, text: &self.src[start..end], span: self.span(start, end) }
    }

    fn peek_byte(&self, at: usize) -> Option<u8> {
        self.bytes.get(at).copied()
    }

    fn next_token(&mut self) -> Result<Token<'s>, ExprError> {
        while self.peek_byte(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.src[start..].chars().next() else {
            return Ok(self.token(TokenKind::Eof, start, start));
        };
        let next = self.peek_byte(start + 1);
        let single = |kind| (kind, 1);
        let (kind, len) = match c {
            '.' => single(TokenKind::Dot),
            ',' => single(TokenKind::Comma),
            '(' => single(TokenKind::LParen),
            ')' => single(TokenKind::RParen),
            '[' => single(TokenKind::LBracket),
            ']' => single(TokenKind::RBracket),
            '!' if next == Some(b'=') => (TokenKind::Ne, 2),
            '!' => single(TokenKind::Not),
            '=' if next == Some(b'=') => (TokenKind::Eq, 2),
            '<' if next == Some(b'=') => (TokenKind::Le, 2),
            '<' => single(TokenKind::Lt),
            '>' if next == Some(b'=') => (TokenKind::Ge, 2),
            '>' => single(TokenKind::Gt),
            '&' if next == Some(b'&') => (TokenKind::And, 2),
            '|' if next == Some(b'|') => (TokenKind::Or, 2),
            '\'' => return self.string(start),
            '-' if next.is_some_and(|b| b.is_ascii_digit()) => return self.number(start),
            c if c.is_ascii_digit() => return self.number(start),
            c if is_ident_start(c) => {
                let len = self.src[start..].find(|c: char| !is_ident_continue(c)).unwrap_or(self.src.len() - start);
                (TokenKind::Ident, len)
            }
            other => return Err(self.unexpected(other, start)),
        };
        self.pos = start + len;
        Ok(self.token(kind, start, start + len))
    }

    fn unexpected(&self, c: char, start: usize) -> ExprError {
        let range = self.span(start, start + c.len_utf8());
        let error = ExprError::new(format!("unexpected character `{c}`"), range);
        match c {
            '"' => error.with_help(
                "strings use single quotes: 'text' (write '' for a quote inside); inside a YAML value that is itself \
                 in single quotes, YAML wants each of them doubled: ''text''",
            ),
            '=' => error.with_help("compare with `==`"),
            '&' => error.with_help("logical and is `&&`"),
            '|' => error.with_help("logical or is `||`"),
            '-' | '+' | '*' | '/' | '%' => error.with_help("expressions have no arithmetic; compute values in a task"),
            '{' | '}' => error.with_help("use format('{0}', value) to build strings"),
            _ => error,
        }
    }

    /// A single-quoted string; `''` stands for one quote.
    fn string(&mut self, start: usize) -> Result<Token<'s>, ExprError> {
        let mut value = String::new();
        let mut pos = start + 1;
        loop {
            let Some(rel) = self.src[pos..].find('\'') else {
                return Err(ExprError::new("unterminated string", self.span(start, self.src.len()))
                    .with_help("close the string with `'`; write '' for a quote inside it"));
            };
            value.push_str(&self.src[pos..pos + rel]);
            pos += rel + 1;
            if self.peek_byte(pos) == Some(b'\'') {
                value.push('\'');
                pos += 1;
            } else {
                self.pos = pos;
                return Ok(self.token(TokenKind::Str(value), start, pos));
            }
        }
    }

    /// `-?digits(.digits)?([eE][+-]?digits)?`. Whole numbers stay integers (so `1` prints back
    /// as `1`); anything with a fraction or exponent, or too large for 64 bits, is a float.
    fn number(&mut self, start: usize) -> Result<Token<'s>, ExprError> {
        let digits_from = |pos: usize| {
            let mut end = pos;
            while self.peek_byte(end).is_some_and(|b| b.is_ascii_digit()) {
                end += 1;
            }
            end
        };
        let mut end = digits_from(if self.bytes[start] == b'-' { start + 1 } else { start });
        let mut float = false;
        if self.peek_byte(end) == Some(b'.') && self.peek_byte(end + 1).is_some_and(|b| b.is_ascii_digit()) {
            end = digits_from(end + 1);
            float = true;
        }
        if matches!(self.peek_byte(end), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.peek_byte(end + 1), Some(b'+' | b'-')));
            if self.peek_byte(end + 1 + sign).is_some_and(|b| b.is_ascii_digit()) {
                end = digits_from(end + 1 + sign);
                float = true;
            }
        }
        let text = &self.src[start..end];
        let integer = if float {
            None
        } else {
            text.parse::<i64>().map(Number::from).or_else(|_| text.parse::<u64>().map(Number::from)).ok()
        };
        if integer.is_none() && !float {
            // Read as a float, it would be another number.
            return Err(ExprError::new("integer too large to hold exactly (past 64 bits)", self.span(start, end))
                .with_help(format!("write it as text: '{text}'")));
        }
        let number = integer
            .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
            .ok_or_else(|| ExprError::new("number out of range", self.span(start, end)))?;
        self.pos = end;
        Ok(self.token(TokenKind::Number(number), start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src, 0).unwrap().into_iter().map(|t| t.kind).collect()
    }

    fn error(src: &str) -> ExprError {
        tokenize(src, 0).unwrap_err()
    }

    #[test]
    fn operators_and_punctuation() {
        use TokenKind::*;
        assert_eq!(
            kinds("! != == < <= > >= && || . , ( ) [ ]"),
            vec![Not, Ne, Eq, Lt, Le, Gt, Ge, And, Or, Dot, Comma, LParen, RParen, LBracket, RBracket, Eof]
        );
    }

    #[test]
    fn identifiers_keep_dashes_and_spans() {
        let tokens = tokenize("tasks.make-vcn.outputs", 10).unwrap();
        let texts: Vec<_> = tokens.iter().map(|t| (t.text, t.span.clone())).collect();
        assert_eq!(
            texts,
            vec![
                ("tasks", 10..15),
                (".", 15..16),
                ("make-vcn", 16..24),
                (".", 24..25),
                ("outputs", 25..32),
                ("", 32..32),
            ]
        );
    }

    #[test]
    fn names_may_use_letters_of_any_script() {
        let tokens = tokenize("params.région && params.日付", 0).unwrap();
        let texts: Vec<_> = tokens.iter().map(|t| t.text).collect();
        assert_eq!(texts, vec!["params", ".", "région", "&&", "params", ".", "日付", ""]);
    }

    #[test]
    fn strings_with_escaped_quotes() {
        let tokens = tokenize("'it''s' ''", 0).unwrap();
        assert_eq!(tokens[0].kind, TokenKind::Str("it's".into()));
        assert_eq!(tokens[0].span, 0..7);
        assert_eq!(tokens[1].kind, TokenKind::Str(String::new()));
        assert_eq!(tokens[1].span, 8..10);
    }

    #[test]
    fn numbers() {
        let n = |src: &str| match &kinds(src)[0] {
            TokenKind::Number(n) => n.clone(),
            other => panic!("not a number: {other:?}"),
        };
        assert_eq!(n("42"), Number::from(42));
        assert_eq!(n("-7"), Number::from(-7));
        assert_eq!(n("18446744073709551615"), Number::from(u64::MAX));
        assert_eq!(n("1.5"), Number::from_f64(1.5).unwrap());
        assert_eq!(n("1e3"), Number::from_f64(1000.0).unwrap());
        assert_eq!(n("-2.5E-2"), Number::from_f64(-0.025).unwrap());
        // Past 64 bits an integer would read as another number.
        let e = error("99999999999999999999");
        assert_eq!((e.message.as_str(), e.range.clone()), ("integer too large to hold exactly (past 64 bits)", 0..20));
        assert_eq!(n("99999999999999999999.0"), Number::from_f64(1e20).unwrap());
        // A dot not followed by a digit is member access, not a fraction.
        assert_eq!(
            kinds("1.e"),
            vec![TokenKind::Number(Number::from(1)), TokenKind::Dot, TokenKind::Ident, TokenKind::Eof]
        );
    }

    #[test]
    fn errors_point_at_the_character() {
        let e = error("a = b");
        assert_eq!(e.message, "unexpected character `=`");
        assert_eq!(e.range, 2..3);
        assert_eq!(e.help.as_deref(), Some("compare with `==`"));

        let e = error("x \"y\"");
        assert_eq!(e.range, 2..3);
        assert!(e.help.unwrap().contains("single quotes"));

        let e = error("a €");
        assert_eq!(e.message, "unexpected character `€`");
        assert_eq!(e.range, 2..5);

        let e = error("a - b");
        assert_eq!(e.range, 2..3);
        assert!(e.help.unwrap().contains("no arithmetic"));
    }

    #[test]
    fn unterminated_string_covers_the_rest() {
        let e = error("x == 'abc");
        assert_eq!(e.message, "unterminated string");
        assert_eq!(e.range, 5..9);
        let e = tokenize("'it''", 4).unwrap_err();
        assert_eq!(e.range, 4..9);
    }

    #[test]
    fn huge_float_is_out_of_range() {
        let e = error("1e999");
        assert_eq!(e.message, "number out of range");
        assert_eq!(e.range, 0..5);
    }
}
