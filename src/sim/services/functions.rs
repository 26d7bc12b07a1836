//! OCI Functions: applications, functions and invoke, under both API versions clients
//! use (`/20181201` of the public docs and older SDKs, `/20260325` of SDK 2.189.0).
//! Creates, updates and deletes are asynchronous with work requests. Invoke does not run
//! code; it answers a deterministic JSON echo of what was invoked and how. A function's
//! image on the region's OCIR host must exist in the region's registry (`sim/registry`).

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::sim::call::{empty, json, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{
    self, refuse_if_children, require_active, unique_in_compartment, Kind, LimitSpec, Prepare, WorkRequestSpec, BASE,
};
use crate::sim::sorting;

pub const VERSIONS: [&str; 2] = ["20181201", "20260325"];

pub static APPLICATION: Kind = Kind {
    name: "functions.application",
    ocid_type: "fnapp",
    work_requests: Some(WorkRequestSpec {
        entity_type: "application",
        create_op: Some("CREATE_APPLICATION"),
        update_op: Some("UPDATE_APPLICATION"),
        delete_op: Some("DELETE_APPLICATION"),
    }),
    prepare: prepare_application,
    sort_keys: sorting::FUNCTIONS,
    before_delete: Some(|store, app| refuse_if_children(store, app, "functions.function", "applicationId", &[])),
    ..BASE
};

pub static FUNCTION: Kind = Kind {
    name: "functions.function",
    ocid_type: "fnfunc",
    list_by: Some(("applicationId", Some("functions.application"))),
    work_requests: Some(WorkRequestSpec {
        entity_type: "function",
        create_op: Some("CREATE_FUNCTION"),
        update_op: Some("UPDATE_FUNCTION"),
        delete_op: Some("DELETE_FUNCTION"),
    }),
    limit: Some(LimitSpec {
        service: "functions",
        name: "functions-per-application",
        scope_field: "applicationId",
        default: 100,
    }),
    prepare: prepare_function,
    sort_keys: sorting::FUNCTIONS,
    ..BASE
};

fn prepare_application(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    p.require("displayName")?;
    unique_in_compartment(p, APPLICATION.name, "displayName")?;
    let subnets: Vec<String> = p
        .body
        .get("subnetIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if p.existing.is_none() {
        for subnet in &subnets {
            require_active(p.store, p.region, subnet, "core.subnet")?;
        }
    }
    p.default("subnetIds", json!(subnets));
    p.default("config", json!({}));
    p.default("shape", json!("GENERIC_X86"));
    p.default("networkSecurityGroupIds", json!([]));
    p.default("traceConfig", json!({"isEnabled": false}));
    Ok(())
}

fn prepare_function(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    p.require("displayName")?;
    let app = match p.existing {
        Some(old) => {
            let app_id = old.str_field("applicationId").unwrap_or_default().to_string();
            p.body.insert("applicationId".into(), json!(app_id));
            p.store.visible(p.region, &app_id).cloned().ok_or_else(|| ApiError::not_found("application"))?
        }
        None => p.reference("applicationId", APPLICATION.name)?,
    };
    if p.existing.is_none() {
        unique_in_app(p, &app.id)?;
    }
    let memory = p.whole_number("memoryInMBs")?.ok_or_else(|| ApiError::missing("memoryInMBs"))?;
    if !(128..=3072).contains(&memory) {
        return Err(ApiError::invalid(format!("memoryInMBs must be between 128 and 3072, got {memory}.")));
    }
    let timeout = p.whole_number("timeoutInSeconds")?.unwrap_or(30);
    if !(1..=300).contains(&timeout) {
        return Err(ApiError::invalid(format!("timeoutInSeconds must be between 1 and 300, got {timeout}.")));
    }
    // Old API: top-level `image`; new API: `sourceDetails` of type CONTAINER_IMAGE. Keep both
    // in sync so clients of either version read what they expect.
    let image = given(p, "image").or_else(|| p.existing.and_then(|old| old.str_field("image")).map(str::to_string));
    let image = image.ok_or_else(|| {
        ApiError::new(
            400,
            "MissingParameter",
            "Missing required parameter `sourceDetails` (`image` in API version 20181201).",
        )
    })?;
    let changed = p.existing.is_none_or(|old| old.str_field("image") != Some(image.as_str()));
    let sent_digest = given(p, "imageDigest");
    let digest = match p.existing.and_then(|old| old.str_field("imageDigest")) {
        // An update that leaves the image alone keeps the digest the function runs.
        Some(kept) if !changed && sent_digest.is_none() => kept.to_string(),
        // A new image is pulled from this region's registry, and runs what it holds there.
        _ => registry_digest(p, &image, sent_digest.as_deref())?,
    };
    p.body.insert("image".into(), json!(image));
    p.body.insert("imageDigest".into(), json!(digest));
    p.body.insert(
        "sourceDetails".into(),
        json!({"sourceType": "CONTAINER_IMAGE", "image": image, "imageDigest": digest}),
    );
    p.body.insert("timeoutInSeconds".into(), json!(timeout));
    p.body.insert("compartmentId".into(), app.body.get("compartmentId").cloned().unwrap_or(Value::Null));
    p.body.insert("shape".into(), app.body.get("shape").cloned().unwrap_or(json!("GENERIC_X86")));
    p.body.insert("invokeEndpoint".into(), json!(p.sim.base(p.region)));
    p.default("config", json!({}));
    p.default("provisionedConcurrencyConfig", json!({"strategy": "NONE"}));
    p.default("traceConfig", json!({"isEnabled": false}));
    Ok(())
}

/// What the request gave for `field` of the image (`image`, `imageDigest`), in `sourceDetails`
/// (API 20260325) or at the top level (20181201). The body of an update holds the function's
/// own values merged with the change: there, only a value other than the function's own was
/// given.
fn given(p: &Prepare<'_>, field: &str) -> Option<String> {
    let in_source =
        |body: Option<&Map<String, Value>>| body?.get("sourceDetails")?.get(field)?.as_str().map(str::to_string);
    let top = |body: Option<&Map<String, Value>>| body?.get(field)?.as_str().map(str::to_string);
    let new = |value: Option<String>, old: Option<String>| value.filter(|v| old.as_deref() != Some(v.as_str()));
    match p.existing {
        None => in_source(Some(p.body)).or_else(|| top(Some(p.body))),
        Some(old) => {
            let (now, was) = (Some(&*p.body), old.body.as_object());
            new(in_source(now), in_source(was)).or_else(|| new(top(now), top(was)))
        }
    }
}

fn unique_in_app(p: &Prepare<'_>, app_id: &str) -> Result<(), ApiError> {
    let name = p.str("displayName").unwrap_or_default();
    let clash = p.store.of_kind(p.region, FUNCTION.name).any(|f| {
        f.gone_at_ms.is_none()
            && f.str_field("applicationId") == Some(app_id)
            && f.str_field("displayName") == Some(&name)
    });
    if clash {
        return Err(ApiError::conflict(format!("A function named `{name}` already exists in application {app_id}.")));
    }
    Ok(())
}

/// The manifest digest this region's registry holds for `image`. OCI Functions pulls images
/// only from Container Registry in the function's own region: an image elsewhere (another
/// region's registry, a public one) is refused with 400, one the registry does not hold with
/// 404, and a digest sent with the image must be the one the registry holds.
fn registry_digest(p: &Prepare<'_>, image: &str, sent: Option<&str>) -> Result<String, ApiError> {
    let host = crate::oci::endpoints::ocir_host(p.region)
        .map_err(|e| ApiError::invalid(format!("Region {} has no Container Registry: {e}.", p.region)))?;
    let long_host =
        crate::oci::regions::find_region(p.region).filter(|r| r.realm == "oc1").map(|r| format!("{}.ocir.io", r.id));
    let path = [Some(host.as_str()), long_host.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|h| image.strip_prefix(h).and_then(|rest| rest.strip_prefix('/')));
    let Some(path) = path else {
        return Err(ApiError::invalid(format!(
            "The image {image} is not in Container Registry of {} ({host}): functions run only images from \
             their own region's registry. Copy the image to {host} and give that image.",
            p.region
        )));
    };
    let (repository, reference) = match path.split_once('@') {
        Some((repo, digest)) => (repo, digest),
        None => match path.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')) {
            Some((repo, tag)) => (repo, tag),
            None => (path, "latest"),
        },
    };
    let held = crate::sim::registry::image_digest(p.store, p.region, repository, reference).ok_or_else(|| {
        ApiError::new(
            404,
            "NotAuthorizedOrNotFound",
            format!(
                "The image {image} was not found in the {} registry ({host}): no manifest {reference} in repository \
                 {repository}. Push the image to this region before creating or updating the function.",
                p.region
            ),
        )
    })?;
    match sent {
        Some(sent) if sent != held => Err(ApiError::invalid(format!(
            "imageDigest {sent} is not the digest of {image} in the {} registry ({held}).",
            p.region
        ))),
        _ => Ok(held),
    }
}

