//! The simulator's OCI semantics, driven with drctl's production client
//! (`drctl::oci::OciClient`) through the endpoints file, asserting exact statuses, error
//! codes and bodies.

mod sim_support;

use std::time::{Duration, SystemTime};

use drctl::oci::{
    wait_for_work_request, work_request_get, ClientError, OciClient, OciRequest, OciResponse, PollPolicy, Service,
};
use drctl::sim::faults::{FaultCommand, OutageMode};
use reqwest::Method;
use serde_json::{json, Value};
use sim_support::TestSim;

const IAD: &str = "us-ashburn-1";
const PHX: &str = "us-phoenix-1";

fn post(service: Service, region: &str, path: &str, body: Value) -> OciRequest {
    OciRequest::new(Method::POST, service, region, path).json(&body).unwrap()
}

fn get(service: Service, region: &str, path: &str) -> OciRequest {
    OciRequest::new(Method::GET, service, region, path)
}

/// (status, code, message) of a failed call.
fn failure(result: Result<OciResponse, ClientError>) -> (u16, String, String) {
    let err = result.expect_err("the call should have failed");
    let api = err.api().unwrap_or_else(|| panic!("not an API error: {err}"));
    (api.status, api.code.clone(), api.message.clone())
}

async fn create_vcn(client: &OciClient, sim: &TestSim, region: &str, cidr: &str) -> Value {
    let body = json!({"compartmentId": sim.identity.tenancy, "cidrBlock": cidr, "displayName": format!("vcn-{cidr}")});
    client.send_json(post(Service::Core, region, "/vcns", body)).await.unwrap()
}

async fn wait_active(client: &OciClient, service: Service, region: &str, path: &str, state: &str) -> Value {
    for _ in 0..100 {
        let v: Value = client.send_json(get(service, region, path)).await.unwrap();
        if v["lifecycleState"] == state {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} never reached {state}");
}

#[tokio::test]
async fn create_goes_provisioning_then_available_with_request_id_and_etag() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let resp = client
        .send(
            post(
                Service::Core,
                IAD,
                "/vcns",
                json!({"compartmentId": sim.identity.tenancy, "cidrBlock": "10.0.0.0/16"}),
            )
            .request_id("REQ-1"),
        )
        .await
        .unwrap();
    assert_eq!(resp.request_id, "REQ-1");
    assert!(resp.headers.contains_key("etag"));
    let vcn: Value = resp.json().unwrap();
    assert_eq!(vcn["lifecycleState"], "PROVISIONING");
    let id = vcn["id"].as_str().unwrap();
    assert!(id.starts_with("ocid1.vcn.oc1.iad."), "{id}");
    assert!(vcn["timeCreated"].as_str().unwrap().ends_with('Z'));
    let vcn = wait_active(&client, Service::Core, IAD, &format!("/vcns/{id}"), "AVAILABLE").await;
    assert_eq!(vcn["cidrBlocks"], json!(["10.0.0.0/16"]));
    // CIDR blocks of the wrong shape are named, not taken for missing; none at all is missing.
    for (blocks, code) in
        [(json!("10.1.0.0/16"), "InvalidParameter"), (json!([1]), "InvalidParameter"), (json!([]), "MissingParameter")]
    {
        let body = json!({"compartmentId": sim.identity.tenancy, "cidrBlocks": blocks});
        let (status, got, message) = failure(client.send(post(Service::Core, IAD, "/vcns", body)).await);
        assert_eq!((status, got.as_str()), (400, code), "{blocks}: {message}");
    }
    // So are the fields every resource has: a name that is no string, tags that are no map
    // (Oracle's SDK cannot list a compartment holding such a resource).
    for (field, value) in [
        ("displayName", json!(7)),
        ("freeformTags", json!(["a"])),
        ("freeformTags", json!({"team": 1})),
        ("definedTags", json!({"Ops": "x"})),
    ] {
        let mut body = json!({"compartmentId": sim.identity.tenancy, "cidrBlock": "10.9.0.0/16"});
        body[field] = value.clone();
        let (status, got, message) = failure(client.send(post(Service::Core, IAD, "/vcns", body)).await);
        assert_eq!((status, got.as_str()), (400, "InvalidParameter"), "{field} {value}: {message}");
        assert!(message.starts_with(field), "{message}");
    }
    let (status, got, _) = failure(
        client
            .send(
                OciRequest::new(Method::PUT, Service::Core, IAD, format!("/vcns/{id}"))
                    .json(&json!({"displayName": 5}))
                    .unwrap(),
            )
            .await,
    );
    assert_eq!((status, got.as_str()), (400, "InvalidParameter"));
    // Regions are separate: the VCN does not exist in Phoenix.
    let (status, code, _) = failure(client.send(get(Service::Core, PHX, &format!("/vcns/{id}"))).await);
    assert_eq!((status, code.as_str()), (404, "NotAuthorizedOrNotFound"));
    // What OCI makes with a VCN can be read, is the VCN's, and goes only with it.
    let defaults = [
        ("/routeTables", "defaultRouteTableId", "Default Route Table for "),
        ("/securityLists", "defaultSecurityListId", "Default Security List for "),
        ("/dhcps", "defaultDhcpOptionsId", "Default DHCP Options for "),
    ];
    for (path, field, name) in defaults {
        let child = vcn[field].as_str().unwrap();
        let read: Value = client.send_json(get(Service::Core, IAD, &format!("{path}/{child}"))).await.unwrap();
        assert_eq!((read["vcnId"].as_str(), read["lifecycleState"].as_str()), (Some(id), Some("AVAILABLE")), "{read}");
        assert!(read["displayName"].as_str().unwrap().starts_with(name), "{read}");
        let listed: Vec<Value> = client
            .send_json(get(Service::Core, IAD, path).query("compartmentId", &sim.identity.tenancy))
            .await
            .unwrap();
        assert!(listed.iter().any(|r| r["id"] == child), "{path}: {listed:?}");
        let delete = OciRequest::new(Method::DELETE, Service::Core, IAD, format!("{path}/{child}"));
        let (status, code, message) = failure(client.send(delete).await);
        assert_eq!((status, code.as_str()), (409, "Conflict"), "{message}");
    }
    client.send(OciRequest::new(Method::DELETE, Service::Core, IAD, format!("/vcns/{id}"))).await.unwrap();
    for (path, field, _) in defaults {
        let child = vcn[field].as_str().unwrap();
        let read: Value = client.send_json(get(Service::Core, IAD, &format!("{path}/{child}"))).await.unwrap();
        assert!(matches!(read["lifecycleState"].as_str(), Some("TERMINATING" | "TERMINATED")), "{read}");
    }
}

