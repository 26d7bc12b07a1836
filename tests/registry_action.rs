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
