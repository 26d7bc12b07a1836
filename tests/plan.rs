//! `drctl plan` through the real binary: the text and JSON forms, snapshot-tested, with
//! waves, resolved inputs, `(known after run)`, secrets masked, the critical path and the
//! estimate against the RTO.

mod support;

use support::Sandbox;

fn plan(args: &[&str]) -> String {
    let sb = Sandbox::new();
    sb.write("failover.yaml", include_str!("fixtures/plan/failover.yaml"));
    let mut all = vec!["plan", "failover.yaml"];
    all.extend_from_slice(args);
    let ran = sb.run(&all);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!ran.stdout.contains("not-shown"), "a secret parameter's value in the plan: {}", ran.stdout);
    ran.stdout
}

#[test]
fn the_text_plan_shows_waves_inputs_the_critical_path_and_the_rto() {
    insta::assert_snapshot!(plan(&["-p", "region=us-ashburn-1"]));
}

#[test]
fn the_json_plan_is_stable_for_tools() {
    let json: serde_json::Value = serde_json::from_str(&plan(&["-o", "json"])).expect("json");
    insta::assert_json_snapshot!(json);
}

#[test]
fn a_plan_refuses_input_values_the_run_would_refuse_once_they_are_known() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: p
params:
  wait: { type: string }
  method: { type: string, default: GET }
tasks:
  pause: { uses: sleep, with: { duration: "${{ params.wait }}" } }
  call: { uses: http, with: { url: "http://localhost:1/", method: "${{ params.method }}" } }
  later: { uses: sleep, with: { duration: "${{ tasks.call.outputs.status }}" } }
  fan: { uses: sleep, for_each: [1ms, 2ms], with: { duration: "${{ each }}" } }
  optional: { uses: sleep, if: "${{ params.method == 'never' }}", with: { duration: "${{ params.method }}" } }
