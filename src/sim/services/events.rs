//! Events (`/20181201/rules`): rules with a JSON condition and actions. A FAAS action must
//! name an existing function in the region; each action gets its own id and state.

use axum::Router;
use serde_json::{json, Value};

use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::ocid::{new_ocid, region_key};
use crate::sim::resource::{self, require_active, Kind, Prepare, BASE};
use crate::sim::sorting;

pub static RULE: Kind =
    Kind { name: "events.rule", ocid_type: "eventrule", prepare: prepare_rule, sort_keys: sorting::EVENTS, ..BASE };

fn prepare_rule(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    p.require("displayName")?;
    let condition = p.require("condition")?;
    if serde_json::from_str::<Value>(&condition).map(|v| !v.is_object()).unwrap_or(true) {
        return Err(ApiError::invalid("condition must be a JSON object in a string."));
    }
    if p.body.get("isEnabled").and_then(Value::as_bool).is_none() {
        return Err(ApiError::missing("isEnabled"));
    }
    let requested = p
        .body
        .get("actions")
        .and_then(|a| a.get("actions"))
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::missing("actions"))?;
    if requested.is_empty() {
        return Err(ApiError::invalid("actions.actions must hold at least one action (FAAS, ONS or OSS)."));
    }
    let key = region_key(p.region);
    let mut actions = Vec::new();
    for action in requested {
        let Value::Object(mut a) = action else { return Err(ApiError::invalid("Each action must be an object.")) };
        let (kind, field) = match a.get("actionType").and_then(Value::as_str) {
            Some("FAAS") => ("functions.function", "functionId"),
            Some("ONS") => ("", "topicId"),
            Some("OSS") => ("", "streamId"),
            _ => return Err(ApiError::invalid("actionType must be FAAS, ONS or OSS.")),
        };
        let target = a.get(field).and_then(Value::as_str).ok_or_else(|| ApiError::missing(field))?.to_string();
        if !kind.is_empty() {
            require_active(p.store, p.region, &target, kind)?;
        }
        a.entry("id").or_insert_with(|| json!(new_ocid("eventaction", &key)));
        a.insert("lifecycleState".into(), json!("ACTIVE"));
        a.entry("isEnabled").or_insert(json!(true));
        actions.push(Value::Object(a));
    }
    p.body.insert("actions".into(), json!({ "actions": actions }));
    Ok(())
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    resource::routes(router, &RULE, &["/20181201/rules"])
}
