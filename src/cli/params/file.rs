//! Reading a `--params-file`: one YAML (or JSON) map of parameter names to values.
//!
//! The file is read into the node tree with spans, so that every problem in it (a syntax
//! error, a name given twice or not declared, a value of the wrong type or outside its `enum`)
//! is reported at once, at its line. This module only reads and checks the file: what a
//! parameter ends up with (defaults, the command line, the environment) is decided by
//! `resolve`. It must never put a secret parameter's value into a message or a snippet.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::bool_word;
use crate::cli::CliError;
use crate::runbook::checked::Param;
use crate::runbook::model::ParamType;
use crate::runbook::validate::{drop_duplicate_keys, matches_type, suggest, type_word};
use crate::runbook::yaml::{self, ByteSpan, Node, NodeKind, ScalarKind, SyntaxErrorKind};
use crate::runbook::Problem;

/// What a params file gives, and what is wrong with it.
#[derive(Debug)]
pub struct ParamsFile {
    /// The file's name, as given on the command line.
    pub path: String,
    /// The file's text with secret values blanked out: snippets are cut from this.
    pub shown_text: Arc<str>,
    /// The values the file gives that passed their checks, in file order.
    pub values: Vec<(String, Value)>,
    /// Parameters the file names without a value (`name:`, `name: ~`), with the name's place.
    /// They count as not given, so a default applies.
    pub nulls: Vec<(String, ByteSpan)>,
    /// Parameters whose value in the file was refused: they are not also reported missing.
    pub refused: Vec<String>,
    /// Whether the file could be read as a map at all. When it could not, nothing can be said
    /// of what it gives, so no parameter is reported missing because of it.
    pub readable: bool,
    pub problems: Vec<Problem>,
}

/// Reads and checks the params file at `path` against the declared `params`. Only a file that
/// cannot be read at all is an error here; problems in its content are in the result.
pub fn read(path: &Path, params: &IndexMap<String, Param>) -> Result<ParamsFile, CliError> {
    let text = crate::input::read_text(path)
        .map_err(|e| CliError::usage(format!("cannot read params file {}: {e}", path.display())))?;
    Ok(check(&path.display().to_string(), &text, params))
}

/// Checks the text of a params file named `path`.
pub fn check(path: &str, text: &str, params: &IndexMap<String, Param>) -> ParamsFile {
    // A byte-order mark some editors write is not part of the first key, nor of its column.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut file = ParamsFile {
        path: path.to_owned(),
        shown_text: Arc::from(text),
        values: Vec::new(),
        nulls: Vec::new(),
        refused: Vec::new(),
        readable: false,
        problems: Vec::new(),
    };
    let mut root = match yaml::parse(text) {
        Ok(root) => root,
        Err(e) => {
            file.shown_text = blank_secret_lines(text, params).into();
            file.problems.push(syntax_problem(e));
            return file;
        }
    };
    let entries = match &root.kind {
        NodeKind::Map(entries) => entries,
        NodeKind::Scalar { text: scalar, quoted } if yaml::scalar_kind(scalar, *quoted) == ScalarKind::Null => {
            file.readable = true;
            return file;
        }
        _ => {
            file.shown_text = blank_secret_lines(text, params).into();
            file.problems.push(
                Problem::new(
                    "drctl::params-not-a-map",
                    "a params file must be a map of parameter names to values",
                    root.span.clone(),
                    format!("this is {}", root.type_name()),
                )
                .help(Some("write one `name: value` line per parameter".into())),
            );
            return file;
        }
    };
    file.readable = true;
    // Before repeats are dropped, so that a secret given twice is hidden both times. A name
    // that is not declared may be a misspelt secret: its value is hidden too when the runbook
    // has secrets.
    let has_secrets = params.values().any(|p| p.secret);
    let hidden: Vec<ByteSpan> = entries
        .iter()
        .filter(|(key, _)| match key.as_scalar().and_then(|name| params.get(name)) {
            Some(param) => param.secret,
            None => has_secrets,
        })
        .map(|(_, value)| value.span.clone())
        .collect();
    file.shown_text = blank_out(text, &hidden).into();
    drop_duplicate_keys(&mut root, &mut file.problems);
    let NodeKind::Map(entries) = &root.kind else { return file };
    for (key, value) in entries {
        let Some(name) = key.as_scalar() else { continue };
        match params.get(name) {
            None => file.problems.push(unknown(name, &key.span, params)),
            Some(_) if is_null(value) => file.nulls.push((name.to_owned(), key.span.clone())),
            Some(param) => match checked_value(name, param, value) {
                Ok(v) => file.values.push((name.to_owned(), v)),
                Err(problem) => {
                    file.refused.push(name.to_owned());
                    file.problems.push(problem);
                }
            },
        }
    }
    file.problems.sort_by_key(|p| p.labels.first().map_or(0, |(span, _)| span.start));
    file
}

