//! The INI dialect of `~/.oci/config`, as Python's `configparser` reads it, keeping the line
//! of every section and value so configuration errors can point at them.
//!
//! It only parses; which keys a profile needs is `config.rs`'s business.

use std::path::Path;

use indexmap::IndexMap;

use super::error::ConfigError;

/// One value and the line (1-based) it was set on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniValue {
    pub value: String,
    pub line: usize,
}

/// A `[section]` with its keys (lower-cased, in file order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniSection {
    pub name: String,
    pub line: usize,
    pub entries: IndexMap<String, IniValue>,
}

/// A parsed file: sections in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IniFile {
    pub sections: Vec<IniSection>,
}

impl IniFile {
    pub fn section(&self, name: &str) -> Option<&IniSection> {
        self.sections.iter().find(|s| s.name == name)
    }
}

/// Parses `text`; `path` is used in error messages only.
pub fn parse(text: &str, path: &Path) -> Result<IniFile, ConfigError> {
    let syntax = |line: usize, message: String| ConfigError::Syntax { path: path.to_path_buf(), line, message };
    let mut file = IniFile::default();
    // The key whose value an indented continuation line extends.
    let mut last_key: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            // configparser ends a multi-line value at an empty line.
            if trimmed.is_empty() {
                last_key = None;
            }
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented {
            if let (Some(key), Some(section)) = (&last_key, file.sections.last_mut()) {
                if let Some(v) = section.entries.get_mut(key) {
                    v.value.push('\n');
                    v.value.push_str(trimmed);
                    continue;
                }
            }
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            // As Python's configparser (Oracle's SDK and CLI) reads it: the name runs to the last
            // `]`, and what follows it on the line (`[DEFAULT]  ; note`) is ignored.
            let name = rest
                .rfind(']')
                .map(|end| &rest[..end])
                .ok_or_else(|| syntax(line_no, format!("section header `{trimmed}` lacks a closing `]`")))?;
            if let Some(previous) = file.section(name) {
                return Err(syntax(
                    line_no,
                    format!("profile [{name}] is defined twice (first on line {}); merge the two", previous.line),
                ));
            }
            file.sections.push(IniSection { name: name.to_string(), line: line_no, entries: IndexMap::new() });
            last_key = None;
            continue;
        }
        let split = trimmed
            .find(['=', ':'])
            .ok_or_else(|| syntax(line_no, format!("expected `key=value`, found `{trimmed}`")))?;
        let key = trimmed[..split].trim().to_ascii_lowercase();
        let value = trimmed[split + 1..].trim().to_string();
        if key.is_empty() {
            return Err(syntax(line_no, "a line starts with `=` and has no key".into()));
        }
        let section = file.sections.last_mut().ok_or_else(|| {
            syntax(line_no, format!("`{key}` appears before any [profile] header; add [DEFAULT] above it"))
        })?;
        if let Some(previous) = section.entries.get(&key) {
            return Err(syntax(
                line_no,
                format!("`{key}` is set twice in [{}] (first on line {}); keep one", section.name, previous.line),
            ));
        }
        section.entries.insert(key.clone(), IniValue { value, line: line_no });
        last_key = Some(key);
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_keys_lines_and_continuations() {
        let text = "# comment\n[DEFAULT]\nRegion = us-ashburn-1\n\n[prod]\nuser: ocid1.user\nnote = a\n  b\n";
        let f = parse(text, Path::new("cfg")).unwrap();
        assert_eq!(f.sections.len(), 2);
        let d = f.section("DEFAULT").unwrap();
        assert_eq!(d.entries["region"], IniValue { value: "us-ashburn-1".into(), line: 3 });
        let p = f.section("prod").unwrap();
        assert_eq!(p.line, 5);
        assert_eq!(p.entries["user"].value, "ocid1.user");
        assert_eq!(p.entries["note"].value, "a\nb");
    }

    #[test]
    fn a_comment_after_a_section_header_is_ignored_as_configparser_does() {
        let f = parse("[DEFAULT] ; note\nregion = r\n[prod]  # c\n", Path::new("cfg")).unwrap();
        assert_eq!(f.sections.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["DEFAULT", "prod"]);
        assert!(parse("[DEFAULT\n", Path::new("cfg")).is_err());
    }

    #[test]
    fn errors_carry_the_line() {
        let err = parse("[a]\nx=1\nx=2\n", Path::new("cfg")).unwrap_err();
        assert_eq!(err.to_string(), "cfg:3: `x` is set twice in [a] (first on line 2); keep one");
        let err = parse("user=1\n", Path::new("cfg")).unwrap_err();
        assert!(err.to_string().starts_with("cfg:1: `user` appears before any [profile]"));
        let err = parse("[a]\n[a]\n", Path::new("cfg")).unwrap_err();
        assert!(err.to_string().starts_with("cfg:2: profile [a] is defined twice"));
    }
}