#[tokio::test]
async fn retry_token_replays_and_conflicts() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let body = json!({"compartmentId": sim.identity.tenancy, "cidrBlock": "10.0.0.0/16"});
    let first: Value =
        client.send_json(post(Service::Core, IAD, "/vcns", body.clone()).idempotency_key("k1")).await.unwrap();
    let again: Value = client.send_json(post(Service::Core, IAD, "/vcns", body).idempotency_key("k1")).await.unwrap();
    assert_eq!(first["id"], again["id"]);
    let list: Vec<Value> =
        client.send_json(get(Service::Core, IAD, "/vcns").query("compartmentId", &sim.identity.tenancy)).await.unwrap();
    assert_eq!(list.len(), 1, "the replay must not create a second VCN");
    let other = json!({"compartmentId": sim.identity.tenancy, "cidrBlock": "10.1.0.0/16"});
    let (status, code, _) = failure(client.send(post(Service::Core, IAD, "/vcns", other).idempotency_key("k1")).await);
    assert_eq!((status, code.as_str()), (409, "InvalidatedRetryToken"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_uses_of_a_retry_token_create_once() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let body = json!({"compartmentId": sim.identity.tenancy, "cidrBlock": "10.0.0.0/16"});
    let sends = (0..8)
        .map(|_| client.send_json::<Value>(post(Service::Core, IAD, "/vcns", body.clone()).idempotency_key("same")));
    let results = futures::future::join_all(sends).await;
    let ids: std::collections::BTreeSet<String> =
        results.into_iter().map(|r| r.unwrap()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "one VCN for one retry token: {ids:?}");
    let list: Vec<Value> =
        client.send_json(get(Service::Core, IAD, "/vcns").query("compartmentId", &sim.identity.tenancy)).await.unwrap();
    assert_eq!(list.len(), 1);
}

#[tokio::test]
async fn if_match_mismatch_is_412_and_match_updates() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let vcn = create_vcn(&client, &sim, IAD, "10.0.0.0/16").await;
    let path = format!("/vcns/{}", vcn["id"].as_str().unwrap());
    wait_active(&client, Service::Core, IAD, &path, "AVAILABLE").await;
    let etag = client.send(get(Service::Core, IAD, &path)).await.unwrap().headers["etag"].to_str().unwrap().to_string();
    let put = |name: &str| {
        OciRequest::new(Method::PUT, Service::Core, IAD, &path).json(&json!({"displayName": name})).unwrap()
    };
    let (status, code, _) = failure(client.send(put("x").if_match("wrong")).await);
    assert_eq!((status, code.as_str()), (412, "NoEtagMatch"));
    let updated: Value = client.send_json(put("renamed").if_match(etag.clone())).await.unwrap();
    assert_eq!(updated["displayName"], "renamed");
    let (status, _, _) =
        failure(client.send(OciRequest::new(Method::DELETE, Service::Core, IAD, &path).if_match(etag)).await);
    assert_eq!(status, 412, "the etag changed with the update");
}

#[tokio::test]
async fn pagination_walks_every_page() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    for i in 0..5 {
        create_vcn(&client, &sim, IAD, &format!("10.{i}.0.0/16")).await;
    }
    let list = get(Service::Core, IAD, "/vcns").query("compartmentId", &sim.identity.tenancy).query("limit", "2");
    let first = client.send(list.clone()).await.unwrap();
    assert_eq!(first.headers["opc-next-page"], "p2");
    assert_eq!(first.json::<Vec<Value>>().unwrap().len(), 2);
    let all = client.list_all(list).await.unwrap();
    let cidrs: Vec<&str> = all.iter().map(|v| v["cidrBlock"].as_str().unwrap()).collect();
    assert_eq!(cidrs, ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16"]);
    let filtered: Vec<Value> = client
        .send_json(
            get(Service::Core, IAD, "/vcns")
                .query("compartmentId", &sim.identity.tenancy)
                .query("displayName", "vcn-10.3.0.0/16"),
        )
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    // As OCI: a list needs its scope; without it the answer is 400, not every VCN of the region.
    let (status, code, message) = failure(client.send(get(Service::Core, IAD, "/vcns")).await);
    assert_eq!((status, code.as_str()), (400, "MissingParameter"), "{message}");
    assert!(message.contains("compartmentId"), "{message}");
    // sortBy / sortOrder, as the SDKs send them.
    let sorted: Vec<Value> = client
        .send_json(
            get(Service::Core, IAD, "/vcns")
                .query("compartmentId", &sim.identity.tenancy)
                .query("sortBy", "DISPLAYNAME")
                .query("sortOrder", "DESC"),
        )
        .await
        .unwrap();
    let names: Vec<&str> = sorted.iter().map(|v| v["displayName"].as_str().unwrap()).collect();
    assert_eq!(names, ["vcn-10.4.0.0/16", "vcn-10.3.0.0/16", "vcn-10.2.0.0/16", "vcn-10.1.0.0/16", "vcn-10.0.0.0/16"]);
    for (name, value) in [("sortBy", "bogus"), ("sortOrder", "sideways")] {
        let (status, code, message) = failure(
            client
                .send(get(Service::Core, IAD, "/vcns").query("compartmentId", &sim.identity.tenancy).query(name, value))
                .await,
        );
        assert_eq!((status, code.as_str()), (400, "InvalidParameter"), "{message}");
        assert!(message.contains(name), "{message}");
    }
    // A method the path does not take is OCI's JSON error, not an empty 405.
    let (status, code, _) = failure(client.send(OciRequest::new(Method::PATCH, Service::Core, IAD, "/vcns")).await);
    assert_eq!((status, code.as_str()), (405, "MethodNotAllowed"));
    // A compartment that does not exist is a 404, not an empty list.
    let (status, code, _) = failure(
        client.send(get(Service::Core, IAD, "/vcns").query("compartmentId", "ocid1.compartment.oc1..mistyped")).await,
    );
    assert_eq!((status, code.as_str()), (404, "NotAuthorizedOrNotFound"));
}

async fn application(client: &OciClient, sim: &TestSim, name: &str) -> (String, String) {
    let resp = client
        .send(post(
            Service::Functions,
            IAD,
            "/applications",
            json!({"compartmentId": sim.identity.tenancy, "displayName": name}),
        ))
        .await
        .unwrap();
    let wr = resp.headers["opc-work-request-id"].to_str().unwrap().to_string();
    let app: Value = resp.json().unwrap();
    (app["id"].as_str().unwrap().to_string(), wr)
}

/// An application, once its work request has ended and it is ACTIVE: its id.
async fn active_application(client: &OciClient, sim: &TestSim, name: &str) -> String {
    let (app, wr) = application(client, sim, name).await;
    let policy = PollPolicy { interval: Duration::from_millis(10), ..PollPolicy::default() };
    wait_for_work_request(client, work_request_get(Service::Functions, IAD, &wr), &policy).await.unwrap();
    app
}

fn function_body(app: &str, name: &str, image: &str) -> Value {
    json!({"applicationId": app, "displayName": name, "image": image, "memoryInMBs": 128})
}

/// Pushes an image to Ashburn's registry and returns its OCIR reference, which a function
/// in Ashburn may use.
async fn function_image(sim: &TestSim) -> String {
    let repository = format!("{}/f", sim.identity.namespace);
    sim_support::push_image(&sim.base(IAD), &repository, "1", "f").await;
    format!("iad.ocir.io/{repository}:1")
}

