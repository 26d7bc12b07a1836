//! Blob endpoints of the simulated registry: `HEAD`/`GET`/`DELETE /v2/<name>/blobs/<digest>`
//! and uploads — `POST .../blobs/uploads/` (a session, a monolithic `?digest=` upload, or a
//! cross-repository `?mount=&from=`), `PATCH` chunks with `Content-Range` checks, `PUT
//! ?digest=` to close, `GET` for the offset, `DELETE` to cancel. Every stored blob is
//! verified against its digest first.

use axum::http::Method;
use axum::response::Response;

use super::access::{ensure_repository, refresh_counts};
use super::errors::DistError;
use super::reply;
use super::state::{is_digest, sha256_digest, Upload};
use crate::sim::call::Call;
use crate::sim::context::RegionCtx;
use crate::sim::ocid::unique;

/// `HEAD`/`GET`/`DELETE` of a blob linked into `name`.
pub fn blob(ctx: &RegionCtx, method: &Method, name: &str, digest: &str) -> Result<Response, DistError> {
    if !is_digest(digest) {
        return Err(DistError::digest_invalid(format!("`{digest}` is not a sha256 digest")));
    }
    let mut store = ctx.sim.store();
    if *method == Method::DELETE {
        let linked =
            store.registry.region_mut(&ctx.region).repositories.get_mut(name).is_some_and(|r| r.blobs.remove(digest));
        if !linked {
            return Err(DistError::blob_unknown(digest));
        }
        drop(store);
        ctx.sim.touch();
        return Ok(reply(202, &[], Vec::new()));
    }
    let bytes = store.registry.linked_blob(&ctx.region, name, digest).ok_or_else(|| DistError::blob_unknown(digest))?;
    let headers = [
        ("content-type", "application/octet-stream".to_string()),
        ("docker-content-digest", digest.to_string()),
        ("content-length", bytes.len().to_string()),
        ("etag", format!("\"{digest}\"")),
    ];
    let body = if *method == Method::HEAD { Vec::new() } else { bytes.to_vec() };
    Ok(reply(200, &headers, body))
}

fn upload_path(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

/// `Range: 0-<last byte>` as registries report upload progress (`0-0` when empty).
fn range(len: usize) -> String {
    format!("0-{}", len.saturating_sub(1))
}

/// Verifies `bytes` against `digest`, stores and links them, and answers 201.
fn commit(ctx: &RegionCtx, name: &str, display: &str, digest: &str, bytes: Vec<u8>) -> Result<Response, DistError> {
    if !is_digest(digest) {
        return Err(DistError::digest_invalid(format!("`{digest}` is not a sha256 digest")));
    }
    let actual = sha256_digest(&bytes);
    if actual != digest {
        return Err(DistError::digest_invalid("provided digest did not match uploaded content")
            .with_detail(serde_json::json!({"expected": digest, "actual": actual})));
    }
    let mut store = ctx.sim.store();
    ensure_repository(ctx, &mut store, display);
    store.registry.put_blob(&ctx.region, name, digest, bytes);
    refresh_counts(ctx, &mut store, name, display);
    drop(store);
    ctx.sim.touch();
    let headers = [("location", format!("/v2/{name}/blobs/{digest}")), ("docker-content-digest", digest.to_string())];
    Ok(reply(201, &headers, Vec::new()))
}

/// `POST /v2/<name>/blobs/uploads/`.
pub fn start(ctx: &RegionCtx, call: &Call, name: &str, display: &str) -> Result<Response, DistError> {
    if let (Some(digest), Some(from)) = (call.query_value("mount"), call.query_value("from")) {
        let mut store = ctx.sim.store();
        if store.registry.mount(&ctx.region, name, digest, from) {
            ensure_repository(ctx, &mut store, display);
            refresh_counts(ctx, &mut store, name, display);
            drop(store);
            ctx.sim.touch();
            let headers =
                [("location", format!("/v2/{name}/blobs/{digest}")), ("docker-content-digest", digest.to_string())];
            return Ok(reply(201, &headers, Vec::new()));
        }
        // Not mountable: the specification says to fall back to an ordinary upload session.
    } else if let Some(digest) = call.query_value("digest") {
        return commit(ctx, name, display, digest, call.body.to_vec());
    }
    let id = unique(32);
    let mut store = ctx.sim.store();
    ensure_repository(ctx, &mut store, display);
    let upload = Upload { region: ctx.region.clone(), repository: name.to_string(), data: Vec::new() };
    store.registry.uploads.insert(id.clone(), upload);
    drop(store);
    let headers = [("location", upload_path(name, &id)), ("range", range(0)), ("docker-upload-uuid", id)];
    Ok(reply(202, &headers, Vec::new()))
}

/// `PATCH`, `PUT`, `GET` and `DELETE` of an upload session.
pub fn session(
    ctx: &RegionCtx,
    method: &Method,
    call: &Call,
    name: &str,
    display: &str,
    id: &str,
) -> Result<Response, DistError> {
    let mut store = ctx.sim.store();
    let upload = store
        .registry
        .uploads
        .get_mut(id)
        .filter(|u| u.region == ctx.region && u.repository == name)
        .ok_or_else(DistError::upload_unknown)?;
    let progress = |len: usize| {
        [("location", upload_path(name, id)), ("range", range(len)), ("docker-upload-uuid", id.to_string())]
    };
    match *method {
        Method::GET => Ok(reply(204, &progress(upload.data.len()), Vec::new())),
        Method::DELETE => {
            store.registry.uploads.remove(id);
            Ok(reply(204, &[], Vec::new()))
        }
        Method::PATCH => {
            if let Some(start) = call.header("content-range").and_then(|r| r.split_once('-')).map(|(s, _)| s.trim()) {
                if start.parse::<usize>().ok() != Some(upload.data.len()) {
                    let len = upload.data.len();
                    return Ok(reply(416, &progress(len), Vec::new()));
                }
            }
            upload.data.extend_from_slice(&call.body);
            let len = upload.data.len();
            Ok(reply(202, &progress(len), Vec::new()))
        }
        Method::PUT => {
            let mut upload = store.registry.uploads.remove(id).unwrap_or_default();
            drop(store);
            upload.data.extend_from_slice(&call.body);
            let digest = call
                .query_value("digest")
                .ok_or_else(|| DistError::digest_invalid("closing an upload needs ?digest="))?;
            commit(ctx, name, display, digest, upload.data)
        }
        _ => Err(DistError::unsupported(format!("{method} is not supported on an upload session"))),
    }
}
