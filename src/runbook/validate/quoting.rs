//! Where each `${{ }}` of a script sits in the shell's quoting, so that its value, passed in an
//! environment variable, is expanded wherever the expression was written: `echo '${{ x }}'`
//! must print the value, not the name of the variable.

/// The quoting around one expression of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quoting {
    /// Unquoted, in double quotes or in a here-document the shell expands: `${NAME}` works.
    Expands,
    /// In single quotes: the quotes are closed around `"${NAME}"` and opened again.
    Single,
    /// In bash's `$'...'`: the same, reopened with `$'`.
    AnsiC,
    /// In a here-document whose delimiter is quoted (`<<'EOF'`), which the shell never expands.
    LiteralHeredoc,
}

impl Quoting {
    /// What stands for variable `name` at this place.
    pub(super) fn reference(self, name: &str) -> Option<String> {
        match self {
            Quoting::Expands => Some(format!("${{{name}}}")),
            Quoting::Single => Some(format!("'\"${{{name}}}\"'")),
            Quoting::AnsiC => Some(format!("'\"${{{name}}}\"$'")),
            Quoting::LiteralHeredoc => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// Top level, `$( )`, `( )` or backquotes: quotes open here. In arithmetic (`$(( ))`,
    /// `(( ))`), `<<` is a shift and `#` a base (`16#ff`), never a here-document or a comment.
    Plain {
        closer: Option<char>,
        arith: bool,
    },
    Single,
    AnsiC,
    Double,
}

struct Heredoc {
    delimiter: String,
    quoted: bool,
    strip_tabs: bool,
}

/// The quoting of each expression of a script given as its literal pieces: the expression
/// `i` sits between `pieces[i]` and `pieces[i + 1]`.
pub(super) fn quoting(pieces: &[&str]) -> Vec<Quoting> {
    let mut scanner = Scanner {
        stack: vec![Ctx::Plain { closer: None, arith: false }],
        pending: Vec::new(),
        body: None,
        comment: false,
        prev: None,
    };
    let mut out = Vec::with_capacity(pieces.len().saturating_sub(1));
    for (i, piece) in pieces.iter().enumerate() {
        scanner.scan(piece);
        if i + 1 < pieces.len() {
            out.push(scanner.here());
            scanner.line_has_text();
            // The value stands in a word: a `#` right after it is text, not a comment.
            scanner.prev = Some('x');
        }
    }
    out
}

struct Scanner {
    stack: Vec<Ctx>,
    /// Here-documents opened on the current line, whose bodies start on the next.
    pending: Vec<Heredoc>,
    /// The here-document whose body is being read, and the current line of it so far.
    body: Option<(Heredoc, String)>,
    /// In a comment, which runs to the end of the line, past any expression in it.
    comment: bool,
    /// The character before the current one, outside here-document bodies: a `#` starts a
    /// comment only at the start of a word.
    prev: Option<char>,
}

impl Scanner {
    fn here(&self) -> Quoting {
        if self.comment {
            // Nothing in a comment is run: any reference will do.
            return Quoting::Expands;
        }
        if let Some((doc, _)) = &self.body {
            return if doc.quoted { Quoting::LiteralHeredoc } else { Quoting::Expands };
        }
        match self.stack.last() {
            Some(Ctx::Single) => Quoting::Single,
            Some(Ctx::AnsiC) => Quoting::AnsiC,
            _ => Quoting::Expands,
        }
    }

    /// An expression's value stands in the current line: a body line holding one is never the
    /// delimiter.
    fn line_has_text(&mut self) {
        if let Some((_, line)) = &mut self.body {
            line.push('\u{0}');
        }
    }

    fn scan(&mut self, text: &str) {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if let Some((doc, line)) = &mut self.body {
                if c != '\n' {
                    line.push(c);
                    continue;
                }
                let text = if doc.strip_tabs { line.trim_start_matches('\t') } else { line.as_str() };
                if text == doc.delimiter {
                    self.body = self.next_body();
                } else {
                    line.clear();
                }
                continue;
            }
            if self.comment {
                if c != '\n' {
                    continue;
                }
                self.comment = false;
            }
            let prev = self.prev.replace(c);
            let top = self.stack.last().copied().unwrap_or(Ctx::Plain { closer: None, arith: false });
            match top {
                Ctx::Single => {
                    if c == '\'' {
                        self.stack.pop();
                    }
                }
                Ctx::AnsiC => match c {
                    '\\' => {
                        chars.next();
                    }
                    '\'' => {
                        self.stack.pop();
                    }
                    _ => {}
                },
                Ctx::Double => match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        self.stack.pop();
                    }
                    '`' => self.stack.push(Ctx::Plain { closer: Some('`'), arith: false }),
                    '$' if chars.peek() == Some(&'(') => {
                        chars.next();
                        self.prev = Some('(');
                        self.stack.push(Ctx::Plain { closer: Some(')'), arith: false });
                    }
                    _ => {}
                },
                Ctx::Plain { closer, arith } => match c {
                    '\\' => {
                        chars.next();
                        self.prev = Some('x');
                    }
                    '\'' => self.stack.push(Ctx::Single),
                    '"' => self.stack.push(Ctx::Double),
                    '$' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        self.stack.push(Ctx::AnsiC);
                    }
                    '$' if chars.peek() == Some(&'(') => {
                        chars.next();
                        self.prev = Some('(');
                        self.stack.push(Ctx::Plain { closer: Some(')'), arith });
                    }
                    // `((` and `$((` open arithmetic, as does a parenthesis inside it.
                    '(' => self.stack.push(Ctx::Plain { closer: Some(')'), arith: arith || prev == Some('(') }),
                    c if Some(c) == closer && self.stack.len() > 1 => {
                        self.stack.pop();
                    }
                    '`' => self.stack.push(Ctx::Plain { closer: Some('`'), arith: false }),
                    // A comment starts with a word (`issue#12`, `$#` and `${#v}` are text) and
                    // runs to the end of the line.
                    '#' if !arith && prev.is_none_or(starts_word) => self.comment = true,
                    '<' if !arith && chars.peek() == Some(&'<') => {
                        chars.next();
                        if chars.peek() == Some(&'<') {
                            // A here-string: its word is quoted as any other.
                            chars.next();
                            continue;
                        }
                        let strip_tabs = chars.peek() == Some(&'-');
                        if strip_tabs {
                            chars.next();
                        }
                        while chars.peek().is_some_and(|&n| n == ' ' || n == '\t') {
                            chars.next();
                        }
                        let mut delimiter = String::new();
                        let mut quoted = false;
                        let mut quote = None;
                        while let Some(&n) = chars.peek() {
                            match (quote, n) {
                                (None, ' ' | '\t' | '\n' | ';' | '|' | '&' | '<' | '>' | ')') => break,
                                (None, '\'' | '"') => {
                                    quoted = true;
                                    quote = Some(n);
                                }
                                (Some(q), n) if n == q => quote = None,
                                (None, '\\') => quoted = true,
                                (_, n) => delimiter.push(n),
                            }
                            chars.next();
                        }
                        if !delimiter.is_empty() {
                            self.pending.push(Heredoc { delimiter, quoted, strip_tabs });
                        }
                    }
                    '\n' if !self.pending.is_empty() => self.body = self.next_body(),
                    _ => {}
                },
            }
        }
    }

    fn next_body(&mut self) -> Option<(Heredoc, String)> {
        self.prev = None;
        (!self.pending.is_empty()).then(|| (self.pending.remove(0), String::new()))
    }
}

