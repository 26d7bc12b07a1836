//! The resource-descriptor table: for each `oci.<service>.<resource>` action, where the
//! resource lives (service, API paths), how it is named and found, which lifecycle states mean
//! ready or gone, which fields an update may change, and which special handling it needs.
//!
//! Data only. The engine (`engine.rs`) reads it; nothing here performs a call.

use crate::oci::Service;

/// How a resource is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteStyle {
    /// `DELETE {collection}/{id}`.
    Delete,
    /// `POST {collection}/{id}/actions/scheduleDeletion` (vaults, keys, secrets): OCI keeps
    /// the resource in PENDING_DELETION for days, which counts as gone.
    ScheduleDeletion,
}

/// Handling beyond plain create/update/delete of one JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    None,
    /// `securityRules` converged through the NSG's add/remove/list rule endpoints.
    NsgRules,
    /// `services: all` resolved to the region's "All ... Services In Oracle Services Network".
    ServiceGatewayServices,
    /// `secretContent` compared with the current secret bundle; a difference makes a new version.
    SecretContent,
}

/// Where the API of a resource answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The service's endpoint in the task's region.
    Regional,
    /// Tenancy-level identity resources: read in the task's region, written in the home region.
    HomeRegionWrites,
    /// KMS keys: on the `managementEndpoint` of the vault named by `vaultId`.
    VaultManagementEndpoint,
}

/// One converge action's resource type.
#[derive(Debug)]
pub struct ResourceKind {
    /// The action name, `oci.core.vcn`.
    pub action: &'static str,
    /// How messages name the resource (`VCN`, `function`).
    pub noun: &'static str,
    pub service: Service,
    /// The collection path with its API version; `{parent}` stands for the parent's OCID where
    /// the parent is part of the path (logs in a log group).
    pub collection: &'static str,
    /// The field that names the resource.
    pub name_field: &'static str,
    /// The list query parameter filtering by name, where the list operation has one.
    pub name_query: Option<&'static str>,
    /// The field holding the parent's OCID, where the resource has a parent.
    pub parent: Option<&'static str>,
    /// Whether `compartmentId` is part of the resource's identity (and list query). Functions
    /// and logs inherit their parent's compartment.
    pub in_compartment: bool,
    /// States in which the resource is settled and usable.
    pub ready: &'static [&'static str],
    pub delete: DeleteStyle,
    /// Fields an update may change (the service's Update...Details).
    pub updatable: &'static [&'static str],
    /// Create-only fields whose difference is reported with this advice.
    pub recreate_advice: &'static [(&'static str, &'static str)],
    pub placement: Placement,
    pub special: Special,
}

/// States in which a resource no longer counts as existing.
pub const GONE: &[&str] = &["DELETED", "TERMINATED", "PENDING_DELETION"];
/// States on the way to [`GONE`].
pub const GOING: &[&str] = &["DELETING", "TERMINATING", "SCHEDULING_DELETION"];
/// States on the way to ready.
pub const SETTLING: &[&str] =
    &["CREATING", "PROVISIONING", "UPDATING", "CANCELLING_DELETION", "ENABLING", "DISABLING", "RESTORING"];

/// An updatable-field list; tags are updatable on every resource.
macro_rules! fields {
    ($($f:literal),* $(,)?) => { &[$($f,)* "freeformTags", "definedTags"] };
}

const ACTIVE: &[&str] = &["ACTIVE"];
const AVAILABLE: &[&str] = &["AVAILABLE"];
const ACTIVE_OR_INACTIVE: &[&str] = &["ACTIVE", "INACTIVE"];

const BASE: ResourceKind = ResourceKind {
    action: "",
    noun: "",
    service: Service::Core,
    collection: "",
    name_field: "displayName",
    name_query: Some("displayName"),
    parent: None,
    in_compartment: true,
    ready: ACTIVE,
    delete: DeleteStyle::Delete,
    updatable: fields!("displayName"),
    recreate_advice: &[],
    placement: Placement::Regional,
    special: Special::None,
};

const CORE_CHILD: ResourceKind = ResourceKind { parent: Some("vcnId"), ready: AVAILABLE, ..BASE };

