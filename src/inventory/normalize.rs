//! Turns a resource as OCI's GET returns it into an inventory spec: drops what the server
//! fills in (ids, lifecycle states, times, endpoints, host names, counts, derived
//! fields) and fields equal to the value a create without them gets, so a spec holds only
//! what a person chose and re-creating from it yields the same resource.
//!
//! Pure functions over JSON; references are rewritten afterwards by `refs.rs`.

use serde_json::{json, Map, Value};

/// Fields no spec carries, whatever the kind.
const SERVER_FILLED: [&str; 10] = [
    "id",
    "lifecycleState",
    "lifecycleDetails",
    "lifecycleMessage",
    "timeCreated",
    "timeUpdated",
    "compartmentId",
    "etag",
    "systemTags",
    "timeOfDeletion",
];

/// Server-filled or derived fields per list.
fn derived(list: &str) -> &'static [&'static str] {
    match list {
        "vcns" => {
            &["cidrBlock", "defaultRouteTableId", "defaultSecurityListId", "defaultDhcpOptionsId", "vcnDomainName"]
        }
        "subnets" => &["virtualRouterIp", "virtualRouterMac", "subnetDomainName", "ipv6VirtualRouterIp"],
        "vaults" => &["managementEndpoint", "cryptoEndpoint", "replicaDetails", "restoredFromVaultId"],
        "keys" => &["currentKeyVersion", "replicaDetails", "restoredFromKeyId", "timeOfLastRotation"],
        "secrets" => &["currentVersionNumber", "timeOfCurrentVersionExpiry", "lastRotationTime", "nextRotationTime"],
        "logs" => &["tenancyId"],
        "repositories" => {
            &["imageCount", "layerCount", "layersSizeInBytes", "billableSizeInGBs", "namespace", "createdBy"]
        }
        "functions" => &["invokeEndpoint", "imageDigest", "sourceDetails", "shape"],
        "gateways" => &["hostname", "ipAddresses"],
        "deployments" => &["endpoint"],
        "schedules" => &["timeLastRun", "timeNextRun", "lastRunStatus"],
        _ => &[],
    }
}

/// Fields dropped when equal to what a create without them gets.
fn defaults(list: &str) -> Vec<(&'static str, Value)> {
    let common = vec![("freeformTags", json!({})), ("definedTags", json!({}))];
    let specific = match list {
        "vcns" => vec![("ipv6CidrBlocks", json!([])), ("isIpv6Enabled", json!(false))],
        "subnets" => vec![("prohibitPublicIpOnVnic", json!(false)), ("prohibitInternetIngress", json!(false))],
        "service_gateways" => vec![("blockTraffic", json!(false))],
        "vaults" => vec![("isPrimary", json!(true))],
        "keys" => {
            vec![("isPrimary", json!(true)), ("protectionMode", json!("HSM")), ("isAutoRotationEnabled", json!(false))]
        }
        "secrets" => vec![("metadata", json!({})), ("secretRules", json!([]))],
        "logs" => vec![("isEnabled", json!(true)), ("retentionDuration", json!(30))],
        "alarms" => vec![("metricCompartmentIdInSubtree", json!(false)), ("resolution", json!("1m"))],
        "repositories" => vec![("isPublic", json!(false)), ("isImmutable", json!(false))],
        "applications" => vec![
            ("shape", json!("GENERIC_X86")),
            ("networkSecurityGroupIds", json!([])),
            ("traceConfig", json!({"isEnabled": false})),
            ("config", json!({})),
        ],
        "functions" => vec![
            ("provisionedConcurrencyConfig", json!({"strategy": "NONE"})),
            ("traceConfig", json!({"isEnabled": false})),
        ],
        "gateways" => vec![("networkSecurityGroupIds", json!([]))],
        _ => vec![],
    };
    common.into_iter().chain(specific).collect()
}

/// What normalising a list's items needs to know about other resources.
#[derive(Debug, Default)]
pub struct Context {
    /// Default route table, security list and DHCP options of every captured VCN.
    pub vcn_defaults: Vec<(String, String, String)>,
}

