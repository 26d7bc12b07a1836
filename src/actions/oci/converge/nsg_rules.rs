//! Network security group rules: `securityRules` of an `oci.core.nsg` task is the whole set
//! of rules the group should have. It is converged through the NSG's rule endpoints (list,
//! `addSecurityRules`, `removeSecurityRules`), since rules are not part of the NSG's body.
//!
//! A desired rule matches a current one that holds every field the task gives (OCI adds `id`,
//! `isValid`, `timeCreated`); current rules nobody asked for are removed. Rules are added
//! without a retry token: a duplicate from a lost answer is removed by the next converge.

use reqwest::Method;
use serde_json::{json, Value};

use super::api::ResourceApi;
use super::diff::covers;
use crate::oci::{ClientError, OciRequest};

/// Fields OCI sets on a rule.
const SERVER_FIELDS: [&str; 3] = ["id", "isValid", "timeCreated"];
/// OCI accepts at most this many rules per add call.
const BATCH: usize = 25;

/// What to change to reach the desired rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RulePlan {
    pub add: Vec<Value>,
    pub remove: Vec<String>,
    /// The current rules without the fields OCI sets, for diffs.
    pub current: Vec<Value>,
}

impl RulePlan {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// Rules as the task gives them, with OCI's default `isStateless: false` made explicit so a
/// stateful rule never matches a stateless one.
pub fn normalize(desired: &Value) -> Result<Vec<Value>, String> {
    let list = desired.as_array().ok_or("`securityRules` must be a list of rules")?;
    list.iter()
        .map(|rule| {
            let mut rule = rule.as_object().cloned().ok_or("each security rule must be a mapping")?;
            rule.entry("isStateless").or_insert(json!(false));
            Ok(Value::Object(rule))
        })
        .collect()
}

/// Matches desired rules to current ones.
pub fn plan(desired: &[Value], current: &[Value]) -> RulePlan {
    let mut used = vec![false; current.len()];
    let mut add = Vec::new();
    for want in desired {
        let hit = current.iter().enumerate().find(|(i, have)| !used[*i] && covers(want, have));
        match hit {
            Some((i, _)) => used[i] = true,
            None => add.push(want.clone()),
        }
    }
    let remove = current
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .filter_map(|(r, _)| r.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let current = current.iter().map(strip).collect();
    RulePlan { add, remove, current }
}

fn strip(rule: &Value) -> Value {
    match rule {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !SERVER_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn rules_path(api: &ResourceApi<'_>, nsg_id: &str) -> String {
    format!("{}/securityRules", api.item_path(nsg_id))
}

/// Every rule of the group.
pub async fn list(api: &ResourceApi<'_>, nsg_id: &str) -> Result<Vec<Value>, ClientError> {
    let req = OciRequest::new(Method::GET, api.kind.service, api.write_region.clone(), rules_path(api, nsg_id))
        .cancel_on(api.cancel.clone());
    api.client.list_all(req).await
}

/// Removes, then adds, as planned.
pub async fn apply(api: &ResourceApi<'_>, nsg_id: &str, plan: &RulePlan) -> Result<(), ClientError> {
    if !plan.remove.is_empty() {
        api.action(nsg_id, "removeSecurityRules", Some(&json!({ "securityRuleIds": plan.remove })), None).await?;
    }
    for batch in plan.add.chunks(BATCH) {
        api.action(nsg_id, "addSecurityRules", Some(&json!({ "securityRules": batch })), None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_on_given_fields_and_extras_are_removed() {
        let desired = normalize(&json!([
            {"direction": "INGRESS", "protocol": "6", "source": "10.0.0.0/16", "sourceType": "CIDR_BLOCK"},
            {"direction": "EGRESS", "protocol": "all", "destination": "0.0.0.0/0"},
        ]))
        .unwrap();
        let current = vec![
            json!({"id": "R1", "direction": "INGRESS", "protocol": "6", "source": "10.0.0.0/16", "sourceType": "CIDR_BLOCK", "isStateless": false, "isValid": true}),
            json!({"id": "R2", "direction": "INGRESS", "protocol": "17", "source": "0.0.0.0/0", "isStateless": false}),
        ];
        let p = plan(&desired, &current);
        assert_eq!(p.remove, vec!["R2".to_string()]);
        assert_eq!(
            p.add,
            vec![json!({"direction": "EGRESS", "protocol": "all", "destination": "0.0.0.0/0", "isStateless": false})]
        );
        assert_eq!(
            p.current[0],
            json!({"direction": "INGRESS", "protocol": "6", "source": "10.0.0.0/16", "sourceType": "CIDR_BLOCK", "isStateless": false})
        );
        assert!(plan(&desired[..1], &current[..1]).is_empty());
    }
}