/// A YAML syntax error, explained for a params file.
fn syntax_problem(e: yaml::SyntaxError) -> Problem {
    let (message, help) = match e.kind {
        SyntaxErrorKind::SecondDocument => (
            format!("{}; a params file is one document", e.message),
            "keep one map of parameter values in the file, without `---` between parts",
        ),
        SyntaxErrorKind::TooDeep => {
            (format!("YAML syntax error: {}", e.message), "a params file is one map of parameter names to values")
        }
        SyntaxErrorKind::TooManyAliases => (format!("YAML syntax error: {}", e.message), yaml::ALIAS_HELP),
        SyntaxErrorKind::Tag => {
            (format!("YAML syntax error: {}", e.message), "quote the value, so that it is read as text")
        }
        SyntaxErrorKind::Malformed if e.message.contains("tab") => (
            format!("YAML syntax error: {}", e.message),
            "indent with spaces: YAML does not allow tabs for indentation",
        ),
        SyntaxErrorKind::Malformed => (
            format!("YAML syntax error: {}", e.message),
            "check the indentation, and that every quote and bracket opened before this point is closed",
        ),
    };
    Problem::new("drctl::yaml", message, e.span, "here").help(Some(help.into()))
}

/// What to say of a parameter name the runbook does not declare: the closest declared name if
/// any is close, else the declared names, or that there are none.
pub(super) fn unknown_help(name: &str, params: &IndexMap<String, Param>) -> String {
    suggest(name, params.keys().map(String::as_str)).unwrap_or_else(|| {
        if params.is_empty() {
            "the runbook declares no parameters".to_owned()
        } else {
            let names: Vec<&str> = params.keys().map(String::as_str).collect();
            format!("parameters: {}", names.join(", "))
        }
    })
}

/// A name the runbook does not declare, with the closest declared one if any is close.
fn unknown(name: &str, span: &ByteSpan, params: &IndexMap<String, Param>) -> Problem {
    let help = unknown_help(name, params);
    Problem::new(
        "drctl::unknown-param",
        format!("unknown parameter `{name}`"),
        span.clone(),
        "not declared under the runbook's `params`",
    )
    .help(Some(help))
}

/// Whether a node is YAML's null: `name:` with nothing after it, `~` or `null`.
fn is_null(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Scalar { text, quoted } if yaml::scalar_kind(text, *quoted) == ScalarKind::Null)
}

