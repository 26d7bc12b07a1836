//! Oracle Services Network labels in network rules follow the region: a route rule or a
//! security rule toward "all services" says `all-iad-services-in-oracle-services-network` in
//! Ashburn and `all-phx-services-in-oracle-services-network` in Phoenix (likewise
//! `oci-<key>-objectstorage`). A rule copied from another region keeps the source's label,
//! which the destination refuses, so the rules of network kinds are rewritten to the target
//! region's labels before they are compared or sent. Nothing else is touched.

use serde_json::{Map, Value};

/// Kinds whose rules may name a service CIDR label.
const KINDS: [&str; 3] = ["oci.core.route_table", "oci.core.security_list", "oci.core.nsg"];

/// Rewrites every service label inside `fields` to `region`'s, for the network kinds.
pub fn localize(action: &str, region: &str, fields: &mut Map<String, Value>) {
    if !KINDS.contains(&action) {
        return;
    }
    let Some(key) = crate::oci::regions::find_region(region).map(|r| r.key.to_ascii_lowercase()) else { return };
    for value in fields.values_mut() {
        walk(value, &key);
    }
}

fn walk(value: &mut Value, key: &str) {
    match value {
        Value::String(s) => {
            if let Some(local) = relabel(s, key) {
                *s = local;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, key)),
        Value::Object(map) => map.values_mut().for_each(|v| walk(v, key)),
        _ => {}
    }
}

/// The label for region `key` when `label` is a service label of any region.
fn relabel(label: &str, key: &str) -> Option<String> {
    let region_part = |rest: &str| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_lowercase());
    if let Some(rest) = label.strip_prefix("all-").and_then(|r| r.strip_suffix("-services-in-oracle-services-network"))
    {
        return region_part(rest).then(|| format!("all-{key}-services-in-oracle-services-network"));
    }
    let rest = label.strip_prefix("oci-").and_then(|r| r.strip_suffix("-objectstorage"))?;
    region_part(rest).then(|| format!("oci-{key}-objectstorage"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_take_the_target_regions_labels() {
        let mut fields = json!({
            "routeRules": [{"destination": "all-iad-services-in-oracle-services-network",
                            "destinationType": "SERVICE_CIDR_BLOCK", "networkEntityId": "ocid1.servicegateway.oc1.phx.x"},
                           {"destination": "0.0.0.0/0", "destinationType": "CIDR_BLOCK"}],
            "displayName": "all-iad-services-in-oracle-services-network-table",
            "egressSecurityRules": [{"destination": "oci-iad-objectstorage"}]
        })
        .as_object()
        .cloned()
        .unwrap();
        localize("oci.core.route_table", "us-phoenix-1", &mut fields);
        assert_eq!(fields["routeRules"][0]["destination"], "all-phx-services-in-oracle-services-network");
        assert_eq!(fields["routeRules"][1]["destination"], "0.0.0.0/0");
        assert_eq!(fields["displayName"], "all-iad-services-in-oracle-services-network-table");
        assert_eq!(fields["egressSecurityRules"][0]["destination"], "oci-phx-objectstorage");
        let mut other =
            json!({"destination": "all-iad-services-in-oracle-services-network"}).as_object().cloned().unwrap();
        localize("oci.core.vcn", "us-phoenix-1", &mut other);
        assert_eq!(other["destination"], "all-iad-services-in-oracle-services-network");
    }
}
