//! The fields each resource kind has in OCI: those of its create body and of the resource as
//! a read returns it, from the models of Oracle's Python SDK (2.189). They let drctl tell a
//! misspelled field (`timeoutInSecs`) from one OCI added after this table: a field close to a
//! known one is refused with the known one's name, any other unknown field is sent as written.

/// Whether `field` looks like a misspelling of one of `kind`'s fields: the field it most
/// likely means, when `field` is not a field of the kind and is close to one that is.
pub fn misspelling(action: &str, field: &str) -> Option<&'static str> {
    let known = known(action);
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
            let score = if plain(k) == field_plain { 1.0 } else { strsim::jaro_winkler(field, k) };
            (score, *k)
        })
        .filter(|(score, _)| *score >= CLOSE)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
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