/// The spec of one captured resource of `list`.
pub fn spec(list: &str, body: &Value, ctx: &Context) -> Map<String, Value> {
    let mut spec = body.as_object().cloned().unwrap_or_default();
    spec.retain(|k, v| !v.is_null() && !SERVER_FILLED.contains(&k.as_str()) && !derived(list).contains(&k.as_str()));
    if let Some(Value::Object(tags)) = spec.get_mut("freeformTags") {
        // Drill runs tag what they create; the tag is not part of the workload.
        tags.remove("drctl-drill-run");
    }
    match list {
        "subnets" => drop_vcn_defaults(&mut spec, ctx),
        "service_gateways" => all_services(&mut spec),
        "route_tables" => drop_rule_defaults(
            &mut spec,
            "routeRules",
            &[("routeType", json!("STATIC")), ("destinationType", json!("CIDR_BLOCK"))],
        ),
        "security_lists" => {
            let stateful = ("isStateless", json!(false));
            let ingress = [stateful.clone(), ("sourceType", json!("CIDR_BLOCK"))];
            drop_rule_defaults(&mut spec, "ingressSecurityRules", &ingress);
            drop_rule_defaults(&mut spec, "egressSecurityRules", &[stateful, ("destinationType", json!("CIDR_BLOCK"))]);
        }
        "logs" => {
            if let Some(Value::Object(config)) = spec.get_mut("configuration") {
                config.remove("compartmentId");
            }
        }
        "events_rules" => {
            if let Some(Value::Array(actions)) = spec.get_mut("actions").and_then(|a| a.get_mut("actions")) {
                for a in actions.iter_mut().filter_map(Value::as_object_mut) {
                    for f in ["id", "lifecycleState", "lifecycleMessage"] {
                        a.remove(f);
                    }
                }
            }
        }
        _ => {}
    }
    for (field, default) in defaults(list) {
        if spec.get(field) == Some(&default) {
            spec.remove(field);
        }
    }
    sort_keys(Value::Object(spec)).as_object().cloned().unwrap_or_default()
}

/// The rules of `list` say nothing of what OCI fills in when a rule leaves it out (a route
/// rule's `routeType: STATIC`, a security rule's `isStateless: false`): a person did not
/// choose it, and the copy gets it anyway.
fn drop_rule_defaults(spec: &mut Map<String, Value>, list: &str, defaults: &[(&str, Value)]) {
    let Some(Value::Array(rules)) = spec.get_mut(list) else { return };
    for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
        for (field, value) in defaults {
            if rule.get(*field) == Some(value) {
                rule.remove(*field);
            }
        }
    }
}

/// A subnet that uses its VCN's default route table, security list or DHCP options says
/// nothing about them: those defaults are made by the VCN and differ in every copy.
fn drop_vcn_defaults(spec: &mut Map<String, Value>, ctx: &Context) {
    for (rt, sl, dhcp) in &ctx.vcn_defaults {
        if spec.get("routeTableId").and_then(Value::as_str) == Some(rt) {
            spec.remove("routeTableId");
        }
        if spec.get("securityListIds") == Some(&json!([sl])) {
            spec.remove("securityListIds");
        }
        if spec.get("dhcpOptionsId").and_then(Value::as_str) == Some(dhcp) {
            spec.remove("dhcpOptionsId");
        }
    }
}

/// `services: all` (contract C3) for a gateway to the region's "All <X> Services In Oracle
/// Services Network" service, whose id differs per region.
fn all_services(spec: &mut Map<String, Value>) {
    let Some(Value::Array(services)) = spec.get("services") else { return };
    let is_all = services.len() == 1
        && services[0]
            .get("serviceName")
            .and_then(Value::as_str)
            .is_some_and(|n| n.starts_with("All ") && n.ends_with("Services In Oracle Services Network"));
    if is_all {
        spec.insert("services".into(), json!("all"));
    }
}

/// Object keys sorted at every depth, so captures are byte-for-byte deterministic.
pub fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sort_keys(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fields_and_defaults_are_dropped() {
        let body = json!({
            "id": "ocid1.fnfunc.oc1.iad.x", "lifecycleState": "ACTIVE", "compartmentId": "c",
            "displayName": "f", "memoryInMBs": 256, "invokeEndpoint": "https://x", "imageDigest": "sha256:1",
            "freeformTags": {"drctl-drill-run": "r1"}, "definedTags": {}, "traceConfig": {"isEnabled": false},
            "provisionedConcurrencyConfig": {"strategy": "CONSTANT", "count": 1}, "config": {},
        });
        let spec = spec("functions", &body, &Context::default());
        assert_eq!(
            Value::Object(spec),
            json!({"config": {}, "displayName": "f", "memoryInMBs": 256,
                   "provisionedConcurrencyConfig": {"count": 1, "strategy": "CONSTANT"}})
        );
    }

    #[test]
    fn all_services_gateway_becomes_all() {
        let body = json!({"displayName": "sg", "vcnId": "v", "blockTraffic": false,
            "services": [{"serviceId": "ocid1.service.oc1.iad.a", "serviceName": "All IAD Services In Oracle Services Network"}]});
        assert_eq!(
            Value::Object(spec("service_gateways", &body, &Context::default())),
            json!({"displayName": "sg", "services": "all", "vcnId": "v"})
        );
    }
}
