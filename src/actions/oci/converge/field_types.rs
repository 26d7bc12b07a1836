//! The types of the scalar fields inside the objects of a kind's body that drctl knows (a
//! security rule's port range, a function's provisioned concurrency), from the models of
//! Oracle's Python SDK (2.189). OCI refuses a port written `"443"`; found before the run, the
//! mistake does not stop a failover halfway.

use serde_json::Value;

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Integer,
    Number,
    Bool,
    Text,
    /// One of these texts: the variants of a polymorphic object (a backend's `type`).
    OneOf(&'static [&'static str]),
}

impl Want {
    pub fn fits(self, value: &Value) -> bool {
        match self {
            Want::Integer => value.is_i64() || value.is_u64(),
            Want::Number => value.is_number(),
            Want::Bool => value.is_boolean(),
            Want::Text => value.is_string(),
            Want::OneOf(values) => value.as_str().is_some_and(|v| values.contains(&v)),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Want::Integer => "a whole number".to_owned(),
            Want::Number => "a number".to_owned(),
            Want::Bool => "true or false".to_owned(),
            Want::Text => "a string".to_owned(),
            Want::OneOf(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                format!("one of {}", quoted.join(", "))
            }
        }
    }
}

/// A nested field whose value is not of its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongType {
    /// Keys and list indices from the top-level field's value to the field, included.
    pub path: Vec<String>,
    pub want: Want,
    /// What was found: the value's type (`a string`), or the text itself for `OneOf`.
    pub found: String,
}

impl WrongType {
    /// The place as written in a runbook, from the top-level field `top`.
    pub fn place(&self, top: &str) -> String {
        super::fields::place(top, &self.path)
    }
}

/// The parts of a security rule, in a security list's rules and an NSG's alike.
const RULE_PARTS: &[(&str, &str, Want)] = &[
    ("destinationPortRange", "min", Want::Integer),
    ("destinationPortRange", "max", Want::Integer),
    ("sourcePortRange", "min", Want::Integer),
    ("sourcePortRange", "max", Want::Integer),
    ("icmpOptions", "type", Want::Integer),
    ("icmpOptions", "code", Want::Integer),
];

/// The rule lists of the kinds with security rules, and their scalar fields.
const RULES: [&str; 3] = ["ingressSecurityRules[]", "egressSecurityRules[]", "securityRules[]"];
const RULE_FIELDS: [(&str, Want); 7] = [
    ("protocol", Want::Text),
    ("source", Want::Text),
    ("sourceType", Want::Text),
    ("destination", Want::Text),
    ("destinationType", Want::Text),
    ("isStateless", Want::Bool),
    ("description", Want::Text),
];

/// The typed fields of the objects nested in a kind's body, by the name of the field holding
/// them (`name[]`: the items of a list).
fn table(action: &str) -> &'static [(&'static str, &'static str, Want)] {
    match action {
        "oci.core.route_table" => &[
            ("routeRules[]", "destination", Want::Text),
            ("routeRules[]", "destinationType", Want::Text),
            ("routeRules[]", "networkEntityId", Want::Text),
            ("routeRules[]", "cidrBlock", Want::Text),
            ("routeRules[]", "description", Want::Text),
            ("routeRules[]", "routeType", Want::Text),
        ],
        "oci.functions.application" => &[
            ("traceConfig", "isEnabled", Want::Bool),
            ("traceConfig", "domainId", Want::Text),
            ("imagePolicyConfig", "isPolicyEnabled", Want::Bool),
            ("keyDetails[]", "kmsKeyId", Want::Text),
        ],
        "oci.functions.function" => &[
            ("traceConfig", "isEnabled", Want::Bool),
            ("provisionedConcurrencyConfig", "count", Want::Integer),
            ("provisionedConcurrencyConfig", "strategy", Want::Text),
        ],
        "oci.kms.key" => &[
            ("keyShape", "algorithm", Want::Text),
            ("keyShape", "length", Want::Integer),
            ("keyShape", "curveId", Want::Text),
        ],
        "oci.monitoring.alarm" => &[
            ("suppression", "timeSuppressFrom", Want::Text),
            ("suppression", "timeSuppressUntil", Want::Text),
            ("suppression", "description", Want::Text),
        ],
        "oci.logging.log" => &[("archiving", "isEnabled", Want::Bool)],
        "oci.events.rule" => &[
            ("actions[]", "actionType", Want::Text),
            ("actions[]", "isEnabled", Want::Bool),
            ("actions[]", "functionId", Want::Text),
            ("actions[]", "topicId", Want::Text),
            ("actions[]", "streamId", Want::Text),
            ("actions[]", "description", Want::Text),
        ],
        _ => &[],
    }
}

/// The fields of `value` (the value of top-level field `top` of an `action` body) whose values
/// are not of their type. A string holding `${{` is an expression not yet resolved: its type
/// is known after it is.
pub fn wrong_types(action: &str, top: &str, value: &Value) -> Vec<WrongType> {
    if super::models::describes(action, top) {
        return super::models::wrong_types(action, top, value);
    }
    let rules = matches!(action, "oci.core.security_list" | "oci.core.nsg");
    let mut typed: Vec<(&str, &str, Want)> = table(action).to_vec();
    if rules {
        typed.extend(RULE_PARTS);
        typed.extend(RULES.iter().flat_map(|list| RULE_FIELDS.iter().map(move |(f, w)| (*list, *f, *w))));
    }
    let mut found = Vec::new();
    walk(&typed, top, value, &mut Vec::new(), &mut found);
    found
}

fn walk(typed: &[(&str, &str, Want)], name: &str, value: &Value, path: &mut Vec<String>, found: &mut Vec<WrongType>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                path.push(key.clone());
                let want = typed.iter().find(|(parent, field, _)| *parent == name && field == key).map(|t| t.2);
                let unresolved = inner.as_str().is_some_and(|s| s.contains("${{"));
                match want {
                    Some(want) if !want.fits(inner) && !unresolved && !inner.is_null() => found.push(WrongType {
                        path: path.clone(),
                        want,
                        found: crate::runbook::expr::type_name(inner).to_owned(),
                    }),
                    _ => walk(typed, key, inner, path, found),
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            let item = format!("{name}[]");
            for (i, inner) in items.iter().enumerate() {
                path.push(i.to_string());
                walk(typed, &item, inner, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_name_their_path() {
        let rules = serde_json::json!([{"protocol": 6, "source": "0.0.0.0/0", "isStateless": "no",
                                        "tcpOptions": {"destinationPortRange": {"min": "443", "max": 443}}},
                                       {"protocol": "${{ params.proto }}", "source": "10.0.0.0/8"}]);
        let found = wrong_types("oci.core.security_list", "ingressSecurityRules", &rules);
        let got: Vec<(String, Want, &str)> =
            found.iter().map(|w| (w.place("ingressSecurityRules"), w.want, w.found.as_str())).collect();
        assert_eq!(
            got,
            [
                ("ingressSecurityRules[0].protocol".to_owned(), Want::Text, "a number"),
                ("ingressSecurityRules[0].isStateless".to_owned(), Want::Bool, "a string"),
                ("ingressSecurityRules[0].tcpOptions.destinationPortRange.min".to_owned(), Want::Integer, "a string"),
            ]
        );
        let pc = serde_json::json!({"strategy": "CONSTANT", "count": 40.5});
        assert_eq!(wrong_types("oci.functions.function", "provisionedConcurrencyConfig", &pc).len(), 1);
        // The user's own keys are not OCI's fields.
        let config = serde_json::json!({"count": "x"});
        assert!(wrong_types("oci.functions.function", "config", &config).is_empty());
    }
}
