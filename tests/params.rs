//! Parameters from `--params-file`, `--param` and the environment: every problem is reported
//! at once (those in the file at their line), an explicit null counts as not given, and a
//! secret's value never shows.

mod support;

use support::Sandbox;

const RUNBOOK: &str = "version: 1
name: params
params:
  region: { type: string, required: true, enum: [us-ashburn-1, us-phoenix-1] }
  replicas: { type: number, default: 2 }
  dry_run: { type: bool, default: false }
  zones: { type: list, default: [a] }
  pin: { type: number, secret: true }
tasks:
  show:
    uses: shell
    with: { run: 'true' }
";

/// A sandbox holding the runbook `rb.yaml` and the params file `p.yaml`.
fn sandbox(params: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("rb.yaml", RUNBOOK);
    sb.write("p.yaml", params);
    sb
}

/// The parameters `plan` resolves, which must succeed.
fn planned_params(sb: &Sandbox, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", "rb.yaml", "--params-file", "p.yaml", "-o", "json"];
    args.extend_from_slice(extra);
    let ran = sb.run(&args);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let plan: serde_json::Value = serde_json::from_str(&ran.stdout).expect("plan json");
    plan["params"].clone()
}

const MANY_MISTAKES: &str = "region: eu-frankfurt-1
replicas: three
dry_run: yes
regoin: us-phoenix-1
zones: a
replicas: 4
";

