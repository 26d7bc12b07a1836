//! API Gateway control plane (`/20190501`): gateways in a subnet and deployments on a
//! gateway, both asynchronous with work requests and `{"items": [...]}` lists. A
//! deployment's routes are checked when it is created: every ORACLE_FUNCTIONS_BACKEND must
//! name an existing function. Serving those routes is `apigateway_runtime.rs`'s job.

use axum::Router;
use serde_json::{json, Value};

use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::ocid::unique;
use crate::sim::resource::{self, refuse_if_children, require_active, Kind, ListShape, Prepare, WorkRequestSpec, BASE};
use crate::sim::sorting;

pub static GATEWAY: Kind = Kind {
    name: "apigateway.gateway",
    ocid_type: "apigateway",
    work_requests: Some(WorkRequestSpec {
        entity_type: "gateway",
        create_op: Some("CREATE_GATEWAY"),
        update_op: Some("UPDATE_GATEWAY"),
        delete_op: Some("DELETE_GATEWAY"),
    }),
    update_returns_body: false,
    list: ListShape::Items,
    prepare: prepare_gateway,
    sort_keys: sorting::CAMEL_DISPLAY_NAME,
    before_delete: Some(|store, g| refuse_if_children(store, g, "apigateway.deployment", "gatewayId", &[])),
    ..BASE
};

pub static DEPLOYMENT: Kind = Kind {
    name: "apigateway.deployment",
    ocid_type: "apideployment",
    work_requests: Some(WorkRequestSpec {
        entity_type: "deployment",
        create_op: Some("CREATE_DEPLOYMENT"),
        update_op: Some("UPDATE_DEPLOYMENT"),
        delete_op: Some("DELETE_DEPLOYMENT"),
    }),
    update_returns_body: false,
    list: ListShape::Items,
    prepare: prepare_deployment,
    sort_keys: sorting::CAMEL_DISPLAY_NAME,
    ..BASE
};

fn prepare_gateway(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    if p.existing.is_some() {
        return Ok(());
    }
    let endpoint_type = p.require("endpointType")?;
    if endpoint_type != "PUBLIC" && endpoint_type != "PRIVATE" {
        return Err(ApiError::invalid(format!("endpointType must be PUBLIC or PRIVATE, got `{endpoint_type}`.")));
    }
    p.reference("subnetId", "core.subnet")?;
    p.body.insert("hostname".into(), json!(format!("{}.apigateway.{}.oci.customer-oci.com", unique(26), p.region)));
    p.body.insert("ipAddresses".into(), json!([{"ipAddress": "127.0.0.1"}]));
    p.default("networkSecurityGroupIds", json!([]));
    p.default("displayName", json!(format!("gateway{}", &p.id[p.id.len() - 6..])));
    Ok(())
}

fn prepare_deployment(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    let gateway = match p.existing {
        Some(old) => {
            let id = old.str_field("gatewayId").unwrap_or_default().to_string();
            p.body.insert("gatewayId".into(), json!(id));
            p.store.visible(p.region, &id).cloned().ok_or_else(|| ApiError::not_found("gateway"))?
        }
        None => p.reference("gatewayId", GATEWAY.name)?,
    };
    let prefix = p.require("pathPrefix")?;
    if !prefix.starts_with('/') {
        return Err(ApiError::invalid("pathPrefix must start with `/`."));
    }
    if p.existing.is_none() {
        let taken = p.store.of_kind(p.region, DEPLOYMENT.name).any(|d| {
            d.gone_at_ms.is_none()
                && d.str_field("gatewayId") == Some(gateway.id.as_str())
                && d.str_field("pathPrefix") == Some(prefix.as_str())
        });
        if taken {
            return Err(ApiError::conflict(format!(
                "Path prefix {prefix} is already deployed on gateway {}.",
                gateway.id
            )));
        }
    }
    let routes = p
        .body
        .get("specification")
        .and_then(|s| s.get("routes"))
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::missing("specification.routes"))?;
    for route in &routes {
        check_route(p, route)?;
    }
    p.default("compartmentId", gateway.body.get("compartmentId").cloned().unwrap_or(Value::Null));
    let hostname = gateway.str_field("hostname").unwrap_or_default();
    p.body.insert("endpoint".into(), json!(format!("https://{hostname}{}", prefix.trim_end_matches('/'))));
    p.default("displayName", json!(format!("deployment{}", &p.id[p.id.len() - 6..])));
    Ok(())
}

fn check_route(p: &Prepare<'_>, route: &Value) -> Result<(), ApiError> {
    let path = route.get("path").and_then(Value::as_str).ok_or_else(|| ApiError::missing("routes[].path"))?;
    if !path.starts_with('/') {
        return Err(ApiError::invalid(format!("Route path `{path}` must start with `/`.")));
    }
    let backend = route.get("backend").ok_or_else(|| ApiError::missing("routes[].backend"))?;
    match backend.get("type").and_then(Value::as_str) {
        Some("ORACLE_FUNCTIONS_BACKEND") => {
            let id = backend
                .get("functionId")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::missing("backend.functionId"))?;
            require_active(p.store, p.region, id, "functions.function")?;
        }
        Some("STOCK_RESPONSE_BACKEND") => {
            match backend.get("status").and_then(Value::as_u64) {
                None => return Err(ApiError::missing("backend.status")),
                // OCI takes an HTTP status code here: 100 to 599.
                Some(status) if !(100..=599).contains(&status) => {
                    return Err(ApiError::invalid(format!("backend.status must be between 100 and 599, got {status}.")))
                }
                Some(_) => {}
            }
        }
        Some("HTTP_BACKEND") => {
            backend.get("url").and_then(Value::as_str).ok_or_else(|| ApiError::missing("backend.url"))?;
        }
        Some(other) => {
            return Err(ApiError::invalid(format!("Backend type {other} is not supported by the simulator.")))
        }
        None => return Err(ApiError::missing("backend.type")),
    }
    Ok(())
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    let router = resource::routes(router, &GATEWAY, &["/20190501/gateways"]);
    resource::routes(router, &DEPLOYMENT, &["/20190501/deployments"])
}
