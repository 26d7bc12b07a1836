//! Operator commands through the real binary: `retry`, `skip`, `approve`, `deny` on ids that
//! exist and ids that do not, approval timeouts, `runs`, `--state-dir`, and saved plans edited
//! by hand.

mod support;

use support::Sandbox;

const FLAKY: &str = r#"version: 1
name: operator
params:
  items: { type: list, default: [a, b] }
tasks:
  flaky:
    uses: shell
    on_failure: pause
    with: { run: 'test -f fixed' }
  fan:
    uses: shell
    depends_on: [flaky]
    for_each: ${{ params.items }}
    with: { run: 'echo ${{ each }} >> fan' }
"#;

#[test]
fn retry_runs_a_failed_task_again_and_continues() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", FLAKY);
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 3, "pause: {}", ran.stderr);
    let id = ran.run_id();
    assert!(!sb.path().join("fan").exists(), "dependents wait while the run is paused");
    sb.write("fixed", "");
    let retried = sb.run(&["retry", &id, "flaky"]);
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    let states = sb.task_states(&id);
    assert_eq!(states["flaky"], ("succeeded".into(), 2));
    assert_eq!(states["fan[a]"].0, "succeeded");
    let status = sb.status(&id);
    let audit = status["audit"].as_array().unwrap();
    assert!(audit.iter().any(|a| a["action"] == "retry" && a["task"] == "flaky"), "{audit:?}");
}

#[test]
fn decisions_on_tasks_the_run_lacks_are_refused_with_a_suggestion() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", FLAKY);
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let typo = sb.run(&["skip", &id, "flakey", "--reason", "x"]);
    assert_eq!(typo.code, 2, "{}", typo.stderr);
    assert!(typo.stderr.contains("has no task `flakey`") && typo.stderr.contains("flaky"), "{}", typo.stderr);
    let whole = sb.run(&["skip", &id, "fan", "--reason", "x"]);
    assert_eq!(whole.code, 2, "{}", whole.stderr);
    assert!(whole.stderr.contains("runs once per item"), "{}", whole.stderr);
    let keyed = sb.run(&["skip", &id, "flaky[a]", "--reason", "x"]);
    assert_eq!(keyed.code, 2, "{}", keyed.stderr);
    assert!(keyed.stderr.contains("has no `for_each`"), "{}", keyed.stderr);
    let status = sb.status(&id);
    assert!(status["audit"].as_array().unwrap().iter().all(|a| a["action"] != "skip"), "nothing was recorded");
}

#[test]
fn skipping_a_paused_task_lets_its_dependents_run_and_is_audited() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", FLAKY);
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let skipped = sb.run(&["skip", &id, "flaky", "--reason", "checked by hand"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    let mut fan: Vec<String> = sb.read("fan").lines().map(str::to_owned).collect();
    fan.sort();
    assert_eq!(fan, ["a", "b"]);
    let status = sb.status(&id);
    let skip = status["audit"].as_array().unwrap().iter().find(|a| a["action"] == "skip").cloned().expect("audited");
    assert_eq!(skip["reason"], "checked by hand");
    assert_eq!(skip["task"], "flaky");
}

#[test]
fn tasks_that_read_outputs_of_a_skipped_task_are_skipped_and_say_why() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: reader\ntasks:\n  a: { uses: shell, on_failure: pause, with: { run: 'exit 1' } }\n  reads: { uses: shell, with: { run: 'echo ${{ tasks.a.outputs.id }} > reads' } }\n  after: { uses: shell, depends_on: [a], with: { run: 'touch after' } }\n",
    );
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let skipped = sb.run(&["skip", &id, "a", "--reason", "done by hand"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert!(skipped.stderr.contains("needs outputs of `a`, which was skipped"), "{}", skipped.stderr);
    // Said when the skip is given, before the run goes on.
    assert!(
        skipped.stderr.contains("note: skipping a also skips what reads its outputs: reads; the run counts them"),
        "{}",
        skipped.stderr
    );
    let states = sb.task_states(&id);
    assert_eq!(states["reads"].0, "skipped");
    assert_eq!(states["after"].0, "succeeded");
    assert!(!sb.path().join("reads").exists() && sb.path().join("after").exists());
}

fn whoami() -> (String, String) {
    let user = std::process::Command::new("id").arg("-un").output().expect("id");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    (String::from_utf8_lossy(&user.stdout).trim().to_owned(), host.trim().to_owned())
}

const GATED: &str = r#"version: 1
name: gated
tasks:
  gate:
    uses: approval
    with: { message: "cut over DNS?"TIMEOUT }
  cutover:
    uses: shell
    depends_on: [gate]
    with: { run: 'touch cutover' }
"#;

#[test]
fn a_denial_fails_the_run_skips_dependents_and_names_who_denied() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &GATED.replace("TIMEOUT", ""));
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let id = ran.run_id();
    let denied = sb.run(&["deny", &id, "gate", "--reason", "not during the sale"]);
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    assert!(!sb.path().join("cutover").exists());
    let status = sb.status(&id);
    assert_eq!(status["state"], "failed");
    let deny = status["audit"].as_array().unwrap().iter().find(|a| a["action"] == "deny").cloned().expect("audited");
    let (user, host) = whoami();
    assert_eq!(deny["reason"], "not during the sale");
    assert_eq!(deny["user"], user.as_str());
    assert_eq!(deny["host"], host.as_str());
    let states = sb.task_states(&id);
    assert_eq!(states["gate"].0, "failed");
    assert_eq!(states["cutover"].0, "skipped");
    // A denial stands on resume; the way to ask again is named, and works.
    let ask_again = format!("gate was denied; to ask again: drctl retry {id} gate");
    assert!(denied.stderr.contains(&ask_again), "{}", denied.stderr);
    let approve = sb.run(&["approve", &id, "gate", "--reason", "too late"]);
    assert_eq!(approve.code, 2, "{}", approve.stderr);
    assert!(approve.stderr.contains("it was denied; to ask again: drctl retry"), "{}", approve.stderr);
    assert!(!approve.stderr.contains("did you mean"), "{}", approve.stderr);
    let retried = sb.run(&["retry", &id, "gate"]);
    assert_eq!(retried.code, 3, "asked again, and paused for it: {}", retried.stderr);
    let approved = sb.run(&["approve", &id, "gate", "--reason", "after the sale"]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    assert!(sb.path().join("cutover").exists());
}

