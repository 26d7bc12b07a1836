//! Writes JSON values as block-style YAML, the form inventory files are kept in. Strings
//! that YAML would read as something else (numbers, booleans, references with `@{`, text
//! with `: `) are written as JSON strings, which YAML reads back unchanged, so every value
//! round-trips. Key order is kept as given; callers sort what must be sorted.

use serde_json::Value;

use crate::runbook::yaml::{scalar_kind, ScalarKind};

/// `value` (a map) as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => block_map(map, 0, &mut out),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

/// YAML 1.1 readers (still common) take these for booleans.
const YAML11_BOOLS: [&str; 6] = ["y", "n", "yes", "no", "on", "off"];

/// Whether `s` reads back as the same string in YAML 1.2 and 1.1 alike when written plain:
/// safe characters only, starting with a letter (or holding a `/`, as CIDR blocks do, which
/// no number does), and not a word some reader takes for a boolean or null.
fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_./-".contains(&b))
        && (s.as_bytes()[0].is_ascii_alphabetic() || (s.as_bytes()[0].is_ascii_digit() && s.contains('/')))
        && scalar_kind(s, false) == ScalarKind::Str
        && !YAML11_BOOLS.contains(&s.to_ascii_lowercase().as_str())
}

fn string(s: &str) -> String {
    if plain_ok(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// A scalar or an empty collection on one line.
fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Array(a) if !a.is_empty()) || matches!(v, Value::Object(m) if !m.is_empty())
}

fn block_map(map: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (k, v) in map {
        out.push_str(&pad);
        out.push_str(&string(k));
        out.push(':');
        value_after_key(v, indent, out);
    }
}

fn value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            block_map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            block_seq(a, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn block_seq(items: &[Value], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        out.push_str(&pad);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => {
                // The first entry shares the dash's line; the rest align under it.
                let mut first = true;
                for (k, v) in m {
                    if !first {
                        out.push_str(&pad);
                        out.push_str("  ");
                    }
                    first = false;
                    out.push_str(&string(k));
                    out.push(':');
                    value_after_key(v, indent + 2, out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                block_seq(a, indent + 2, out);
            }
            other if !is_block(other) => {
                out.push_str(&inline(other));
                out.push('\n');
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_round_trips_through_the_runbook_parser() {
        let v = json!({
            "version": 1,
            "name": "orders-vcn",
            "cidr": ["10.0.0.0/16"],
            "ref": "@{vcn:orders-vcn}",
            "looks_numeric": "1.0",
            "tag": "1.0.0",
            "hex": "0x1A", "word": "yes",
            "empty": {}, "none": [], "flag": true, "nothing": null,
            "query": "Errors[1m]{a = \"b\"}.sum() > 0",
            "items": [{"key": "a", "spec": {"x": [1, 2], "y": {"z": "w"}}}, {"key": "b", "spec": {}}],
            "nested": [[1, "two"], []],
        });
        let text = to_yaml(&v);
        assert!(
            text.starts_with("version: 1\nname: orders-vcn\ncidr:\n- 10.0.0.0/16\nref: \"@{vcn:orders-vcn}\"\n"),
            "{text}"
        );
        assert!(text.contains("tag: \"1.0.0\"\nhex: \"0x1A\"\nword: \"yes\"\n"), "{text}");
        let back = crate::runbook::yaml::parse(&text).unwrap().to_json();
        assert_eq!(back, v, "{text}");
    }
}
