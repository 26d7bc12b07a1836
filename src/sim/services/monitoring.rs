//! Monitoring (`/20180401/alarms`): alarms, created directly ACTIVE, with the fields OCI
//! requires checked. Alarms are never evaluated; no metrics are simulated.

use axum::Router;
use serde_json::{json, Value};

use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{self, Kind, Prepare, BASE, IMMEDIATE};
use crate::sim::sorting;

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

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    resource::routes(router, &ALARM, &["/20180401/alarms"])
}