#[test]
fn an_approval_timeout_decides_with_its_outcome_on_resume() {
    for (outcome, code, ran_cutover) in [("approve", 0, true), ("deny", 1, false)] {
        let sb = Sandbox::new();
        sb.write("rb.yaml", &GATED.replace("TIMEOUT", &format!(", timeout: 300ms, on_timeout: {outcome}")));
        let ran = sb.run(&["run", "rb.yaml"]);
        assert_eq!(ran.code, 3, "{outcome}: not on a terminal, the run pauses: {}", ran.stderr);
        assert!(ran.stderr.contains("unanswered 300ms after it was asked"), "{}", ran.stderr);
        std::thread::sleep(std::time::Duration::from_millis(900));
        let resumed = sb.run(&["resume", &ran.run_id()]);
        assert_eq!(resumed.code, code, "{outcome}: {}", resumed.stderr);
        assert_eq!(sb.path().join("cutover").exists(), ran_cutover, "{outcome}");
        let status = sb.status(&ran.run_id());
        let entry = status["audit"].as_array().unwrap().iter().find(|a| a["action"] == outcome).cloned();
        let entry = entry.unwrap_or_else(|| panic!("{outcome} audited: {status}"));
        assert_eq!(entry["user"], "timeout");
        assert!(entry["reason"].as_str().unwrap_or_default().contains("no answer within 300ms"), "{entry}");
        // Decided when the timeout ran out, not when the resume came to it.
        let report = sb.run(&["report", &ran.run_id(), "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&report.stdout).expect("a JSON report");
        assert_eq!(report["approvals"][0]["waited_ms"], 300, "{}", report["approvals"]);
    }
}

#[test]
fn runs_live_in_the_state_dir_and_are_listed() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: listed\ntasks:\n  t:\n    uses: shell\n    with: { run: 'true' }\n");
    let ran = sb.run(&["run", "rb.yaml", "--state-dir", "elsewhere"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let id = ran.run_id();
    assert!(sb.path().join("elsewhere/runs").join(&id).join("journal.log").exists());
    assert!(!sb.path().join(".drctl").exists());
    let listed = sb.run(&["runs", "--state-dir", "elsewhere"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.contains(&id) && listed.stdout.contains("listed"), "{}", listed.stdout);
    let by_env = sb.command(&["status", &id, "-o", "json"]).env("DRCTL_STATE_DIR", "elsewhere").output().unwrap();
    assert_eq!(by_env.status.code(), Some(0), "{}", String::from_utf8_lossy(&by_env.stderr));
    let missing = sb.run(&["status", &id]);
    assert_eq!(missing.code, 2, "not in the default state dir: {}", missing.stderr);
    // A state dir that cannot hold runs is a usage mistake: exit 2, naming the file in the way.
    sb.write("afile", "");
    for args in [&["run", "rb.yaml", "--state-dir", "afile/sub"][..], &["runs", "--state-dir", "afile"]] {
        let refused = sb.run(args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.stderr);
        assert!(refused.stderr.contains("afile is a file, not a directory"), "{}", refused.stderr);
    }
    // The commands drctl prints for an operator carry the state dir, absolute: they may be
    // typed in another directory.
    sb.write("gate.yaml", "version: 1\nname: gate\ntasks:\n  ok:\n    uses: approval\n    with: { message: go? }\n");
    let paused = sb.run(&["run", "gate.yaml", "--state-dir", "elsewhere"]);
    assert_eq!(paused.code, 3, "{}", paused.stderr);
    let absolute = std::fs::canonicalize(sb.path()).unwrap().join("elsewhere");
    let flag = format!("--reason '...' --state-dir {}", absolute.display());
    assert!(paused.stderr.contains(&flag), "{}", paused.stderr);
    let id = paused.run_id();
    let elsewhere = tempfile::tempdir().unwrap();
    let resume = paused.stderr.lines().find(|l| l.starts_with("paused; continue with: ")).expect("resume line");
    let command = resume.trim_start_matches("paused; continue with: ").split(" (or").next().unwrap().to_owned();
    assert!(command.starts_with(&format!("drctl resume {id} --state-dir /")), "{command}");
    let status = support::drctl_bin();
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    let typed = std::process::Command::new(status)
        .args(["status"])
        .args(&words[1..])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert!(typed.status.success(), "{}", String::from_utf8_lossy(&typed.stderr));
}

/// A drill run with `--yes` that fails names a resume that approves as it did: following the
/// printed command does not stop at the next approval.
#[test]
fn the_resume_printed_for_a_run_with_yes_carries_it() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: yes\ntasks:\n  flaky:\n    uses: shell\n    retry: { attempts: 1 }\n    with: { run: 'test -f \
         ok.flag' }\n  gate:\n    uses: approval\n    depends_on: [flaky]\n    with: { message: go? }\n",
    );
    let failed = sb.run(&["run", "rb.yaml", "--yes", "-q"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let line = failed.stderr.lines().find(|l| l.starts_with("failed; after fixing the cause: ")).expect("hint");
    let command = line.trim_start_matches("failed; after fixing the cause: ");
    assert!(command.ends_with(" --yes"), "{command}");
    sb.write("ok.flag", "");
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    let resumed = sb.run(&words);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    // Without `--yes` the hint leaves approvals to the operator.
    let paused = sb.run(&["run", "rb.yaml"]);
    assert_eq!(paused.code, 3, "{}", paused.stderr);
    assert!(!paused.stderr.contains("--yes"), "{}", paused.stderr);
}

#[test]
fn a_hand_edited_plan_is_refused_not_a_crash() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: saved\ntasks:\n  t:\n    uses: shell\n    with: { run: 'true' }\n");
    assert_eq!(sb.run(&["plan", "rb.yaml", "--save", "plan.json"]).code, 0);
    let mut plan: serde_json::Value = serde_json::from_str(&sb.read("plan.json")).unwrap();
    plan["runbook_sha256"] = serde_json::Value::String("abcdefghijkéxyz".into());
    sb.write("plan.json", &plan.to_string());
    let ran = sb.run(&["run", "rb.yaml", "--plan", "plan.json"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("the runbook changed (sha256 abcdefghijké"), "{}", ran.stderr);
}

#[test]
fn command_line_mistakes_exit_2_and_say_what_to_do() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: cli\nparams:\n  pin: { type: number, secret: true }\ntasks:\n  t:\n    uses: shell\n    with: { run: 'true' }\n",
    );
    let zero = sb.run(&["run", "rb.yaml", "--parallelism", "0"]);
    assert_eq!(zero.code, 2, "{}", zero.stderr);
    let secret = sb.run(&["plan", "rb.yaml", "-p", "pin=S3CR3T-CANARY"]);
    assert_eq!(secret.code, 2, "{}", secret.stderr);
    assert!(secret.stderr.contains("is not a number") && !secret.stderr.contains("S3CR3T"), "{}", secret.stderr);
    let by_env = sb.command(&["plan", "rb.yaml"]).env("DRCTL_PARAM_PIN", "S3CR3T-CANARY").output().unwrap();
    let stderr = String::from_utf8_lossy(&by_env.stderr);
    assert!(stderr.contains("DRCTL_PARAM_PIN") && !stderr.contains("S3CR3T"), "{stderr}");

    // Two runs: a prefix both share is ambiguous, and both are named.
    let first = sb.run(&["run", "rb.yaml", "-p", "pin=1"]).run_id();
    let second = sb.run(&["run", "rb.yaml", "-p", "pin=1"]).run_id();
    let shared: String = first.chars().zip(second.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect();
    let ambiguous = sb.run(&["status", &shared]);
    assert_eq!(ambiguous.code, 2, "{}", ambiguous.stderr);
    assert!(ambiguous.stderr.contains(&first) && ambiguous.stderr.contains(&second), "{}", ambiguous.stderr);

    // A resume of a run that succeeded changes nothing.
    let journal = sb.path().join(".drctl/runs").join(&first).join("journal.log");
    let before = std::fs::read(&journal).unwrap();
    let resumed = sb.run(&["resume", &first, "-p", "pin=1"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stderr.contains("already succeeded"), "{}", resumed.stderr);
    assert_eq!(std::fs::read(&journal).unwrap(), before);
}

#[test]
fn decisions_need_a_reason() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &GATED.replace("TIMEOUT", ""));
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let bare = sb.run(&["approve", &id, "gate"]);
    assert_eq!(bare.code, 2, "{}", bare.stderr);
    assert!(bare.stderr.contains("needs a reason") && bare.stderr.contains("--reason"), "{}", bare.stderr);
    assert_eq!(sb.task_states(&id)["cutover"].0, "pending");
}

#[test]
fn a_secret_quoted_in_a_reason_is_masked() {
    let sb = Sandbox::new();
    let canary = "canary-5e1f-reason";
    sb.write(
        "rb.yaml",
        "version: 1\nname: reasons\nparams:\n  token: { type: string, secret: true, required: true }\ntasks:\n  gate:\n    uses: approval\n  after:\n    uses: shell\n    depends_on: [gate]\n    with: { run: 'true' }\n",
    );
    let token = format!("token={canary}");
    let id = sb.run(&["run", "rb.yaml", "-p", &token]).run_id();
    let approved = sb.run(&["approve", &id, "gate", "--reason", &format!("pasted {canary} by mistake"), "-p", &token]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let status = sb.status(&id);
    let approve = status["audit"].as_array().unwrap().iter().find(|a| a["action"] == "approve").cloned().unwrap();
    assert_eq!(approve["reason"], "pasted *** by mistake");
    for (path, bytes) in sb.all_files() {
        assert!(!String::from_utf8_lossy(&bytes).contains(canary), "canary in {}", path.display());
    }
}

#[test]
fn the_quick_start_runbook_pauses_at_its_approval_then_finishes() {
    let sb = Sandbox::new();
    let runbook = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart.yaml");
    let ran = sb.run(&["run", runbook, "--progress", "plain"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let id = ran.run_id();
    assert!(ran.stderr.contains(&format!("drctl approve {id} cutover")), "{}", ran.stderr);
    let approved = sb.run(&["approve", &id, "cutover", "--reason", "go"]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let states = sb.task_states(&id);
    assert!(states.values().all(|(s, _)| s == "succeeded" || s == "skipped"), "{states:?}");
    assert_eq!(sb.status(&id)["state"], "succeeded");
}

#[test]
fn quiet_and_verbose_set_what_reaches_the_terminal_and_the_trace_log_is_json() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: logs\ntasks:\n  t:\n    uses: shell\n    with: { run: 'echo hello' }\n");
    let quiet = sb.run(&["-q", "run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert!(quiet.stderr.trim().is_empty(), "-q prints nothing on success: {}", quiet.stderr);
    assert!(quiet.stdout.starts_with("run "), "the run id still comes first: {}", quiet.stdout);
    let plain = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert!(plain.stderr.contains("✔ t"), "{}", plain.stderr);
    let verbose = sb.run(&["-v", "run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(verbose.code, 0, "{}", verbose.stderr);
    assert!(verbose.stderr.contains("INFO") && verbose.stderr.contains("run directory created"), "{}", verbose.stderr);
    assert!(!verbose.stderr.contains("DEBUG"), "{}", verbose.stderr);
    let debug = sb.run(&["-vv", "run", "rb.yaml", "--progress", "plain"]);
    assert!(debug.stderr.contains("DEBUG") && debug.stderr.contains("attempt started"), "{}", debug.stderr);
    let trace = std::fs::read_to_string(sb.path().join(".drctl/runs").join(plain.run_id()).join("drctl.log")).unwrap();
    let lines: Vec<serde_json::Value> =
        trace.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(lines.iter().any(|l| l["fields"]["message"].as_str().is_some_and(|m| m.contains("t"))), "{trace}");
    assert!(lines.iter().all(|l| l["timestamp"].is_string() && l["level"].is_string()), "{trace}");
}

#[test]
fn the_global_parallelism_caps_running_tasks() {
    let sb = Sandbox::new();
    let mut text = String::from("version: 1\nname: capped\ndefaults: { parallelism: 8 }\ntasks:\n");
    for i in 0..6 {
        text.push_str(&format!(
            "  t{i}:\n    uses: shell\n    with: {{ run: 'flock log -c \"echo + >> log\"; sleep 0.3; flock log -c \"echo - >> log\"' }}\n"
        ));
    }
    sb.write("rb.yaml", &text);
    let ran = sb.run(&["run", "rb.yaml", "--parallelism", "2"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let peak = support::peak_running(&sb.read("log"));
    // Two at a time: never more, and the limit is reached (six tasks of 0.3 s each).
    assert_eq!(peak, 2, "--parallelism 2 overrides the runbook's 8: {}", sb.read("log"));
    assert_eq!(sb.read("log").lines().count(), 12);
}

const GATE: &str = r#"version: 1
name: gate
tasks:
  gate:
    uses: approval
    with: { message: cut over? }
  after:
    uses: shell
    depends_on: [gate]
    with: { run: 'touch after' }
"#;

/// `drctl ARGS` on a terminal (util-linux `script` gives it a pty), with our pipe as its input.
/// Returns the child and the path where the shell wrote drctl's pid.
fn on_a_terminal(sb: &Sandbox, args: &str) -> (std::process::Child, std::path::PathBuf) {
    let pid_file = sb.path().join("drctl.pid");
    let drctl = support::drctl_bin();
    let command = format!("echo $$ > {}; exec {} {args}", pid_file.display(), drctl.display());
    let child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(sb.path())
        .env("NO_COLOR", "1")
        .env_remove("DRCTL_STATE_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    (child, pid_file)
}

/// The journals of every run in the sandbox, one after the other.
fn journal(sb: &Sandbox) -> String {
    let runs = sb.path().join(".drctl/runs");
    let mut text = String::new();
    for entry in std::fs::read_dir(runs).into_iter().flatten().flatten() {
        text.push_str(&std::fs::read_to_string(entry.path().join("journal.log")).unwrap_or_default());
    }
    text
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done() {
        assert!(std::time::Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_at_the_approval_prompt_leaves_the_approval_open_and_decides_nothing() {
    let sb = Sandbox::new();
    sb.write("gate.yaml", GATE);
    let (mut child, pid_file) = on_a_terminal(&sb, "run gate.yaml --progress plain");
    // The terminal stays open: only Ctrl-C ends the prompt.
    let _input = child.stdin.take();
    wait_for("the approval prompt", || journal(&sb).contains("awaiting_approval"));
    let pid = std::fs::read_to_string(&pid_file).expect("pid").trim().to_owned();
    std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    let out = child.wait_with_output().expect("script ends");
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(screen.contains("approve? [y/N]"), "{screen}");
    assert!(screen.contains("drctl resume"), "{screen}");
    assert!(!sb.path().join("after").exists());
    let id = sb.run(&["runs", "-o", "json"]).stdout;
    let runs: serde_json::Value = serde_json::from_str(&id).expect("runs json");
    let id = runs[0]["run_id"].as_str().expect("run id").to_owned();
    let status = sb.status(&id);
    assert_eq!(status["state"], "interrupted", "{status}");
    assert!(!journal(&sb).contains(r#""t":"audit""#), "a decision was recorded: {}", journal(&sb));
    // The approval is still open: an operator answers it and the run finishes.
    let approved = sb.run(&["approve", &id, "gate", "--reason", "go"]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    assert!(sb.path().join("after").exists());
}

#[test]
fn end_of_input_at_the_approval_prompt_pauses_instead_of_denying() {
    let sb = Sandbox::new();
    sb.write("gate.yaml", GATE);
    let (mut child, _) = on_a_terminal(&sb, "run gate.yaml --progress plain");
    wait_for("the approval prompt", || journal(&sb).contains("awaiting_approval"));
    // Ctrl-D on the terminal: the line discipline turns it into end of input.
    use std::io::Write;
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(b"\x04").expect("write");
    let out = child.wait_with_output().expect("script ends");
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(screen.contains("drctl approve"), "{screen}");
    assert!(!screen.contains("denied by"), "{screen}");
    let runs: serde_json::Value = serde_json::from_str(&sb.run(&["runs", "-o", "json"]).stdout).expect("runs json");
    let id = runs[0]["run_id"].as_str().expect("run id").to_owned();
    assert_eq!(sb.status(&id)["state"], "paused");
}

/// An approval asked on a terminal waits for a person, not for a task slot: with parallelism
/// 1, the independent task runs at once, while the question is open.
#[test]
fn an_approval_asked_on_a_terminal_holds_no_task_slot() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: tty
defaults: { parallelism: 1 }
tasks:
  gate: { uses: approval, with: { message: go?, timeout: 3s, on_timeout: approve } }
  other: { uses: shell, with: { run: 'touch other-ran' } }
"#,
    );
    // Its input stays open, and silent, until the end.
    let (mut child, _) = on_a_terminal(&sb, "run rb.yaml --progress plain");
    let until = std::time::Instant::now() + std::time::Duration::from_millis(2500);
    while !sb.path().join("other-ran").exists() {
        assert!(std::time::Instant::now() < until, "the independent task waited for the approval");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.wait();
}

/// Two approvals ready at once ask one at a time on the terminal: each answer goes to the
/// question it was typed under.
#[test]
fn approvals_on_a_terminal_ask_one_at_a_time() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: gates
defaults: { parallelism: 1 }
tasks:
  failover-db: { uses: approval, with: { message: "promote the standby database?" } }
  failover-dns: { uses: approval, with: { message: "switch public DNS?" } }
"#,
    );
    let (mut child, _) = on_a_terminal(&sb, "run rb.yaml --progress plain");
    use std::io::Write;
    let mut input = child.stdin.take().expect("stdin");
    for answer in ["y\n", "n\n"] {
        std::thread::sleep(std::time::Duration::from_secs(1));
        input.write_all(answer.as_bytes()).expect("answer");
    }
    let out = child.wait_with_output().expect("run script");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let first = ["failover-db", "failover-dns"]
        .into_iter()
        .min_by_key(|id| text.find(&format!("approval needed for {id}")).unwrap_or(usize::MAX))
        .unwrap();
    let second = if first == "failover-db" { "failover-dns" } else { "failover-db" };
    let run = text.lines().find_map(|l| l.trim().strip_prefix("run ")).and_then(|l| l.split_whitespace().next());
    let states = sb.task_states(run.expect("run id"));
    assert_eq!(states[first].0, "succeeded", "the first question got the first answer: {text}");
    assert_eq!(states[second].0, "failed", "{text}");
}

/// A failure that aborts the run withdraws an open question on the terminal: the run ends
/// failed, and the approval stays open for the resumed run.
#[test]
fn an_abort_withdraws_a_question_on_the_terminal() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: abort-asks
tasks:
  gate: { uses: approval, with: { message: "cut over?" } }
  after: { uses: shell, depends_on: [gate], with: { run: 'touch cut-over' } }
  breaks: { uses: shell, on_failure: abort, with: { run: 'sleep 0.5; exit 1' } }
"#,
    );
    // Nobody answers, and the input stays open.
    let (mut child, _) = on_a_terminal(&sb, "run rb.yaml --progress plain");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < until, "the run went on waiting for an answer after aborting");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!status.success(), "{status:?}");
    let runs = sb.run(&["runs", "-o", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs.stdout).expect("runs json");
    let id = runs[0]["run_id"].as_str().expect("run id").to_owned();
    let states = sb.task_states(&id);
    assert_eq!(states["gate"].0, "pending", "{states:?}");
    assert!(!sb.path().join("cut-over").exists());
    assert_eq!(sb.status(&id)["state"], "failed");
}

/// Lines of tasks that end while a question is open on the terminal wait for the answer: they
/// would otherwise scroll the question away from the person who must answer it.
#[test]
fn progress_lines_wait_while_a_question_is_open() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: tty
tasks:
  gate: { uses: approval, with: { message: "cut over?" } }
  other: { uses: shell, with: { run: 'sleep 0.3; touch other-ran' } }
"#,
    );
    let (mut child, _) = on_a_terminal(&sb, "run rb.yaml --progress plain");
    wait_for("the independent task", || sb.path().join("other-ran").exists());
    std::thread::sleep(std::time::Duration::from_millis(500));
    use std::io::Write;
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(b"y looks good\n").expect("answer");
    let out = child.wait_with_output().expect("run script");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let asked = text.find("approve? [y/N]").expect("the question");
    let answered = text.find("y looks good").expect("the answer, echoed");
    let other = text.find("✔ other").expect("the other task's line");
    assert!(asked < answered && answered < other, "the line came under the open question: {text}");
}

/// Types `answers` into a run on a terminal, each at its time after the start, then ends the
/// input; returns the run's terminal transcript and its task states.
fn answer_on_a_terminal(
    sb: &Sandbox,
    answers: &[(u64, &str)],
) -> (String, std::collections::BTreeMap<String, (String, u64)>) {
    let (mut child, _) = on_a_terminal(sb, "run rb.yaml --progress plain");
    use std::io::Write;
    let mut input = child.stdin.take().expect("stdin");
    let start = std::time::Instant::now();
    for (at, answer) in answers {
        let at = std::time::Duration::from_millis(*at);
        std::thread::sleep(at.saturating_sub(start.elapsed()));
        input.write_all(answer.as_bytes()).expect("answer");
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(input);
    let out = child.wait_with_output().expect("run script");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let run = text.lines().find_map(|l| l.trim().strip_prefix("run ")).and_then(|l| l.split_whitespace().next());
    let states = sb.task_states(run.expect("run id"));
    (text, states)
}

/// An approval's timeout runs while its question is on the terminal, not while it waits behind
/// another one: a question nobody has seen is never decided by its timeout.
#[test]
fn a_question_waiting_its_turn_is_not_decided_by_its_timeout() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: queued
tasks:
  gate: { uses: approval, with: { message: "promote the standby?" } }
  pre: { uses: sleep, with: { duration: 200ms } }
  drop-old: { uses: approval, depends_on: [pre], with: { message: "DELETE the old primary?", timeout: 1s, on_timeout: approve } }
  destroy: { uses: shell, depends_on: [drop-old], with: { run: 'touch destroyed' } }
"#,
    );
    let (text, states) = answer_on_a_terminal(&sb, &[(2500, "y go\n"), (3000, "n not yet\n")]);
    assert_eq!(states["gate"].0, "succeeded", "{text}");
    assert_eq!(states["drop-old"].0, "failed", "decided unseen: {text}");
    assert!(!sb.path().join("destroyed").exists());
}

/// An answer whose first word is neither yes nor no is asked again, not taken for a denial.
#[test]
fn an_answer_that_is_neither_yes_nor_no_is_asked_again() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: reask\ntasks:\n  gate: { uses: approval, with: { message: \"cut over?\" } }\n",
    );
    let (text, states) = answer_on_a_terminal(&sb, &[(1500, "ok go ahead\n"), (2000, "y go ahead\n")]);
    assert!(text.contains("answer y (yes) or n (no), then a reason"), "{text}");
    assert_eq!(states["gate"].0, "succeeded", "{text}");
}

/// Lines held while a question was shown follow it on their own lines when its timeout
/// withdraws it.
#[test]
fn held_lines_start_on_a_new_line_when_a_question_times_out() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: held
tasks:
  g: { uses: approval, with: { message: "go?", timeout: 1s, on_timeout: approve } }
  x: { uses: shell, depends_on: [g], with: { run: 'echo x' } }
  h: { uses: approval, depends_on: [g], with: { message: "really?", timeout: 1s, on_timeout: deny } }
"#,
    );
    let (mut child, _) = on_a_terminal(&sb, "run rb.yaml --progress plain");
    // The terminal stays open and nobody answers: both questions end by their timeouts.
    let _input = child.stdin.take();
    let out = child.wait_with_output().expect("run script");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("h: no answer within 1s: denied (on_timeout)"), "{text}");
    assert!(!text.lines().any(|l| l.contains("a reason:") && (l.contains('▶') || l.contains('✔'))), "{text}");
}

/// After a question ends by its timeout, the next line typed answers the question shown next.
#[test]
fn the_answer_after_a_timed_out_question_goes_to_the_next_question() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: after-timeout
tasks:
  first: { uses: approval, with: { message: "first?", timeout: 1s, on_timeout: approve } }
  second: { uses: approval, depends_on: [first], with: { message: "second?" } }
"#,
    );
    let (text, states) = answer_on_a_terminal(&sb, &[(2500, "y switch now\n")]);
    assert_eq!(states["first"].0, "succeeded", "{text}");
    // The unanswered prompt's line ends, and a line says what the timeout decided.
    assert!(text.contains("first: no answer within 1s: approved (on_timeout)"), "{text}");
    assert!(!text.lines().any(|l| l.contains("a reason:") && l.contains("no answer within")), "{text}");
    assert_eq!(states["second"].0, "succeeded", "the answer was lost: {text}");
    let status = sb.run(&[
        "status",
        text.lines().find_map(|l| l.trim().strip_prefix("run ")).unwrap().split_whitespace().next().unwrap(),
    ]);
    assert!(status.stdout.contains("switch now"), "{}", status.stdout);
}

/// An answer typed at the terminal is an operator's reason like `--reason`: a secret of the run
/// quoted in it is masked in the audit log, the journal and `status`.
#[test]
fn a_secret_quoted_in_a_terminal_answer_is_masked() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: typed-secret
params:
  token: { type: string, secret: true, default: "tty-canary-5ecret" }
tasks:
  first: { uses: approval, with: { message: "first?" } }
  second: { uses: approval, depends_on: [first], with: { message: "second?" } }
"#,
    );
    let (text, states) =
        answer_on_a_terminal(&sb, &[(1500, "y checked tty-canary-5ecret\n"), (3000, "n tty-canary-5ecret is wrong\n")]);
    assert_eq!((states["first"].0.as_str(), states["second"].0.as_str()), ("succeeded", "failed"), "{text}");
    let run = text.lines().find_map(|l| l.trim().strip_prefix("run ")).unwrap().split_whitespace().next().unwrap();
    let status = sb.run(&["status", run]);
    assert!(status.stdout.contains("checked ***") && status.stdout.contains("*** is wrong"), "{}", status.stdout);
    let journal = journal(&sb);
    assert!(journal.contains("checked ***"), "{journal}");
    // The terminal echoes what the operator types; drctl itself never prints it.
    let printed: String = text.lines().filter(|l| !l.starts_with("approve? ")).collect();
    for shown in [&printed, &status.stdout, &journal] {
        assert!(!shown.contains("tty-canary-5ecret"), "{shown}");
    }
}

/// Commands run where the run started, whichever directory `approve` (or `resume`) is typed in.
#[test]
fn commands_run_where_the_run_started_wherever_it_is_resumed() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path().join("work/sub")).unwrap();
    std::fs::create_dir_all(sb.path().join("elsewhere")).unwrap();
    sb.write("work/rb.yaml", "version: 1\nname: cwd\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  step: { uses: shell, depends_on: [gate], with: { run: 'pwd > ran-in' } }\n  nested: { uses: shell, depends_on: [gate], with: { run: 'pwd > ran-in', dir: sub } }\n");
    let state = sb.path().join("state");
    let state = state.to_str().unwrap();
    let ran =
        sb.command(&["run", "rb.yaml", "--state-dir", state]).current_dir(sb.path().join("work")).output().unwrap();
    assert_eq!(ran.status.code(), Some(3), "{}", String::from_utf8_lossy(&ran.stderr));
    let run = String::from_utf8_lossy(&ran.stdout).lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned();
    let approved = sb
        .command(&["approve", &run, "gate", "--reason", "go", "--state-dir", state])
        .current_dir(sb.path().join("elsewhere"))
        .output()
        .unwrap();
    assert_eq!(approved.status.code(), Some(0), "{}", String::from_utf8_lossy(&approved.stderr));
    let work = std::fs::canonicalize(sb.path().join("work")).unwrap();
    assert_eq!(sb.read("work/ran-in").trim(), work.to_str().unwrap());
    assert_eq!(sb.read("work/sub/ran-in").trim(), work.join("sub").to_str().unwrap());
    assert!(!sb.path().join("elsewhere/ran-in").exists());
}

