//! A YAML document as a tree of nodes that remember where they stand in the source.
//!
//! Runbook diagnostics must point at the exact line, so the YAML is read with `saphyr-parser`,
//! whose events carry spans, and kept as this small tree. Anchors and aliases are resolved here;
//! later stages never see raw text. Byte offsets (what miette needs) are computed from the
//! parser's character indices once, here.

use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver};

/// A byte range in the runbook source.
pub type ByteSpan = Range<usize>;

/// One YAML node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: ByteSpan,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar exactly as written, with whether it was quoted (quoted scalars are always strings).
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Entries in source order; keys are nodes so errors can point at them.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The first key given twice in a map anywhere in this node: (first, again).
    pub fn duplicate_key(&self) -> Option<(&Node, &Node)> {
        match &self.kind {
            NodeKind::Map(entries) => {
                for (i, (k, _)) in entries.iter().enumerate() {
                    if let Some((first, _)) =
                        entries[..i].iter().find(|(f, _)| f.as_scalar().is_some() && f.as_scalar() == k.as_scalar())
                    {
                        return Some((first, k));
                    }
                }
                entries.iter().find_map(|(_, v)| v.duplicate_key())
            }
            NodeKind::Seq(items) => items.iter().find_map(Node::duplicate_key),
            NodeKind::Scalar { .. } => None,
        }
    }

    /// The value under `key`, if this is a map holding it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.as_scalar() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the node's type for messages ("a map", "a list", "a string").
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { text, quoted } => match scalar_kind(text, *quoted) {
                ScalarKind::Null => "null",
                ScalarKind::Bool(_) => "a boolean",
                ScalarKind::Int(_) | ScalarKind::UInt(_) | ScalarKind::Float(_) => "a number",
                ScalarKind::Str => "a string",
            },
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a map",
        }
    }

    /// Converts the subtree into JSON, interpreting plain scalars with YAML 1.2 core rules.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Scalar { text, quoted } => match scalar_kind(text, *quoted) {
                ScalarKind::Null => Value::Null,
                ScalarKind::Bool(b) => Value::Bool(b),
                ScalarKind::Int(i) => Value::from(i),
                ScalarKind::UInt(u) => Value::from(u),
                ScalarKind::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
                ScalarKind::Str => Value::String(text.clone()),
            },
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries.iter().map(|(k, v)| (k.as_scalar().unwrap_or_default().to_owned(), v.to_json())).collect(),
            ),
        }
    }
}

/// How a plain scalar reads under the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScalarKind {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    Float(f64),
    Str,
}

/// Whether `text` is an integer as YAML writes one: digits, with an optional sign.
pub fn integer_text(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

pub fn scalar_kind(text: &str, quoted: bool) -> ScalarKind {
    if quoted {
        return ScalarKind::Str;
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "true" | "True" | "TRUE" => return ScalarKind::Bool(true),
        "false" | "False" | "FALSE" => return ScalarKind::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return ScalarKind::Int(i);
    }
    if let Ok(u) = text.parse::<u64>() {
        return ScalarKind::UInt(u);
    }
    // Hexadecimal and octal integers (`0x1F`, `0o17`), unsigned as the core schema writes them.
    let radix = [("0x", 16), ("0o", 8)].into_iter().find_map(|(p, r)| text.strip_prefix(p).map(|d| (d, r)));
    if let Some((digits, radix)) = radix.filter(|(d, r)| !d.is_empty() && d.chars().all(|c| c.is_digit(*r))) {
        return match u64::from_str_radix(digits, radix) {
            Ok(u) => i64::try_from(u).map_or(ScalarKind::UInt(u), ScalarKind::Int),
            // Past 64 bits, kept as written, as decimal integers are.
            Err(_) => ScalarKind::Str,
        };
    }
    // Past 64 bits an integer would become the nearest float, another number: it is kept as
    // the text written.
    if integer_text(text) {
        return ScalarKind::Str;
    }
    // `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`: `1.`, `.5`, `1e3`. Infinity and
    // NaN (`.inf`, `.nan`) have no JSON form; they stay text, which a number refuses.
    if core_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            if f.is_finite() {
                return ScalarKind::Float(f);
            }
        }
    }
    ScalarKind::Str
}