pub fn routes(mut router: Router<RegionCtx>) -> Router<RegionCtx> {
    for v in VERSIONS {
        router = resource::routes(router, &APPLICATION, &[&format!("/{v}/applications")]);
        router = resource::routes(router, &FUNCTION, &[&format!("/{v}/functions")]);
        router = router.route(
            &format!("/{v}/functions/{{id}}/actions/invoke"),
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(invoke(&ctx, &call)) }),
        );
    }
    router
}

/// Headers an invoke echo reports back.
const ECHOED_HEADERS: [&str; 5] = ["fn-intent", "fn-invoke-type", "content-type", "opc-request-id", "fn-call-id"];

/// How an invoke is answered (`fn-invoke-type`): `sync` (the default) with the result,
/// `detached` with 202 and no body as soon as it is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvokeType {
    Sync,
    Detached,
}

/// The invoke headers OCI checks: `fn-invoke-type` and `fn-intent` take only the SDK's
/// allowed values (400 InvalidParameter otherwise).
fn invoke_type(call: &Call) -> Result<InvokeType, ApiError> {
    if let Some(intent) = call.header("fn-intent").filter(|i| !matches!(*i, "httprequest" | "cloudevent")) {
        return Err(ApiError::invalid(format!("fn-intent `{intent}` is not one of httprequest, cloudevent.")));
    }
    match call.header("fn-invoke-type") {
        None | Some("sync") => Ok(InvokeType::Sync),
        Some("detached") => Ok(InvokeType::Detached),
        Some(other) => Err(ApiError::invalid(format!("fn-invoke-type `{other}` is not one of sync, detached."))),
    }
}

fn invoke(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let id = call.param("id");
    let function = require_active(&ctx.sim.store(), &ctx.region, id, FUNCTION.name)?;
    if invoke_type(call)? == InvokeType::Detached {
        return Ok(empty(202, &[]));
    }
    let body_text = String::from_utf8_lossy(&call.body).into_owned();
    let body = serde_json::from_str::<Value>(&body_text).unwrap_or(Value::String(body_text));
    let headers: serde_json::Map<String, Value> =
        ECHOED_HEADERS.iter().filter_map(|h| call.header(h).map(|v| (h.to_string(), json!(v)))).collect();
    let echo = json!({
        "functionId": function.id,
        "displayName": function.str_field("displayName"),
        "applicationId": function.str_field("applicationId"),
        "region": ctx.region,
        "image": function.str_field("image"),
        "memoryInMBs": function.body.get("memoryInMBs"),
        "config": function.body.get("config"),
        "request": body,
        "headers": headers,
    });
    Ok(json(200, &echo, &[("fn-fdk-version", "fdk-sim/1".into())]))
}
