//! A secret's value: `secretContent` of an `oci.vault.secret` task, either the plain value
//! (a string, sent base64-encoded) or OCI's own shape `{ contentType: BASE64, content, name,
//! stage }`. It is sent on create; afterwards it is compared with the current secret bundle
//! (read from the secrets retrieval service) and, when it differs, an update makes a new
//! version. The value never appears in outputs, diffs or logs: diffs show "(secret)".

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use super::api::ResourceApi;
use crate::actions::FieldDiff;
use crate::oci::{ClientError, Service};

/// What diffs show instead of a secret value.
pub const MASK: &str = "(secret)";

/// OCI's `secretContent` for the task's value.
pub fn normalize(value: &Value) -> Result<Value, String> {
    match value {
        Value::String(plain) => Ok(json!({"contentType": "BASE64", "content": BASE64.encode(plain.as_bytes())})),
        Value::Object(map) => {
            let content = map.get("content").and_then(Value::as_str).ok_or("`secretContent.content` is missing")?;
            if BASE64.decode(content).is_err() {
                return Err("`secretContent.content` must be base64 (or give the plain value as a string)".into());
            }
            let mut out = map.clone();
            out.entry("contentType").or_insert(json!("BASE64"));
            Ok(Value::Object(out))
        }
        _ => Err("`secretContent` must be the secret's value (a string) or OCI's { contentType, content }".into()),
    }
}

/// Whether the current version of the secret holds another value than `desired` (normalized).
pub async fn differs(api: &ResourceApi<'_>, secret_id: &str, desired: &Value) -> Result<bool, ClientError> {
    let response = api.read_other(Service::Secrets, format!("/20190301/secretbundles/{secret_id}")).await?;
    let bundle: Value = response.json()?;
    let current = bundle.pointer("/secretBundleContent/content").and_then(Value::as_str).unwrap_or_default();
    let wanted = desired.get("content").and_then(Value::as_str).unwrap_or_default();
    Ok(decoded(current) != decoded(wanted))
}

fn decoded(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text).ok()
}

/// The diff a changed secret value shows.
pub fn masked_diff() -> FieldDiff {
    FieldDiff { path: "secretContent".into(), current: json!(MASK), desired: json!(MASK) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_encoded_and_objects_checked() {
        assert_eq!(normalize(&json!("s3cret")).unwrap(), json!({"contentType": "BASE64", "content": "czNjcmV0"}));
        assert_eq!(
            normalize(&json!({"content": "czNjcmV0", "name": "v2"})).unwrap(),
            json!({"content": "czNjcmV0", "name": "v2", "contentType": "BASE64"})
        );
        assert!(normalize(&json!({"content": "not base64!"})).is_err());
        assert!(normalize(&json!(5)).is_err());
    }
}