/// The value `node` gives parameter `name`, or the problem with it. Messages never quote the
/// value (a secret's is blanked out of the snippet too); they say what it is instead.
fn checked_value(name: &str, param: &Param, node: &Node) -> Result<Value, Problem> {
    let value = value_of(param, node);
    // Digits too many for a number drctl holds exactly are read as text: say that, not that
    // quotes were given.
    let long_digits = matches!(&node.kind, NodeKind::Scalar { text, quoted: false }
        if value.is_string() && { let digits = text.trim_start_matches(['-', '+']); !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) });
    if param.kind == ParamType::Number && long_digits {
        return Err(Problem::new(
            "drctl::param-type",
            format!("parameter `{name}` must be a number drctl can hold exactly"),
            node.span.clone(),
            "a whole number outside -9223372036854775808 to 18446744073709551615",
        )
        .help(Some(format!("declare `{name}` with `type: string` to pass longer digits as text"))));
    }
    if !matches_type(param.kind, &value) {
        return Err(Problem::new(
            "drctl::param-type",
            format!("parameter `{name}` must be a {}", type_word(param.kind)),
            node.span.clone(),
            format!("this is {}", node.type_name()),
        )
        .help(Some(type_help(param.kind).into())));
    }
    if let Some(allowed) = super::not_allowed(param, &value) {
        return Err(Problem::new(
            "drctl::param-enum",
            format!("parameter `{name}` is not one of its allowed values"),
            node.span.clone(),
            "not in `enum`",
        )
        .help(Some(allowed)));
    }
    Ok(value)
}

/// The JSON value of `node` for `param`.
///
/// YAML 1.2, which drctl reads, takes `yes` and `no` for strings. For a bool parameter a plain
/// (unquoted) `yes`, `no`, `1` or `0` is read as `--param` and `DRCTL_PARAM_*` read it, so the
/// same word means the same thing wherever a parameter is given.
fn value_of(param: &Param, node: &Node) -> Value {
    if param.kind == ParamType::Bool {
        if let NodeKind::Scalar { text, quoted: false } = &node.kind {
            if let Some(b) = bool_word(text) {
                return Value::Bool(b);
            }
        }
    }
    node.to_json()
}

/// How to write a value of `kind` in YAML.
fn type_help(kind: ParamType) -> &'static str {
    match kind {
        ParamType::String => "put the value in quotes to give it as text",
        ParamType::Number => "write a number without quotes, like `3` or `2.5`",
        ParamType::Bool => "write `true` or `false` (`yes`, `no`, `1` and `0` are read as those too)",
        ParamType::List => "write a list: `[a, b]`, or one `- item` per line below the name",
        ParamType::Map => "write a map: `{ key: value }`, or indented `key: value` lines below the name",
    }
}

/// `text` with the bytes of every span replaced, line ends kept: each line of a span reads
/// `***` followed by blanks, so the offsets, lines and columns of everything else stay put.
fn blank_out(text: &str, spans: &[ByteSpan]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for span in spans {
        let end = span.end.min(bytes.len());
        let mut column = 0;
        for byte in &mut bytes[span.start.min(end)..end] {
            if matches!(*byte, b'\n' | b'\r') {
                column = 0;
                continue;
            }
            *byte = if column < 3 { b'*' } else { b' ' };
            column += 1;
        }
    }
    // Spans start and end on character boundaries, so this stays UTF-8; the fallback only
    // guards against a span that does not.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// For a file that is not a readable map, so has no spans: blanks, line by line, what follows
/// `name:` where `name` is a secret parameter (or, when the runbook has secrets, not a
/// parameter at all), and the lines indented below it. Best effort for what the snippet
/// around a syntax error shows.
fn blank_secret_lines(text: &str, params: &IndexMap<String, Param>) -> String {
    let has_secrets = params.values().any(|p| p.secret);
    let mut spans = Vec::new();
    // The indentation of the line whose value is being hidden, while its block goes on.
    let mut hiding_below: Option<usize> = None;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let indent = content.len() - content.trim_start().len();
        let blank = content.trim().is_empty();
        if hiding_below.is_some_and(|at| blank || indent > at) {
            spans.push(start + indent..start + content.len());
        } else {
            hiding_below = None;
            if let Some((key, colon)) = line_key(content) {
                if params.get(key).map_or(has_secrets, |p| p.secret) {
                    spans.push(start + colon + 1..start + content.len());
                    hiding_below = Some(indent);
                }
            }
        }
        start += line.len();
    }
    blank_out(text, &spans)
}

