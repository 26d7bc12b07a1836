//! Who may use a region's registry and which repository a name means: optional basic
//! authentication (`--registry-auth user:pass`), repository name rules, the tenancy
//! namespace as the first path component (as OCIR requires), and the Artifacts container
//! repository behind each registry repository — created on first push when none matches,
//! as OCIR does in the root compartment, and kept up to date with image counts.
//!
//! It never reads or writes blob or manifest content.

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::json;

use super::errors::DistError;
use crate::sim::context::RegionCtx;
use crate::sim::ocid::{new_etag, new_ocid, region_key};
use crate::sim::services::artifacts::REPOSITORY;
use crate::sim::store::{now_ms, rfc3339, Resource, Store};

/// Where a region's registry hands out tokens, as OCIR does.
pub const TOKEN_PATH: &str = "/20180419/docker/token";

/// Refuses a request without credentials, when any are configured: as OCIR, with a `Bearer`
/// challenge naming the token service ([`TOKEN_PATH`]), whose token the request must then
/// carry. The configured basic credentials are taken on the request itself too.
pub fn authorize(ctx: &RegionCtx, headers: &HeaderMap) -> Result<(), DistError> {
    let Some((user, password)) = &ctx.sim.settings.registry_auth else { return Ok(()) };
    let given = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let bearer = || given.strip_prefix("Bearer ").is_some_and(|t| t == token(ctx, user, password));
    if given == basic(user, password) || bearer() {
        return Ok(());
    }
    let service = crate::oci::endpoints::ocir_host(&ctx.region).unwrap_or_else(|_| ctx.region.clone());
    Err(DistError::bearer_challenge(&format!("{}{TOKEN_PATH}", ctx.sim.base(&ctx.region)), &service))
}

/// `GET` [`TOKEN_PATH`]: a token for the configured basic credentials (401 without them).
pub fn issue_token(ctx: &RegionCtx, headers: &HeaderMap) -> Result<serde_json::Value, DistError> {
    let refused = || DistError::unauthorized(&format!("drctl-sim {}", ctx.region));
    let Some((user, password)) = &ctx.sim.settings.registry_auth else {
        // No credentials configured: the registry takes anonymous requests, and any token.
        return Ok(json!({"token": "anonymous", "access_token": "anonymous", "expires_in": 300}));
    };
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic(user, password).as_str()) {
        return Err(refused());
    }
    let token = token(ctx, user, password);
    Ok(json!({"token": token, "access_token": token, "expires_in": 300}))
}

/// The `Authorization` header of the configured basic credentials.
fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
}

/// The token of a region's registry for the configured credentials.
fn token(ctx: &RegionCtx, user: &str, password: &str) -> String {
    use sha2::{Digest, Sha256};
    let seed = format!("{}\n{}\n{user}\n{password}", ctx.sim.settings.tenancy, ctx.region);
    crate::hash::hex(&Sha256::digest(seed.as_bytes()))
}

/// Checks a repository name: lower-case path components, the first being this tenancy's
/// namespace. Returns the path after the namespace (the container repository's name).
pub fn check_name<'a>(ctx: &RegionCtx, name: &'a str) -> Result<&'a str, DistError> {
    let valid = !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
                && c.as_bytes()[0].is_ascii_alphanumeric()
                && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric()
        });
    if !valid {
        return Err(DistError::name_invalid(name));
    }
    let namespace = &ctx.sim.settings.namespace;
    match name.split_once('/') {
        Some((ns, rest)) if ns == namespace => Ok(rest),
        _ => Err(DistError::name_unknown(format!(
            "repository {name} is not in this tenancy's namespace; use {namespace}/<repository>"
        ))
        .with_detail(json!({ "name": name }))),
    }
}

/// The container repository named `display_name` in `region`, if any.
fn find_repository<'a>(store: &'a Store, region: &'a str, display_name: &str) -> Option<&'a Resource> {
    store
        .of_kind(region, REPOSITORY.name)
        .find(|r| r.gone_at_ms.is_none() && r.str_field("displayName") == Some(display_name))
}

/// Makes sure a container repository exists for a push to `display_name`, creating it in
/// the root compartment when none does.
pub fn ensure_repository(ctx: &RegionCtx, store: &mut Store, display_name: &str) {
    if find_repository(store, &ctx.region, display_name).is_some() {
        return;
    }
    let id = new_ocid(REPOSITORY.ocid_type, &region_key(&ctx.region));
    let now = rfc3339(now_ms());
    let body = json!({
        "compartmentId": ctx.sim.settings.tenancy,
        "displayName": display_name,
        "id": id,
        "lifecycleState": "AVAILABLE",
        "timeCreated": now,
        "timeUpdated": now,
        "isPublic": false,
        "isImmutable": false,
        "imageCount": 0,
        "layerCount": 0,
        "layersSizeInBytes": 0,
        "billableSizeInGBs": 0,
        "namespace": ctx.sim.settings.namespace,
        "freeformTags": {},
        "definedTags": {},
    });
    store.insert(Resource {
        kind: REPOSITORY.name.into(),
        region: ctx.region.clone(),
        global: false,
        id,
        etag: new_etag(),
        seq: 0,
        body,
        pending: None,
        gone_at_ms: None,
    });
}

/// Refreshes the image and layer figures of the container repository behind `name`.
pub fn refresh_counts(ctx: &RegionCtx, store: &mut Store, name: &str, display_name: &str) {
    let (images, layers) =
        store.registry.repository(&ctx.region, name).map(|r| (r.manifests.len(), r.blobs.len())).unwrap_or_default();
    let size = store.registry.linked_size(&ctx.region, name);
    let Some(id) = find_repository(store, &ctx.region, display_name).map(|r| r.id.clone()) else { return };
    if let Some(body) = store.resources.get_mut(&id).and_then(|r| r.body.as_object_mut()) {
        body.insert("imageCount".into(), json!(images));
        body.insert("layerCount".into(), json!(layers));
        body.insert("layersSizeInBytes".into(), json!(size));
    }
}