/// Whether `text` is a float as the YAML 1.2 core schema writes one (not `.inf` or `.nan`).
fn core_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty()),
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// How deeply collections may nest. Runbooks need a handful of levels; the limit keeps a
/// hostile or broken file from exhausting the stack of the code that walks the tree.
pub const MAX_DEPTH: usize = 100;

/// A YAML syntax error with its place.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub message: String,
    pub span: ByteSpan,
    /// What went wrong, so each kind of file (runbook, params file) can explain it in its terms.
    pub kind: SyntaxErrorKind,
}

/// The kinds of [`SyntaxError`] a reader may want to explain differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    /// The text is not YAML (an unclosed bracket, a bad indentation, an unknown alias...).
    Malformed,
    /// Collections nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A second document follows the first; every file drctl reads is one document.
    SecondDocument,
    /// A tag (`!name`, `!!str`): drctl does not read tags, and a value that starts with `!`
    /// (an expression such as `!params.dry_run`) is one unless it is quoted.
    Tag,
    /// Aliases copy more values than [`ALIAS_BUDGET`] (an alias bomb, or close to one).
    TooManyAliases,
}

/// What to do about aliases that copy too much.
pub const ALIAS_HELP: &str = "write the repeated values out, or alias fewer levels deep";

/// Parses one YAML document into a [`Node`] tree. An empty document is an empty map.
///
/// Documents in the plain subset most runbooks use are read by a fast reader of that subset
/// (`yaml_fast`), which builds the same tree; everything else goes through `saphyr-parser`.
pub fn parse(source: &str) -> Result<Node, SyntaxError> {
    let (node, mut tags) = parse_tagged(source)?;
    match tags.is_empty() {
        true => Ok(node),
        false => Err(tags.swap_remove(0)),
    }
}

/// Like [`parse`], but a tag is not the end of the reading: the tree is built with each
/// tagged scalar as the text it is written as (`!params.dry_run`), and every tag is given
/// back as a [`SyntaxErrorKind::Tag`] error, so a reader can report them with the rest of
/// what is wrong in the file.
pub fn parse_tagged(source: &str) -> Result<(Node, Vec<SyntaxError>), SyntaxError> {
    match super::yaml_fast::parse(source) {
        Some(node) => Ok((node, Vec::new())),
        None => parse_full(source),
    }
}

/// Parses with the full YAML parser.
///
/// YAML separates a key's `:` from its value with spaces or tabs, but the parser takes only
/// spaces there. A tab it stops at is read as the space it stands for (same length, so every
/// line and column stays put), and the text is parsed again, for at most [`MAX_TAB_FIXES`]
/// tabs; past that the error stands, with a help line that says what to change.
pub(crate) fn parse_full(source: &str) -> Result<(Node, Vec<SyntaxError>), SyntaxError> {
    let mut text = std::borrow::Cow::Borrowed(source);
    for _ in 0..MAX_TAB_FIXES {
        match parse_once(&text) {
            Err(e) if e.kind == SyntaxErrorKind::Malformed && e.message.contains("':' must be followed") => {
                let Some(tabs) = tabs_after_colon(&text, e.span.start) else { return Err(e) };
                text.to_mut().replace_range(tabs.clone(), &" ".repeat(tabs.len()));
            }
            outcome => return outcome,
        }
    }
    parse_once(&text).map_err(|mut e| {
        if tabs_after_colon(&text, e.span.start).is_some() {
            e.message = format!("{}: a tab follows the `:`; write a space there", e.message);
        }
        e
    })
}

/// How many tabs after a key's `:` are read as spaces before the parse gives up on them.
const MAX_TAB_FIXES: usize = 64;

/// The blanks, tabs among them, that follow a `:` around the place `at` where the parser
/// stopped.
fn tabs_after_colon(text: &str, at: usize) -> Option<std::ops::Range<usize>> {
    let (before, after) = (text.get(..at)?, text.get(at..)?);
    let start = before.trim_end_matches([' ', '\t']).len();
    let end = at + (after.len() - after.trim_start_matches([' ', '\t']).len());
    (text[start..end].contains('\t') && text[..start].ends_with(':')).then_some(start..end)
}

