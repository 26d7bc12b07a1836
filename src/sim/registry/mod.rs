//! The region's container registry (OCIR): the OCI Distribution API under `/v2/` on every
//! region listener, unauthenticated unless `--registry-auth user:pass` is given.
//!
//! Requests reach it past the OCI signature check (registries speak their own auth); faults
//! still apply. [`routes`] mounts one catch-all route because repository names contain
//! slashes; [`parse_route`] splits the path into an operation. `state` holds the data,
//! `blobs` and `manifests` the endpoints, `access` authentication, names and the Artifacts
//! container repository behind each registry repository, `errors` the specification's error
//! bodies. Nothing here knows about functions; they ask [`image_digest`].

pub mod access;
pub mod blobs;
pub mod errors;
pub mod manifests;
pub mod state;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{json, Value};

use self::errors::{DistError, API_VERSION};
use super::call::Call;
use super::context::RegionCtx;
use super::store::Store;

/// A response with the registry's version header.
pub fn reply(status: u16, headers: &[(&str, String)], body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let h = response.headers_mut();
    h.insert(API_VERSION.0, HeaderValue::from_static(API_VERSION.1));
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(*name), HeaderValue::from_str(value)) {
            h.insert(n, v);
        }
    }
    response
}

/// One Distribution API operation, by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    Manifest { name: &'a str, reference: &'a str },
    Blob { name: &'a str, digest: &'a str },
    StartUpload { name: &'a str },
    Upload { name: &'a str, id: &'a str },
    Tags { name: &'a str },
}

/// Splits the path after `/v2/` into an operation; the repository name is what precedes
/// the last operation keyword.
pub fn parse_route(rest: &str) -> Option<Route<'_>> {
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags { name });
    }
    if let Some(name) = rest.strip_suffix("/blobs/uploads/").or_else(|| rest.strip_suffix("/blobs/uploads")) {
        return Some(Route::StartUpload { name });
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        return Some(Route::Upload { name, id });
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        return Some(Route::Manifest { name, reference });
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        return Some(Route::Blob { name, digest });
    }
    None
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    router.route(access::TOKEN_PATH, any(token)).route("/v2", any(base)).route("/v2/", any(base)).route(
        "/v2/{*rest}",
        any(|ctx: State<RegionCtx>, method: Method, call: Call| async move {
            let rest = call.param("rest").to_string();
            dispatch(&ctx, &method, &call, &rest).unwrap_or_else(IntoResponse::into_response)
        }),
    )
}

/// The token service a `Bearer` challenge names.
async fn token(ctx: State<RegionCtx>, call: Call) -> Response {
    match access::issue_token(&ctx, &call.headers) {
        Ok(body) => reply(200, &[("content-type", "application/json".into())], body.to_string().into_bytes()),
        Err(e) => e.into_response(),
    }
}

/// `GET /v2/`: the version check clients start with (and where they meet the challenge).
async fn base(ctx: State<RegionCtx>, call: Call) -> Response {
    match access::authorize(&ctx, &call.headers) {
        Ok(()) => reply(200, &[("content-type", "application/json".into())], b"{}".to_vec()),
        Err(e) => e.into_response(),
    }
}

fn dispatch(ctx: &RegionCtx, method: &Method, call: &Call, rest: &str) -> Result<Response, DistError> {
    access::authorize(ctx, &call.headers)?;
    let route = parse_route(rest)
        .ok_or_else(|| DistError::new(404, "NAME_UNKNOWN", format!("no registry operation at /v2/{rest}")))?;
    match route {
        Route::Tags { name } => {
            access::check_name(ctx, name)?;
            manifests::tags(ctx, call, name)
        }
        Route::Manifest { name, reference } => {
            let display = access::check_name(ctx, name)?;
            manifests::manifest(ctx, method, call, name, display, reference)
        }
        Route::Blob { name, digest } => {
            access::check_name(ctx, name)?;
            blobs::blob(ctx, method, name, digest)
        }
        Route::StartUpload { name } => {
            let display = access::check_name(ctx, name)?;
            if *method != Method::POST {
                return Err(DistError::unsupported("uploads start with POST"));
            }
            blobs::start(ctx, call, name, display)
        }
        Route::Upload { name, id } => {
            let display = access::check_name(ctx, name)?;
            blobs::session(ctx, method, call, name, display, id)
        }
    }
}

/// The manifest digest `repository:reference` names in `region`, if the image is there.
pub fn image_digest(store: &Store, region: &str, repository: &str, reference: &str) -> Option<String> {
    store.registry.resolve(region, repository, reference)
}

/// The registry part of a dump: repositories with tags and manifest digests.
pub fn dump(store: &Store, region: &str) -> Value {
    let Some(r) = store.registry.region(region) else {
        return json!({"repositories": [], "blobs": 0});
    };
    let repositories: Vec<Value> = r
        .repositories
        .iter()
        .map(|(name, repo)| {
            let manifests: Vec<Value> = repo
                .manifests
                .iter()
                .map(|(d, m)| json!({"digest": d, "mediaType": m.media_type, "size": m.bytes.0.len()}))
                .collect();
            json!({"name": name, "tags": repo.tags, "manifests": manifests, "blobs": repo.blobs.len()})
        })
        .collect();
    json!({"repositories": repositories, "blobs": r.blobs.len()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_split_at_the_last_keyword() {
        assert_eq!(parse_route("ns/a/b/manifests/v1"), Some(Route::Manifest { name: "ns/a/b", reference: "v1" }));
        assert_eq!(
            parse_route("ns/blobs/blobs/sha256:ab"),
            Some(Route::Blob { name: "ns/blobs", digest: "sha256:ab" })
        );
        assert_eq!(parse_route("ns/a/blobs/uploads/"), Some(Route::StartUpload { name: "ns/a" }));
        assert_eq!(parse_route("ns/a/blobs/uploads/xyz"), Some(Route::Upload { name: "ns/a", id: "xyz" }));
        assert_eq!(parse_route("ns/a/tags/list"), Some(Route::Tags { name: "ns/a" }));
        assert_eq!(parse_route("ns/a"), None);
    }
}