#[tokio::test]
async fn work_requests_succeed_and_referential_checks_hold() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let image = function_image(&sim).await;
    let (app, wr) = application(&client, &sim, "app").await;
    // A function needs an ACTIVE application: while CREATING it is 409 IncorrectState.
    let (status, code, _) =
        failure(client.send(post(Service::Functions, IAD, "/functions", function_body(&app, "early", &image))).await);
    assert_eq!((status, code.as_str()), (409, "IncorrectState"));
    let policy = PollPolicy { interval: Duration::from_millis(10), ..PollPolicy::default() };
    let done = wait_for_work_request(&client, work_request_get(Service::Functions, IAD, &wr), &policy).await.unwrap();
    assert_eq!(done.status, "SUCCEEDED");
    assert_eq!(done.resources(), vec![(app.clone(), "CREATED".to_string())]);
    // Its log tells each step it went through, the last being its end.
    let logs: Value =
        client.send_json(get(Service::Functions, IAD, &format!("/workRequests/{wr}/logs"))).await.unwrap();
    let messages: Vec<&str> = logs["items"].as_array().unwrap().iter().filter_map(|l| l["message"].as_str()).collect();
    assert_eq!(messages.len(), 3, "{logs}");
    assert!(messages[0].ends_with("accepted") && messages[2].ends_with("succeeded"), "{logs}");
    assert!(messages.iter().all(|m| m.contains(&app)), "{logs}");
    let (status, code, _) = failure(
        client
            .send(post(Service::Functions, IAD, "/functions", function_body("ocid1.fnapp.oc1.iad.nope", "f", &image)))
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "NotAuthorizedOrNotFound"));
    // The application lives in Ashburn only.
    let (status, _, _) =
        failure(client.send(post(Service::Functions, PHX, "/functions", function_body(&app, "f", &image))).await);
    assert_eq!(status, 404);
    let f: Value =
        client.send_json(post(Service::Functions, IAD, "/functions", function_body(&app, "f", &image))).await.unwrap();
    let path = format!("/functions/{}", f["id"].as_str().unwrap());
    let first = wait_active(&client, Service::Functions, IAD, &path, "ACTIVE").await;
    // A new image, the old API's way (top-level `image`) and the new one's (`sourceDetails`):
    // each takes the new image with a digest of its own, never the one it replaces.
    let mut digests = vec![first["imageDigest"].clone()];
    let ns = &sim.identity.namespace;
    let other = sim_support::push_image(&sim.base(IAD), &format!("{ns}/other"), "9", "other").await;
    let hello = sim_support::push_image(&sim.base(IAD), &format!("{ns}/hello"), "2", "hello").await;
    let (other_image, hello_image) = (format!("iad.ocir.io/{ns}/other:9"), format!("iad.ocir.io/{ns}/hello:2"));
    for (change, image, pushed) in [
        (json!({"image": other_image}), other_image.as_str(), &other),
        (
            json!({"sourceDetails": {"sourceType": "CONTAINER_IMAGE", "image": hello_image}}),
            hello_image.as_str(),
            &hello,
        ),
    ] {
        client.send(OciRequest::new(Method::PUT, Service::Functions, IAD, &path).json(&change).unwrap()).await.unwrap();
        let now = wait_active(&client, Service::Functions, IAD, &path, "ACTIVE").await;
        assert_eq!(
            (now["image"].as_str(), now["sourceDetails"]["image"].as_str()),
            (Some(image), Some(image)),
            "{now}"
        );
        assert_eq!(now["sourceDetails"]["imageDigest"], now["imageDigest"]);
        assert_eq!(now["imageDigest"], pushed.digest.as_str(), "the registry's digest of {image}");
        assert!(!digests.contains(&now["imageDigest"]), "{change}: {now}");
        digests.push(now["imageDigest"].clone());
    }
    let (status, code, _) = failure(
        client.send(OciRequest::new(Method::DELETE, Service::Functions, IAD, format!("/applications/{app}"))).await,
    );
    assert_eq!((status, code.as_str()), (409, "Conflict"));
    let (status, code, _) = failure(client.send(post(Service::Core, IAD, "/subnets", json!({"compartmentId": sim.identity.tenancy, "vcnId": "ocid1.vcn.oc1.iad.nope", "cidrBlock": "10.0.0.0/24"}))).await);
    assert_eq!((status, code.as_str()), (404, "NotAuthorizedOrNotFound"));
    let (status, code, _) =
        failure(client.send(post(Service::Functions, IAD, "/functions", json!({"applicationId": app}))).await);
    assert_eq!((status, code.as_str()), (400, "MissingParameter"));
    // Functions are listed by application: without one 400, with one that does not exist 404.
    let (status, code, _) = failure(client.send(get(Service::Functions, IAD, "/functions")).await);
    assert_eq!((status, code.as_str()), (400, "MissingParameter"));
    let (status, code, _) = failure(
        client
            .send(get(Service::Functions, IAD, "/functions").query("applicationId", "ocid1.fnapp.oc1.iad.nope"))
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "NotAuthorizedOrNotFound"));
    let listed: Vec<Value> =
        client.send_json(get(Service::Functions, IAD, "/functions").query("applicationId", &app)).await.unwrap();
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn limit_exceeded_past_the_configured_limit() {
    let sim = TestSim::start(|a| a.limits = vec![("functions-per-application".into(), 1)]).await;
    let client = sim.client();
    let image = function_image(&sim).await;
    let app = active_application(&client, &sim, "app").await;
    client.send(post(Service::Functions, IAD, "/functions", function_body(&app, "one", &image))).await.unwrap();
    let (status, code, message) =
        failure(client.send(post(Service::Functions, IAD, "/functions", function_body(&app, "two", &image))).await);
    assert_eq!((status, code.as_str()), (400, "LimitExceeded"));
    assert!(message.contains("functions-per-application"), "{message}");
    let avail: Value = client
        .send_json(OciRequest::new(
            Method::GET,
            Service::Limits,
            IAD,
            "/20190729/services/functions/limits/functions-per-application/resourceAvailability",
        ))
        .await
        .unwrap();
    assert_eq!(avail, json!({"used": 1, "available": 0}));
}

#[tokio::test]
async fn identity_writes_only_in_the_home_region_and_reads_everywhere() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let body = json!({"compartmentId": sim.identity.tenancy, "name": "dr", "description": "d"});
    let (status, code, _) = failure(client.send(post(Service::Identity, PHX, "/compartments", body.clone())).await);
    assert_eq!((status, code.as_str()), (403, "NotAllowed"));
    let c: Value = client.send_json(post(Service::Identity, IAD, "/compartments", body)).await.unwrap();
    let id = c["id"].as_str().unwrap();
    assert!(id.starts_with("ocid1.compartment.oc1.."), "{id}");
    let seen: Value =
        client.send_json(get(Service::Identity, "eu-frankfurt-1", &format!("/compartments/{id}"))).await.unwrap();
    assert_eq!(seen["name"], "dr");
}

#[tokio::test]
async fn bad_signature_and_stale_date_are_401() {
    let sim = TestSim::start(|_| {}).await;
    let other_key = drctl::oci::key::load_private_key_file(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oci/test_key.pem")),
        None,
    )
    .unwrap();
    let forged = drctl::oci::RequestSigner::api_key(
        &sim.identity.tenancy,
        &sim.identity.user,
        &sim.identity.fingerprint,
        other_key,
    );
    let (status, code, _) = failure(sim.client_with(forged).send(get(Service::Core, IAD, "/vcns")).await);
    assert_eq!((status, code.as_str()), (401, "NotAuthenticated"));
    // Signed correctly, but ten minutes ago.
    let url = reqwest::Url::parse(&format!("{}/20160918/vcns", sim.base(IAD))).unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    let stale = SystemTime::now() - Duration::from_secs(600);
    let signed = sim
        .signer()
        .sign_parts(&Method::GET, &url, &headers, drctl::oci::SignBody::None, Default::default(), stale)
        .unwrap();
    signed.apply(&mut headers).unwrap();
    let resp = reqwest::Client::new().get(url).headers(headers).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "NotAuthenticated");
    assert!(body["message"].as_str().unwrap().contains("5 minutes"), "{body}");
    // Unsigned.
    let resp = reqwest::get(format!("{}/20160918/vcns", sim.base(IAD))).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("opc-request-id"));
}

#[tokio::test]
async fn faults_outage_throttle_and_failed_work_requests() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let faults = &sim.launched.running.sim.faults;
    let vcns = |region| get(Service::Core, region, "/vcns").query("compartmentId", &sim.identity.tenancy);
    faults.apply(PHX, FaultCommand::Outage { on: true, mode: OutageMode::Error }).unwrap();
    let (status, code, _) = failure(client.send(vcns(PHX)).await);
    assert_eq!((status, code.as_str()), (503, "ServiceUnavailable"));
    client.send(vcns(IAD)).await.unwrap();
    faults.apply(PHX, FaultCommand::Outage { on: true, mode: OutageMode::Refuse }).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = client.send(vcns(PHX)).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err}");
    faults.apply(PHX, FaultCommand::Outage { on: false, mode: OutageMode::Refuse }).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    client.send(vcns(PHX)).await.unwrap();
    faults.apply(IAD, FaultCommand::Throttle { rate: 1.0 }).unwrap();
    let (status, code, _) = failure(client.send(vcns(IAD)).await);
    assert_eq!((status, code.as_str()), (429, "TooManyRequests"));
    faults.apply(IAD, FaultCommand::Clear).unwrap();
    faults.apply(IAD, FaultCommand::FailWorkRequests { rate: 1.0 }).unwrap();
    let (app, wr) = application(&client, &sim, "doomed").await;
    let policy = PollPolicy { interval: Duration::from_millis(10), ..PollPolicy::default() };
    let err =
        wait_for_work_request(&client, work_request_get(Service::Functions, IAD, &wr), &policy).await.unwrap_err();
    assert!(err.to_string().contains("FAILED"), "{err}");
    let logs: Value =
        client.send_json(get(Service::Functions, IAD, &format!("/workRequests/{wr}/logs"))).await.unwrap();
    let last = logs["items"].as_array().and_then(|l| l.last()).map(|l| l["message"].to_string()).unwrap_or_default();
    assert!(last.contains("failed"), "{logs}");
    let app: Value = client.send_json(get(Service::Functions, IAD, &format!("/applications/{app}"))).await.unwrap();
    assert_eq!(app["lifecycleState"], "FAILED");
}

