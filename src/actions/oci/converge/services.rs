//! `services: all` of an `oci.core.service_gateway` task: the region's "All <X> Services In
//! Oracle Services Network" entry, looked up in the target region (its OCID differs per
//! region, which is why an inventory captures `all` rather than the source region's OCID).

use serde_json::{json, Value};

use super::api::ResourceApi;
use crate::oci::{ClientError, OciRequest, Service};

/// Whether the task asks for all services.
pub fn wants_all(services: Option<&Value>) -> bool {
    services.and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("all"))
}

/// `[{"serviceId": <the all-services OCID>}]`, or `None` when the region lists no such entry.
pub async fn all_services(api: &ResourceApi<'_>) -> Result<Option<Value>, ClientError> {
    let req = OciRequest::new(reqwest::Method::GET, Service::Core, api.region.clone(), "/20160918/services")
        .cancel_on(api.cancel.clone());
    let services = api.client.list_all(req).await?;
    Ok(pick_all(&services).map(|id| json!([{ "serviceId": id }])))
}

fn pick_all(services: &[Value]) -> Option<&str> {
    services
        .iter()
        .find(|s| {
            let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
            name.starts_with("All ") && name.ends_with("Services In Oracle Services Network")
        })
        .and_then(|s| s.get("id").and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_all_services_entry_is_picked() {
        let list = vec![
            json!({"id": "ocid1.service.oc1.phx.os", "name": "OCI PHX Object Storage"}),
            json!({"id": "ocid1.service.oc1.phx.all", "name": "All PHX Services In Oracle Services Network"}),
        ];
        assert_eq!(pick_all(&list), Some("ocid1.service.oc1.phx.all"));
        assert!(wants_all(Some(&json!("all"))));
        assert!(!wants_all(Some(&json!([{"serviceId": "x"}]))));
    }
}
