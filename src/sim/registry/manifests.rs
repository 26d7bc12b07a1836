//! Manifest and tag endpoints of the simulated registry: `HEAD`/`GET`/`PUT`/`DELETE
//! /v2/<name>/manifests/<tag|digest>` and `GET /v2/<name>/tags/list`.
//!
//! A `PUT` is verified before anything is stored: a known media type, schema version 2,
//! the digest when the reference is one, and every blob (or child manifest of an index)
//! present in the repository. A `GET` negotiates with `Accept`: a client that does not
//! accept an index or manifest list gets the linux/amd64 image it lists, as the reference
//! registry does. Bytes are always served exactly as pushed.

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};

use super::access::{ensure_repository, refresh_counts};
use super::errors::DistError;
use super::reply;
use super::state::{is_digest, sha256_digest, Bytes64, StoredManifest};
use crate::sim::call::Call;
use crate::sim::context::RegionCtx;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

/// `HEAD`/`GET`/`PUT`/`DELETE` of a manifest.
pub fn manifest(
    ctx: &RegionCtx,
    method: &Method,
    call: &Call,
    name: &str,
    display: &str,
    reference: &str,
) -> Result<Response, DistError> {
    match *method {
        Method::GET | Method::HEAD => get(ctx, *method == Method::HEAD, call, name, reference),
        Method::PUT => put(ctx, call, name, display, reference),
        Method::DELETE => delete(ctx, name, display, reference),
        _ => Err(DistError::unsupported(format!("{method} is not supported on manifests"))),
    }
}

/// Whether the `Accept` header admits `media_type` (no header admits everything).
fn accepts(call: &Call, media_type: &str) -> bool {
    let values: Vec<&str> = call.headers.get_all("accept").iter().filter_map(|v| v.to_str().ok()).collect();
    values.is_empty()
        || values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|t| t.split(';').next().unwrap_or("").trim())
            .any(|t| t == media_type || t == "*/*")
}

fn get(ctx: &RegionCtx, head: bool, call: &Call, name: &str, reference: &str) -> Result<Response, DistError> {
    let store = ctx.sim.store();
    let registry = &store.registry;
    let mut digest =
        registry.resolve(&ctx.region, name, reference).ok_or_else(|| DistError::manifest_unknown(reference))?;
    let repo = registry.repository(&ctx.region, name).ok_or_else(|| DistError::manifest_unknown(reference))?;
    let mut stored = repo.manifests.get(&digest).ok_or_else(|| DistError::manifest_unknown(reference))?;
    if !accepts(call, &stored.media_type) {
        let child = is_index(&stored.media_type).then(|| amd64_child(&stored.bytes.0)).flatten();
        match child.and_then(|d| repo.manifests.get(&d).map(|m| (d, m))) {
            Some((d, m)) if accepts(call, &m.media_type) => {
                digest = d;
                stored = m;
            }
            _ => {
                return Err(DistError::manifest_unknown(reference).with_detail(json!({
                    "reference": reference,
                    "reason": format!("the manifest is {}, which the Accept header does not admit", stored.media_type),
                })))
            }
        }
    }
    let headers = [
        ("content-type", stored.media_type.clone()),
        ("docker-content-digest", digest.clone()),
        ("content-length", stored.bytes.0.len().to_string()),
        ("etag", format!("\"{digest}\"")),
    ];
    let body = if head { Vec::new() } else { stored.bytes.0.clone() };
    Ok(reply(200, &headers, body))
}

/// The digest of the linux/amd64 entry of an index, if it has one.
fn amd64_child(bytes: &[u8]) -> Option<String> {
    let index: Value = serde_json::from_slice(bytes).ok()?;
    index.get("manifests")?.as_array()?.iter().find_map(|m| {
        let p = m.get("platform")?;
        (p.get("os")? == "linux" && p.get("architecture")? == "amd64")
            .then(|| m.get("digest")?.as_str().map(str::to_string))?
    })
}

/// Digests a manifest references that must already be in the repository, with whether
/// each is a manifest (index children) or a blob.
fn references(media_type: &str, doc: &Value) -> Result<Vec<(String, bool)>, DistError> {
    let digest_of = |d: &Value| -> Result<String, DistError> {
        d.get("digest")
            .and_then(Value::as_str)
            .filter(|s| is_digest(s))
            .map(str::to_string)
            .ok_or_else(|| DistError::manifest_invalid("a descriptor has no valid sha256 digest"))
    };
    if is_index(media_type) {
        let children = doc
            .get("manifests")
            .and_then(Value::as_array)
            .ok_or_else(|| DistError::manifest_invalid("index without manifests"))?;
        return children.iter().map(|c| digest_of(c).map(|d| (d, true))).collect();
    }
    let config = doc.get("config").ok_or_else(|| DistError::manifest_invalid("image manifest without config"))?;
    let mut out = vec![(digest_of(config)?, false)];
    for layer in doc.get("layers").and_then(Value::as_array).into_iter().flatten() {
        // Foreign layers live at their URLs, outside the registry.
        let foreign = layer.get("urls").and_then(Value::as_array).is_some_and(|u| !u.is_empty());
        if !foreign {
            out.push((digest_of(layer)?, false));
        }
    }
    Ok(out)
}