#[tokio::test]
async fn state_file_survives_a_restart_and_dump_is_stable() {
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path().join("state.json");
    let sim = TestSim::start(|a| a.state = Some(state.clone())).await;
    let client = sim.client();
    let vcn = create_vcn(&client, &sim, IAD, "10.0.0.0/16").await;
    let dump = drctl::sim::admin::dump(&sim.launched.running.sim, Some(IAD));
    assert_eq!(dump[IAD]["core.vcn"][0]["id"], vcn["id"]);
    let TestSim { dir, identity, launched } = sim;
    let mut args = drctl::sim::cli::ServeArgs::for_dir(dir.path());
    args.state = Some(state.clone());
    // A second simulator on the directory is refused while the first serves it: the one
    // stopped last would overwrite what the other saved.
    let refused = drctl::sim::cli::launch(&args).await.map(|_| ()).unwrap_err().to_string();
    assert!(
        refused.contains(&format!("is already served by another simulator (pid {})", std::process::id())),
        "{refused}"
    );
    launched.stop().await;
    let again = drctl::sim::cli::launch(&args).await.unwrap();
    let sim = TestSim { dir, identity, launched: again };
    // Everything the first simulator held, the second serves, unchanged.
    assert_eq!(drctl::sim::admin::dump(&sim.launched.running.sim, Some(IAD)), dump);
    let got: Value = sim
        .client()
        .send_json(get(Service::Core, IAD, &format!("/vcns/{}", vcn["id"].as_str().unwrap())))
        .await
        .unwrap();
    assert_eq!(got["cidrBlock"], "10.0.0.0/16");
}

#[tokio::test]
async fn object_storage_objects_have_etags_and_conditional_writes() {
    use reqwest::header::{HeaderName, HeaderValue};
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let ns: String = client.send_json(get(Service::ObjectStorage, IAD, "/n/")).await.unwrap();
    let bucket: Value = client
        .send_json(post(
            Service::ObjectStorage,
            IAD,
            &format!("/n/{ns}/b"),
            json!({"name": "dr-inventory", "compartmentId": sim.identity.tenancy}),
        ))
        .await
        .unwrap();
    assert_eq!(bucket["name"], "dr-inventory");
    let path = format!("/n/{ns}/b/dr-inventory/o/inventory/orders.yaml");
    let put = |body: &'static [u8]| {
        OciRequest::new(Method::PUT, Service::ObjectStorage, IAD, &path)
            .bytes(body, HeaderValue::from_static("text/yaml"))
    };
    let first = client.send(put(b"functions: []\n")).await.unwrap();
    let etag = first.etag().unwrap().to_string();
    let read = client.send(get(Service::ObjectStorage, IAD, &path)).await.unwrap();
    assert_eq!(&read.body[..], b"functions: []\n");
    assert_eq!(read.etag(), Some(etag.as_str()));
    let if_none_match = HeaderName::from_static("if-none-match");
    let (status, code, _) = failure(client.send(put(b"x").header(if_none_match, HeaderValue::from_static("*"))).await);
    assert_eq!((status, code.as_str()), (412, "IfNoneMatchFailed"));
    let (status, code, _) = failure(client.send(put(b"x").if_match("stale")).await);
    assert_eq!((status, code.as_str()), (412, "IfMatchFailed"));
    let second = client.send(put(b"functions: [validate]\n").if_match(etag.clone())).await.unwrap();
    let new_etag = second.etag().unwrap().to_string();
    assert_ne!(new_etag, etag);
    let delete =
        |etag: &str| OciRequest::new(Method::DELETE, Service::ObjectStorage, IAD, &path).if_match(etag.to_string());
    let (status, code, _) = failure(client.send(delete(&etag)).await);
    assert_eq!((status, code.as_str()), (412, "IfMatchFailed"));
    client.send(delete(&new_etag)).await.unwrap();
    let (status, code, _) = failure(client.send(get(Service::ObjectStorage, IAD, &path)).await);
    assert_eq!((status, code.as_str()), (404, "ObjectNotFound"));
}

/// The items of a compartment's list sorted by `sort_by` (array or `{"items"}` shape).
async fn sorted_list(client: &OciClient, service: Service, path: &str, compartment: &str, sort_by: &str) -> Vec<Value> {
    let resp: Value = client
        .send_json(get(service, IAD, path).query("compartmentId", compartment).query("sortBy", sort_by))
        .await
        .unwrap_or_else(|e| panic!("{path} sortBy={sort_by}: {e}"));
    match resp {
        Value::Array(items) => items,
        other => other["items"].as_array().cloned().unwrap_or_default(),
    }
}

#[tokio::test]
async fn each_list_takes_its_own_sort_values() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let t = sim.identity.tenancy.clone();
    for name in ["rule-a", "rule-b"] {
        let body = json!({"compartmentId": t, "displayName": name, "isEnabled": true, "condition": "{}",
                          "actions": {"actions": [{"actionType": "ONS", "topicId": "ocid1.onstopic.oc1.iad.x"}]}});
        client.send(post(Service::Events, IAD, "/rules", body)).await.unwrap();
    }
    for (name, severity) in [("alarm-a", "WARNING"), ("alarm-b", "CRITICAL")] {
        let body = json!({"compartmentId": t, "displayName": name, "metricCompartmentId": t, "namespace": "oci_faas",
                          "query": "FunctionInvocationCount[1m].sum() > 0", "severity": severity,
                          "destinations": [], "isEnabled": true});
        client.send(post(Service::Monitoring, IAD, "/alarms", body)).await.unwrap();
    }
    // Resource Scheduler also backs resources up.
    let body = json!({"compartmentId": t, "displayName": "nightly", "action": "BACKUP_RESOURCE",
                      "recurrenceDetails": "FREQ=DAILY", "recurrenceType": "ICAL", "resources": []});
    client.send(post(Service::ResourceScheduler, IAD, "/schedules", body)).await.unwrap();
    let accepted = [
        (Service::Events, "/rules", "DISPLAY_NAME", "DISPLAYNAME"),
        (Service::Events, "/rules", "TIME_CREATED", "timeCreated"),
        (Service::Events, "/rules", "ID", "NAME"),
        (Service::Monitoring, "/alarms", "displayName", "timeCreated"),
        (Service::Monitoring, "/alarms", "severity", "TIMECREATED"),
        (Service::ResourceScheduler, "/schedules", "lifecycleState", "NAME"),
        (Service::ResourceScheduler, "/schedules", "state", "ID"),
        (Service::ResourceScheduler, "/schedules", "timeCreated", "TIME_CREATED"),
    ];
    for (service, path, ok, refused) in accepted {
        assert!(!sorted_list(&client, service, path, &t, ok).await.is_empty(), "{path} {ok}");
        let list = get(service, IAD, path).query("compartmentId", &t).query("sortBy", refused);
        let (status, code, message) = failure(client.send(list).await);
        assert_eq!((status, code.as_str()), (400, "InvalidParameter"), "{path} {refused}: {message}");
        assert!(message.contains(ok), "{message}");
    }
    let rules = sorted_list(&client, Service::Events, "/rules", &t, "DISPLAY_NAME").await;
    assert_eq!(rules.iter().map(|r| r["displayName"].as_str().unwrap()).collect::<Vec<_>>(), ["rule-a", "rule-b"]);
    // Core's TIMECREATED is newest first unless sortOrder says otherwise (list_vcns' documentation).
    for i in 0..3 {
        create_vcn(&client, &sim, IAD, &format!("10.{i}.0.0/16")).await;
    }
    let vcns = sorted_list(&client, Service::Core, "/vcns", &t, "TIMECREATED").await;
    let cidrs: Vec<&str> = vcns.iter().map(|v| v["cidrBlock"].as_str().unwrap()).collect();
    assert_eq!(cidrs, ["10.2.0.0/16", "10.1.0.0/16", "10.0.0.0/16"]);
}

