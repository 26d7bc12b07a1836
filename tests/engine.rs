//! The engine, driven through the real binary: retries, timeouts, failure modes, for_each,
//! outputs, approvals, crashes and resume, Ctrl-C, changed runbooks and secrets.

mod support;

use std::time::{Duration, Instant};

use support::Sandbox;

fn state(sb: &Sandbox, run: &str, task: &str) -> (String, u64) {
    sb.task_states(run).get(task).cloned().unwrap_or_else(|| panic!("no task {task} in {:?}", sb.task_states(run)))
}

#[test]
fn retries_are_counted_until_success() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: retries
tasks:
  flaky:
    uses: shell
    retry: { attempts: 5, delay: 10ms, jitter: false }
    with:
      run: 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]'
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(sb.read("count").trim(), "3");
    assert_eq!(state(&sb, &ran.run_id(), "flaky"), ("succeeded".into(), 3));
}

#[test]
fn retry_on_limits_which_errors_are_retried() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: retry-on
tasks:
  exits-7:
    uses: shell
    retry: { attempts: 4, delay: 10ms, retry_on: ["exit:3"] }
    with: { run: 'exit 7' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1);
    assert_eq!(state(&sb, &ran.run_id(), "exits-7"), ("failed".into(), 1));
    sb.write("rb.yaml", &sb.read("rb.yaml").replace("exit 7", "exit 3"));
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1);
    assert_eq!(state(&sb, &ran.run_id(), "exits-7"), ("failed".into(), 4), "exit 3 is retried");
}

#[test]
fn the_retry_budget_bounds_attempts_and_waits_together() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: budget
tasks:
  waits:
    uses: shell
    on_failure: continue
    retry: { attempts: 20, backoff: constant, delay: 200ms, jitter: false, budget: 500ms }
    with: { run: 'exit 1' }
  runs-long:
    uses: shell
    on_failure: continue
    retry: { attempts: 5, delay: 10ms, budget: 400ms }
    with: { run: 'sleep 5' }
  retries-timeouts:
    uses: shell
    on_failure: continue
    timeout: 5s
    retry: { attempts: 5, delay: 10ms, budget: 400ms, retry_on: [timeout] }
    with: { run: 'sleep 5' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let status = sb.status(&ran.run_id());
    let task = |id: &str| status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
    let waits = task("waits");
    let attempts = waits["attempts"].as_u64().unwrap();
    // 200 ms apart within 500 ms: three at most (fewer when the machine is slow to start them).
    assert!((1..=3).contains(&attempts), "{waits}");
    // The budget ends during the next wait, or (on a slow machine) before it, or while a slow
    // machine still starts the third attempt's command, which it then cuts off.
    let error = waits["error"].as_str().unwrap();
    assert!(
        error.contains("(the next attempt, after a wait of 200ms, would start after the retry budget of 500ms ends)")
            || error.contains("(retry budget of 500ms spent)")
            || error.contains("attempt cut off: retry budget of 500ms spent"),
        "{waits}"
    );
    let long = task("runs-long");
    assert_eq!(long["attempts"], 1, "{long}");
    assert!(long["error"].as_str().unwrap().contains("attempt cut off: retry budget of 400ms spent"), "{long}");
    let retried = task("retries-timeouts");
    assert_eq!(retried["error"].as_str().unwrap().matches("retry budget of 400ms spent").count(), 1, "{retried}");
}

#[test]
fn attempts_time_out() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: timeouts
tasks:
  slow:
    uses: shell
    timeout: 300ms
    retry: { attempts: 2, delay: 10ms }
    with: { run: 'echo "partial=1" >> "$DRCTL_OUTPUT"; sleep 5' }
"#,
    );
    let started = Instant::now();
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
    assert_eq!(ran.code, 1);
    let status = sb.status(&ran.run_id());
    let task = &status["tasks"][0];
    assert_eq!(task["attempts"], 2);
    assert!(task["error"].as_str().unwrap_or_default().contains("timed out after 300ms"), "{task}");
    // A timed-out attempt's output file goes like that of one that ended.
    let scratch = sb.path().join(".drctl/runs").join(ran.run_id()).join("tmp");
    let left: Vec<_> = std::fs::read_dir(&scratch).expect("scratch dir").flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "left in {}: {left:?}", scratch.display());
}

const MODES: &str = r#"version: 1
name: modes
tasks:
  bad:
    uses: shell
    on_failure: MODE
    with: { run: 'touch bad-ran; exit 1' }
  after-bad:
    uses: shell
    depends_on: [bad]
    with: { run: 'touch after-bad' }
  other:
    uses: shell
    depends_on: [slow-start]
    with: { run: 'touch other' }
  slow-start:
    uses: shell
    # Still running when `bad` has failed, however loaded the machine: it waits for `bad`
    # to have run (5 s at most), then a little more.
    with: { run: 'for i in $(seq 250); do [ -f bad-ran ] && break; sleep 0.02; done; sleep 0.3' }
"#;

#[test]
fn on_failure_abort_starts_nothing_new() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &MODES.replace("MODE", "abort"));
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1);
    let run = ran.run_id();
    assert_eq!(state(&sb, &run, "bad").0, "failed");
    assert_eq!(state(&sb, &run, "slow-start").0, "succeeded", "running tasks finish");
    assert_eq!(state(&sb, &run, "other").0, "pending", "no new task starts");
    assert!(!sb.path().join("other").exists());
    // The failed run is resumable: once the cause is fixed, it finishes.
    sb.write("rb.yaml", &MODES.replace("MODE", "abort").replace("exit 1", "true"));
    let resumed = sb.run(&["resume", &run, "--allow-changed"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(sb.path().join("other").exists() && sb.path().join("after-bad").exists());
    assert_eq!(sb.status(&run)["state"], "succeeded");
}

#[test]
fn a_task_launched_with_one_that_fails_at_once_runs_once_in_all() {
    // A pure task fails at once, in the same pass that launches a task with effects. Whether
    // that task's command runs before the abort begins or is held back by it, the journal says
    // which, and the resume runs it only if it did not run: never twice, never not at all.
    let text = "version: 1\nname: race\ntasks:\n  bad: { uses: assert, with: { that: GATE, message: boom } }\n  effect: { uses: shell, with: { run: 'echo ran >> effect' } }\n";
    for round in 0..3 {
        let sb = Sandbox::new();
        sb.write("rb.yaml", &text.replace("GATE", "false"));
        let ran = sb.run(&["run", "rb.yaml"]);
        assert_eq!(ran.code, 1, "{}", ran.stderr);
        let run = ran.run_id();
        let effect_ran = sb.path().join("effect").exists();
        let recorded = state(&sb, &run, "effect").0;
        assert_eq!(effect_ran, recorded == "succeeded", "round {round}: the command ran but the task is {recorded}");
        sb.write("rb.yaml", &text.replace("GATE", "true"));
        let resumed = sb.run(&["resume", &run, "--allow-changed"]);
        assert_eq!(resumed.code, 0, "{}", resumed.stderr);
        let runs = std::fs::read_to_string(sb.path().join("effect")).unwrap_or_default();
        assert_eq!(runs.lines().count(), 1, "round {round}: the command ran {} times", runs.lines().count());
    }
}

/// A task that fails as it starts (its inputs do not resolve) aborts the run in the pass that
/// launched the tasks beside it: those do not start, an `assert` no more than a command.
#[test]
fn an_abort_in_the_launching_pass_holds_back_pure_tasks_too() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: pass\ntasks:\n  a: { uses: shell, with: { run: 'echo x=1 >> \"$DRCTL_OUTPUT\"' } }\n  \
         c: { uses: shell, with: { run: 'touch c-ran', env: { X: '${{ tasks.a.outputs.x }}' } } }\n  \
         e: { uses: assert, with: { that: \"${{ tasks.a.outputs.x == '1' }}\" } }\n  \
         d: { uses: shell, with: { run: 'true', env: { X: '${{ tasks.a.outputs.nope }}' } } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let run = ran.run_id();
    assert_eq!(state(&sb, &run, "d").0, "failed");
    for held in ["c", "e"] {
        // Its `start` record was made in that pass, but the attempt never began: the journal
        // says so, and the task is pending with no attempt used, not in doubt.
        assert_eq!(state(&sb, &run, held), ("pending".into(), 0), "{held}: {}", ran.stderr);
        assert!(!ran.stderr.contains(&format!("▶ {held}\n")), "{held} started: {}", ran.stderr);
    }
    assert!(!sb.path().join("c-ran").exists());
    let journal = sb.read(&format!(".drctl/runs/{run}/journal.log"));
    assert_eq!(journal.matches("\"t\":\"withdrawn\"").count(), 2, "{journal}");
    // Fixed, the run goes on from there: `c` runs once, as its first attempt.
    sb.write("rb.yaml", &sb.read("rb.yaml").replace("'${{ tasks.a.outputs.nope }}'", "'${{ tasks.a.outputs.x }}'"));
    let resumed = sb.run(&["resume", &run, "--allow-changed"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(state(&sb, &run, "c"), ("succeeded".into(), 1));
    assert!(!resumed.stderr.contains("in doubt") && !resumed.stderr.contains("was running"), "{}", resumed.stderr);
}

#[test]
fn on_failure_continue_skips_dependents_only() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &MODES.replace("MODE", "continue"));
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1);
    let run = ran.run_id();
    assert_eq!(state(&sb, &run, "after-bad").0, "skipped");
    assert_eq!(state(&sb, &run, "other").0, "succeeded");
    assert!(sb.path().join("other").exists());
}

#[test]
fn the_header_counts_only_what_an_earlier_segment_finished() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: header
tasks:
  never: { uses: shell, if: "${{ false }}", with: { run: 'true' } }
  first: { uses: shell, with: { run: 'true' } }
  gate: { uses: shell, depends_on: [first], on_failure: pause, with: { run: 'test -e go' } }
  later: { uses: shell, depends_on: [first], with: { run: 'true' } }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("4 tasks, 0 already done"), "a skip decided now is not already done: {}", ran.stderr);
    sb.write("go", "");
    let resumed = sb.run(&["resume", &ran.run_id()]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    // `first`, and `later` below it: every task finished, not only the roots.
    assert!(resumed.stderr.contains("4 tasks, 2 already done"), "{}", resumed.stderr);
}

