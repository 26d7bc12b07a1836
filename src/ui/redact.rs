//! Masking of secret values in everything drctl writes or prints.
//!
//! Secrets are masked by value, wherever they appear (a secret param spliced into a URL, echoed
//! by a script, quoted in an error message), not only where they are referenced by name.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use serde_json::Value;

/// What a masked secret looks like.
pub const MASK: &str = "***";

/// Secrets (and forms of them) shorter than this are not masked.
const MIN_LEN: usize = 3;

/// The secret and the forms it takes when transformed on its way out (see [`Redactor::add`]).
fn forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut bases = vec![secret];
    if secret.contains('\n') {
        bases.extend(secret.lines().map(|l| l.trim_end_matches('\r').trim()));
    }

    // A secret used as `format()`'s template comes out with its `{0}` placeholders filled:
    // the parts between them are its forms then.
    if secret.contains('{') {
        bases.extend(placeholder_parts(secret));
    }
    let mut forms = vec![base64::engine::general_purpose::STANDARD.encode(secret)];
    for base in bases {
        forms.push(base.to_owned());
        forms.push(base.to_uppercase());
        forms.push(base.to_lowercase());
        if let Ok(json) = serde_json::to_string(base) {
            let escaped = json[1..json.len() - 1].to_owned();
            // Escaped again: a JSON document carried as text inside another (a `body`).
            if let Ok(twice) = serde_json::to_string(&escaped) {
                forms.push(twice[1..twice.len() - 1].to_owned());
            }
            forms.push(escaped);
        }
        // As serializers that write only ASCII carry it (Python's `json.dumps`): `\u00e4`.
        if !base.is_ascii() {
            forms.push(ascii_json(base, false));
            forms.push(ascii_json(base, true));
        }
        forms.push(url::form_urlencoded::byte_serialize(base.as_bytes()).collect());
        // As a URL path or query carries it: spaces as `%20`, `/` kept.
        let mut in_url = url::Url::parse("http://h/").expect("a fixed URL parses");
        in_url.set_path(base);
        if let Some(path) = in_url.path().strip_prefix('/') {
            forms.push(path.to_owned());
        }
    }
    forms
}

/// `text` JSON-escaped with every character outside ASCII as `\uXXXX` (in UTF-16 units, hex
/// digits in lower or upper case), as ASCII-only JSON writers give it.
fn ascii_json(text: &str, upper: bool) -> String {
    let Ok(json) = serde_json::to_string(text) else { return String::new() };
    let mut out = String::with_capacity(json.len());
    for c in json[1..json.len() - 1].chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&if upper { format!("\\u{unit:04X}") } else { format!("\\u{unit:04x}") });
            }
        }
    }
    out
}

/// The parts of `text` between `{N}` placeholders (as `format()` reads them), when it has any.
fn placeholder_parts(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with('}') {
            parts.push(&text[start..offset + open]);
            start = offset + open + digits + 2;
        }
        offset += open + 1;
        rest = &text[offset..];
    }
    if start > 0 {
        parts.push(&text[start..]);
    }
    parts
}

/// Every text inside a JSON value.
fn leaves<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
        Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
        _ => {}
    }
}

/// Whether a value holds `***` in any text inside it: something masked, which stands for no
/// real value.
pub fn holds_mask(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains(MASK),
        Value::Array(items) => items.iter().any(holds_mask),
        Value::Object(map) => map.values().any(holds_mask),
        _ => false,
    }
}