/// An ACTIVE vault, an ENABLED key in it and a secret whose content versions are named
/// `first` then `second` (current); returns (vault, key, secret) ids.
/// A new ACTIVE vault of the tenancy in Ashburn; its id.
async fn active_vault(client: &OciClient, sim: &TestSim) -> String {
    let body = json!({"compartmentId": sim.identity.tenancy, "displayName": "v", "vaultType": "DEFAULT"});
    let vault: Value = client.send_json(post(Service::Vaults, IAD, "/vaults", body)).await.unwrap();
    let vault = vault["id"].as_str().unwrap().to_string();
    wait_active(client, Service::Vaults, IAD, &format!("/vaults/{vault}"), "ACTIVE").await;
    vault
}

async fn vault_key_and_secret(client: &OciClient, sim: &TestSim) -> (String, String, String) {
    let t = &sim.identity.tenancy;
    let vault = active_vault(client, sim).await;
    let body = json!({"compartmentId": t, "displayName": "k", "vaultId": vault,
                      "keyShape": {"algorithm": "AES", "length": 32}});
    let key: Value = client.send_json(post(Service::Kms, IAD, "/20180608/keys", body)).await.unwrap();
    let key = key["id"].as_str().unwrap().to_string();
    wait_active(client, Service::Kms, IAD, &format!("/20180608/keys/{key}"), "ENABLED").await;
    let content = |text: &str, name: &str| json!({"contentType": "BASE64", "name": name, "content": b64(text)});
    let body = json!({"compartmentId": t, "secretName": "db", "vaultId": vault, "keyId": key,
                      "secretContent": content("one", "first")});
    let secret: Value = client.send_json(post(Service::Vaults, IAD, "/secrets", body)).await.unwrap();
    let secret = secret["id"].as_str().unwrap().to_string();
    let path = format!("/secrets/{secret}");
    wait_active(client, Service::Vaults, IAD, &path, "ACTIVE").await;
    let update = OciRequest::new(Method::PUT, Service::Vaults, IAD, &path)
        .json(&json!({"secretContent": content("two", "second")}))
        .unwrap();
    client.send(update).await.unwrap();
    (vault, key, secret)
}

fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn secret_bundles_by_version_name() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let (_, _, secret) = vault_key_and_secret(&client, &sim).await;
    let bundles = format!("/secretbundles/{secret}");
    let current: Value = client.send_json(get(Service::Secrets, IAD, &bundles)).await.unwrap();
    assert_eq!((current["versionNumber"].as_u64(), current["versionName"].as_str()), (Some(2), Some("second")));
    let named: Value =
        client.send_json(get(Service::Secrets, IAD, &bundles).query("secretVersionName", "first")).await.unwrap();
    assert_eq!((named["versionNumber"].as_u64(), named["versionName"].as_str()), (Some(1), Some("first")));
    assert_eq!(named["secretBundleContent"]["content"], b64("one"));
    let (status, code, message) =
        failure(client.send(get(Service::Secrets, IAD, &bundles).query("secretVersionName", "third")).await);
    assert_eq!((status, code.as_str()), (404, "NotAuthorizedOrNotFound"), "{message}");
    // Names are unique across a secret's versions and made of letters, digits, `-`, `_`, `.`;
    // new content and a promotion are two updates.
    let update = |body: Value| {
        OciRequest::new(Method::PUT, Service::Vaults, IAD, format!("/secrets/{secret}")).json(&body).unwrap()
    };
    let content = |name: &str| json!({"contentType": "BASE64", "content": b64("x"), "name": name});
    for body in [
        json!({"secretContent": content("first")}),
        json!({"secretContent": content("has space/!")}),
        json!({"secretContent": content("third"), "currentVersionNumber": 1}),
    ] {
        let (status, code, message) = failure(client.send(update(body.clone())).await);
        assert_eq!((status, code.as_str()), (400, "InvalidParameter"), "{body}: {message}");
    }
}

fn delete(service: Service, region: &str, path: &str) -> OciRequest {
    OciRequest::new(Method::DELETE, service, region, path)
}

/// Creates a core resource in `vcn` and waits until it is AVAILABLE; returns its id.
async fn core_child(client: &OciClient, sim: &TestSim, path: &str, vcn: &str, extra: Value) -> String {
    let mut body = json!({"compartmentId": sim.identity.tenancy, "vcnId": vcn});
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let created: Value = client.send_json(post(Service::Core, IAD, path, body)).await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    wait_active(client, Service::Core, IAD, &format!("{path}/{id}"), "AVAILABLE").await;
    id
}

#[tokio::test]
async fn core_resources_in_use_cannot_be_deleted() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let vcn = create_vcn(&client, &sim, IAD, "10.0.0.0/16").await;
    let vcn = vcn["id"].as_str().unwrap();
    wait_active(&client, Service::Core, IAD, &format!("/vcns/{vcn}"), "AVAILABLE").await;
    let igw = core_child(&client, &sim, "/internetGateways", vcn, json!({"isEnabled": true})).await;
    let nat = core_child(&client, &sim, "/natGateways", vcn, json!({})).await;
    let services: Vec<Value> = client.send_json(get(Service::Core, IAD, "/services")).await.unwrap();
    let sgw =
        core_child(&client, &sim, "/serviceGateways", vcn, json!({"services": [{"serviceId": services[0]["id"]}]}))
            .await;
    let rule = |target: &str, cidr: &str| json!({"networkEntityId": target, "destination": cidr});
    let rules = json!({"routeRules": [rule(&igw, "0.0.0.0/0"), rule(&nat, "10.9.0.0/16"), rule(&sgw, "10.8.0.0/16")]});
    let table = core_child(&client, &sim, "/routeTables", vcn, rules).await;
    let list = core_child(&client, &sim, "/securityLists", vcn, json!({})).await;
    let subnet = core_child(
        &client,
        &sim,
        "/subnets",
        vcn,
        json!({"cidrBlock": "10.0.1.0/24", "routeTableId": table, "securityListIds": [list]}),
    )
    .await;
    let (app, wr) = {
        let body = json!({"compartmentId": sim.identity.tenancy, "displayName": "app", "subnetIds": [subnet]});
        let resp = client.send(post(Service::Functions, IAD, "/applications", body)).await.unwrap();
        let wr = resp.headers["opc-work-request-id"].to_str().unwrap().to_string();
        (resp.json::<Value>().unwrap()["id"].as_str().unwrap().to_string(), wr)
    };
    let policy = PollPolicy { interval: Duration::from_millis(10), ..PollPolicy::default() };
    wait_for_work_request(&client, work_request_get(Service::Functions, IAD, &wr), &policy).await.unwrap();
    let body = json!({"compartmentId": sim.identity.tenancy, "endpointType": "PUBLIC", "subnetId": subnet});
    let gateway: Value = client.send_json(post(Service::ApiGateway, IAD, "/gateways", body)).await.unwrap();
    let gateway = gateway["id"].as_str().unwrap().to_string();
    wait_active(&client, Service::ApiGateway, IAD, &format!("/gateways/{gateway}"), "ACTIVE").await;
    let in_use = [
        (format!("/routeTables/{table}"), subnet.as_str()),
        (format!("/securityLists/{list}"), subnet.as_str()),
        (format!("/internetGateways/{igw}"), table.as_str()),
        (format!("/natGateways/{nat}"), table.as_str()),
        (format!("/serviceGateways/{sgw}"), table.as_str()),
        (format!("/subnets/{subnet}"), app.as_str()),
    ];
    for (path, user) in &in_use {
        let (status, code, message) = failure(client.send(delete(Service::Core, IAD, path)).await);
        assert_eq!((status, code.as_str()), (409, "Conflict"), "{path}: {message}");
        assert!(message.contains(user), "{path}: {message}");
    }
    client.send(delete(Service::Functions, IAD, &format!("/applications/{app}"))).await.unwrap();
    let (status, _, message) = failure(client.send(delete(Service::Core, IAD, &format!("/subnets/{subnet}"))).await);
    assert!(status == 409 && message.contains(&gateway), "the API gateway still lives in the subnet: {message}");
    client.send(delete(Service::ApiGateway, IAD, &format!("/gateways/{gateway}"))).await.unwrap();
    // Once their users are gone, each of them can go.
    for i in [5, 0, 1, 2, 3, 4] {
        let path = &in_use[i].0;
        client.send(delete(Service::Core, IAD, path)).await.unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

/// Creates a compartment under `parent` and waits until it is ACTIVE; returns its id.
async fn compartment(client: &OciClient, parent: &str, name: &str) -> String {
    let body = json!({"compartmentId": parent, "name": name, "description": name});
    let c: Value = client.send_json(post(Service::Identity, IAD, "/compartments", body)).await.unwrap();
    let id = c["id"].as_str().unwrap().to_string();
    wait_active(client, Service::Identity, IAD, &format!("/compartments/{id}"), "ACTIVE").await;
    id
}

#[tokio::test]
async fn a_compartment_is_deleted_only_when_empty_with_a_work_request() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let parent = compartment(&client, &sim.identity.tenancy, "parent").await;
    let child = compartment(&client, &parent, "child").await;
    // A resource in another region keeps it too: compartments are tenancy-wide.
    let body = json!({"compartmentId": parent, "cidrBlock": "10.0.0.0/16"});
    let vcn: Value = client.send_json(post(Service::Core, PHX, "/vcns", body)).await.unwrap();
    let vcn = vcn["id"].as_str().unwrap().to_string();
    let path = format!("/compartments/{parent}");
    let (status, code, message) = failure(client.send(delete(Service::Identity, IAD, &path)).await);
    assert_eq!((status, code.as_str()), (409, "Conflict"), "{message}");
    let resp = client.send(delete(Service::Identity, IAD, &format!("/compartments/{child}"))).await.unwrap();
    assert_eq!(resp.status, 202);
    let wr = resp.headers["opc-work-request-id"].to_str().unwrap().to_string();
    let policy = PollPolicy { interval: Duration::from_millis(10), ..PollPolicy::default() };
    let done = wait_for_work_request(&client, work_request_get(Service::Identity, IAD, &wr), &policy).await.unwrap();
    assert_eq!((done.status.as_str(), done.resources()), ("SUCCEEDED", vec![(child, "DELETED".to_string())]));
    let (status, _, message) = failure(client.send(delete(Service::Identity, IAD, &path)).await);
    assert!(status == 409 && message.contains(&vcn), "the VCN still lives in it: {message}");
    client.send(delete(Service::Core, PHX, &format!("/vcns/{vcn}"))).await.unwrap();
    client.send(delete(Service::Identity, IAD, &path)).await.unwrap();
    // Identity lists its work requests as a bare array, in the deleted compartment's parent.
    let listed: Vec<Value> =
        client.send_json(get(Service::Identity, IAD, "/workRequests").query("compartmentId", &parent)).await.unwrap();
    assert!(listed.iter().any(|w| w["id"] == wr), "{listed:?}");
}

