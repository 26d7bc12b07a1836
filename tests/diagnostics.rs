//! `drctl validate` reports every problem at once, each pointing at its line.

mod support;

use support::Sandbox;

fn validate_json(sb: &Sandbox, file: &str) -> serde_json::Value {
    let ran = sb.run(&["validate", file, "-o", "json"]);
    assert_eq!(ran.code, 2, "invalid runbooks exit 2: {}", ran.stderr);
    serde_json::from_str(&ran.stdout).expect("json")
}

#[test]
fn every_problem_is_reported_with_its_place() {
    let sb = Sandbox::new();
    sb.write("broken.yaml", include_str!("fixtures/invalid/many-errors.yaml"));
    insta::assert_json_snapshot!(validate_json(&sb, "broken.yaml"));
}

#[test]
fn human_diagnostics_show_the_snippet_and_help() {
    let sb = Sandbox::new();
    sb.write("broken.yaml", include_str!("fixtures/invalid/many-errors.yaml"));
    let ran = sb.command(&["validate", "broken.yaml"]).env("COLUMNS", "100").output().unwrap();
    assert_eq!(ran.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    insta::assert_snapshot!(stderr);
}

#[test]
fn the_checked_in_schema_is_current() {
    let sb = Sandbox::new();
    let ran = sb.run(&["schema"]);
    assert_eq!(ran.code, 0);
    let checked_in = include_str!("../schemas/runbook.schema.json");
    assert_eq!(
        ran.stdout.trim(),
        checked_in.trim(),
        "regenerate with: cargo run -- schema > schemas/runbook.schema.json"
    );
}

#[test]
fn valid_example_runbooks_validate() {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let sb = Sandbox::new();
            let ran = sb.run(&["validate", path.to_str().unwrap()]);
            assert_eq!(ran.code, 0, "{}: {}", path.display(), ran.stderr);
        }
    }
}
