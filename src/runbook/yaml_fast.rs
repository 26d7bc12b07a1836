//! A fast reader for the plain subset of YAML that most runbooks are written in.
//!
//! Block maps with simple keys, block lists, one-line flow maps and lists, plain and quoted
//! one-line scalars, and comments. It builds the same [`Node`] tree, spans included, that the
//! full parser does, at several times the speed. On anything else (block scalars, anchors,
//! tags, multi-line scalars, tabs, documents markers, or a possible syntax error) it gives up
//! and the full parser reads the document: giving up is always correct, so the rules here are
//! deliberately narrow. A test checks both readers agree on every runbook in the repository.

use super::yaml::{Node, NodeKind};

/// Reads `src`, or returns `None` when it is outside the subset.
pub(super) fn parse(src: &str) -> Option<Node> {
    let bytes = src.as_bytes();
    if (0..bytes.len()).any(|i| outside(bytes, i)) {
        return None;
    }
    let mut r = Reader { s: bytes, pos: 0, depth: 0 };
    let Some(indent) = r.next_content_line() else {
        return Some(Node { kind: NodeKind::Map(Vec::new()), span: 0..0 });
    };
    if indent != 0 || r.rest().starts_with(b"---") || r.rest().starts_with(b"...") {
        return None;
    }
    let root = r.block(0)?;
    // Everything after the root must be blank or comments.
    if r.next_content_line().is_some() {
        return None;
    }
    Some(root)
}

/// Whether the character starting at byte `i` of `s` is one the subset leaves to the full
/// parser: tabs and carriage returns, which have rules of their own, and what YAML does not
/// allow in a document or gives a meaning of its own: control characters (C0, DEL, C1, NEL
/// among them), a byte order mark (allowed only before the document), U+FFFE, U+FFFF. The
/// bytes after it are read only for the two lead bytes those begin with.
fn outside(s: &[u8], i: usize) -> bool {
    match s[i] {
        b'\n' => false,
        0..0x20 | 0x7f => true,
        // U+0080 to U+009F.
        0xc2 => s.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)),
        0xef => matches!(s.get(i + 1..i + 3), Some([0xbb, 0xbf] | [0xbf, 0xbe] | [0xbf, 0xbf])),
        _ => false,
    }
}

struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
    /// Collections open around the current position; deeper documents go to the full parser,
    /// which reports them.
    depth: usize,
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b'$')
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.s[self.pos.min(self.s.len())..]
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(i).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// Column of the current position (bytes since the line start).
    fn column(&self) -> usize {
        let line_start = self.s[..self.pos].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.pos - line_start
    }

    /// From the start of a line (or the end of a previous one), skips blank and comment lines
    /// and leaves the position at the first content byte of the next content line, returning its
    /// indentation; `None` at the end of the input.
    fn next_content_line(&mut self) -> Option<usize> {
        loop {
            if self.peek() == Some(b'\n') {
                self.pos += 1;
            }
            let start = self.pos;
            self.skip_spaces();
            match self.peek() {
                None => return None,
                Some(b'\n') => continue,
                Some(b'#') => {
                    self.skip_to_eol();
                    continue;
                }
                Some(_) => return Some(self.pos - start),
            }
        }
    }

    /// Looks ahead at the indentation of the next content line without moving.
    fn peek_next_indent(&mut self) -> Option<usize> {
        let save = self.pos;
        let indent = self.next_content_line();
        self.pos = save;
        indent
    }

    fn skip_to_eol(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    /// After a value on a line: only spaces and a comment may follow.
    fn end_of_line(&mut self) -> Option<()> {
        let before = self.pos;
        self.skip_spaces();
        match self.peek() {
            None | Some(b'\n') => Some(()),
            Some(b'#') if self.pos > before => {
                self.skip_to_eol();
                Some(())
            }
            _ => None,
        }
    }

    /// A block node starting at the current position, whose first line is indented `indent`.
    fn block(&mut self, indent: usize) -> Option<Node> {
        if self.depth >= super::yaml::MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let node = if self.peek() == Some(b'-') && matches!(self.at(self.pos + 1), None | Some(b' ' | b'\n')) {
            self.block_seq(indent)
        } else {
            self.block_map(indent)
        };
        self.depth -= 1;
        node
    }

    /// Whether a `key:` entry starts at the current position.
    fn looks_like_key(&self) -> bool {
        let rest = self.rest();
        let len = rest.iter().take_while(|&&b| is_key_byte(b)).count();
        len > 0
            && rest.get(len) == Some(&b':')
            && matches!(rest.get(len + 1), None | Some(b' ' | b'\n'))
            && !matches!(rest[0], b'-' | b'.' | b'/' | b'$')
    }

    fn block_map(&mut self, indent: usize) -> Option<Node> {
        let start = self.pos;
        let mut entries: Vec<(Node, Node)> = Vec::new();
        loop {
            if !self.looks_like_key() {
                return None;
            }
            // A missing value is an empty scalar at the colon, as the full parser places it.
            let (key, colon) = self.key()?;
            let value = self.block_value(indent, Some(colon))?;
            entries.push((key, value));
            // The next entry, if any, sits at exactly this indentation.
            match self.peek_next_indent() {
                Some(next) if next == indent => {
                    self.next_content_line();
                }
                Some(next) if next > indent => return None,
                _ => break,
            }
        }
        Some(map_node(entries, start))
    }

    /// A simple key, read up to its colon: the key and the colon's position, moving past it.
    fn key(&mut self) -> Option<(Node, usize)> {
        let start = self.pos;
        while self.peek().is_some_and(is_key_byte) {
            self.pos += 1;
        }
        let key = scalar(self.s, start, self.pos, false)?;
        let colon = self.pos;
        self.pos += 1;
        Some((key, colon))
    }

    /// The value after `key:` or `-`: inline on this line, or a nested block below, or null.
    /// A null is an empty scalar placed, as the full parser places it, at `null_at` (a map's
    /// colon) or, in a list, where the line ends.
    fn block_value(&mut self, indent: usize, null_at: Option<usize>) -> Option<Node> {
        let before = self.pos;
        self.skip_spaces();
        let line_end = self.pos;
        let inline = match self.peek() {
            None | Some(b'\n') => false,
            Some(b'#') if self.pos > before && null_at.is_some() => {
                self.skip_to_eol();
                false
            }
            Some(_) if self.pos == before => return None,
            Some(_) => true,
        };
        if !inline {
            return match self.peek_next_indent() {
                Some(next) if next > indent => {
                    self.next_content_line();
                    self.block(next)
                }
                // A list at the key's own indentation belongs to the key in YAML; left to the
                // full parser.
                Some(next) if next == indent && self.next_line_is_seq_entry() => None,
                _ => Some(null(null_at.unwrap_or(line_end))),
            };
        }
        // A value continued on more indented lines (a multi-line scalar) is refused by the caller,
        // which gives up on any line indented past its own entries.
        let node = self.inline_value()?;
        self.end_of_line()?;
        Some(node)
    }

    fn next_line_is_seq_entry(&mut self) -> bool {
        let save = self.pos;
        let is_seq = self.next_content_line().is_some()
            && self.peek() == Some(b'-')
            && matches!(self.at(self.pos + 1), None | Some(b' ' | b'\n'));
        self.pos = save;
        is_seq
    }

    /// A value written on the current line: a flow collection, a quoted or a plain scalar.
    fn inline_value(&mut self) -> Option<Node> {
        match self.peek()? {
            b'{' | b'[' => self.flow(),
            b'\'' | b'"' => self.quoted(),
            _ => self.plain(false),
        }
    }

    fn block_seq(&mut self, indent: usize) -> Option<Node> {
        let start = self.pos;
        let mut items = Vec::new();
        loop {
            if self.peek() != Some(b'-') || !matches!(self.at(self.pos + 1), None | Some(b' ' | b'\n')) {
                return None;
            }
            self.pos += 1;
            let save = self.pos;
            self.skip_spaces();
            let item = if self.pos > save && self.looks_like_key() {
                // `- key: value` opens a map whose entries line up with `key`.
                let column = self.column();
                self.block_map(column)?
            } else {
                self.pos = save;
                self.block_value(indent, None)?
            };
            items.push(item);
            match self.peek_next_indent() {
                Some(next) if next == indent => {
                    self.next_content_line();
                }
                Some(next) if next > indent => return None,
                _ => break,
            }
        }
        Some(seq_node(items, start))
    }

    /// A plain scalar: in block context to the end of the line or a comment; in a flow
    /// collection up to `,` or the closing bracket, on one line.
    fn plain(&mut self, flow: bool) -> Option<Node> {
        let start = self.pos;
        if !plain_may_start(self.s, start) {
            return None;
        }
        let mut end = start;
        while let Some(b) = self.peek() {
            let next = self.at(self.pos + 1);
            let stop = match b {
                b'\n' | b'#' if flow && (b == b'\n' || self.s[self.pos - 1] == b' ') => return None,
                b'\n' => true,
                b'#' => self.s[self.pos - 1] == b' ',
                b',' | b']' | b'}' => flow,
                b'[' | b'{' if flow => return None,
                b':' if matches!(next, None | Some(b' ' | b'\n')) => return None,
                b':' if flow && matches!(next, Some(b',' | b']' | b'}')) => return None,
                // The full parser takes ` -` before a flow indicator for an item's start.
                b'-' if flow
                    && self.s[self.pos - 1] == b' '
                    && matches!(next, Some(b',' | b'[' | b']' | b'{' | b'}')) =>
                {
                    return None
                }
                _ => false,
            };
            if stop {
                break;
            }
            if b != b' ' {
                end = self.pos + 1;
            }
            self.pos += 1;
        }
        self.pos = end;
        scalar(self.s, start, end, false)
    }

    /// A quoted scalar on one line.
    fn quoted(&mut self) -> Option<Node> {
        let start = self.pos;
        let quote = self.peek()?;
        self.pos += 1;
        let mut text = String::new();
        let mut run = self.pos;
        loop {
            let b = self.peek()?;
            match b {
                b'\n' => return None,
                b'\'' if quote == b'\'' => {
                    text.push_str(std::str::from_utf8(&self.s[run..self.pos]).ok()?);
                    if self.at(self.pos + 1) == Some(b'\'') {
                        text.push('\'');
                        self.pos += 2;
                        run = self.pos;
                        continue;
                    }
                    self.pos += 1;
                    break;
                }
                b'"' if quote == b'"' => {
                    text.push_str(std::str::from_utf8(&self.s[run..self.pos]).ok()?);
                    self.pos += 1;
                    break;
                }
                b'\\' if quote == b'"' => {
                    text.push_str(std::str::from_utf8(&self.s[run..self.pos]).ok()?);
                    let escaped = match self.at(self.pos + 1)? {
                        b'\\' => '\\',
                        b'"' => '"',
                        b'/' => '/',
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'0' => '\0',
                        _ => return None,
                    };
                    text.push(escaped);
                    self.pos += 2;
                    run = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        self.trailing()?;
        Some(Node { kind: NodeKind::Scalar { text, quoted: true }, span: start..self.pos })
    }

    /// Skips the spaces and comment after a closing quote or bracket: the full parser counts
    /// them into the span of a quoted scalar or an empty flow collection.
    fn trailing(&mut self) -> Option<()> {
        let closed = self.pos;
        self.skip_spaces();
        if self.peek() == Some(b'#') {
            if self.pos == closed {
                return None;
            }
            self.skip_to_eol();
        }
        Some(())
    }

    /// A flow map or list, all on the current line.
    fn flow(&mut self) -> Option<Node> {
        if self.depth >= super::yaml::MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let node = self.flow_collection();
        self.depth -= 1;
        node
    }

    fn flow_collection(&mut self) -> Option<Node> {
        let start = self.pos;
        let open = self.peek()?;
        let close = if open == b'{' { b'}' } else { b']' };
        self.pos += 1;
        self.skip_spaces();
        if self.peek() == Some(close) {
            self.pos += 1;
            self.trailing()?;
            let kind = if open == b'{' { NodeKind::Map(Vec::new()) } else { NodeKind::Seq(Vec::new()) };
            return Some(Node { kind, span: start..self.pos });
        }
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut items: Vec<Node> = Vec::new();
        loop {
            if open == b'{' {
                if !self.looks_like_flow_key() {
                    return None;
                }
                let (key, colon) = self.key()?;
                self.skip_spaces();
                let value = match self.peek()? {
                    b',' | b'}' => null(colon),
                    _ if self.pos == colon + 1 => return None,
                    _ => self.flow_item()?,
                };
                entries.push((key, value));
            } else {
                items.push(self.flow_item()?);
            }
            self.skip_spaces();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.skip_spaces();
                    // A trailing comma is left to the full parser.
                    if self.peek() == Some(close) {
                        return None;
                    }
                }
                b if b == close => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        Some(if open == b'{' { map_node(entries, start) } else { seq_node(items, start) })
    }

    fn looks_like_flow_key(&self) -> bool {
        let rest = self.rest();
        let len = rest.iter().take_while(|&&b| is_key_byte(b)).count();
        len > 0 && rest.get(len) == Some(&b':') && rest.get(len + 1) == Some(&b' ') && rest[0].is_ascii_alphanumeric()
    }

    fn flow_item(&mut self) -> Option<Node> {
        match self.peek()? {
            b'{' | b'[' => self.flow(),
            b'\'' | b'"' => self.quoted(),
            _ => self.plain(true),
        }
    }
}

/// Whether a plain scalar may start at `at`: not with an indicator character.
fn plain_may_start(s: &[u8], at: usize) -> bool {
    match s.get(at) {
        None => false,
        Some(b'-' | b'?' | b':') => !matches!(s.get(at + 1), None | Some(b' ' | b'\n' | b',' | b']' | b'}')),
        Some(
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@'
            | b'`',
        ) => false,
        Some(_) => true,
    }
}

/// An empty plain scalar, what a missing value reads as.
fn null(at: usize) -> Node {
    Node { kind: NodeKind::Scalar { text: String::new(), quoted: false }, span: at..at }
}

/// A map of `entries` from `start` to the end of its last value, as the tree builder spans it.
fn map_node(mut entries: Vec<(Node, Node)>, start: usize) -> Node {
    // A big runbook holds tens of thousands of small maps: give back what pushing reserved.
    entries.shrink_to_fit();
    let end = entries.last().map_or(start, |(_, v)| v.span.end.max(v.span.start));
    Node { kind: NodeKind::Map(entries), span: start..end }
}

/// A list of `items` from `start` to the end of its last item.
fn seq_node(mut items: Vec<Node>, start: usize) -> Node {
    items.shrink_to_fit();
    let end = items.last().map_or(start, |n| n.span.end);
    Node { kind: NodeKind::Seq(items), span: start..end }
}

fn scalar(s: &[u8], start: usize, end: usize, quoted: bool) -> Option<Node> {
    let text = std::str::from_utf8(&s[start..end]).ok()?.to_owned();
    Some(Node { kind: NodeKind::Scalar { text, quoted }, span: start..end })
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    /// Both readers agree wherever the fast one reads the document.
    fn agrees(src: &str) -> bool {
        let fast = parse(src);
        let full = yaml::parse_full(src).ok().map(|(node, _)| node);
        match fast {
            Some(node) => {
                assert_eq!(Some(&node), full.as_ref(), "readers differ on {src:?}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn reads_the_subset_exactly_as_the_full_parser() {
        let read = [
            "a: 1\nb:\n  - x\n  - 'y'\nd:\ne: {}\nf: []\ng: { h: 1, i: [2, 3] }\nj:   spaced   # c\nk: \"dq\\n\"\n",
            "tasks:\n  t0:\n    uses: sleep\n    with: { duration: 50ms }\n  t1:\n    uses: shell\n    depends_on: [t0]\n    with: { run: 'sleep 0.05' }\n",
            "a:\n  b:\n\nc: 2\n",
            "- a\n- b: 1\n  c: 2\n-\n",
            "a: { b: }\nc: [ ]\nd: {x: y}\n",
            "",
            "# only a comment\n",
            "a: x #c\nb: 'it''s'\n",
            "a: ['x' , 'y' ]\nb: { k: 'v', l: \"w\" }\nc: 'q'  \nd: 'r' # c\n",
            "a: [x , y ]\nb: {k: v,l: w}\n",
            "url: http://x:8080/p\nexpr: ${{ params.a != 'b' }}\nneg: -5\n",
            "# head\n\nversion: 1 # v\nname: n\n\n\ntasks:\n  a:\n    uses: shell\n    with:\n      run: echo hi\n      env: { A: \"${{ params.x }}\" }\n",
            "a:\n  - b: 1\n    c:\n      - d\n  - e\n",
            "name: héllo wörld\nnote: \"ç\"\n",
        ];
        for src in read {
            assert!(agrees(src), "the fast reader gave up on {src:?}");
        }
    }

    #[test]
    fn gives_up_outside_the_subset() {
        for src in [
            "a: |\n  text\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "---\na: 1\n",
            "a: one\n  two\n",
            "a:\n- x\n",
            "a:\tb\n",
            "a: [1, 2\nb: 3\n",
            "a: b: c\n",
            "\"q\": 1\n",
            "a: {x: 1, }\n",
            "a: 1\n  b: 2\n",
            "a: \"\\u00e9\"\n",
            "a: x\u{feff}\n",
            "a: [\u{feff}x]\n",
            "a: \0\n",
            "a: x\u{7f}\n",
            "a: x\u{85}y\n",
            "a: 'x\u{9f}'\n",
            "a: \u{fffe}\n",
            "a: \u{ffff}\n",
            "a: [x -]\n",
            "a: { a: x -, b: y }\n",
        ] {
            assert!(!agrees(src), "the fast reader read {src:?}");
        }
    }

    #[test]
    fn agrees_on_every_runbook_in_the_repository() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["runbooks", "examples", "tests"] {
            collect(&root.join(dir), &mut files);
        }
        assert!(!files.is_empty());
        let mut read = 0;
        for file in &files {
            let Ok(src) = std::fs::read_to_string(file) else { continue };
            if agrees(&src) {
                read += 1;
            }
        }
        eprintln!("the fast reader read {read} of {} files", files.len());
        assert!(read > 0, "the fast reader read none of {} files", files.len());
    }

    /// Random documents of the subset and near it: block maps and lists nested at random
    /// indentations, flow collections, plain and quoted scalars, nulls, comments, blank lines
    /// and stray spaces. Wherever the fast reader reads one, both readers must agree.
    mod generated {
        use super::agrees;
        use proptest::prelude::*;

        fn scalar() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z][a-z0-9_]{0,6}",
                "-?[0-9]{1,4}",
                Just("true".to_owned()),
                Just("~".to_owned()),
                Just("http://h:8080/p".to_owned()),
                Just("${{ params.x != 'y' }}".to_owned()),
                Just("a: b".to_owned()),
                Just("x #y".to_owned()),
                "'[a-z '#,]{0,6}'",
                "\"[a-z \\\\n,#]{0,6}\"",
                Just(String::new()),
            ]
        }

        fn flow(depth: u32) -> BoxedStrategy<String> {
            let leaf = scalar().prop_filter("flow scalars", |s| !s.is_empty()).boxed();
            if depth == 0 {
                return leaf;
            }
            prop_oneof![
                leaf,
                prop::collection::vec(flow(depth - 1), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec(("[a-z]{1,3}", flow(depth - 1), " {0,1}"), 0..3).prop_map(|v| {
                    let entries: Vec<String> = v.into_iter().map(|(k, x, sp)| format!("{k}:{sp} {x}")).collect();
                    format!("{{ {} }}", entries.join(", "))
                }),
            ]
            .boxed()
        }

        /// A block node at `indent`, as lines of text.
        fn block(indent: usize, depth: u32) -> BoxedStrategy<String> {
            let pad = " ".repeat(indent);
            let value = if depth == 0 {
                prop_oneof![scalar(), flow(1)].prop_map(|v| (v, None)).boxed()
            } else {
                prop_oneof![
                    3 => prop_oneof![scalar(), flow(1)].prop_map(|v| (v, None)),
                    1 => (1usize..4).prop_flat_map(move |step| block(indent + step, depth - 1)).prop_map(|b| (String::new(), Some(b))),
                ]
                .boxed()
            };
            let entry = (
                "[a-z][a-z_]{0,4}",
                value,
                prop_oneof![Just(""), Just(" "), Just(" # note")],
                prop::bool::weighted(0.15),
            );
            let pad2 = pad.clone();
            let map = prop::collection::vec(entry, 1..4).prop_map(move |entries| {
                let mut out = String::new();
                for (key, (inline, nested), tail, blank) in entries {
                    if blank {
                        out.push_str("\n# c\n");
                    }
                    match nested {
                        Some(b) => out.push_str(&format!("{pad2}{key}:{tail}\n{b}")),
                        None => out.push_str(&format!("{pad2}{key}: {inline}{tail}\n")),
                    }
                }
                out
            });
            let item = prop_oneof![scalar(), flow(1)];
            let seq = prop::collection::vec(item, 1..4)
                .prop_map(move |items| items.iter().map(|i| format!("{pad}- {i}\n")).collect::<String>());
            prop_oneof![3 => map, 1 => seq].boxed()
        }

        /// Documents of the subset (generated, or the repository's runbook and example files),
        /// each with a few characters put in, taken out or replaced at random places, with the
        /// characters YAML gives a meaning to: most are no longer in the subset, or no longer
        /// YAML at all, and the fast reader must then give up rather than read something the
        /// full parser reads otherwise, or refuses.
        fn mutated() -> impl Strategy<Value = String> {
            const MARKS: &[&str] = &[
                " ", "  ", ":", ": ", "-", "- ", "#", " #", "'", "\"", "\\", "{", "}", "[", "]", ",", "\n", "\n  ",
                "?", "|", ">", "&", "*", "!", "%", "@", "`", "~", "é", "\u{feff}", "\u{2028}", "\u{85}", "\0", "\t",
                "\r", "---", "...", "<<", "- - ", "${{", "}}",
            ];
            const SEEDS: &[&str] = &[
                include_str!("../../runbooks/oci-functions-failover.yaml"),
                include_str!("../../examples/orders-api/params.yaml"),
                include_str!("../../examples/orders-api/inventory.yaml"),
            ];
            let doc = prop_oneof![3 => block(0, 2), 1 => prop::sample::select(SEEDS).prop_map(str::to_owned)];
            let edits =
                prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(MARKS)), 1..6);
            (doc, edits).prop_map(|(doc, edits)| {
                let mut doc = doc;
                for (at, how, mark) in edits {
                    let bounds: Vec<usize> = (0..=doc.len()).filter(|&i| doc.is_char_boundary(i)).collect();
                    let i = bounds[at.index(bounds.len())];
                    let next = bounds.iter().copied().find(|&j| j > i).unwrap_or(i);
                    match how {
                        0 => doc.insert_str(i, mark),
                        1 => doc.replace_range(i..next, ""),
                        _ => doc.replace_range(i..next, mark),
                    }
                }
                doc
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]
            #[test]
            fn fast_and_full_readers_agree(doc in block(0, 3)) {
                agrees(&doc);
            }

            #[test]
            fn fast_and_full_readers_agree_on_damaged_documents(doc in mutated()) {
                agrees(&doc);
            }
        }
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
}
