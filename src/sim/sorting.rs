//! `sortBy` / `sortOrder` of list operations. Each OCI list operation takes its own set of
//! `sortBy` values (`TIMECREATED` in core, `timeCreated` in API Gateway, `TIME_CREATED` in
//! Events, `severity` for alarms), and Oracle's SDK refuses any other before sending; so a
//! kind names the keys its operation takes, and a value from another service's list is the
//! 400 OCI answers. The default order of a key is the one the operation documents
//! (`timeCreated`: newest first). Without `sortBy`, a list whose operation documents a default
//! key (Functions: `displayName`; Events and Service Connector Hub: `timeCreated`) is sorted by
//! it; the others keep the order of creation.
//!
//! Nothing here filters or pages; `resource::list` does that around it.

use serde_json::Value;

use super::errors::ApiError;

/// One value a list's `sortBy` takes.
#[derive(Debug, Clone, Copy)]
pub struct SortKey {
    /// The value as Oracle's SDK sends it (matched in any case).
    pub value: &'static str,
    /// The top-level field it sorts on.
    pub field: &'static str,
    /// Whether the operation's documented default order for it is descending.
    pub descending_by_default: bool,
    /// Whether the operation sorts by it when no `sortBy` is given.
    pub default: bool,
}

const fn key(value: &'static str, field: &'static str, descending_by_default: bool) -> SortKey {
    SortKey { value, field, descending_by_default, default: false }
}

/// The key an operation sorts by when no `sortBy` is given.
const fn by_default(key: SortKey) -> SortKey {
    SortKey { default: true, ..key }
}

/// Core networking, Artifacts and KMS: `TIMECREATED` (newest first) or `DISPLAYNAME`.
pub const UPPER_DISPLAY_NAME: &[SortKey] =
    &[key("TIMECREATED", "timeCreated", true), key("DISPLAYNAME", "displayName", false)];
/// Identity and Vault secrets: `TIMECREATED` (newest first) or `NAME`.
pub const UPPER_NAME: &[SortKey] = &[key("TIMECREATED", "timeCreated", true), key("NAME", "name", false)];
/// Logging, API Gateway, Service Connector Hub: `timeCreated` (newest first) or `displayName`.
pub const CAMEL_DISPLAY_NAME: &[SortKey] =
    &[key("timeCreated", "timeCreated", true), key("displayName", "displayName", false)];
/// Service Connector Hub: as [`CAMEL_DISPLAY_NAME`], `timeCreated` by default.
pub const SCH: &[SortKey] =
    &[by_default(key("timeCreated", "timeCreated", true)), key("displayName", "displayName", false)];
/// Functions applications and functions (no default order documented: ascending),
/// `displayName` by default.
pub const FUNCTIONS: &[SortKey] = &[
    key("timeCreated", "timeCreated", false),
    key("id", "id", false),
    by_default(key("displayName", "displayName", false)),
];
/// Events rules (no default order documented: ascending), `timeCreated` by default.
pub const EVENTS: &[SortKey] = &[
    by_default(key("TIME_CREATED", "timeCreated", false)),
    key("ID", "id", false),
    key("DISPLAY_NAME", "displayName", false),
];
/// Monitoring alarms and alarm statuses.
pub const ALARMS: &[SortKey] = &[key("displayName", "displayName", false), key("severity", "severity", false)];
/// Resource Scheduler schedules (`state` and `lifecycleState` both sort on the state).
pub const SCHEDULES: &[SortKey] = &[
    key("timeCreated", "timeCreated", true),
    key("displayName", "displayName", false),
    key("lifecycleState", "lifecycleState", false),
    key("state", "lifecycleState", false),
];
/// Vault secret versions.
pub const SECRET_VERSIONS: &[SortKey] = &[key("VERSION_NUMBER", "versionNumber", false)];

