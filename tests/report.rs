//! `drctl report` through the binary: a game day with retries, an approval given with
//! `drctl approve`, one given by `--yes`, a failure the run continues past, and phases; then the
//! report as Markdown (snapshot, times normalised), JUnit (well-formed, counted), HTML (one bar
//! per instance, no scripts) and JSON, and `--fail-on-rto`.

mod support;

use quick_xml::events::Event;
use serde_json::Value;
use support::Sandbox;

const GAME_DAY: &str = r#"version: 1
name: game-day
objectives: { rto: 1h }
phases: [prepare, restore, verify]
tasks:
  network:
    phase: prepare
    uses: shell
    retry: { attempts: 3, delay: 10ms, jitter: false }
    with: { run: 'n=$(cat tries 2>/dev/null || echo 0); echo $((n+1)) > tries; test $n -ge 1 || { echo "transient | error" >&2; exit 1; }' }
  go-ahead:
    phase: prepare
    uses: approval
    depends_on: [network]
    with: { message: "start the restore?" }
  restore:
    phase: restore
    uses: shell
    for_each: [orders, payments]
    depends_on: [go-ahead]
    with: { run: 'sleep 0.05' }
  cutover:
    phase: restore
    uses: approval
    depends_on: [restore]
    with: { message: "cut over DNS?" }
  smoke:
    phase: verify
    uses: shell
    on_failure: continue
    depends_on: [cutover]
    with: { run: 'echo "<boom> & broken" >&2; exit 3' }
  after-smoke:
    phase: verify
    uses: shell
    depends_on: [smoke]
    with: { run: 'true' }
  notify:
    uses: shell
    depends_on: [cutover]
    with: { run: 'true' }
"#;

/// Runs the game day: pauses at `go-ahead`, approved with `drctl approve ... --yes`, which
/// also approves `cutover`; `smoke` fails and the run ends failed.
fn game_day(sb: &Sandbox) -> String {
    sb.write("rb.yaml", GAME_DAY);
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 3, "paused at the approval: {}", ran.stderr);
    let id = ran.run_id();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let approved = sb.run(&["approve", &id, "go-ahead", "--reason", "change 42", "--yes", "--progress", "plain"]);
    assert_eq!(approved.code, 1, "smoke fails: {}", approved.stderr);
    id
}