#[test]
fn an_operator_skip_of_a_task_skipped_after_a_failure_stands_and_its_dependents_run() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: stands\ntasks:\n  t: { uses: shell, on_failure: continue, with: { run: 'test -f fixed' } }\n  u: { uses: shell, depends_on: [t], with: { run: 'echo u >> u-ran' } }\n  v: { uses: shell, depends_on: [u], with: { run: 'touch v-ran' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let id = ran.run_id();
    assert_eq!(sb.task_states(&id)["u"].0, "skipped");
    let skipped = sb.run(&["skip", &id, "u", "--reason", "done by hand"]);
    assert!(!skipped.stderr.contains("⊘ u skipped"), "the operator's skip is not replaced: {}", skipped.stderr);
    assert!(sb.path().join("v-ran").exists(), "what only comes after `u` runs: {}", skipped.stderr);
    let status = sb.status(&id);
    let u = status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "u").cloned().unwrap();
    assert!(u["reason"].as_str().unwrap().contains("done by hand"), "{u}");
    // A later resume that gets `t` through never runs `u`.
    sb.write("fixed", "");
    let resumed = sb.run(&["resume", &id]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(!sb.path().join("u-ran").exists(), "{}", resumed.stderr);
    let states = sb.task_states(&id);
    assert_eq!((states["t"].0.as_str(), states["u"].0.as_str()), ("succeeded", "skipped"));
    // Skipping it again is refused, and says who skipped it and why.
    let again = sb.run(&["skip", &id, "u", "--reason", "oops"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("skipped already") && again.stderr.contains("done by hand"), "{}", again.stderr);
}

#[test]
fn a_skipped_failure_no_longer_shows_its_error() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", FLAKY);
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let failed = sb.status(&id);
    let flaky =
        |s: &serde_json::Value| s["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "flaky").cloned().unwrap();
    let before = flaky(&failed);
    assert!(before.get("error").is_some(), "{before}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sb.run(&["skip", &id, "flaky", "--reason", "by hand"]).code, 0);
    let after = flaky(&sb.status(&id));
    assert!(after.get("error").is_none(), "{after}");
    // Its time is its attempt's, not the time until the decision.
    assert_eq!(after["duration_ms"], before["duration_ms"], "{after}");
}

#[test]
fn pending_instances_of_a_for_each_task_have_their_key_in_status() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: keys\ntasks:\n  t: { uses: shell, on_failure: pause, for_each: [a, b], with: { run: 'test ${{ each }} != a' } }\n",
    );
    let id = sb.run(&["run", "rb.yaml", "--parallelism", "1"]).run_id();
    let status = sb.status(&id);
    for t in status["tasks"].as_array().unwrap() {
        let key = t["id"].as_str().unwrap().trim_start_matches("t[").trim_end_matches(']').to_owned();
        assert_eq!(t["key"], key.as_str(), "{t}");
    }
}

#[test]
fn a_retried_denial_waits_for_the_resume_and_says_so() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &GATED.replace("TIMEOUT", ""));
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    assert_eq!(sb.run(&["deny", &id, "gate", "--reason", "not now"]).code, 1);
    assert_eq!(sb.run(&["retry", &id, "gate", "--no-resume"]).code, 0);
    let status = sb.status(&id);
    let gate = status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "gate").cloned().unwrap();
    assert_eq!(gate["state"], "pending");
    assert!(gate.get("awaiting_approval").is_none(), "it asks again only once the run goes on: {gate}");
    let approve = sb.run(&["approve", &id, "gate", "--reason", "now"]);
    assert_eq!(approve.code, 2, "{}", approve.stderr);
    assert!(approve.stderr.contains(&format!("drctl resume {id}")), "{}", approve.stderr);
}

