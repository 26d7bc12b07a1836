//! The admin listener: a small unauthenticated HTTP API on loopback for operators and
//! tests, whose URL is written to `DIR/admin.json`. It changes faults
//! (`POST /faults/{region}` with a [`FaultCommand`]), shows them (`GET /faults`), dumps all
//! resources and registry repositories (tags → digests) with stable ordering
//! (`GET /dump[?region=R]`) and lists endpoints. It never serves OCI APIs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use super::context::Sim;
use super::errors::{ApiError, SimError};
use super::faults::FaultCommand;
use super::resource::public;
use super::store::now_ms;
use super::work_requests;

/// Binds the admin listener on `127.0.0.1:port` (0 = any) and serves until `shutdown`.
pub async fn start(sim: Arc<Sim>, port: u16, shutdown: CancellationToken) -> Result<String, SimError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| SimError::Bind {
        region: "admin".into(),
        addr: addr.to_string(),
        source,
    })?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|source| SimError::Bind {
            region: "admin".into(),
            addr: addr.to_string(),
            source
        })?
    );
    let app = router(sim);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await {
            tracing::error!("admin listener failed: {e}");
        }
    });
    Ok(url)
}

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/endpoints", get(|State(sim): State<Arc<Sim>>| async move { Json(json!(sim.bases())) }))
        .route("/faults", get(|State(sim): State<Arc<Sim>>| async move { Json(json!(sim.faults.all())) }))
        .route("/faults/{region}", post(set_fault))
        .route(
            "/dump",
            get(|State(sim): State<Arc<Sim>>, Query(q): Query<BTreeMap<String, String>>| async move {
                Json(dump(&sim, q.get("region").map(String::as_str)))
            }),
        )
        .with_state(sim)
}

async fn set_fault(State(sim): State<Arc<Sim>>, Path(region): Path<String>, Json(cmd): Json<FaultCommand>) -> Response {
    if !sim.settings.regions.contains(&region) {
        return ApiError::not_found(&format!("region {region}")).into_response();
    }
    match sim.faults.apply(&region, cmd) {
        Ok(f) => Json(json!(f)).into_response(),
        Err(e) => ApiError::invalid(e.to_string()).into_response(),
    }
}

/// Every resource by region, then kind, then OCID (tenancy-level ones under every region
/// that can read them), plus work requests and object names. Ordering is stable.
pub fn dump(sim: &Sim, only: Option<&str>) -> Value {
    let store = sim.store();
    let now = now_ms();
    let mut out = Map::new();
    for region in sim.settings.regions.iter().filter(|r| only.is_none_or(|o| o == r.as_str())) {
        let mut kinds: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        for r in store.resources.values().filter(|r| r.region == *region || r.global) {
            let mut body = public(&r.body);
            if let Some(o) = body.as_object_mut() {
                o.insert("etag".into(), json!(r.etag));
            }
            kinds.entry(r.kind.clone()).or_default().insert(r.id.clone(), body);
        }
        let mut region_out = Map::new();
        for (kind, items) in kinds {
            region_out.insert(kind, Value::Array(items.into_values().collect()));
        }
        let wrs: Vec<Value> = store
            .work_requests
            .values()
            .filter(|w| w.region == *region)
            .map(|w| work_requests::render(w, now))
            .collect();
        region_out.insert("workRequests".into(), Value::Array(wrs));
        let objects: Vec<Value> = store
            .objects
            .iter()
            .filter_map(|(k, o)| {
                k.strip_prefix(&format!("{region}/"))
                    .map(|name| json!({"name": name, "etag": o.etag, "size": o.content.len()}))
            })
            .collect();
        region_out.insert("objects".into(), Value::Array(objects));
        region_out.insert("registry".into(), super::registry::dump(&store, region));
        out.insert(region.clone(), Value::Object(region_out));
    }
    Value::Object(out)
}
