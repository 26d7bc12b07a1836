//! Work requests of asynchronous operations (Functions, API Gateway, Logging, Service
//! Connector Hub, Resource Scheduler): recording one when an operation starts, and the
//! services' `GET .../workRequests/{id}` and list endpoints.
//!
//! A work request's status follows the clock: ACCEPTED for the first quarter of the
//! latency, IN_PROGRESS until it elapses, then SUCCEEDED (or FAILED when the
//! `fail-work-requests` fault picked it). It never changes the resource itself; the
//! resource carries the matching lifecycle transition.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::call::{json, respond, Call};
use super::context::RegionCtx;
use super::errors::ApiError;
use super::ocid::{new_ocid, region_key};
use super::resource::{list_response, ListShape};
use super::store::{now_ms, rfc3339, Resource, Store, WorkRequestRecord};

/// API versions under which work requests are served (Functions old and new, API
/// Gateway, Logging, Service Connector Hub, Resource Scheduler, Identity).
pub const VERSIONS: [&str; 7] = ["20181201", "20260325", "20190501", "20200531", "20200909", "20240430", "20160918"];

/// How a version's work request lists come: Identity's are bare arrays, the others'
/// `{"items": [...]}` collections.
fn list_shape(version: &str) -> ListShape {
    if version == "20160918" {
        ListShape::Array
    } else {
        ListShape::Items
    }
}

/// Records a work request for an operation on `resource`; returns its OCID.
pub fn record(
    store: &mut Store,
    ctx: &RegionCtx,
    entity_type: &str,
    operation: &str,
    action: &str,
    resource: &Resource,
    fails: bool,
) -> String {
    let now = now_ms();
    let id = new_ocid("workrequest", &region_key(&ctx.region));
    store.work_requests.insert(
        id.clone(),
        WorkRequestRecord {
            id: id.clone(),
            region: ctx.region.clone(),
            operation_type: operation.into(),
            compartment_id: resource.str_field("compartmentId").unwrap_or_default().into(),
            entity_type: entity_type.into(),
            action_type: action.into(),
            resource_id: resource.id.clone(),
            entity_uri: format!("/{entity_type}s/{}", resource.id),
            accepted_ms: now,
            finish_ms: now + ctx.sim.settings.latency_ms(),
            fails,
        },
    );
    id
}

/// The status of `wr` at `now`.
pub fn status(wr: &WorkRequestRecord, now: u64) -> &'static str {
    if now >= wr.finish_ms {
        if wr.fails {
            "FAILED"
        } else {
            "SUCCEEDED"
        }
    } else if now < wr.accepted_ms + (wr.finish_ms - wr.accepted_ms) / 4 {
        "ACCEPTED"
    } else {
        "IN_PROGRESS"
    }
}

/// The wire form (the fields every service's WorkRequest model shares).
pub fn render(wr: &WorkRequestRecord, now: u64) -> Value {
    let status = status(wr, now);
    let done = matches!(status, "SUCCEEDED" | "FAILED");
    let span = (wr.finish_ms - wr.accepted_ms).max(1) as f64;
    let percent = if done { 100.0 } else { ((now - wr.accepted_ms) as f64 / span * 100.0).min(99.0).floor() };
    let mut body = json!({
        "id": wr.id,
        "operationType": wr.operation_type,
        "status": status,
        "compartmentId": wr.compartment_id,
        "resources": [{
            "entityType": wr.entity_type,
            "actionType": if done && !wr.fails { wr.action_type.as_str() } else if done { "FAILED" } else { "IN_PROGRESS" },
            "identifier": wr.resource_id,
            "entityUri": wr.entity_uri,
        }],
        "percentComplete": percent,
        "timeAccepted": rfc3339(wr.accepted_ms),
        "timeStarted": rfc3339(wr.accepted_ms),
    });
    if done {
        body["timeFinished"] = json!(rfc3339(wr.finish_ms));
    }
    body
}