#[test]
fn damaged_run_directories_are_listed_and_explained() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: dmg\ntasks:\n  a: { uses: shell, with: { run: 'true' } }\n");
    let first = sb.run(&["run", "rb.yaml"]).run_id();
    let second = sb.run(&["run", "rb.yaml"]).run_id();
    let runs = sb.path().join(".drctl/runs");
    std::fs::write(runs.join(&first).join("meta.json"), "{\n").unwrap();
    std::fs::rename(runs.join(&second), runs.join("renamed")).unwrap();
    let listed = sb.run(&["runs", "-o", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let ids: Vec<(&str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["run_id"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert!(ids.contains(&(first.as_str(), "damaged")), "{ids:?}");
    assert!(ids.contains(&("renamed", "succeeded")), "listed by the name status opens: {ids:?}");
    assert_eq!(sb.run(&["status", "renamed"]).code, 0);
    let status = sb.run(&["status", &first]);
    assert_ne!(status.code, 0);
    assert!(status.stderr.contains("meta.json") && status.stderr.contains("restore it"), "{}", status.stderr);
    std::fs::remove_file(runs.join("renamed").join("runbook.yaml")).unwrap();
    let status = sb.run(&["status", "renamed"]);
    assert!(status.stderr.contains("tasks the journal has not seen are not listed"), "{}", status.stderr);
    // The file the run started from is unchanged: it stands in for the copy, and is copied back.
    let resumed = sb.run(&["resume", "renamed"]);
    assert!(resumed.stderr.contains("is the same file (sha256)"), "{}", resumed.stderr);
    assert!(runs.join("renamed").join("runbook.yaml").exists());
    // Changed since, it cannot.
    std::fs::remove_file(runs.join("renamed").join("runbook.yaml")).unwrap();
    sb.write("rb.yaml", "version: 1\nname: dmg\ntasks:\n  a: { uses: shell, with: { run: 'true' } }\n# changed\n");
    let resumed = sb.run(&["resume", "renamed"]);
    assert!(resumed.stderr.contains("copy of its runbook is gone"), "{}", resumed.stderr);

    // A lost journal or meta.json: listed as damaged, and nothing runs again.
    let third = sb.run(&["run", "rb.yaml"]).run_id();
    let fourth = sb.run(&["run", "rb.yaml"]).run_id();
    std::fs::remove_file(runs.join(&third).join("journal.log")).unwrap();
    std::fs::remove_file(runs.join(&fourth).join("meta.json")).unwrap();
    let listed = sb.run(&["runs"]);
    for id in [&third, &fourth] {
        assert!(
            listed.stdout.lines().any(|l| l.starts_with(id.as_str()) && l.contains("damaged")),
            "{}",
            listed.stdout
        );
    }
    let resumed = sb.run(&["resume", &third]);
    assert_ne!(resumed.code, 0);
    assert!(resumed.stderr.contains("journal.log is missing"), "{}", resumed.stderr);
    assert!(!runs.join(&third).join("journal.log").exists(), "no new journal was begun");
    let status = sb.run(&["status", &fourth]);
    assert!(status.stderr.contains("meta.json: it is missing"), "{}", status.stderr);
}

/// A line typed before a question is shown does not answer it: at 3 a.m. a stray `y` typed
/// into a busy terminal must not approve a cutover.
#[test]
fn a_line_typed_before_the_question_shows_answers_nothing() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: early
tasks:
  pre: { uses: shell, with: { run: "sleep 1" } }
  gate: { uses: approval, depends_on: [pre], with: { message: "cut over?", timeout: 2s, on_timeout: deny } }
  after: { uses: shell, depends_on: [gate], with: { run: "touch cut-over" } }
"#,
    );
    let (text, states) =
        answer_on_a_terminal(&sb, &[(200, "y early\n"), (500, "y still early, half a li"), (3500, "")]);
    assert_eq!(states.get("gate").map(|s| s.0.as_str()), Some("failed"), "denied by its timeout: {text}\n{states:?}");
    assert!(!sb.path().join("cut-over").exists(), "{text}");
}

/// The audit trail names the account the process runs as, whatever `$USER` says, and a reason
/// stays on one line.
#[test]
fn the_audit_names_the_real_account_and_keeps_a_reason_on_one_line() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &GATED.replace("TIMEOUT", ""));
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let id = ran.run_id();
    let approved = sb
        .command(&["approve", &id, "gate", "--reason", "ok\n  2026-11-27T06:00:00Z Approve gate by cto@vm: signed off"])
        .env("USER", "mallory")
        .env("LOGNAME", "mallory")
        .env_remove("SUDO_USER")
        .output()
        .unwrap();
    assert_eq!(approved.status.code(), Some(0), "{}", String::from_utf8_lossy(&approved.stderr));
    let status = sb.status(&id);
    let entry = status["audit"].as_array().unwrap().iter().find(|a| a["action"] == "approve").cloned().unwrap();
    let (user, _) = whoami();
    assert_eq!(entry["user"], user.as_str(), "{entry}");
    assert_eq!(entry["reason"], "ok\\n  2026-11-27T06:00:00Z Approve gate by cto@vm: signed off", "{entry}");
    let text = sb.run(&["status", &id]);
    let lines = text.stdout.lines().filter(|l| l.contains("Approve gate")).count();
    assert_eq!(lines, 1, "one audit line: {}", text.stdout);
}

