//! Image copy against two real registries on loopback: single-platform and multi-arch images,
//! the no-op second copy, cross-repository mounts, a corrupted source blob, and a connection
//! dropped in the middle of an upload.

mod support;

use drctl::registry::{copy_image, plan_copy, BlobAction, CopyOptions, CopyRequest, RegistryError};
use support::registry::*;
use tokio_util::sync::CancellationToken;

fn request(src: &str, dst: &str) -> CopyRequest {
    CopyRequest {
        source: src.parse().unwrap(),
        destination: dst.parse().unwrap(),
        source_credentials: None,
        destination_credentials: None,
        options: CopyOptions { plain_http: true, ..CopyOptions::default() },
    }
}

const LAYERS: [usize; 4] = [3 << 20, 1 << 20, 200 << 10, 10];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_image_by_digest_then_second_copy_moves_nothing() {
    let (Some(r1), Some(r2)) = (start_registry(), start_registry()) else {
        return;
    };
    let img = push_image(&r1.host(), "app/web", "v1", &LAYERS, 1).await;
    let http = reqwest::Client::new();

    let req = request(&format!("{}/app/web:v1", r1.host()), &format!("{}/dr/web:v1", r2.host()));
    let report = copy_image(req.clone(), CancellationToken::new()).await.unwrap();
    assert_eq!(report.source_digest.as_str(), img.digest);
    assert_eq!(report.destination_digest, img.digest);
    assert_eq!(report.blobs_copied, 5);
    assert_eq!(report.blobs_skipped, 0);
    assert_eq!(report.blobs_mounted, 0);
    assert_eq!(report.bytes_moved, img.blob_bytes());
    assert_eq!(report.manifests.len(), 1);
    assert!(report.manifests[0].pushed);
    assert_eq!(report.upload_retries, 0);
    let served = get_manifest(&http, &r2.host(), "dr/web", "v1").await.unwrap();
    assert_eq!(served, img.manifest, "destination must serve the source's exact bytes");
    for (digest, _) in &img.blobs {
        assert!(blob_exists(&http, &r2.host(), "dr/web", digest).await, "{digest} missing");
    }

    // Same copy again: nothing to move, nothing to push.
    let again = copy_image(req, CancellationToken::new()).await.unwrap();
    assert_eq!((again.blobs_copied, again.blobs_skipped, again.bytes_moved), (0, 5, 0));
    assert!(!again.manifests[0].pushed);
    assert_eq!(again.destination_digest, img.digest);

    // A new tag in the same repository, pinned by digest: the destination holds the digest,
    // so its own manifest is put under the tag and the source is not read at all: here it
    // names a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let by_digest = format!("{closed}/app/web@{}", img.digest);
    let retag = copy_image(request(&by_digest, &format!("{}/dr/web:v1-copy", r2.host())), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((retag.blobs_copied, retag.blobs_skipped, retag.bytes_moved), (0, 0, 0));
    assert!(retag.existed && retag.manifests.len() == 1 && retag.manifests[0].pushed);

    // By tag, the source is read: blobs are found by HEAD, only the manifest is pushed.
    let retag = copy_image(
        request(&format!("{}/app/web:v1", r1.host()), &format!("{}/dr/web:v1-again", r2.host())),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!((retag.blobs_copied, retag.blobs_skipped, retag.bytes_moved), (0, 5, 0));
    assert_eq!(get_manifest(&http, &r2.host(), "dr/web", "v1-again").await.unwrap(), img.manifest);
    assert_eq!(get_manifest(&http, &r2.host(), "dr/web", "v1-copy").await.unwrap(), img.manifest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_every_platform_of_an_index() {
    let (Some(r1), Some(r2)) = (start_registry(), start_registry()) else {
        return;
    };
    let http = reqwest::Client::new();
    let amd = push_image_typed(&r1.host(), "fn/hello", "amd64", &[1 << 20, 4096], 7, "amd64", true).await;
    let arm = push_image_typed(&r1.host(), "fn/hello", "arm64", &[1 << 20, 4096], 8, "arm64", true).await;
    let (index, index_digest) =
        push_index(&r1.host(), "fn/hello", "1.0", &[(&amd, "linux/amd64"), (&arm, "linux/arm64/v8")]).await;

    let req = request(&format!("{}/fn/hello:1.0", r1.host()), &format!("{}/fn/hello:1.0", r2.host()));
    let plan = plan_copy(&req, CancellationToken::new()).await.unwrap();
    assert_eq!(plan.manifests.len(), 3);
    assert_eq!(plan.manifests[2].digest.as_str(), index_digest);
    let platforms: Vec<_> = plan.manifests.iter().map(|m| m.platform.clone()).collect();
    assert_eq!(platforms, vec![Some("linux/amd64".into()), Some("linux/arm64/v8".into()), None]);
    assert_eq!(plan.blobs.len(), 6);
    assert!(plan.blobs.iter().all(|b| b.action == BlobAction::Copy));
    assert_eq!(plan.bytes_to_copy, amd.blob_bytes() + arm.blob_bytes());

    let report = copy_image(req.clone(), CancellationToken::new()).await.unwrap();
    assert_eq!(report.source_digest.as_str(), index_digest);
    assert_eq!(report.destination_digest, index_digest);
    assert_eq!(report.blobs_copied, 6);
    assert_eq!(report.bytes_moved, plan.bytes_to_copy);
    assert_eq!(get_manifest(&http, &r2.host(), "fn/hello", "1.0").await.unwrap(), index);
    for child in [&amd, &arm] {
        let served = get_manifest(&http, &r2.host(), "fn/hello", &child.digest).await.unwrap();
        assert_eq!(served, child.manifest);
    }

    let plan = plan_copy(&req, CancellationToken::new()).await.unwrap();
    assert!(plan.manifests.iter().all(|m| m.present));
    assert_eq!(plan.bytes_to_copy, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_repository_copy_on_one_registry_mounts_blobs() {
    let Some(r1) = start_registry() else { return };
    let img = push_image(&r1.host(), "region-a/app", "v3", &LAYERS, 3).await;
    let req = request(&format!("{}/region-a/app:v3", r1.host()), &format!("{}/region-b/app:v3", r1.host()));
    let plan = plan_copy(&req, CancellationToken::new()).await.unwrap();
    assert!(plan.blobs.iter().all(|b| b.action == BlobAction::Mount { from: "region-a/app".into() }));
    let report = copy_image(req, CancellationToken::new()).await.unwrap();
    assert_eq!((report.blobs_mounted, report.blobs_copied, report.bytes_moved), (5, 0, 0));
    assert_eq!(report.destination_digest, img.digest);
    let http = reqwest::Client::new();
    assert_eq!(get_manifest(&http, &r1.host(), "region-b/app", "v3").await.unwrap(), img.manifest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_source_blob_is_detected_and_not_uploaded() {
    let (Some(r1), Some(r2)) = (start_registry(), start_registry()) else {
        return;
    };
    let img = push_image(&r1.host(), "app/web", "v1", &LAYERS, 4).await;
    let (bad, _) = &img.blobs[1]; // the 3 MiB layer
    let path = r1.blob_path(bad);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let seen = sha256(&bytes);

    let req = request(&format!("{}/app/web:v1", r1.host()), &format!("{}/dr/web:v1", r2.host()));
    let err = copy_image(req, CancellationToken::new()).await.unwrap_err();
    match &err {
        RegistryError::DigestMismatch { registry, repository, expected, actual } => {
            assert_eq!(registry, &r1.host());
            assert_eq!(repository, "app/web");
            assert_eq!(expected.as_str(), bad);
            assert_eq!(actual.as_str(), seen);
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!("{}/app/web: content of {bad} hashes to {seen}; refusing to copy it", r1.host())
    );
    let http = reqwest::Client::new();
    assert!(!blob_exists(&http, &r2.host(), "dr/web", bad).await);
    assert_eq!(get_manifest(&http, &r2.host(), "dr/web", "v1").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_survives_a_dropped_connection() {
    // Shows the retry path (resumed or restarted) in the test output.
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let (Some(r1), Some(r2)) = (start_registry(), start_registry()) else {
        return;
    };
    let img = push_image(&r1.host(), "app/web", "v1", &[6 << 20, 1 << 20], 5).await;
    let proxy = DroppingProxy::start(r2.port, 2 << 20).await;
    let dst = format!("127.0.0.1:{}/dr/web:v1", proxy.port);
    let mut req = request(&format!("{}/app/web:v1", r1.host()), &dst);
    req.options.concurrency = 1;
    let report = copy_image(req, CancellationToken::new()).await.unwrap();
    assert_eq!(proxy.drops(), 1, "the proxy should have cut one upload");
    assert_eq!(report.upload_retries, 1);
    assert_eq!(report.destination_digest, img.digest);
    assert_eq!(report.blobs_copied, 3);
    let http = reqwest::Client::new();
    assert_eq!(get_manifest(&http, &r2.host(), "dr/web", "v1").await.unwrap(), img.manifest);
    for (digest, _) in &img.blobs {
        assert!(blob_exists(&http, &r2.host(), "dr/web", digest).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_upload_is_abandoned_and_retried() {
    let (Some(r1), Some(r2)) = (start_registry(), start_registry()) else {
        return;
    };
    let img = push_image(&r1.host(), "app/web", "v1", &[6 << 20], 10).await;
    let proxy = DroppingProxy::start_stalling(r2.port, 2 << 20).await;
    let dst = format!("127.0.0.1:{}/dr/web:v1", proxy.port);
    let mut req = request(&format!("{}/app/web:v1", r1.host()), &dst);
    req.options.stall_timeout = std::time::Duration::from_millis(500);
    let started = std::time::Instant::now();
    let report = copy_image(req, CancellationToken::new()).await.unwrap();
    assert_eq!(proxy.drops(), 1);
    assert_eq!(report.upload_retries, 1);
    assert_eq!(report.destination_digest, img.digest);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_copy_stops_with_cancelled() {
    let (Some(r1), Some(r2)) = (start_registry(), start_registry()) else {
        return;
    };
    push_image(&r1.host(), "app/web", "v1", &[1 << 20], 6).await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let req = request(&format!("{}/app/web:v1", r1.host()), &format!("{}/dr/web:v1", r2.host()));
    let err = copy_image(req, cancel).await.unwrap_err();
    assert!(matches!(err, RegistryError::Cancelled), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_digest_must_match_source() {
    let (Some(r1), Some(r2)) = (start_registry(), start_registry()) else {
        return;
    };
    let img = push_image(&r1.host(), "app/web", "v1", &[1024], 9).await;
    let other = sha256(b"not this image");
    let req = request(&format!("{}/app/web:v1", r1.host()), &format!("{}/dr/web@{other}", r2.host()));
    let err = copy_image(req, CancellationToken::new()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the destination `{}/dr/web@{other}` names digest {other}, but the source image is {}: name the \
             destination by a tag, or by the source's digest",
            r2.host(),
            img.digest
        )
    );
}
