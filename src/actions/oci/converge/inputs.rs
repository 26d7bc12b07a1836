//! The `with` of a converge task, checked and turned into [`Desired`]: drctl's own keys
//! (`region`, `ensure`, `fields`, `refs`, `id`, `wait`) apart, every other key a resource
//! field as the OCI create body names it, merged over `fields`, with reference strings
//! resolved.
//!
//! Resource fields are open-ended (OCI adds fields often), so only drctl's keys are checked
//! for type; the resource fields are the service's to judge.

use serde_json::{Map, Value};

use super::kinds::ResourceKind;
use super::refs;
use crate::actions::InputProblem;
use crate::runbook::de::{short_slip, SHORT_SLIP};

/// drctl's keys; everything else in `with` is a resource field.
pub const DRCTL_KEYS: [&str; 7] = ["region", "ensure", "fields", "refs", "id", "wait", "unknown_fields"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensure {
    Present,
    Absent,
}

/// A converge task's inputs, checked, with references resolved.
#[derive(Debug, Clone)]
pub struct Desired {
    pub region: String,
    pub ensure: Ensure,
    /// Address the resource by OCID instead of by name.
    pub id: Option<String>,
    pub wait: bool,
    /// The resource fields: `fields` with the top-level fields over it.
    pub fields: Map<String, Value>,
}

impl Desired {
    /// Parses `with`; errors are input errors (a message, no class).
    pub fn parse(kind: &ResourceKind, with: &Value) -> Result<Desired, String> {
        let map = with.as_object().ok_or("`with` must be a mapping of inputs")?;
        let problems = check(kind, map);
        if let Some(p) = problems.first() {
            let named = p.key.is_empty() || p.message.starts_with(&format!("`{}", p.key));
            return Err(if named { p.message.clone() } else { format!("`{}`: {}", p.key, p.message) });
        }
        let region = map.get("region").and_then(Value::as_str).unwrap_or_default().to_string();
        let ensure = match map.get("ensure").and_then(Value::as_str) {
            Some("absent") => Ensure::Absent,
            _ => Ensure::Present,
        };
        let wait = map.get("wait").and_then(Value::as_bool).unwrap_or(true);
        let mut fields = map.get("fields").and_then(Value::as_object).cloned().unwrap_or_default();
        for (k, v) in map {
            if !DRCTL_KEYS.contains(&k.as_str()) {
                fields.insert(k.clone(), v.clone());
            }
        }
        let empty = Map::new();
        let refs_map = match map.get("refs") {
            None | Some(Value::Null) => &empty,
            Some(r) => refs::check_shape(r).map_err(|e| e.to_string())?,
        };
        let mut fields = match refs::resolve(&Value::Object(fields), refs_map).map_err(|e| e.to_string())? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        super::service_labels::localize(kind.action, &region, &mut fields);
        let id = match map.get("id").and_then(Value::as_str) {
            Some(id) => Some(refs::resolve_str(id, refs_map, "id").map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(Desired { region, ensure, id, wait, fields })
    }

    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }

    /// The resource's name (its name field).
    pub fn name<'a>(&'a self, kind: &ResourceKind) -> Option<&'a str> {
        self.text(kind.name_field)
    }

    pub fn parent<'a>(&'a self, kind: &ResourceKind) -> Option<&'a str> {
        kind.parent.and_then(|p| self.text(p))
    }
}

/// The inputs that find a resource by its identity alone (name, compartment, parent) and
/// remove it, for a task whose attempt may have created it; with the resource as messages
/// name it. A task that addresses its resource by `id` never creates one: nothing to remove.
pub fn removal_by_name(kind: &ResourceKind, with: &Value) -> Result<(String, Value), String> {
    let desired = Desired::parse(kind, with)?;
    if desired.id.is_some() {
        return Err(format!("it addresses its {} by `id`, so it created none", kind.noun));
    }
    let mut removal = Map::new();
    removal.insert("ensure".into(), Value::from("absent"));
    removal.insert("region".into(), Value::from(desired.region.clone()));
    let mut fields = vec![kind.name_field];
    if kind.in_compartment {
        fields.push("compartmentId");
    }
    fields.extend(kind.parent);
    for field in fields {
        match desired.fields.get(field) {
            Some(v @ Value::String(_)) => {
                removal.insert(field.into(), v.clone());
            }
            _ => return Err(format!("its `{field}` is not known")),
        }
    }
    let name = desired.name(kind).unwrap_or_default();
    Ok((format!("{} `{name}` in {}", kind.noun, desired.region), Value::Object(removal)))
}

