//! Limits (`/20190729`): the limit values the simulator enforces (defaults, or `--limit
//! name=N`) and their resource availability. Creates past a limit fail with 400
//! LimitExceeded in `resource.rs`; this file only reports.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::sim::call::{json, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{self, Kind, ListShape};

/// Every kind that has a limit.
fn limited() -> Vec<&'static Kind> {
    vec![&super::functions::FUNCTION]
}

/// The names of the limits the simulator enforces (what `--limit NAME=N` may set).
pub fn names() -> Vec<&'static str> {
    limited().iter().filter_map(|kind| kind.limit.map(|spec| spec.name)).collect()
}

fn value_of(ctx: &RegionCtx, kind: &Kind) -> Option<(&'static str, &'static str, u64)> {
    let spec = kind.limit?;
    Some((spec.service, spec.name, ctx.sim.settings.limits.get(spec.name).copied().unwrap_or(spec.default)))
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    router
        .route(
            "/20190729/limitValues",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(values(&ctx, &call)) }),
        )
        .route(
            "/20190729/services/{service}/limits/{limit}/resourceAvailability",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(availability(&ctx, &call)) }),
        )
}

fn values(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let service = call.query_value("serviceName").ok_or_else(|| ApiError::missing("serviceName"))?;
    let items: Vec<Value> = limited()
        .into_iter()
        .filter_map(|k| value_of(ctx, k))
        .filter(|(s, _, _)| *s == service)
        .map(
            |(_, name, value)| json!({"name": name, "scopeType": "REGION", "availabilityDomain": null, "value": value}),
        )
        .collect();
    resource::list_response(ListShape::Array, &items, call)
}

/// `used` is the fullest scope (for per-application limits, the application with the
/// most functions), so `available` is what every scope can still take.
fn availability(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let (service, limit) = (call.param("service"), call.param("limit"));
    let kind = limited()
        .into_iter()
        .find(|k| value_of(ctx, k).is_some_and(|(s, n, _)| s == service && n == limit))
        .ok_or_else(|| ApiError::not_found(&format!("limit {service}/{limit}")))?;
    let (_, _, max) = value_of(ctx, kind).unwrap_or(("", "", 0));
    let scope_field = kind.limit.map(|l| l.scope_field).unwrap_or("");
    let store = ctx.sim.store();
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for r in store.of_kind(&ctx.region, kind.name).filter(|r| r.gone_at_ms.is_none()) {
        *counts.entry(r.str_field(scope_field).unwrap_or_default().to_string()).or_default() += 1;
    }
    let used = counts.values().copied().max().unwrap_or(0);
    Ok(json(200, &json!({"used": used, "available": max.saturating_sub(used)}), &[]))
}