#[tokio::test]
async fn the_tenancy_reads_as_the_root_compartment() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let t = &sim.identity.tenancy;
    for region in [IAD, PHX] {
        let root: Value =
            client.send_json(get(Service::Identity, region, &format!("/compartments/{t}"))).await.unwrap();
        assert_eq!((root["id"].as_str(), root["compartmentId"].as_str()), (Some(t.as_str()), Some(t.as_str())));
        assert_eq!(root["lifecycleState"], "ACTIVE");
        assert_eq!(root["name"], sim.identity.namespace.as_str());
    }
    let listed: Vec<Value> =
        client.send_json(get(Service::Identity, IAD, "/compartments").query("compartmentId", t)).await.unwrap();
    assert!(listed.is_empty(), "the root is not its own child: {listed:?}");
}

#[tokio::test]
async fn detached_invokes_are_accepted_without_a_result() {
    use reqwest::header::{HeaderName, HeaderValue};
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let app = active_application(&client, &sim, "app").await;
    let body = function_body(&app, "f", &function_image(&sim).await);
    let function: Value = client.send_json(post(Service::Functions, IAD, "/functions", body)).await.unwrap();
    let id = function["id"].as_str().unwrap();
    wait_active(&client, Service::Functions, IAD, &format!("/functions/{id}"), "ACTIVE").await;
    let invoke = |name: &'static str, value: &'static str| {
        post(Service::Functions, IAD, &format!("/functions/{id}/actions/invoke"), json!({"a": 1}))
            .header(HeaderName::from_static(name), HeaderValue::from_static(value))
    };
    let detached = client.send(invoke("fn-invoke-type", "detached")).await.unwrap();
    assert_eq!((detached.status.as_u16(), detached.body.len()), (202, 0));
    let sync = client.send(invoke("fn-invoke-type", "sync")).await.unwrap();
    assert_eq!(sync.status.as_u16(), 200);
    assert_eq!(sync.json::<Value>().unwrap()["request"], json!({"a": 1}));
    for (header, value) in [("fn-invoke-type", "later"), ("fn-intent", "email")] {
        let (status, code, message) = failure(client.send(invoke(header, value)).await);
        assert_eq!((status, code.as_str()), (400, "InvalidParameter"), "{header}: {message}");
        assert!(message.contains(header), "{message}");
    }
}

/// RFC 3339 text of `days` from now (a minute more, to stay inside a window's lower end).
fn days_from_now(days: i64) -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let at = now + days * 86_400 + 60;
    humantime::format_rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(at as u64)).to_string()
}

#[tokio::test]
async fn keys_and_vaults_are_deleted_seven_to_thirty_days_out() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let (vault, key, secret) = vault_key_and_secret(&client, &sim).await;
    let schedule = |service: Service, path: String, days: i64| {
        post(service, IAD, &format!("{path}/actions/scheduleDeletion"), json!({"timeOfDeletion": days_from_now(days)}))
    };
    let key_path = format!("/20180608/keys/{key}");
    let vault_path = format!("/vaults/{vault}");
    for days in [1, 6, 31] {
        for (service, path) in [(Service::Kms, key_path.clone()), (Service::Vaults, vault_path.clone())] {
            let (status, code, message) = failure(client.send(schedule(service, path.clone(), days)).await);
            assert_eq!((status, code.as_str()), (400, "InvalidParameter"), "{path} in {days} days: {message}");
        }
    }
    let (status, _, message) = failure(
        client
            .send(post(
                Service::Kms,
                IAD,
                &format!("{key_path}/actions/scheduleDeletion"),
                json!({"timeOfDeletion": "soon"}),
            ))
            .await,
    );
    assert_eq!(status, 400, "{message}");
    let key: Value = client.send_json(schedule(Service::Kms, key_path, 7)).await.unwrap();
    assert_eq!(key["lifecycleState"], "PENDING_DELETION");
    let vault: Value = client.send_json(schedule(Service::Vaults, vault_path, 30)).await.unwrap();
    assert_eq!(vault["lifecycleState"], "PENDING_DELETION");
    // Secrets document no window.
    let secret: Value = client.send_json(schedule(Service::Vaults, format!("/secrets/{secret}"), 1)).await.unwrap();
    assert_eq!(secret["lifecycleState"], "PENDING_DELETION");
}