/// Holds an unresolved `${{ }}` expression (checked before the run, resolved later).
fn is_expression(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.contains("${{"))
}

/// Problems with the static shape of `with`.
pub fn check(kind: &ResourceKind, with: &Map<String, Value>) -> Vec<InputProblem> {
    let mut problems = Vec::new();
    let typed = |key: &str, ok: fn(&Value) -> bool, what: &str, problems: &mut Vec<InputProblem>| {
        if let Some(v) = with.get(key) {
            if !ok(v) && !is_expression(v) {
                problems.push(InputProblem::new(key, format!("`{key}` must be {what}")));
            }
        }
    };
    typed("region", Value::is_string, "a region id such as us-phoenix-1", &mut problems);
    typed("fields", Value::is_object, "a mapping of resource fields", &mut problems);
    typed("refs", Value::is_object, "a mapping `{ <kind>: { <key>: <outputs with id> | <ocid> } }`", &mut problems);
    typed("id", Value::is_string, "an OCID", &mut problems);
    typed("wait", Value::is_boolean, "true or false", &mut problems);
    let names = |v: &Value| v.as_array().is_some_and(|items| items.iter().all(Value::is_string));
    typed("unknown_fields", names, "a list of field names", &mut problems);
    if !with.contains_key("region") {
        problems.push(
            InputProblem::new("", "missing input `region`").with_help("add `region: <region id>`, e.g. us-phoenix-1"),
        );
    }
    if let Some(ensure) = with.get("ensure").filter(|v| !is_expression(v)) {
        if !matches!(ensure.as_str(), Some("present" | "absent")) {
            problems.push(
                InputProblem::new("ensure", format!("`ensure` is {ensure}; expected `present` or `absent`"))
                    .with_help("`present` (the default) creates or updates; `absent` deletes"),
            );
        }
    }
    if let Some(refs) = with.get("refs").and_then(Value::as_object) {
        for (k, entries) in refs {
            if !refs::REF_KINDS.contains(&k.as_str()) {
                problems.push(
                    InputProblem::new("refs", format!("`{k}` is not a reference kind"))
                        .with_help(format!("kinds: {}", refs::REF_KINDS.join(", "))),
                );
            } else if !entries.is_object() && !is_expression(entries) {
                problems.push(InputProblem::new("refs", format!("`refs.{k}` must be a mapping of keys")));
            }
        }
    }
    problems.extend(common_field_types(kind, with));
    problems.extend(nested_field_types(kind, with));
    if with.contains_key("id") {
        return problems;
    }
    // Fields given through `fields` count too, unless `fields` is still an expression.
    let fields = with.get("fields");
    if fields.is_some_and(is_expression) {
        return problems;
    }
    let given = |field: &str| with.contains_key(field) || fields.and_then(|f| f.get(field)).is_some();
    let mut required = vec![kind.name_field];
    if kind.in_compartment {
        required.push("compartmentId");
    }
    required.extend(kind.parent);
    for field in required {
        if !given(field) {
            problems.push(InputProblem::new("", format!("missing resource field `{field}`")).with_help(format!(
                "a {} is found by {}; or give `id` to address it by OCID",
                kind.noun,
                identity(kind)
            )));
        }
    }
    problems
}

