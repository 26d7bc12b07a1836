//! Object Storage: the tenancy namespace (`GET /n`), buckets (`/n/{ns}/b[/{bucket}]`) and
//! objects (`/n/{ns}/b/{bucket}/o/{object}`) with etags and conditional writes
//! (`if-match`, `if-none-match: *`). Objects are kept in memory (and in the state file).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::sim::call::{empty, json, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::ocid::{new_etag, new_ocid, region_key};
use crate::sim::resource::{self, ListShape};
use crate::sim::store::{now_ms, rfc3339, Resource, StoredObject};

const BUCKET: &str = "objectstorage.bucket";

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    router
        .route("/n", get(|ctx: State<RegionCtx>| async move { json(200, &json!(ctx.sim.settings.namespace), &[]) }))
        .route("/n/", get(|ctx: State<RegionCtx>| async move { json(200, &json!(ctx.sim.settings.namespace), &[]) }))
        .route(
            "/n/{ns}/b",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(list_buckets(&ctx, &call)) })
                .post(|ctx: State<RegionCtx>, call: Call| async move { respond(create_bucket(&ctx, &call)) }),
        )
        .route(
            "/n/{ns}/b/{bucket}",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(get_bucket(&ctx, &call)) })
                .delete(|ctx: State<RegionCtx>, call: Call| async move { respond(delete_bucket(&ctx, &call)) }),
        )
        .route(
            "/n/{ns}/b/{bucket}/o",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(list_objects(&ctx, &call)) }),
        )
        .route(
            "/n/{ns}/b/{bucket}/o/{*object}",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(get_object(&ctx, &call, true)) })
                .head(|ctx: State<RegionCtx>, call: Call| async move { respond(get_object(&ctx, &call, false)) })
                .put(|ctx: State<RegionCtx>, call: Call| async move { respond(put_object(&ctx, &call)) })
                .delete(|ctx: State<RegionCtx>, call: Call| async move { respond(delete_object(&ctx, &call)) }),
        )
}

fn check_namespace(ctx: &RegionCtx, call: &Call) -> Result<(), ApiError> {
    if call.param("ns") != ctx.sim.settings.namespace {
        return Err(ApiError::not_found(&format!("namespace {}", call.param("ns"))));
    }
    Ok(())
}

fn bucket_id(ctx: &RegionCtx, name: &str) -> String {
    format!("{}/{name}", ctx.region)
}

fn find_bucket(ctx: &RegionCtx, call: &Call) -> Result<Resource, ApiError> {
    check_namespace(ctx, call)?;
    let name = call.param("bucket");
    ctx.sim
        .store()
        .resources
        .get(&bucket_id(ctx, name))
        .cloned()
        .ok_or_else(|| ApiError::new(404, "BucketNotFound", format!("Either the bucket named '{name}' does not exist in the namespace '{}' or you are not authorized to access it", call.param("ns"))))
}

fn create_bucket(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    check_namespace(ctx, call)?;
    let mut body = call.json_object()?;
    let name = body.get("name").and_then(Value::as_str).ok_or_else(|| ApiError::missing("name"))?.to_string();
    let compartment =
        body.get("compartmentId").and_then(Value::as_str).ok_or_else(|| ApiError::missing("compartmentId"))?;
    if name.is_empty() || name.len() > 256 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(ApiError::invalid(format!("Invalid bucket name `{name}`.")));
    }
    let compartment = compartment.to_string();
    let mut store = ctx.sim.store();
    if compartment != ctx.sim.settings.tenancy {
        resource::require_active(&store, &ctx.region, &compartment, "identity.compartment")?;
    }
    let id = bucket_id(ctx, &name);
    if store.resources.contains_key(&id) {
        return Err(ApiError::new(
            409,
            "BucketAlreadyExists",
            "Either the bucket already exists or you are not authorized to create it",
        ));
    }
    let etag = new_etag();
    body.insert("namespace".into(), json!(ctx.sim.settings.namespace));
    body.insert("id".into(), json!(new_ocid("bucket", &region_key(&ctx.region))));
    body.insert("etag".into(), json!(etag));
    body.insert("timeCreated".into(), json!(rfc3339(now_ms())));
    body.entry("publicAccessType").or_insert(json!("NoPublicAccess"));
    body.entry("storageTier").or_insert(json!("Standard"));
    body.entry("versioning").or_insert(json!("Disabled"));
    body.entry("freeformTags").or_insert(json!({}));
    let view = Value::Object(body);
    store.insert(Resource {
        kind: BUCKET.into(),
        region: ctx.region.clone(),
        global: false,
        id,
        etag: etag.clone(),
        seq: 0,
        body: view.clone(),
        pending: None,
        gone_at_ms: None,
    });
    drop(store);
    ctx.sim.touch();
    Ok(json(200, &view, &[("etag", etag)]))
}

