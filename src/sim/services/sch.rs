//! Service Connector Hub (`/20200909/serviceConnectors`): connectors with a source and a
//! target; a `functions` target must name an existing function. Creates return only a work
//! request; activate and deactivate move the connector between ACTIVE and INACTIVE.

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::Value;

use crate::sim::call::{empty, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::ocid::new_etag;
use crate::sim::resource::{self, require_active, Kind, ListShape, Prepare, WorkRequestSpec, BASE};
use crate::sim::sorting;
use crate::sim::work_requests;

pub static CONNECTOR: Kind = Kind {
    name: "sch.serviceconnector",
    ocid_type: "serviceconnector",
    work_requests: Some(WorkRequestSpec {
        entity_type: "serviceconnector",
        create_op: Some("CREATE_SERVICE_CONNECTOR"),
        update_op: Some("UPDATE_SERVICE_CONNECTOR"),
        delete_op: Some("DELETE_SERVICE_CONNECTOR"),
    }),
    create_returns_body: false,
    update_returns_body: false,
    list: ListShape::Items,
    prepare: prepare_connector,
    sort_keys: sorting::SCH,
    ..BASE
};

fn prepare_connector(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    p.require("displayName")?;
    let source = p.body.get("source").cloned().ok_or_else(|| ApiError::missing("source"))?;
    let target = p.body.get("target").cloned().ok_or_else(|| ApiError::missing("target"))?;
    if source.get("kind").and_then(Value::as_str).is_none() || target.get("kind").and_then(Value::as_str).is_none() {
        return Err(ApiError::missing("source.kind / target.kind"));
    }
    if target.get("kind").and_then(Value::as_str) == Some("functions") {
        let id =
            target.get("functionId").and_then(Value::as_str).ok_or_else(|| ApiError::missing("target.functionId"))?;
        require_active(p.store, p.region, id, "functions.function")?;
    }
    Ok(())
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    resource::routes(router, &CONNECTOR, &["/20200909/serviceConnectors"])
        .route(
            "/20200909/serviceConnectors/{id}/actions/activate",
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(set_active(&ctx, &call, true)) }),
        )
        .route(
            "/20200909/serviceConnectors/{id}/actions/deactivate",
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(set_active(&ctx, &call, false)) }),
        )
}

fn set_active(ctx: &RegionCtx, call: &Call, on: bool) -> Result<Response, ApiError> {
    let mut store = ctx.sim.store();
    let existing = resource::find(&store, &ctx.region, &CONNECTOR, call.param("id"))?;
    call.check_if_match(&existing.etag)?;
    if !matches!(existing.state(), "ACTIVE" | "INACTIVE") {
        return Err(ApiError::incorrect_state(format!("connector {} is {}.", existing.id, existing.state())));
    }
    let op = if on { "ACTIVATE_SERVICE_CONNECTOR" } else { "DEACTIVATE_SERVICE_CONNECTOR" };
    let wr = work_requests::record(&mut store, ctx, "serviceconnector", op, "UPDATED", &existing, false);
    if let Some(r) = store.resources.get_mut(&existing.id) {
        r.set_state(if on { "ACTIVE" } else { "INACTIVE" });
        r.etag = new_etag();
    }
    drop(store);
    ctx.sim.touch();
    Ok(empty(202, &[("opc-work-request-id", wr)]))
}
