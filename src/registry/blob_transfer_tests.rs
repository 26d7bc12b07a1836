//! Resume path of [`super::transfer_blob`] against a fake registry on loopback that keeps an
//! interrupted upload session (the reference registry drops it, so the integration tests only
//! see restarts): the first monolithic `PUT` is cut after a prefix, and the transfer must ask
//! for the offset, send only the rest with a `PATCH`, and close with an empty `PUT`.

use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use std::time::Duration;

use super::*;

struct Fake {
    blob: Vec<u8>,
    cut_after: usize,
    /// The source announces the whole blob but closes the connection after this many bytes.
    source_cut: Option<usize>,
    /// The destination reads an upload's body and never answers it.
    hang: bool,
    received: Mutex<Vec<u8>>,
    log: Mutex<Vec<String>>,
}

impl Fake {
    fn new(blob: &[u8], cut_after: usize, source_cut: Option<usize>, hang: bool) -> Arc<Fake> {
        Arc::new(Fake {
            blob: blob.to_vec(),
            cut_after,
            source_cut,
            hang,
            received: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
        })
    }
}

/// A client of the fake registry at `host`, its `src` and `dst` repositories, and the job of
/// moving `blob` between them.
fn endpoints(host: &str, blob: &[u8]) -> (RegistryClient, Repo, Repo, BlobJob) {
    let client = RegistryClient::new(true, Default::default(), 3).unwrap();
    let repo = |name: &str| Repo { registry: host.to_owned(), repository: name.into(), scopes: vec![] };
    let job = BlobJob { digest: Digest::of(blob), size: blob.len() as u64, mount_from: None };
    (client, repo("src"), repo("dst"), job)
}

async fn read_head(sock: &mut TcpStream) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let rest = buf[end + 4..].to_vec();
            let mut lines = head.split("\r\n");
            let request_line = lines.next()?.to_string();
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            return Some((request_line, headers, rest));
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn read_body(sock: &mut TcpStream, mut body: Vec<u8>, len: usize, stop_at: usize) -> Vec<u8> {
    let mut chunk = [0u8; 8192];
    while body.len() < len.min(stop_at) {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(len.min(stop_at));
    body
}

async fn respond(sock: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let _ = sock.write_all(out.as_bytes()).await;
    let _ = sock.write_all(body).await;
}

async fn handle(fake: Arc<Fake>, mut sock: TcpStream) {
    let Some((line, headers, rest)) = read_head(&mut sock).await else {
        return;
    };
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let location = ("location", "/upload/1".to_string());
    match (method, path) {
        ("GET", p) if p.starts_with("/v2/src/blobs/") => {
            fake.log.lock().unwrap().push("GET blob".into());
            match fake.source_cut {
                Some(cut) => {
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", fake.blob.len());
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(&fake.blob[..cut]).await;
                }
                None => respond(&mut sock, "200 OK", &[], &fake.blob).await,
            }
        }
        ("POST", "/v2/dst/blobs/uploads/") => {
            fake.log.lock().unwrap().push("POST upload".into());
            respond(&mut sock, "202 Accepted", &[location], b"").await;
        }
        ("PUT", "/upload/1") if len > 0 && fake.hang => {
            let body = read_body(&mut sock, rest, len, usize::MAX).await;
            fake.log.lock().unwrap().push(format!("PUT hangs after {}", body.len()));
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        ("DELETE", "/upload/1") => {
            fake.log.lock().unwrap().push("DELETE upload".into());
            respond(&mut sock, "204 No Content", &[], b"").await;
        }
        ("PUT", "/upload/1") if len > 0 => {
            // The monolithic attempt: keep a prefix, then the connection dies.
            let body = read_body(&mut sock, rest, len, fake.cut_after).await;
            fake.log.lock().unwrap().push(format!("PUT cut at {}", body.len()));
            fake.received.lock().unwrap().extend_from_slice(&body);
        }
        ("GET", "/upload/1") => {
            let held = fake.received.lock().unwrap().len();
            fake.log.lock().unwrap().push(format!("GET status {held}"));
            let range = format!("0-{}", held.saturating_sub(1));
            respond(&mut sock, "204 No Content", &[location, ("range", range)], b"").await;
        }
        ("PATCH", "/upload/1") => {
            let range = header("content-range").unwrap_or_default();
            let body = read_body(&mut sock, rest, len, usize::MAX).await;
            fake.log.lock().unwrap().push(format!("PATCH {range} ({} bytes)", body.len()));
            fake.received.lock().unwrap().extend_from_slice(&body);
            respond(&mut sock, "202 Accepted", &[location], b"").await;
        }
        ("PUT", "/upload/1") => {
            let got = format!("sha256:{:x}", Sha256::digest(&*fake.received.lock().unwrap()));
            let ok = target.contains(&got.replace(':', "%3A"));
            fake.log.lock().unwrap().push(format!("PUT close ok={ok}"));
            let status = if ok { "201 Created" } else { "400 Bad Request" };
            respond(&mut sock, status, &[], b"").await;
        }
        _ => respond(&mut sock, "404 Not Found", &[], b"").await,
    }
}

/// Serves `fake` on a loopback port: its `host:port`, and the task to abort when done.
async fn serve(fake: Arc<Fake>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(handle(fake.clone(), sock));
        }
    });
    (host, server)
}