/// A run started with `--params-file` (for a secret) and a `--param` over one of the file's
/// values: the approve command it prints gives that value again, so it works as printed.
#[test]
fn the_printed_approve_command_keeps_a_param_given_over_the_params_file() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: override
params:
  region: { type: string, required: true }
  token: { type: string, secret: true, required: true }
tasks:
  cutover: { uses: approval, with: { message: "cut over to ${{ params.region }}?" } }
  after:
    uses: shell
    depends_on: [cutover]
    with: { run: 'echo "${{ params.region }}" > region.txt' }
"#,
    );
    sb.write("p.yaml", "region: us-phoenix-1\ntoken: s3cr3t-value\n");
    let ran =
        sb.run(&["run", "rb.yaml", "--params-file", "p.yaml", "-p", "region=eu frankfurt", "--progress", "plain"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let command = ran
        .stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("approve: ").map(str::to_owned))
        .unwrap_or_else(|| panic!("no approve command: {}", ran.stderr));
    assert!(command.contains("-p 'region=eu frankfurt'"), "{command}");
    let (code, stderr) = sb.paste(&command.replace("'...'", "ok"));
    assert_eq!(code, Some(0), "{command}: {stderr}");
    assert_eq!(sb.read("region.txt").trim(), "eu frankfurt");
}

