//! `drctl oci request` and the `oci.request` action, through the real binary, against a local
//! server that verifies every signature.

mod oci_server;
mod support;

use std::time::Duration;

use oci_server::{error, reply, serve};
use serde_json::json;
use support::Sandbox;

fn write_config(sb: &Sandbox) {
    let key = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oci/test_key.pem");
    let fingerprint = include_str!("fixtures/oci/keys/fingerprint.txt").trim();
    sb.write(
        "oci-config",
        &format!(
            "[DEFAULT]\nuser=ocid1.user.oc1..aaaa\nfingerprint={fingerprint}\ntenancy=ocid1.tenancy.oc1..bbbb\nregion=us-ashburn-1\nkey_file={key}\n"
        ),
    );
    std::fs::set_permissions(key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_request_prints_json_and_typed_errors() {
    let server = serve(
        vec![
            reply(200, json!([{"id": "ocid1.vcn.oc1.iad.x", "displayName": "dr-vcn"}])),
            error(404, "NotAuthorizedOrNotFound"),
        ],
        Duration::ZERO,
    )
    .await;
    let sb = Sandbox::new();
    write_config(&sb);
    let url = server.url.to_string();
    let ok = sb.run(&[
        "oci",
        "request",
        "GET",
        "core",
        "/20160918/vcns?compartmentId=ocid1.compartment.oc1..c&displayName=dr%20vcn",
        "--config-file",
        "oci-config",
        "--endpoint",
        &url,
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let body: serde_json::Value = serde_json::from_str(&ok.stdout).unwrap();
    assert_eq!(body[0]["displayName"], "dr-vcn");
    {
        let seen = server.seen();
        assert_eq!(seen[0].method, "GET");
        assert!(
            seen[0].target.starts_with("/20160918/vcns?compartmentId=ocid1.compartment.oc1..c"),
            "{}",
            seen[0].target
        );
        assert!(seen[0].headers.contains_key("opc-request-id"));
    }
    let missing = sb.run(&[
        "oci",
        "request",
        "GET",
        "core",
        "/20160918/vcns/ocid1.vcn.oc1.iad.nope",
        "--config-file",
        "oci-config",
        "--endpoint",
        &url,
    ]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("NotAuthorizedOrNotFound"), "{}", missing.stderr);
    assert!(missing.stderr.contains("SERVER-404"), "{}", missing.stderr);
    assert_eq!(missing.stderr.matches("help:").count(), 1, "{}", missing.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_request_action_sends_a_retry_token_derived_from_the_task() {
    let server =
        serve(vec![reply(200, json!({"id": "ocid1.fnapp.oc1.iad.a", "lifecycleState": "CREATING"}))], Duration::ZERO)
            .await;
    let sb = Sandbox::new();
    write_config(&sb);
    sb.write("endpoints.json", &format!(r#"{{"us-phoenix-1": "{}"}}"#, server.url.as_str().trim_end_matches('/')));
    sb.write(
        "rb.yaml",
        r#"version: 1
name: raw-oci
tasks:
  create-app:
    uses: oci.request
    with:
      method: POST
      service: functions
      region: us-phoenix-1
      path: /20181201/applications
      body: { displayName: orders, compartmentId: ocid1.compartment.oc1..c, subnetIds: [] }
  show:
    uses: assert
    with: { actual: "${{ tasks.create-app.outputs.json.id }}", expected: ocid1.fnapp.oc1.iad.a }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--config-file", "oci-config", "--endpoints", "endpoints.json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/20181201/applications");
    let token = seen[0].headers.get("opc-retry-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(token.len() >= 16, "retry token: {token:?}");
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["displayName"], "orders");
}

/// A call that is retried says so as it waits, unless -q.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_says_so_unless_quiet() {
    let server = serve(
        vec![
            error(503, "ServiceUnavailable"),
            reply(200, json!({})),
            error(503, "ServiceUnavailable"),
            reply(200, json!({})),
        ],
        Duration::ZERO,
    )
    .await;
    let sb = Sandbox::new();
    write_config(&sb);
    let url = server.url.to_string();
    let args = ["oci", "request", "GET", "core", "/20160918/vcns", "--config-file", "oci-config", "--endpoint", &url];
    let ran = sb.run(&args);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("retry 1 in "), "{}", ran.stderr);
    assert!(ran.stderr.contains(" s: GET "), "{}", ran.stderr);
    assert!(ran.stderr.contains("503 ServiceUnavailable"), "{}", ran.stderr);
    let mut quiet = vec!["-q"];
    quiet.extend(args);
    let ran = sb.run(&quiet);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!ran.stderr.contains("retry 1"), "{}", ran.stderr);
    assert_eq!(server.seen().len(), 4);
}

/// A `retry-after` past any number of seconds drctl can add is a wait past the call's budget,
/// not a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_retry_after_is_a_wait_past_the_budget() {
    let server =
        serve(vec![error(429, "TooManyRequests").header("retry-after", "18446744073709551615")], Duration::ZERO).await;
    let sb = Sandbox::new();
    write_config(&sb);
    let url = server.url.to_string();
    let ran =
        sb.run(&["oci", "request", "GET", "core", "/20160918/vcns", "--config-file", "oci-config", "--endpoint", &url]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("asked for a 604800 s wait (retry-after), past the 600 s"), "{}", ran.stderr);
}

/// An invoke through `oci request` is sent once (it runs the function's code); a wait asked
/// for past the call's budget is named when drctl gives up; an `OCI_CLI_AUTH` drctl does not
/// sign with is refused before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invokes_are_not_retried_long_waits_are_named_and_unknown_auth_is_refused() {
    let server = serve(
        vec![
            error(500, "InternalServerError"),
            reply(200, json!({})),
            error(429, "TooManyRequests").header("retry-after", "3600"),
            reply(200, json!({})),
        ],
        Duration::ZERO,
    )
    .await;
    let sb = Sandbox::new();
    write_config(&sb);
    sb.write("body.json", "{}");
    let url = server.url.to_string();
    let base = ["--config-file", "oci-config", "--endpoint", &url];
    let invoke = "/20181201/functions/ocid1.fnfunc.oc1..x/actions/invoke";
    let mut args = vec!["oci", "request", "POST", "functions", invoke, "--body", "body.json"];
    args.extend(base);
    let ran = sb.run(&args);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(server.seen().len(), 1, "an invoke is sent once");

    // The 500 was answered; next comes 200, then the 429 asking for an hour.
    let mut args = vec!["oci", "request", "GET", "core", "/20160918/vcns"];
    args.extend(base);
    assert_eq!(sb.run(&args).code, 0);
    let ran = sb.run(&args);
    assert_eq!(ran.code, 1);
    assert!(ran.stderr.contains("asked for a 3600 s wait (retry-after), past the 600 s"), "{}", ran.stderr);
    assert_eq!(server.seen().len(), 3);

    let ran = sb.command(&args).env("OCI_CLI_AUTH", "instance_principal").output().unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("OCI_CLI_AUTH=instance_principal"), "{stderr}");
    assert_eq!(server.seen().len(), 3);
}

/// A runbook with OCI tasks and a broken OCI setup stops before its first task, not at its
/// first OCI task after the steps before it ran.
#[test]
fn a_broken_oci_setup_stops_the_run_before_any_task() {
    let sb = Sandbox::new();
    sb.write(
        "oci-config",
        &format!(
            "[DEFAULT]\nuser=ocid1.user.oc1..aaaa\nfingerprint={}\ntenancy=ocid1.tenancy.oc1..bbbb\nregion=us-ashburn-1\nkey_file=/nonexistent.pem\n",
            include_str!("fixtures/oci/keys/fingerprint.txt").trim()
        ),
    );
    sb.write(
        "rb.yaml",
        "version: 1\nname: broken\ntasks:\n  first: { uses: shell, with: { run: 'echo ran > first.txt' } }\n  vcn:\n    uses: \
         oci.core.vcn\n    depends_on: [first]\n    with: { region: us-ashburn-1, compartmentId: ocid1.compartment.oc1..c, \
         displayName: v, cidrBlocks: [10.0.0.0/16] }\n",
    );
    let ran = sb.run(&["--config-file", "oci-config", "run", "rb.yaml", "--yes"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("cannot read key file /nonexistent.pem"), "{}", ran.stderr);
    assert!(ran.stderr.contains("drctl resume"), "{}", ran.stderr);
    assert!(!sb.path().join("first.txt").exists(), "no task may run");
}

/// The embedded simulator signs with its own API key: an `OCI_CLI_AUTH` the shell sets for
/// real OCI (an instance principal on a compute host) does not apply to a `--sim` run.
#[test]
fn a_sim_run_ignores_the_shells_oci_cli_auth() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: simauth\ntasks:\n  vcn:\n    uses: oci.core.vcn\n    with: { region: us-phoenix-1, compartmentId: \
         ocid1.compartment.oc1..orders, displayName: v, cidrBlocks: [10.0.0.0/16] }\n",
    );
    let inventory = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders-api/inventory.yaml");
    let ran = sb
        .command(&["run", "rb.yaml", "--sim", inventory, "--yes"])
        .env("OCI_CLI_AUTH", "instance_principal")
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(0), "{}", String::from_utf8_lossy(&ran.stderr));
}

#[test]
fn a_misspelled_home_region_is_named_with_its_line_in_the_config() {
    let sb = Sandbox::new();
    write_config(&sb);
    sb.write("oci-config", &sb.read("oci-config").replace("region=us-ashburn-1", "region=us-ashburn-l"));
    let ran = sb.run(&["oci", "request", "GET", "core", "/20160918/vcns", "--config-file", "oci-config"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    for part in ["oci-config:5", "profile [DEFAULT]", "did you mean us-ashburn-1", "or give --region"] {
        assert!(ran.stderr.contains(part), "{part}: {}", ran.stderr);
    }
    // A task that names no region fails the same way, before anything is sent.
    sb.write(
        "rb.yaml",
        "version: 1\nname: home\ntasks:\n  list:\n    uses: oci.request\n    with: { method: GET, service: core, path: /20160918/vcns }\n",
    );
    let run = sb.run(&["run", "rb.yaml", "--config-file", "oci-config"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for part in ["oci-config:5", "did you mean us-ashburn-1", "give the task a `region` input"] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }
}
