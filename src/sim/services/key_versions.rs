//! KMS key versions and key states on a vault's management endpoint: CreateKeyVersion
//! (rotation: the new version becomes the key's current one), ListKeyVersions,
//! GetKeyVersion, EnableKey and DisableKey. A key is made with its first version; versions
//! are kept in the key's stored body and never leave it but through these calls.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::vault::KEY;
use crate::sim::call::{json, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::ocid::{new_etag, new_ocid, region_key};
use crate::sim::resource::{self, ListShape};
use crate::sim::sorting;
use crate::sim::store::{now_ms, rfc3339};

/// The stored body field holding a key's versions, oldest first.
pub const VERSIONS: &str = "_keyVersions";

/// The first version of a key being made: its id, and the stored versions list.
pub fn first_version(region: &str, key_id: &str, vault_id: &str, compartment: &str) -> (String, Value) {
    let version = new_version(region, key_id, vault_id, compartment, now_ms());
    let id = version["id"].as_str().unwrap_or_default().to_owned();
    (id, json!([version]))
}

fn new_version(region: &str, key_id: &str, vault_id: &str, compartment: &str, now: u64) -> Value {
    json!({
        "id": new_ocid("keyversion", &region_key(region)),
        "keyId": key_id,
        "vaultId": vault_id,
        "compartmentId": compartment,
        "origin": "INTERNAL",
        "isPrimary": true,
        "isAutoRotated": false,
        "lifecycleState": "ENABLED",
        "timeCreated": rfc3339(now),
    })
}

fn versions(key: &crate::sim::store::Resource) -> Vec<Value> {
    key.body.get(VERSIONS).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// `CreateKeyVersion`: rotates an ENABLED key.
fn create(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let mut store = ctx.sim.store();
    let key = resource::find(&store, &ctx.region, &KEY, call.param("id"))?;
    if key.state() != "ENABLED" {
        return Err(ApiError::incorrect_state(format!(
            "{} {} is {}; only an ENABLED key can be rotated.",
            KEY.name,
            key.id,
            key.state()
        )));
    }
    let now = now_ms();
    let version = new_version(
        &ctx.region,
        &key.id,
        key.str_field("vaultId").unwrap_or_default(),
        key.str_field("compartmentId").unwrap_or_default(),
        now,
    );
    let Some(r) = store.resources.get_mut(&key.id) else {
        return Err(ApiError::not_found(&format!("{} {}", KEY.name, key.id)));
    };
    let mut all = versions(r);
    all.push(version.clone());
    if let Some(body) = r.body.as_object_mut() {
        body.insert(VERSIONS.into(), json!(all));
        body.insert("currentKeyVersion".into(), version["id"].clone());
        body.insert("timeOfLastRotation".into(), json!(rfc3339(now)));
        body.insert("timeUpdated".into(), json!(rfc3339(now)));
    }
    r.etag = new_etag();
    drop(store);
    ctx.sim.touch();
    Ok(json(200, &version, &[("etag", new_etag())]))
}

/// `ListKeyVersions`.
fn list(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let key = resource::find(&ctx.sim.store(), &ctx.region, &KEY, call.param("id"))?;
    let mut items = versions(&key);
    sorting::sort(&mut items, &call.query, sorting::UPPER_DISPLAY_NAME)?;
    resource::list_response(ListShape::Array, &items, call)
}

/// `GetKeyVersion`.
fn get_one(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let key = resource::find(&ctx.sim.store(), &ctx.region, &KEY, call.param("id"))?;
    let wanted = call.param("version");
    versions(&key)
        .into_iter()
        .find(|v| v.get("id").and_then(Value::as_str) == Some(wanted))
        .map(|v| json(200, &v, &[("etag", new_etag())]))
        .ok_or_else(|| ApiError::not_found(&format!("key version {wanted} of key {}", key.id)))
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    router
        .route(
            "/20180608/keys/{id}/keyVersions",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(list(&ctx, &call)) })
                .post(|ctx: State<RegionCtx>, call: Call| async move { respond(create(&ctx, &call)) }),
        )
        .route(
            "/20180608/keys/{id}/keyVersions/{version}",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(get_one(&ctx, &call)) }),
        )
        .route(
            "/20180608/keys/{id}/actions/enable",
            post(|ctx: State<RegionCtx>, call: Call| async move {
                respond(resource::change_state(&ctx, &call, &KEY, &["DISABLED"], Some("ENABLING"), "ENABLED"))
            }),
        )
        .route(
            "/20180608/keys/{id}/actions/disable",
            post(|ctx: State<RegionCtx>, call: Call| async move {
                respond(resource::change_state(&ctx, &call, &KEY, &["ENABLED"], Some("DISABLING"), "DISABLED"))
            }),
        )
}
