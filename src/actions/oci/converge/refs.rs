//! Reference strings (contract C2): `@{<kind>:<key>}` anywhere inside a string of a task's
//! fields is replaced by the OCID of the referenced resource, taken from the task's `refs`
//! (`refs[kind][key].id`, or the entry itself when it is a string).
//!
//! Pure text substitution over JSON values; it never calls OCI and never guesses: a reference
//! that `refs` does not resolve is an input error naming it and the keys that are available.

use serde_json::{Map, Value};
use thiserror::Error;

/// The kinds a reference may name.
pub const REF_KINDS: [&str; 22] = [
    "vcn",
    "service_gateway",
    "route_table",
    "security_list",
    "nsg",
    "subnet",
    "dynamic_group",
    "policy",
    "vault",
    "key",
    "secret",
    "log_group",
    "log",
    "alarm",
    "repository",
    "application",
    "function",
    "gateway",
    "deployment",
    "events_rule",
    "connector",
    "schedule",
];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RefError {
    #[error("reference `@{{{kind}:{key}}}` at `{at}`: `{kind}` is not a reference kind; kinds: {}", REF_KINDS.join(", "))]
    UnknownKind { at: String, kind: String, key: String },
    #[error("reference `@{{{kind}:{key}}}` at `{at}` is not resolved: {available}")]
    Unresolved { at: String, kind: String, key: String, available: String },
    #[error("reference `@{{{kind}:{key}}}` at `{at}`: refs.{kind}.{key} is neither an OCID string nor an object with a string `id`")]
    NoId { at: String, kind: String, key: String },
    #[error("reference at `{at}` is not closed: a reference is written `@{{kind:key}}`")]
    Unclosed { at: String },
    #[error("`refs` must be an object of kinds, each an object of keys")]
    BadRefs,
}

/// Replaces every reference inside `value` (strings at any depth), using `refs`.
pub fn resolve(value: &Value, refs: &Map<String, Value>) -> Result<Value, RefError> {
    resolve_at(value, refs, "")
}

fn resolve_at(value: &Value, refs: &Map<String, Value>, at: &str) -> Result<Value, RefError> {
    Ok(match value {
        Value::String(s) => Value::String(resolve_str(s, refs, at)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| resolve_at(v, refs, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                    Ok((k.clone(), resolve_at(v, refs, &path)?))
                })
                .collect::<Result<_, RefError>>()?,
        ),
        other => other.clone(),
    })
}

/// Replaces the references of one string.
pub fn resolve_str(text: &str, refs: &Map<String, Value>, at: &str) -> Result<String, RefError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| RefError::Unclosed { at: at.to_string() })?;
        let inner = &after[..end];
        match inner.split_once(':') {
            Some((kind, key)) if !kind.is_empty() && !key.is_empty() => {
                out.push_str(&lookup(refs, kind.trim(), key.trim(), at)?);
            }
            // Not a reference (`@{}` or text without a kind): keep it as written.
            _ => out.push_str(&rest[start..start + 3 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup(refs: &Map<String, Value>, kind: &str, key: &str, at: &str) -> Result<String, RefError> {
    let owned = || (at.to_string(), kind.to_string(), key.to_string());
    if !REF_KINDS.contains(&kind) {
        let (at, kind, key) = owned();
        return Err(RefError::UnknownKind { at, kind, key });
    }
    let entries = refs.get(kind).and_then(Value::as_object);
    match entries.and_then(|e| e.get(key)) {
        Some(Value::String(id)) => Ok(id.clone()),
        Some(entry) => match entry.get("id").and_then(Value::as_str) {
            Some(id) => Ok(id.to_string()),
            None => {
                let (at, kind, key) = owned();
                Err(RefError::NoId { at, kind, key })
            }
        },
        None => {
            let available = match entries {
                Some(e) if !e.is_empty() => {
                    format!("refs.{kind} has {}", e.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "))
                }
                _ => format!("refs has no `{kind}` entries; add refs: {{ {kind}: {{ {key}: <outputs of the task that converges it> }} }}"),
            };
            let (at, kind, key) = owned();
            Err(RefError::Unresolved { at, kind, key, available })
        }
    }
}

/// Checks the shape of `refs`: an object of objects.
pub fn check_shape(refs: &Value) -> Result<&Map<String, Value>, RefError> {
    let map = refs.as_object().ok_or(RefError::BadRefs)?;
    if map.values().all(Value::is_object) {
        Ok(map)
    } else {
        Err(RefError::BadRefs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refs() -> Map<String, Value> {
        json!({
            "vcn": {"orders-vcn": {"id": "ocid1.vcn.oc1.phx.a", "displayName": "orders-vcn"}},
            "function": {"orders/validate": "ocid1.fnfunc.oc1.phx.f"},
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn whole_nested_and_partial_strings_resolve() {
        let fields = json!({
            "vcnId": "@{vcn:orders-vcn}",
            "actions": {"actions": [{"functionId": "@{function:orders/validate}"}]},
            "query": "Errors[1m]{resourceId = \"@{function:orders/validate}\"}.sum() > 0",
            "count": 3,
        });
        let out = resolve(&fields, &refs()).unwrap();
        assert_eq!(
            out,
            json!({
                "vcnId": "ocid1.vcn.oc1.phx.a",
                "actions": {"actions": [{"functionId": "ocid1.fnfunc.oc1.phx.f"}]},
                "query": "Errors[1m]{resourceId = \"ocid1.fnfunc.oc1.phx.f\"}.sum() > 0",
                "count": 3,
            })
        );
    }

    #[test]
    fn unresolved_references_name_the_keys_available() {
        let err = resolve(&json!({"a": ["@{vcn:payments-vcn}"]}), &refs()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reference `@{vcn:payments-vcn}` at `a[0]` is not resolved: refs.vcn has `orders-vcn`"
        );
        let err = resolve(&json!("@{subnet:app}"), &refs()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reference `@{subnet:app}` at `` is not resolved: refs has no `subnet` entries; add refs: { subnet: { app: <outputs of the task that converges it> } }"
        );
        let err = resolve(&json!("@{vnc:x}"), &refs()).unwrap_err();
        assert!(err.to_string().starts_with("reference `@{vnc:x}` at ``: `vnc` is not a reference kind"), "{err}");
    }

    #[test]
    fn text_that_is_not_a_reference_is_kept() {
        assert_eq!(resolve_str("mail@{x} and @{}", &refs(), "").unwrap(), "mail@{x} and @{}");
        assert!(matches!(resolve_str("@{vcn:orders-vcn", &refs(), "f"), Err(RefError::Unclosed { .. })));
    }
}