/// The fields every kind has, of the wrong type (top-level, or in a literal `fields`): OCI
/// refuses them, and `freeformTags` that are not a map cannot carry a drill's tag, without
/// which the drill's cleanup would leave the resource behind.
fn common_field_types(kind: &ResourceKind, with: &Map<String, Value>) -> Vec<InputProblem> {
    // Each field, what it must be, and for a map, what each of its values must be.
    type Entries = Option<(fn(&Value) -> bool, &'static str)>;
    let mut checks: Vec<(&str, &str, Entries)> = vec![
        (kind.name_field, "a string", None),
        (
            "freeformTags",
            "a map of tag names to strings, e.g. `{ team: orders }`",
            Some((Value::is_string, "a string")),
        ),
        (
            "definedTags",
            "a map of tag namespaces to maps of tags, e.g. `{ Operations: { CostCenter: \"42\" } }`",
            Some((Value::is_object, "a map of tags")),
        ),
    ];
    // A function's configuration is text only (`0xFF` unquoted is the number 255 in YAML).
    if kind.action.starts_with("oci.functions.") {
        checks.push((
            "config",
            "a map of names to strings, e.g. `{ LOG_LEVEL: info }`",
            Some((Value::is_string, "a string (quote it)")),
        ));
    }
    let inner = with.get("fields").and_then(Value::as_object);
    let mut problems = Vec::new();
    for (field, what, entries) in checks {
        let top = with.get(field).map(|v| (v, None));
        let nested = inner.and_then(|f| f.get(field)).map(|v| (v, Some(field)));
        for (value, inside) in top.into_iter().chain(nested) {
            if is_expression(value) {
                continue;
            }
            let messages: Vec<String> = match (entries, value.as_object()) {
                (None, _) if value.is_string() => continue,
                // A map with wrong values: each of them, by its name.
                (Some((fits, want)), Some(map)) => map
                    .iter()
                    .filter(|(_, v)| !fits(v) && !is_expression(v))
                    .map(|(name, v)| {
                        format!("`{field}.{name}` must be {want}, not {}", crate::runbook::expr::type_name(v))
                    })
                    .collect(),
                _ => vec![format!("`{field}` must be {what}, not {}", crate::runbook::expr::type_name(value))],
            };
            for message in messages {
                let problem = InputProblem::new(if inside.is_some() { "fields" } else { field }, message);
                problems.push(match inside {
                    Some(inner) => problem.at_inner(inner),
                    None => problem,
                });
            }
        }
    }
    problems
}

/// Fields inside the objects of the body (a rule's port range, a function's provisioned
/// concurrency) whose values are not of their type: OCI would refuse the call.
fn nested_field_types(kind: &ResourceKind, with: &Map<String, Value>) -> Vec<InputProblem> {
    use super::field_types::{wrong_types, Want};
    let top = with.iter().filter(|(k, _)| !DRCTL_KEYS.contains(&k.as_str())).map(|(k, v)| (k, v, false));
    let nested = with.get("fields").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k, v, true));
    let mut problems = Vec::new();
    for (name, value, inside) in top.chain(nested) {
        for wrong in wrong_types(kind.action, name, value) {
            let mut path = wrong.path.clone();
            if inside {
                path.insert(0, name.clone());
            }
            let help = match wrong.want {
                Want::Text => "quote the value: OCI reads this field as text (`protocol: \"6\"`)".to_owned(),
                Want::Integer => "write a whole number without quotes".to_owned(),
                Want::Number => "write a number without quotes".to_owned(),
                Want::Bool => "write true or false without quotes".to_owned(),
                Want::OneOf(values) => {
                    let written = wrong.found.trim_matches('`');
                    match super::fields::closest_value(written, values) {
                        Some(meant) => format!("did you mean `{meant}`? The value picks which fields the object has"),
                        None => "write one of the values above; it picks which fields the object has".to_owned(),
                    }
                }
            };
            problems.push(
                InputProblem::new(
                    if inside { "fields" } else { name.as_str() },
                    format!("`{}` must be {}, not {}", wrong.place(name), wrong.want.describe(), wrong.found),
                )
                .with_help(help)
                .at_path(path),
            );
        }
    }
    problems
}

