//! A scripted OCI-like HTTP server on 127.0.0.1 for client tests: answers from a queue of
//! replies, records every request with its arrival time, and verifies every signature (and
//! the body hash of POST/PUT/PATCH) with the test key's public half, answering 401 otherwise.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use drctl::oci::key::load_private_key_file;
use drctl::oci::verify::verify_request;
use reqwest::Url;
use rsa::RsaPublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

pub const REGION: &str = "us-ashburn-1";

#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

pub fn reply(status: u16, body: Value) -> Reply {
    Reply { status, headers: vec![("opc-request-id", format!("SERVER-{status}"))], body: body.to_string() }
}

pub fn error(status: u16, code: &str) -> Reply {
    reply(status, json!({"code": code, "message": format!("{code} happened")}))
}

impl Reply {
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }
}

pub struct Seen {
    pub method: String,
    pub target: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

pub struct ServerState {
    pub script: Mutex<VecDeque<Reply>>,
    pub seen: Mutex<Vec<Seen>>,
    pub public: RsaPublicKey,
    pub delay: Duration,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

pub struct Server {
    pub url: Url,
    pub state: Arc<ServerState>,
}

impl Server {
    pub fn seen(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.state.seen.lock().unwrap()
    }

    pub fn gaps(&self) -> Vec<Duration> {
        let seen = self.seen();
        seen.windows(2).map(|w| w[1].at - w[0].at).collect()
    }
}

pub fn test_key() -> rsa::RsaPrivateKey {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oci/test_key.pem");
    load_private_key_file(&path, None).unwrap()
}

/// Verifies the signature and, for body methods, that the signed hash and length match
/// the body that arrived.
fn check_signature(
    state: &ServerState,
    method: &str,
    target: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let params = verify_request(&state.public, method, target, headers).map_err(|e| e.to_string())?;
    if matches!(method, "POST" | "PUT" | "PATCH") {
        let hash = headers.get("x-content-sha256").and_then(|v| v.to_str().ok()).unwrap_or("");
        if hash != BASE64.encode(Sha256::digest(body)) {
            return Err("x-content-sha256 does not match the body".into());
        }
        let len = headers.get("content-length").and_then(|v| v.to_str().ok()).unwrap_or("");
        if len != body.len().to_string() {
            return Err(format!("content-length {len} but body has {} bytes", body.len()));
        }
        if !params.headers.iter().any(|h| h == "x-content-sha256") {
            return Err("body headers not signed".into());
        }
    }
    Ok(())
}

async fn handle(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let method = req.method().to_string();
    let target = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let headers = req.headers().clone();
    let body = to_bytes(req.into_body(), usize::MAX).await.unwrap().to_vec();
    let at = Instant::now();
    let verdict = check_signature(&state, &method, &target, &headers, &body);
    state.seen.lock().unwrap().push(Seen { method, target, headers, body, at });
    if !state.delay.is_zero() {
        tokio::time::sleep(state.delay).await;
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    let r = match verdict {
        Err(reason) => error(401, "NotAuthenticated").header("x-reason", &reason),
        Ok(()) => state.script.lock().unwrap().pop_front().unwrap_or_else(|| reply(200, json!({}))),
    };
    let mut builder = Response::builder().status(StatusCode::from_u16(r.status).unwrap());
    for (n, v) in &r.headers {
        builder = builder.header(*n, v.as_str());
    }
    builder.body(Body::from(r.body)).unwrap()
}

pub async fn serve(script: Vec<Reply>, delay: Duration) -> Server {
    let state = Arc::new(ServerState {
        script: Mutex::new(script.into()),
        seen: Mutex::new(Vec::new()),
        public: test_key().to_public_key(),
        delay,
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
    });
    let app = Router::new().fallback(handle).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { url: Url::parse(&format!("http://{addr}")).unwrap(), state }
}
