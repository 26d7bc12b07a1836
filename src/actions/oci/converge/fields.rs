//! The fields each resource kind has in OCI: those of its create body and of the resource as
//! a read returns it, from the models of Oracle's Python SDK (2.189). They let drctl tell a
//! misspelled field (`timeoutInSecs`) from one OCI added after this table: a field close to a
//! known one is refused with the known one's name, any other unknown field is sent as written.

use crate::runbook::de::{short_slip, SHORT_SLIP};

/// Whether `field` looks like a misspelling of one of `kind`'s fields: the field it most
/// likely means, when `field` is not a field of the kind and is close to one that is.
pub fn misspelling(action: &str, field: &str) -> Option<&'static str> {
    closest(field, known(action))
}

/// The value of `known` that `written` likely misspells (`HTTP_BAKEND`, `Logging`).
pub fn closest_value(written: &str, known: &[&'static str]) -> Option<&'static str> {
    let upper = written.to_ascii_uppercase();
    known.iter().copied().find(|k| k.to_ascii_uppercase() == upper).or_else(|| {
        known
            .iter()
            .map(|k| (strsim::jaro_winkler(&upper, &k.to_ascii_uppercase()), *k))
            .filter(|(score, _)| *score >= 0.9)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k)
    })
}

/// The field of `known` that `field` likely misspells; `None` when it is one of them or close
/// to none.
pub(super) fn closest(field: &str, known: &[&'static str]) -> Option<&'static str> {
    if known.is_empty() || known.contains(&field) {
        return None;
    }
    // The same name but for case and underscores: Terraform's and the SDKs' spelling
    // (`memory_in_mbs`) of the API's (`memoryInMBs`).
    let plain = |name: &str| name.chars().filter(|c| *c != '_').collect::<String>().to_ascii_lowercase();
    let field_plain = plain(field);
    known
        .iter()
        .map(|k| {
            let score = if plain(k) == field_plain {
                1.0
            } else if short_slip(field, k) {
                SHORT_SLIP
            } else {
                strsim::jaro_winkler(field, k)
            };
            (score, *k)
        })
        .filter(|(score, _)| *score >= CLOSE)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// A misspelled field inside an object nested in a kind's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nested {
    /// Keys and list indices from the top-level field's value to the misspelled key, included.
    pub path: Vec<String>,
    pub field: String,
    pub meant: &'static str,
}

impl Nested {
    /// The place as written in a runbook: `routeRules[0].destinaton`, from the top-level field.
    pub fn place(&self, top: &str) -> String {
        place(top, &self.path)
    }
}

/// A place inside top-level field `top` as written in a runbook: `routeRules[0].destination`
/// for the path `0`, `destination`.
pub fn place(top: &str, path: &[String]) -> String {
    let mut text = top.to_owned();
    for step in path {
        if step.parse::<usize>().is_ok() {
            text.push_str(&format!("[{step}]"));
        } else {
            text.push('.');
            text.push_str(step);
        }
    }
    text
}

/// The misspelled fields nested in `value`, the value of the top-level field `top` of a
/// `action` body: keys of the nested objects drctl knows the fields of (a route rule, a
/// security rule's port range, a function's provisioned concurrency) close to one of those
/// fields. Names in `accepted` (the item's or task's `unknown_fields`) are taken as written.
pub fn nested_misspellings(action: &str, top: &str, value: &serde_json::Value, accepted: &[&str]) -> Vec<Nested> {
    if super::models::describes(action, top) {
        return super::models::misspellings(action, top, value, accepted);
    }
    let rules = matches!(action, "oci.core.security_list" | "oci.core.nsg");
    let table: Vec<_> = nested(action).iter().chain(if rules { RULE_PARTS } else { &[] }).copied().collect();
    let mut found = Vec::new();
    walk(&table, top, value, &mut Vec::new(), accepted, &mut found);
    found
}

/// Fields whose values are the user's own names and values (tags, a function's
/// configuration, a log source's parameters): nothing under them is a field of OCI's.
const FREE_FORM: [&str; 6] =
    ["config", "definedTags", "freeformTags", "parameters", "securityAttributes", "systemTags"];

fn walk(
    table: &[(&str, &'static [&'static str])],
    name: &str,
    value: &serde_json::Value,
    path: &mut Vec<String>,
    accepted: &[&str],
    found: &mut Vec<Nested>,
) {
    use serde_json::Value;
    if FREE_FORM.contains(&name) {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some((_, known)) = table.iter().find(|(n, _)| *n == name) {
                for field in map.keys().filter(|f| !accepted.contains(&f.as_str())) {
                    if let Some(meant) = closest(field, known) {
                        let mut at = path.clone();
                        at.push(field.clone());
                        found.push(Nested { path: at, field: field.clone(), meant });
                    }
                }
            }
            for (key, inner) in map {
                path.push(key.clone());
                walk(table, key, inner, path, accepted, found);
                path.pop();
            }
        }
        Value::Array(items) => {
            let item = format!("{name}[]");
            for (i, inner) in items.iter().enumerate() {
                path.push(i.to_string());
                walk(table, &item, inner, path, accepted, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The parts of a security rule, in a security list's rules and an NSG's alike.
const RULE_PARTS: &[(&str, &[&str])] = &[
    ("tcpOptions", &["destinationPortRange", "sourcePortRange"]),
    ("udpOptions", &["destinationPortRange", "sourcePortRange"]),
    ("destinationPortRange", &["max", "min"]),
    ("sourcePortRange", &["max", "min"]),
    ("icmpOptions", &["code", "type"]),
];

/// The fields of the objects nested in a kind's body that drctl checks, by the name of the
/// field holding them (`name[]`: the items of a list), from the same SDK models (for a
/// polymorphic one, such as a function's provisioned concurrency, every variant's fields).
fn nested(action: &str) -> &'static [(&'static str, &'static [&'static str])] {
    match action {
        "oci.core.route_table" => &[(
            "routeRules[]",
            &["cidrBlock", "description", "destination", "destinationType", "networkEntityId", "routeType"],
        )],
        "oci.core.security_list" => &[
            (
                "ingressSecurityRules[]",
                &[
                    "description",
                    "icmpOptions",
                    "isStateless",
                    "protocol",
                    "source",
                    "sourceType",
                    "tcpOptions",
                    "udpOptions",
                ],
            ),
            (
                "egressSecurityRules[]",
                &[
                    "description",
                    "destination",
                    "destinationType",
                    "icmpOptions",
                    "isStateless",
                    "protocol",
                    "tcpOptions",
                    "udpOptions",
                ],
            ),
        ],
        "oci.core.nsg" => &[(
            "securityRules[]",
            &[
                "description",
                "destination",
                "destinationType",
                "direction",
                "icmpOptions",
                "id",
                "isStateless",
                "isValid",
                "protocol",
                "source",
                "sourceType",
                "tcpOptions",
                "timeCreated",
                "udpOptions",
            ],
        )],
        "oci.functions.application" => &[
            ("traceConfig", &["domainId", "isEnabled"]),
            ("imagePolicyConfig", &["isPolicyEnabled", "keyDetails"]),
            ("keyDetails[]", &["kmsKeyId"]),
        ],
        "oci.functions.function" => &[
            ("traceConfig", &["isEnabled"]),
            ("provisionedConcurrencyConfig", &["count", "strategy"]),
            ("sourceDetails", &["pbfListingId", "sourceType"]),
        ],
        "oci.kms.key" => &[("keyShape", &["algorithm", "curveId", "length"])],
        "oci.vault.secret" => &[("secretContent", &["content", "contentType", "name", "stage"])],
        "oci.monitoring.alarm" => &[("suppression", &["description", "timeSuppressFrom", "timeSuppressUntil"])],
        "oci.logging.log" => &[
            ("configuration", &["archiving", "compartmentId", "source"]),
            ("source", &["category", "parameters", "resource", "service", "sourceType"]),
            ("archiving", &["isEnabled"]),
        ],
        "oci.events.rule" => &[
            ("actions", &["actions"]),
            (
                "actions[]",
                &[
                    "actionType",
                    "description",
                    "functionId",
                    "id",
                    "isEnabled",
                    "lifecycleMessage",
                    "lifecycleState",
                    "streamId",
                    "topicId",
                ],
            ),
        ],
        _ => &[],
    }
}

/// How close (Jaro-Winkler) an unknown field must be to a known one to count as its
/// misspelling: `timeoutInSecs` (0.96), `subnetId` for `subnetIds` (0.98), `memoryInMb` and
/// `timeoutSeconds` (0.94) are; `timeoutInMinutes` (0.88) or `imageUrl` (0.93 to `image`)
/// are not. A new OCI field that is this close to a known one goes through `unknown_fields`.
const CLOSE: f64 = 0.935;

/// The fields of a kind, sorted, with those drctl adds (an NSG's `securityRules`, converged
/// through the NSG's rule endpoints; a function's `image` and `imageDigest`, which OCI also
/// takes at the top level); empty for an action that is not a converge kind.
pub fn known(action: &str) -> &'static [&'static str] {
    match action {
        "oci.core.vcn" => &[
            "byoipv6CidrBlocks",
            "byoipv6CidrDetails",
            "cidrBlock",
            "cidrBlocks",
            "compartmentId",
            "defaultDhcpOptionsId",
            "defaultRouteTableId",
            "defaultSecurityListId",
            "definedTags",
            "displayName",
            "dnsLabel",
            "freeformTags",
            "id",
            "ipv6CidrBlocks",
            "ipv6PrivateCidrBlocks",
            "isIpv6Enabled",
            "isOracleGuaAllocationEnabled",
            "isZprOnly",
            "lifecycleState",
            "securityAttributes",
            "systemTags",
            "timeCreated",
            "vcnDomainName",
        ],
        "oci.core.subnet" => &[
            "availabilityDomain",
            "cidrBlock",
            "compartmentId",
            "definedTags",
            "dhcpOptionsId",
            "displayName",
            "dnsLabel",
            "freeformTags",
            "id",
            "ipv4CidrBlocks",
            "ipv6CidrBlock",
            "ipv6CidrBlocks",
            "ipv6VirtualRouterIp",
            "lifecycleState",
            "prohibitInternetIngress",
            "prohibitPublicIpOnVnic",
            "routeTableId",
            "securityListIds",
            "subnetDomainName",
            "systemTags",
            "timeCreated",
            "vcnId",
            "virtualRouterIp",
            "virtualRouterMac",
        ],
        "oci.core.route_table" => &[
            "compartmentId",
            "definedTags",
            "displayName",
            "freeformTags",
            "id",
            "lifecycleState",
            "routeRules",
            "systemTags",
            "timeCreated",
            "vcnId",
        ],
        "oci.core.security_list" => &[
            "compartmentId",
            "definedTags",
            "displayName",
            "egressSecurityRules",
            "freeformTags",
            "id",
            "ingressSecurityRules",
            "lifecycleState",
            "systemTags",
            "timeCreated",
            "vcnId",
        ],
        "oci.core.nsg" => &[
            "compartmentId",
            "definedTags",
            "displayName",
            "freeformTags",
            "id",
            "lifecycleState",
            "securityRules",
            "systemTags",
            "timeCreated",
            "vcnId",
        ],
        "oci.core.service_gateway" => &[
            "blockTraffic",
            "compartmentId",
            "definedTags",
            "displayName",
            "freeformTags",
            "id",
            "lifecycleState",
            "routeTableId",
            "services",
            "timeCreated",
            "vcnId",
        ],
        "oci.identity.dynamic_group" => &[
            "compartmentId",
            "definedTags",
            "description",
            "freeformTags",
            "id",
            "inactiveStatus",
            "lifecycleState",
            "matchingRule",
            "name",
            "timeCreated",
        ],
        "oci.identity.policy" => &[
            "compartmentId",
            "definedTags",
            "description",
            "freeformTags",
            "id",
            "inactiveStatus",
            "lifecycleState",
            "name",
            "statements",
            "timeCreated",
            "versionDate",
        ],
        "oci.kms.vault" => &[
            "compartmentId",
            "cryptoEndpoint",
            "definedTags",
            "displayName",
            "externalKeyManagerMetadata",
            "externalKeyManagerMetadataSummary",
            "freeformTags",
            "id",
            "isPrimary",
            "isVaultReplicable",
            "lifecycleState",
            "managementEndpoint",
            "replicaDetails",
            "restoredFromVaultId",
            "timeCreated",
            "timeOfDeletion",
            "vaultType",
            "wrappingkeyId",
        ],
        "oci.kms.key" => &[
            "autoKeyRotationDetails",
            "compartmentId",
            "currentKeyVersion",
            "definedTags",
            "displayName",
            "externalKeyReference",
            "externalKeyReferenceDetails",
            "freeformTags",
            "id",
            "isAutoRotationEnabled",
            "isPrimary",
            "keyShape",
            "lifecycleState",
            "protectionMode",
            "replicaDetails",
            "restoredFromKeyId",
            "timeCreated",
            "timeOfDeletion",
            "vaultId",
        ],
        "oci.vault.secret" => &[
            "compartmentId",
            "currentVersionNumber",
            "definedTags",
            "description",
            "enableAutoGeneration",
            "freeformTags",
            "id",
            "isAutoGenerationEnabled",
            "isReplica",
            "keyId",
            "lastRotationTime",
            "lifecycleDetails",
            "lifecycleState",
            "metadata",
            "nextRotationTime",
            "replicationConfig",
            "rotationConfig",
            "rotationStatus",
            "secretContent",
            "secretGenerationContext",
            "secretName",
            "secretRules",
            "sourceRegionInformation",
            "timeCreated",
            "timeOfCurrentVersionExpiry",
            "timeOfDeletion",
            "vaultId",
        ],
        "oci.logging.log_group" => &[
            "compartmentId",
            "definedTags",
            "description",
            "displayName",
            "freeformTags",
            "id",
            "lifecycleState",
            "systemTags",
            "timeCreated",
            "timeLastModified",
        ],
        "oci.logging.log" => &[
            "compartmentId",
            "configuration",
            "definedTags",
            "displayName",
            "freeformTags",
            "id",
            "isEnabled",
            "lifecycleState",
            "logGroupId",
            "logType",
            "retentionDuration",
            "systemTags",
            "tenancyId",
            "timeCreated",
            "timeLastModified",
        ],
        "oci.monitoring.alarm" => &[
            "alarmSummary",
            "body",
            "compartmentId",
            "definedTags",
            "destinations",
            "displayName",
            "evaluationSlackDuration",
            "freeformTags",
            "id",
            "isEnabled",
            "isNotificationsPerMetricDimensionEnabled",
            "lifecycleState",
            "messageFormat",
            "metricCompartmentId",
            "metricCompartmentIdInSubtree",
            "namespace",
            "notificationTitle",
            "notificationVersion",
            "overrides",
            "pendingDuration",
            "query",
            "repeatNotificationDuration",
            "resolution",
            "resourceGroup",
            "ruleName",
            "severity",
            "suppression",
            "timeCreated",
            "timeUpdated",
        ],
        "oci.artifacts.container_repository" => &[
            "billableSizeInGBs",
            "compartmentId",
            "createdBy",
            "definedTags",
            "displayName",
            "freeformTags",
            "id",
            "imageCount",
            "isImmutable",
            "isPublic",
            "layerCount",
            "layersSizeInBytes",
            "lifecycleState",
            "namespace",
            "readme",
            "systemTags",
            "timeCreated",
            "timeLastPushed",
        ],
        "oci.functions.application" => &[
            "compartmentId",
            "config",
            "definedTags",
            "displayName",
            "freeformTags",
            "id",
            "imagePolicyConfig",
            "lifecycleState",
            "logging",
            "networkSecurityGroupIds",
            "securityAttributes",
            "shape",
            "subnetIds",
            "syslogUrl",
            "timeCreated",
            "timeUpdated",
            "traceConfig",
        ],
        "oci.functions.function" => &[
            "applicationId",
            "compartmentId",
            "config",
            "definedTags",
            "detachedModeTimeoutInSeconds",
            "displayName",
            "failureDestination",
            "freeformTags",
            "id",
            "image",
            "imageDigest",
            "invokeEndpoint",
            "lifecycleState",
            "memoryInMBs",
            "provisionedConcurrencyConfig",
            "shape",
            "sourceDetails",
            "successDestination",
            "timeCreated",
            "timeUpdated",
            "timeoutInSeconds",
            "traceConfig",
        ],
        "oci.apigateway.gateway" => &[
            "caBundles",
            "certificateId",
            "compartmentId",
            "definedTags",
            "displayName",
            "endpointType",
            "freeformTags",
            "hostname",
            "id",
            "ipAddresses",
            "ipMode",
            "ipv4AddressConfiguration",
            "ipv6AddressConfiguration",
            "lifecycleDetails",
            "lifecycleState",
            "locks",
            "networkSecurityGroupIds",
            "responseCacheDetails",
            "subnetId",
            "systemTags",
            "timeCreated",
            "timeUpdated",
        ],
        "oci.apigateway.deployment" => &[
            "compartmentId",
            "definedTags",
            "displayName",
            "endpoint",
            "freeformTags",
            "gatewayId",
            "id",
            "lifecycleDetails",
            "lifecycleState",
            "locks",
            "pathPrefix",
            "specification",
            "systemTags",
            "timeCreated",
            "timeUpdated",
        ],
        "oci.events.rule" => &[
            "actions",
            "compartmentId",
            "condition",
            "definedTags",
            "description",
            "displayName",
            "freeformTags",
            "id",
            "isEnabled",
            "lifecycleMessage",
            "lifecycleState",
            "timeCreated",
        ],
        "oci.sch.connector" => &[
            "compartmentId",
            "definedTags",
            "description",
            "displayName",
            "freeformTags",
            "id",
            "lifecycleDetails",
            "lifecycleState",
            "lifecyleDetails",
            "source",
            "systemTags",
            "target",
            "tasks",
            "timeCreated",
            "timeUpdated",
        ],
        "oci.scheduler.schedule" => &[
            "action",
            "compartmentId",
            "definedTags",
            "description",
            "displayName",
            "freeformTags",
            "id",
            "lastRunStatus",
            "lifecycleState",
            "localTimeZone",
            "recurrenceDetails",
            "recurrenceType",
            "resourceFilters",
            "resources",
            "systemTags",
            "timeCreated",
            "timeEnds",
            "timeLastRun",
            "timeNextRun",
            "timeStarts",
            "timeUpdated",
        ],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_unknown_fields_are_misspellings_others_pass() {
        let f = "oci.functions.function";
        assert_eq!(misspelling(f, "timeoutInSecs"), Some("timeoutInSeconds"));
        assert_eq!(misspelling(f, "timeoutSeconds"), Some("timeoutInSeconds"));
        assert_eq!(misspelling(f, "memoryInMb"), Some("memoryInMBs"));
        assert_eq!(misspelling(f, "DisplayName"), Some("displayName"));
        assert_eq!(misspelling(f, "memory_in_mbs"), Some("memoryInMBs"));
        assert_eq!(misspelling(f, "timeout_in_seconds"), Some("timeoutInSeconds"));
        assert_eq!(misspelling(f, "provisioned_concurrency_config"), Some("provisionedConcurrencyConfig"));
        assert_eq!(
            misspelling("oci.functions.application", "network_security_group_ids"),
            Some("networkSecurityGroupIds")
        );
        assert_eq!(misspelling(f, "timeoutInSeconds"), None);
        assert_eq!(misspelling(f, "timeoutInMinutes"), None);
        assert_eq!(misspelling(f, "imageUrl"), None);
        assert_eq!(misspelling("oci.functions.application", "subnetId"), Some("subnetIds"));
        assert_eq!(misspelling("oci.core.nsg", "securityRules"), None);
        assert_eq!(misspelling("oci.core.vcn", "vcnID"), None);
        assert_eq!(misspelling("not.a.kind", "anything"), None);
    }

    #[test]
    fn nested_misspellings_name_their_path() {
        let rules = serde_json::json!([
            {"destination": "0.0.0.0/0", "networkEntityId": "x"},
            {"destinaton": "10.0.0.0/8", "networkEntityID": "y", "note": "kept"}
        ]);
        let found = nested_misspellings("oci.core.route_table", "routeRules", &rules, &[]);
        let got: Vec<(String, &str)> = found.iter().map(|n| (n.place("routeRules"), n.meant)).collect();
        assert_eq!(
            got,
            [
                ("routeRules[1].destinaton".to_owned(), "destination"),
                ("routeRules[1].networkEntityID".to_owned(), "networkEntityId")
            ]
        );
        assert_eq!(found[0].path, ["1", "destinaton"]);
        assert!(nested_misspellings("oci.core.route_table", "routeRules", &rules, &["destinaton", "networkEntityID"])
            .is_empty());
        let ingress = serde_json::json!([{"protocol": "6", "source": "0.0.0.0/0",
                                          "tcpOptions": {"destinationPortRange": {"Min": 443, "max": 443}}}]);
        let found = nested_misspellings("oci.core.security_list", "ingressSecurityRules", &ingress, &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].place("ingressSecurityRules"),
            "ingressSecurityRules[0].tcpOptions.destinationPortRange.Min"
        );
        assert_eq!(found[0].meant, "min");
        // One slip in a short name: a letter missing, or two swapped.
        let slips = serde_json::json!([{"protocol": "6", "source": "0.0.0.0/0",
                                        "udpOptions": {"sourcePortRange": {"mn": 53, "mxa": 53}}}]);
        let found = nested_misspellings("oci.core.security_list", "ingressSecurityRules", &slips, &[]);
        let got: Vec<(&str, &str)> = found.iter().map(|n| (n.field.as_str(), n.meant)).collect();
        assert_eq!(got, [("mn", "min"), ("mxa", "max")]);
        let pc = serde_json::json!({"strategy": "CONSTANT", "cuont": 40});
        let found = nested_misspellings("oci.functions.function", "provisionedConcurrencyConfig", &pc, &[]);
        assert_eq!(found[0].place("provisionedConcurrencyConfig"), "provisionedConcurrencyConfig.cuont");
        // The user's own keys are not fields of OCI's.
        let config = serde_json::json!({"traceConfig": {"isEnabld": true}});
        assert!(nested_misspellings("oci.functions.function", "config", &config, &[]).is_empty());
        assert!(nested_misspellings("oci.core.vcn", "cidrBlocks", &serde_json::json!(["10.0.0.0/16"]), &[]).is_empty());
    }

    #[test]
    fn every_kind_has_its_fields_sorted_with_its_identity() {
        for kind in super::super::kinds::KINDS.iter() {
            let fields = known(kind.action);
            assert!(fields.windows(2).all(|w| w[0] < w[1]), "{}", kind.action);
            assert!(fields.contains(&kind.name_field), "{}", kind.action);
            for f in kind.updatable.iter().chain(kind.parent.iter()) {
                assert!(fields.contains(f), "{} {f}", kind.action);
            }
        }
    }
}