/// Resource fields written in the runbook (top-level, or in a literal `fields`) that look like
/// misspellings of the kind's fields, unless `unknown_fields` lists them. `validate` checks
/// these; fields that come from expressions come from an inventory, whose loader checks its
/// specs, or from OCI itself.
pub fn misspelled_fields(kind: &ResourceKind, with: &Map<String, Value>) -> Vec<InputProblem> {
    let accepted: Vec<&str> =
        with.get("unknown_fields").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let top = with.keys().filter(|k| !DRCTL_KEYS.contains(&k.as_str())).map(|k| (k, None));
    let nested = with.get("fields").and_then(Value::as_object).into_iter().flat_map(|f| f.keys().map(|k| (k, Some(k))));
    let mut problems = Vec::new();
    for (name, inner) in top.chain(nested) {
        if accepted.contains(&name.as_str()) {
            continue;
        }
        // A top-level key close to one of drctl's own (`ensur`, `Region`) would be sent as a
        // resource field and the input it meant left at its default: `ensur: absent` creates.
        if inner.is_none() && !super::fields::known(kind.action).contains(&name.as_str()) {
            // Where a call goes is the run's to say, not a task's: a key that reads as if it
            // said it would otherwise go to OCI as a field of the resource, and be ignored.
            if matches!(name.as_str(), "endpoint" | "endpoints" | "base_url" | "url") {
                problems.push(
                    InputProblem::new(
                        name.as_str(),
                        format!("unknown input `{name}`: a task does not choose its endpoint"),
                    )
                    .with_help(
                        "each region's endpoints come from the endpoints file (--endpoints FILE or \
                             DRCTL_ENDPOINTS), for every task of the run; remove this key",
                    ),
                );
                continue;
            }
            if let Some(meant) = drctl_key_meant(name) {
                problems.push(
                    InputProblem::new(name.as_str(), format!("unknown input `{name}`; did you mean `{meant}`?"))
                        .with_help(format!(
                            "drctl's own inputs are {}; any other key is a resource field of a {}",
                            DRCTL_KEYS.join(", "),
                            kind.noun
                        )),
                );
                continue;
            }
        }
        let Some(meant) = super::fields::misspelling(kind.action, name) else { continue };
        let problem = InputProblem::new(
            if inner.is_some() { "fields" } else { name.as_str() },
            format!("`{name}` is not a field of a {}; did you mean `{meant}`?", kind.noun),
        )
        .with_help(format!(
            "correct the name; if OCI has a `{name}` field that drctl does not know yet, add `unknown_fields: [{name}]`"
        ));
        problems.push(match inner {
            Some(inner) => problem.at_inner(inner.clone()),
            None => problem,
        });
    }
    // Fields of the objects inside them: a route rule's `destinaton` would be dropped too.
    let top = with.iter().filter(|(k, _)| !DRCTL_KEYS.contains(&k.as_str())).map(|(k, v)| (k, v, None));
    let nested = with.get("fields").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k, v, Some(k)));
    for (name, value, inner) in top.chain(nested) {
        for found in super::fields::nested_misspellings(kind.action, name, value, &accepted) {
            let place = found.place(name);
            let mut path = found.path.clone();
            if inner.is_some() {
                path.insert(0, name.clone());
            }
            problems.push(
                InputProblem::new(
                    if inner.is_some() { "fields" } else { name.as_str() },
                    format!("`{}` is not a field there; did you mean `{}`?", place, found.meant),
                )
                .with_help(format!(
                    "correct the name; if OCI has a `{}` field there that drctl does not know yet, add \
                     `unknown_fields: [{}]`",
                    found.field, found.field
                ))
                .at_path(path),
            );
        }
    }
    problems
}