fn list_buckets(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    check_namespace(ctx, call)?;
    let compartment = call.query_value("compartmentId").ok_or_else(|| ApiError::missing("compartmentId"))?;
    let items: Vec<Value> = ctx
        .sim
        .store()
        .of_kind(&ctx.region, BUCKET)
        .filter(|b| b.str_field("compartmentId") == Some(compartment))
        .map(|b| {
            json!({"namespace": b.body["namespace"], "name": b.body["name"], "compartmentId": compartment,
                   "etag": b.etag, "timeCreated": b.body["timeCreated"], "freeformTags": b.body["freeformTags"]})
        })
        .collect();
    resource::list_response(ListShape::Array, &items, call)
}

fn get_bucket(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let b = find_bucket(ctx, call)?;
    Ok(json(200, &b.body, &[("etag", b.etag)]))
}

fn object_prefix(ctx: &RegionCtx, call: &Call) -> String {
    format!("{}/{}/{}/", ctx.region, call.param("ns"), call.param("bucket"))
}

fn delete_bucket(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let b = find_bucket(ctx, call)?;
    call.check_if_match(&b.etag)?;
    let prefix = object_prefix(ctx, call);
    let mut store = ctx.sim.store();
    if store.objects.keys().any(|k| k.starts_with(&prefix)) {
        return Err(ApiError::new(
            409,
            "BucketNotEmpty",
            format!("Bucket named '{}' is not empty.", call.param("bucket")),
        ));
    }
    store.resources.remove(&b.id);
    drop(store);
    ctx.sim.touch();
    Ok(empty(204, &[]))
}

fn list_objects(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    find_bucket(ctx, call)?;
    let prefix = object_prefix(ctx, call);
    let wanted = call.query_value("prefix").unwrap_or("");
    let store = ctx.sim.store();
    let objects: Vec<Value> = store
        .objects
        .iter()
        .filter_map(|(k, o)| k.strip_prefix(&prefix).map(|name| (name, o)))
        .filter(|(name, _)| name.starts_with(wanted))
        .map(|(name, o)| json!({"name": name, "size": o.content.len(), "etag": o.etag, "timeModified": rfc3339(o.time_modified_ms)}))
        .collect();
    Ok(json(200, &json!({"objects": objects, "prefixes": []}), &[]))
}

fn get_object(ctx: &RegionCtx, call: &Call, with_body: bool) -> Result<Response, ApiError> {
    find_bucket(ctx, call)?;
    let key = format!("{}{}", object_prefix(ctx, call), call.param("object"));
    let object = ctx.sim.store().objects.get(&key).cloned().ok_or_else(|| {
        ApiError::new(
            404,
            "ObjectNotFound",
            format!("The object '{}' was not found in the bucket '{}'", call.param("object"), call.param("bucket")),
        )
    })?;
    if call.header("if-none-match") == Some(object.etag.as_str()) {
        return Ok(empty(304, &[("etag", object.etag)]));
    }
    let mut response = if with_body { object.content.clone().into_response() } else { StatusCode::OK.into_response() };
    crate::sim::call::add_headers(
        &mut response,
        &[
            ("etag", object.etag.clone()),
            ("content-type", object.content_type.clone()),
            ("content-length", object.content.len().to_string()),
            (
                "last-modified",
                httpdate::fmt_http_date(
                    std::time::UNIX_EPOCH + std::time::Duration::from_millis(object.time_modified_ms),
                ),
            ),
        ],
    );
    Ok(response)
}

fn put_object(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    find_bucket(ctx, call)?;
    let key = format!("{}{}", object_prefix(ctx, call), call.param("object"));
    let mut store = ctx.sim.store();
    let existing = store.objects.get(&key);
    if call.header("if-none-match") == Some("*") && existing.is_some() {
        return Err(ApiError::new(412, "IfNoneMatchFailed", "The object already exists (if-none-match: *)."));
    }
    if let Some(want) = call.header("if-match") {
        if existing.map(|o| o.etag.as_str()) != Some(want) {
            return Err(ApiError::new(412, "IfMatchFailed", "The if-match etag does not match the object's."));
        }
    }
    let etag = new_etag();
    let content_type = call.header("content-type").unwrap_or("application/octet-stream").to_string();
    store.objects.insert(
        key,
        StoredObject { content: call.body.to_vec(), content_type, etag: etag.clone(), time_modified_ms: now_ms() },
    );
    drop(store);
    ctx.sim.touch();
    Ok(empty(200, &[("etag", etag), ("last-modified", httpdate::fmt_http_date(std::time::SystemTime::now()))]))
}

fn delete_object(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    find_bucket(ctx, call)?;
    let key = format!("{}{}", object_prefix(ctx, call), call.param("object"));
    let mut store = ctx.sim.store();
    let existing =
        store.objects.get(&key).ok_or_else(|| ApiError::new(404, "ObjectNotFound", "The object was not found."))?;
    if let Some(want) = call.header("if-match") {
        if want != existing.etag {
            return Err(ApiError::new(412, "IfMatchFailed", "The if-match etag does not match the object's."));
        }
    }
    store.objects.remove(&key);
    drop(store);
    ctx.sim.touch();
    Ok(empty(204, &[]))
}