/// Whether a word starts after `c`: after a blank, a newline or an operator.
fn starts_word(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>')
}

#[cfg(test)]
mod tests {
    use super::Quoting::*;
    use super::*;

    fn of(script: &str) -> Vec<Quoting> {
        let pieces: Vec<&str> = script.split("@").collect();
        quoting(&pieces)
    }

    #[test]
    fn quotes_are_followed() {
        assert_eq!(of("echo @ \"@\" '@' $'a\\'@'"), [Expands, Expands, Single, AnsiC]);
        assert_eq!(of("echo \"it's @\""), [Expands], "a single quote inside double quotes is text");
        assert_eq!(of("echo 'a\\' @"), [Expands], "no escapes in single quotes");
        assert_eq!(of("echo \\' @"), [Expands], "an escaped quote opens nothing");
        assert_eq!(of("echo \"$(echo '@')\" `echo '@'`"), [Single, Single], "quotes open again inside $( ) and ``");
        assert_eq!(of("echo $( (echo '@') ) '@'"), [Single, Single]);
        assert_eq!(of("# it's a comment\necho @"), [Expands]);
    }

    #[test]
    fn comments_start_a_word_and_run_past_expressions() {
        assert_eq!(of("# in @ (it's here)\necho '@'"), [Expands, Single], "the comment goes on after a value");
        assert_eq!(of("echo c=issue#12 '@'"), [Single], "a # inside a word is text");
        assert_eq!(of("echo ${#v} $# '@'"), [Single], "lengths and counts are not comments");
        assert_eq!(of("echo @#x '@'"), [Expands, Single], "a # right after a value is text");
        assert_eq!(of("echo a;# it's\necho '@'"), [Single]);
        assert_eq!(of("cat <<EOF # it's\n@\nEOF\necho '@'"), [Expands, Single]);
    }

    #[test]
    fn arithmetic_has_no_here_documents_or_comments() {
        assert_eq!(of("mask=$((1<<4)); echo '@'"), [Single]);
        assert_eq!(of("((n = 1 << 2)); echo '@'"), [Single]);
        assert_eq!(of("echo $(( (1<<2) + 16#ff )) '@'"), [Single]);
        assert_eq!(of("echo $( (cat <<EOF\n'@'\nEOF\n) )"), [Expands], "a subshell in $( ) is not arithmetic");
    }

    #[test]
    fn here_documents_expand_unless_their_delimiter_is_quoted() {
        assert_eq!(of("cat <<EOF\n'@'\nEOF\necho '@'"), [Expands, Single], "quotes are text in a body");
        assert_eq!(of("cat <<'EOF'\n@\nEOF\necho @"), [LiteralHeredoc, Expands]);
        assert_eq!(of("cat <<\"EOF\" > f\n@\nEOF"), [LiteralHeredoc]);
        assert_eq!(of("cat <<\\EOF\n@\nEOF"), [LiteralHeredoc]);
        assert_eq!(of("cat <<-EOF\n\t@\n\tEOF\necho '@'"), [Expands, Single], "tabs before the delimiter");
        assert_eq!(of("cat <<A <<'B'\n@\nA\n@\nB\n@"), [Expands, LiteralHeredoc, Expands]);
        assert_eq!(of("cat <<EOF\n@EOF\nEOF\n'@'"), [Expands, Single], "a line with a value is not the delimiter");
        assert_eq!(of("cat <<< '@'"), [Single], "a here-string is a word");
    }

    #[test]
    fn references_keep_the_value_one_word_in_quotes() {
        assert_eq!(Expands.reference("V").as_deref(), Some("${V}"));
        assert_eq!(Single.reference("V").as_deref(), Some("'\"${V}\"'"));
        assert_eq!(AnsiC.reference("V").as_deref(), Some("'\"${V}\"$'"));
        assert_eq!(LiteralHeredoc.reference("V"), None);
    }
}