#[test]
fn every_instance_has_a_log_of_its_own_whatever_its_key() {
    let sb = Sandbox::new();
    let long = "x".repeat(300);
    sb.write(
        "rb.yaml",
        &format!(
            r#"version: 1
name: keys
tasks:
  t:
    uses: shell
    for_each: ["a b", "a_b", "{long}"]
    with: {{ run: 'echo "item $DRCTL_EACH_KEY"' }}
"#
        ),
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!ran.stderr.contains("could not write task log"), "{}", ran.stderr);
    let logs = sb.path().join(".drctl/runs").join(ran.run_id()).join("logs");
    let texts: Vec<String> = std::fs::read_dir(&logs)
        .expect("logs")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).expect("log"))
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    for text in &texts {
        assert_eq!(text.matches("item ").count(), 1, "one instance per log: {text}");
        assert!(!text.contains("background"), "no background process here: {text}");
    }
    for key in ["a b", "a_b", long.as_str()] {
        let item = format!("item {key}\n");
        assert_eq!(texts.iter().filter(|t| t.contains(&item)).count(), 1, "{key}: {texts:?}");
    }
}

#[test]
fn task_ids_and_names_may_use_any_script() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: unicode
params: { région: { type: string, default: eu } }
tasks:
  préparer: { uses: shell, with: { run: 'echo "zone=${{ params.région }}-1" >> "$DRCTL_OUTPUT"' } }
  vérifier: { uses: assert, with: { actual: "${{ tasks.préparer.outputs.zone }}", expected: eu-1 } }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(state(&sb, &ran.run_id(), "vérifier").0, "succeeded");
    sb.write("bad.yaml", "version: 1\nname: bad\ntasks:\n  \"1st\": { uses: sleep, with: { duration: 1ms } }\n");
    let refused = sb.run(&["validate", "bad.yaml"]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("task id `1st` is not allowed"), "{}", refused.stderr);
}

#[test]
fn the_summary_times_a_phase_from_its_first_attempt_as_the_report_does() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: phases\nphases: [prepare]\ntasks:\n  flaky: { uses: shell, phase: prepare, retry: { attempts: 2, delay: 1s, jitter: false }, with: { run: 'exit 1' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let line = ran.stderr.lines().find(|l| l.trim_start().starts_with("phases:")).unwrap_or_default().to_owned();
    assert!(line.contains("prepare 1."), "the retry's wait counts: {}", ran.stderr);
    let report = sb.run(&["report", &ran.run_id(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&report.stdout).expect("report json");
    let wall = report["phases"][0]["wall_ms"].as_u64().expect("wall_ms");
    assert!((1000..2000).contains(&wall), "{wall}");
}

#[test]
fn a_shell_output_of_false_is_a_false_condition() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: text-false
tasks:
  probe: { uses: shell, with: { run: 'echo "needed=false" >> "$DRCTL_OUTPUT"' } }
  failover: { uses: shell, if: "${{ tasks.probe.outputs.needed }}", with: { run: 'touch failed-over' } }
  report: { uses: shell, if: "${{ !tasks.probe.outputs.needed }}", with: { run: 'touch reported' } }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let states = sb.task_states(&ran.run_id());
    assert_eq!(states["failover"].0, "skipped");
    assert!(!sb.path().join("failed-over").exists());
    assert!(sb.path().join("reported").exists());
}

#[test]
fn on_failure_pause_waits_for_an_operator() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &MODES.replace("MODE", "pause"));
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let run = ran.run_id();
    assert_eq!(sb.status(&run)["state"], "paused");
    assert_eq!(state(&sb, &run, "after-bad").0, "pending", "nothing after the failure runs while paused");
    assert!(!sb.path().join("after-bad").exists());
    let skipped = sb.run(&["skip", &run, "bad", "--reason", "known issue"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert_eq!(state(&sb, &run, "bad").0, "skipped");
    assert_eq!(state(&sb, &run, "after-bad").0, "succeeded");
    let status = sb.status(&run);
    let audit = status["audit"].as_array().unwrap();
    assert!(
        audit.iter().any(|a| a["action"] == "skip" && a["reason"] == "known issue" && a["task"] == "bad"),
        "{audit:?}"
    );
}

#[test]
fn for_each_outputs_and_implicit_edges() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: fanout
params:
  regions: { type: list, default: [ashburn, phoenix] }
tasks:
  vcn:
    uses: shell
    with: { run: 'echo "id=vcn-1" >> "$DRCTL_OUTPUT"' }
  app:
    uses: shell
    for_each: ${{ params.regions }}
    with: { run: 'echo "id=app-${{ each }}-${{ tasks.vcn.outputs.id }}" >> "$DRCTL_OUTPUT"' }
  report:
    uses: shell
    with:
      run: |
        echo "${{ tasks.app.outputs.phoenix.id }} ${{ join(keys(tasks.app.outputs), '+') }}" > report
"#,
    );
    let plan = sb.run(&["plan", "rb.yaml", "-o", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let waves: Vec<Vec<String>> = plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect())
        .collect();
    assert_eq!(waves, vec![vec!["vcn"], vec!["app"], vec!["report"]]);
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(sb.read("report").trim(), "app-phoenix-vcn-1 ashburn+phoenix");
    let states = sb.task_states(&ran.run_id());
    assert_eq!(states["app[ashburn]"].0, "succeeded");
    assert_eq!(states["app[phoenix]"].0, "succeeded");
}

#[test]
fn outputs_reach_a_task_that_also_lists_its_dependency() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: both
tasks:
  a:
    uses: shell
    with: { run: 'echo "id=a-1" >> "$DRCTL_OUTPUT"' }
  b:
    uses: shell
    depends_on: [a]
    if: ${{ tasks.a.state == 'succeeded' }}
    with: { run: 'echo "${{ tasks.a.outputs.id }}" > seen' }
  c:
    uses: shell
    depends_on: [b]
    with: { run: 'true' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(sb.read("seen").trim(), "a-1");
}

#[test]
fn expression_values_never_become_shell_code() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: injection
params:
  name: { type: string }
tasks:
  greet:
    uses: shell
    with: { run: 'echo "hello ${{ params.name }}" > out' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", "name=x\"; touch pwned; echo \""]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!sb.path().join("pwned").exists());
    assert_eq!(sb.read("out").trim(), "hello x\"; touch pwned; echo \"");
}

