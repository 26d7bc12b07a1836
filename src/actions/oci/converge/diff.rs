//! Field comparison between what a task asks for and what OCI returns, as [`FieldDiff`]s.
//!
//! Only fields the task gives are compared, so fields the service fills in never count as
//! drift. Inside a given field, objects are compared on the keys the task gives (services add
//! ids, states and defaults to nested objects), except string maps that the task owns whole
//! (`config`, `freeformTags`), which must match exactly; lists must have the same length and
//! match element by element; numbers compare by value (256 equals 256.0). drctl's own drill tag
//! is never part of a comparison. Nothing here calls OCI.

use serde_json::{Map, Value};

use crate::actions::FieldDiff;

/// The freeform tag that marks resources created by a drill.
pub const DRILL_TAG: &str = "drctl-drill-run";

/// Fields holding maps the task owns whole: a key the task leaves out is a difference.
const EXACT_MAPS: [&str; 2] = ["config", "freeformTags"];

/// The differences of `desired`'s fields against `current`, skipping `skip(field)`.
pub fn diff_fields(desired: &Map<String, Value>, current: &Value, skip: impl Fn(&str) -> bool) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    for (field, want) in desired {
        if skip(field) {
            continue;
        }
        let have = current.get(field).cloned().unwrap_or(Value::Null);
        let have = if field == "freeformTags" { without_drill_tag(&have) } else { have };
        if EXACT_MAPS.contains(&field.as_str()) && want.is_object() {
            diff_exact_map(field, want, &have, &mut out);
        } else if !covers(want, &have) {
            out.push(FieldDiff { path: field.clone(), current: have, desired: want.clone() });
        }
    }
    out
}

/// `freeformTags` without drctl's drill tag.
pub fn without_drill_tag(tags: &Value) -> Value {
    match tags {
        Value::Object(map) => {
            Value::Object(map.iter().filter(|(k, _)| *k != DRILL_TAG).map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        other => other.clone(),
    }
}

fn diff_exact_map(field: &str, want: &Value, have: &Value, out: &mut Vec<FieldDiff>) {
    let empty = Map::new();
    let want = want.as_object().unwrap_or(&empty);
    let have_map = have.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = want.keys().chain(have_map.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let w = want.get(key).cloned().unwrap_or(Value::Null);
        let h = have_map.get(key).cloned().unwrap_or(Value::Null);
        if !crate::runbook::expr::same_value(&w, &h) {
            out.push(FieldDiff { path: format!("{field}.{key}"), current: h, desired: w });
        }
    }
}

/// Whether `have` holds everything `want` says (objects on `want`'s keys, lists exactly).
pub fn covers(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, wv)| match h.get(k) {
            Some(hv) => covers(wv, hv),
            None => wv.is_null(),
        }),
        (Value::Array(w), Value::Array(h)) => w.len() == h.len() && w.iter().zip(h).all(|(a, b)| covers(a, b)),
        _ => crate::runbook::expr::same_value(want, have),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn only_given_fields_count_and_server_fields_inside_objects_are_ignored() {
        let current = json!({
            "memoryInMBs": 256, "timeoutInSeconds": 30, "lifecycleState": "ACTIVE",
            "traceConfig": {"isEnabled": false, "domainId": null},
            "actions": {"actions": [{"actionType": "FAAS", "functionId": "f", "id": "a1", "lifecycleState": "ACTIVE"}]},
            "freeformTags": {"team": "orders", DRILL_TAG: "run-1"},
        });
        let want = desired(json!({
            "memoryInMBs": 256.0,
            "traceConfig": {"isEnabled": false},
            "actions": {"actions": [{"actionType": "FAAS", "functionId": "f"}]},
            "freeformTags": {"team": "orders"},
        }));
        assert_eq!(diff_fields(&want, &current, |_| false), vec![]);
    }

    #[test]
    fn differences_name_their_paths() {
        let current = json!({"memoryInMBs": 256, "config": {"DB_URL": "old", "EXTRA": "x"}, "subnetIds": ["a"]});
        let want = desired(json!({"memoryInMBs": 512, "config": {"DB_URL": "new"}, "subnetIds": ["a", "b"]}));
        let diffs = diff_fields(&want, &current, |_| false);
        assert_eq!(
            diffs,
            vec![
                FieldDiff { path: "memoryInMBs".into(), current: json!(256), desired: json!(512) },
                FieldDiff { path: "config.DB_URL".into(), current: json!("old"), desired: json!("new") },
                FieldDiff { path: "config.EXTRA".into(), current: json!("x"), desired: Value::Null },
                FieldDiff { path: "subnetIds".into(), current: json!(["a"]), desired: json!(["a", "b"]) },
            ]
        );
        assert_eq!(diff_fields(&want, &current, |f| f != "memoryInMBs").len(), 1);
    }
}
