//! From text to a YAML tree: syntax errors and tags reported with what to write instead, and
//! repeated keys reported and dropped.

use super::{Validator, TAG};
use crate::runbook::problem::Problem;
use crate::runbook::yaml::{self, ByteSpan};

impl Validator<'_> {
    /// Reads the YAML of `text` into a tree: every tag and a syntax error reported, a document
    /// that is not a map refused, and each repeated key reported and dropped.
    pub(super) fn tree(&mut self, text: &str) -> Option<yaml::Node> {
        let mut root = match yaml::parse_tagged(text) {
            Ok((root, tags)) => {
                for tag in tags {
                    let (value, what) =
                        tagged_node(&root, tag.span.start).unwrap_or((tag.span.clone(), Tagged::Text(false)));
                    let written = text.get(tag.span.clone()).and_then(|t| t.lines().next()).unwrap_or_default().trim();
                    // `if: !params.dry_run` meant a negated condition; any other tag is dropped.
                    let negation = !written.starts_with("!!")
                        && written.len() > 1
                        && !written.contains([' ', '"', '\'', '|', '>', '&', '{', '['])
                        && matches!(what, Tagged::Text(true));
                    let help = match what {
                        Tagged::Key => "remove the tag: a key is a plain name".to_owned(),
                        Tagged::Collection => {
                            "remove the tag: drctl reads lists and maps as they are written".to_owned()
                        }
                        Tagged::Text(_) if negation => {
                            format!("write the negated condition as an expression: ${{{{ {written} }}}}")
                        }
                        Tagged::Text(_) => {
                            "remove the tag, which drctl does not read; to keep a leading `!` as text, put the whole \
                             value in quotes"
                                .to_owned()
                        }
                    };
                    self.push(
                        Problem::new(TAG, format!("YAML syntax error: {}", tag.message), tag.span.clone(), "here")
                            .help(Some(help)),
                    );
                    // Nothing else is said about the tagged value: what is wrong there follows
                    // from the tag.
                    self.tagged.push(value);
                }
                root
            }
            Err(e) => {
                let line = |at: usize| {
                    let start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
                    text[start..].lines().next().unwrap_or_default()
                };
                let help = if e.kind == yaml::SyntaxErrorKind::TooManyAliases {
                    yaml::ALIAS_HELP.to_owned()
                } else if e.message.contains("tab") {
                    "indent with spaces: YAML does not allow tabs for indentation".to_owned()
                } else if e.kind != yaml::SyntaxErrorKind::Malformed {
                    "a runbook is one map of keys, a few levels deep".to_owned()
                } else if e.message.contains("flow") && line(e.span.start).contains("${{") {
                    "inside `{ }` or `[ ]`, YAML reads the braces of `${{ }}` as its own: quote the value, as in \
                     `with: { run: 'echo ${{ each }}' }`"
                        .to_owned()
                } else {
                    "check the indentation, and that every quote and bracket opened before this point is closed"
                        .to_owned()
                };
                let message = match e.kind {
                    yaml::SyntaxErrorKind::SecondDocument => format!("{}; a runbook is one document", e.message),
                    _ => e.message,
                };
                self.push(
                    Problem::new("drctl::yaml", format!("YAML syntax error: {message}"), e.span, "here")
                        .help(Some(help)),
                );
                return None;
            }
        };
        if !matches!(root.kind, yaml::NodeKind::Map(_)) {
            self.push(
                Problem::new(
                    "drctl::not-a-map",
                    "a runbook must be a map of keys",
                    root.span.clone(),
                    "this is not a map",
                )
                .help(Some("start with `version: 1`, `name: ...` and `tasks:`".into())),
            );
            return None;
        }
        drop_duplicate_keys(&mut root, &mut self.problems);
        Some(root)
    }
}

/// What a YAML tag is on: a key, a list or map, or text (the value of `if`, or another).
enum Tagged {
    Key,
    Collection,
    Text(bool),
}

