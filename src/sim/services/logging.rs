//! Logging (`/20200531`): log groups and the logs inside them (nested paths
//! `/logGroups/{id}/logs/{logId}`). Creates return no body, only a work request, as OCI's
//! do; a log group cannot be deleted while it holds logs.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map};

use crate::sim::call::{respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{self, refuse_if_children, unique_in_compartment, Kind, Prepare, WorkRequestSpec, BASE};
use crate::sim::sorting;

pub static LOG_GROUP: Kind = Kind {
    name: "logging.loggroup",
    ocid_type: "loggroup",
    work_requests: Some(WorkRequestSpec {
        entity_type: "loggroup",
        create_op: Some("CREATE_LOG_GROUP"),
        update_op: Some("UPDATE_LOG_GROUP"),
        delete_op: Some("DELETE_LOG_GROUP"),
    }),
    create_returns_body: false,
    update_returns_body: false,
    prepare: prepare_group,
    sort_keys: sorting::CAMEL_DISPLAY_NAME,
    before_delete: Some(|store, g| refuse_if_children(store, g, "logging.log", "logGroupId", &[])),
    ..BASE
};

pub static LOG: Kind = Kind {
    name: "logging.log",
    // Listed under its log group's path (the group's id joins the query).
    list_by: Some(("logGroupId", Some("logging.loggroup"))),
    ocid_type: "log",
    work_requests: Some(WorkRequestSpec {
        entity_type: "log",
        create_op: Some("CREATE_LOG"),
        update_op: Some("UPDATE_LOG"),
        delete_op: Some("DELETE_LOG"),
    }),
    create_returns_body: false,
    update_returns_body: false,
    prepare: prepare_log,
    sort_keys: sorting::CAMEL_DISPLAY_NAME,
    ..BASE
};

fn prepare_group(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    p.require("displayName")?;
    unique_in_compartment(p, LOG_GROUP.name, "displayName")
}

fn prepare_log(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    let name = p.require("displayName")?;
    let group = p.reference("logGroupId", LOG_GROUP.name)?;
    // A log's name is unique in its log group.
    let clash = p.store.of_kind(p.region, LOG.name).any(|r| {
        r.id != p.id
            && r.gone_at_ms.is_none()
            && r.str_field("logGroupId") == Some(group.id.as_str())
            && r.str_field("displayName") == Some(name.as_str())
    });
    if clash {
        return Err(ApiError::conflict(format!("A log named `{name}` already exists in log group {}.", group.id)));
    }
    let log_type = p.require("logType")?;
    if log_type != "CUSTOM" && log_type != "SERVICE" {
        return Err(ApiError::invalid("logType must be CUSTOM or SERVICE."));
    }
    p.body.insert("compartmentId".into(), group.body.get("compartmentId").cloned().unwrap_or_default());
    p.body.insert("tenancyId".into(), json!(p.sim.settings.tenancy));
    p.default("isEnabled", json!(true));
    p.default("retentionDuration", json!(30));
    // In 30-day steps, from 30 to 180 days.
    let days = p.whole_number("retentionDuration")?;
    if let Some(days) = days.filter(|d| *d % 30 != 0 || !(30..=180).contains(d)) {
        return Err(ApiError::invalid(format!("retentionDuration {days} must be 30, 60, 90, 120, 150 or 180 (days).")));
    }
    Ok(())
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    let router = resource::routes(router, &LOG_GROUP, &["/20200531/logGroups"]);
    router
        .route(
            "/20200531/logGroups/{id}/logs",
            get(|ctx: State<RegionCtx>, call: Call| async move {
                let mut call = call;
                call.query.push(("logGroupId".into(), call.param("id").to_string()));
                respond(resource::list(&ctx, &LOG, &call))
            })
            .post(|ctx: State<RegionCtx>, call: Call| async move {
                let preset: Map<String, serde_json::Value> =
                    [("logGroupId".to_string(), json!(call.param("id")))].into_iter().collect();
                respond(resource::create(&ctx, &LOG, &call, preset))
            }),
        )
        .route(
            "/20200531/logGroups/{id}/logs/{log_id}",
            get(|ctx: State<RegionCtx>, call: Call| async move {
                respond(resource::get_one(&ctx, &LOG, &call, call.param("log_id")))
            })
            .put(|ctx: State<RegionCtx>, call: Call| async move {
                respond(resource::update(&ctx, &LOG, &call, call.param("log_id")))
            })
            .delete(|ctx: State<RegionCtx>, call: Call| async move {
                respond(resource::delete(&ctx, &LOG, &call, call.param("log_id")))
            }),
        )
}
