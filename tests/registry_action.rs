//! `registry.copy` in a runbook, with registry hosts taken from the endpoints table by region,
//! and `drctl image copy` through the real binary.

mod support;

use support::registry::*;
use support::Sandbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_copies_an_image_between_regions() {
    let (Some(source), Some(dest)) = (start_registry(), start_registry()) else { return };
    let image = push_image(&source.host(), "orders/validate", "1.4", &[40_000, 80_000], 7).await;
    let sb = Sandbox::new();
    sb.write(
        "endpoints.json",
        &format!(r#"{{"us-ashburn-1": "http://{}", "us-phoenix-1": "http://{}"}}"#, source.host(), dest.host()),
    );
    sb.write(
        "rb.yaml",
        r#"version: 1
name: copy
params:
  source_region: { type: string, default: us-ashburn-1 }
  dest_region: { type: string, default: us-phoenix-1 }
tasks:
  copy:
    uses: registry.copy
    with:
      source: { region: "${{ params.source_region }}", repository: orders/validate, tag: "1.4" }
      destination: { region: "${{ params.dest_region }}", repository: orders/validate }
  again:
    uses: registry.copy
    depends_on: [copy]
    with:
      source: { region: "${{ params.source_region }}", repository: orders/validate, tag: "1.4" }
      destination: { region: "${{ params.dest_region }}", repository: orders/validate }
  same-digest:
    uses: assert
    with: { actual: "${{ tasks.again.outputs.digest }}", expected: "${{ tasks.copy.outputs.source_digest }}" }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--endpoints", "endpoints.json"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let status = sb.status(&ran.run_id());
    assert_eq!(status["state"], "succeeded");
    let http = reqwest::Client::new();
    let copied = get_manifest(&http, &dest.host(), "orders/validate", "1.4").await.expect("manifest at destination");
    assert_eq!(copied, image.manifest);
    let log = std::fs::read_dir(sb.path().join(".drctl/runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("logs/again.log");
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.contains("0 blobs copied") && text.contains(", 0 bytes"), "second copy moved nothing: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drctl_image_copy_copies_by_digest() {
    let (Some(source), Some(dest)) = (start_registry(), start_registry()) else { return };
    let image = push_image(&source.host(), "app", "v1", &[10_000], 3).await;
    let sb = Sandbox::new();
    let src = format!("{}/app:v1", source.host());
    let dst = format!("{}/copied/app:v1", dest.host());
    let ran = sb.run(&["image", "copy", "--plain-http", &src, &dst]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let http = reqwest::Client::new();
    assert_eq!(get_manifest(&http, &dest.host(), "copied/app", "v1").await, Some(image.manifest));
    let bad = sb.run(&["image", "copy", "--plain-http", "not a ref", &dst]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// The source's registry is down, but the destination already holds the pinned digest under
/// another tag: the copy tags it there from the destination's own bytes, reading no source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_digest_the_destination_holds_is_tagged_without_the_source() {
    let (Some(source), Some(dest)) = (start_registry(), start_registry()) else { return };
    let image = push_image(&source.host(), "app", "v1", &[10_000], 5).await;
    let sb = Sandbox::new();
    let first = sb.run(&[
        "image",
        "copy",
        "--plain-http",
        &format!("{}/app:v1", source.host()),
        &format!("{}/app:v1", dest.host()),
    ]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    drop(source);
    // Nothing listens on port 9 here: any read of the source would fail.
    let pinned = format!("127.0.0.1:9/app@{}", image.digest);
    // The dry run follows the same rule, so it does not predict a failure the copy would not have.
    let dry = sb.run(&["image", "copy", "--plain-http", "--dry-run", &pinned, &format!("{}/app:v9", dest.host())]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains("nothing is read from the source") && dry.stdout.contains("tag v9 would be put on it"),
        "{}",
        dry.stdout
    );
    let ran = sb.run(&["image", "copy", "--plain-http", "--json", &pinned, &format!("{}/app:v9", dest.host())]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!((report["existed"].as_bool(), report["blobs_copied"].as_u64()), (Some(true), Some(0)), "{report:#}");
    let http = reqwest::Client::new();
    assert_eq!(get_manifest(&http, &dest.host(), "app", "v9").await, Some(image.manifest));
    // A destination named by the same digest needs nothing either.
    let ran = sb.run(&["image", "copy", "--plain-http", &pinned, &format!("{}/app@{}", dest.host(), image.digest)]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// Literal image inputs are checked by `validate`; `http://` before the host reaches a
/// registry that speaks plain HTTP; an empty digest (an inventory that has none) copies by tag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn literal_references_are_checked_and_http_reaches_a_plain_registry() {
    let sb = Sandbox::new();
    sb.write(
        "bad.yaml",
        "version: 1\nname: bad\ntasks:\n  a:\n    uses: registry.copy\n    with:\n      source: ocir.io/App:v1\n      \
         destination: { region: us-phoenix-1, repositry: app, digest: \"sha256:12\" }\n",
    );
    let checked = sb.run(&["validate", "bad.yaml", "-o", "json"]);
    assert_eq!(checked.code, 2, "{}", checked.stderr);
    let report: serde_json::Value = serde_json::from_str(&checked.stdout).unwrap();
    let messages: Vec<&str> =
        report["problems"].as_array().unwrap().iter().map(|p| p["message"].as_str().unwrap()).collect();
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert!(messages[0].contains("source: invalid image reference `ocir.io/App:v1`"), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("unknown input `repositry`")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("destination: missing `repository`")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("destination.digest: invalid digest")), "{messages:#?}");

    let (Some(source), Some(dest)) = (start_registry(), start_registry()) else { return };
    let image = push_image(&source.host(), "app", "v1", &[10_000], 9).await;
    sb.write("endpoints.json", &format!(r#"{{"us-phoenix-1": "http://{}"}}"#, dest.host()));
    sb.write(
        "rb.yaml",
        &format!(
            "version: 1\nname: literal\ntasks:\n  a:\n    uses: registry.copy\n    with:\n      source: http://{}/app:v1\n      \
             destination: {{ region: us-phoenix-1, repository: app, digest: \"\" }}\n",
            source.host()
        ),
    );
    assert_eq!(sb.run(&["validate", "rb.yaml"]).code, 0);
    let ran = sb.run(&["run", "rb.yaml", "--endpoints", "endpoints.json"]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let http = reqwest::Client::new();
    assert_eq!(get_manifest(&http, &dest.host(), "app", "v1").await, Some(image.manifest));
}

/// A destination that takes no connection is named with what to check and what a retry does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_takes_no_connection_is_named_with_the_next_step() {
    let Some(source) = start_registry() else { return };
    push_image(&source.host(), "app", "v1", &[1_000], 11).await;
    let sb = Sandbox::new();
    // Nothing listens on port 9 here.
    let ran = sb.run(&["image", "copy", "--plain-http", &format!("{}/app:v1", source.host()), "127.0.0.1:9/app:v1"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("127.0.0.1:9 did not take the connection"), "{}", ran.stderr);
    assert!(ran.stderr.contains("a retry of the task (or a resume) copies only what is missing"), "{}", ran.stderr);
}

/// A registry's answer is classed by its HTTP status, so `retry_on` matches what is written: a
/// missing tag is `http:404` (retried when asked for), not a network error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_errors_are_classed_by_their_http_status() {
    let (Some(source), Some(dest)) = (start_registry(), start_registry()) else { return };
    let sb = Sandbox::new();
    sb.write(
        "endpoints.json",
        &format!(r#"{{"us-ashburn-1": "http://{}", "us-phoenix-1": "http://{}"}}"#, source.host(), dest.host()),
    );
    let task = |name: &str, on: &str| {
        format!(
            "  {name}:\n    uses: registry.copy\n    on_failure: continue\n    retry: {{ attempts: 3, delay: 10ms, retry_on: [{on}] }}\n    with:\n      source: {{ region: us-ashburn-1, repository: app, tag: missing }}\n      destination: {{ region: us-phoenix-1, repository: app }}\n"
        )
    };
    sb.write(
        "rb.yaml",
        &format!(
            "version: 1\nname: classes\ntasks:\n{}{}",
            task("on-network", "network"),
            task("on-404", "'http:404'")
        ),
    );
    let ran = sb.run(&["run", "rb.yaml", "--endpoints", "endpoints.json", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let states = sb.task_states(&ran.run_id());
    assert_eq!(states["on-network"], ("failed".into(), 1), "a 404 is no network error: {}", ran.stderr);
    assert_eq!(states["on-404"], ("failed".into(), 3), "{}", ran.stderr);
}

/// An image copy interrupted by a signal exits 130, as an interrupted run does, saying that
/// the same command goes on; here the destination takes connections and never answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_image_copy_exits_130() {
    let Some(source) = start_registry() else { return };
    push_image(&source.host(), "app", "v1", &[1_000], 13).await;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming().flatten() {
            held.push(conn);
        }
    });
    let sb = Sandbox::new();
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let child = sb
            .command(&[
                "image",
                "copy",
                "--plain-http",
                &format!("{}/app:v1", source.host()),
                &format!("127.0.0.1:{port}/app:v1"),
            ])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(700));
        // SAFETY: signalling the child this test started.
        unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "signal {sig}: {stderr}");
        assert!(stderr.contains("the same command copies only what is missing"), "{stderr}");
    }
}

/// A registry whose certificate a private CA signed: refused with what to do, then trusted
/// through SSL_CERT_FILE, as OpenSSL-based tools read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_is_trusted_through_ssl_cert_file() {
    let Some(source) = start_registry() else { return };
    let sb = Sandbox::new();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).current_dir(sb.path()).output();
        out.is_ok_and(|o| o.status.success())
    };
    sb.write("leaf.ext", "subjectAltName=IP:127.0.0.1\n");
    let made = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=drctl test CA",
    ]) && openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]) && openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    if !made {
        return support::tool_missing("openssl cannot make the test certificates");
    }
    let tls = TestRegistry::start_tls(&sb.path().join("leaf.pem"), &sb.path().join("leaf.key"));
    push_image(&source.host(), "app", "v1", &[10_000], 3).await;
    sb.write(
        "rb.yaml",
        &format!(
            "version: 1\nname: ca\ndefaults: {{ retry: {{ attempts: 1 }} }}\ntasks:\n  copy:\n    uses: registry.copy\n    with: {{ source: \"http://{}/app:v1\", destination: \"{}/app:v1\" }}\n",
            source.host(),
            tls.host()
        ),
    );
    let refused = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("TLS certificate is not trusted here") && refused.stderr.contains("SSL_CERT_FILE"),
        "{}",
        refused.stderr
    );
    let trusted = sb
        .command(&["run", "rb.yaml", "--progress", "plain"])
        .env("SSL_CERT_FILE", sb.path().join("ca.pem"))
        .output()
        .unwrap();
    assert_eq!(trusted.status.code(), Some(0), "{}", String::from_utf8_lossy(&trusted.stderr));
    // The same from the command line, plain HTTP on the source side alone.
    let (src, dst) = (format!("{}/app:v1", source.host()), format!("{}/app:v2", tls.host()));
    let copied = sb
        .command(&["image", "copy", "--src-plain-http", &src, &dst])
        .env("SSL_CERT_FILE", sb.path().join("ca.pem"))
        .output()
        .unwrap();
    assert_eq!(copied.status.code(), Some(0), "{}", String::from_utf8_lossy(&copied.stderr));
}
