//! Shared by the simulator's integration tests: a simulator directory made by
//! `drctl sim init`'s code, the simulator launched in-process exactly as
//! `drctl sim --dir DIR` launches it, and a production `OciClient` pointed at it through
//! the endpoints file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use drctl::oci::key::load_private_key_file;
use drctl::oci::{Endpoints, OciClient, RequestSigner, RetryPolicy};
use drctl::sim::cli::{launch, Launched, ServeArgs};
use drctl::sim::setup::{self, SimIdentity};

pub struct TestSim {
    pub dir: tempfile::TempDir,
    pub identity: SimIdentity,
    pub launched: Launched,
}

impl TestSim {
    /// Initialises a directory and serves it with `tweak` applied to the default options.
    pub async fn start(tweak: impl FnOnce(&mut ServeArgs)) -> TestSim {
        let dir = tempfile::tempdir().unwrap();
        let identity = setup::init(dir.path(), "us-ashburn-1").unwrap();
        let mut args = ServeArgs::for_dir(dir.path());
        args.latency = Duration::from_millis(30);
        tweak(&mut args);
        let launched = launch(&args).await.unwrap();
        TestSim { dir, identity, launched }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn endpoints_file(&self) -> PathBuf {
        self.dir.path().join(setup::ENDPOINTS)
    }

    pub fn base(&self, region: &str) -> String {
        self.launched.running.endpoints[region].clone()
    }

    pub fn signer(&self) -> RequestSigner {
        let key = load_private_key_file(&self.identity.key_file, None).unwrap();
        RequestSigner::api_key(&self.identity.tenancy, &self.identity.user, &self.identity.fingerprint, key)
    }

    /// The production client, endpoints from `endpoints.json`, without retries so tests
    /// see each status as served.
    pub fn client(&self) -> OciClient {
        self.client_with(self.signer())
    }

    pub fn client_with(&self, signer: RequestSigner) -> OciClient {
        OciClient::builder(signer)
            .endpoints(Endpoints::from_file(&self.endpoints_file()).unwrap())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    }
}

/// A pushed image: its manifest digest and the bytes of its blobs.
pub struct PushedImage {
    pub digest: String,
    pub manifest: Vec<u8>,
    pub blobs: Vec<(String, Vec<u8>)>,
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// Pushes a small OCI image (a config and one layer made from `seed`) to the simulator's
/// registry at `base` (`http://127.0.0.1:port`) with monolithic uploads, over plain HTTP.
pub async fn push_image(base: &str, repository: &str, tag: &str, seed: &str) -> PushedImage {
    let http = reqwest::Client::new();
    let layer = format!("layer of {seed}").into_bytes();
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#).into_bytes();
    let mut blobs = Vec::new();
    for bytes in [config.clone(), layer.clone()] {
        let digest = sha256(&bytes);
        let resp = http
            .post(format!("{base}/v2/{repository}/blobs/uploads/"))
            .query(&[("digest", digest.as_str())])
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
        blobs.push((digest, bytes));
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blobs[0].0, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blobs[1].0, "size": layer.len()}],
    }))
    .unwrap();
    let resp = http
        .put(format!("{base}/v2/{repository}/manifests/{tag}"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
    PushedImage { digest: sha256(&manifest), manifest, blobs }
}