/// The set of secret values of a run; cheap to clone and shared by every writer.
#[derive(Clone, Default, Debug)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
    /// Texts the run already holds in the clear: ordinary outputs of finished tasks, as stored.
    public: Arc<RwLock<std::collections::HashSet<String>>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret value, with the forms it commonly takes on its way out: each line of a
    /// multi-line secret (a PEM key echoed line by line), its upper- and lower-case forms (the
    /// `upper` and `lower` functions), its JSON-escaped form (`toJSON`, a JSON body), its
    /// percent-encoded form (in a URL) and its base64 form (Vault secret bundles), and each value
    /// inside a secret that is a JSON object or list. Very short
    /// values are ignored: masking every `a` would make logs unreadable without protecting
    /// anything.
    pub fn add(&self, secret: &str) {
        if secret.len() < MIN_LEN {
            return;
        }
        let Ok(mut secrets) = self.secrets.write() else { return };
        let mut added = false;
        for form in forms(secret) {
            if form.len() >= MIN_LEN && !secrets.contains(&form) {
                secrets.push(form);
                added = true;
            }
        }
        if added {
            // Longest first, so a secret containing another is masked whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        drop(secrets);
        // A secret that is a JSON document (credentials, a Vault bundle) is often taken apart
        // with `fromJSON(...).field`: each value inside is a secret too.
        if secret.trim_start().starts_with(['{', '[']) {
            if let Ok(inner @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(secret) {
                self.add_value(&inner);
            }
        }
    }

    /// Adds a secret output of a task. Text is a secret whole. A map or a list (an HTTP
    /// answer's `json`) is a secret in each text inside it, except those the run already holds
    /// in the clear, such as an id an earlier task gave as an ordinary output: masking those
    /// would protect nothing, and would hide them from every task that reads them.
    pub fn add_output(&self, value: &Value) {
        match value {
            Value::Array(_) | Value::Object(_) => {
                let mut inner = Vec::new();
                leaves(value, &mut inner);
                // Read under the lock, without copying the set; `add` takes only the secrets'.
                let private: Vec<&str> = match self.public.read() {
                    Ok(public) => inner.into_iter().filter(|t| !public.contains(*t)).collect(),
                    Err(_) => inner,
                };
                for text in private {
                    self.add(text);
                }
            }
            other => self.add_value(other),
        }
    }

    /// How a secret output that is a map or a list is stored: each text inside it that the run
    /// already holds in the clear stays, everything else (texts, numbers) becomes `***`. The
    /// rest of the value keeps its shape, so that a resumed run can still give a later task the
    /// parts that were never secret.
    pub fn stored_secret(&self, value: &Value) -> Value {
        let Ok(public) = self.public.read() else { return Value::String(MASK.into()) };
        fn walk(value: &Value, public: &std::collections::HashSet<String>) -> Value {
            match value {
                Value::String(s) if public.contains(s) => value.clone(),
                Value::String(_) | Value::Number(_) => Value::String(MASK.into()),
                Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, public)).collect()),
                Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), walk(v, public))).collect()),
                other => other.clone(),
            }
        }
        walk(value, &public)
    }

    /// Records the texts of an output stored in the clear (after masking; see
    /// [`Redactor::add_output`]).
    pub fn add_public(&self, value: &Value) {
        let mut inner = Vec::new();
        leaves(value, &mut inner);
        inner.retain(|t| t.len() >= MIN_LEN && !t.contains(MASK));
        if inner.is_empty() {
            return;
        }
        if let Ok(mut public) = self.public.write() {
            public.extend(inner.into_iter().map(str::to_owned));
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
            // A secret number (a PIN, a port inside secret credentials) is masked as its text.
            Value::Number(n) => {
                let text = n.to_string();
                match self.mask(&text) {
                    Cow::Owned(masked) => Value::String(masked),
                    Cow::Borrowed(_) => value.clone(),
                }
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_used_as_a_format_template_is_masked_once_filled() {
        let r = Redactor::new();
        r.add("Ab\"c\\d{0}é-tail{12}end");
        assert_eq!(placeholder_parts("Ab\"c\\d{0}é-tail{12}end"), ["Ab\"c\\d", "é-tail", "end"]);
        assert_eq!(r.mask("got Ab\"c\\d1é-tail2end"), "got ***1***2***");
        assert!(placeholder_parts("no {placeholders} here {x}").is_empty());
    }

    #[test]
    fn a_structured_secret_output_leaves_what_the_run_already_holds_in_the_clear() {
        let r = Redactor::new();
        r.add_public(&serde_json::json!({ "id": "ocid1.vaultsecret.x", "masked": "a *** b" }));
        r.add_output(&serde_json::json!({ "secretId": "ocid1.vaultsecret.x", "content": "c2VjcmV0LWJ5dGVz" }));
        assert_eq!(r.mask("ocid1.vaultsecret.x holds c2VjcmV0LWJ5dGVz"), "ocid1.vaultsecret.x holds ***");
        // A text output is a secret whole, wherever else it appeared.
        r.add_output(&serde_json::json!("ocid1.vaultsecret.x"));
        assert_eq!(r.mask("ocid1.vaultsecret.x"), "***");
    }

    #[test]
    fn a_secret_is_masked_as_ascii_only_and_twice_escaped_json_carry_it() {
        let r = Redactor::new();
        r.add("pässword1😀\"x");
        assert_eq!(r.mask(r#"{"got": "p\u00e4ssword1\ud83d\ude00\"x"}"#), r#"{"got": "***"}"#);
        assert_eq!(r.mask(r#"{"got": "p\u00E4ssword1\uD83D\uDE00\"x"}"#), r#"{"got": "***"}"#);
        assert_eq!(r.mask(r#""{\"got\": \"pässword1😀\\\"x\"}""#), r#""{\"got\": \"***\"}""#);
    }

    #[test]
    fn a_structured_secret_output_is_stored_with_only_its_public_texts() {
        let r = Redactor::new();
        r.add_public(&serde_json::json!({ "id": "server-0001" }));
        let answer =
            serde_json::json!({ "id": "server-0001", "token": "s3cr3t-value", "port": 8443, "ok": true, "n": null });
        r.add_output(&answer);
        assert_eq!(
            r.stored_secret(&answer),
            serde_json::json!({ "id": "server-0001", "token": "***", "port": "***", "ok": true, "n": null })
        );
    }

    #[test]
    fn masks_each_value_inside_a_json_secret() {
        let r = Redactor::new();
        r.add(r#"{"password": "PWSEC88", "nested": {"keys": ["KEYSEC1"]}, "port": 54321}"#);
        assert_eq!(r.mask("pw=PWSEC88 key=KEYSEC1 port=54321"), "pw=*** key=*** port=***");
        r.add("[not json");
        assert_eq!(r.mask("[not json"), "***");
    }

    #[test]
    fn masks_the_lines_and_transformed_forms_of_a_secret() {
        let r = Redactor::new();
        let pem = "-----BEGIN KEY-----\nAAAASECRETLINE1\r\nBBBBSECRETLINE2\n-----END KEY-----";
        r.add(pem);
        assert_eq!(r.mask("got `AAAASECRETLINE1`"), "got `***`");
        assert_eq!(r.mask("line BBBBSECRETLINE2 here"), "line *** here");
        assert_eq!(r.mask(&serde_json::to_string(pem).unwrap()), "\"***\"");
        r.add("Tok\"en/42+x");
        assert_eq!(r.mask("TOK\"EN/42+X tok\"en/42+x"), "*** ***");
        assert_eq!(r.mask(r#"{"t":"Tok\"en/42+x"}"#), r#"{"t":"***"}"#);
        assert_eq!(r.mask("https://h/?t=Tok%22en%2F42%2Bx"), "https://h/?t=***");
        assert_eq!(r.mask("c2VjcmV0 VG9rImVuLzQyK3g="), "c2VjcmV0 ***");
        r.add("my secret/pw");
        assert_eq!(r.mask("GET /echo?t=my%20secret/pw"), "GET /echo?t=***");
    }

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

    #[test]
    fn masks_secret_numbers_inside_values() {
        let r = Redactor::new();
        r.add_value(&serde_json::json!({"user": "bob-the-user", "port": 5432}));
        r.add_value(&serde_json::json!(987654));
        let v = serde_json::json!({"pin": 987654, "db": {"user": "bob-the-user", "port": 5432}, "other": 80});
        assert_eq!(
            r.mask_value(&v),
            serde_json::json!({"pin": "***", "db": {"user": "***", "port": "***"}, "other": 80})
        );
    }
}