#[tokio::test]
async fn secret_versions_are_listed_and_bundles_read_by_secret_name() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let (vault, _, secret) = vault_key_and_secret(&client, &sim).await;
    let by_name = |secret_name: &str| {
        post(Service::Secrets, IAD, "/secretbundles/actions/getByName", json!({}))
            .query("secretName", secret_name)
            .query("vaultId", &vault)
    };
    let current: Value = client.send_json(by_name("db")).await.unwrap();
    assert_eq!((current["secretId"].as_str(), current["versionNumber"].as_u64()), (Some(secret.as_str()), Some(2)));
    let first: Value = client.send_json(by_name("db").query("secretVersionName", "first")).await.unwrap();
    assert_eq!(first["secretBundleContent"]["content"], b64("one"));
    let (status, _, _) = failure(client.send(by_name("other")).await);
    assert_eq!(status, 404);
    let bundles: Vec<Value> =
        client.send_json(get(Service::Secrets, IAD, &format!("/secretbundles/{secret}/versions"))).await.unwrap();
    let seen: Vec<(u64, &str, Value)> = bundles
        .iter()
        .map(|v| (v["versionNumber"].as_u64().unwrap(), v["versionName"].as_str().unwrap(), v["stages"].clone()))
        .collect();
    assert_eq!(seen, [(1, "first", json!(["PREVIOUS"])), (2, "second", json!(["CURRENT", "LATEST"]))]);
    let newest_first: Vec<Value> = client
        .send_json(
            get(Service::Vaults, IAD, &format!("/secrets/{secret}/versions"))
                .query("sortBy", "VERSION_NUMBER")
                .query("sortOrder", "DESC"),
        )
        .await
        .unwrap();
    let names: Vec<&str> = newest_first.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["second", "first"]);
    let one: Value =
        client.send_json(get(Service::Vaults, IAD, &format!("/secrets/{secret}/version/1"))).await.unwrap();
    assert_eq!((one["name"].as_str(), one["contentType"].as_str()), (Some("first"), Some("BASE64")));
    let (status, _, _) = failure(client.send(get(Service::Vaults, IAD, &format!("/secrets/{secret}/version/9"))).await);
    assert_eq!(status, 404);
}

/// Create bodies OCI refuses are refused: a VCN's prefix length and DNS label, a subnet's,
/// a dynamic group outside the tenancy, a log's retention off its 30-day steps, an Events rule
/// without an action.
#[tokio::test]
async fn creates_refuse_what_oci_refuses() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let tenancy = sim.identity.tenancy.clone();
    let refused = |result: Result<OciResponse, ClientError>| {
        let (status, code, message) = failure(result);
        assert_eq!((status, code.as_str()), (400, "InvalidParameter"), "{message}");
        message
    };
    for (cidr, label) in
        [("10.0.0.0/8", "ok"), ("10.0.0.0/31", "ok"), ("10.0.0.0/16", "1abc"), ("10.0.0.0/16", "abcdefghijklmnop")]
    {
        let body = json!({"compartmentId": tenancy, "cidrBlock": cidr, "dnsLabel": label});
        let message = refused(client.send(post(Service::Core, IAD, "/vcns", body)).await);
        assert!(message.contains(cidr) || message.contains(label), "{message}");
    }
    let vcn = create_vcn(&client, &sim, IAD, "10.1.0.0/16").await;
    let vcn = vcn["id"].as_str().unwrap();
    wait_active(&client, Service::Core, IAD, &format!("/vcns/{vcn}"), "AVAILABLE").await;
    let body = json!({"compartmentId": tenancy, "vcnId": vcn, "cidrBlock": "10.1.0.0/24", "dnsLabel": "sub-1"});
    assert!(refused(client.send(post(Service::Core, IAD, "/subnets", body)).await).contains("sub-1"));

    let inner = compartment(&client, &tenancy, "apps").await;
    let body = json!({"compartmentId": inner, "name": "dg", "description": "dg", "matchingRule": "ALL {resource.type = 'fnfunc'}"});
    assert!(refused(client.send(post(Service::Identity, IAD, "/dynamicGroups", body)).await).contains("tenancy"));

    // CreateLogGroup answers with a work request only; the group is found by its name.
    client
        .send(post(Service::Logging, IAD, "/logGroups", json!({"compartmentId": tenancy, "displayName": "g"})))
        .await
        .unwrap();
    let path = format!("/logGroups?compartmentId={tenancy}&displayName=g");
    let groups: Value = client.send_json(get(Service::Logging, IAD, &path)).await.unwrap();
    let group = groups[0]["id"].as_str().unwrap().to_owned();
    wait_active(&client, Service::Logging, IAD, &format!("/logGroups/{group}"), "ACTIVE").await;
    let body = json!({"displayName": "l", "logType": "CUSTOM", "retentionDuration": 45});
    let path = format!("/logGroups/{group}/logs");
    assert!(refused(client.send(post(Service::Logging, IAD, &path, body)).await).contains("45"));
    // A log's name is unique in its group.
    let body = json!({"displayName": "app", "logType": "CUSTOM"});
    client.send(post(Service::Logging, IAD, &path, body.clone())).await.unwrap();
    let (status, code, message) = failure(client.send(post(Service::Logging, IAD, &path, body)).await);
    assert_eq!((status, code.as_str()), (409, "Conflict"), "{message}");

    // A field sent with the wrong type is named as invalid, not as missing.
    let body = json!({"compartmentId": tenancy, "cidrBlock": 123});
    assert!(refused(client.send(post(Service::Core, IAD, "/vcns", body)).await).contains("`cidrBlock`"));
    // A policy statement begins with its verb.
    let body = json!({"compartmentId": tenancy, "name": "p", "description": "d", "statements": ["hello world"]});
    assert!(refused(client.send(post(Service::Identity, IAD, "/policies", body)).await).contains("hello world"));
    // KMS keys come in the lengths their algorithm has.
    let vault = active_vault(&client, &sim).await;
    for (algorithm, length) in [("AES", 17), ("RSA", 32), ("DES", 8)] {
        let body = json!({"compartmentId": tenancy, "displayName": "k", "vaultId": vault,
                          "keyShape": {"algorithm": algorithm, "length": length}});
        assert!(refused(client.send(post(Service::Kms, IAD, "/20180608/keys", body)).await).contains(algorithm));
    }

    let body = json!({"compartmentId": tenancy, "displayName": "r", "isEnabled": true,
                      "condition": "{\"eventType\": \"x\"}", "actions": {"actions": []}});
    assert!(refused(client.send(post(Service::Events, IAD, "/rules", body)).await).contains("at least one action"));

    // A list filtered by a state the kind does not have is refused, not an empty list.
    let path = format!("/vcns?compartmentId={tenancy}&lifecycleState=ACTIVE");
    assert!(refused(client.send(get(Service::Core, IAD, &path)).await).contains("AVAILABLE"));
    let path = format!("/vcns?compartmentId={tenancy}&lifecycleState=AVAILABLE");
    let listed: Value = client.send_json(get(Service::Core, IAD, &path)).await.unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

/// What OCI fills in a rule that leaves it out, the simulator fills in too.
#[tokio::test]
async fn rules_get_the_defaults_oci_gives_them() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let vcn = create_vcn(&client, &sim, IAD, "10.2.0.0/16").await;
    let vcn = vcn["id"].as_str().unwrap();
    wait_active(&client, Service::Core, IAD, &format!("/vcns/{vcn}"), "AVAILABLE").await;
    let gateway = core_child(&client, &sim, "/internetGateways", vcn, json!({"isEnabled": true})).await;
    let rules = json!({"routeRules": [{"destination": "0.0.0.0/0", "networkEntityId": gateway}]});
    let rt = core_child(&client, &sim, "/routeTables", vcn, rules).await;
    let got: Value = client.send_json(get(Service::Core, IAD, &format!("/routeTables/{rt}"))).await.unwrap();
    assert_eq!(
        (&got["routeRules"][0]["routeType"], &got["routeRules"][0]["destinationType"]),
        (&json!("STATIC"), &json!("CIDR_BLOCK"))
    );
    let rules = json!({"ingressSecurityRules": [{"protocol": "6", "source": "10.0.0.0/8"}], "egressSecurityRules": []});
    let sl = core_child(&client, &sim, "/securityLists", vcn, rules).await;
    let got: Value = client.send_json(get(Service::Core, IAD, &format!("/securityLists/{sl}"))).await.unwrap();
    let rule = &got["ingressSecurityRules"][0];
    assert_eq!((&rule["isStateless"], &rule["sourceType"]), (&json!(false), &json!("CIDR_BLOCK")));
}