/// Every converge action, in the order of the contract.
pub static KINDS: [ResourceKind; 22] = [
    ResourceKind {
        action: "oci.core.vcn",
        noun: "VCN",
        collection: "/20160918/vcns",
        ready: AVAILABLE,
        updatable: fields!("displayName", "securityAttributes", "isZprOnly"),
        ..BASE
    },
    ResourceKind {
        action: "oci.core.subnet",
        noun: "subnet",
        collection: "/20160918/subnets",
        updatable: fields!(
            "displayName",
            "dhcpOptionsId",
            "routeTableId",
            "securityListIds",
            "cidrBlock",
            "ipv6CidrBlock",
            "ipv6CidrBlocks"
        ),
        ..CORE_CHILD
    },
    ResourceKind {
        action: "oci.core.route_table",
        noun: "route table",
        collection: "/20160918/routeTables",
        updatable: fields!("displayName", "routeRules"),
        ..CORE_CHILD
    },
    ResourceKind {
        action: "oci.core.security_list",
        noun: "security list",
        collection: "/20160918/securityLists",
        updatable: fields!("displayName", "ingressSecurityRules", "egressSecurityRules"),
        ..CORE_CHILD
    },
    ResourceKind {
        action: "oci.core.nsg",
        noun: "network security group",
        collection: "/20160918/networkSecurityGroups",
        special: Special::NsgRules,
        ..CORE_CHILD
    },
    ResourceKind {
        action: "oci.core.service_gateway",
        noun: "service gateway",
        collection: "/20160918/serviceGateways",
        updatable: fields!("displayName", "blockTraffic", "routeTableId", "services"),
        special: Special::ServiceGatewayServices,
        ..CORE_CHILD
    },
    ResourceKind {
        action: "oci.identity.dynamic_group",
        noun: "dynamic group",
        service: Service::Identity,
        collection: "/20160918/dynamicGroups",
        name_field: "name",
        name_query: Some("name"),
        updatable: fields!("description", "matchingRule"),
        placement: Placement::HomeRegionWrites,
        ..BASE
    },
    ResourceKind {
        action: "oci.identity.policy",
        noun: "policy",
        service: Service::Identity,
        collection: "/20160918/policies",
        name_field: "name",
        name_query: Some("name"),
        updatable: fields!("description", "statements", "versionDate"),
        placement: Placement::HomeRegionWrites,
        ..BASE
    },
    ResourceKind {
        action: "oci.kms.vault",
        noun: "vault",
        service: Service::Kms,
        collection: "/20180608/vaults",
        name_query: None,
        delete: DeleteStyle::ScheduleDeletion,
        ..BASE
    },
    ResourceKind {
        action: "oci.kms.key",
        noun: "key",
        service: Service::Kms,
        collection: "/20180608/keys",
        name_query: None,
        parent: Some("vaultId"),
        ready: &["ENABLED"],
        delete: DeleteStyle::ScheduleDeletion,
        updatable: fields!("displayName", "isAutoRotationEnabled", "autoKeyRotationDetails"),
        placement: Placement::VaultManagementEndpoint,
        ..BASE
    },
    ResourceKind {
        action: "oci.vault.secret",
        noun: "secret",
        service: Service::Vaults,
        collection: "/20180608/secrets",
        name_field: "secretName",
        name_query: Some("name"),
        parent: Some("vaultId"),
        delete: DeleteStyle::ScheduleDeletion,
        updatable: fields!(
            "description",
            "metadata",
            "currentVersionNumber",
            "replicationConfig",
            "rotationConfig",
            "secretRules",
            "secretGenerationContext",
            "enableAutoGeneration"
        ),
        special: Special::SecretContent,
        ..BASE
    },
    ResourceKind {
        action: "oci.logging.log_group",
        noun: "log group",
        service: Service::Logging,
        collection: "/20200531/logGroups",
        updatable: fields!("displayName", "description"),
        ..BASE
    },
    ResourceKind {
        action: "oci.logging.log",
        noun: "log",
        service: Service::Logging,
        collection: "/20200531/logGroups/{parent}/logs",
        parent: Some("logGroupId"),
        in_compartment: false,
        updatable: fields!("displayName", "isEnabled", "retentionDuration", "configuration"),
        ..BASE
    },
    ResourceKind {
        action: "oci.monitoring.alarm",
        noun: "alarm",
        service: Service::Monitoring,
        collection: "/20180401/alarms",
        updatable: fields!(
            "displayName",
            "metricCompartmentId",
            "metricCompartmentIdInSubtree",
            "namespace",
            "resourceGroup",
            "query",
            "resolution",
            "pendingDuration",
            "severity",
            "body",
            "isNotificationsPerMetricDimensionEnabled",
            "messageFormat",
            "destinations",
            "repeatNotificationDuration",
            "suppression",
            "isEnabled",
            "overrides",
            "ruleName",
            "notificationVersion",
            "notificationTitle",
            "evaluationSlackDuration",
            "alarmSummary"
        ),
        ..BASE
    },
    ResourceKind {
        action: "oci.artifacts.container_repository",
        noun: "container repository",
        service: Service::Artifacts,
        collection: "/20160918/container/repositories",
        ready: AVAILABLE,
        updatable: fields!("isImmutable", "isPublic", "readme"),
        ..BASE
    },
    ResourceKind {
        action: "oci.functions.application",
        noun: "Functions application",
        service: Service::Functions,
        collection: "/20181201/applications",
        updatable: fields!(
            "config",
            "networkSecurityGroupIds",
            "syslogUrl",
            "traceConfig",
            "logging",
            "imagePolicyConfig",
            "securityAttributes"
        ),
        recreate_advice: &[(
            "subnetIds",
            "a Functions application's subnets cannot be changed: the application must be recreated (delete its functions and the application, then run again)",
        )],
        ..BASE
    },
    ResourceKind {
        action: "oci.functions.function",
        noun: "function",
        service: Service::Functions,
        collection: "/20181201/functions",
        parent: Some("applicationId"),
        in_compartment: false,
        updatable: fields!(
            "memoryInMBs",
            "timeoutInSeconds",
            "config",
            "image",
            "imageDigest",
            "provisionedConcurrencyConfig",
            "traceConfig",
            "detachedModeTimeoutInSeconds",
            "failureDestination",
            "successDestination",
            "sourceDetails"
        ),
        ..BASE
    },
    ResourceKind {
        action: "oci.apigateway.gateway",
        noun: "API gateway",
        service: Service::ApiGateway,
        collection: "/20190501/gateways",
        updatable: fields!(
            "displayName",
            "networkSecurityGroupIds",
            "certificateId",
            "responseCacheDetails",
            "caBundles"
        ),
        ..BASE
    },
    ResourceKind {
        action: "oci.apigateway.deployment",
        noun: "API deployment",
        service: Service::ApiGateway,
        collection: "/20190501/deployments",
        parent: Some("gatewayId"),
        updatable: fields!("displayName", "specification"),
        ..BASE
    },
    ResourceKind {
        action: "oci.events.rule",
        noun: "Events rule",
        service: Service::Events,
        collection: "/20181201/rules",
        ready: ACTIVE_OR_INACTIVE,
        updatable: fields!("displayName", "description", "isEnabled", "condition", "actions"),
        ..BASE
    },
    ResourceKind {
        action: "oci.sch.connector",
        noun: "service connector",
        service: Service::ServiceConnectorHub,
        collection: "/20200909/serviceConnectors",
        ready: ACTIVE_OR_INACTIVE,
        updatable: fields!("displayName", "description", "source", "tasks", "target"),
        ..BASE
    },
    ResourceKind {
        action: "oci.scheduler.schedule",
        noun: "schedule",
        service: Service::ResourceScheduler,
        collection: "/20240430/schedules",
        ready: ACTIVE_OR_INACTIVE,
        updatable: fields!(
            "displayName",
            "description",
            "action",
            "recurrenceDetails",
            "recurrenceType",
            "resourceFilters",
            "resources",
            "timeStarts",
            "timeEnds"
        ),
        ..BASE
    },
];