/// Sorts `items` by the query's `sortBy` among `keys` and its `sortOrder` (`ASC`, `DESC`,
/// default the key's own); 400 InvalidParameter naming the allowed values otherwise.
pub fn sort(items: &mut [Value], query: &[(String, String)], keys: &[SortKey]) -> Result<(), ApiError> {
    let given = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let order = match given("sortOrder") {
        None => None,
        Some(o) if o.eq_ignore_ascii_case("asc") => Some(false),
        Some(o) if o.eq_ignore_ascii_case("desc") => Some(true),
        Some(o) => return Err(invalid("sortOrder", o, "ASC, DESC")),
    };
    let key = match given("sortBy") {
        Some(wanted) => keys.iter().find(|k| k.value.eq_ignore_ascii_case(wanted)).ok_or_else(|| {
            let allowed: Vec<&str> = keys.iter().map(|k| k.value).collect();
            invalid("sortBy", wanted, &allowed.join(", "))
        })?,
        None => match keys.iter().find(|k| k.default) {
            Some(key) => key,
            None => return Ok(()),
        },
    };
    items.sort_by(|a, b| compare(a, b, key.field));
    if order.unwrap_or(key.descending_by_default) {
        items.reverse();
    }
    Ok(())
}

fn invalid(name: &str, value: &str, allowed: &str) -> ApiError {
    ApiError::invalid(format!("Invalid {name} `{value}`: allowed values are {allowed}."))
}

/// Numbers compare as numbers (secret version numbers), everything else as text; a missing
/// field sorts first.
fn compare(a: &Value, b: &Value, field: &str) -> std::cmp::Ordering {
    let (a, b) = (sort_field(a, field), sort_field(b, field));
    match (a.and_then(Value::as_u64), b.and_then(Value::as_u64)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.and_then(Value::as_str).unwrap_or_default().cmp(b.and_then(Value::as_str).unwrap_or_default()),
    }
}

/// `name` sorts secrets by `secretName`, as their list's `NAME` means it.
fn sort_field<'a>(item: &'a Value, field: &str) -> Option<&'a Value> {
    item.get(field).or_else(|| (field == "name").then(|| item.get("secretName")).flatten())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn names(items: &[Value]) -> Vec<&str> {
        items.iter().map(|i| i["displayName"].as_str().unwrap_or_default()).collect()
    }

    fn items() -> Vec<Value> {
        vec![
            json!({"displayName": "b", "timeCreated": "2026-01-01T00:00:01.000Z", "id": "3"}),
            json!({"displayName": "a", "timeCreated": "2026-01-01T00:00:02.000Z", "id": "1"}),
            json!({"displayName": "c", "timeCreated": "2026-01-01T00:00:03.000Z", "id": "2"}),
        ]
    }

    #[test]
    fn each_operation_takes_its_own_values() {
        let mut list = items();
        sort(&mut list, &query(&[("sortBy", "DISPLAY_NAME")]), EVENTS).unwrap();
        assert_eq!(names(&list), ["a", "b", "c"]);
        sort(&mut list, &query(&[("sortBy", "ID")]), EVENTS).unwrap();
        assert_eq!(names(&list), ["a", "c", "b"]);
        let err = sort(&mut list, &query(&[("sortBy", "DISPLAYNAME")]), EVENTS).unwrap_err();
        assert_eq!((err.status, err.code), (400, "InvalidParameter"));
        assert!(err.message.contains("TIME_CREATED, ID, DISPLAY_NAME"), "{}", err.message);
        assert!(sort(&mut list, &query(&[("sortBy", "timeCreated")]), ALARMS).is_err());
        sort(&mut list, &query(&[("sortBy", "state")]), SCHEDULES).unwrap();
    }

    #[test]
    fn time_created_defaults_to_newest_first_where_documented() {
        let mut list = items();
        sort(&mut list, &query(&[("sortBy", "TIMECREATED")]), UPPER_DISPLAY_NAME).unwrap();
        assert_eq!(names(&list), ["c", "a", "b"]);
        sort(&mut list, &query(&[("sortBy", "TIMECREATED"), ("sortOrder", "ASC")]), UPPER_DISPLAY_NAME).unwrap();
        assert_eq!(names(&list), ["b", "a", "c"]);
        sort(&mut list, &query(&[("sortBy", "DISPLAYNAME")]), UPPER_DISPLAY_NAME).unwrap();
        assert_eq!(names(&list), ["a", "b", "c"]);
    }

    #[test]
    fn numbers_sort_as_numbers() {
        let mut list = vec![json!({"versionNumber": 10}), json!({"versionNumber": 9})];
        sort(&mut list, &query(&[("sortBy", "VERSION_NUMBER")]), SECRET_VERSIONS).unwrap();
        assert_eq!(list[0]["versionNumber"], 9);
    }
}
