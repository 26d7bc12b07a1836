//! The HTTP side: one listener per region serving every simulated service under one base
//! URL (`http://127.0.0.1:<port>`, services told apart by their API version paths, as
//! Oracle's clients send them with `service_endpoint=`), the middleware every request
//! passes (request id, faults, signature, `opc-retry-token` replay), outage handling that
//! closes and reopens a region's listener, and graceful shutdown.
//!
//! It owns sockets and tasks only; resource semantics live in `resource.rs` and the
//! service files, state in `store.rs`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::call::MAX_BODY;
use super::context::{RegionCtx, Sim};
use super::errors::{ApiError, SimError};
use super::faults::OutageMode;
use super::ocid::new_request_id;
use super::services;
use super::store::{now_ms, RecordedResponse};

/// A running simulator: its listeners' base URLs and the handle that stops it.
#[derive(Debug)]
pub struct RunningSim {
    pub sim: Arc<Sim>,
    /// Region id to base URL, the content of `endpoints.json`.
    pub endpoints: BTreeMap<String, String>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningSim {
    /// The token that stops every listener when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the listeners.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Binds every region's listener (port `port_base + i`, or any free port when 0) and starts
/// serving. Returns once all listeners accept connections.
pub async fn start(sim: Arc<Sim>, port_base: u16) -> Result<RunningSim, SimError> {
    let regions = sim.settings.regions.clone();
    let last = u32::from(port_base) + regions.len().saturating_sub(1) as u32;
    if port_base != 0 && last > u32::from(u16::MAX) {
        return Err(SimError::Usage(format!(
            "--port-base {port_base} leaves no room for {} regions (ports {port_base}-{last}); the last port is 65535: \
             give a lower base",
            regions.len()
        )));
    }
    let shutdown = CancellationToken::new();
    let mut endpoints = BTreeMap::new();
    let mut tasks = Vec::new();
    for (i, region) in regions.iter().enumerate() {
        let port = if port_base == 0 { 0 } else { port_base + i as u16 };
        let listener = bind(region, SocketAddr::from(([127, 0, 0, 1], port))).await?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            region: region.clone(),
            addr: format!("127.0.0.1:{port}"),
            source,
        })?;
        let base = format!("http://{addr}");
        sim.set_base(region, base.clone());
        sim.store().rebase(region, &base);
        endpoints.insert(region.clone(), base);
        let ctx = RegionCtx { sim: sim.clone(), region: region.clone() };
        tasks.push(tokio::spawn(serve_region(ctx, listener, addr, shutdown.clone())));
    }
    Ok(RunningSim { sim, endpoints, shutdown, tasks })
}

async fn bind(region: &str, addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr).await.map_err(|source| SimError::Bind {
        region: region.into(),
        addr: addr.to_string(),
        source,
    })
}

/// A socket bound to `addr` that does not listen, without `SO_REUSEADDR`: while it is open no
/// other socket can bind the port, and a connection to it is refused.
fn hold_port(addr: SocketAddr) -> Option<tokio::net::TcpSocket> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() };
    match socket.and_then(|s| s.bind(addr).map(|()| s)) {
        Ok(held) => Some(held),
        Err(e) => {
            tracing::warn!("cannot hold {addr} during the outage: {e}");
            None
        }
    }
}

/// The router of one region: every service, the middleware, OCI's 404 for unknown paths.
pub fn region_router(ctx: RegionCtx) -> Router {
    services::routes(Router::new())
        .fallback(|| async { ApiError::not_found("no such API operation").into_response() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(405, "MethodNotAllowed", "The method is not allowed for this resource.").into_response()
        })
        .layer(from_fn_with_state(ctx.clone(), gate))
        .with_state(ctx)
}

/// Serves one region until shutdown, closing the listener while the region is in a
/// `refuse` outage and binding the same address again when it ends. Meanwhile the port is
/// held by a socket that is bound and does not listen: connections are refused, as by a host
/// that is down, and no other process can take the port (another simulator that did would
/// answer the region's clients with its own, unknown, keys).
async fn serve_region(ctx: RegionCtx, first: TcpListener, addr: SocketAddr, shutdown: CancellationToken) {
    let mut changes = ctx.sim.faults.subscribe();
    let mut listener = Some(first);
    loop {
        let refusing = ctx.sim.faults.get(&ctx.region).outage == Some(OutageMode::Refuse);
        if refusing {
            drop(listener.take());
            let _held = hold_port(addr);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = changes.changed() => if r.is_err() { return },
            }
            continue;
        }
        let current = match listener.take() {
            Some(l) => l,
            None => match bind(&ctx.region, addr).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!("{e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let stop = CancellationToken::new();
        let watcher = {
            let (ctx, stop, shutdown, mut changes) = (ctx.clone(), stop.clone(), shutdown.clone(), changes.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        r = changes.changed() => {
                            if r.is_err() || ctx.sim.faults.get(&ctx.region).outage == Some(OutageMode::Refuse) {
                                break;
                            }
                        }
                    }
                }
                stop.cancel();
            })
        };
        let app = region_router(ctx.clone());
        let served = axum::serve(current, app).with_graceful_shutdown(stop.cancelled_owned()).await;
        watcher.abort();
        if let Err(e) = served {
            tracing::error!(region = %ctx.region, "listener failed: {e}");
        }
        if shutdown.is_cancelled() {
            return;
        }
        changes.borrow_and_update();
    }
}