#[test]
fn approvals_pause_then_continue_with_an_audit_trail() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: approvals
tasks:
  gate:
    uses: approval
    with: { message: "cut over DNS?" }
  cutover:
    uses: shell
    depends_on: [gate]
    with: { run: 'touch cutover' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("drctl approve"), "{}", ran.stderr);
    let run = ran.run_id();
    assert!(!sb.path().join("cutover").exists());
    let approved = sb.run(&["approve", &run, "gate", "--reason", "change 42 approved"]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    assert!(sb.path().join("cutover").exists());
    let status = sb.status(&run);
    assert_eq!(status["state"], "succeeded");
    let audit = status["audit"].as_array().unwrap();
    let approve = audit.iter().find(|a| a["action"] == "approve").expect("approve in audit");
    assert_eq!(approve["reason"], "change 42 approved");
    assert!(approve["user"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(approve["host"].as_str().is_some_and(|h| !h.is_empty()));

    let denied = Sandbox::new();
    denied.write("rb.yaml", &sb.read("rb.yaml"));
    let ran = denied.run(&["run", "rb.yaml"]);
    let run = ran.run_id();
    let deny = denied.run(&["deny", &run, "gate", "--reason", "not now"]);
    assert_eq!(deny.code, 1, "{}", deny.stderr);
    assert_eq!(state(&denied, &run, "cutover").0, "skipped");

    let yes = Sandbox::new();
    yes.write("rb.yaml", &sb.read("rb.yaml"));
    assert_eq!(yes.run(&["run", "rb.yaml", "--yes"]).code, 0);
}

#[test]
fn changed_runbook_is_refused_on_resume() {
    let sb = Sandbox::new();
    let text = r#"version: 1
name: changes
tasks:
  first:
    uses: shell
    with: { run: 'true' }
  gate:
    uses: approval
    depends_on: [first]
  last:
    uses: shell
    depends_on: [gate]
    with: { run: 'touch last' }
"#;
    sb.write("rb.yaml", text);
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 3);
    let run = ran.run_id();
    sb.write("rb.yaml", &text.replace("touch last", "touch other"));
    let resumed = sb.run(&["resume", &run]);
    assert_eq!(resumed.code, 2);
    assert!(resumed.stderr.contains("changed tasks: last"), "{}", resumed.stderr);
    let resumed = sb.run(&["resume", &run, "--allow-changed", "--yes"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(sb.path().join("other").exists());
    // The runbook the first segment ran is kept, and the audit says what was accepted.
    let dir = format!(".drctl/runs/{run}");
    assert_eq!(sb.read(&format!("{dir}/runbook.1.yaml")), text);
    assert!(sb.read(&format!("{dir}/runbook.yaml")).contains("touch other"));
    let status = sb.status(&run);
    let resume = status["audit"].as_array().unwrap().iter().find(|a| a["action"] == "resume").unwrap().clone();
    let reason = resume["reason"].as_str().unwrap();
    assert!(reason.starts_with("with a changed runbook (--allow-changed): changed tasks last; sha256 "), "{reason}");
    assert!(reason.ends_with("the runbook run until now is kept as runbook.1.yaml"), "{reason}");
}

#[test]
fn a_secret_left_at_its_default_stays_out_of_the_run_metadata_and_resume_takes_it_again() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: dflt\nparams:\n  tok: { type: string, secret: true, default: dflt-secret-99 }\ntasks:\n  t:\n    uses: shell\n    with: { run: 'test -f go && echo \"$T\" > used', env: { T: '${{ params.tok }}' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let meta = sb.read(&format!(".drctl/runs/{}/meta.json", ran.run_id()));
    assert!(!meta.contains("dflt-secret-99"), "{meta}");
    sb.write("go", "");
    let resumed = sb.run(&["resume", &ran.run_id()]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(sb.read("used").trim(), "dflt-secret-99");
}

#[test]
fn for_each_over_secret_items_keys_them_by_position() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: secret-items
params: { hosts: { type: list, secret: true } }
tasks:
  fe: { uses: shell, for_each: "${{ params.hosts }}", with: { run: 'echo "${{ each }}" >> seen' } }
  rd:
    uses: shell
    with: { run: "echo ${{ join(keys(tasks.fe.outputs), '+') }} > keys" }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", r#"hosts=["host-canary-1","host-canary-2"]"#, "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(sb.read("keys").trim(), "secret-1+secret-2");
    let status = sb.run(&["status", &ran.run_id(), "-o", "json"]);
    for text in [&ran.stdout, &ran.stderr, &status.stdout] {
        assert!(!text.contains("host-canary"), "{text}");
    }
    for (path, bytes) in sb.all_files() {
        if !path.ends_with("seen") {
            assert!(!String::from_utf8_lossy(&bytes).contains("host-canary"), "in {}", path.display());
        }
    }
    assert_eq!(sb.read("seen").lines().count(), 2, "each item still reaches its task");
}

#[test]
fn a_secret_never_reaches_disk_or_terminal() {
    let sb = Sandbox::new();
    let canary = "canary-7f3a9c1e-secret";
    sb.write(
        "rb.yaml",
        r#"version: 1
name: secrets
params:
  token: { type: string, secret: true, required: true }
tasks:
  use-it:
    uses: shell
    with:
      run: 'echo "token is $T"; echo "seen=$T" >> "$DRCTL_OUTPUT"; echo "err $T" >&2'
      env: { T: "${{ params.token }}" }
  fail-with-it:
    uses: shell
    on_failure: continue
    depends_on: [use-it]
    with: { run: 'echo "${{ tasks.use-it.outputs.seen }}" >&2; exit 1' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", &format!("token={canary}"), "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let plan = sb.run(&["plan", "rb.yaml", "-p", &format!("token={canary}"), "-o", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let status = sb.run(&["status", &ran.run_id()]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(plan.stdout.contains("use-it") && status.stdout.contains("fail-with-it"));
    let run_dir = sb.path().join(".drctl/runs").join(ran.run_id());
    for name in ["journal.log", "meta.json", "runbook.yaml", "drctl.log", "logs/use-it.log", "logs/fail-with-it.log"] {
        assert!(run_dir.join(name).is_file(), "{name} is checked too, so it must exist");
    }
    for text in [&ran.stdout, &ran.stderr, &plan.stdout, &plan.stderr, &status.stdout] {
        assert!(!text.contains(canary), "canary printed: {text}");
    }
    let files = sb.all_files();
    assert!(files.len() >= 4, "{files:?}");
    for (path, bytes) in files {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(canary), "canary in {}", path.display());
    }
    assert!(sb.all_files().iter().any(|(_, b)| String::from_utf8_lossy(b).contains("token is ***")));
}

#[test]
fn a_multi_line_secret_and_its_transformed_forms_stay_masked() {
    let sb = Sandbox::new();
    let lines = ["keyline-one-9d2f", "keyline-two-41ac"];
    let key = format!("-----BEGIN KEY-----\n{}\n{}\n-----END KEY-----", lines[0], lines[1]);
    sb.write(
        "rb.yaml",
        r#"version: 1
name: pem
params:
  key: { type: string, secret: true, required: true }
tasks:
  show:
    uses: shell
    on_failure: continue
    with:
      run: 'printf "%s\n" "$K"; echo "$U"; echo "$J"; printf "bad %s\n" "$K" >> "$DRCTL_OUTPUT"'
      env: { K: "${{ params.key }}", U: "${{ upper(params.key) }}", J: "${{ toJSON(params.key) }}" }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", &format!("key={key}"), "--progress", "plain"]);
    assert_eq!(ran.code, 1, "the output file has a line that is not key=value: {}", ran.stderr);
    let plan = sb.run(&["plan", "rb.yaml", "-p", &format!("key={key}")]);
    let mut seen = vec![("terminal".to_owned(), ran.stdout + &ran.stderr + &plan.stdout + &plan.stderr)];
    seen.extend(sb.all_files().into_iter().map(|(p, b)| (p.display().to_string(), String::from_utf8_lossy(&b).into())));
    for (place, text) in &seen {
        for line in lines {
            assert!(!text.contains(line) && !text.contains(&line.to_uppercase()), "{line} in {place}: {text}");
        }
    }
    let log = seen.iter().find(|(p, _)| p.ends_with("logs/show.log")).map(|(_, t)| t.clone()).unwrap_or_default();
    assert!(log.contains("***"), "{log}");
}

#[test]
fn concurrency_groups_cap_parallel_tasks() {
    let sb = Sandbox::new();
    let mut text = String::from("version: 1\nname: groups\nconcurrency: { region-api: 2 }\ntasks:\n");
    for i in 0..6 {
        text.push_str(&format!(
            "  t{i}:\n    uses: shell\n    concurrency: region-api\n    with: {{ run: 'flock log -c \"echo + >> log\"; sleep 0.15; flock log -c \"echo - >> log\"' }}\n"
        ));
    }
    text.push_str("  free:\n    uses: shell\n    with: { run: 'true' }\n");
    sb.write("rb.yaml", &text);
    let ran = sb.run(&["run", "rb.yaml", "--parallelism", "8"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(support::peak_running(&sb.read("log")), 2, "{}", sb.read("log"));
}

#[test]
fn conditions_skip_tasks_and_those_that_need_their_outputs() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: conditions
params:
  enabled: { type: bool, default: false }
tasks:
  optional:
    uses: shell
    if: params.enabled
    with: { run: 'echo "x=1" >> "$DRCTL_OUTPUT"' }
  after:
    uses: shell
    depends_on: [optional]
    with: { run: 'touch after' }
  reader:
    uses: shell
    with: { run: 'echo ${{ tasks.optional.outputs.x }} > reader' }
  after-reader:
    uses: shell
    depends_on: [reader]
    with: { run: 'touch after-reader' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let states = sb.task_states(&ran.run_id());
    assert_eq!(states["optional"].0, "skipped");
    assert_eq!(states["after"].0, "succeeded");
    assert_eq!(states["reader"].0, "skipped");
    // `reader` does not apply, like `optional`: what only comes after it still runs.
    assert_eq!(states["after-reader"].0, "succeeded");
    let ran = sb.run(&["run", "rb.yaml", "-p", "enabled=true"]);
    assert_eq!(ran.code, 0);
    assert_eq!(sb.read("reader").trim(), "1");
}

#[test]
fn reads_with_a_fallback_run_when_the_producer_was_skipped_but_not_when_it_failed() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: fallbacks
params:
  enabled: { type: bool, default: false }
  broken: { type: bool, default: false }
tasks:
  optional:
    uses: shell
    if: params.enabled
    on_failure: continue
    with: { run: 'test "$BROKEN" = false && echo "x=1" >> "$DRCTL_OUTPUT"', env: { BROKEN: "${{ params.broken }}" } }
  with-default:
    uses: shell
    with: { run: 'echo ${{ default(tasks.optional.outputs.x, ''none'') }} > with-default' }
  with-or:
    uses: shell
    with: { run: 'echo ${{ tasks.optional.outputs.x || ''none'' }} > with-or' }
  bare:
    uses: shell
    with: { run: 'echo ${{ tasks.optional.outputs.x }} > bare' }
"#,
    );
    let plan = sb.run(&["plan", "rb.yaml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains("\"DRCTL_EXPR_0\":\"none\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("skipped: it needs outputs of `optional`, which will be skipped"), "{}", plan.stdout);

    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let states = sb.task_states(&ran.run_id());
    assert_eq!(states["optional"].0, "skipped");
    assert_eq!(states["bare"].0, "skipped");
    assert_eq!((sb.read("with-default").trim(), sb.read("with-or").trim()), ("none", "none"));

    std::fs::remove_file(sb.path().join("with-default")).unwrap();
    let ran = sb.run(&["run", "rb.yaml", "-p", "enabled=true", "-p", "broken=true"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let states = sb.task_states(&ran.run_id());
    assert_eq!(states["optional"].0, "failed");
    assert_eq!(states["with-default"].0, "skipped");
    assert!(!sb.path().join("with-default").exists());

    let ran = sb.run(&["run", "rb.yaml", "-p", "enabled=true"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!((sb.read("with-default").trim(), sb.read("bare").trim()), ("1", "1"));
}

#[test]
fn shell_takes_options_and_a_script_for_another_program_gets_values_only_through_env() {
    let sb = Sandbox::new();
    sb.write(
        "bad.yaml",
        "version: 1\nname: py\nparams: { region: { type: string, default: eu } }\ntasks:\n  py:\n    uses: shell\n    with: { shell: python3, run: 'print(\"${{ params.region }}\")' }\n",
    );
    let refused = sb.run(&["validate", "bad.yaml"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("is in a script for `python3`, which is not a POSIX"), "{}", refused.stderr);
    sb.write(
        "rb.yaml",
        r#"version: 1
name: shells
params: { region: { type: string, default: eu-frankfurt-1 } }
tasks:
  py:
    uses: shell
    with:
      shell: python3 -I
      env: { REGION: "${{ params.region }}" }
      run: open("py", "w").write(__import__("os").environ["REGION"])
  strict:
    uses: shell
    on_failure: continue
    with: { shell: /bin/sh -eu, run: 'echo "${{ params.region }}" > strict; echo "$NOT_SET_ANYWHERE"' }
  by-env:
    uses: shell
    with: { shell: /usr/bin/env bash, run: 'echo "${{ params.region }}" > by-env' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!((sb.read("py").trim(), sb.read("strict").trim()), ("eu-frankfurt-1", "eu-frankfurt-1"));
    // `env` starts bash, a POSIX shell: the value reaches it.
    assert_eq!(sb.read("by-env").trim(), "eu-frankfurt-1");
    assert!(ran.stderr.contains("NOT_SET_ANYWHERE: parameter not set"), "`-u` reached the shell: {}", ran.stderr);
}

#[test]
fn saved_plans_refuse_to_run_after_a_change() {
    let sb = Sandbox::new();
    let text = "version: 1\nname: saved\nparams:\n  region: { type: string, default: a }\ntasks:\n  t:\n    uses: shell\n    with: { run: 'true' }\n";
    sb.write("rb.yaml", text);
    assert_eq!(sb.run(&["plan", "rb.yaml", "--save", "plan.json"]).code, 0);
    assert_eq!(sb.run(&["run", "rb.yaml", "--plan", "plan.json"]).code, 0);
    let changed = sb.run(&["run", "rb.yaml", "--plan", "plan.json", "-p", "region=b"]);
    assert_eq!(changed.code, 2);
    assert!(changed.stderr.contains("parameters changed: region"), "{}", changed.stderr);
    sb.write("rb.yaml", &text.replace("'true'", "'false'"));
    let changed = sb.run(&["run", "rb.yaml", "--plan", "plan.json"]);
    assert_eq!(changed.code, 2);
    assert!(changed.stderr.contains("the runbook changed"), "{}", changed.stderr);
}

#[test]
fn a_saved_plan_names_the_command_whose_expressions_changed_not_their_variables() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: saved\nparams:\n  region: { type: string, default: a }\ntasks:\n  t:\n    uses: shell\n    with: { run: 'echo ${{ params.region }}', env: { FIXED: x } }\n",
    );
    assert_eq!(sb.run(&["plan", "rb.yaml", "--save", "plan.json"]).code, 0);
    let changed = sb.run(&["run", "rb.yaml", "--plan", "plan.json", "-p", "region=b"]);
    assert_eq!(changed.code, 2);
    assert!(
        changed.stderr.contains("task `t`: with.run (the values of its expressions) changed"),
        "{}",
        changed.stderr
    );
}

#[test]
fn saved_plans_name_a_secret_set_since_the_review_without_its_value() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: saved\nparams:\n  token: { type: string, secret: true, default: '' }\n  other: { type: string, secret: true, default: dflt-9 }\ntasks:\n  t:\n    uses: shell\n    if: params.token == ''\n    with: { run: 'true' }\n",
    );
    assert_eq!(sb.run(&["plan", "rb.yaml", "--save", "plan.json"]).code, 0);
    let changed = sb.run(&["run", "rb.yaml", "--plan", "plan.json", "-p", "token=canary-4417"]);
    assert_eq!(changed.code, 2);
    assert!(changed.stderr.contains("parameters changed: token"), "{}", changed.stderr);
    // A secret with a default, given another value: the hash tells them apart.
    let changed = sb.run(&["run", "rb.yaml", "--plan", "plan.json", "-p", "other=canary-4418"]);
    assert_eq!(changed.code, 2, "{}", changed.stderr);
    assert!(changed.stderr.contains("parameters changed"), "{}", changed.stderr);
    assert!(!changed.stderr.contains("canary-4418"), "{}", changed.stderr);
    assert!(!changed.stderr.contains("canary-4417"), "{}", changed.stderr);
    // A plan saved with a secret set keeps its hash, never its value.
    assert_eq!(sb.run(&["plan", "rb.yaml", "-p", "token=canary-4417", "--save", "secret-plan.json"]).code, 0);
    let saved = sb.read("secret-plan.json");
    assert!(saved.contains("\"token\""), "the plan names the parameter: {saved}");
    assert!(!saved.contains("canary-4417"), "{saved}");
}

#[test]
fn graph_renders_dot_and_mermaid() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: g\nphases: [a, b]\ntasks:\n  x:\n    phase: a\n    uses: shell\n    with: { run: 'true' }\n  y:\n    phase: b\n    uses: shell\n    with: { run: 'echo ${{ tasks.x.outputs.v }}' }\n",
    );
    let dot = sb.run(&["graph", "rb.yaml"]);
    assert!(dot.stdout.contains("\"x\" -> \"y\" [style=dashed];"), "{}", dot.stdout);
    let mermaid = sb.run(&["graph", "rb.yaml", "--format", "mermaid"]);
    assert!(mermaid.stdout.contains("t0 -.-> t1"), "{}", mermaid.stdout);
}

#[test]
fn a_timeout_kills_everything_the_command_started() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: group-kill
tasks:
  slow:
    uses: shell
    timeout: 300ms
    with: { run: "sh -c 'sleep 1; touch leaked'; touch outer" }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!sb.path().join("leaked").exists(), "the command's child outlived the timeout");
    assert!(!sb.path().join("outer").exists());
}

#[test]
fn shell_builtins_and_leading_assignments_run_in_a_shell() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: builtins
tasks:
  exits:
    uses: shell
    with: { run: 'exit 0' }
  changes-dir:
    uses: shell
    with: { run: 'cd /' }
  assigns:
    uses: shell
    with: { run: 'GREETING=hi printenv GREETING' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let log =
        std::fs::read_to_string(sb.path().join(".drctl/runs").join(ran.run_id()).join("logs/assigns.log")).unwrap();
    assert!(log.contains("[stdout] hi"), "{log}");
}

#[test]
fn a_concurrency_slot_is_given_back_by_tasks_that_never_start_a_job() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: slots
concurrency: { api: 1 }
tasks:
  gate:
    uses: approval
    concurrency: api
  work:
    uses: shell
    concurrency: api
    depends_on: [gate]
    with: { run: 'touch work' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--yes"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(sb.path().join("work").exists());
}

#[test]
fn the_rto_warnings_come_at_80_and_100_percent() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: rto\nobjectives: { rto: 1s }\ntasks:\n  s:\n    uses: sleep\n    with: { duration: 1500ms }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let warned = ran.stderr.find("80% of the RTO used").expect("the 80% warning");
    let exceeded = ran.stderr.find("RTO exceeded").expect("the 100% warning");
    assert!(warned < exceeded, "{}", ran.stderr);
    let journal =
        std::fs::read_to_string(sb.path().join(".drctl/runs").join(ran.run_id()).join("journal.log")).unwrap();
    assert_eq!(journal.matches("\"t\":\"rto_warning\"").count(), 2, "{journal}");
}

#[test]
fn a_secret_output_is_masked_in_logs_and_not_brought_back_by_resume() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: secret-outputs
tasks:
  make:
    uses: shell
    secret_outputs: [password]
    with: { run: 'P=pw-$((6*7))-canary; echo "password=$P" >> "$DRCTL_OUTPUT"; echo "made $P"; echo "again $P" >&2' }
  use:
    uses: shell
    with: { run: 'test -f go && echo "${{ tasks.make.outputs.password }}" > used' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let id = ran.run_id();
    for (path, bytes) in sb.all_files() {
        assert!(!String::from_utf8_lossy(&bytes).contains("pw-42-canary"), "secret output in {}", path.display());
    }
    let log = std::fs::read_to_string(sb.path().join(".drctl/runs").join(&id).join("logs/make.log")).unwrap();
    assert!(log.contains("made ***") && log.contains("again ***"), "{log}");
    // The value was never stored: resume cannot give it back, and says so.
    sb.write("go", "");
    let ran = sb.run(&["resume", &id]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(!sb.path().join("used").exists(), "ran with the mask instead of the value");
    let status = sb.status(&id);
    let error = status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "use").unwrap()["error"].clone();
    assert!(error.as_str().unwrap_or_default().contains("output `password` of `make`, which held a secret"), "{error}");
}

#[test]
fn values_derived_from_secrets_are_masked_and_not_brought_back_by_resume_as_the_mask() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: derived-secrets
params:
  tok: { type: string, secret: true }
tasks:
  login:
    uses: shell
    with: { run: 'echo "header=Bearer ${{ params.tok }}" >> "$DRCTL_OUTPUT"' }
  gen:
    uses: shell
    secret_outputs: [creds]
    with: { run: 'echo "creds={\"password\": \"pw-json-$((6*7))\"}" >> "$DRCTL_OUTPUT"' }
  use:
    uses: shell
    with: { run: 'echo "pw=${{ fromJSON(tasks.gen.outputs.creds).password }}"; echo "x=${{ fromJSON(tasks.gen.outputs.creds).password }}" >> "$DRCTL_OUTPUT"' }
  call:
    uses: shell
    with: { run: 'test -f go && echo "[${{ tasks.login.outputs.header }}]" > sent' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", "tok=tok-canary-77", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let id = ran.run_id();
    for (path, bytes) in sb.all_files() {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("pw-json-42"), "a value inside a secret output in {}", path.display());
        assert!(!text.contains("tok-canary-77"), "a secret parameter in {}", path.display());
    }
    // `header` was stored as `Bearer ***`: resume refuses to pass that on as if it were the value.
    sb.write("go", "");
    let ran = sb.run(&["resume", &id, "-p", "tok=tok-canary-77"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(!sb.path().join("sent").exists(), "ran with the mask instead of the value");
    assert!(ran.stderr.contains("output `header` of `login`, which held a secret"), "{}", ran.stderr);
}

#[test]
fn after_resume_only_the_readers_of_a_lost_secret_output_fail() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: secret-paths
tasks:
  make:
    uses: shell
    for_each: [a, b]
    secret_outputs: [password]
    with: { run: 'echo "id=id-${{ each }}" >> "$DRCTL_OUTPUT"; echo "password=pw-${{ each }}-canary" >> "$DRCTL_OUTPUT"' }
  early:
    uses: shell
    if: ${{ tasks.make.outputs['a'].password != '' }}
    with: { run: 'echo early >> early.log' }
  ids:
    uses: shell
    for_each: [a, b]
    depends_on: [early]
    with: { run: 'test -f go && echo "${{ tasks.make.outputs[each].id }}" >> ids.log' }
  gate:
    uses: shell
    depends_on: [ids]
    if: ${{ tasks.make.outputs['b'].password == 'pw-b-canary' }}
    with: { run: 'touch gate' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let id = ran.run_id();
    sb.write("go", "");
    let ran = sb.run(&["resume", &id, "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let status = sb.status(&id);
    let task = |name: &str| status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == name).unwrap().clone();
    // `early` had finished: its condition read the secret then, and its record stands.
    assert_eq!(task("early")["state"], "succeeded", "{status}");
    assert_eq!(std::fs::read_to_string(sb.path().join("early.log")).unwrap(), "early\n");
    // `ids` reads only the stored `id` outputs, through an index chosen at run time.
    let ids = std::fs::read_to_string(sb.path().join("ids.log")).unwrap();
    assert!(ids.contains("id-a") && ids.contains("id-b"), "{ids}");
    // `gate`'s condition needs the lost value: it fails, naming it.
    assert_eq!(task("gate")["state"], "failed", "{status}");
    let error = task("gate")["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("output `password` of `make`, which held a secret"), "{error}");
    assert!(!sb.path().join("gate").exists());
}

#[test]
fn resume_refuses_changed_parameters() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: params
params:
  region: { type: string, required: true }
tasks:
  gate:
    uses: approval
  after:
    uses: shell
    depends_on: [gate]
    with: { run: 'echo "${{ params.region }}" > region' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", "region=phoenix"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let id = ran.run_id();
    let changed = sb.command(&["resume", &id, "--yes"]).env("DRCTL_PARAM_REGION", "frankfurt").output().unwrap();
    assert_eq!(changed.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&changed.stderr);
    assert!(stderr.contains("parameter `region` was phoenix") && stderr.contains("frankfurt"), "{stderr}");
    let same = sb.run(&["resume", &id, "--yes", "-p", "region=phoenix"]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert_eq!(sb.read("region").trim(), "phoenix");
}

/// A number is the same value however it is written; a parameter a changed runbook adds at a
/// resume is kept with the run from then on, like the others.
#[test]
fn resume_keeps_parameters_by_value_and_those_a_changed_runbook_adds() {
    let sb = Sandbox::new();
    let first = r#"version: 1
name: params
params:
  n: { type: number, default: 1 }
tasks:
  a:
    uses: shell
    with: { run: 'test -f ok' }
"#;
    sb.write("rb.yaml", first);
    let ran = sb.run(&["run", "rb.yaml", "-p", "n=100"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let id = ran.run_id();
    sb.write(
        "rb.yaml",
        &first
            .replace(
                "  n: { type: number, default: 1 }\n",
                "  n: { type: number, default: 1 }\n  region: { type: string, required: true }\n",
            )
            .replace(
                "    with: { run: 'test -f ok' }\n",
                "    with: { run: 'echo \"${{ params.region }}\" >> regions; test -f ok' }\n",
            ),
    );
    let added = sb.run(&["resume", &id, "--allow-changed", "-p", "region=us-ashburn-1", "-p", "n=1e2"]);
    assert_eq!(added.code, 1, "{}", added.stderr);
    let meta: serde_json::Value = serde_json::from_str(&sb.read(&format!(".drctl/runs/{id}/meta.json"))).unwrap();
    assert_eq!(meta["params"]["region"], "us-ashburn-1", "{meta}");
    let other = sb.run(&["resume", &id, "-p", "region=eu-frankfurt-1"]);
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(other.stderr.contains("parameter `region` was us-ashburn-1"), "{}", other.stderr);
    sb.write("ok", "");
    let same = sb.run(&["resume", &id, "-p", "n=100.0"]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert_eq!(sb.read("regions"), "us-ashburn-1\nus-ashburn-1\n");
}

#[test]
fn a_failed_attempt_leaves_no_output_file_behind() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: scratch\ntasks:\n  t:\n    uses: shell\n    with: { run: 'echo \"x=1\" >> \"$DRCTL_OUTPUT\"; echo \"$DRCTL_OUTPUT\" > where; exit 3' }\n",
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1);
    let written = std::path::PathBuf::from(sb.read("where").trim());
    let run_dir = sb.path().join(".drctl/runs").join(ran.run_id());
    assert!(
        written.starts_with(std::fs::canonicalize(&run_dir).unwrap()) || written.starts_with(&run_dir),
        "{written:?}"
    );
    assert!(!written.exists(), "{written:?} is left behind");
    if let Ok(dir) = std::fs::read_dir(run_dir.join("tmp")) {
        let left: Vec<_> = dir.flatten().map(|e| e.path()).collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[test]
fn a_task_reading_only_the_state_of_another_runs_whatever_its_end() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: fallbacks
tasks:
  primary:
    uses: shell
    on_failure: continue
    with: { run: 'exit 1' }
  fallback:
    uses: shell
    if: ${{ tasks.primary.state == 'failed' }}
    with: { run: 'touch fallback' }
  not-needed:
    uses: shell
    if: ${{ tasks.primary.state == 'succeeded' }}
    with: { run: 'touch not-needed' }
  optional:
    uses: shell
    if: false
    with: { run: 'echo "x=1" >> "$DRCTL_OUTPUT"' }
  instead:
    uses: shell
    depends_on: [optional]
    if: ${{ tasks.optional.state == 'skipped' }}
    with: { run: 'touch instead' }
  reader:
    uses: shell
    depends_on: [optional]
    with: { run: 'echo "${{ tasks.optional.outputs.x }}" > reader' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "primary failed: {}", ran.stderr);
    let states = sb.task_states(&ran.run_id());
    assert_eq!(states["fallback"].0, "succeeded", "{states:?}");
    assert_eq!(states["not-needed"].0, "skipped", "{states:?}");
    assert_eq!(states["instead"].0, "succeeded", "{states:?}");
    assert_eq!(states["reader"].0, "skipped", "it reads outputs of a skipped task: {states:?}");
    assert!(sb.path().join("fallback").exists() && sb.path().join("instead").exists());
    assert!(!sb.path().join("not-needed").exists() && !sb.path().join("reader").exists());
}

/// Reading an output the producer never set stops the reader with the names it did set;
/// `default()` still gives an optional output its fallback.
#[test]
fn an_output_that_was_never_set_is_an_error_not_an_empty_value() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: missing-output
tasks:
  net:
    uses: shell
    with: { run: 'echo "vcn_id=vcn-1" >> "$DRCTL_OUTPUT"' }
  typo:
    uses: shell
    on_failure: continue
    with: { run: 'echo "[${{ tasks.net.outputs.vcnid }}]" > typo' }
  optional:
    uses: shell
    with: { run: 'echo "[${{ default(tasks.net.outputs.zone, ''none'') }}] [${{ tasks.net.outputs.zone || ''fallback'' }}]" > optional' }
  compared:
    uses: shell
    on_failure: continue
    if: ${{ tasks.net.outputs.vcnid != 'vcn-2' }}
    with: { run: 'touch compared' }
  in-function:
    uses: shell
    on_failure: continue
    with: { run: "echo ${{ format('{0}', tasks.net.outputs['vcnid']) }} > in-function" }
  fan:
    uses: shell
    for_each: [a]
    with: { run: 'echo "id=x" >> "$DRCTL_OUTPUT"' }
  after-and:
    uses: shell
    on_failure: continue
    if: ${{ tasks.net.outputs.vcn_id == 'vcn-1' && tasks.net.outputs.vcnid }}
    with: { run: 'touch after-and' }
  last-of-or:
    uses: shell
    on_failure: continue
    if: ${{ tasks.net.outputs.ready || tasks.net.outputs.vcnid }}
    with: { run: 'touch last-of-or' }
  chain-of-or:
    uses: shell
    with: { run: 'echo "${{ tasks.net.outputs.a || tasks.net.outputs.b || ''end'' }}" > chain-of-or' }
  default-fallback:
    uses: shell
    on_failure: continue
    with: { run: 'echo "${{ default(tasks.net.outputs.zone, tasks.net.outputs.regoin) }}" > default-fallback' }
  item-dotted:
    uses: shell
    on_failure: continue
    with: { run: 'echo "${{ tasks.fan.outputs.a.idd }}" > item-dotted' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    // In a comparison too: `!= 'vcn-2'` would otherwise be true whatever `net` did.
    assert!(!sb.path().join("compared").exists());
    assert_eq!(sb.task_states(&ran.run_id())["compared"].0, "failed");
    // And given to a function, or read with brackets.
    assert!(!sb.path().join("in-function").exists());
    assert_eq!(sb.task_states(&ran.run_id())["in-function"].0, "failed");
    assert!(
        ran.stderr.contains("task `net` succeeded without setting output `vcnid` (it set `vcn_id`)"),
        "{}",
        ran.stderr
    );
    assert!(!sb.path().join("typo").exists());
    assert_eq!(sb.read("optional").trim(), "[none] [fallback]");
    // The right side of `&&`, the last operand of `||`, the fallback of `default`, and one
    // item's output read with a dot are checked too; the operands before the last of `||` are
    // fallbacks for each other.
    let states = sb.task_states(&ran.run_id());
    for task in ["after-and", "last-of-or", "default-fallback", "item-dotted"] {
        assert_eq!(states[task].0, "failed", "{task}");
        assert!(!sb.path().join(task).exists(), "{task}");
    }
    assert_eq!(sb.read("chain-of-or").trim(), "end");
}

#[test]
fn instances_a_changed_runbook_removed_are_not_counted_against_the_run() {
    let sb = Sandbox::new();
    let text = "version: 1\nname: removed\ntasks:\n  good: { uses: shell, with: { run: 'true' } }\n  broken: { uses: shell, with: { run: 'exit 1' } }\n  fan: { uses: shell, for_each: [a, b], with: { run: 'test ${{ each }} != b' } }\n";
    sb.write("rb.yaml", text);
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let run = ran.run_id();
    sb.write(
        "rb.yaml",
        &text.replace("  broken: { uses: shell, with: { run: 'exit 1' } }\n", "").replace("[a, b]", "[a, c]"),
    );
    let resumed = sb.run(&["resume", &run, "--allow-changed"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stderr.contains("3 succeeded, 0 failed"), "{}", resumed.stderr);
    assert!(resumed.stderr.contains("2 earlier task instances no longer in the runbook"), "{}", resumed.stderr);
    assert!(!resumed.stderr.contains("✖ broken"), "{}", resumed.stderr);
    let status = sb.status(&run);
    let removed: Vec<&str> = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["removed"] == true)
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(removed, ["broken", "fan[b]"]);
    let report = sb.run(&["report", &run, "--format", "json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let report: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
    assert_eq!(report["run"]["counts"]["failed"], 0, "{}", report["run"]["counts"]);
    assert_eq!(report["run"]["counts"]["total"], 3, "{}", report["run"]["counts"]);
}

/// Starts `drctl run rb.yaml` in the sandbox, kills it (SIGKILL) once `file` appears, and gives
/// the run's id.
fn kill_run_once(sb: &Sandbox, file: &str) -> String {
    let mut child = sb.command(&["run", "rb.yaml"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !sb.path().join(file).exists() {
        assert!(std::time::Instant::now() < until, "{file} never appeared");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned()
}

#[test]
fn an_instance_in_doubt_that_a_changed_runbook_removed_ends_cancelled() {
    let sb = Sandbox::new();
    let text = "version: 1\nname: removed\ntasks:\n  slow: { uses: shell, with: { run: 'touch started; sleep 1' } }\n  quick: { uses: shell, with: { run: 'true' } }\n";
    sb.write("rb.yaml", text);
    let run = kill_run_once(&sb, "started");
    sb.write("rb.yaml", &text.replace("  slow: { uses: shell, with: { run: 'touch started; sleep 1' } }\n", ""));
    let resumed = sb.run(&["resume", &run, "--allow-changed", "--break-lock"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(
        resumed.stderr.contains("note: in doubt when removed from the runbook, now cancelled: slow (its command, pid "),
        "{}",
        resumed.stderr
    );
    let status = sb.status(&run);
    let slow = status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "slow").unwrap().clone();
    assert_eq!(slow["state"], "cancelled", "{slow}");
    assert!(slow.get("in_doubt").is_none(), "{slow}");
    assert_eq!(status["state"], "succeeded");
    let reason =
        status["audit"].as_array().unwrap().iter().find(|a| a["action"] == "resume").unwrap()["reason"].clone();
    assert!(reason.as_str().unwrap().contains("; cancelled, in doubt: slow (its command, pid "), "{reason}");
    let human = sb.run(&["status", &run]);
    assert!(human.stdout.contains("cancelled  (no longer in the runbook)"), "{}", human.stdout);
}

#[test]
fn an_item_in_doubt_that_a_changed_list_dropped_ends_cancelled() {
    let sb = Sandbox::new();
    let text = "version: 1\nname: items\ntasks:\n  fe: { uses: shell, for_each: [a, b, c], with: { run: 'touch started-${{ each }}; sleep 1' } }\n";
    sb.write("rb.yaml", text);
    let run = kill_run_once(&sb, "started-c");
    sb.write("rb.yaml", &text.replace("[a, b, c]", "[a, b]"));
    let resumed = sb.run(&["resume", &run, "--allow-changed", "--break-lock", "--progress", "plain"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stderr.contains("fe[c]: in doubt, and no longer an item of `fe`: cancelled"), "{}", resumed.stderr);
    let states = sb.task_states(&run);
    assert_eq!(states["fe[c]"].0, "cancelled", "{states:?}");
    assert_eq!(states["fe[a]"].0, "succeeded", "{states:?}");
}

#[test]
fn a_for_each_task_that_never_expanded_counts_once_in_the_summary() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: never\nparams:\n  on: { type: bool, default: false }\ntasks:\n  off: { uses: shell, if: '${{ params.on }}', for_each: [a, b], with: { run: 'true' } }\n  src: { uses: shell, with: { run: 'echo items=x >> \"$DRCTL_OUTPUT\"' } }\n  bad: { uses: shell, on_failure: continue, for_each: '${{ tasks.src.outputs.items }}', with: { run: 'true' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("1 succeeded, 1 failed, 1 skipped, 0 pending"), "{}", ran.stderr);
    assert!(ran.stderr.contains("✖ bad"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("no longer in the runbook"), "{}", ran.stderr);
}

#[test]
fn an_input_that_cannot_be_resolved_is_named_by_its_place() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: where
tasks:
  a:
    uses: shell
    with: { run: 'echo "region=eu" >> "$DRCTL_OUTPUT"' }
  b:
    uses: shell
    with:
      run: 'true'
      env: { OK: "${{ tasks.a.outputs.region }}", BAD: "${{ tasks.a.outputs.region.name }}" }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "inputs could not be resolved: `env.BAD`: cannot read member `name` of a string (`tasks.a.outputs.region`)"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn an_expression_in_single_quotes_reaches_the_script_as_its_value() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: quoted
params:
  x: { type: string, default: "it's $HOME; `id`" }
tasks:
  a:
    uses: shell
    with:
      run: |
        echo '${{ params.x }}' > out.txt
        cat <<EOF >> out.txt
        '${{ params.x }}'
        EOF
        echo "x='${{ params.x }}'" >> out.txt
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(sb.read("out.txt"), "it's $HOME; `id`\n'it's $HOME; `id`'\nx='it's $HOME; `id`'\n");
}

/// Comments (which start a word and run past an expression in them), a `#` inside a word and
/// arithmetic shifts do not throw the quoting off: the values still arrive.
#[test]
fn comments_and_arithmetic_do_not_throw_an_expressions_quoting_off() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: quoted
params:
  region: { type: string, default: us-phoenix-1 }
tasks:
  a:
    uses: shell
    with:
      run: |
        # recreate the VCN in ${{ params.region }} (it's the destination)
        echo 'r=${{ params.region }}' > out.txt
        v=abc; echo issue#12 ${#v} '${{ params.region }}' >> out.txt
        echo $((1<<4)) '${{ params.region }}' >> out.txt
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(sb.read("out.txt"), "r=us-phoenix-1\nissue#12 3 us-phoenix-1\n16 us-phoenix-1\n");
}

#[test]
fn an_expression_in_a_quoted_here_document_is_refused() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: heredoc\ntasks:\n  a:\n    uses: shell\n    with:\n      run: |\n        cat <<'EOF'\n        ${{ run.id }}\n        EOF\n",
    );
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("is in a here-document with a quoted delimiter"), "{}", ran.stderr);
    assert!(ran.stderr.contains("rb.yaml:9:9"), "points at the expression: {}", ran.stderr);
}

#[test]
fn what_an_attempt_printed_before_its_timeout_is_in_the_task_log() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: hung
tasks:
  a:
    uses: shell
    timeout: 500ms
    retry: { attempts: 2, delay: 10ms, retry_on: [timeout] }
    secret_outputs: [pw]
    with: { run: 'echo "pw=hush-$((6*7))" >> "$DRCTL_OUTPUT"; echo "attempt $DRCTL_ATTEMPT, pw hush-42"; echo stuck >&2; sleep 5' }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let log = std::fs::read_dir(sb.path().join(".drctl/runs").join(ran.run_id()).join("logs"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect::<String>();
    assert!(log.contains("[stdout] attempt 1, pw ***"), "{log}");
    assert!(log.contains("[stdout] attempt 2, pw ***"), "{log}");
    assert!(log.contains("[stderr] stuck"), "{log}");
    assert!(!log.contains("hush-42"), "{log}");
}

#[test]
fn quiet_runs_still_say_why_they_did_not_succeed_and_what_to_do() {
    let sb = Sandbox::new();
    sb.write("ok.yaml", "version: 1\nname: q\ntasks:\n  a: { uses: shell, with: { run: 'true' } }\n");
    sb.write("fail.yaml", "version: 1\nname: q\ntasks:\n  a: { uses: shell, with: { run: 'exit 1' } }\n");
    sb.write(
        "gate.yaml",
        "version: 1\nname: q\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  b: { uses: shell, depends_on: [gate], with: { run: 'true' } }\n",
    );
    let ran = sb.run(&["-q", "run", "ok.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stderr, "", "a run that succeeds says nothing under -q");
    let ran = sb.run(&["-q", "run", "fail.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("✖ a: command exited with 1"), "{}", ran.stderr);
    assert!(ran.stderr.contains(&format!("drctl resume {}", ran.run_id())), "{}", ran.stderr);
    let ran = sb.run(&["-q", "run", "gate.yaml"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let approve = format!("⏸ gate awaits approval: drctl approve {} gate --reason '...'", ran.run_id());
    assert!(ran.stderr.contains(&approve), "{}", ran.stderr);
}

#[test]
fn log_lines_are_plain_text_when_stderr_is_not_a_terminal() {
    let sb = Sandbox::new();
    sb.write("ok.yaml", "version: 1\nname: v\ntasks:\n  a: { uses: shell, with: { run: 'true' } }\n");
    let ran = sb.run(&["-vv", "run", "ok.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("DEBUG") || ran.stderr.contains("INFO"), "{}", ran.stderr);
    assert!(!ran.stderr.contains('\u{1b}'), "colour codes in a log that is not a terminal: {:?}", ran.stderr);
}

#[test]
fn the_summary_counts_instances_against_tasks_and_a_failure_says_parameters_need_a_new_run() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: s\nparams:\n  want: { type: string, default: b }\ntasks:\n  each: { uses: shell, for_each: [a, b, c], with: { run: 'true' } }\n  check: { uses: assert, depends_on: [each], with: { that: \"${{ params.want == 'a' }}\" } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("run ") && ran.stderr.contains(": 2 tasks, 0 already done"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("3 succeeded, 1 failed, 0 skipped, 0 pending (4 instances of 2 tasks)"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("if the cause is a parameter's value, or a file a finished task read, such as an inventory, start a new run"), "{}", ran.stderr);
}

/// A `for_each` key may hold a line break: progress lines show it escaped, one line each.
#[test]
fn a_key_with_a_line_break_stays_on_its_progress_line() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: nl\ntasks:\n  fe: { uses: shell, for_each: [\"line\\nbreak\"], with: { run: 'true' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("▶ fe[line\\nbreak]\n"), "{}", ran.stderr);
    assert!(ran.stderr.lines().all(|l| !l.starts_with("break]")), "{}", ran.stderr);
}

/// A `shell` that comes from a secret and cannot be started is named whole, so masked whole:
/// no word of the secret reaches the terminal or the run directory.
#[test]
fn a_shell_from_a_secret_that_cannot_start_stays_masked() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: s\nparams: { tok: { type: string, secret: true } }\ntasks:\n  sh: { uses: shell, with: { run: \
         echo, shell: \"${{ params.tok }}\" } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", "tok=Zebra Secret 99"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("could not start the shell `***`"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("Zebra"), "{}", ran.stderr);
    for (path, bytes) in sb.all_files() {
        assert!(!String::from_utf8_lossy(&bytes).contains("Zebra"), "{} holds the secret", path.display());
    }
}

#[test]
fn status_keeps_its_columns_after_wide_ids_and_shows_a_multi_line_error_under_its_task() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: wide
tasks:
  恢复网络:
    uses: shell
    with: { run: "true" }
  fails:
    uses: assert
    on_failure: continue
    with:
      that: ${{ 1 == 2 }}
      message: |
        first problem
        second problem
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let status = sb.run(&["status", &ran.run_id()]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let lines: Vec<&str> = status.stdout.lines().collect();
    let column = |id: &str| {
        let line = lines.iter().find(|l| l.contains(id)).unwrap_or_else(|| panic!("{id}: {}", status.stdout));
        let state = ["succeeded", "failed"].iter().find_map(|s| line.find(s)).expect("a state");
        unicode_width::UnicodeWidthStr::width(&line[..state])
    };
    assert_eq!(column("恢复网络"), column("fails"), "{}", status.stdout);
    assert!(!status.stdout.contains("\\n"), "{}", status.stdout);
    let second = lines.iter().position(|l| l.contains("second problem")).expect("the error's second line");
    assert!(lines[second - 1].contains("fails") && lines[second - 1].contains("first problem"), "{}", status.stdout);
    assert!(lines[second].starts_with("      "), "{}", status.stdout);
}

/// A failure that aborts outranks a pause that came first: the run ends failed (exit 1), not
/// waiting for an operator (exit 3), whichever failed first.
#[test]
fn an_abort_outranks_an_earlier_pause() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: pa\ntasks:\n  p: { uses: shell, on_failure: pause, retry: { attempts: 1 }, with: { run: 'exit 1' } \
         }\n  ab: { uses: shell, retry: { attempts: 1 }, with: { run: 'sleep 0.3; exit 1' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(sb.status(&ran.run_id())["state"], "failed");
}