/// The parser's message, with the quoting it names checked against the text: it says
/// "double-quoted scalar" after a single-quoted one too.
fn quote_named(source: &str, at: usize, info: &str) -> String {
    if !info.contains("double-quoted scalar") {
        return info.to_owned();
    }
    let line = source.get(..at).and_then(|b| b.rsplit('\n').next()).unwrap_or_default();
    match line.rfind(['\'', '"']).map(|i| &line[i..=i]) {
        Some("'") => info.replace("double-quoted scalar", "single-quoted scalar"),
        _ => info.to_owned(),
    }
}

fn parse_once(source: &str) -> Result<(Node, Vec<SyntaxError>), SyntaxError> {
    let offsets = CharOffsets::new(source);
    let mut builder = Builder {
        source,
        offsets: &offsets,
        stack: Vec::new(),
        anchors: Vec::new(),
        aliased: 0,
        root: None,
        error: None,
        tags: Vec::new(),
        documents: 0,
    };
    let mut parser = Parser::new_from_str(source);
    // Every document is read, so that a second one is reported rather than ignored.
    let loaded = parser.load(&mut builder, true);
    // An error found while building comes first: it is earlier in the file (the parser may
    // go on a little before it fails, as it does on nesting too deep).
    if let Some(err) = builder.error {
        return Err(err);
    }
    loaded.map_err(|e| {
        let at = offsets.byte(e.marker().index());
        let (message, kind) = if e.info().contains("recursion limit") {
            // The scanner stops far deeper than the limit, before any of it was built: the
            // place is the list or map that goes one level too deep.
            let at = too_deep_at(source).unwrap_or(at);
            let message = format!("lists and maps nest more than {MAX_DEPTH} levels deep here");
            return SyntaxError { message, span: not_past_the_text(source, at), kind: SyntaxErrorKind::TooDeep };
        } else if let Some(tab) = e.info().contains("tab").then(|| indenting_tab(source, at)).flatten() {
            // The parser notices a tab where the scalar before it ends, often the line
            // above; the place to fix is the tab.
            let message = "a tab in the indentation".to_owned();
            return SyntaxError { message, span: tab..tab + 1, kind: SyntaxErrorKind::Malformed };
        } else {
            (quote_named(source, at, e.info()), SyntaxErrorKind::Malformed)
        };
        SyntaxError { message, span: not_past_the_text(source, at), kind }
    })?;
    let root = builder.root.unwrap_or(Node { kind: NodeKind::Map(Vec::new()), span: 0..0 });
    Ok((root, builder.tags))
}

/// Where flow lists and maps (`[`, `{`) first nest more than [`MAX_DEPTH`] levels deep, outside
/// quoted text and comments.
fn too_deep_at(source: &str) -> Option<usize> {
    // A block mapping or list at the top is the first level, as the builder counts it.
    let first = source.lines().map(str::trim_start).find(|l| !l.is_empty() && !l.starts_with('#') && *l != "---");
    let mut depth = usize::from(!first.is_some_and(|l| l.starts_with(['[', '{'])));
    let mut quote = None;
    let mut comment = false;
    let mut prev = '\n';
    let mut chars = source.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (_, '\n') if comment => comment = false,
            _ if comment => {}
            (Some('\''), '\'') if chars.peek().is_some_and(|(_, n)| *n == '\'') => {
                chars.next();
            }
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            // A quote opens text only where a scalar starts (`it's` is plain text).
            (None, '\'' | '"') if prev.is_whitespace() || "[{,:".contains(prev) => quote = Some(c),
            (None, '#') if prev.is_whitespace() => comment = true,
            (None, '[' | '{') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    None
}

/// The first tab in the leading blanks of the line holding `at` or of one of the next two.
fn indenting_tab(source: &str, at: usize) -> Option<usize> {
    let at = at.min(source.len());
    let mut start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    for _ in 0..3 {
        let line = &source[start..];
        let blanks = line.len() - line.trim_start_matches([' ', '\t']).len();
        if let Some(tab) = line[..blanks].find('\t') {
            return Some(start + tab);
        }
        start += line.find('\n')? + 1;
    }
    None
}