/// The drctl key `name` likely misspells: the same but for case, or close to it.
fn drctl_key_meant(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    DRCTL_KEYS
        .iter()
        .map(|k| {
            let score = if *k == lower {
                1.0
            } else if short_slip(&lower, k) {
                SHORT_SLIP
            } else {
                strsim::jaro_winkler(&lower, k)
            };
            (score, *k)
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// How a kind's identity reads in messages.
pub fn identity(kind: &ResourceKind) -> String {
    let mut parts = vec![format!("`{}`", kind.name_field)];
    if kind.in_compartment {
        parts.push("`compartmentId`".into());
    }
    if let Some(p) = kind.parent {
        parts.push(format!("`{p}`"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(name: &str) -> &'static ResourceKind {
        ResourceKind::find(name).unwrap()
    }

    #[test]
    fn checks_drctl_keys_and_identity() {
        let with = json!({"ensure": "gone", "wait": "yes", "displayName": "a"});
        let problems = check(kind("oci.core.subnet"), with.as_object().unwrap());
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "`wait` must be true or false",
                "missing input `region`",
                "`ensure` is \"gone\"; expected `present` or `absent`",
                "missing resource field `compartmentId`",
                "missing resource field `vcnId`",
            ]
        );
        let by_id = json!({"region": "us-phoenix-1", "id": "ocid1.subnet.oc1..x", "ensure": "absent"});
        assert_eq!(check(kind("oci.core.subnet"), by_id.as_object().unwrap()), vec![]);
        let in_fields =
            json!({"region": "r", "fields": {"displayName": "f", "applicationId": "a"}, "memoryInMBs": 128});
        assert_eq!(check(kind("oci.functions.function"), in_fields.as_object().unwrap()), vec![]);
    }

    #[test]
    fn misspelled_fields_are_refused_unless_listed() {
        let with = json!({"region": "r", "displayName": "f", "applicationId": "a", "timeoutInSecs": 60,
                          "fields": {"memoryInMb": 256, "config": {}}});
        let problems = misspelled_fields(kind("oci.functions.function"), with.as_object().unwrap());
        let found: Vec<(&str, Option<&str>, &str)> = problems
            .iter()
            .map(|p| (p.key.as_str(), p.inner.first().map(String::as_str), p.message.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    "timeoutInSecs",
                    None,
                    "`timeoutInSecs` is not a field of a function; did you mean `timeoutInSeconds`?"
                ),
                (
                    "fields",
                    Some("memoryInMb"),
                    "`memoryInMb` is not a field of a function; did you mean `memoryInMBs`?"
                ),
            ]
        );
        let deep = json!({"region": "r", "displayName": "f", "applicationId": "a",
                          "provisionedConcurrencyConfig": {"strategy": "CONSTANT", "cuont": 40},
                          "fields": {"traceConfig": {"isEnabld": true}}});
        let found: Vec<(String, Vec<String>, String)> =
            misspelled_fields(kind("oci.functions.function"), deep.as_object().unwrap())
                .into_iter()
                .map(|p| (p.key, p.inner, p.message))
                .collect();
        assert_eq!(
            found,
            [
                (
                    "provisionedConcurrencyConfig".to_owned(),
                    vec!["cuont".to_owned()],
                    "`provisionedConcurrencyConfig.cuont` is not a field there; did you mean `count`?".to_owned()
                ),
                (
                    "fields".to_owned(),
                    vec!["traceConfig".to_owned(), "isEnabld".to_owned()],
                    "`traceConfig.isEnabld` is not a field there; did you mean `isEnabled`?".to_owned()
                ),
            ]
        );
        let listed = json!({"region": "r", "displayName": "f", "applicationId": "a", "timeoutInSecs": 60,
                            "unknown_fields": ["timeoutInSecs"]});
        assert_eq!(misspelled_fields(kind("oci.functions.function"), listed.as_object().unwrap()), vec![]);
        assert_eq!(check(kind("oci.functions.function"), listed.as_object().unwrap()), vec![]);
        let tags = json!({"region": "r", "displayName": "f", "applicationId": "a",
                          "freeformTags": {"a": "1", "b": {"c": "d"}, "e": [1]}});
        let found: Vec<String> =
            check(kind("oci.functions.function"), tags.as_object().unwrap()).into_iter().map(|p| p.message).collect();
        assert_eq!(
            found,
            ["`freeformTags.b` must be a string, not a map", "`freeformTags.e` must be a string, not a list"]
        );
        let typed = json!({"region": "r", "displayName": 7, "applicationId": "a", "freeformTags": ["a", "b"],
                           "fields": {"definedTags": {"Ops": "x"}}});
        let found: Vec<String> =
            check(kind("oci.functions.function"), typed.as_object().unwrap()).into_iter().map(|p| p.message).collect();
        assert_eq!(
            found,
            [
                "`displayName` must be a string, not a number",
                "`freeformTags` must be a map of tag names to strings, e.g. `{ team: orders }`, not a list",
                "`definedTags.Ops` must be a map of tags, not a string",
            ]
        );
        let drctl_keys = json!({"region": "r", "displayName": "f", "applicationId": "a", "ensur": "absent",
                                "wiat": false, "Region": "x", "refz": {}, "unknown_field": []});
        let meant: Vec<String> = misspelled_fields(kind("oci.functions.function"), drctl_keys.as_object().unwrap())
            .into_iter()
            .map(|p| p.message)
            .collect();
        assert_eq!(
            meant,
            [
                "unknown input `ensur`; did you mean `ensure`?",
                "unknown input `wiat`; did you mean `wait`?",
                "unknown input `Region`; did you mean `region`?",
                "unknown input `refz`; did you mean `refs`?",
                "unknown input `unknown_field`; did you mean `unknown_fields`?",
            ]
        );
        let bad_list = json!({"region": "r", "id": "ocid1.x", "unknown_fields": "timeoutInSecs"});
        assert_eq!(check(kind("oci.functions.function"), bad_list.as_object().unwrap()).len(), 1);
        // The list itself is drctl's, never a resource field.
        let d = Desired::parse(kind("oci.functions.function"), &listed).unwrap();
        assert!(!d.fields.contains_key("unknown_fields"));
    }

    #[test]
    fn a_removal_by_name_keeps_the_identity_only() {
        let with = json!({
            "region": "us-phoenix-1",
            "displayName": "validate",
            "memoryInMBs": 256,
            "applicationId": "@{application:orders}",
            "refs": {"application": {"orders": {"id": "ocid1.fnapp.oc1.phx.a"}}},
        });
        let (what, removal) = removal_by_name(kind("oci.functions.function"), &with).unwrap();
        assert_eq!(what, "function `validate` in us-phoenix-1");
        assert_eq!(
            removal,
            json!({"ensure": "absent", "region": "us-phoenix-1", "displayName": "validate",
                   "applicationId": "ocid1.fnapp.oc1.phx.a"})
        );
        let by_id = json!({"region": "r", "id": "ocid1.fnfunc.oc1..x"});
        assert!(removal_by_name(kind("oci.functions.function"), &by_id).unwrap_err().contains("by `id`"));
        let masked = json!({"region": "r", "displayName": "a", "compartmentId": 7});
        assert_eq!(removal_by_name(kind("oci.core.vcn"), &masked).unwrap_err(), "its `compartmentId` is not known");
    }

    #[test]
    fn top_level_fields_win_over_fields_and_refs_resolve() {
        let with = json!({
            "region": "us-phoenix-1",
            "fields": {"displayName": "validate", "memoryInMBs": 128, "applicationId": "@{application:orders}"},
            "memoryInMBs": 256,
            "refs": {"application": {"orders": {"id": "ocid1.fnapp.oc1.phx.a"}}},
        });
        let d = Desired::parse(kind("oci.functions.function"), &with).unwrap();
        assert_eq!(d.ensure, Ensure::Present);
        assert!(d.wait);
        assert_eq!(
            Value::Object(d.fields),
            json!({"displayName": "validate", "memoryInMBs": 256, "applicationId": "ocid1.fnapp.oc1.phx.a"})
        );
    }
}