/// The names (`displayName`, else `name`) a list answered, in order.
async fn names(client: &OciClient, request: OciRequest) -> Vec<String> {
    let resp: Value = client.send_json(request).await.unwrap();
    let items = match resp {
        Value::Array(items) => items,
        other => other["items"].as_array().cloned().unwrap_or_default(),
    };
    items.iter().map(|i| i["displayName"].as_str().or(i["name"].as_str()).unwrap_or_default().to_string()).collect()
}

/// Every filter a list documents filters, those named otherwise than their field included;
/// `compartmentIdInSubtree` reaches every compartment below; schedules need a scope; Functions
/// lists sort by `displayName` when no `sortBy` is given.
#[tokio::test]
async fn documented_list_filters_filter() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let t = sim.identity.tenancy.clone();
    let parent = compartment(&client, &t, "parent").await;
    compartment(&client, &parent, "grandchild").await;
    let subtree = get(Service::Identity, IAD, "/compartments")
        .query("compartmentId", &t)
        .query("compartmentIdInSubtree", "true")
        .query("accessLevel", "ANY");
    assert_eq!(names(&client, subtree).await, ["parent", "grandchild"]);
    let direct = get(Service::Identity, IAD, "/compartments").query("compartmentId", &t);
    assert_eq!(names(&client, direct).await, ["parent"]);

    let mut ids = Vec::new();
    let mut targets = Vec::new();
    for (name, cidr) in [("s0", "10.0.0.0/16"), ("s1", "10.1.0.0/16")] {
        let target = create_vcn(&client, &sim, IAD, cidr).await["id"].as_str().unwrap().to_string();
        let body = json!({"compartmentId": t, "displayName": name, "action": "START_RESOURCE",
                          "recurrenceDetails": "FREQ=DAILY", "recurrenceType": "ICAL",
                          "resources": [{"id": target}]});
        targets.push(target);
        let s: Value = client.send_json(post(Service::ResourceScheduler, IAD, "/schedules", body)).await.unwrap();
        ids.push(s["id"].as_str().unwrap().to_string());
    }
    let by_id = get(Service::ResourceScheduler, IAD, "/schedules").query("scheduleId", &ids[1]);
    assert_eq!(names(&client, by_id).await, ["s1"]);
    let by_resource =
        get(Service::ResourceScheduler, IAD, "/schedules").query("compartmentId", &t).query("resourceId", &targets[0]);
    assert_eq!(names(&client, by_resource).await, ["s0"]);
    let (status, code, _) = failure(client.send(get(Service::ResourceScheduler, IAD, "/schedules")).await);
    assert_eq!((status, code.as_str()), (400, "MissingParameter"));

    for name in ["zz-app", "aa-app"] {
        client
            .send(post(Service::Functions, IAD, "/applications", json!({"compartmentId": t, "displayName": name})))
            .await
            .unwrap();
    }
    let apps = get(Service::Functions, IAD, "/applications").query("compartmentId", &t);
    assert_eq!(names(&client, apps).await, ["aa-app", "zz-app"]);
}

/// OCI Functions runs images from Container Registry in the function's own region only: an
/// image elsewhere is refused (400), one the registry lacks is not found (404), and a digest
/// sent with an image must be the registry's.
#[tokio::test]
async fn functions_take_only_images_their_region_holds() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let image = function_image(&sim).await;
    let app = active_application(&client, &sim, "app").await;
    let ns = &sim.identity.namespace;
    for (elsewhere, expected) in [
        ("docker.io/library/busybox:latest".to_string(), (400, "InvalidParameter")),
        (format!("phx.ocir.io/{ns}/f:1"), (400, "InvalidParameter")),
        (format!("iad.ocir.io/{ns}/f:2"), (404, "NotAuthorizedOrNotFound")),
    ] {
        let (status, code, message) = failure(
            client.send(post(Service::Functions, IAD, "/functions", function_body(&app, "f", &elsewhere))).await,
        );
        assert_eq!((status, code.as_str()), expected, "{elsewhere}: {message}");
    }
    let mut body = function_body(&app, "f", &image);
    body["imageDigest"] = json!(format!("sha256:{}", "0".repeat(64)));
    let (status, code, _) = failure(client.send(post(Service::Functions, IAD, "/functions", body)).await);
    assert_eq!((status, code.as_str()), (400, "InvalidParameter"));
    // The long form of the region's registry host is the same registry.
    let long = image.replace("iad.ocir.io", "us-ashburn-1.ocir.io");
    let function: Value =
        client.send_json(post(Service::Functions, IAD, "/functions", function_body(&app, "f", &long))).await.unwrap();
    assert!(function["imageDigest"].as_str().is_some_and(|d| d.starts_with("sha256:")), "{function}");
}

/// A change the simulator could not write to its state file is answered 500, as OCI answers
/// one it could not make durable, not 200 for what a restart would lose; once the file can be
/// written again, changes are answered as before.
#[tokio::test]
async fn a_change_that_cannot_be_saved_is_answered_500() {
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path().join("kept");
    std::fs::create_dir(&state).unwrap();
    let file = state.join("state.json");
    let sim = TestSim::start(|args| args.state = Some(file.clone())).await;
    let client = sim.client();
    let body = json!({"compartmentId": sim.identity.tenancy, "cidrBlock": "10.0.0.0/16"});
    client.send_json::<Value>(post(Service::Core, IAD, "/vcns", body.clone())).await.unwrap();
    assert!(file.is_file());
    std::fs::remove_dir_all(&state).unwrap();
    let (status, code, message) = failure(client.send(post(Service::Core, IAD, "/vcns", body.clone())).await);
    assert_eq!((status, code.as_str()), (500, "InternalServerError"), "{message}");
    assert!(message.contains("could not save its state"), "{message}");
    std::fs::create_dir(&state).unwrap();
    client.send_json::<Value>(post(Service::Core, IAD, "/vcns", body)).await.unwrap();
    assert!(file.is_file());
}

/// An update that has a work request is UPDATING until its work request ends, and a failed
/// work request leaves the resource as it was, as on OCI; `fail-work-requests` reaches
/// updates as it does creates and deletes.
#[tokio::test]
async fn updates_are_updating_until_their_work_request_ends_and_a_failed_one_changes_nothing() {
    let sim = TestSim::start(|_| {}).await;
    let client = sim.client();
    let policy = PollPolicy { interval: Duration::from_millis(10), ..PollPolicy::default() };
    let (app, wr) = application(&client, &sim, "app").await;
    wait_for_work_request(&client, work_request_get(Service::Functions, IAD, &wr), &policy).await.unwrap();
    let path = format!("/applications/{app}");
    let update = |config: Value| {
        OciRequest::new(Method::PUT, Service::Functions, IAD, &path).json(&json!({"config": config})).unwrap()
    };
    let resp = client.send(update(json!({"K": "1"}))).await.unwrap();
    let wr = resp.headers["opc-work-request-id"].to_str().unwrap().to_string();
    let now: Value = client.send_json(get(Service::Functions, IAD, &path)).await.unwrap();
    assert_eq!(now["lifecycleState"], "UPDATING", "{now}");
    wait_for_work_request(&client, work_request_get(Service::Functions, IAD, &wr), &policy).await.unwrap();
    let now: Value = client.send_json(get(Service::Functions, IAD, &path)).await.unwrap();
    assert_eq!((now["lifecycleState"].as_str(), &now["config"]), (Some("ACTIVE"), &json!({"K": "1"})), "{now}");
    sim.launched.running.sim.faults.apply(IAD, FaultCommand::FailWorkRequests { rate: 1.0 }).unwrap();
    let resp = client.send(update(json!({"K": "2"}))).await.unwrap();
    let wr = resp.headers["opc-work-request-id"].to_str().unwrap().to_string();
    let err =
        wait_for_work_request(&client, work_request_get(Service::Functions, IAD, &wr), &policy).await.unwrap_err();
    assert!(err.to_string().contains("FAILED"), "{err}");
    let now: Value = client.send_json(get(Service::Functions, IAD, &path)).await.unwrap();
    assert_eq!((now["lifecycleState"].as_str(), &now["config"]), (Some("ACTIVE"), &json!({"K": "1"})), "{now}");
}