/// Where an error the parser found at `at` is shown: there, unless only blanks follow it
/// (the parser stops past the end of a last line it cannot read, where no snippet shows
/// anything): then on that last line, from its first character.
fn not_past_the_text(source: &str, at: usize) -> ByteSpan {
    let text = source.trim_end();
    if at < text.len() || text.is_empty() {
        return at..at;
    }
    let start = text.rfind('\n').map_or(0, |i| i + 1);
    let start = start + (text.len() - start - text[start..].trim_start().len());
    start..text.len()
}

/// Converts the parser's character indices to byte offsets.
struct CharOffsets {
    /// Byte offset of every character, only built when the source is not pure ASCII.
    table: Option<Vec<usize>>,
    len: usize,
}

impl CharOffsets {
    fn new(source: &str) -> Self {
        let table = (!source.is_ascii()).then(|| source.char_indices().map(|(i, _)| i).collect());
        Self { table, len: source.len() }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(table) => table.get(char_index).copied().unwrap_or(self.len),
        }
    }

    fn span(&self, span: Span) -> ByteSpan {
        self.byte(span.start.index())..self.byte(span.end.index())
    }
}

enum Frame {
    Seq { start: usize, anchor: usize, items: Vec<Node> },
    Map { start: usize, anchor: usize, entries: Vec<(Node, Node)>, key: Option<Node> },
}

/// How many values aliases may copy into one file, in all: far more than any runbook, params
/// or inventory file repeats, and far less than memory.
const ALIAS_BUDGET: usize = 200_000;

/// How many values `node` holds, itself included.
fn node_count(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        NodeKind::Map(entries) => 1 + entries.iter().map(|(k, v)| node_count(k) + node_count(v)).sum::<usize>(),
    }
}

struct Builder<'a> {
    source: &'a str,
    offsets: &'a CharOffsets,
    stack: Vec<Frame>,
    /// Each anchor's node, with how many nodes it holds.
    anchors: Vec<(usize, Node, usize)>,
    /// Nodes copied by aliases so far (see [`ALIAS_BUDGET`]).
    aliased: usize,
    root: Option<Node>,
    error: Option<SyntaxError>,
    /// Every tag met, in order (see [`parse_tagged`]).
    tags: Vec<SyntaxError>,
    /// Documents started so far: a runbook or a params file is one.
    documents: usize,
}