/// Transfers a 1,000,000-byte blob from `src` to `dst` on a fake registry that cuts the
/// upload after `cut_after` bytes and the source's answer after `source_cut`, with `retries`.
async fn transfer(
    cut_after: usize,
    source_cut: Option<usize>,
    retries: u32,
) -> (Vec<u8>, Arc<Fake>, Result<BlobOutcome, RegistryError>) {
    let blob: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let fake = Fake::new(&blob, cut_after, source_cut, false);
    let (host, server) = serve(fake.clone()).await;
    let (client, src, dst, job) = endpoints(&host, &blob);
    let settings = TransferSettings { mode: UploadMode::Monolithic, retries, stall_timeout: Duration::from_secs(30) };
    let open = OpenUploads::default();
    let outcome = transfer_blob(&client, &src, &dst, &job, settings, &open).await;
    server.abort();
    assert_eq!(open.len(), 0, "a transfer that ended, well or not, leaves no session open");
    (blob, fake, outcome)
}

#[tokio::test]
async fn broken_monolithic_upload_resumes_from_the_registry_offset() {
    let (blob, fake, outcome) = transfer(300_000, None, 3).await;
    let outcome = outcome.unwrap();

    assert_eq!(outcome, BlobOutcome::Copied { bytes: 1_000_000, retries: 1 });
    assert_eq!(*fake.received.lock().unwrap(), blob);
    assert_eq!(
        *fake.log.lock().unwrap(),
        vec![
            "POST upload",
            "GET blob",
            "PUT cut at 300000",
            "GET status 300000",
            "GET blob",
            "PATCH 300000-999999 (700000 bytes)",
            "PUT close ok=true",
        ]
    );
}

/// A source that announces the whole blob and closes its connection halfway: the copy is
/// retried, and the error that ends it names the source, not the healthy destination.
#[tokio::test]
async fn a_source_that_breaks_off_is_named_as_the_failure() {
    let (_, _, outcome) = transfer(usize::MAX, Some(400_000), 1).await;
    let err = outcome.unwrap_err();
    let RegistryError::UploadFailed { attempts, last, .. } = &err else { panic!("{}", err.chain()) };
    assert_eq!(*attempts, 2);
    match last.as_ref() {
        RegistryError::SourceBroken { repository, received, expected, .. } => {
            assert_eq!((repository.as_str(), *expected), ("src", 1_000_000));
            assert!(*received <= 400_000, "{received}");
        }
        other => panic!("{}", other.chain()),
    }
    assert!(err.chain().contains("/src: reading sha256:"), "{}", err.chain());
}

/// A transfer dropped mid-upload (its copy was cancelled, or another blob failed) leaves its
/// session noted as open, and the copy's cleanup cancels it.
#[tokio::test]
async fn a_dropped_transfer_leaves_its_session_to_be_cancelled() {
    let blob: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let fake = Fake::new(&blob, usize::MAX, None, true);
    let (host, server) = serve(fake.clone()).await;
    let (client, src, dst, job) = endpoints(&host, &blob);
    let settings =
        TransferSettings { mode: UploadMode::Monolithic, retries: 3, stall_timeout: Duration::from_secs(30) };
    let open = OpenUploads::default();
    let transfer = transfer_blob(&client, &src, &dst, &job, settings, &open);
    assert!(tokio::time::timeout(Duration::from_millis(500), transfer).await.is_err(), "the upload hangs");
    assert_eq!(open.len(), 1);
    open.cancel_all(&client).await;
    assert_eq!(open.len(), 0);
    server.abort();
    let log = fake.log.lock().unwrap().clone();
    assert_eq!(log, vec!["POST upload", "GET blob", "PUT hangs after 100000", "DELETE upload"]);
}