/// `GET /{version}/workRequests[/{id}[/errors|/logs]]` for every version in [`VERSIONS`].
pub fn routes(mut router: Router<RegionCtx>) -> Router<RegionCtx> {
    for v in VERSIONS {
        router = router
            .route(
                &format!("/{v}/workRequests"),
                get(move |ctx: State<RegionCtx>, call: Call| async move { respond(list(&ctx, &call, list_shape(v))) }),
            )
            .route(
                &format!("/{v}/workRequests/{{id}}"),
                get(|ctx: State<RegionCtx>, call: Call| async move { respond(get_one(&ctx, call.param("id"))) }),
            )
            .route(
                &format!("/{v}/workRequests/{{id}}/errors"),
                get(|ctx: State<RegionCtx>, call: Call| async move { respond(errors(&ctx, &call)) }),
            )
            .route(
                &format!("/{v}/workRequests/{{id}}/logs"),
                get(|ctx: State<RegionCtx>, call: Call| async move { respond(logs(&ctx, &call)) }),
            );
    }
    router
}

fn find(ctx: &RegionCtx, id: &str) -> Result<WorkRequestRecord, ApiError> {
    ctx.sim
        .store()
        .work_requests
        .get(id)
        .filter(|wr| wr.region == ctx.region)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&format!("work request {id}")))
}

fn get_one(ctx: &RegionCtx, id: &str) -> Result<Response, ApiError> {
    let wr = find(ctx, id)?;
    let now = now_ms();
    // Clients poll on `retry-after`; OCI sends it while a work request runs.
    let headers: Vec<(&str, String)> = if now < wr.finish_ms { vec![("retry-after", "1".into())] } else { Vec::new() };
    Ok(json(200, &render(&wr, now), &headers))
}

fn list(ctx: &RegionCtx, call: &Call, shape: ListShape) -> Result<Response, ApiError> {
    let now = now_ms();
    let items: Vec<Value> = ctx
        .sim
        .store()
        .work_requests
        .values()
        .filter(|wr| wr.region == ctx.region)
        .filter(|wr| call.query_value("compartmentId").is_none_or(|c| c == wr.compartment_id))
        .filter(|wr| resource_filter(call).is_none_or(|r| r == wr.resource_id))
        .map(|wr| render(wr, now))
        .collect();
    list_response(shape, &items, call)
}

/// The resource a list is filtered by (`resourceIdentifier` in Identity).
fn resource_filter(call: &Call) -> Option<&str> {
    call.query_value("resourceId").or_else(|| call.query_value("resourceIdentifier"))
}

fn errors(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let wr = find(ctx, call.param("id"))?;
    let now = now_ms();
    let items: Vec<Value> = if status(&wr, now) == "FAILED" {
        vec![
            json!({"code": "InternalError", "message": "The operation failed (injected fault).", "timestamp": rfc3339(wr.finish_ms)}),
        ]
    } else {
        Vec::new()
    };
    list_response(ListShape::Items, &items, call)
}

/// The work request's log: one entry per step it has reached by now (accepted, in progress,
/// then succeeded or failed), each at the time it was reached.
fn logs(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let wr = find(ctx, call.param("id"))?;
    let now = now_ms();
    let what = format!("{} of {} {}", wr.operation_type, wr.entity_type, wr.resource_id);
    let started = wr.accepted_ms + (wr.finish_ms - wr.accepted_ms) / 4;
    let mut steps = vec![(wr.accepted_ms, format!("{what} accepted"))];
    if now >= started {
        steps.push((started, format!("{what} in progress")));
    }
    if now >= wr.finish_ms {
        let end = if wr.fails { "failed (injected fault)" } else { "succeeded" };
        steps.push((wr.finish_ms, format!("{what} {end}")));
    }
    let items: Vec<Value> =
        steps.into_iter().map(|(at, message)| json!({"message": message, "timestamp": rfc3339(at)})).collect();
    list_response(ListShape::Items, &items, call)
}
