//! Load generator for the simulator: launches `drctl sim` in-process (latency 0) and drives
//! it with drctl's production client from C concurrent tasks, first with authenticated
//! GETs, then with creates; prints requests/s and latency percentiles.
//!
//! `cargo run --release --example sim_load -- [CONCURRENCY] [REQUESTS_PER_PHASE]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use drctl::oci::key::load_private_key_file;
use drctl::oci::{Endpoints, OciClient, OciRequest, RequestSigner, RetryPolicy, Service};
use drctl::sim::cli::{launch, ServeArgs};
use drctl::sim::setup;
use reqwest::Method;
use serde_json::json;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4000);
    let dir = std::env::temp_dir().join(format!("drctl-sim-load-{}", std::process::id()));
    let identity = setup::init(&dir, "us-ashburn-1").expect("init");
    let mut serve = ServeArgs::for_dir(&dir);
    serve.latency = Duration::ZERO;
    serve.limits = vec![("functions-per-application".into(), u64::MAX)];
    let launched = launch(&serve).await.expect("launch");
    let key = load_private_key_file(&identity.key_file, None).expect("key");
    let signer = RequestSigner::api_key(&identity.tenancy, &identity.user, &identity.fingerprint, key);
    let client = Arc::new(
        OciClient::builder(signer)
            .endpoints(Endpoints::from_file(&dir.join(setup::ENDPOINTS)).expect("endpoints"))
            .retry_policy(RetryPolicy::none())
            .region_concurrency(concurrency)
            .build()
            .expect("client"),
    );
    let vcn: serde_json::Value = client
        .send_json(
            OciRequest::new(Method::POST, Service::Core, "us-ashburn-1", "/vcns")
                .json(&json!({"compartmentId": identity.tenancy, "cidrBlock": "10.0.0.0/16"}))
                .expect("body"),
        )
        .await
        .expect("vcn");
    let vcn_path = format!("/vcns/{}", vcn["id"].as_str().unwrap_or_default());
    println!("concurrency {concurrency}, {total} requests per phase");
    let tenancy = identity.tenancy.clone();
    phase("GET vcn", &client, concurrency, total, move |_| {
        OciRequest::new(Method::GET, Service::Core, "us-ashburn-1", vcn_path.clone())
    })
    .await;
    phase("POST vcn (create)", &client, concurrency, total, move |i| {
        OciRequest::new(Method::POST, Service::Core, "us-ashburn-1", "/vcns")
            .json(&json!({"compartmentId": tenancy, "cidrBlock": format!("10.{}.{}.0/24", i / 256 % 256, i % 256)}))
            .expect("body")
    })
    .await;
    launched.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn phase(
    name: &str,
    client: &Arc<OciClient>,
    concurrency: usize,
    total: usize,
    make: impl Fn(usize) -> OciRequest + Send + Sync + 'static,
) {
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, make, next) = (client.clone(), make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                if client.send(make(i)).await.is_err() {
                    failures += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.expect("task");
        all.extend(l);
        failures += f;
    }
    let elapsed = start.elapsed();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    println!(
        "{name:<20} {:>8.0} req/s  p50 {:>6.2} ms  p95 {:>6.2} ms  p99 {:>6.2} ms  failures {failures}",
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}
