//! The query filters of list operations, as Oracle's SDK sends them: most name a top-level
//! field of the resource (`displayName`, `vcnId`); some name a field by another name or
//! deeper in the body (`scheduleId` is the schedule's `id`, `sourceService` a log's
//! `configuration.source.service`); and `compartmentIdInSubtree` widens `compartmentId` to the
//! compartments below it. A documented filter always filters, a resource without the field it
//! names included: a list that ignores a filter returns resources the caller did not ask for.
//! A parameter no list documents is ignored, as OCI ignores it.

use serde_json::Value;

use super::store::Store;

/// Query parameters that control listing rather than filter by a field.
const NOT_FILTERS: [&str; 8] = [
    "limit",
    "page",
    "sortBy",
    "sortOrder",
    "compartmentIdInSubtree",
    "isCompartmentIdInSubtree",
    "accessLevel",
    "fields",
];

/// Filters named like the top-level field they compare, across the lists the simulator serves.
const FIELD_FILTERS: [&str; 14] = [
    "compartmentId",
    "displayName",
    "name",
    "lifecycleState",
    "id",
    "vcnId",
    "vlanId",
    "gatewayId",
    "certificateId",
    "applicationId",
    "isPublic",
    "logType",
    "vaultId",
    "protectionMode",
];

/// Where a filter of one kind's list looks, when not in the top-level field of its own name:
/// a JSON pointer, where `*` stands for every element of an array.
fn renamed(kind: &str, param: &str) -> Option<&'static str> {
    Some(match (kind, param) {
        ("artifacts.containerrepository", "repositoryId") => "/id",
        ("resourcescheduler.schedule", "scheduleId") => "/id",
        ("resourcescheduler.schedule", "resourceId") => "/resources/*/id",
        ("logging.log", "sourceService") => "/configuration/source/service",
        ("logging.log", "sourceResource") => "/configuration/source/resource",
        ("kms.key", "algorithm") => "/keyShape/algorithm",
        ("kms.key", "length") => "/keyShape/length",
        ("kms.key", "curveId") => "/keyShape/curveId",
        _ => return None,
    })
}

/// Lists that need one of these parameters as their scope (400 MissingParameter without):
/// besides those scoped by one parameter (`Kind::list_by`).
pub fn scope_one_of(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "resourcescheduler.schedule" => Some(&["compartmentId", "scheduleId"]),
        _ => None,
    }
}

/// A list's filters, read from its query once.
pub struct Filters<'q> {
    kind: &'q str,
    query: &'q [(String, String)],
    /// With `compartmentIdInSubtree=true`: the compartment asked for and every one below it.
    subtree: Option<Vec<String>>,
}

impl<'q> Filters<'q> {
    pub fn new(store: &Store, region: &str, kind: &'q str, query: &'q [(String, String)]) -> Filters<'q> {
        let given = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let wide = ["compartmentIdInSubtree", "isCompartmentIdInSubtree"].iter().any(|p| given(p) == Some("true"));
        let subtree = given("compartmentId").filter(|_| wide).map(|top| below(store, region, top));
        Filters { kind, query, subtree }
    }

    /// Whether `body` passes every filter of the query.
    pub fn pass(&self, body: &Value) -> bool {
        self.query.iter().filter(|(k, _)| !NOT_FILTERS.contains(&k.as_str())).all(|(param, wanted)| {
            if param == "compartmentId" {
                if let Some(subtree) = &self.subtree {
                    return body
                        .get("compartmentId")
                        .and_then(Value::as_str)
                        .is_some_and(|c| subtree.iter().any(|s| s == c));
                }
            }
            match (renamed(self.kind, param), FIELD_FILTERS.contains(&param.as_str())) {
                (Some(pointer), _) => at(body, pointer).iter().any(|v| equals(v, wanted)),
                (None, true) => field(body, param).is_some_and(|v| equals(v, wanted)),
                // Not a filter of any list served here: ignored, as OCI does.
                (None, false) => true,
            }
        })
    }
}

/// The values at `pointer` in `body`, where a `*` step takes every element of an array.
fn at<'v>(body: &'v Value, pointer: &str) -> Vec<&'v Value> {
    let mut found = vec![body];
    for step in pointer.split('/').skip(1) {
        found = found
            .into_iter()
            .flat_map(|v| match (step, v) {
                ("*", Value::Array(items)) => items.iter().collect::<Vec<_>>(),
                ("*", _) => Vec::new(),
                (key, v) => v.get(key).into_iter().collect(),
            })
            .collect();
    }
    found
}

/// The field a filter names; `name` also matches `secretName` or `displayName`, as the
/// services that call their name that way filter with `name=`.
fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    match (body.get(name), name) {
        (Some(v), _) => Some(v),
        (None, "name") => body.get("secretName").or_else(|| body.get("displayName")),
        (None, _) => None,
    }
}

/// Whether a field's value is what the query asked for (query values are text).
fn equals(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Bool(b) => b.to_string() == wanted,
        Value::Number(n) => n.to_string() == wanted,
        _ => false,
    }
}

/// `top` and the ids of every compartment below it.
fn below(store: &Store, region: &str, top: &str) -> Vec<String> {
    let compartments: Vec<(String, String)> = store
        .of_kind(region, "identity.compartment")
        .filter(|c| c.gone_at_ms.is_none())
        .filter_map(|c| Some((c.id.clone(), c.body.get("compartmentId")?.as_str()?.to_owned())))
        .collect();
    let mut found = vec![top.to_owned()];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next].clone();
        found.extend(compartments.iter().filter(|(_, p)| *p == parent).map(|(id, _)| id.clone()));
        next += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn documented_filters_filter_and_others_are_ignored() {
        let store = Store::default();
        let schedule = json!({"id": "s1", "compartmentId": "c", "resources": [{"id": "fn1"}, {"id": "fn2"}]});
        let pass = |kind: &str, pairs: &[(&str, &str)], body: &Value| {
            let q = query(pairs);
            Filters::new(&store, "r", kind, &q).pass(body)
        };
        let k = "resourcescheduler.schedule";
        assert!(pass(k, &[("scheduleId", "s1")], &schedule));
        assert!(!pass(k, &[("scheduleId", "s2")], &schedule));
        assert!(pass(k, &[("resourceId", "fn2")], &schedule));
        assert!(!pass(k, &[("resourceId", "fn3")], &schedule));
        // A documented filter on a field the resource lacks: not a match.
        assert!(!pass(k, &[("displayName", "x")], &schedule));
        assert!(pass(k, &[("somethingElse", "x"), ("limit", "5")], &schedule));
        let key = json!({"keyShape": {"algorithm": "AES", "length": 32}});
        assert!(pass("kms.key", &[("algorithm", "AES"), ("length", "32")], &key));
        assert!(!pass("kms.key", &[("algorithm", "RSA")], &key));
        let log = json!({"logType": "SERVICE", "configuration": {"source": {"service": "functions"}}});
        assert!(!pass("logging.log", &[("sourceService", "apigateway")], &log));
        assert!(pass("logging.log", &[("sourceService", "functions"), ("logType", "SERVICE")], &log));
    }

    #[test]
    fn pointers_step_into_arrays() {
        let body = json!({"a": [{"b": 1}, {"b": 2}, {"c": 3}]});
        assert_eq!(at(&body, "/a/*/b"), vec![&json!(1), &json!(2)]);
        assert!(at(&body, "/x/*/b").is_empty());
    }
}