#[test]
fn every_mistake_in_a_params_file_is_reported_at_once_with_its_line() {
    let sb = sandbox(MANY_MISTAKES);
    let ran = sb.run(&["run", "rb.yaml", "--params-file", "p.yaml", "-p", "dry_run=perhaps", "-p", "zone=b"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    for expected in [
        "parameter `region` is not one of its allowed values",
        "[p.yaml:1:9]",
        "parameter `replicas` must be a number",
        "[p.yaml:2:11]",
        "unknown parameter `regoin`",
        "[p.yaml:4:1]",
        "did you mean `region`?",
        "parameter `zones` must be a list",
        "[p.yaml:5:8]",
        "duplicate key `replicas`",
        "[p.yaml:6:1]",
        // The command line's mistakes come in the same report.
        "parameter `dry_run` (--param): `perhaps` is not true or false",
        "unknown parameter `zone`",
        "error: 7 problems with the parameters (5 in p.yaml)",
    ] {
        assert!(ran.stderr.contains(expected), "no `{expected}` in:\n{}", ran.stderr);
    }
    // `dry_run: yes` is read as `--param dry_run=yes` is: no problem.
    assert!(!ran.stderr.contains("`dry_run` must be"), "{}", ran.stderr);
    assert!(!sb.path().join(".drctl/runs").exists(), "the run must not start");
}

#[test]
fn the_params_file_diagnostics_show_the_snippet_and_help() {
    let sb = sandbox(MANY_MISTAKES);
    let ran = sb
        .command(&["plan", "rb.yaml", "--params-file", "p.yaml", "-p", "zone=b"])
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_required_parameter_given_as_null_is_refused() {
    for params in ["region:\nreplicas: 3\n", "region: ~\n", "region: null\n"] {
        let sb = sandbox(params);
        let ran = sb.run(&["run", "rb.yaml", "--params-file", "p.yaml"]);
        assert_eq!(ran.code, 2, "{params:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("required parameter `region` has no value: the params file gives it none")
                && ran.stderr.contains("[p.yaml:1:1]"),
            "{params:?}: {}",
            ran.stderr
        );
        assert!(!sb.path().join(".drctl/runs").exists(), "{params:?}: the run must not start");
        // A value from the command line fills it.
        assert_eq!(planned_params(&sb, &["-p", "region=us-phoenix-1"])["region"], "us-phoenix-1");
    }
}

#[test]
fn an_optional_parameter_given_as_null_takes_its_default() {
    let sb = sandbox("region: us-phoenix-1\nreplicas:\nzones: ~\npin: null\ndry_run: yes\n");
    let params = planned_params(&sb, &[]);
    assert_eq!(params["replicas"], 2);
    assert_eq!(params["zones"], serde_json::json!(["a"]));
    assert_eq!(params["pin"], serde_json::Value::Null);
    assert_eq!(params["dry_run"], true);
    // The same words mean the same on the command line.
    assert_eq!(planned_params(&sb, &["-p", "dry_run=no"])["dry_run"], false);
    // Quoted, `yes` is text, not a bool.
    sb.write("p.yaml", "region: us-phoenix-1\ndry_run: 'yes'\n");
    let ran = sb.run(&["plan", "rb.yaml", "--params-file", "p.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("parameter `dry_run` must be a bool"), "{}", ran.stderr);
}

#[test]
fn a_secret_value_of_the_wrong_type_is_never_shown() {
    let canary = "S3CR3T-CANARY";
    let files = [
        format!("region: us-phoenix-1\npin: {canary}\n"),
        // A neighbour's snippet shows the secret's line as context.
        format!("region: 12\npin: {canary}\nreplicas: x\n"),
        // Given twice, and misspelt.
        format!("region: us-phoenix-1\npin: {canary}-1\npin: {canary}-2\npn: {canary}-3\n"),
        // The file is not YAML: no spans to go by.
        format!("region: [us-phoenix-1\npin: \"{canary}\nreplicas: 3\n"),
    ];
    for params in files {
        let sb = sandbox(&params);
        let ran = sb.command(&["plan", "rb.yaml", "--params-file", "p.yaml"]).env("COLUMNS", "100").output().unwrap();
        let stderr = String::from_utf8_lossy(&ran.stderr);
        assert_eq!(ran.status.code(), Some(2), "{params:?}: {stderr}");
        assert!(stderr.contains("p.yaml:"), "{params:?}: no place in {stderr}");
        assert!(!stderr.contains("S3CR3T") && !stderr.contains("CANARY"), "{params:?}: leaked in {stderr}");
    }
}

#[test]
fn a_params_file_is_one_map() {
    let cases = [
        (
            "region: us-phoenix-1\n---\nreplicas: 3\n",
            "a second YAML document starts here; a params file is one document",
        ),
        ("- region\n- replicas\n", "a params file must be a map of parameter names to values"),
        ("region: [us-phoenix-1\n", "YAML syntax error"),
    ];
    for (params, expected) in cases {
        let sb = sandbox(params);
        let ran = sb.command(&["plan", "rb.yaml", "--params-file", "p.yaml"]).env("COLUMNS", "100").output().unwrap();
        let stderr = String::from_utf8_lossy(&ran.stderr);
        assert_eq!(ran.status.code(), Some(2), "{params:?}: {stderr}");
        assert!(stderr.contains(expected) && stderr.contains("p.yaml:"), "{params:?}: {stderr}");
        // The file is the only problem: `region` is not also called missing.
        assert!(stderr.contains("error: p.yaml: 1 problem\n"), "{params:?}: {stderr}");
        assert!(!stderr.contains("runbook"), "{params:?}: {stderr}");
    }
}

#[test]
fn validate_checks_a_params_file_when_given_one() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: p\nparams:\n  region: { type: string, enum: [a, b] }\ntasks:\n  t:\n    uses: shell\n    with: { run: 'true' }\n",
    );
    sb.write("p.yaml", "regoin: c\n");
    let ran = sb.run(&["validate", "rb.yaml", "--params-file", "p.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("unknown parameter `regoin`") && ran.stderr.contains("did you mean `region`?"),
        "{}",
        ran.stderr
    );
    assert_eq!(sb.run(&["validate", "rb.yaml", "-p", "region=a"]).code, 0);
    assert_eq!(sb.run(&["validate", "rb.yaml"]).code, 0, "without values, only the runbook is checked");
}

#[test]
fn validate_reports_parameter_problems_as_json_when_asked() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: pp\nparams: { count: { type: number, default: 1 } }\ntasks:\n  t: { uses: shell, with: { run: 'true' } }\n");
    sb.write("bad.yaml", "count: abc\n");
    for args in [&["--params-file", "bad.yaml"][..], &["-p", "count=x"][..]] {
        let mut all = vec!["validate", "rb.yaml", "-o", "json"];
        all.extend_from_slice(args);
        let ran = sb.run(&all);
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        let report: serde_json::Value = serde_json::from_str(&ran.stdout).expect("json on stdout");
        assert_eq!(report["valid"], false);
        assert!(report["problems"][0]["message"].as_str().unwrap().contains("count"), "{report}");
    }
}

#[test]
fn a_param_given_to_a_runbook_without_params_says_there_are_none() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: none\ntasks:\n  a: { uses: shell, with: { run: 'true' } }\n");
    let ran = sb.run(&["plan", "rb.yaml", "-p", "region=x"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("the runbook declares no parameters"), "{}", ran.stderr);
}

#[test]
fn a_number_is_one_of_its_allowed_values_however_it_is_written() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: n\nparams:\n  n: { type: number, default: 2.0, enum: [1, 2, 2.5] }\ntasks:\n  t: { uses: shell, with: { run: 'true' } }\n",
    );
    sb.write("p.yaml", "n: 1.0\n");
    for args in
        [&["plan", "rb.yaml"][..], &["plan", "rb.yaml", "-p", "n=1e0"], &["plan", "rb.yaml", "--params-file", "p.yaml"]]
    {
        let ran = sb.run(args);
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
    }
    let ran = sb.run(&["plan", "rb.yaml", "-p", "n=3"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    // `-p` reads a number as a params file's YAML does: `0x2`, `0o1` and `1.` too.
    sb.write("p.yaml", "n: 0x2\n");
    for args in [
        &["plan", "rb.yaml", "-p", "n=0o1"][..],
        &["plan", "rb.yaml", "-p", "n=1."],
        &["plan", "rb.yaml", "--params-file", "p.yaml"],
    ] {
        let ran = sb.run(args);
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
    }
}

/// Digits too many for a number drctl holds exactly are not taken for quoted text.
#[test]
fn a_number_too_long_to_hold_says_so_and_how_to_pass_it() {
    let sb = sandbox("replicas: 184467440737095516150\n");
    let ran = sb.run(&["plan", "rb.yaml", "--params-file", "p.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("parameter `replicas` must be a number drctl can hold exactly"), "{}", ran.stderr);
    assert!(ran.stderr.contains("declare `replicas` with `type: string`"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("without quotes"), "{}", ran.stderr);
}

/// A bool parameter's default takes the same words as a params file and `--param`.
#[test]
fn a_bool_default_takes_the_same_words_as_a_given_value() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: b\nparams:\n  on: { type: bool, default: yes }\n  off: { type: bool, default: 0 }\n  \
         quoted: { type: bool, default: 'yes' }\ntasks:\n  t: { uses: assert, with: { that: '${{ params.on && \
         !params.off }}' } }\n",
    );
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "a quoted `yes` is text: {}", ran.stderr);
    assert!(ran.stderr.contains("default of `quoted` is not a bool"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("default of `on`") && !ran.stderr.contains("default of `off`"), "{}", ran.stderr);
    sb.write("rb.yaml", &sb.read("rb.yaml").replace("  quoted: { type: bool, default: 'yes' }\n", ""));
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}