fn put(ctx: &RegionCtx, call: &Call, name: &str, display: &str, reference: &str) -> Result<Response, DistError> {
    let bytes = call.body.to_vec();
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| DistError::manifest_invalid(format!("manifest is not JSON: {e}")))?;
    let header = call.header("content-type").map(|h| h.split(';').next().unwrap_or(h).trim().to_string());
    let media_type = header
        .filter(|h| !h.is_empty() && h != "application/json")
        .or_else(|| doc.get("mediaType").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    if ![OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].contains(&media_type.as_str()) {
        return Err(DistError::manifest_invalid(format!("unsupported manifest media type `{media_type}`")));
    }
    if doc.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(DistError::manifest_invalid("schemaVersion must be 2"));
    }
    let digest = sha256_digest(&bytes);
    if is_digest(reference) && reference != digest {
        return Err(DistError::digest_invalid("manifest digest did not match the reference")
            .with_detail(json!({"expected": reference, "actual": digest})));
    }
    if !is_digest(reference) && !valid_tag(reference) {
        return Err(DistError::new(400, "TAG_INVALID", "manifest tag did not match the tag format")
            .with_detail(json!({"tag": reference})));
    }
    let mut store = ctx.sim.store();
    for (wanted, is_manifest) in references(&media_type, &doc)? {
        let present = if is_manifest {
            store.registry.repository(&ctx.region, name).is_some_and(|r| r.manifests.contains_key(&wanted))
        } else {
            store.registry.linked_blob(&ctx.region, name, &wanted).is_some()
        };
        if !present {
            return Err(DistError::new(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry")
                .with_detail(json!({"digest": wanted})));
        }
    }
    ensure_repository(ctx, &mut store, display);
    store.registry.put_manifest(
        &ctx.region,
        name,
        reference,
        &digest,
        StoredManifest { media_type, bytes: Bytes64(bytes), pushed_ms: crate::sim::store::now_ms() },
    );
    refresh_counts(ctx, &mut store, name, display);
    drop(store);
    ctx.sim.touch();
    let headers = [("location", format!("/v2/{name}/manifests/{digest}")), ("docker-content-digest", digest)];
    Ok(reply(201, &headers, Vec::new()))
}

/// Deleting by digest removes the manifest and every tag naming it; by tag, only the tag.
fn delete(ctx: &RegionCtx, name: &str, display: &str, reference: &str) -> Result<Response, DistError> {
    let mut store = ctx.sim.store();
    let repo = store
        .registry
        .region_mut(&ctx.region)
        .repositories
        .get_mut(name)
        .ok_or_else(|| DistError::manifest_unknown(reference))?;
    let found = if is_digest(reference) {
        repo.remove_manifest(reference)
    } else {
        repo.tagged_ms.remove(reference);
        repo.tags.remove(reference).is_some()
    };
    if !found {
        return Err(DistError::manifest_unknown(reference));
    }
    refresh_counts(ctx, &mut store, name, display);
    drop(store);
    ctx.sim.touch();
    Ok(reply(202, &[], Vec::new()))
}

fn valid_tag(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && (s.as_bytes()[0].is_ascii_alphanumeric() || s.as_bytes()[0] == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// `GET /v2/<name>/tags/list[?n=&last=]`, tags in lexical order.
pub fn tags(ctx: &RegionCtx, call: &Call, name: &str) -> Result<Response, DistError> {
    let store = ctx.sim.store();
    let repo = store.registry.repository(&ctx.region, name).ok_or_else(|| {
        DistError::name_unknown("repository name not known to registry").with_detail(json!({"name": name}))
    })?;
    let last = call.query_value("last").unwrap_or("");
    let after: Vec<&String> = repo.tags.keys().filter(|t| t.as_str() > last).collect();
    let n = call.query_value("n").and_then(|n| n.parse::<usize>().ok()).unwrap_or(after.len());
    let page: Vec<&String> = after.iter().take(n).copied().collect();
    let mut headers = vec![("content-type", "application/json".to_string())];
    if page.len() < after.len() {
        if let Some(end) = page.last() {
            headers.push(("link", format!("</v2/{name}/tags/list?n={n}&last={end}>; rel=\"next\"")));
        }
    }
    let body = serde_json::to_vec(&json!({"name": name, "tags": page})).unwrap_or_default();
    Ok(reply(200, &headers, body))
}