"#,
    );
    let ran = sb.run(&["plan", "rb.yaml", "-p", "wait=5 parsecs", "-p", "method=FETCH", "--save", "plan.json"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("2 expressions or inputs would fail with these parameters"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("pause: with: input `duration` refused: `5 parsecs` is not a duration"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("call: with: input `method` refused: `FETCH` is not an HTTP method"), "{}", ran.stderr);
    assert!(!sb.path().join("plan.json").exists());
    // Values known only later (an output) are the run's to check.
    let fine = sb.run(&["plan", "rb.yaml", "-p", "wait=1s"]);
    assert_eq!(fine.code, 0, "{}", fine.stderr);
    // Items the plan knows are checked one by one, named by their key.
    sb.write(
        "items.yaml",
        "version: 1\nname: items\nparams:\n  methods: { type: list, default: [GET, FETCH] }\ntasks:\n  h: { uses: http, for_each: \"${{ params.methods }}\", with: { url: \"http://localhost:1/\", method: \"${{ each }}\" } }\n",
    );
    let items = sb.run(&["plan", "items.yaml"]);
    assert_eq!(items.code, 2, "{}", items.stderr);
    assert!(
        items.stderr.contains("h: with: [FETCH] input `method` refused: `FETCH` is not an HTTP method"),
        "{}",
        items.stderr
    );
    assert!(!items.stderr.contains("[GET]"), "{}", items.stderr);
    // `run` refuses them the same way, before any task starts and without making a run.
    let run = sb.run(&["run", "rb.yaml", "-p", "wait=5 parsecs", "-p", "method=FETCH"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("so a run with them does not start"), "{}", run.stderr);
    assert!(run.stderr.contains("rb.yaml:7:3: pause: with: input `duration` refused"), "{}", run.stderr);
    // `validate` given the same values says so too.
    let validate = sb.run(&["validate", "rb.yaml", "-p", "wait=5 parsecs", "-p", "method=FETCH"]);
    assert_eq!(validate.code, 2, "{}", validate.stderr);
    assert!(validate.stderr.contains("2 expressions or inputs would fail"), "{}", validate.stderr);
    // And as JSON, one problem each at the place of its task.
    let json = sb.run(&["validate", "rb.yaml", "-p", "wait=5 parsecs", "-p", "method=FETCH", "-o", "json"]);
    assert_eq!(json.code, 2, "{}", json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let places: Vec<(u64, u64)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["line"].as_u64().unwrap(), p["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(places, [(7, 3), (8, 3)], "{report:#}");
    assert!(report["problems"][0]["message"].as_str().unwrap().starts_with("pause: with: input `duration`"));
    assert!(!run.stdout.contains("run "), "{}", run.stdout);
    assert!(!sb.path().join(".drctl/runs").exists() || sb.run(&["runs"]).stdout.trim().is_empty());
    let runs = sb.run(&["run", "rb.yaml", "-p", "wait=1ms"]);
    assert_ne!(runs.code, 2, "{}", runs.stderr);
}

/// A resource's name or tags from a parameter of the wrong type: the run would refuse them as
/// the task starts, so the plan does.
#[test]
fn a_plan_refuses_resource_names_and_tags_of_the_wrong_type() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: p
params:
  tags: { type: list, default: [a] }
  n: { type: number, default: 3 }
tasks:
  v:
    uses: oci.core.vcn
    with:
      region: us-phoenix-1
      compartmentId: ocid1.compartment.oc1..x
      displayName: ${{ params.n }}
      cidrBlocks: [10.0.0.0/16]
      freeformTags: ${{ params.tags }}
"#,
    );
    assert_eq!(sb.run(&["validate", "rb.yaml"]).code, 0);
    let ran = sb.run(&["plan", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("v: with: input `displayName` refused: `displayName` must be a string, not a number"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("v: with: input `freeformTags` refused: `freeformTags` must be a map"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_plan_whose_expressions_fail_on_the_given_parameters_is_refused_and_not_saved() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: p\nparams:\n  doc: { type: string }\ntasks:\n  t:\n    uses: shell\n    with: { run: \"echo ${{ fromJSON(params.doc) }}\" }\n",
    );
    let ran = sb.run(&["plan", "rb.yaml", "-p", "doc={not json", "--save", "plan.json"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stdout.contains("ERROR with: `run`: fromJSON(): invalid JSON"), "{}", ran.stdout);
    assert!(ran.stderr.contains("1 expression or input would fail with these parameters"), "{}", ran.stderr);
    assert!(!sb.path().join("plan.json").exists());
    let fine = sb.run(&["plan", "rb.yaml", "-p", "doc={\"a\": 1}"]);
    assert_eq!(fine.code, 0, "{}", fine.stderr);
}

#[test]
fn the_shipped_failover_runbook_plans_cleanly_with_the_example_parameters() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sb = Sandbox::new();
    let runbook = root.join("runbooks/oci-functions-failover.yaml");
    let params = root.join("examples/orders-api/params.yaml");
    let ran = sb.run(&["plan", runbook.to_str().unwrap(), "--params-file", params.to_str().unwrap()]);
    // `each.spec` and the like are known only per item: shown as such, not as errors.
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("(known after run)") && !ran.stdout.contains("ERROR"), "{}", ran.stdout);
}

#[test]
fn a_saved_plan_names_what_would_run_differently() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: saved\ntasks:\n  greet:\n    uses: shell\n    with: { run: 'echo ${{ env.GREETING }}' }\n  other:\n    uses: shell\n    with: { run: 'true' }\n",
    );
    let saved = sb.command(&["plan", "rb.yaml", "--save", "plan.json"]).env("GREETING", "hello").output().unwrap();
    assert_eq!(saved.status.code(), Some(0), "{}", String::from_utf8_lossy(&saved.stderr));
    let ran = sb.command(&["run", "rb.yaml", "--plan", "plan.json"]).env("GREETING", "bye").output().unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("task `greet`: with.") && !stderr.contains("`other`"), "{stderr}");
    let out = sb
        .command(&["run", "rb.yaml", "--plan", "plan.json", "--parallelism", "3"])
        .env("GREETING", "hello")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("parallelism changed (8 → 3)"), "{stderr}");
    // An edited runbook: the hash says it changed, and the task that changed is named.
    let text = sb.read("rb.yaml").replace("run: 'true'", "run: 'false'");
    sb.write("rb.yaml", &text);
    let out = sb.command(&["run", "rb.yaml", "--plan", "plan.json"]).env("GREETING", "hello").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the runbook changed") && stderr.contains("task `other`: with.run changed"), "{stderr}");
}

#[test]
fn the_rto_estimate_counts_the_parallelism_and_concurrency_limits() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: rounds
objectives: { rto: 6s }
concurrency: { api: 1 }
defaults: { parallelism: 2 }
tasks:
  fan:
    uses: sleep
    for_each: [a, b, c, d, e, f]
    with: { duration: 1s }
  x:
    uses: sleep
    concurrency: api
    with: { duration: 2s }
  y:
    uses: sleep
    concurrency: api
    with: { duration: 2s }
"#,
    );
    let ran = sb.run(&["plan", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // Three rounds of two items, then x and y one at a time: 7s, over the 6s objective, while
    // the critical path is only x's 2s.
    assert!(ran.stdout.contains("Estimated run: 7s (parallelism 2"), "{}", ran.stdout);
    assert!(ran.stdout.contains("RTO: objective 6s, estimated 7s (117%)  ✖ over the objective"), "{}", ran.stdout);
    let json: serde_json::Value = serde_json::from_str(&sb.run(&["plan", "rb.yaml", "-o", "json"]).stdout).unwrap();
    assert_eq!(json["estimated_ms"], 7000);
}

#[test]
fn tasks_the_plan_knows_will_not_run_add_nothing_to_the_estimate() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: skipped
objectives: { rto: 1m }
params:
  go: { type: bool, default: false }
  items: { type: list, default: [] }
tasks:
  slow: { uses: sleep, if: "${{ params.go }}", with: { duration: 2m } }
  reads-slow:
    uses: shell
    estimate: 3m
    with: { run: "echo ${{ tasks.slow.outputs }}" }
  fan: { uses: sleep, for_each: "${{ params.items }}", with: { duration: 1m } }
  quick: { uses: sleep, depends_on: [fan], with: { duration: 1s } }
"#,
    );
    let ran = sb.run(&["plan", "rb.yaml", "-o", "json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let plan: serde_json::Value = serde_json::from_str(&ran.stdout).expect("json");
    // `slow` is skipped, `reads-slow` with it (it reads its outputs), `fan` has no items.
    assert_eq!(plan["critical_path_ms"], 1000, "{plan:#}");
    assert_eq!(plan["estimated_ms"], 1000, "{plan:#}");
    let text = sb.run(&["plan", "rb.yaml"]);
    assert!(text.stdout.contains("estimated 1s (2%)"), "{}", text.stdout);
    // With the condition true, the slow branch counts again.
    let go = sb.run(&["plan", "rb.yaml", "-p", "go=true", "-o", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&go.stdout).expect("json");
    assert_eq!(plan["critical_path_ms"], 300_000, "{plan:#}");
}

#[test]
fn secrets_in_conditions_and_secret_numbers_are_masked_in_plans() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: secrets
params:
  token: { type: string, secret: true, default: "" }
  pin: { type: number, secret: true, default: 0 }
  creds: { type: map, secret: true, default: {} }
tasks:
  a: { uses: shell, if: "${{ params.token }}", with: { run: echo, env: { P: "${{ params.pin }}", C: "${{ params.creds }}" } } }
"#,
    );
    let args = ["-p", "token=s3cr3t-T0ken", "-p", "pin=987654", "-p", r#"creds={"user":"bob-user","port":5432}"#];
    let mut plan = vec!["plan", "rb.yaml", "--save", "plan.json"];
    plan.extend(args);
    let text = sb.run(&plan);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let mut json = vec!["plan", "rb.yaml", "-o", "json"];
    json.extend(args);
    let json = sb.run(&json);
    for (what, out) in [("text", &text.stdout), ("json", &json.stdout), ("saved", &sb.read("plan.json"))] {
        for secret in ["s3cr3t-T0ken", "987654", "bob-user", "5432"] {
            assert!(!out.contains(secret), "{secret} in the {what} plan: {out}");
        }
    }
    assert!(text.stdout.contains("if: ***"), "{}", text.stdout);
    // A secret parameter too short to be masked by value is masked by its declaration.
    sb.write(
        "short.yaml",
        "version: 1\nname: short\nparams:\n  pin: { type: string, secret: true }\n  flag: { type: bool, secret: true, default: true }\ntasks:\n  t: { uses: sleep, with: { duration: 1ms } }\n",
    );
    let short = sb.run(&["plan", "short.yaml", "-p", "pin=42", "--save", "short.json"]);
    assert_eq!(short.code, 0, "{}", short.stderr);
    assert!(short.stdout.contains("Params: pin=***, flag=***"), "{}", short.stdout);
    let saved: serde_json::Value = serde_json::from_str(&sb.read("short.json")).unwrap();
    assert_eq!(
        (&saved["params"]["pin"], &saved["params"]["flag"]),
        (&serde_json::json!("***"), &serde_json::json!("***"))
    );
}

#[test]
fn a_saved_plan_runs_however_the_runbook_path_is_spelled_and_only_as_planned_for_drills() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: drill\nparams: { n: { type: number, default: 1 } }\ntasks:\n  d: { uses: shell, if: \"${{ run.drill }}\", with: { run: 'echo ${{ params.n }}' } }\n",
    );
    let saved = sb.run(&["plan", "rb.yaml", "-p", "n=123456789.123456789", "--save", "plan.json"]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let ran = sb.run(&["run", "./rb.yaml", "--plan", "plan.json", "-p", "n=123456789.123456789"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let drill = sb.run(&["run", "rb.yaml", "--plan", "plan.json", "--drill", "-p", "n=123456789.123456789"]);
    assert_eq!(drill.code, 2, "{}", drill.stderr);
    assert!(drill.stderr.contains("plan again with --drill"), "{}", drill.stderr);
    let saved = sb.run(&["plan", "rb.yaml", "--drill", "--save", "drill.json"]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert!(saved.stdout.contains("if: true"), "{}", saved.stdout);
    assert!(saved.stderr.contains("drctl run rb.yaml --plan drill.json --drill"), "{}", saved.stderr);
    let drill = sb.run(&["run", "rb.yaml", "--plan", "drill.json", "--drill"]);
    assert_eq!(drill.code, 0, "{}", drill.stderr);
    let not = sb.run(&["run", "rb.yaml", "--plan", "drill.json"]);
    assert_eq!(not.code, 2, "{}", not.stderr);
    assert!(not.stderr.contains("the plan is for a drill"), "{}", not.stderr);
}

#[test]
fn the_plan_reads_conditions_and_for_each_as_the_run_does() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: truthy
objectives: { rto: 10m }
params:
  api_token: { type: string, default: "" }
  items: { type: list }
tasks:
  slow: { uses: sleep, if: "${{ params.api_token }}", with: { duration: 20m } }
  reads: { uses: shell, estimate: 5m, with: { run: "echo ${{ tasks.slow.outputs }}" } }
"#,
    );
    let ran = sb.run(&["plan", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains(r#"if: "" (false)"#), "{}", ran.stdout);
    assert!(!ran.stdout.contains("over the objective"), "an empty condition skips, as in the run: {}", ran.stdout);
    sb.write(
        "fe.yaml",
        "version: 1\nname: fe\nparams: { items: { type: list } }\ntasks:\n  f: { uses: shell, for_each: \"${{ params.items }}\", with: { run: 'true' } }\n",
    );
    let refused = sb.run(&["plan", "fe.yaml", "--save", "fe.json"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("for_each must give a list, got null"), "{}", refused.stderr);
    assert!(!sb.path().join("fe.json").exists());
}

/// A measured estimate comes from the latest succeeded run in which the task ran: runs begun
/// in the same second are told apart, and a run that skipped the task keeps the measure before.
#[test]
fn measured_estimates_come_from_the_latest_run_in_which_the_task_ran() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: measured
params:
  d: { type: string, default: "0.4" }
  skip: { type: bool, default: false }
tasks:
  a: { uses: shell, if: "${{ !params.skip }}", with: { run: "sleep ${{ params.d }}" } }
"#,
    );
    let estimate = || {
        let ran = sb.run(&["plan", "rb.yaml", "-o", "json"]);
        let plan: serde_json::Value = serde_json::from_str(&ran.stdout).expect("json plan");
        plan["waves"][0][0]["estimate_ms"].as_u64().expect("estimate")
    };
    let runs: Vec<String> =
        [["-p", "d=0.4"], ["-p", "d=0.01"]].iter().map(|p| sb.run(&["run", "rb.yaml", p[0], p[1]]).run_id()).collect();
    let listed = sb.run(&["runs"]);
    let order: Vec<&str> = listed.stdout.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(order, runs, "listed in the order they began");
    assert!(estimate() < 300, "from the second run, not the first");
    assert_eq!(sb.run(&["run", "rb.yaml", "-p", "skip=true"]).code, 0);
    let kept = sb.run(&["plan", "rb.yaml", "-p", "skip=false", "-o", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&kept.stdout).expect("json plan");
    let a = plan["waves"][0][0]["estimate_ms"].as_u64().expect("estimate");
    assert!((1..300).contains(&a), "the run that skipped `a` keeps the measure before it: {a}");
}

/// `--refresh` reads with a short retry budget: a region that refuses connections costs three
/// attempts on its first read, and its other reads are not tried.
#[test]
fn a_refresh_gives_up_soon_on_a_region_that_does_not_answer() {
    let sb = Sandbox::new();
    let init = sb.run(&["sim", "init", "sim"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    sb.write("endpoints.json", r#"{"us-phoenix-1": "http://127.0.0.1:1"}"#);
    let vcn = |name: &str, cidr: &str| {
        format!(
            "  {name}:\n    uses: oci.core.vcn\n    with: {{ region: us-phoenix-1, compartmentId: ocid1.tenancy.oc1..aaaa, \
             displayName: {name}, cidrBlocks: [{cidr}] }}\n"
        )
    };
    sb.write(
        "rb.yaml",
        &format!("version: 1\nname: r\ntasks:\n{}{}", vcn("a", "10.0.0.0/16"), vcn("b", "10.1.0.0/16")),
    );
    let ran = sb.run(&["plan", "rb.yaml", "--refresh", "--config-file", "sim/config", "--endpoints", "endpoints.json"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let a = ran.stdout.lines().find(|l| l.contains("! a ")).unwrap_or_else(|| panic!("{}", ran.stdout));
    assert!(a.contains("Connection refused") && a.contains("after 3 attempt(s)"), "{a}");
    // With the next step: where the endpoint comes from and what to check.
    assert!(a.contains("check that this machine reaches the endpoint") && a.contains("DRCTL_ENDPOINTS"), "{a}");
    let b = ran.stdout.lines().find(|l| l.contains("! b ")).unwrap_or_else(|| panic!("{}", ran.stdout));
    assert!(b.contains("not read: us-phoenix-1 did not answer an earlier read"), "{b}");
}

/// What only the run knows (its id, each item of a `for_each`) is known after run in a plan,
/// whatever an expression computes from it: a plan computed from a placeholder's text refused a
/// valid runbook, and foretold skips the run did not make.
#[test]
fn what_only_the_run_knows_is_not_computed_from_placeholders() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: later
tasks:
  call:
    uses: http
    for_each: [get, head]
    with: { url: "http://127.0.0.1:9/", method: "${{ upper(each) }}", headers: { X-Item: "${{ each }}" } }
  tag: { uses: shell, if: "${{ contains(run.id, '-') }}", estimate: 5m, with: { run: 'echo "t=${{ run.id }}" >> "$DRCTL_OUTPUT"' } }
  use: { uses: shell, estimate: 1m, with: { run: 'echo ${{ tasks.tag.outputs.t }}' } }
"#,
    );
    let ran = sb.run(&["plan", "rb.yaml", "-o", "json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let plan: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let task = |id: &str| {
        plan["waves"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|w| w.as_array().unwrap())
            .find(|t| t["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(task("call")["inputs"]["method"], "(known after run)");
    assert_eq!(task("call")["inputs"]["headers"]["X-Item"], "(each item)");
    assert_eq!(task("tag")["condition"], "(known after run)");
    assert!(task("tag").get("skipped").is_none() && task("use").get("skipped").is_none(), "{}", ran.stdout);
    assert_eq!(plan["critical_path"], serde_json::json!(["tag", "use"]));
    // Each item the plan knows is still checked with its own value.
    sb.write("bad.yaml", &sb.read("rb.yaml").replace("[get, head]", "[get, \"bo gus\"]"));
    let bad = sb.run(&["plan", "bad.yaml"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("[bo gus] input `method` refused: `BO GUS` is not an HTTP method"), "{}", bad.stderr);
}

/// A parameter's text reaches a plan's conditions and refusals as it does its inputs: escaped,
/// on one line, so that it cannot restyle the terminal or pose as lines of the plan.
#[test]
fn parameters_cannot_pose_as_plan_lines_in_conditions_or_errors() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: ansi\nparams: {x: {type: string}}\ntasks:\n  a: { uses: shell, if: \"${{ params.x }}\", \
         with: { run: 'true' } }\n  b: { uses: sleep, with: { duration: \"${{ params.x }}\" } }\n",
    );
    let ran = sb.run(&["plan", "rb.yaml", "-p", "x=\u{1b}[2J\nWave 9 (1 task)"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    for text in [&ran.stdout, &ran.stderr] {
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("Wave 9")), "{text}");
    }
    assert!(ran.stdout.contains("if: \\u{1b}[2J\\nWave 9 (1 task)"), "{}", ran.stdout);
}
