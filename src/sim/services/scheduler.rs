//! Resource Scheduler (`/20240430/schedules`): schedules that start or stop resources on a
//! recurrence. Every listed resource must exist in the region. Schedules never fire; they
//! can be deactivated (INACTIVE) and activated again.

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::Value;

use crate::sim::call::{respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{self, Kind, ListShape, Prepare, BASE};
use crate::sim::sorting;

pub static SCHEDULE: Kind = Kind {
    name: "resourcescheduler.schedule",
    // ListSchedules takes `compartmentId` as an optional filter.
    list_by: None,
    ocid_type: "resourceschedule",
    list: ListShape::Items,
    prepare: prepare_schedule,
    sort_keys: sorting::SCHEDULES,
    ..BASE
};

fn prepare_schedule(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    let action = p.require("action")?;
    if !matches!(action.as_str(), "START_RESOURCE" | "STOP_RESOURCE" | "BACKUP_RESOURCE") {
        return Err(ApiError::invalid("action must be START_RESOURCE, STOP_RESOURCE or BACKUP_RESOURCE."));
    }
    p.require("recurrenceDetails")?;
    p.require("recurrenceType")?;
    let resources = p.body.get("resources").and_then(Value::as_array).cloned().unwrap_or_default();
    for r in resources {
        let id = r.get("id").and_then(Value::as_str).ok_or_else(|| ApiError::missing("resources[].id"))?;
        if p.store.visible(p.region, id).is_none_or(|r| r.gone_at_ms.is_some()) {
            return Err(ApiError::not_found(&format!("resource {id}")));
        }
    }
    Ok(())
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    resource::routes(router, &SCHEDULE, &["/20240430/schedules"])
        .route(
            "/20240430/schedules/{id}/actions/activateSchedule",
            post(|ctx: State<RegionCtx>, call: Call| async move {
                respond(resource::change_state(&ctx, &call, &SCHEDULE, &["INACTIVE"], None, "ACTIVE"))
            }),
        )
        .route(
            "/20240430/schedules/{id}/actions/deactivateSchedule",
            post(|ctx: State<RegionCtx>, call: Call| async move {
                respond(resource::change_state(&ctx, &call, &SCHEDULE, &["ACTIVE"], None, "INACTIVE"))
            }),
        )
}