/// The key a line starts with (after indentation, `- ` or `{`, without quotes), and the offset
/// of its colon in the line.
fn line_key(line: &str) -> Option<(&str, usize)> {
    let colon = line.find(':')?;
    let key = line[..colon].trim().trim_start_matches(['-', '{', ' ']).trim_matches(['"', '\'']);
    (!key.is_empty() && !key.contains(char::is_whitespace)).then_some((key, colon))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn param(kind: ParamType, secret: bool) -> Param {
        Param { kind, required: false, secret, default: None, description: None, allowed: None }
    }

    fn declared() -> IndexMap<String, Param> {
        let mut params = IndexMap::new();
        params.insert("region".to_owned(), param(ParamType::String, false));
        params.insert("count".to_owned(), param(ParamType::Number, false));
        params.insert("enabled".to_owned(), param(ParamType::Bool, false));
        params.insert("token".to_owned(), param(ParamType::String, true));
        params
    }

    /// (message, 1-based line of the first label) of each problem.
    fn problems(text: &str) -> Vec<(String, usize)> {
        let file = check("p.yaml", text, &declared());
        let line = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
        file.problems.iter().map(|p| (p.message.clone(), line(p.labels[0].0.start))).collect()
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_key() {
        let file = check("p.yaml", "\u{feff}regoin: x\n", &declared());
        assert_eq!(file.problems.len(), 1);
        assert_eq!(file.problems[0].labels[0].0.start, 0, "the key starts the shown text");
        assert!(!file.shown_text.starts_with('\u{feff}'));
    }

    #[test]
    fn every_problem_is_found_with_its_line() {
        let found = problems("region: 12\ncount: many\nregoin: x\nenabled: maybe\ncount: 3\n");
        assert_eq!(
            found,
            vec![
                ("parameter `region` must be a string".into(), 1),
                ("parameter `count` must be a number".into(), 2),
                ("unknown parameter `regoin`".into(), 3),
                ("parameter `enabled` must be a bool".into(), 4),
                ("duplicate key `count`".into(), 5),
            ]
        );
    }

    #[test]
    fn nulls_are_not_values() {
        let file = check("p.yaml", "region:\ncount: ~\nenabled: yes\n", &declared());
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        let nulls: Vec<&str> = file.nulls.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(nulls, ["region", "count"]);
        assert_eq!(file.values, vec![("enabled".to_owned(), json!(true))]);
    }

    #[test]
    fn quoted_yes_is_a_string_even_for_a_bool() {
        assert_eq!(problems("enabled: 'yes'\n"), vec![("parameter `enabled` must be a bool".into(), 1)]);
    }

    #[test]
    fn a_second_document_speaks_of_the_params_file() {
        let found = problems("region: a\n---\ncount: 1\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.contains("a params file is one document"), "{found:?}");
        assert!(!found[0].0.contains("runbook"), "{found:?}");
        assert_eq!(found[0].1, 2);
    }

    #[test]
    fn a_list_is_not_a_params_file() {
        assert_eq!(
            problems("- region\n"),
            vec![("a params file must be a map of parameter names to values".into(), 1)]
        );
        assert!(problems("").is_empty());
        assert!(problems("~\n").is_empty());
    }

    #[test]
    fn secret_and_unknown_values_are_blanked_out_of_snippets() {
        let text = "token: 123456789\nregion: eu\ntokn: hunter22\ntoken: again-secret\n";
        let file = check("p.yaml", text, &declared());
        assert_eq!(file.shown_text.len(), text.len());
        assert_eq!(&*file.shown_text, "token: ***      \nregion: eu\ntokn: ***     \ntoken: ***         \n");
    }

    #[test]
    fn an_unreadable_file_hides_secret_lines_too() {
        let text = "region: [eu\ntoken: |\n  s3cr3t\n  more\ncount: 1\n";
        let file = check("p.yaml", text, &declared());
        assert_eq!(file.problems.len(), 1);
        assert!(!file.shown_text.contains("s3cr3t") && !file.shown_text.contains("more"), "{}", file.shown_text);
        assert!(file.shown_text.contains("region: [eu") && file.shown_text.contains("count: 1"));
    }
}
