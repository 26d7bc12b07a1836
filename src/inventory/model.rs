//! The inventory file (contract C3): what a compartment of a region holds, as OCI create
//! bodies (`spec`) whose references to other captured resources are `@{kind:key}` strings.
//! It is both what `drctl inventory` captures and what `drctl sim --seed` creates.
//!
//! Types and their serde shape only; reading, writing, capturing and seeding live beside it.
//! Secret values never appear here.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The file format version this module reads and writes.
pub const VERSION: u32 = 1;

/// Where a capture came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub region: String,
    pub compartment_id: String,
    /// The tenancy's Object Storage / OCIR namespace.
    pub namespace: String,
}

/// The image a function runs, as its region's registry knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageInfo {
    /// `<namespace>/<path>`, without the registry host.
    pub repository: String,
    pub tag: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
}

/// One captured resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Unique within its list; what `@{kind:key}` names.
    pub key: String,
    /// Functions: the key of their application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Keys and secrets: the key of their vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    /// Functions: the image their `spec.image` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
    /// Network security groups: their security rules (a separate OCI API from the NSG's body).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Value>,
    /// The OCI create body without `compartmentId`.
    pub spec: Map<String, Value>,
    /// Fields of `spec` that are real although drctl takes them for misspellings of fields it
    /// knows (OCI added them after drctl's table); a capture lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_fields: Vec<String>,
}

impl Item {
    /// The resource's name as OCI calls it (`displayName`, `name` or `secretName`).
    pub fn name(&self) -> &str {
        ["displayName", "name", "secretName"]
            .iter()
            .find_map(|f| self.spec.get(*f).and_then(Value::as_str))
            .unwrap_or(&self.key)
    }
}

/// A whole inventory. Lists are sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    pub version: u32,
    pub source: Source,
    pub captured_at: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vcns: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_gateways: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_tables: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_lists: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nsgs: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_groups: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vaults: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_groups: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events_rules: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connectors: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<Item>,
}

/// A list of the inventory with the reference kind (contract C2) of its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListKind {
    pub list: &'static str,
    pub kind: &'static str,
    /// The converge action that recreates its items from their specs.
    pub action: &'static str,
}

/// Every list in file order.
pub const LISTS: [ListKind; 22] = [
    ListKind { list: "vcns", kind: "vcn", action: "oci.core.vcn" },
    ListKind { list: "service_gateways", kind: "service_gateway", action: "oci.core.service_gateway" },
    ListKind { list: "route_tables", kind: "route_table", action: "oci.core.route_table" },
    ListKind { list: "security_lists", kind: "security_list", action: "oci.core.security_list" },
    ListKind { list: "nsgs", kind: "nsg", action: "oci.core.nsg" },
    ListKind { list: "subnets", kind: "subnet", action: "oci.core.subnet" },
    ListKind { list: "dynamic_groups", kind: "dynamic_group", action: "oci.identity.dynamic_group" },
    ListKind { list: "policies", kind: "policy", action: "oci.identity.policy" },
    ListKind { list: "vaults", kind: "vault", action: "oci.kms.vault" },
    ListKind { list: "keys", kind: "key", action: "oci.kms.key" },
    ListKind { list: "secrets", kind: "secret", action: "oci.vault.secret" },
    ListKind { list: "log_groups", kind: "log_group", action: "oci.logging.log_group" },
    ListKind { list: "logs", kind: "log", action: "oci.logging.log" },
    ListKind { list: "alarms", kind: "alarm", action: "oci.monitoring.alarm" },
    ListKind { list: "repositories", kind: "repository", action: "oci.artifacts.container_repository" },
    ListKind { list: "applications", kind: "application", action: "oci.functions.application" },
    ListKind { list: "functions", kind: "function", action: "oci.functions.function" },
    ListKind { list: "gateways", kind: "gateway", action: "oci.apigateway.gateway" },
    ListKind { list: "deployments", kind: "deployment", action: "oci.apigateway.deployment" },
    ListKind { list: "events_rules", kind: "events_rule", action: "oci.events.rule" },
    ListKind { list: "connectors", kind: "connector", action: "oci.sch.connector" },
    ListKind { list: "schedules", kind: "schedule", action: "oci.scheduler.schedule" },
];

impl Inventory {
    /// The items of a list by its name (see [`LISTS`]).
    pub fn list(&self, name: &str) -> &[Item] {
        match name {
            "vcns" => &self.vcns,
            "service_gateways" => &self.service_gateways,
            "route_tables" => &self.route_tables,
            "security_lists" => &self.security_lists,
            "nsgs" => &self.nsgs,
            "subnets" => &self.subnets,
            "dynamic_groups" => &self.dynamic_groups,
            "policies" => &self.policies,
            "vaults" => &self.vaults,
            "keys" => &self.keys,
            "secrets" => &self.secrets,
            "log_groups" => &self.log_groups,
            "logs" => &self.logs,
            "alarms" => &self.alarms,
            "repositories" => &self.repositories,
            "applications" => &self.applications,
            "functions" => &self.functions,
            "gateways" => &self.gateways,
            "deployments" => &self.deployments,
            "events_rules" => &self.events_rules,
            "connectors" => &self.connectors,
            "schedules" => &self.schedules,
            _ => &[],
        }
    }

    /// The items of a list by its name, to fill or sort.
    pub fn list_mut(&mut self, name: &str) -> Option<&mut Vec<Item>> {
        Some(match name {
            "vcns" => &mut self.vcns,
            "service_gateways" => &mut self.service_gateways,
            "route_tables" => &mut self.route_tables,
            "security_lists" => &mut self.security_lists,
            "nsgs" => &mut self.nsgs,
            "subnets" => &mut self.subnets,
            "dynamic_groups" => &mut self.dynamic_groups,
            "policies" => &mut self.policies,
            "vaults" => &mut self.vaults,
            "keys" => &mut self.keys,
            "secrets" => &mut self.secrets,
            "log_groups" => &mut self.log_groups,
            "logs" => &mut self.logs,
            "alarms" => &mut self.alarms,
            "repositories" => &mut self.repositories,
            "applications" => &mut self.applications,
            "functions" => &mut self.functions,
            "gateways" => &mut self.gateways,
            "deployments" => &mut self.deployments,
            "events_rules" => &mut self.events_rules,
            "connectors" => &mut self.connectors,
            "schedules" => &mut self.schedules,
            _ => return None,
        })
    }

    /// Sorts every list by key, the order captures are written in.
    pub fn sort(&mut self) {
        for l in LISTS {
            if let Some(items) = self.list_mut(l.list) {
                items.sort_by(|a, b| a.key.cmp(&b.key));
            }
        }
    }

    /// The distinct function images, sorted by repository then tag.
    pub fn images(&self) -> Vec<(String, ImageInfo)> {
        let mut out: Vec<(String, ImageInfo)> =
            self.functions.iter().filter_map(|f| f.image.clone().map(|i| (f.key.clone(), i))).collect();
        out.sort_by(|a, b| (&a.1.repository, &a.1.tag, &a.0).cmp(&(&b.1.repository, &b.1.tag, &b.0)));
        out.dedup_by(|a, b| a.1 == b.1);
        out
    }
}