impl ResourceKind {
    /// The collection path for a parent (only differs where the parent is in the path).
    pub fn collection_path(&self, parent: Option<&str>) -> String {
        self.collection.replace("{parent}", parent.unwrap_or_default())
    }

    /// Whether the parent's OCID is part of the path rather than of the body and query.
    pub fn parent_in_path(&self) -> bool {
        self.collection.contains("{parent}")
    }

    /// Fields the engine manages itself and never compares: identity and drctl's own.
    pub fn is_identity_field(&self, field: &str) -> bool {
        field == "compartmentId" || field == self.name_field || Some(field) == self.parent
    }

    pub fn find(action: &str) -> Option<&'static ResourceKind> {
        KINDS.iter().find(|k| k.action == action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_every_contract_name_once() {
        let names: std::collections::BTreeSet<&str> = KINDS.iter().map(|k| k.action).collect();
        assert_eq!(names.len(), 22);
        for name in ["oci.core.nsg", "oci.vault.secret", "oci.scheduler.schedule", "oci.functions.function"] {
            assert!(names.contains(name), "{name}");
        }
        assert_eq!(
            ResourceKind::find("oci.logging.log").unwrap().collection_path(Some("ocid1.loggroup.x")),
            "/20200531/logGroups/ocid1.loggroup.x/logs"
        );
    }
}
