//! Masking of secret values in everything drctl writes or prints.
//!
//! Secrets are masked by value, wherever they appear (a secret param spliced into a URL, echoed
//! by a script, quoted in an error message), not only where they are referenced by name.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use serde_json::Value;

/// What a masked secret looks like.
pub const MASK: &str = "***";

/// The set of secret values of a run; cheap to clone and shared by every writer.
#[derive(Clone, Default, Debug)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret value. Very short values are ignored: masking every `a` would make logs
    /// unreadable without protecting anything.
    pub fn add(&self, secret: &str) {
        if secret.len() < 3 {
            return;
        }
        if let Ok(mut secrets) = self.secrets.write() {
            if !secrets.iter().any(|s| s == secret) {
                secrets.push(secret.to_owned());
                // Longest first, so a secret containing another is masked whole.
                secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
            }
        }
    }

    /// Adds every string inside a JSON value.
    pub fn add_value(&self, value: &Value) {
        match value {
            Value::String(s) => self.add(s),
            Value::Array(items) => items.iter().for_each(|v| self.add_value(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_value(v)),
            Value::Number(n) => self.add(&n.to_string()),
            _ => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.read().map(|s| s.is_empty()).unwrap_or(true)
    }

    /// The text with every secret replaced by `***`.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Ok(secrets) = self.secrets.read() else { return Cow::Borrowed(text) };
        let mut out = Cow::Borrowed(text);
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
        out
    }

    /// A copy of the value with every secret masked inside its strings.
    pub fn mask_value(&self, value: &Value) -> Value {
        if self.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.mask(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.mask_value(v)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.mask_value(v))).collect()),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let r = Redactor::new();
        r.add("hunter2");
        r.add("hunter2-extended");
        r.add("x");
        assert_eq!(r.mask("a hunter2-extended b hunter2 x"), "a *** b *** x");
        let v = serde_json::json!({"k": ["token=hunter2"]});
        assert_eq!(r.mask_value(&v), serde_json::json!({"k": ["token=***"]}));
    }
}
