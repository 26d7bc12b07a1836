//! The OCI client against the scripted server in `oci_server`: retries and their delays,
//! `retry-after`, typed errors, pagination, signatures, cancellation, concurrency limits,
//! the work-request poller and the lifecycle waiter.

mod oci_server;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use drctl::oci::{
    wait_for_state, wait_for_work_request, work_request_get, ClientError, Endpoints, OciClient, OciRequest, PollPolicy,
    RequestSigner, RetryPolicy, Service, WaitError,
};
use futures::StreamExt;
use oci_server::{error, reply, serve, test_key, Reply, Server, REGION};
use reqwest::{Method, Url};
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Delays 20, 40, 80, 160 ms, capped at 200 ms, no jitter.
fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        total_timeout: Duration::from_secs(30),
        base_delay: Duration::from_millis(20),
        factor: 2.0,
        max_delay: Duration::from_millis(200),
        jitter: Duration::ZERO,
    }
}

fn client(server: &Server, policy: RetryPolicy) -> OciClient {
    let signer = RequestSigner::api_key("ocid1.tenancy.oc1..t", "ocid1.user.oc1..u", "aa:bb", test_key());
    OciClient::builder(signer)
        .endpoints(Endpoints::public().with_region(REGION, server.url.clone()))
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn get(path: &str) -> OciRequest {
    OciRequest::new(Method::GET, Service::Functions, REGION, path)
}

fn assert_gap(actual: Duration, expected_ms: u64) {
    let expected = Duration::from_millis(expected_ms);
    assert!(
        actual >= expected && actual < expected + Duration::from_millis(400),
        "gap {actual:?}, expected about {expected:?}"
    );
}

#[tokio::test]
async fn retries_429_500_503_and_409_incorrect_state_with_backoff() {
    let server = serve(
        vec![
            error(429, "TooManyRequests"),
            error(500, "InternalServerError"),
            error(503, "ServiceUnavailable"),
            error(409, "IncorrectState"),
            reply(200, json!({"id": "ocid1.fnapp.oc1..a"})),
        ],
        Duration::ZERO,
    )
    .await;
    let response = client(&server, fast_policy(8)).send(get("/applications/ocid1.fnapp.oc1..a")).await.unwrap();
    assert_eq!(response.attempts, 5);
    assert_eq!(response.json::<Value>().unwrap(), json!({"id": "ocid1.fnapp.oc1..a"}));
    let gaps = server.gaps();
    for (gap, expected) in gaps.iter().zip([20, 40, 80, 160]) {
        assert_gap(*gap, expected);
    }
    let seen = server.seen();
    assert_eq!(seen.len(), 5);
    let first_id = seen[0].headers["opc-request-id"].clone();
    assert!(seen.iter().all(|s| s.headers["opc-request-id"] == first_id));
    assert!(seen.iter().all(|s| s.target == "/20181201/applications/ocid1.fnapp.oc1..a"));
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_the_last_error() {
    let server = serve(vec![error(503, "ServiceUnavailable"); 10], Duration::ZERO).await;
    let err = client(&server, fast_policy(3)).send(get("/applications")).await.unwrap_err();
    let api = err.api().expect("api error");
    assert_eq!((api.status, api.code.as_str(), api.attempts), (503, "ServiceUnavailable", 3));
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server =
        serve(vec![error(429, "TooManyRequests").header("retry-after", "1"), reply(200, json!([]))], Duration::ZERO)
            .await;
    client(&server, fast_policy(4)).send(get("/applications")).await.unwrap();
    assert_gap(server.gaps()[0], 1000);
}

#[tokio::test]
async fn non_retryable_errors_fail_at_once_with_the_typed_error() {
    let cases = [
        (400, "InvalidParameter", true),
        (401, "NotAuthenticated", true),
        (404, "NotAuthorizedOrNotFound", true),
        (409, "Conflict", false),
        (501, "NotImplemented", false),
    ];
    for (status, code, has_help) in cases {
        let server = serve(vec![error(status, code)], Duration::ZERO).await;
        let err = client(&server, fast_policy(8)).send(get("/applications")).await.unwrap_err();
        let ClientError::Api(api) = &err else { panic!("{err}") };
        assert_eq!(api.status, status);
        assert_eq!(api.code, code);
        assert_eq!(api.message, format!("{code} happened"));
        assert_eq!(api.opc_request_id.as_deref(), Some(format!("SERVER-{status}").as_str()));
        assert_eq!(api.method, "GET");
        assert_eq!(api.url, format!("{}20181201/applications", server.url));
        assert_eq!(api.attempts, 1);
        assert_eq!(api.help().is_some(), has_help, "{code}");
        assert_eq!(server.seen().len(), 1, "{code} must not be retried");
    }
}

#[tokio::test]
async fn not_found_message_names_iam_policies_and_compartment() {
    let server = serve(vec![error(404, "NotAuthorizedOrNotFound")], Duration::ZERO).await;
    let err = client(&server, fast_policy(8)).send(get("/applications/x")).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("404 NotAuthorizedOrNotFound: NotAuthorizedOrNotFound happened (opc-request-id: SERVER-404)"),
        "{text}"
    );
    assert!(text.contains("IAM policy") && text.contains("compartment"), "{text}");
}

#[tokio::test]
async fn pagination_walks_every_page() {
    let server = serve(
        vec![
            reply(200, json!([{"n": 1}, {"n": 2}])).header("opc-next-page", "p2"),
            reply(200, json!({"items": [{"n": 3}]})).header("opc-next-page", "p/3 +="),
            reply(200, json!([{"n": 4}])),
        ],
        Duration::ZERO,
    )
    .await;
    let c = client(&server, fast_policy(2));
    let req = get("/applications").query("compartmentId", "ocid1.compartment.oc1..c").query("limit", "2");
    let items = c.list_all(req.clone()).await.unwrap();
    let ns: Vec<i64> = items.iter().map(|i| i["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, [1, 2, 3, 4]);
    let targets: Vec<String> = server.seen().iter().map(|s| s.target.clone()).collect();
    assert_eq!(
        targets,
        [
            "/20181201/applications?compartmentId=ocid1.compartment.oc1..c&limit=2",
            "/20181201/applications?compartmentId=ocid1.compartment.oc1..c&limit=2&page=p2",
            "/20181201/applications?compartmentId=ocid1.compartment.oc1..c&limit=2&page=p%2F3+%2B%3D",
        ]
    );
    assert_eq!(c.pages(req).count().await, 1, "script exhausted: one default page");
}

#[tokio::test]
async fn post_sends_json_retry_token_and_if_match_under_a_valid_signature() {
    let server = serve(vec![reply(200, json!({"id": "v"}))], Duration::ZERO).await;
    let req = OciRequest::new(Method::POST, Service::Core, REGION, "/vcns")
        .json(&json!({"displayName": "dr-vcn-東京", "cidrBlocks": ["10.0.0.0/16"]}))
        .unwrap()
        .idempotency_key("run-7.create_vcn")
        .if_match("etag-1");
    let response = client(&server, fast_policy(1)).send(req).await.unwrap();
    assert_eq!(response.status, 200);
    let seen = server.seen();
    let s = &seen[0];
    assert_eq!((s.method.as_str(), s.target.as_str()), ("POST", "/20160918/vcns"));
    assert_eq!(s.headers["opc-retry-token"], "run-7.create_vcn");
    assert_eq!(s.headers["if-match"], "etag-1");
    assert_eq!(s.headers["content-type"], "application/json");
    assert_eq!(serde_json::from_slice::<Value>(&s.body).unwrap()["displayName"], "dr-vcn-東京");
    assert_eq!(s.headers["opc-request-id"].len(), 32);
}

/// A POST the caller gave no retry token still carries one, the same on every try: a create
/// whose answer was lost and that is sent again cannot make a second resource.
#[tokio::test]
async fn every_try_of_a_post_carries_the_same_retry_token() {
    let server = serve(vec![error(500, "InternalServerError"), reply(200, json!({"id": "v"}))], Duration::ZERO).await;
    let req = OciRequest::new(Method::POST, Service::Core, REGION, "/vcns").json(&json!({"displayName": "a"})).unwrap();
    client(&server, fast_policy(3)).send(req).await.unwrap();
    let again =
        OciRequest::new(Method::POST, Service::Core, REGION, "/vcns").json(&json!({"displayName": "a"})).unwrap();
    client(&server, fast_policy(3)).send(again).await.unwrap();
    let seen = server.seen();
    let tokens: Vec<&str> = seen.iter().map(|s| s.headers["opc-retry-token"].to_str().unwrap()).collect();
    assert_eq!(tokens.len(), 3);
    assert_eq!(tokens[0], tokens[1], "the retry of one call");
    assert_ne!(tokens[1], tokens[2], "another call");
    assert_eq!(tokens[0].len(), 32);
}

#[tokio::test]
async fn empty_post_is_signed_with_zero_length() {
    let server = serve(vec![reply(204, Value::Null)], Duration::ZERO).await;
    let req = OciRequest::new(Method::POST, Service::Vaults, REGION, "/secrets/s/actions/rotate");
    let response = client(&server, fast_policy(1)).send(req).await.unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(server.seen()[0].headers["content-length"], "0");
}

#[tokio::test]
async fn transport_errors_are_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let signer = RequestSigner::new("k", test_key());
    let c = OciClient::builder(signer)
        .endpoints(Endpoints::public().with_region(REGION, Url::parse(&format!("http://{closed}")).unwrap()))
        .retry_policy(fast_policy(3))
        .build()
        .unwrap();
    let err = c.send(get("/applications")).await.unwrap_err();
    let ClientError::Transport { attempts, request_id, .. } = &err else { panic!("{err}") };
    assert_eq!(*attempts, 3);
    assert_eq!(request_id.len(), 32);
}

#[tokio::test]
async fn cancellation_stops_retrying() {
    let server = serve(vec![error(503, "ServiceUnavailable"); 10], Duration::ZERO).await;
    let slow = RetryPolicy { base_delay: Duration::from_secs(20), ..fast_policy(8) };
    let token = CancellationToken::new();
    let c = client(&server, slow);
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let err = c.send(get("/applications").cancel_on(token)).await.unwrap_err();
    assert!(matches!(err, ClientError::Cancelled { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn per_region_concurrency_is_limited() {
    let server = serve(vec![], Duration::from_millis(100)).await;
    let signer = RequestSigner::new("k", test_key());
    let c = Arc::new(
        OciClient::builder(signer)
            .endpoints(Endpoints::public().with_region(REGION, server.url.clone()))
            .region_concurrency(2)
            .build()
            .unwrap(),
    );
    let calls = (0..6).map(|_| {
        let c = c.clone();
        async move { c.send(get("/applications")).await.unwrap() }
    });
    futures::future::join_all(calls).await;
    assert_eq!(server.seen().len(), 6);
    assert_eq!(server.state.max_in_flight.load(Ordering::SeqCst), 2);
}

fn work_request(status: &str) -> Reply {
    reply(
        200,
        json!({"id": "ocid1.wr.1", "status": status, "operationType": "CREATE_GATEWAY",
        "resources": [{"identifier": "ocid1.gw.1", "actionType": "CREATED"}]}),
    )
}

fn quick_poll(timeout_ms: u64) -> PollPolicy {
    PollPolicy {
        interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_millis(timeout_ms),
    }
}

#[tokio::test]
async fn work_request_poller_stops_on_succeeded() {
    let server =
        serve(vec![work_request("ACCEPTED"), work_request("IN_PROGRESS"), work_request("SUCCEEDED")], Duration::ZERO)
            .await;
    let c = client(&server, fast_policy(1));
    let wr = wait_for_work_request(&c, work_request_get(Service::ApiGateway, REGION, "ocid1.wr.1"), &quick_poll(5000))
        .await
        .unwrap();
    assert_eq!((wr.id.as_str(), wr.status.as_str()), ("ocid1.wr.1", "SUCCEEDED"));
    assert_eq!(wr.resources(), [("ocid1.gw.1".to_string(), "CREATED".to_string())]);
    assert_eq!(server.seen().len(), 3);
    assert_eq!(server.seen()[0].target, "/20190501/workRequests/ocid1.wr.1");
}

#[tokio::test]
async fn work_request_poller_stops_on_failed_and_canceled() {
    for status in ["FAILED", "CANCELED"] {
        let server = serve(vec![work_request("IN_PROGRESS"), work_request(status)], Duration::ZERO).await;
        let c = client(&server, fast_policy(1));
        let err =
            wait_for_work_request(&c, work_request_get(Service::ApiGateway, REGION, "ocid1.wr.1"), &quick_poll(5000))
                .await
                .unwrap_err();
        assert_eq!(err.to_string(), format!("work request ocid1.wr.1 ended {status} (CREATE_GATEWAY)"));
        assert_eq!(server.seen().len(), 2);
    }
}

#[tokio::test]
async fn work_request_poller_times_out() {
    let server = serve(vec![work_request("IN_PROGRESS"); 100], Duration::ZERO).await;
    let c = client(&server, fast_policy(1));
    let started = Instant::now();
    let err = wait_for_work_request(&c, work_request_get(Service::ApiGateway, REGION, "ocid1.wr.1"), &quick_poll(150))
        .await
        .unwrap_err();
    let WaitError::Timeout { last, timeout, .. } = &err else { panic!("{err}") };
    assert_eq!((last.as_str(), *timeout), ("IN_PROGRESS", Duration::from_millis(150)));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(server.seen().len() >= 5);
}

#[tokio::test]
async fn lifecycle_waiter_reaches_active_fails_on_failed_and_treats_404_as_deleted() {
    let server = serve(
        vec![
            reply(200, json!({"lifecycleState": "CREATING"})),
            reply(200, json!({"lifecycleState": "ACTIVE"})).header("etag", "e2"),
        ],
        Duration::ZERO,
    )
    .await;
    let c = client(&server, fast_policy(1));
    let done = wait_for_state(&c, get("/applications/a"), &["ACTIVE"], &quick_poll(5000)).await.unwrap();
    assert_eq!((done.state.as_str(), done.etag.as_deref()), ("ACTIVE", Some("e2")));

    let server = serve(vec![reply(200, json!({"lifecycleState": "FAILED"}))], Duration::ZERO).await;
    let c = client(&server, fast_policy(1));
    let err = wait_for_state(&c, get("/applications/a"), &["ACTIVE"], &quick_poll(5000)).await.unwrap_err();
    assert!(matches!(&err, WaitError::Failed { state, .. } if state == "FAILED"), "{err}");

    let server = serve(
        vec![reply(200, json!({"lifecycleState": "DELETING"})), error(404, "NotAuthorizedOrNotFound")],
        Duration::ZERO,
    )
    .await;
    let c = client(&server, fast_policy(1));
    let done = wait_for_state(&c, get("/applications/a"), &["DELETED"], &quick_poll(5000)).await.unwrap();
    assert_eq!(done.state, "DELETED");
}
