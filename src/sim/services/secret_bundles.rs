//! The secrets retrieval service (`/20190301/secretbundles`): a secret's content by id or by
//! name in its vault, chosen by version, version name or rotation stage, base64 as stored,
//! and the list of its versions. It reads secrets the vault service
//! keeps and never changes them.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::secret_versions::{Versions, Wanted};
use super::vault::SECRET;
use crate::sim::call::{json, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{self, ListShape};
use crate::sim::sorting;
use crate::sim::store::Resource;

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    router
        .route(
            "/20190301/secretbundles/{id}",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(by_id(&ctx, &call)) }),
        )
        .route(
            "/20190301/secretbundles/actions/getByName",
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(by_name(&ctx, &call)) }),
        )
        .route(
            "/20190301/secretbundles/{id}/versions",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(versions(&ctx, &call)) }),
        )
}

/// `GetSecretBundle`.
fn by_id(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let secret = resource::find(&ctx.sim.store(), &ctx.region, &SECRET, call.param("id"))?;
    bundle(&secret, &Wanted::from_query(call)?)
}

/// `GetSecretBundleByName`: the secret named `secretName` in the vault `vaultId` (names are
/// unique within a vault).
fn by_name(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let name = call.query_value("secretName").ok_or_else(|| ApiError::missing("secretName"))?;
    let vault = call.query_value("vaultId").ok_or_else(|| ApiError::missing("vaultId"))?;
    let store = ctx.sim.store();
    let secret = store
        .of_kind(&ctx.region, SECRET.name)
        .find(|s| {
            s.gone_at_ms.is_none() && s.str_field("secretName") == Some(name) && s.str_field("vaultId") == Some(vault)
        })
        .cloned()
        .ok_or_else(|| ApiError::not_found(&format!("secret `{name}` in vault {vault}")))?;
    drop(store);
    bundle(&secret, &Wanted::from_query(call)?)
}

/// `ListSecretBundleVersions`: every version with its stages, no content.
fn versions(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let secret = resource::find(&ctx.sim.store(), &ctx.region, &SECRET, call.param("id"))?;
    let mut items = Versions::of(&secret).summaries(|versions, v| {
        let mut out = versions.common(v);
        out.insert("versionName".into(), v.get("name").cloned().unwrap_or(Value::Null));
        Value::Object(out)
    });
    sorting::sort(&mut items, &call.query, sorting::SECRET_VERSIONS)?;
    resource::list_response(ListShape::Array, &items, call)
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