fn report(sb: &Sandbox, id: &str, format: &str) -> String {
    let ran = sb.run(&["report", id, "--format", format]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    ran.stdout
}

#[test]
fn a_game_day_report_in_every_format() {
    let sb = Sandbox::new();
    let id = game_day(&sb);
    let json: Value = serde_json::from_str(&report(&sb, &id, "json")).unwrap();

    // Approvals: who, when, why, and how long each waited.
    let approvals = json["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 2);
    assert_eq!(approvals[0]["task"], "go-ahead");
    assert_eq!(approvals[0]["decision"], "approve");
    assert_eq!(approvals[0]["reason"], "change 42");
    assert!(approvals[0]["waited_ms"].as_u64().unwrap() >= 300, "{}", approvals[0]);
    assert_eq!(approvals[1]["task"], "cutover");
    assert_eq!(approvals[1]["reason"], "approved by --yes");
    let user = approvals[0]["user"].as_str().unwrap().to_owned();
    let host = approvals[0]["host"].as_str().unwrap().to_owned();
    assert!(!user.is_empty() && !host.is_empty());

    // Timing: the pause is an operator wait, not work.
    let rto = &json["rto"];
    assert_eq!(rto["objective_ms"], 3_600_000);
    assert_eq!(rto["exceeded"], false);
    assert_eq!(rto["finished"], false, "the run failed");
    let wall = rto["wall_ms"].as_u64().unwrap();
    let between = rto["between_segments_ms"].as_u64().unwrap();
    assert!(between >= 300, "{rto}");
    assert_eq!(rto["excluding_operator_waits_ms"].as_u64().unwrap(), wall - rto["operator_wait_ms"].as_u64().unwrap());
    let phases: Vec<&str> = json["phases"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(phases, ["prepare", "restore", "verify", "(no phase)"]);
    let network = &json["phases"][0]["instances"][0];
    assert_eq!((network["attempts"].as_u64(), network["retries"].as_u64()), (Some(2), Some(1)));
    assert_eq!(network["attempt_log"][0]["error"], "command exited with 1: transient | error");
    assert_eq!(json["failures"][0]["task"], "smoke");

    // Markdown, with times, the run id and the operator normalised.
    let md = report(&sb, &id, "markdown")
        .replace(&id, "[run-id]")
        .replace(&format!("{user}@{host}"), "[user]@[host]")
        .replace(&format!("| {user} | {host} |"), "| [user] | [host] |");
    insta::with_settings!({ filters => vec![
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "[time]"),
        (r"\b\d+(\.\d+)?(ms|s)\b|\b\d+m\d\ds\b|\b\d+h\d\dm\b", "[dur]"),
    ]}, {
        insta::assert_snapshot!("game_day_markdown", md);
    });

    // JUnit: well-formed, one suite per phase plus the objectives, one case per instance.
    let xml = report(&sb, &id, "junit");
    let counts = xml_counts(&xml);
    assert_eq!(counts.testsuite, 5, "{xml}");
    assert_eq!(counts.testcase, 9, "8 instances and the RTO: {xml}");
    // The failed smoke test, and the RTO: a run that did not recover has not met it.
    assert_eq!(counts.failure, 2, "{xml}");
    assert_eq!(counts.skipped, 1, "{xml}");
    assert!(xml.contains(r#"<testsuites name="game-day" tests="9" failures="2" errors="0" skipped="1""#), "{xml}");
    assert!(xml.contains("&lt;boom&gt; &amp; broken"), "{xml}");

    // HTML: one bar per instance, self-contained.
    let out = sb.path().join("report.html");
    let ran = sb.run(&["report", &id, "--format", "html", "--output", out.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let html = std::fs::read_to_string(out).unwrap();
    assert_eq!(html.matches("<rect class=\"bar ").count(), 8);
    assert_eq!(html.matches("<rect class=\"bar failed\"").count(), 1);
    assert_eq!(html.matches("<rect class=\"bar skipped\"").count(), 1);
    assert!(!html.contains("<script"), "no scripts");
    assert!(!html.contains("src=") && !html.contains("href="), "no external assets");
    assert!(html.contains("&lt;boom&gt; &amp; broken"));
    assert!(!html.contains("<boom>"));
}

#[test]
fn approval_instances_last_from_the_wait_to_the_decision() {
    let sb = Sandbox::new();
    let id = game_day(&sb);
    let status = sb.status(&id);
    let task = |name: &str| status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == name).unwrap().clone();
    let gate = task("go-ahead");
    assert!(gate["duration_ms"].as_u64().unwrap() >= 300, "{gate}");
    assert!(task("cutover")["duration_ms"].as_u64().is_some(), "an approval given by --yes has a duration too");
}

/// Each decision keeps the wait it ended: a `retry` that asks again does not rewrite it.
#[test]
fn a_decision_keeps_its_wait_after_the_approval_is_asked_again() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: asked-twice\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n");
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(sb.run(&["deny", &id, "gate", "--reason", "not yet"]).code, 1);
    assert_eq!(sb.run(&["retry", &id, "gate", "--no-resume"]).code, 0);
    assert_eq!(sb.run(&["resume", &id]).code, 3);
    assert_eq!(sb.run(&["approve", &id, "gate", "--reason", "now"]).code, 0);
    let json: serde_json::Value = serde_json::from_str(&report(&sb, &id, "json")).unwrap();
    let waited: Vec<u64> =
        json["approvals"].as_array().unwrap().iter().map(|a| a["waited_ms"].as_u64().unwrap()).collect();
    assert_eq!(waited.len(), 2, "{json}");
    assert!(waited[0] >= 400 && waited[1] < 400, "{waited:?}");
}

#[test]
fn a_denied_approval_made_no_attempt_in_every_part_of_the_report() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: denied\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n");
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    assert_eq!(sb.run(&["deny", &id, "gate", "--reason", "not yet"]).code, 1);
    let text = report(&sb, &id, "markdown");
    assert!(text.contains(", without an attempt."), "{text}");
    assert!(!text.contains("attempt(s)"), "{text}");
}

#[test]
fn fail_on_rto_exits_1_only_when_the_objective_is_exceeded() {
    let sb = Sandbox::new();
    let text = |rto: &str| {
        format!("version: 1\nname: timed\nobjectives: {{ rto: {rto} }}\ntasks:\n  t: {{ uses: shell, with: {{ run: 'sleep 0.05' }} }}\n")
    };
    sb.write("slow.yaml", &text("1ms"));
    sb.write("fine.yaml", &text("1h"));
    let slow = sb.run(&["run", "slow.yaml"]).run_id();
    let fine = sb.run(&["run", "fine.yaml"]).run_id();
    let over = sb.run(&["report", &slow, "--fail-on-rto"]);
    assert_eq!(over.code, 1, "{}", over.stderr);
    assert!(over.stderr.contains("RTO exceeded"), "{}", over.stderr);
    assert!(over.stdout.contains("**exceeded**"), "the report is still printed: {}", over.stdout);
    assert_eq!(sb.run(&["report", &slow]).code, 0, "without --fail-on-rto the verdict is only reported");
    let within = sb.run(&["report", &fine, "--fail-on-rto", "--format", "junit"]);
    assert_eq!(within.code, 0, "{}", within.stderr);
    assert!(within.stdout.contains(r#"<testcase name="rto""#));
    let junit_over = sb.run(&["report", &slow, "--format", "junit"]);
    assert!(junit_over.stdout.contains(r#"<failure message="RTO exceeded"#), "{}", junit_over.stdout);
    let missing = sb.run(&["report", "no-such-run"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
}

#[test]
fn a_run_that_did_not_recover_never_meets_its_rto() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: broken\nobjectives: { rto: 1h }\ntasks:\n  a: { uses: shell, with: { run: 'exit 1' } }\n  b: { uses: shell, depends_on: [a], with: { run: 'true' } }\n  c: { uses: shell, depends_on: [b], with: { run: 'true' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    // The summary neither calls it within the RTO nor forgets the tasks that never started.
    assert!(ran.stderr.contains("not recovered yet (RTO 1h"), "{}", ran.stderr);
    assert!(ran.stderr.contains("0 succeeded, 1 failed, 0 skipped, 2 pending"), "{}", ran.stderr);
    let id = ran.run_id();
    let gate = sb.run(&["report", &id, "--fail-on-rto"]);
    assert_eq!(gate.code, 1, "{}", gate.stderr);
    assert!(gate.stderr.contains("RTO not met: the recovery did not complete"), "{}", gate.stderr);
    assert!(gate.stdout.contains("**not met**"), "{}", gate.stdout);
    let junit = sb.run(&["report", &id, "--format", "junit"]).stdout;
    assert!(junit.contains(r#"<failure message="RTO not met"#), "{junit}");
}

#[derive(Default, Debug)]
struct XmlCounts {
    testsuite: usize,
    testcase: usize,
    failure: usize,
    skipped: usize,
}

/// Reads the whole document (quick-xml checks that every end tag matches its start) and
/// counts the JUnit elements.
fn xml_counts(xml: &str) -> XmlCounts {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut counts = XmlCounts::default();
    let mut depth = 0i32;
    loop {
        let event =
            reader.read_event().unwrap_or_else(|e| panic!("malformed XML at {}: {e}\n{xml}", reader.buffer_position()));
        let name = match &event {
            Event::Start(e) => {
                depth += 1;
                e.name().as_ref().to_vec()
            }
            Event::Empty(e) => e.name().as_ref().to_vec(),
            Event::End(_) => {
                depth -= 1;
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        match name.as_slice() {
            b"testsuite" => counts.testsuite += 1,
            b"testcase" => counts.testcase += 1,
            b"failure" => counts.failure += 1,
            b"skipped" => counts.skipped += 1,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every element is closed");
    counts
}

#[test]
fn secrets_stay_masked_in_every_format() {
    let sb = Sandbox::new();
    let canary = "canary-5d1e-secret";
    sb.write(
        "rb.yaml",
        r#"version: 1
name: secrets
params:
  token: { type: string, secret: true }
tasks:
  gate:
    uses: approval
    with: { message: "use ${{ params.token }}?" }
  leak:
    uses: shell
    depends_on: [gate]
    with: { run: 'echo "token ${{ params.token }} rejected" >&2; exit 1' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--yes", "-p", &format!("token={canary}")]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let id = ran.run_id();
    for format in ["markdown", "junit", "html", "json"] {
        let text = report(&sb, &id, format);
        assert!(text.contains("token *** rejected"), "{format}: {text}");
        assert!(!text.contains(canary), "{format} shows the secret: {text}");
    }
    let journal = std::fs::read_to_string(sb.path().join(".drctl/runs").join(&id).join("journal.log")).unwrap();
    assert!(!journal.contains(canary), "the approval message is masked in the journal: {journal}");
}

/// A drill that failed does not pass a `--fail-on-rto` gate because its runbook sets no RTO.
#[test]
fn a_failed_run_without_an_objective_fails_the_rto_gate() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: no-rto\ntasks:\n  a:\n    uses: shell\n    with: { run: 'exit 3' }\n");
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let gate = sb.run(&["report", &ran.run_id(), "--fail-on-rto"]);
    assert_eq!(gate.code, 1, "{}", gate.stderr);
    assert!(gate.stderr.contains("did not complete"), "{}", gate.stderr);
}

#[test]
fn a_run_that_died_before_its_first_record_reads_as_interrupted_everywhere() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: early\ntasks:\n  a: { uses: shell, with: { run: 'true' } }\n");
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let dir = sb.path().join(".drctl/runs").join(&id);
    for journal in ["empty", "missing"] {
        match journal {
            "empty" => std::fs::write(dir.join("journal.log"), "").unwrap(),
            // Before the journal was made: the scratch directory, made just after it, is not
            // there either (a journal lost later is damage; see tests/operator.rs).
            _ => {
                std::fs::remove_file(dir.join("journal.log")).unwrap();
                let _ = std::fs::remove_dir_all(dir.join("tmp"));
            }
        }
        assert_eq!(sb.status(&id)["state"], "interrupted", "{journal}");
        let report: serde_json::Value = serde_json::from_str(&report(&sb, &id, "json")).unwrap();
        assert_eq!(report["run"]["state"], "interrupted", "{journal}");
        let gate = sb.run(&["report", &id, "--fail-on-rto"]);
        assert!(gate.stderr.contains("interrupted") && !gate.stderr.contains("running"), "{journal}: {}", gate.stderr);
    }
}

/// A crashed segment counts up to its last record: breaking its lock and resuming later is
/// an operator's wait, not recovery time.
#[test]
fn the_time_between_a_crash_and_its_resume_is_an_operator_wait() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: crashed\ntasks:\n  a: { uses: shell, with: { run: 'touch started; sleep 3' } }\n  b: { uses: shell, depends_on: [a], with: { run: 'true' } }\n",
    );
    let mut child = sb.command(&["run", "rb.yaml"]).stdout(std::process::Stdio::piped()).spawn().expect("drctl");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !sb.path().join("started").exists() {
        assert!(std::time::Instant::now() < until, "the task never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let id = String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(3500));
    assert_eq!(sb.run(&["resume", &id, "--break-lock"]).code, 0);
    let json: serde_json::Value = serde_json::from_str(&report(&sb, &id, "json")).unwrap();
    let waited = json["rto"]["between_segments_ms"].as_u64().unwrap();
    assert!(waited >= 3000, "the wait for the operator counted as recovery: {}", json["rto"]);
}

/// A phase's wall time runs from its first start to the last end of its instances that
/// started: a dependent the engine skipped late does not stretch it, in the report and in
/// the run's own summary alike.
#[test]
fn a_skipped_instance_does_not_stretch_its_phase() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: wall\nphases: [p1, p2]\ntasks:\n  a: { phase: p1, uses: shell, on_failure: continue, retry: { \
         attempts: 1 }, with: { run: 'sleep 1; exit 1' } }\n  b: { phase: p2, uses: shell, depends_on: [a], with: { run: \
         'true' } }\n  c: { phase: p2, uses: sleep, with: { duration: 10ms } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let json: Value = serde_json::from_str(&report(&sb, &ran.run_id(), "json")).expect("json");
    let p2 = json["phases"].as_array().unwrap().iter().find(|p| p["name"] == "p2").expect("p2").clone();
    // `c` alone ran in p2: its 10 ms, not the second `a` took before `b` was skipped.
    let wall = p2["wall_ms"].as_u64().unwrap();
    assert!(wall < 900, "{p2}");
    let summary = ran.stderr.lines().find(|l| l.trim_start().starts_with("phases:")).expect("phase times");
    assert!(summary.ends_with(&format!("p2 {wall}ms")), "{summary} (the report says {wall} ms)");
}

/// A `for_each` over no items ran and succeeded with nothing to do: `status` and the report
/// list it as the task, and the run's summary says so.
#[test]
fn a_for_each_over_no_items_is_listed_as_its_task() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: empty\nparams: { items: { type: list, default: [] } }\ntasks:\n  first: { uses: shell, with: { \
         run: 'true' } }\n  fe: { uses: shell, for_each: '${{ params.items }}', with: { run: 'echo ${{ each }}' } \
         }\n  last: { uses: shell, depends_on: [fe], with: { run: 'true' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("(2 instances of 3 tasks; 1 for_each over no items)"), "{}", ran.stderr);
    let id = ran.run_id();
    let status = sb.status(&id);
    let ids: Vec<&str> = status["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["first", "fe", "last"], "{status:#}");
    assert_eq!(status["tasks"][1]["state"], "succeeded");
    assert_eq!(status["tasks"][1]["items"], 0);
    let report = sb.run(&["report", &id, "--format", "json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(report.stdout.contains("for_each over no items"), "{}", report.stdout);
}
