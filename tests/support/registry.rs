//! Test fixtures for the registry tests: a real `docker-registry` (Debian's build of the
//! reference Distribution registry) started on a free loopback port with storage in a temp
//! directory, a generator of random multi-layer images pushed over raw HTTP, and a loopback
//! TCP proxy that drops a connection mid-upload.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A running registry; killed and its storage removed on drop.
pub struct TestRegistry {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

/// Starts a registry, or returns `None` when the binary is absent (see
/// [`super::tool_missing`]: under `.ci/run` that fails the test instead).
pub fn start_registry() -> Option<TestRegistry> {
    if !Path::new(REGISTRY_BIN).exists() {
        super::tool_missing(&format!("{REGISTRY_BIN} is not installed (run .ci/deps/registry.sh)"));
        return None;
    }
    Some(TestRegistry::start_with(None))
}

/// Like [`start_registry`], with htpasswd basic auth (`htpasswd` is the file's content).
pub fn start_registry_with_htpasswd(htpasswd: &str) -> Option<TestRegistry> {
    if !Path::new(REGISTRY_BIN).exists() {
        super::tool_missing(&format!("{REGISTRY_BIN} is not installed (run .ci/deps/registry.sh)"));
        return None;
    }
    Some(TestRegistry::start_with(Some(htpasswd)))
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl TestRegistry {
    pub fn start_with(htpasswd: Option<&str>) -> TestRegistry {
        TestRegistry::start_full(htpasswd, None)
    }

    /// Serving HTTPS with the certificate and key files given.
    pub fn start_tls(certificate: &Path, key: &Path) -> TestRegistry {
        TestRegistry::start_full(None, Some((certificate, key)))
    }

    fn start_full(htpasswd: Option<&str>, tls: Option<(&Path, &Path)>) -> TestRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let storage = dir.path().join("storage");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: drctl-test-secret\n",
            storage.display()
        );
        let config = match tls {
            Some((certificate, key)) => {
                format!("{config}  tls:\n    certificate: {}\n    key: {}\n", certificate.display(), key.display())
            }
            None => config,
        };
        let config = match htpasswd {
            Some(content) => {
                let path = dir.path().join("htpasswd");
                std::fs::write(&path, content).unwrap();
                format!("{config}auth:\n  htpasswd:\n    realm: drctl-test\n    path: {}\n", path.display())
            }
            None => config,
        };
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let reg = TestRegistry { child, dir, port };
        reg.wait_ready(tls.is_some());
        reg
    }

    fn wait_ready(&self, tls: bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                // Listening is serving, for a registry that speaks TLS (no plain GET to try).
                if tls {
                    return;
                }
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: x\r\n\r\n");
                let mut buf = [0u8; 12];
                // 200, or 401 when auth is configured: either way the registry is serving.
                if s.read_exact(&mut buf).is_ok() && (buf.ends_with(b" 200") || buf.ends_with(b" 401")) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        panic!("registry on port {} did not start: {log}", self.port);
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the filesystem driver keeps a blob's bytes.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir.path().join("storage/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// `size` random bytes, gzip-compressed (random data does not shrink).
pub fn random_gzip_layer(seed: u64, size: usize) -> Vec<u8> {
    let mut raw = vec![0u8; size];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut raw);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

pub async fn push_blob(http: &reqwest::Client, host: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let resp = http.post(format!("http://{host}/v2/{repo}/blobs/uploads/")).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let loc = resp.headers()["location"].to_str().unwrap().to_string();
    let url = reqwest::Url::parse(&format!("http://{host}/")).unwrap().join(&loc).unwrap();
    let resp = http.put(url).query(&[("digest", &digest)]).body(bytes.to_vec()).send().await.unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    digest
}

pub async fn push_manifest(
    http: &reqwest::Client,
    host: &str,
    repo: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> String {
    let resp = http
        .put(format!("http://{host}/v2/{repo}/manifests/{reference}"))
        .header("content-type", media_type)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    sha256(bytes)
}

/// Fetches a manifest's raw bytes (or `None` on 404).
pub async fn get_manifest(http: &reqwest::Client, host: &str, repo: &str, reference: &str) -> Option<Vec<u8>> {
    let resp = http
        .get(format!("http://{host}/v2/{repo}/manifests/{reference}"))
        .header("accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json")
        .send()
        .await
        .unwrap();
    if resp.status() == 404 {
        return None;
    }
    assert_eq!(resp.status(), 200);
    Some(resp.bytes().await.unwrap().to_vec())
}

pub async fn blob_exists(http: &reqwest::Client, host: &str, repo: &str, digest: &str) -> bool {
    let resp = http.head(format!("http://{host}/v2/{repo}/blobs/{digest}")).send().await.unwrap();
    resp.status() == 200
}

/// An image pushed by [`push_image`].
/// Pushes an OCI index of `platforms` (each an image already in `repo`, with its
/// `os/architecture[/variant]`) under `tag`; returns its bytes and digest.
pub async fn push_index(host: &str, repo: &str, tag: &str, platforms: &[(&TestImage, &str)]) -> (Vec<u8>, String) {
    let manifests: Vec<serde_json::Value> = platforms
        .iter()
        .map(|(image, platform)| {
            let mut parts = platform.split('/');
            let mut p = serde_json::json!({"os": parts.next().unwrap_or("linux"), "architecture": parts.next().unwrap_or("amd64")});
            if let Some(variant) = parts.next() {
                p["variant"] = serde_json::json!(variant);
            }
            serde_json::json!({"mediaType": image.media_type, "digest": image.digest, "size": image.manifest.len(), "platform": p})
        })
        .collect();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))
    .unwrap();
    let digest =
        push_manifest(&reqwest::Client::new(), host, repo, tag, "application/vnd.oci.image.index.v1+json", &index)
            .await;
    (index, digest)
}

pub struct TestImage {
    pub digest: String,
    pub manifest: Vec<u8>,
    pub media_type: &'static str,
    /// Config first, then layers.
    pub blobs: Vec<(String, u64)>,
}

impl TestImage {
    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.1).sum()
    }
}

