//! The simulator's registry (each region's OCIR under `/v2/`): pushes and pulls, `drctl
//! image copy` between two regions of one simulator, chunked uploads, cross-repository
//! mounts, the Distribution API's errors, content negotiation, basic auth, the container
//! repositories behind pushes, the function image check, and the dump.

mod sim_support;

use drctl::oci::{OciRequest, Service};
use drctl::registry::{copy_image, CopyOptions, CopyRequest, Credentials, UploadMode};
use reqwest::Method;
use serde_json::{json, Value};
use sim_support::{push_image, sha256, TestSim};
use tokio_util::sync::CancellationToken;

const IAD: &str = "us-ashburn-1";
const PHX: &str = "us-phoenix-1";

fn host(sim: &TestSim, region: &str) -> String {
    sim.base(region).trim_start_matches("http://").to_string()
}

fn request(src: &str, dst: &str) -> CopyRequest {
    CopyRequest {
        source: src.parse().unwrap(),
        destination: dst.parse().unwrap(),
        source_credentials: None,
        destination_credentials: None,
        options: CopyOptions { plain_http: true, ..CopyOptions::default() },
    }
}

async fn errors_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.unwrap()["errors"][0].clone())
}

/// The container repositories of Phoenix's root compartment, as the Artifacts API lists them.
async fn phoenix_repositories(sim: &TestSim) -> Value {
    sim.client()
        .send_json(
            OciRequest::new(Method::GET, Service::Artifacts, PHX, "/container/repositories")
                .query("compartmentId", sim.identity.tenancy.clone()),
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drctl_image_copy_between_two_regions_and_the_dump() {
    let sim = TestSim::start(|_| {}).await;
    let ns = sim.identity.namespace.clone();
    let image = push_image(&sim.base(IAD), &format!("{ns}/orders/app"), "1.0", "app").await;
    let src = format!("{}/{ns}/orders/app:1.0", host(&sim, IAD));
    let dst = format!("{}/{ns}/orders/app:1.0", host(&sim, PHX));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_drctl"))
        .args(["image", "copy", "--plain-http", "--json", &src, &dst])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["source_digest"], json!(image.digest));
    assert_eq!(report["destination_digest"], json!(image.digest));
    assert_eq!(report["blobs_copied"], 2);
    // Pulled back from Phoenix: the exact bytes.
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/v2/{ns}/orders/app/manifests/1.0", sim.base(PHX)))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["docker-content-digest"], image.digest.as_str());
    assert_eq!(resp.bytes().await.unwrap().to_vec(), image.manifest);
    let layer = &image.blobs[1];
    let pulled = http.get(format!("{}/v2/{ns}/orders/app/blobs/{}", sim.base(PHX), layer.0)).send().await.unwrap();
    assert_eq!(pulled.bytes().await.unwrap().to_vec(), layer.1);
    let tags: Value =
        http.get(format!("{}/v2/{ns}/orders/app/tags/list", sim.base(PHX))).send().await.unwrap().json().await.unwrap();
    assert_eq!(tags, json!({"name": format!("{ns}/orders/app"), "tags": ["1.0"]}));

    // The push made the container repository in Phoenix's root compartment, with counts.
    let repos = phoenix_repositories(&sim).await;
    let repo = &repos["items"][0];
    assert_eq!((repo["displayName"].as_str(), repo["imageCount"].as_u64()), (Some("orders/app"), Some(1)));
    assert_eq!(repo["layerCount"], 2);
    // ContainerRepositoryCollection's totals, and what later pages hold.
    assert_eq!(
        (&repos["repositoryCount"], &repos["imageCount"], &repos["layerCount"], &repos["remainingItemsCount"]),
        (&json!(1), &json!(1), &json!(2), &json!(0))
    );
    assert_eq!(repos["layersSizeInBytes"], repo["layersSizeInBytes"]);
    let images: Value = sim
        .client()
        .send_json(
            OciRequest::new(Method::GET, Service::Artifacts, PHX, "/container/images")
                .query("compartmentId", sim.identity.tenancy.clone())
                .query("limit", "1"),
        )
        .await
        .unwrap();
    assert_eq!(
        (images["items"][0]["digest"].as_str(), &images["remainingItemsCount"]),
        (Some(image.digest.as_str()), &json!(0))
    );
    // The name is the registry path, so no other compartment may take it.
    let other: Value = sim
        .client()
        .send_json(
            OciRequest::new(Method::POST, Service::Identity, IAD, "/compartments")
                .json(&json!({"compartmentId": sim.identity.tenancy, "name": "other", "description": "x"}))
                .unwrap(),
        )
        .await
        .unwrap();
    let taken = sim
        .client()
        .send(
            OciRequest::new(Method::POST, Service::Artifacts, PHX, "/container/repositories")
                .json(&json!({"compartmentId": other["id"], "displayName": "orders/app"}))
                .unwrap(),
        )
        .await;
    match taken {
        Err(drctl::oci::ClientError::Api(e)) => assert_eq!((e.status, e.code.as_str()), (409, "Conflict")),
        other => panic!("expected 409 Conflict, got {other:?}"),
    }

    let dump = drctl::sim::admin::dump(&sim.launched.running.sim, Some(PHX));
    assert_eq!(
        dump[PHX]["registry"]["repositories"],
        json!([{"name": format!("{ns}/orders/app"), "tags": {"1.0": image.digest}, "blobs": 2,
                "manifests": [{"digest": image.digest, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "size": image.manifest.len()}]}])
    );
    assert_eq!(dump[PHX]["registry"]["blobs"], 2);

    // Deleted through the Artifacts API, the image leaves the registry with its tag, and the
    // repository's counts follow.
    let image_id = images["items"][0]["id"].as_str().unwrap().to_owned();
    let stale = sim
        .client()
        .send(
            OciRequest::new(Method::DELETE, Service::Artifacts, PHX, format!("/container/images/{image_id}"))
                .if_match("not-the-etag"),
        )
        .await;
    match stale {
        Err(drctl::oci::ClientError::Api(e)) => assert_eq!(e.status, 412),
        other => panic!("expected 412, got {other:?}"),
    }
    let deleted = sim
        .client()
        .send(OciRequest::new(Method::DELETE, Service::Artifacts, PHX, format!("/container/images/{image_id}")))
        .await
        .unwrap();
    assert_eq!(deleted.status.as_u16(), 204);
    let gone = http.get(format!("{}/v2/{ns}/orders/app/manifests/1.0", sim.base(PHX))).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    let again = sim
        .client()
        .send(OciRequest::new(Method::GET, Service::Artifacts, PHX, format!("/container/images/{image_id}")))
        .await;
    assert!(matches!(again, Err(drctl::oci::ClientError::Api(ref e)) if e.status == 404), "{again:?}");
    let repos = phoenix_repositories(&sim).await;
    assert_eq!((&repos["items"][0]["imageCount"], &repos["imageCount"]), (&json!(0), &json!(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_uploads_and_mounts_within_a_region() {
    let sim = TestSim::start(|_| {}).await;
    let ns = sim.identity.namespace.clone();
    let image = push_image(&sim.base(IAD), &format!("{ns}/a"), "v1", "a").await;
    let mut chunked = request(&format!("{}/{ns}/a:v1", host(&sim, IAD)), &format!("{}/{ns}/b:v1", host(&sim, PHX)));
    chunked.options.upload_mode = UploadMode::Chunked;
    let report = copy_image(chunked, CancellationToken::new()).await.unwrap();
    assert_eq!((report.blobs_copied, report.blobs_mounted), (2, 0));
    assert_eq!(report.destination_digest, image.digest);
    // Same region, another repository: the blobs are mounted, not copied.
    let mounted = copy_image(
        request(&format!("{}/{ns}/a:v1", host(&sim, IAD)), &format!("{}/{ns}/c:v2", host(&sim, IAD))),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!((mounted.blobs_copied, mounted.blobs_mounted, mounted.bytes_moved), (0, 2, 0));
    assert_eq!(mounted.destination_digest, image.digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distribution_errors_have_the_specifications_shape() {
    let sim = TestSim::start(|_| {}).await;
    let ns = sim.identity.namespace.clone();
    let base = sim.base(IAD);
    let http = reqwest::Client::new();
    let resp = http.get(format!("{base}/v2/")).send().await.unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.headers()["docker-distribution-api-version"].to_str().unwrap()),
        (200, "registry/2.0")
    );

    let wrong = sha256(b"something else");
    let resp = http
        .post(format!("{base}/v2/{ns}/x/blobs/uploads/"))
        .query(&[("digest", &wrong)])
        .body("data")
        .send()
        .await
        .unwrap();
    let (status, error) = errors_of(resp).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("DIGEST_INVALID")));
    assert_eq!(error["detail"]["actual"], json!(sha256(b"data")));

    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": wrong, "size": 3}, "layers": []});
    let resp = http
        .put(format!("{base}/v2/{ns}/x/manifests/v1"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.to_string())
        .send()
        .await
        .unwrap();
    let (status, error) = errors_of(resp).await;
    assert_eq!(
        (status, error["code"].as_str(), &error["detail"]),
        (400, Some("MANIFEST_BLOB_UNKNOWN"), &json!({"digest": wrong}))
    );

    let image = push_image(&base, &format!("{ns}/x"), "v1", "x").await;
    let other = sha256(b"not the manifest");
    let resp = http
        .put(format!("{base}/v2/{ns}/x/manifests/{other}"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(image.manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(errors_of(resp).await.1["code"], "DIGEST_INVALID");

    let resp = http.get(format!("{base}/v2/{ns}/x/manifests/v9")).send().await.unwrap();
    assert_eq!(
        errors_of(resp).await,
        (404, json!({"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"reference": "v9"}}))
    );
    let resp = http.get(format!("{base}/v2/{ns}/x/blobs/{wrong}")).send().await.unwrap();
    assert_eq!(errors_of(resp).await.1["code"], "BLOB_UNKNOWN");
    let resp = http.get(format!("{base}/v2/otherns/x/tags/list")).send().await.unwrap();
    assert_eq!(errors_of(resp).await.1["code"], "NAME_UNKNOWN");
    let resp = http.get(format!("{base}/v2/{ns}/Bad/tags/list")).send().await.unwrap();
    assert_eq!(errors_of(resp).await.1["code"], "NAME_INVALID");
    // The registry is per region: Phoenix has nothing.
    let resp = http.head(format!("{}/v2/{ns}/x/manifests/v1", sim.base(PHX))).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    // An index whose child is missing is refused; with the child present it is stored, and a
    // client that accepts only image manifests gets the linux/amd64 one.
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": image.digest,
                       "size": image.manifest.len(), "platform": {"os": "linux", "architecture": "amd64"}}]});
    let put_index = |repo: String| {
        http.put(format!("{base}/v2/{ns}/{repo}/manifests/multi"))
            .header("content-type", "application/vnd.oci.image.index.v1+json")
            .body(index.to_string())
            .send()
    };
    assert_eq!(errors_of(put_index("y".into()).await.unwrap()).await.1["code"], "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(put_index("x".into()).await.unwrap().status(), 201);
    let resp = http
        .get(format!("{base}/v2/{ns}/x/manifests/multi"))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["docker-content-digest"], image.digest.as_str());
    let resp = http
        .get(format!("{base}/v2/{ns}/x/manifests/multi"))
        .header("accept", "application/vnd.oci.image.index.v1+json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/vnd.oci.image.index.v1+json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocir_token_auth_when_configured() {
    let sim = TestSim::start(|a| a.registry_auth = Some(("ocir-user".into(), "token".into()))).await;
    let ns = sim.identity.namespace.clone();
    let base = sim.base(IAD);
    let resp = reqwest::get(format!("{base}/v2/")).await.unwrap();
    assert_eq!(resp.status(), 401);
    // As OCIR: a Bearer challenge naming the region's token service.
    assert_eq!(
        resp.headers()["www-authenticate"],
        format!("Bearer realm=\"{base}/20180419/docker/token\",service=\"iad.ocir.io\"").as_str()
    );
    assert_eq!(errors_of(resp).await.1["code"], "UNAUTHORIZED");
    let http = reqwest::Client::new();
    let tokens = format!("{base}/20180419/docker/token");
    let refused = http.get(&tokens).basic_auth("ocir-user", Some("wrong")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let issued: Value =
        http.get(&tokens).basic_auth("ocir-user", Some("token")).send().await.unwrap().json().await.unwrap();
    let token = issued["token"].as_str().unwrap();
    let resp = http.get(format!("{base}/v2/")).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = http.get(format!("{base}/v2/")).bearer_auth("forged").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let src = format!("{}/{ns}/a:v1", host(&sim, IAD));
    let dst = format!("{}/{ns}/a:v1", host(&sim, PHX));
    let err = copy_image(request(&src, &dst), CancellationToken::new()).await.unwrap_err();
    assert!(err.to_string().contains("gives no token without credentials"), "{err}");
    let mut with_creds = request(&src, &dst);
    with_creds.source_credentials = Some(Credentials::new("ocir-user", "token"));
    let err = copy_image(with_creds, CancellationToken::new()).await.unwrap_err();
    // Authenticated now: the image simply is not there.
    assert!(err.to_string().contains("MANIFEST_UNKNOWN"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_need_their_ocir_image_in_the_region() {
    let sim = TestSim::start(|_| {}).await;
    let ns = sim.identity.namespace.clone();
    let client = sim.client();
    let app: Value = client
        .send_json(
            OciRequest::new(Method::POST, Service::Functions, IAD, "/applications")
                .json(&json!({"compartmentId": sim.identity.tenancy, "displayName": "app"}))
                .unwrap(),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    let function = |image: String| {
        OciRequest::new(Method::POST, Service::Functions, IAD, "/functions")
            .json(&json!({"applicationId": app["id"], "displayName": "f", "image": image, "memoryInMBs": 128}))
            .unwrap()
    };
    let missing = format!("iad.ocir.io/{ns}/fn/hello:1");
    let err = client.send(function(missing.clone())).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, api.code.as_str()), (404, "NotAuthorizedOrNotFound"));
    assert!(
        api.message
            .starts_with(&format!("The image {missing} was not found in the us-ashburn-1 registry (iad.ocir.io)")),
        "{}",
        api.message
    );
    // Pushed to Phoenix only: still missing in Ashburn.
    push_image(&sim.base(PHX), &format!("{ns}/fn/hello"), "1", "hello").await;
    assert_eq!(client.send(function(missing.clone())).await.unwrap_err().api().unwrap().status, 404);
    let image = push_image(&sim.base(IAD), &format!("{ns}/fn/hello"), "1", "hello").await;
    let created: Value = client.send_json(function(missing.clone())).await.unwrap();
    assert_eq!(created["imageDigest"], json!(image.digest));
    assert_eq!(created["sourceDetails"]["imageDigest"], json!(image.digest));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_survive_a_restart_with_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let identity = drctl::sim::setup::init(dir.path(), IAD).unwrap();
    let mut args = drctl::sim::cli::ServeArgs::for_dir(dir.path());
    args.state = Some(dir.path().join("state.json"));
    let first = drctl::sim::cli::launch(&args).await.unwrap();
    let repository = format!("{}/kept", identity.namespace);
    let image = push_image(&first.running.endpoints[IAD], &repository, "v1", "kept").await;
    first.stop().await;
    let second = drctl::sim::cli::launch(&args).await.unwrap();
    let base = &second.running.endpoints[IAD];
    let resp = reqwest::get(format!("{base}/v2/{repository}/manifests/v1")).await.unwrap();
    assert_eq!(resp.headers()["docker-content-digest"], image.digest.as_str());
    assert_eq!(resp.bytes().await.unwrap().to_vec(), image.manifest);
    let blob = reqwest::get(format!("{base}/v2/{repository}/blobs/{}", image.blobs[1].0)).await.unwrap();
    assert_eq!(blob.bytes().await.unwrap().to_vec(), image.blobs[1].1);
    second.stop().await;
}

/// The simulator's registry deletes a tag alone (version 1.1 of the distribution
/// specification), as drill cleanup asks it to for a tag a copy put on an image the
/// destination held: the image stays under its other tag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_is_removed_alone_and_its_image_stays() {
    let sim = TestSim::start(|_| {}).await;
    let ns = sim.identity.namespace.clone();
    let image = push_image(&sim.base(PHX), &format!("{ns}/orders/app"), "1.0", "app").await;
    let copied = copy_image(
        request(
            &format!("{}/{ns}/orders/app@{}", host(&sim, PHX), image.digest),
            &format!("{}/{ns}/orders/app:2.0", host(&sim, PHX)),
        ),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(copied.existed && copied.tag_written && copied.tag_before.is_none(), "{copied:?}");
    let tagged: drctl::registry::ImageRef = format!("{}/{ns}/orders/app:2.0", host(&sim, PHX)).parse().unwrap();
    let undone = drctl::registry::RepoUndo::new(&tagged, None, true)
        .unwrap()
        .undo_tag("2.0", &image.digest, None)
        .await
        .unwrap();
    assert_eq!(undone, drctl::registry::TagUndo::Removed);
    let http = reqwest::Client::new();
    let manifest = |reference: &str| {
        http.get(format!("{}/v2/{ns}/orders/app/manifests/{reference}", sim.base(PHX)))
            .header("accept", "application/vnd.oci.image.manifest.v1+json")
            .send()
    };
    assert_eq!(manifest("2.0").await.unwrap().status(), 404);
    assert_eq!(manifest("1.0").await.unwrap().status(), 200);
    assert_eq!(manifest(&image.digest).await.unwrap().status(), 200);
    let again = drctl::registry::RepoUndo::new(&tagged, None, true)
        .unwrap()
        .undo_tag("2.0", &image.digest, None)
        .await
        .unwrap();
    assert_eq!(again, drctl::registry::TagUndo::Gone);
}