/// Approving a task that is no approval says so, whatever its state, with the task's name as
/// written (not lower-cased).
#[test]
fn approving_a_task_that_is_no_approval_says_so() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: a\ntasks:\n  Gate: { uses: approval, with: { message: go? } }\n  Smoke: { uses: shell, depends_on: [Gate], with: { run: 'true' } }\n  Early: { uses: shell, with: { run: 'true' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let run = ran.run_id();
    for task in ["Smoke", "Early"] {
        let approve = sb.run(&["approve", &run, task, "--reason", "ok"]);
        assert_eq!(approve.code, 2, "{}", approve.stderr);
        assert!(
            approve.stderr.contains(&format!("cannot approve `{task}` in run {run}: it is not an approval task")),
            "{}",
            approve.stderr
        );
    }
    // A task that is done is named as such, with what to do (the run's id filled in).
    let retry = sb.run(&["retry", &run, "Early"]);
    assert_eq!(retry.code, 2, "{}", retry.stderr);
    assert!(retry.stderr.contains(&format!("cannot retry `Early` in run {run}: it succeeded")), "{}", retry.stderr);
    assert!(sb.run(&["approve", &run, "Gate", "--reason", "ok"]).code == 0);
    let deny = sb.run(&["deny", &run, "Gate", "--reason", "late"]);
    assert_eq!(deny.code, 2, "{}", deny.stderr);
    assert!(deny.stderr.contains(&format!("`drctl status {run}` shows who decided")), "{}", deny.stderr);
}

/// After `retry` of a denied approval, what its denial skipped waits again: `status` shows it
/// pending, not skipped, until the run goes on.
#[test]
fn retrying_a_denied_approval_shows_what_it_skipped_as_pending_again() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: r\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  after: { uses: shell, depends_on: [gate], with: { run: 'true' } }\n  later: { uses: shell, depends_on: [after], with: { run: 'true' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let run = ran.run_id();
    let denied = sb.run(&["deny", &run, "gate", "--reason", "not yet", "--progress", "plain"]);
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    let states = sb.task_states(&run);
    assert_eq!(states["after"].0, "skipped", "{states:?}");
    let retried = sb.run(&["retry", &run, "gate", "--no-resume"]);
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    let states = sb.task_states(&run);
    for task in ["gate", "after", "later"] {
        assert_eq!(states[task].0, "pending", "{task}: {states:?}");
    }
    let resumed = sb.run(&["resume", &run, "--progress", "plain"]);
    assert_eq!(resumed.code, 3, "asks again: {}", resumed.stderr);
    let approved = sb.run(&["approve", &run, "gate", "--reason", "now", "--progress", "plain"]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    assert!(sb.task_states(&run).values().all(|(s, _)| s == "succeeded"));
}

/// A secret parameter is never stored: the commands a paused run prints say to give it again.
#[test]
fn the_printed_commands_say_to_give_a_secret_parameter_again() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: secret-gate\nparams:\n  api_token: { type: string, secret: true }\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  use: { uses: shell, depends_on: [gate], with: { run: 'test -n \"$T\"', env: { T: '${{ params.api_token }}' } } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", "api_token=sekrit123"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let note = "these commands need the run's secret parameter `api_token` again (not stored with the run): export \
                DRCTL_PARAM_API_TOKEN=... first, or add -p api_token=...";
    assert!(ran.stderr.contains(note), "{}", ran.stderr);
    assert!(!ran.stderr.contains("sekrit123"));
    // Followed, the note works.
    let id = ran.run_id();
    let approved = sb
        .command(&["approve", &id, "gate", "--reason", "go"])
        .env("DRCTL_PARAM_API_TOKEN", "sekrit123")
        .output()
        .unwrap();
    assert_eq!(approved.status.code(), Some(0), "{}", String::from_utf8_lossy(&approved.stderr));

    // Names a shell cannot export as they are: the variables named are those drctl reads, and
    // every secret is named in the `-p` alternative.
    sb.write(
        "dotted.yaml",
        "version: 1\nname: dotted\nparams:\n  api.token: { type: string, secret: true }\n  db-pass: { type: string, \
         secret: true }\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  use: { uses: shell, depends_on: \
         [gate], with: { run: 'test -n \"$T$P\"', env: { T: \"${{ params['api.token'] }}\", P: \"${{ params['db-pass'] \
         }}\" } } }\n",
    );
    let ran = sb.run(&["run", "dotted.yaml", "-p", "api.token=sekrit123", "-p", "db-pass=sekrit456"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let note = "export DRCTL_PARAM_API_TOKEN=... DRCTL_PARAM_DB_PASS=... first, or add -p api.token=... -p db-pass=...";
    assert!(ran.stderr.contains(note), "{}", ran.stderr);
    let approved = sb
        .command(&["approve", &ran.run_id(), "gate", "--reason", "go"])
        .env("DRCTL_PARAM_API_TOKEN", "sekrit123")
        .env("DRCTL_PARAM_DB_PASS", "sekrit456")
        .output()
        .unwrap();
    assert_eq!(approved.status.code(), Some(0), "{}", String::from_utf8_lossy(&approved.stderr));

    // One variable for two parameters gives neither.
    sb.write(
        "twins.yaml",
        "version: 1\nname: twins\nparams:\n  a-b: { type: string }\n  a_b: { type: string }\ntasks:\n  t: { uses: \
         shell, with: { run: 'true' } }\n",
    );
    let refused = sb.command(&["plan", "twins.yaml"]).env("DRCTL_PARAM_A_B", "x").output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("DRCTL_PARAM_A_B could give parameter `a-b` or `a_b`"), "{stderr}");
}

/// Skipping one item of a `for_each` leaves the task's outputs without that item's: what reads
/// them runs, and the note says so rather than that it is skipped.
#[test]
fn skipping_one_item_says_what_reads_the_task_runs_without_it() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: skip-item
tasks:
  fe:
    uses: shell
    for_each: [p, q]
    on_failure: pause
    with: { run: 'test "${{ each }}" = q && echo "v=${{ each }}" >> $DRCTL_OUTPUT' }
  count:
    uses: shell
    with: { run: 'echo "${{ join(keys(tasks.fe.outputs), '','') }}" > count' }
"#,
    );
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let skipped = sb.run(&["skip", &id, "fe[p]", "--reason", "by hand"]);
    assert!(
        skipped.stderr.contains("note: count reads the outputs of `fe`, which will lack those of fe[p]"),
        "{}",
        skipped.stderr
    );
    assert!(!skipped.stderr.contains("also skips"), "{}", skipped.stderr);
}

/// A dropped SSH session hangs the terminal up: every write to it fails from then on. drctl
/// stops as on Ctrl-C (the running command finishes, nothing new starts), with bars or plain
/// lines, at a task or at an approval's question, and leaves the run to resume.
#[test]
fn a_hung_up_terminal_interrupts_the_run_cleanly() {
    for (progress, runbook) in [
        ("bars", "  a: { uses: shell, with: { run: 'echo started > a-started; sleep 1; touch a-done' } }\n"),
        ("plain", "  a: { uses: shell, with: { run: 'echo started > a-started; sleep 1; touch a-done' } }\n"),
        ("bars", "  a: { uses: approval, with: { message: cut over? } }\n"),
    ] {
        let sb = Sandbox::new();
        sb.write("k.yaml", &format!("version: 1\nname: k\ntasks:\n{runbook}  b: {{ uses: shell, depends_on: [a], with: {{ run: 'touch b-ran' }} }}\n"));
        let (mut child, pid_file) = on_a_terminal(&sb, &format!("run k.yaml --progress {progress}"));
        let _input = child.stdin.take();
        wait_for("task a", || sb.path().join("a-started").exists() || journal(&sb).contains("awaiting_approval"));
        std::thread::sleep(std::time::Duration::from_millis(300));
        let pid = std::fs::read_to_string(&pid_file).expect("pid").trim().to_owned();
        // The terminal goes away with the program holding it.
        child.kill().expect("kill script");
        let _ = child.wait();
        wait_for("drctl to stop", || !std::path::Path::new(&format!("/proc/{pid}")).exists());
        let runs: serde_json::Value = serde_json::from_str(&sb.run(&["runs", "-o", "json"]).stdout).expect("runs json");
        let id = runs[0]["run_id"].as_str().expect("run id").to_owned();
        let status = sb.status(&id);
        // At a question, the hang-up's signal and the end of the terminal's input race: the run
        // is interrupted or paused, the approval open either way.
        let expected: &[&str] = if runbook.contains("shell") { &["interrupted"] } else { &["interrupted", "paused"] };
        assert!(expected.iter().any(|s| status["state"] == *s), "{progress}: {status}");
        assert!(!sb.path().join("b-ran").exists(), "{progress}: b started after the hang-up");
        if runbook.contains("shell") {
            assert!(sb.path().join("a-done").exists(), "{progress}: the running command was not left to finish");
            assert_eq!(status["tasks"][0]["state"], "succeeded", "{status}");
        } else {
            assert!(!journal(&sb).contains(r#""t":"audit""#), "a decision was recorded: {}", journal(&sb));
        }
        let resumed = sb.run(&["resume", &id, "--yes"]);
        assert_eq!(resumed.code, 0, "{}", resumed.stderr);
        assert!(sb.path().join("b-ran").exists());
    }
}

/// A denial under `on_failure: abort` (the default) stops the run whether it is typed at the
/// prompt or given with `drctl deny`: no task starts after it, not even one whose own approval
/// is decided meanwhile, and the approvals still open are named with their commands.
#[test]
fn a_denial_given_with_deny_aborts_the_run_and_names_the_approvals_left_open() {
    let sb = Sandbox::new();
    sb.write(
        "ap.yaml",
        r#"version: 1
name: ap
tasks:
  gate: { uses: approval, with: { message: "go?", timeout: 1s, on_timeout: approve } }
  after: { uses: shell, depends_on: [gate], with: { run: 'touch after-ran' } }
  gate2: { uses: approval, with: { message: "second?" } }
  after2: { uses: shell, depends_on: [gate2], with: { run: 'touch after2-ran' } }
  failing: { uses: shell, depends_on: [gate2], on_failure: continue, with: { run: 'exit 1' } }
"#,
    );
    let paused = sb.run(&["run", "ap.yaml"]);
    assert_eq!(paused.code, 3, "{}", paused.stderr);
    let id = paused.run_id();
    // gate's timeout passes before the denial resumes the run.
    std::thread::sleep(std::time::Duration::from_millis(1300));
    let denied = sb.run(&["deny", &id, "gate2", "--reason", "not now"]);
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    assert!(denied.stderr.contains("gate2 was denied; aborting (no new tasks start)"), "{}", denied.stderr);
    assert!(!sb.path().join("after-ran").exists(), "a task started after the denial: {}", denied.stderr);
    assert!(!sb.path().join("after2-ran").exists());
    assert!(
        denied.stderr.contains(&format!("⏸ gate awaits approval: drctl approve {id} gate --reason '...'")),
        "{}",
        denied.stderr
    );
    let states = sb.task_states(&id);
    assert_eq!(states["after"].0, "pending");
    // A plain resume keeps the denial and stops again; a retry asks again.
    let again = sb.run(&["resume", &id]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(!sb.path().join("after-ran").exists());
}

/// A retry resets the failed task and the tasks it skipped; when it fails again, they are
/// skipped again, on record: `status` and the summary agree with what was printed.
#[test]
fn tasks_skipped_again_after_a_retry_are_recorded_as_skipped() {
    let sb = Sandbox::new();
    sb.write(
        "s.yaml",
        "version: 1\nname: sk\ntasks:\n  f: { uses: shell, on_failure: continue, with: { run: 'exit 1' } }\n  fdep: { uses: shell, depends_on: [f], with: { run: 'touch fdep-ran' } }\n",
    );
    let first = sb.run(&["run", "s.yaml"]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    let id = first.run_id();
    for args in [&["retry", &id, "f"][..], &["resume", &id]] {
        let again = sb.run(args);
        assert_eq!(again.code, 1, "{}", again.stderr);
        assert!(again.stderr.contains("1 failed, 1 skipped, 0 pending"), "{args:?}: {}", again.stderr);
        assert_eq!(sb.task_states(&id)["fdep"].0, "skipped", "{args:?}");
    }
    assert!(!sb.path().join("fdep-ran").exists());
}

/// A run goes on against the OCI settings it started with: the commands drctl prints work as
/// printed, without the run's `--config-file` and `--endpoints`, and settings of another
/// tenancy are refused.
#[test]
fn later_commands_use_the_oci_settings_the_run_started_with() {
    let sb = Sandbox::new();
    for sim in ["sim1", "sim2"] {
        assert_eq!(sb.run(&["sim", "init", sim]).code, 0);
    }
    // No simulator serves: the run pauses before its OCI task, and is denied there.
    sb.write("sim1/endpoints.json", r#"{"us-ashburn-1": "http://127.0.0.1:9"}"#);
    sb.write(
        "rb.yaml",
        "version: 1\nname: target\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  vcns:\n    uses: oci.request\n    depends_on: [gate]\n    with: { method: GET, service: core, region: us-ashburn-1, path: /20160918/vcns }\n",
    );
    let ran = sb.run(&[
        "run",
        "rb.yaml",
        "--config-file",
        "sim1/config",
        "--endpoints",
        "sim1/endpoints.json",
        "--progress",
        "plain",
    ]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let run = ran.run_id();
    let meta: serde_json::Value = serde_json::from_str(&sb.read(&format!(".drctl/runs/{run}/meta.json"))).unwrap();
    let tenancy = sb.read("sim1/config").lines().find_map(|l| l.strip_prefix("tenancy=")).unwrap().to_owned();
    assert_eq!(meta["oci"]["tenancy"], tenancy.as_str(), "{meta}");
    // Another tenancy's profile: refused, naming both and the run's own settings.
    let audits = |sb: &Sandbox| sb.read(&format!(".drctl/runs/{run}/journal.log")).matches("\"t\":\"audit\"").count();
    let before = audits(&sb);
    let other = sb.run(&["resume", &run, "--config-file", "sim2/config"]);
    assert_eq!(other.code, 2, "{}", other.stderr);
    // A resume that cannot go on (here, or with a config that does not read) is not put on record.
    let unreadable = sb.run(&["resume", &run, "--config-file", "nonexistent"]);
    assert_eq!(unreadable.code, 2, "{}", unreadable.stderr);
    assert_eq!(audits(&sb), before);
    // Nor does a cleanup delete anything through another tenancy's profile.
    let cleanup = sb.run(&["cleanup", &run, "--config-file", "sim2/config", "--dry-run"]);
    assert_eq!(cleanup.code, 2, "{}", cleanup.stderr);
    assert!(cleanup.stderr.contains(&format!("works in tenancy {tenancy}")), "{}", cleanup.stderr);
    assert!(other.stderr.contains(&format!("works in tenancy {tenancy}")), "{}", other.stderr);
    assert!(other.stderr.contains("sim1/config [DEFAULT]"), "{}", other.stderr);
    // An approval that cannot go on is not recorded either.
    let approve = sb.run(&["approve", &run, "gate", "--reason", "go", "--config-file", "nonexistent"]);
    assert_eq!(approve.code, 2, "{}", approve.stderr);
    assert!(approve.stderr.contains("the same command again (nothing was recorded)"), "{}", approve.stderr);
    assert_eq!(audits(&sb), before);
    // Settings given that pass become the run's own: the config moved.
    std::fs::create_dir(sb.path().join("moved")).unwrap();
    std::fs::rename(sb.path().join("sim1/config"), sb.path().join("moved/config")).unwrap();
    let moved = sb.run(&["resume", &run, "--config-file", "moved/config"]);
    assert_eq!(moved.code, 3, "{}", moved.stderr);
    let meta: serde_json::Value = serde_json::from_str(&sb.read(&format!(".drctl/runs/{run}/meta.json"))).unwrap();
    assert!(meta["oci"]["config_file"].as_str().unwrap().ends_with("moved/config"), "{meta}");
    // The printed command, as printed, with a shell whose default config and endpoints are
    // elsewhere.
    let printed = moved.stderr.lines().find_map(|l| l.split_once("approve: ").map(|(_, c)| c.to_owned())).unwrap();
    let deny = printed.replacen("approve", "deny", 1).replace("'...'", "no");
    let (code, stderr) =
        sb.paste(&format!("OCI_CONFIG_FILE=/nonexistent DRCTL_ENDPOINTS=/nonexistent-endpoints.json {deny}"));
    // Denied, `vcns` is skipped and the run fails: it read the run's config to get there.
    assert_eq!(code, Some(1), "{deny}: {stderr}");
    assert!(!stderr.contains("/nonexistent"), "{stderr}");
}

/// A run with `--sim` goes on with its own simulator when a later command comes from a shell
/// that has `DRCTL_ENDPOINTS` set: only `--endpoints` on the command line names others.
#[test]
fn a_sim_run_keeps_its_simulator_whatever_the_shell_sets() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: simkeep\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  regions:\n    uses: oci.request\n    depends_on: [gate]\n    with: { method: GET, service: identity, region: us-ashburn-1, path: /20160918/regions }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--sim", "--progress", "plain"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let run = ran.run_id();
    let approve = sb
        .command(&["approve", &run, "gate", "--reason", "go"])
        .env("DRCTL_ENDPOINTS", "/nonexistent-endpoints.json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&approve.stderr);
    assert_eq!(approve.status.code(), Some(0), "{stderr}");
}

/// The state file of a `--sim` run's simulator cannot be read: a later command on the run
/// names that file and what to do about it, not an option of `drctl sim` it does not have, and
/// records nothing.
#[test]
fn a_sim_run_whose_simulator_state_cannot_be_read_names_the_file() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: simstate\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  regions:\n    uses: oci.request\n    depends_on: [gate]\n    with: { method: GET, service: identity, region: us-ashburn-1, path: /20160918/regions }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--sim", "--progress", "plain"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let run = ran.run_id();
    let state = sb.path().join(".drctl/sim/state.json");
    let saved = std::fs::read(&state).unwrap();
    std::fs::remove_file(&state).unwrap();
    std::fs::create_dir(&state).unwrap();
    let approve = sb.run(&["approve", &run, "gate", "--reason", "go"]);
    assert_eq!(approve.code, 2, "{}", approve.stderr);
    assert!(approve.stderr.contains(&state.display().to_string()), "{}", approve.stderr);
    assert!(!approve.stderr.contains("--state "), "{}", approve.stderr);
    assert_eq!(sb.task_states(&run)["gate"].0, "pending", "{}", approve.stderr);
    std::fs::remove_dir(&state).unwrap();
    std::fs::write(&state, saved).unwrap();
    let approve = sb.run(&["approve", &run, "gate", "--reason", "go"]);
    assert_eq!(approve.code, 0, "{}", approve.stderr);
}

const GATED_SECRET: &str = r#"version: 1
name: gated
params: { tok: { type: string, secret: true } }
tasks:
  a: { uses: shell, with: { run: 'echo a >> ran.txt' } }
  gate: { uses: approval, depends_on: [a], with: { message: ok? } }
  b: { uses: shell, depends_on: [gate], with: { run: 'echo b-original >> ran.txt' } }
"#;

/// A decision recorded without resuming is masked like one that resumes: a reason (and the
/// approval's `reason` output) quoting a secret parameter given to the command is stored as ***.
#[test]
fn a_decision_recorded_without_resuming_masks_the_secrets_it_is_given() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", GATED_SECRET);
    let ran = sb.run(&["run", "rb.yaml", "-p", "tok=S3cr3tVal"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let id = ran.run_id();
    let approved =
        sb.run(&["approve", &id, "gate", "--reason", "used S3cr3tVal", "--no-resume", "-p", "tok=S3cr3tVal"]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    let journal = sb.read(&format!(".drctl/runs/{id}/journal.log"));
    assert!(!journal.contains("S3cr3tVal"), "{journal}");
    assert!(journal.contains("used ***"), "{journal}");
    let status = sb.run(&["status", &id]);
    assert!(!status.stdout.contains("S3cr3tVal") && !status.stderr.contains("S3cr3tVal"), "{}", status.stdout);
    // Without the secret, the decision is recorded and the operator told what could not be masked.
    let sb = Sandbox::new();
    sb.write("rb.yaml", GATED_SECRET);
    let id = sb.run(&["run", "rb.yaml", "-p", "tok=S3cr3tVal"]).run_id();
    let unmasked = sb.run(&["approve", &id, "gate", "--reason", "ok", "--no-resume"]);
    assert_eq!(unmasked.code, 0, "{}", unmasked.stderr);
    assert!(unmasked.stderr.contains("secret parameter `tok` not given here"), "{}", unmasked.stderr);
}

/// A resume with `--allow-changed` that is refused (a secret parameter not given again) leaves
/// the run as it was: the next command without `--allow-changed` still refuses the change.
#[test]
fn a_refused_resume_with_a_changed_runbook_does_not_take_the_new_runbook() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", GATED_SECRET);
    let ran = sb.run(&["run", "rb.yaml", "-p", "tok=abc123xyz"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let id = ran.run_id();
    let copy = format!(".drctl/runs/{id}/runbook.yaml");
    sb.write("rb.yaml", &GATED_SECRET.replace("b-original", "b-changed"));
    let refused = sb.run(&["resume", &id, "--allow-changed"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("secret parameter `tok`"), "{}", refused.stderr);
    assert_eq!(sb.read(&copy), GATED_SECRET, "the run's copy is untouched");
    assert!(!sb.path().join(format!(".drctl/runs/{id}/runbook.1.yaml")).exists());
    let unchecked = sb.run(&["approve", &id, "gate", "--reason", "ok", "-p", "tok=abc123xyz"]);
    assert_eq!(unchecked.code, 2, "{}", unchecked.stderr);
    assert!(unchecked.stderr.contains("changed since run"), "{}", unchecked.stderr);
    assert!(unchecked.stderr.contains("add --allow-changed to this command"), "{}", unchecked.stderr);
    let taken = sb.run(&["approve", &id, "gate", "--reason", "ok", "-p", "tok=abc123xyz", "--allow-changed"]);
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    assert_eq!(sb.read("ran.txt"), "a\nb-changed\n");
    let audit = sb.status(&id)["audit"].clone();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "resume" && a["reason"].as_str().unwrap_or_default().contains("changed tasks b")),
        "{audit:#}"
    );
}

/// A `for_each` task whose list fails before it has items can be skipped (or retried) as a
/// whole, and the run goes on past it.
#[test]
fn a_for_each_task_whose_list_failed_is_decided_on_as_a_whole() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: list
tasks:
  src: { uses: shell, with: { run: 'echo "list=a,b" >> "$DRCTL_OUTPUT"' } }
  fe: { uses: shell, on_failure: pause, for_each: '${{ tasks.src.outputs.list }}', with: { run: 'echo ${{ each }}' } }
  later: { uses: shell, depends_on: [fe], with: { run: 'echo later >> later.txt' } }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("read with `fromJSON(...)`"), "the error says how to give a list: {}", ran.stderr);
    let id = ran.run_id();
    let retried = sb.run(&["retry", &id, "fe"]);
    assert_eq!(retried.code, 3, "the list fails again, and the run pauses again: {}", retried.stderr);
    let skipped = sb.run(&["skip", &id, "fe", "--reason", "not needed here"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert_eq!(sb.read("later.txt"), "later\n");
    assert_eq!(sb.task_states(&id)["fe"].0, "skipped");
}

/// An item of a `for_each` skipped by an operator gave no outputs: the task's outputs hold the
/// items that did their work, so a count of them does not take the skipped one for done.
#[test]
fn a_skipped_item_is_not_among_its_tasks_outputs() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: items
tasks:
  fe:
    uses: shell
    for_each: [a, b, c]
    on_failure: pause
    retry: { attempts: 1 }
    with: { run: 'if [ "${{ each }}" = b ]; then exit 4; fi; echo "v=${{ each }}" >> "$DRCTL_OUTPUT"' }
  after: { uses: shell, depends_on: [fe], with: { run: 'echo "${{ toJSON(tasks.fe.outputs) }}" >> ran.txt' } }
  all-done: { uses: assert, with: { actual: "${{ length(tasks.fe.outputs) }}", expected: 3 } }
"#,
    );
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let skipped = sb.run(&["skip", &id, "fe[b]", "--reason", "done by hand"]);
    assert_eq!(skipped.code, 1, "the count of items that did their work is 2: {}", skipped.stderr);
    assert!(skipped.stderr.contains("expected 3, got 2"), "{}", skipped.stderr);
    assert_eq!(sb.read("ran.txt"), "{\"a\":{\"v\":\"a\"},\"c\":{\"v\":\"c\"}}\n");
}

/// A decision recorded with `--no-resume` long after the run stopped does not stretch the run:
/// `status` gives the time the run's work took.
#[test]
fn a_decision_recorded_later_without_resuming_does_not_stretch_the_run() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", FLAKY);
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let before = sb.status(&id)["elapsed_ms"].as_u64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let skipped = sb.run(&["skip", &id, "flaky", "--reason", "done by hand", "--no-resume"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert_eq!(sb.status(&id)["elapsed_ms"].as_u64().unwrap(), before);
}

/// What was skipped because a task failed waits again once that task is retried: its old
/// reason goes with its skip.
#[test]
fn a_retry_clears_the_skip_reasons_of_what_waits_on_it_again() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: r\ntasks:\n  gate: { uses: approval, with: { message: ok? } }\n  after: { uses: shell, \
         depends_on: [gate], with: { run: 'true' } }\n",
    );
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    let denied = sb.run(&["deny", &id, "gate", "--reason", "not now"]);
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    let reason = |status: &serde_json::Value| {
        status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "after").unwrap().get("reason").cloned()
    };
    assert!(reason(&sb.status(&id)).is_some_and(|r| r.as_str().unwrap_or_default().contains("gate")));
    let retried = sb.run(&["retry", &id, "gate", "--no-resume"]);
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    let status = sb.status(&id);
    let after = status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "after").unwrap().clone();
    assert_eq!(after["state"], "pending", "{status:#}");
    assert!(reason(&status).is_none_or(|r| r.is_null()), "{status:#}");
}

/// `retry` and `skip` of a `for_each` task named as a whole apply to the instances they can:
/// every failed one for a retry, every unfinished one for a skip; each is on the audit log.
#[test]
fn a_for_each_task_named_whole_is_retried_or_skipped_instance_by_instance() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: many
tasks:
  fe: { uses: shell, for_each: [a, b, c, d], on_failure: pause, retry: { attempts: 1 }, with: { run: 'case ${{ each }} in b|d) test -f fixed-${{ each }} ;; esac' } }
  after: { uses: shell, depends_on: [fe], with: { run: 'echo after >> after.txt' } }
"#,
    );
    let id = sb.run(&["run", "rb.yaml"]).run_id();
    sb.write("fixed-b", "");
    let retried = sb.run(&["retry", &id, "fe"]);
    assert_eq!(retried.code, 3, "fe[d] fails again: {}", retried.stderr);
    assert!(retried.stderr.contains("retrying 2 instances: fe[b], fe[d]"), "{}", retried.stderr);
    let states = sb.task_states(&id);
    assert_eq!((states["fe[a]"].1, states["fe[b]"].0.as_str(), states["fe[d]"].0.as_str()), (1, "succeeded", "failed"));
    let skipped = sb.run(&["skip", &id, "fe", "--reason", "d done by hand"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert_eq!(sb.read("after.txt"), "after\n");
    let audit = sb.status(&id)["audit"].clone();
    let entries: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "retry" || a["action"] == "skip")
        .map(|a| (a["action"].as_str().unwrap().to_owned(), a["task"].as_str().unwrap().to_owned()))
        .collect();
    let expected =
        [("retry", "fe[b]"), ("retry", "fe[d]"), ("skip", "fe[d]")].map(|(a, t)| (a.to_owned(), t.to_owned()));
    assert_eq!(entries, expected);
    let nothing = sb.run(&["retry", &id, "fe"]);
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
    assert!(nothing.stderr.contains("none of them failed"), "{}", nothing.stderr);
}

/// The simulator directory of a `--sim` run is gone: a later command on the run refuses
/// rather than go on against an empty simulator, and says what to do.
#[test]
fn a_sim_run_whose_simulator_is_gone_is_not_resumed_against_an_empty_one() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: simgone\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  regions:\n    uses: oci.request\n    depends_on: [gate]\n    with: { method: GET, service: identity, region: us-ashburn-1, path: /20160918/regions }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--sim", "--progress", "plain"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let run = ran.run_id();
    let sim = sb.path().join(".drctl/sim");
    std::fs::rename(&sim, sb.path().join("sim.bak")).unwrap();
    let approve = sb.run(&["approve", &run, "gate", "--reason", "go"]);
    assert_eq!(approve.code, 2, "{}", approve.stderr);
    assert!(approve.stderr.contains("simulator in") && approve.stderr.contains("is gone"), "{}", approve.stderr);
    assert_eq!(sb.task_states(&run)["gate"].0, "pending", "nothing was recorded: {}", approve.stderr);
    std::fs::rename(sb.path().join("sim.bak"), &sim).unwrap();
    assert_eq!(sb.run(&["approve", &run, "gate", "--reason", "go"]).code, 0);
}