impl Builder<'_> {
    fn tag(&mut self, at: &ByteSpan) {
        self.tags.push(SyntaxError {
            message: "a YAML tag (a value starting with `!`), which drctl does not read".to_owned(),
            span: at.clone(),
            kind: SyntaxErrorKind::Tag,
        });
    }

    fn push_node(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let size = node_count(&node);
            self.anchors.push((anchor, node.clone(), size));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    if !matches!(node.kind, NodeKind::Scalar { .. }) && self.error.is_none() {
                        self.error = Some(SyntaxError {
                            message: "map keys must be plain strings".into(),
                            span: node.span.clone(),
                            kind: SyntaxErrorKind::Malformed,
                        });
                    }
                    *key = Some(node);
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder<'_> {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        let bytes = self.offsets.span(span);
        match event {
            Event::Scalar(_, _, anchor, Some(_)) => {
                // Read without its tag, the value would silently change meaning (`if:
                // !params.dry_run` would lose its condition): it is an error, and the value
                // stands in the tree as the text written, for the rest of the reading.
                self.tag(&bytes);
                // A block scalar's span runs on to the next line's indentation: it ends at its
                // last character.
                let text = self.source.get(bytes.clone()).unwrap_or_default().trim_end().to_owned();
                let span = bytes.start..bytes.start + text.len();
                self.push_node(Node { kind: NodeKind::Scalar { text, quoted: true }, span }, anchor);
            }
            Event::SequenceStart(anchor, Some(_)) => {
                self.tag(&bytes);
                self.on_event(Event::SequenceStart(anchor, None), span);
            }
            Event::MappingStart(anchor, Some(_)) => {
                self.tag(&bytes);
                self.on_event(Event::MappingStart(anchor, None), span);
            }
            Event::Scalar(text, style, anchor, _) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                let node = Node { kind: NodeKind::Scalar { text: text.into_owned(), quoted }, span: bytes };
                self.push_node(node, anchor);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                if self.error.is_none() {
                    self.error = Some(SyntaxError {
                        message: format!("lists and maps nest more than {MAX_DEPTH} levels deep here"),
                        span: bytes.clone(),
                        kind: SyntaxErrorKind::TooDeep,
                    });
                }
                // Frames stay balanced: the matching end pops this one.
                self.stack.push(Frame::Seq { start: bytes.start, anchor: 0, items: Vec::new() });
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq { start: bytes.start, anchor, items: Vec::new() })
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map { start: bytes.start, anchor, entries: Vec::new(), key: None })
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else { return };
                let (node, anchor) = match frame {
                    Frame::Seq { start, anchor, items } => {
                        let end = items.last().map_or(bytes.end.max(start), |n| n.span.end);
                        (Node { kind: NodeKind::Seq(items), span: start..end }, anchor)
                    }
                    Frame::Map { start, anchor, entries, .. } => {
                        let end = entries.last().map_or(bytes.end.max(start), |(_, v)| v.span.end.max(v.span.start));
                        (Node { kind: NodeKind::Map(entries), span: start..end }, anchor)
                    }
                };
                self.push_node(node, anchor);
            }
            Event::Alias(id) => {
                let size = self.anchors.iter().rev().find(|(a, _, _)| *a == id).map(|(_, _, size)| *size);
                if let Some(size) = size {
                    self.aliased = self.aliased.saturating_add(size);
                }
                if self.aliased > ALIAS_BUDGET {
                    // Aliases of aliases grow as a power of the nesting: a few hundred bytes
                    // would take gigabytes. Nothing more is copied once past the budget.
                    if self.error.is_none() {
                        self.error = Some(SyntaxError {
                            message: format!(
                                "aliases expand to more than {ALIAS_BUDGET} values by here (aliases of aliases \
                                 multiply)"
                            ),
                            span: bytes.clone(),
                            kind: SyntaxErrorKind::TooManyAliases,
                        });
                    }
                    let placeholder =
                        Node { kind: NodeKind::Scalar { text: String::new(), quoted: true }, span: bytes };
                    self.push_node(placeholder, 0);
                    return;
                }
                let found = self.anchors.iter().rev().find(|(a, _, _)| *a == id).map(|(_, n, _)| n.clone());
                match found {
                    Some(mut node) => {
                        node.span = bytes;
                        self.push_node(node, 0);
                    }
                    None => {
                        if self.error.is_none() {
                            self.error = Some(SyntaxError {
                                message: "unknown alias".into(),
                                span: bytes,
                                kind: SyntaxErrorKind::Malformed,
                            });
                        }
                    }
                }
            }
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 && self.error.is_none() {
                    self.error = Some(SyntaxError {
                        message: "a second YAML document starts here".into(),
                        span: bytes,
                        kind: SyntaxErrorKind::SecondDocument,
                    });
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_content_names_the_quoting_used() {
        let single = super::parse("version: 1\nname: 'x' y\n").unwrap_err();
        assert!(single.message.contains("after single-quoted scalar"), "{}", single.message);
        let double = super::parse("version: 1\nname: \"x\" y\n").unwrap_err();
        assert!(double.message.contains("after double-quoted scalar"), "{}", double.message);
    }

    #[test]
    fn a_tag_is_an_error_not_dropped() {
        for text in ["if: !params.dry_run\n", "a: !!str 1\n", "a: !!map { b: 1 }\n", "- !x [1]\n"] {
            let e = super::parse(text).unwrap_err();
            assert_eq!(e.kind, super::SyntaxErrorKind::Tag, "{text}");
        }
    }

    #[test]
    fn a_tab_after_a_key_reads_as_a_space() {
        let text = "name:\tx\ntimeout:\t 5m\nlist:\n  - a:\tb\nquoted: \"a:\tb\"\n";
        let tree = super::parse(text).unwrap();
        let with_spaces = super::parse(&text.replace(":\t", ": ").replace("\"a: b\"", "\"a:\tb\"")).unwrap();
        assert_eq!(format!("{tree:?}"), format!("{with_spaces:?}"));
    }

    #[test]
    fn spans_point_at_scalars() {
        let src = "a: 1\nb:\n  - x\n  - 'y'\n";
        let root = parse(src).unwrap();
        let b = root.get("b").unwrap();
        let NodeKind::Seq(items) = &b.kind else { panic!("not a seq") };
        assert_eq!(&src[items[0].span.clone()], "x");
        assert_eq!(&src[items[1].span.clone()], "'y'");
        assert_eq!(root.get("a").unwrap().to_json(), serde_json::json!(1));
    }

    #[test]
    fn non_ascii_offsets_are_bytes() {
        let src = "name: \"héllo\"\nnext: wörld\n";
        let root = parse(src).unwrap();
        let next = root.get("next").unwrap();
        assert_eq!(&src[next.span.clone()], "wörld");
    }

    #[test]
    fn aliases_resolve() {
        let src = "a: &x [1, 2]\nb: *x\n";
        let root = parse(src).unwrap();
        assert_eq!(root.get("b").unwrap().to_json(), serde_json::json!([1, 2]));
    }

    #[test]
    fn syntax_error_has_place() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.span.start > 0, "{err:?}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        for depth in [MAX_DEPTH + 1, 30_000] {
            let src = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
            let err = parse(&src).unwrap_err();
            assert!(err.message.contains("nest more than 100 levels"), "{err:?}");
            // `a:` is the first level, so the 100th list is one too deep.
            assert_eq!(err.span.start, 3 + MAX_DEPTH - 1, "points at the list one level too deep: {err:?}");
        }
        assert!(parse(&format!("a: {}{}\n", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1))).is_ok());
    }

    #[test]
    fn a_second_document_is_an_error() {
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.message.contains("second YAML document"), "{err:?}");
        assert_eq!(err.kind, SyntaxErrorKind::SecondDocument);
        assert!(parse("---\na: 1\n").is_ok());
    }

    #[test]
    fn scalar_kinds() {
        assert_eq!(scalar_kind("12", false), ScalarKind::Int(12));
        assert_eq!(scalar_kind("12345678901234567890", false), ScalarKind::UInt(12_345_678_901_234_567_890));
        assert_eq!(scalar_kind("98765432109876543210", false), ScalarKind::Str);
        assert_eq!(scalar_kind("12", true), ScalarKind::Str);
        assert_eq!(scalar_kind("1.5", false), ScalarKind::Float(1.5));
        assert_eq!(scalar_kind("~", false), ScalarKind::Null);
        assert_eq!(scalar_kind("30s", false), ScalarKind::Str);
        assert_eq!(scalar_kind("inf", false), ScalarKind::Str);
        // The rest of the YAML 1.2 core schema.
        assert_eq!(scalar_kind("0x1F", false), ScalarKind::Int(31));
        assert_eq!(scalar_kind("0o17", false), ScalarKind::Int(15));
        assert_eq!(scalar_kind("0xFFFFFFFFFFFFFFFF", false), ScalarKind::UInt(u64::MAX));
        assert_eq!(scalar_kind("0x1FFFFFFFFFFFFFFFF", false), ScalarKind::Str);
        assert_eq!(scalar_kind("0x", false), ScalarKind::Str);
        assert_eq!(scalar_kind("0o8", false), ScalarKind::Str);
        assert_eq!(scalar_kind("1.", false), ScalarKind::Float(1.0));
        assert_eq!(scalar_kind(".5", false), ScalarKind::Float(0.5));
        assert_eq!(scalar_kind("-1e3", false), ScalarKind::Float(-1000.0));
        assert_eq!(scalar_kind("1.5E-2", false), ScalarKind::Float(0.015));
        for text in [".", "1e", "e3", ".inf", "-.Inf", ".nan", "infinity", "NaN", "1.2.3", "1_000", "0x1g"] {
            assert_eq!(scalar_kind(text, false), ScalarKind::Str, "{text}");
        }
    }
}
