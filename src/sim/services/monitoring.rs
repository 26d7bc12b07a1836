//! Monitoring (`/20180401/alarms`): alarms, created directly ACTIVE, with the fields OCI
//! requires checked. Alarms are never evaluated, as no metrics are simulated: their status
//! (`/20180401/alarms/status`) is OK, or SUSPENDED while a suppression covers the present.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::sim::call::{respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{self, Kind, ListShape, Prepare, BASE, IMMEDIATE};
use crate::sim::sorting;
use crate::sim::store::{now_ms, parse_rfc3339, Resource};

pub static ALARM: Kind = Kind {
    name: "monitoring.alarm",
    ocid_type: "alarm",
    lifecycle: IMMEDIATE,
    prepare: prepare_alarm,
    sort_keys: sorting::ALARMS,
    ..BASE
};

fn prepare_alarm(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    for field in ["displayName", "metricCompartmentId", "namespace", "query", "severity"] {
        p.require(field)?;
    }
    if !matches!(p.str("severity").as_deref(), Some("CRITICAL" | "ERROR" | "WARNING" | "INFO")) {
        return Err(ApiError::invalid("severity must be CRITICAL, ERROR, WARNING or INFO."));
    }
    if p.body.get("destinations").and_then(Value::as_array).is_none() {
        return Err(ApiError::missing("destinations"));
    }
    if p.body.get("isEnabled").and_then(Value::as_bool).is_none() {
        return Err(ApiError::missing("isEnabled"));
    }
    p.default("metricCompartmentIdInSubtree", json!(false));
    p.default("resolution", json!("1m"));
    Ok(())
}

/// Whether a suppression covers `now`: from `timeSuppressFrom` (or always) until
/// `timeSuppressUntil`.
fn suppressed(alarm: &Resource, now: u64) -> bool {
    let Some(suppression) = alarm.body.get("suppression").filter(|s| s.is_object()) else { return false };
    let time = |field: &str| suppression.get(field).and_then(Value::as_str).and_then(parse_rfc3339);
    time("timeSuppressFrom").is_none_or(|from| from <= now)
        && time("timeSuppressUntil").is_some_and(|until| now < until)
}

/// `ListAlarmsStatus`: one AlarmStatusSummary per live alarm of the compartment, filtered by
/// `displayName` and `status`.
fn status(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let compartment = call.query_value("compartmentId").ok_or_else(|| ApiError::missing("compartmentId"))?;
    let store = ctx.sim.store();
    resource::check_compartment(&ctx.sim, &store, &ctx.region, compartment)?;
    if let Some(wanted) = call.query_value("status") {
        // The filter takes these two only, although a status can also be SUSPENDED.
        if !matches!(wanted, "FIRING" | "OK") {
            return Err(ApiError::invalid(format!("status `{wanted}` is not one of FIRING, OK.")));
        }
    }
    let now = now_ms();
    let mut items: Vec<Value> = store
        .of_kind(&ctx.region, ALARM.name)
        .filter(|a| a.state() == "ACTIVE" && a.str_field("compartmentId") == Some(compartment))
        .map(|a| {
            let status = if suppressed(a, now) { "SUSPENDED" } else { "OK" };
            json!({
                "id": a.id,
                "displayName": a.str_field("displayName"),
                "severity": a.str_field("severity"),
                "ruleName": a.str_field("ruleName").unwrap_or("BASE"),
                "timestampTriggered": a.str_field("timeUpdated"),
                "alarmSummary": a.body.get("alarmSummary").cloned().unwrap_or(Value::Null),
                "status": status,
                "suppression": a.body.get("suppression").cloned().unwrap_or(Value::Null),
            })
        })
        .filter(|s| {
            let matches =
                |field: &str| call.query_value(field).is_none_or(|v| s.get(field).and_then(Value::as_str) == Some(v));
            matches("displayName") && matches("status")
        })
        .collect();
    drop(store);
    sorting::sort(&mut items, &call.query, sorting::ALARMS)?;
    resource::list_response(ListShape::Array, &items, call)
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    resource::routes(router, &ALARM, &["/20180401/alarms"]).route(
        "/20180401/alarms/status",
        get(|ctx: State<RegionCtx>, call: Call| async move { respond(status(&ctx, &call)) }),
    )
}