/// Pushes a docker v2 schema 2 image with one gzip layer per entry of `layer_sizes`.
pub async fn push_image(host: &str, repo: &str, tag: &str, layer_sizes: &[usize], seed: u64) -> TestImage {
    push_image_typed(host, repo, tag, layer_sizes, seed, "amd64", false).await
}

pub async fn push_image_typed(
    host: &str,
    repo: &str,
    tag: &str,
    layer_sizes: &[usize],
    seed: u64,
    arch: &str,
    oci: bool,
) -> TestImage {
    push_image_as(&reqwest::Client::new(), host, repo, tag, layer_sizes, seed, arch, oci).await
}

/// A client that sends basic credentials with every request (for htpasswd registries).
pub fn basic_auth_client(user: &str, password: &str) -> reqwest::Client {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Basic {token}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

#[allow(clippy::too_many_arguments)]
pub async fn push_image_as(
    http: &reqwest::Client,
    host: &str,
    repo: &str,
    tag: &str,
    layer_sizes: &[usize],
    seed: u64,
    arch: &str,
    oci: bool,
) -> TestImage {
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (i, size) in layer_sizes.iter().enumerate() {
        let bytes = random_gzip_layer(seed * 1000 + i as u64, *size);
        let digest = push_blob(http, host, repo, &bytes).await;
        diff_ids.push(digest.clone());
        layers.push((digest, bytes.len() as u64));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {"Cmd": ["/bin/app"]}
    }))
    .unwrap();
    let config_digest = push_blob(http, host, repo, &config).await;
    let (mt, config_mt, layer_mt) = if oci {
        (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    } else {
        (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    };
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": mt,
        "config": {"mediaType": config_mt, "digest": config_digest, "size": config.len()},
        "layers": layers.iter().map(|(d, s)| serde_json::json!({"mediaType": layer_mt, "digest": d, "size": s})).collect::<Vec<_>>(),
    }))
    .unwrap();
    let digest = push_manifest(http, host, repo, tag, mt, &manifest).await;
    let mut blobs = vec![(config_digest, config.len() as u64)];
    blobs.extend(layers);
    TestImage { digest, manifest, media_type: mt, blobs }
}

/// A loopback TCP proxy that forwards to `upstream` and, once, cuts the first connection
/// whose client has sent more than `cut_after` bytes.
pub struct DroppingProxy {
    pub port: u16,
    drops: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl DroppingProxy {
    pub async fn start(upstream: u16, cut_after: usize) -> DroppingProxy {
        DroppingProxy::start_with(upstream, cut_after, false).await
    }

    /// Like [`DroppingProxy::start`], but the cut connection stays open and silent (a stall)
    /// instead of closing.
    pub async fn start_stalling(upstream: u16, cut_after: usize) -> DroppingProxy {
        DroppingProxy::start_with(upstream, cut_after, true).await
    }

    async fn start_with(upstream: u16, cut_after: usize, hang: bool) -> DroppingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let drops = Arc::new(AtomicUsize::new(0));
        let armed = Arc::new(AtomicBool::new(true));
        let d = drops.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let (drops, armed) = (d.clone(), armed.clone());
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut sent = 0usize;
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            sent += n;
                            if sent > cut_after && armed.swap(false, Ordering::SeqCst) {
                                drops.fetch_add(1, Ordering::SeqCst);
                                if hang {
                                    std::future::pending::<()>().await;
                                }
                                return; // drops both halves: the connection dies mid-request
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    };
                    tokio::select! { _ = up => {}, _ = down => {} }
                });
            }
        });
        DroppingProxy { port, drops, task }
    }

    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
}

impl Drop for DroppingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