/// Every request: request id, gateway runtime, faults, authentication, retry tokens.
async fn gate(State(ctx): State<RegionCtx>, req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get("opc-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    // A change is answered once it is saved. Blob uploads are not waited for: the manifest
    // that makes them part of an image is, and its save holds them.
    let waits = !matches!(*req.method(), Method::GET | Method::HEAD) && !req.uri().path().contains("/blobs/");
    let mut response = match checked(&ctx, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if waits {
        if let Err(why) = ctx.sim.durable().await {
            // As OCI answers a change it could not make durable: the outcome is unknown.
            response = ApiError::new(
                500,
                "InternalServerError",
                format!(
                    "The simulator could not save its state ({why}): this change may be lost when it restarts. Make \
                     its state file writable (or free the disk), then retry."
                ),
            )
            .into_response();
        }
    }
    if let Ok(v) = request_id.parse() {
        response.headers_mut().insert("opc-request-id", v);
    }
    response
}

async fn checked(ctx: &RegionCtx, req: Request, next: Next) -> Result<Response, ApiError> {
    let method = req.method().clone();
    let target = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let path = req.uri().path().to_string();
    let verdict = ctx.sim.faults.verdict(&ctx.region, &format!("{method} {path}"));
    if !verdict.delay.is_zero() {
        tokio::time::sleep(verdict.delay).await;
    }
    if let Some(error) = verdict.error {
        return Err(error);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::new(413, "RequestEntityTooLarge", "The request body is too large."))?;
    let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if let Some(response) = services::apigateway_runtime::serve(ctx, &host, &parts, &bytes) {
        return Ok(response);
    }
    // The registry and its token service have their own authentication (optional) and no
    // retry tokens.
    if path == "/v2" || path.starts_with("/v2/") || path == crate::sim::registry::access::TOKEN_PATH {
        return Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await);
    }
    ctx.sim.keys.authenticate(&method, &target, &parts.headers, &bytes, SystemTime::now())?;
    // Honoured only where OCI documents it: elsewhere a retried request runs again.
    let token = match method {
        Method::POST | Method::PUT if crate::sim::retry_tokens::takes_retry_token(method.as_str(), &path) => {
            parts.headers.get("opc-retry-token").and_then(|v| v.to_str().ok()).map(str::to_string)
        }
        _ => None,
    };
    let Some(token) = token else {
        return Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await);
    };
    let key = format!("{} {token}", ctx.region);
    let fingerprint = format!("{method} {path} {}", BASE64.encode(Sha256::digest(&bytes)));
    let gate = ctx.sim.retry_gate(&key);
    let _one_at_a_time = gate.lock().await;
    let earlier = ctx.sim.store().retry_tokens.get(&key).filter(|r| r.stands(now_ms())).cloned();
    if let Some(recorded) = earlier {
        if recorded.fingerprint != fingerprint {
            return Err(ApiError::new(
                409,
                "InvalidatedRetryToken",
                "The opc-retry-token was already used for a different request; use a new retry token.",
            ));
        }
        return Ok(replay(&recorded));
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if !response.status().is_success() {
        return Ok(response);
    }
    let (head, body) = response.into_parts();
    // An answer the simulator cannot read back is not recorded for replay (an empty body would
    // be replayed under the first answer's headers).
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Err(ApiError::new(500, "InternalServerError", "The simulator could not read back its own answer."));
    };
    let headers =
        head.headers.iter().filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string()))).collect();
    let recorded = RecordedResponse {
        fingerprint,
        status: head.status.as_u16(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at_ms: now_ms(),
    };
    ctx.sim.store().record_token(key, recorded);
    ctx.sim.touch();
    Ok(Response::from_parts(head, Body::from(body)))
}

fn replay(recorded: &RecordedResponse) -> Response {
    let mut response = Response::new(Body::from(recorded.body.clone()));
    *response.status_mut() = axum::http::StatusCode::from_u16(recorded.status).unwrap_or(axum::http::StatusCode::OK);
    for (k, v) in &recorded.headers {
        if let (Ok(name), Ok(value)) = (axum::http::HeaderName::try_from(k.as_str()), v.parse()) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