/// The node a tag found at `at` is on (a key, a list or map, or text), and its whole span.
fn tagged_node(node: &yaml::Node, at: usize) -> Option<(ByteSpan, Tagged)> {
    let here = |n: &yaml::Node, key: Option<&yaml::Node>| {
        (n.span.start == at).then(|| {
            let what = match &n.kind {
                yaml::NodeKind::Scalar { .. } => Tagged::Text(key.and_then(|k| k.as_scalar()) == Some("if")),
                _ => Tagged::Collection,
            };
            (n.span.clone(), what)
        })
    };
    let key_here = |k: &yaml::Node| (k.span.start == at).then(|| (k.span.clone(), Tagged::Key));
    // The innermost node wins: a block map starts where its first key does.
    match &node.kind {
        yaml::NodeKind::Map(entries) => {
            entries.iter().find_map(|(k, v)| {
                key_here(k).or_else(|| tagged_node(v, at)).or_else(|| {
                    // What is said about a tagged value may point at its key.
                    here(v, Some(k)).map(|(span, what)| (k.span.start..span.end, what))
                })
            })
        }
        yaml::NodeKind::Seq(items) => items.iter().find_map(|i| tagged_node(i, at).or_else(|| here(i, None))),
        yaml::NodeKind::Scalar { .. } => None,
    }
}

/// Whether two spans share a byte; an empty span stands for the byte it is at.
pub(super) fn overlap(a: &ByteSpan, b: &ByteSpan) -> bool {
    a.start < b.end.max(b.start + 1) && b.start < a.end.max(a.start + 1)
}

/// Maps up to this many entries are checked for repeated keys pair by pair.
const SMALL_MAP: usize = 12;

/// Reports every key given twice in one map, and keeps only its first entry, so that the rest
/// of the runbook is checked as if the repeat were not there. YAML allows one value per key;
/// a repeat is almost always a mistake whose second value would otherwise silently win.
pub(crate) fn drop_duplicate_keys(node: &mut yaml::Node, problems: &mut Vec<Problem>) {
    match &mut node.kind {
        yaml::NodeKind::Scalar { .. } => {}
        yaml::NodeKind::Seq(items) => items.iter_mut().for_each(|n| drop_duplicate_keys(n, problems)),
        yaml::NodeKind::Map(entries) => {
            let mut repeats = Vec::new();
            {
                let mut report = |name: &str, span: &ByteSpan, earlier: &ByteSpan| {
                    problems.push(
                        Problem::new(
                            "drctl::duplicate-key",
                            format!("duplicate key `{name}`"),
                            span.clone(),
                            "given again here",
                        )
                        .label(earlier.clone(), "first given here")
                        .help(Some("a key may appear once in a map: remove or rename one of them".into())),
                    );
                };
                if entries.len() <= SMALL_MAP {
                    // Most maps hold a handful of keys: comparing pairs beats building an index.
                    for (i, (key, _)) in entries.iter().enumerate() {
                        let Some(name) = key.as_scalar() else { continue };
                        if let Some((earlier, _)) = entries[..i].iter().find(|(k, _)| k.as_scalar() == Some(name)) {
                            report(name, &key.span, &earlier.span);
                            repeats.push(i);
                        }
                    }
                } else {
                    let mut first: crate::hash::FastMap<&str, &ByteSpan> = crate::hash::FastMap::default();
                    first.reserve(entries.len());
                    for (i, (key, _)) in entries.iter().enumerate() {
                        let Some(name) = key.as_scalar() else { continue };
                        match first.entry(name) {
                            std::collections::hash_map::Entry::Vacant(slot) => {
                                slot.insert(&key.span);
                            }
                            std::collections::hash_map::Entry::Occupied(earlier) => {
                                report(name, &key.span, earlier.get());
                                repeats.push(i);
                            }
                        }
                    }
                }
            }
            for i in repeats.into_iter().rev() {
                entries.remove(i);
            }
            entries.iter_mut().for_each(|(_, v)| drop_duplicate_keys(v, problems));
        }
    }
}
