//! The secrets retrieval service (`/20190301/secretbundles`): a secret's content by version,
//! version name or rotation stage, base64 as stored. It reads secrets the vault service
//! keeps and never changes them.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::secret_versions::{Versions, Wanted};
use super::vault::SECRET;
use crate::sim::call::{json, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource;
use crate::sim::store::Resource;

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    router.route(
        "/20190301/secretbundles/{id}",
        get(|ctx: State<RegionCtx>, call: Call| async move { respond(by_id(&ctx, &call)) }),
    )
}

/// `GetSecretBundle`.
fn by_id(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let secret = resource::find(&ctx.sim.store(), &ctx.region, &SECRET, call.param("id"))?;
    bundle(&secret, &Wanted::from_query(call)?)
}

/// The bundle of the version `wanted` names, of an ACTIVE secret.
fn bundle(secret: &Resource, wanted: &Wanted) -> Result<Response, ApiError> {
    if secret.state() != "ACTIVE" {
        return Err(ApiError::incorrect_state(format!("secret {} is {}.", secret.id, secret.state())));
    }
    let versions = Versions::of(secret);
    let version = versions.select(wanted)?;
    let number = Versions::number(version);
    let body = json!({
        "secretId": secret.id,
        "versionNumber": number,
        "versionName": version.get("name").cloned().unwrap_or(Value::Null),
        "timeCreated": version.get("timeCreated"),
        "stages": versions.stages(number),
        "metadata": secret.body.get("metadata"),
        "secretBundleContent": {"contentType": "BASE64", "content": version.get("content")},
    });
    Ok(json(200, &body, &[]))
}
