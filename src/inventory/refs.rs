//! Reference strings (contract C2) in inventory specs: [`resolve`] replaces every
//! `@{kind:key}` inside any string with the id it names (seeding), [`rewrite`] replaces
//! every known OCID inside any string with its `@{kind:key}` (capturing). Both walk JSON
//! values only; neither calls anything.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::InventoryError;

/// `kind` → `key` → id.
pub type Ids = BTreeMap<String, BTreeMap<String, String>>;

/// Replaces every `@{kind:key}` in the strings of `value`; `at` names the item for errors.
pub fn resolve(value: &Value, ids: &Ids, at: &str) -> Result<Value, InventoryError> {
    Ok(match value {
        Value::String(s) => Value::String(resolve_str(s, ids, at)?),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, ids, at)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| Ok((k.clone(), resolve(v, ids, at)?))).collect::<Result<_, InventoryError>>()?,
        ),
        other => other.clone(),
    })
}

fn resolve_str(text: &str, ids: &Ids, at: &str) -> Result<String, InventoryError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        let Some(len) = rest[start..].find('}') else { break };
        let inner = &rest[start + 2..start + len];
        let (kind, key) = inner.split_once(':').ok_or_else(|| InventoryError::Reference {
            at: at.to_string(),
            reference: format!("@{{{inner}}}"),
            available: "a reference is @{kind:key}".into(),
        })?;
        let id = ids.get(kind).and_then(|keys| keys.get(key)).ok_or_else(|| InventoryError::Reference {
            at: at.to_string(),
            reference: format!("@{{{inner}}}"),
            available: match ids.get(kind) {
                Some(keys) if !keys.is_empty() => {
                    format!("keys of {kind}: {}", keys.keys().cloned().collect::<Vec<_>>().join(", "))
                }
                _ => format!("no {kind} is defined before this item"),
            },
        })?;
        out.push_str(&rest[..start]);
        out.push_str(id);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces every id of `refs` (id → `(kind, key)`) found in the strings of `value`.
pub fn rewrite(value: &Value, refs: &BTreeMap<String, (String, String)>) -> Value {
    match value {
        Value::String(s) => Value::String(rewrite_str(s, refs)),
        Value::Array(items) => Value::Array(items.iter().map(|v| rewrite(v, refs)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), rewrite(v, refs))).collect()),
        other => other.clone(),
    }
}

fn rewrite_str(text: &str, refs: &BTreeMap<String, (String, String)>) -> String {
    if !text.contains("ocid1.") {
        return text.to_string();
    }
    let mut out = text.to_string();
    // Longest ids first, so an id that prefixes another never splits it.
    let mut ids: Vec<&String> = refs.keys().filter(|id| text.contains(id.as_str())).collect();
    ids.sort_by_key(|id| std::cmp::Reverse(id.len()));
    for id in ids {
        let (kind, key) = &refs[id];
        out = out.replace(id.as_str(), &format!("@{{{kind}:{key}}}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_resolve_inside_strings_and_rewrite_back() {
        let mut ids = Ids::new();
        ids.entry("function".into()).or_default().insert("orders/validate".into(), "ocid1.fnfunc.oc1.iad.a".into());
        let spec = json!({"query": "Errors[1m]{resourceId = \"@{function:orders/validate}\"}.sum() > 0", "n": 1});
        let resolved = resolve(&spec, &ids, "alarms[0]").unwrap();
        assert_eq!(resolved["query"], "Errors[1m]{resourceId = \"ocid1.fnfunc.oc1.iad.a\"}.sum() > 0");
        let refs = [("ocid1.fnfunc.oc1.iad.a".to_string(), ("function".to_string(), "orders/validate".to_string()))]
            .into_iter()
            .collect();
        assert_eq!(rewrite(&resolved, &refs), spec);
    }

    #[test]
    fn unresolved_references_name_the_keys_available() {
        let mut ids = Ids::new();
        ids.entry("vcn".into()).or_default().insert("a".into(), "x".into());
        let err = resolve(&json!("@{vcn:b}"), &ids, "subnets[0]").unwrap_err();
        assert_eq!(err.to_string(), "subnets[0]: unresolved reference @{vcn:b} (keys of vcn: a)");
        let err = resolve(&json!("@{nsg:b}"), &ids, "subnets[0]").unwrap_err();
        assert_eq!(err.to_string(), "subnets[0]: unresolved reference @{nsg:b} (no nsg is defined before this item)");
    }
}
