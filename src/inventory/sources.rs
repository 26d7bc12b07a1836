//! Where each inventory list is read from: the OCI service, the collection path, and what
//! scopes the listing (the compartment, or a parent captured earlier). Data only; the
//! reading is `capture.rs`'s.

use crate::oci::Service;

/// What a list operation is scoped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `?compartmentId=<the compartment>`.
    Compartment,
    /// `?compartmentId=<the tenancy>` (dynamic groups live at the root).
    Tenancy,
    /// One listing per item of `parent`, with `?<param>=<parent id>`.
    Parent { parent: &'static str, param: &'static str },
    /// One listing per log group, at `/logGroups/{id}/logs`.
    LogGroup,
    /// One listing per vault, on its management endpoint.
    VaultEndpoint,
}

/// How one list is captured.
#[derive(Debug, Clone, Copy)]
pub struct ListSource {
    pub list: &'static str,
    pub service: Service,
    pub collection: &'static str,
    pub scope: Scope,
}

/// Every list, parents before children (keys of children name their parents).
pub const SOURCES: [ListSource; 22] = [
    ListSource { list: "vcns", service: Service::Core, collection: "/vcns", scope: Scope::Compartment },
    ListSource {
        list: "service_gateways",
        service: Service::Core,
        collection: "/serviceGateways",
        scope: Scope::Compartment,
    },
    ListSource { list: "route_tables", service: Service::Core, collection: "/routeTables", scope: Scope::Compartment },
    ListSource {
        list: "security_lists",
        service: Service::Core,
        collection: "/securityLists",
        scope: Scope::Compartment,
    },
    ListSource {
        list: "nsgs",
        service: Service::Core,
        collection: "/networkSecurityGroups",
        scope: Scope::Compartment,
    },
    ListSource { list: "subnets", service: Service::Core, collection: "/subnets", scope: Scope::Compartment },
    ListSource { list: "policies", service: Service::Identity, collection: "/policies", scope: Scope::Compartment },
    ListSource {
        list: "dynamic_groups",
        service: Service::Identity,
        collection: "/dynamicGroups",
        scope: Scope::Tenancy,
    },
    ListSource { list: "vaults", service: Service::Kms, collection: "/20180608/vaults", scope: Scope::Compartment },
    ListSource { list: "keys", service: Service::Kms, collection: "/20180608/keys", scope: Scope::VaultEndpoint },
    ListSource { list: "secrets", service: Service::Vaults, collection: "/secrets", scope: Scope::Compartment },
    ListSource { list: "log_groups", service: Service::Logging, collection: "/logGroups", scope: Scope::Compartment },
    ListSource { list: "logs", service: Service::Logging, collection: "/logGroups", scope: Scope::LogGroup },
    ListSource { list: "alarms", service: Service::Monitoring, collection: "/alarms", scope: Scope::Compartment },
    ListSource {
        list: "repositories",
        service: Service::Artifacts,
        collection: "/container/repositories",
        scope: Scope::Compartment,
    },
    ListSource {
        list: "applications",
        service: Service::Functions,
        collection: "/applications",
        scope: Scope::Compartment,
    },
    ListSource {
        list: "functions",
        service: Service::Functions,
        collection: "/functions",
        scope: Scope::Parent { parent: "applications", param: "applicationId" },
    },
    ListSource { list: "gateways", service: Service::ApiGateway, collection: "/gateways", scope: Scope::Compartment },
    ListSource {
        list: "deployments",
        service: Service::ApiGateway,
        collection: "/deployments",
        scope: Scope::Compartment,
    },
    ListSource { list: "events_rules", service: Service::Events, collection: "/rules", scope: Scope::Compartment },
    ListSource {
        list: "connectors",
        service: Service::ServiceConnectorHub,
        collection: "/serviceConnectors",
        scope: Scope::Compartment,
    },
    ListSource {
        list: "schedules",
        service: Service::ResourceScheduler,
        collection: "/schedules",
        scope: Scope::Compartment,
    },
];

/// Lifecycle states of resources that are on their way out and are not captured.
pub const GONE_STATES: [&str; 6] = ["DELETED", "DELETING", "TERMINATED", "TERMINATING", "PENDING_DELETION", "FAILED"];
