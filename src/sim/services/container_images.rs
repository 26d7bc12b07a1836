//! Artifacts container images (`/20160918/container/images`): the manifests of the region's
//! registry, seen through the Artifacts API. Each manifest of a live container repository is
//! one image, AVAILABLE, whose OCID is derived from its repository and digest (so it stays
//! the same across restarts); its `version` is the tag that most recently came to name it.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::artifacts::REPOSITORY;
use crate::sim::call::{empty, json, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::ocid::region_key;
use crate::sim::registry::state::Repository;
use crate::sim::resource::{self, ListShape};
use crate::sim::sorting;
use crate::sim::store::{rfc3339, Resource, Store};

/// One image as the Artifacts API shows it (ContainerImage; the summary is a subset).
fn image(region: &str, repo: &Resource, stored: &Repository, digest: &str) -> Value {
    let name = repo.str_field("displayName").unwrap_or_default();
    let manifest = &stored.manifests[digest];
    let mut tags: Vec<(&String, u64)> = stored
        .tags
        .iter()
        .filter(|(_, d)| d.as_str() == digest)
        .map(|(t, _)| (t, stored.tagged_ms.get(t).copied().unwrap_or(manifest.pushed_ms)))
        .collect();
    tags.sort_by_key(|(t, at)| (*at, (*t).clone()));
    let version = tags.last().map(|(t, _)| t.as_str());
    let display = match version {
        Some(v) => format!("{name}:{v}"),
        None => format!("{name}@{digest}"),
    };
    let doc: Value = serde_json::from_slice(&manifest.bytes.0).unwrap_or(Value::Null);
    let layers: Vec<Value> = doc
        .get("layers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|l| json!({"digest": l.get("digest"), "sizeInBytes": l.get("size"), "timeCreated": rfc3339(manifest.pushed_ms)}))
        .collect();
    let layers_size: u64 = doc
        .get("layers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("size").and_then(Value::as_u64))
        .sum();
    let versions: Vec<Value> = tags
        .iter()
        .rev()
        .map(|(t, at)| json!({"version": t, "timeCreated": rfc3339(*at), "createdBy": null}))
        .collect();
    json!({
        "id": image_id(region, &repo.id, digest),
        "compartmentId": repo.str_field("compartmentId"),
        "repositoryId": repo.id,
        "repositoryName": name,
        "digest": digest,
        "displayName": display,
        "version": version,
        "versions": versions,
        "lifecycleState": "AVAILABLE",
        "timeCreated": rfc3339(manifest.pushed_ms),
        "layers": layers,
        "layersSizeInBytes": layers_size,
        "manifestSizeInBytes": manifest.bytes.0.len(),
        "freeformTags": {},
        "definedTags": {},
        "systemTags": {},
    })
}

/// `ocid1.containerimage.oc1.<region key>.<60 hex digits>`, from the repository and digest.
fn image_id(region: &str, repository: &str, digest: &str) -> String {
    let hash = crate::hash::sha256_hex(format!("{repository} {digest}").as_bytes());
    format!("ocid1.containerimage.oc1.{}.{}", region_key(region), &hash[..60])
}

const SUMMARY: [&str; 12] = [
    "compartmentId",
    "digest",
    "displayName",
    "id",
    "lifecycleState",
    "repositoryId",
    "repositoryName",
    "timeCreated",
    "version",
    "freeformTags",
    "definedTags",
    "systemTags",
];

/// Every image of the region's live container repositories.
fn images(store: &Store, region: &str) -> Vec<Value> {
    let namespace_of = |r: &Resource| r.str_field("namespace").unwrap_or_default().to_owned();
    let mut out = Vec::new();
    for repo in store.of_kind(region, REPOSITORY.name).filter(|r| r.gone_at_ms.is_none() && r.state() == "AVAILABLE") {
        let path = format!("{}/{}", namespace_of(repo), repo.str_field("displayName").unwrap_or_default());
        let Some(stored) = store.registry.repository(region, &path) else { continue };
        for digest in stored.manifests.keys() {
            out.push(image(region, repo, stored, digest));
        }
    }
    out
}

/// `ListContainerImages`: by compartment, with the documented filters.
fn list(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let compartment = call.query_value("compartmentId").ok_or_else(|| ApiError::missing("compartmentId"))?;
    let store = ctx.sim.store();
    resource::check_compartment(&ctx.sim, &store, &ctx.region, compartment)?;
    if let Some(state) = call.query_value("lifecycleState") {
        if !matches!(state, "AVAILABLE" | "DELETED" | "DELETING") {
            return Err(ApiError::invalid(format!(
                "lifecycleState `{state}` is not one of AVAILABLE, DELETED, DELETING."
            )));
        }
    }
    let versioned = match call.query_value("isVersioned") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => return Err(ApiError::invalid(format!("isVersioned must be true or false, not `{other}`."))),
    };
    let filter = |field: &str, param: &str, image: &Value| {
        call.query_value(param).is_none_or(|v| image.get(field).and_then(Value::as_str) == Some(v))
    };
    let mut items: Vec<Value> = images(&store, &ctx.region)
        .into_iter()
        .filter(|i| i.get("compartmentId").and_then(Value::as_str) == Some(compartment))
        .filter(|i| {
            filter("repositoryId", "repositoryId", i)
                && filter("repositoryName", "repositoryName", i)
                && filter("displayName", "displayName", i)
                && filter("digest", "imageDigest", i)
                && filter("id", "imageId", i)
                && filter("lifecycleState", "lifecycleState", i)
                && call.query_value("version").is_none_or(|v| {
                    i["versions"].as_array().into_iter().flatten().any(|t| t["version"].as_str() == Some(v))
                })
                && versioned.is_none_or(|want| i["version"].is_string() == want)
        })
        .map(|i| Value::Object(SUMMARY.iter().map(|f| ((*f).to_owned(), i[*f].clone())).collect()))
        .collect();
    drop(store);
    sorting::sort(&mut items, &call.query, sorting::UPPER_DISPLAY_NAME)?;
    resource::list_response(ListShape::Counted { totals: None }, &items, call)
}

/// The image of `id`, or 404.
fn find(store: &Store, region: &str, id: &str) -> Result<Value, ApiError> {
    images(store, region)
        .into_iter()
        .find(|i| i["id"].as_str() == Some(id))
        .ok_or_else(|| ApiError::not_found(&format!("container image {id}")))
}

/// The etag of an image: it changes with what the image shows (a tag moved to or from it).
fn etag(image: &Value) -> String {
    crate::hash::sha256_hex(image.to_string().as_bytes())[..32].to_owned()
}

/// `GetContainerImage`.
fn get_one(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let image = find(&ctx.sim.store(), &ctx.region, call.param("id"))?;
    Ok(json(200, &image, &[("etag", etag(&image))]))
}

/// `DeleteContainerImage`: the manifest leaves the registry with every tag naming it, as a
/// delete by digest through the registry does; 204.
fn delete(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let id = call.param("id");
    let mut store = ctx.sim.store();
    let image = find(&store, &ctx.region, id)?;
    call.check_if_match(&etag(&image))?;
    let display = image["repositoryName"].as_str().unwrap_or_default().to_owned();
    let digest = image["digest"].as_str().unwrap_or_default().to_owned();
    let namespace = image["repositoryId"]
        .as_str()
        .and_then(|r| store.resources.get(r))
        .and_then(|r| r.str_field("namespace"))
        .unwrap_or_default()
        .to_owned();
    let path = format!("{namespace}/{display}");
    if let Some(repo) = store.registry.region_mut(&ctx.region).repositories.get_mut(&path) {
        repo.remove_manifest(&digest);
    }
    crate::sim::registry::access::refresh_counts(ctx, &mut store, &path, &display);
    drop(store);
    ctx.sim.touch();
    Ok(empty(204, &[]))
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    router
        .route(
            "/20160918/container/images",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(list(&ctx, &call)) }),
        )
        .route(
            "/20160918/container/images/{id}",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(get_one(&ctx, &call)) })
                .delete(|ctx: State<RegionCtx>, call: Call| async move { respond(delete(&ctx, &call)) }),
        )
}
