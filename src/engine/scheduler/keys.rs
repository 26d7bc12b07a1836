//! The names a run gives its instances: `for_each` keys and idempotency keys.

use std::collections::HashMap;

use serde_json::Value;

use crate::checkpoint::InstanceId;

/// sha256 of run id, task id and instance key: the same on every attempt and every resume.
pub fn idempotency_key(run_id: &str, id: &InstanceId) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(run_id.as_bytes());
    hasher.update([0]);
    hasher.update(id.task.as_bytes());
    hasher.update([0]);
    if let Some(key) = &id.key {
        hasher.update(key.as_bytes());
    }
    let digest = hasher.finalize();
    crate::hash::hex(&digest)
}

/// Keys of `for_each` instances: strings and numbers as themselves, maps by their `key`,
/// `name` or `id` field, anything else by position; duplicates get `#n` appended.
pub fn instance_keys(items: &[Value], redactor: &crate::ui::redact::Redactor) -> Vec<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let base = match item {
                Value::String(s) => s.clone(),
                Value::Number(x) => x.to_string(),
                Value::Bool(b) => b.to_string(),
                // `{id: 1, ...}` is keyed `1`, as the item `1` is.
                Value::Object(map) => ["key", "name", "id"]
                    .iter()
                    .find_map(|k| match map.get(*k) {
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(Value::Number(x)) => Some(x.to_string()),
                        _ => None,
                    })
                    .unwrap_or_else(|| n.to_string()),
                _ => n.to_string(),
            };
            // A key is written to the journal, log names and status: one that shows a secret
            // becomes the item's position.
            let base = if redactor.mask(&base) == base { base } else { format!("secret-{}", n + 1) };
            // A repeated item gets `#2`, `#3`, ...: the first of those no other item has taken
            // (items `[x, x, "x#2"]` give keys `x`, `x#2` and `x#2#2`).
            let mut key = base.clone();
            let count = counts.entry(base.clone()).or_default();
            while !taken.insert(key.clone()) {
                *count += 1;
                key = format!("{base}#{}", *count + 1);
            }
            key
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::instance_keys;
    use serde_json::json;

    #[test]
    fn instance_keys_never_collide() {
        let none = crate::ui::redact::Redactor::new();
        let keys = |items: serde_json::Value| instance_keys(items.as_array().map_or(&[][..], |a| a.as_slice()), &none);
        assert_eq!(keys(json!(["a", "b"])), ["a", "b"]);
        assert_eq!(keys(json!(["x", "x", "x"])), ["x", "x#2", "x#3"]);
        assert_eq!(keys(json!(["x", "x", "x#2"])), ["x", "x#2", "x#2#2"]);
        assert_eq!(keys(json!(["x#2", "x", "x"])), ["x#2", "x", "x#3"]);
        assert_eq!(keys(json!([{ "name": "a" }, { "other": 1 }, 7, true])), ["a", "1", "7", "true"]);
        assert_eq!(keys(json!([{ "id": 1, "v": "one" }, { "id": 0, "v": "zero" }])), ["1", "0"]);
        let secrets = crate::ui::redact::Redactor::new();
        secrets.add("HOSTSEC1");
        let items = [json!("HOSTSEC1"), json!("plain"), json!({ "name": "HOSTSEC1" })];
        assert_eq!(instance_keys(&items, &secrets), ["secret-1", "plain", "secret-3"]);
    }
}
