//! Crashes and interruptions: a run killed with SIGKILL at several points and resumed each time
//! finishes with every task done exactly once; Ctrl-C stops cleanly and resumes.

mod support;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use support::Sandbox;

/// Twelve tasks in a diamond-shaped graph; each takes ~120 ms and appends its name to
/// `done.log` as its last act. `check` tells resume whether the append already happened.
fn runbook() -> String {
    let mut text = String::from("version: 1\nname: crashy\ndefaults: { parallelism: 3 }\ntasks:\n");
    for i in 0..12 {
        let deps = match i {
            0 => String::new(),
            1..=3 => "    depends_on: [t0]\n".to_owned(),
            4..=10 => format!("    depends_on: [t{}]\n", (i - 3) % 3 + 1),
            _ => "    depends_on: [t4, t5, t6, t7, t8, t9, t10]\n".to_owned(),
        };
        text.push_str(&format!(
            "  t{i}:\n    uses: shell\n{deps}    check: {{ uses: shell, with: {{ run: 'grep -qx t{i} done.log' }} }}\n    with: {{ run: 'echo t{i} >> starts.log; sleep 0.12; echo t{i} >> done.log' }}\n"
        ));
    }
    text
}

fn counts(text: &str) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        *map.entry(line.to_owned()).or_default() += 1;
    }
    map
}

/// For each task, the `start` records that come after its `done` record in the journal: a
/// task that ran again after it was recorded as succeeded.
fn restarted_after_done(journal: &str) -> Vec<String> {
    let mut done = std::collections::BTreeSet::new();
    let mut again = Vec::new();
    for line in journal.lines() {
        let Some((_, body)) = line.split_once(' ') else { continue };
        let Ok(record) = serde_json::from_str::<serde_json::Value>(body) else { continue };
        let task = record["task"].as_str().unwrap_or_default().to_owned();
        match record["t"].as_str() {
            Some("done") => {
                done.insert(task);
            }
            Some("start") if done.contains(&task) => again.push(task),
            _ => {}
        }
    }
    again
}

#[test]
fn sigkill_at_many_points_then_resume_runs_everything_exactly_once() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &runbook());
    // Each round waits until a task has started (a line is added to starts.log), then kills
    // drctl so many ms later: right at the start, mid-task, and near its end, where the task's
    // work may be done but its `done` record not yet written (its check then decides). Three
    // tasks run at once, so five rounds leave work for the last kill.
    let delays_ms = [0, 100, 20, 110, 50];
    let mut run_id: Option<String> = None;
    for (n, delay) in delays_ms.iter().enumerate() {
        let args: Vec<String> = match &run_id {
            None => vec!["run".into(), "rb.yaml".into(), "--progress".into(), "plain".into()],
            Some(id) => vec!["resume".into(), id.clone(), "--break-lock".into(), "--progress".into(), "plain".into()],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = sb.read("starts.log").lines().count();
        let mut child = sb.command(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn drctl");
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while sb.read("starts.log").lines().count() == before {
            if std::time::Instant::now() > until || child.try_wait().expect("try_wait").is_some() {
                let _ = child.kill();
                let out = child.wait_with_output().expect("wait");
                panic!(
                    "round {n}: no task started; drctl: {:?}\n{}\nstarts: {:?}\ndone: {:?}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    counts(&sb.read("starts.log")),
                    counts(&sb.read("done.log"))
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(*delay));
        // The task that just started takes 120 ms: drctl must still be running.
        assert!(child.try_wait().expect("try_wait").is_none(), "round {n}: drctl ended before the kill");
        let _ = child.kill(); // SIGKILL
        let out = child.wait_with_output().expect("wait");
        if run_id.is_none() {
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            run_id = stdout.lines().find_map(|l| l.strip_prefix("run ")).map(str::to_owned);
            assert!(run_id.is_some(), "kill {n}: no run id printed before the first task started");
        }
    }
    let landed = delays_ms.len();
    let id = run_id.expect("run id");
    let ran = sb.run(&["resume", &id, "--break-lock"]);
    assert_eq!(ran.code, 0, "the first resume after the kills must finish the run: {}", ran.stderr);
    let done = counts(&sb.read("done.log"));
    assert_eq!(done.len(), 12, "{done:?}");
    assert!(done.values().all(|&c| c == 1), "a task finished twice: {done:?}");
    // Every start of a task shows in starts.log; a task runs again only when a kill caught it
    // mid-flight, so no task started more often than there were kills, plus its first start.
    let starts = counts(&sb.read("starts.log"));
    assert_eq!(starts.len(), 12, "{starts:?}");
    assert!(starts.values().all(|&c| c <= 1 + landed), "{starts:?}");
    let journal = std::fs::read_to_string(sb.path().join(".drctl/runs").join(&id).join("journal.log")).unwrap();
    assert_eq!(restarted_after_done(&journal), Vec::<String>::new(), "a succeeded task started again");
    let states = sb.task_states(&id);
    assert_eq!(states.len(), 12);
    assert!(states.values().all(|(s, _)| s == "succeeded"), "{states:?}");
    let status = sb.status(&id);
    assert_eq!(status["state"], "succeeded");
    let audit = status["audit"].as_array().unwrap();
    assert!(audit.iter().any(|a| a["action"] == "breaklock"), "stale locks are broken explicitly and audited");
}

/// Waits until `name` exists in the sandbox; panics after `limit`.
fn wait_for(sb: &Sandbox, name: &str, limit: Duration) {
    let until = std::time::Instant::now() + limit;
    while !sb.path().join(name).exists() {
        assert!(std::time::Instant::now() < until, "{name} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `drctl run rb.yaml` in the sandbox, with its output captured.
fn spawn_run(sb: &Sandbox) -> std::process::Child {
    spawn_run_with(sb, &[])
}

/// Starts `drctl run rb.yaml --progress plain` with `extra` flags, its output piped.
fn spawn_run_with(sb: &Sandbox, extra: &[&str]) -> std::process::Child {
    let mut args = vec!["run", "rb.yaml", "--progress", "plain"];
    args.extend_from_slice(extra);
    sb.command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn drctl")
}

/// A runbook of `n` independent shell tasks `w0`, `w1`, ..., task `i` running `run(i)`.
fn burst(n: usize, run: impl Fn(usize) -> String) -> String {
    let mut text = String::from("version: 1\nname: burst\ntasks:\n");
    for i in 0..n {
        text.push_str(&format!("  w{i}: {{ uses: shell, with: {{ run: '{}' }} }}\n", run(i)));
    }
    text
}

/// Ctrl-C, as a terminal sends it.
fn sigint(child: &std::process::Child) {
    signal(child, libc::SIGINT);
}

fn signal(child: &std::process::Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// SIGKILL to a process group (a task's command runs in a group of its own).
fn kill_group(pid: libc::pid_t) {
    // SAFETY: signalling a process group this test started, through drctl.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// A crash of the whole machine while two tasks run: drctl and both commands die at once.
/// Resume finds both in doubt and runs their checks: `done-first`'s work was complete, so it
/// is marked succeeded without running again; `half-done`'s was not, so it runs again, with
/// the same idempotency key as before the crash.
#[test]
fn tasks_caught_mid_flight_are_checked_and_rerun_with_the_same_idempotency_key() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: in-doubt
tasks:
  done-first:
    uses: shell
    check: { uses: shell, with: { run: 'test -f work-a' } }
    with:
      run: 'echo "$DRCTL_IDEMPOTENCY_KEY" >> keys-a; touch work-a; if [ ! -f pid-a ]; then echo $$ > pid-a.tmp; mv pid-a.tmp pid-a; sleep 30; fi'
  half-done:
    uses: shell
    check: { uses: shell, with: { run: 'test -f work-b' } }
    with:
      run: 'echo "$DRCTL_IDEMPOTENCY_KEY" >> keys-b; if [ ! -f pid-b ]; then echo $$ > pid-b.tmp; mv pid-b.tmp pid-b; sleep 30; fi; touch work-b'
"#,
    );
    let mut child = sb
        .command(&["run", "rb.yaml", "--progress", "plain"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn drctl");
    wait_for(&sb, "pid-a", Duration::from_secs(20));
    wait_for(&sb, "pid-b", Duration::from_secs(20));
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait");
    for name in ["pid-a", "pid-b"] {
        let pid: libc::pid_t = sb.read(name).trim().parse().expect("pid");
        kill_group(pid);
    }
    let id =
        String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("run ")).expect("run id").to_owned();
    assert_eq!(sb.status(&id)["state"], "interrupted");

    let ran = sb.run(&["resume", &id, "--break-lock", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for task in ["done-first", "half-done"] {
        assert!(
            ran.stderr.contains(&format!("{task} was running when the run stopped; running its check first")),
            "the operator is told {task} was in doubt: {}",
            ran.stderr
        );
    }
    assert!(ran.stderr.contains("done-first was already done (check passed)"), "{}", ran.stderr);
    let keys_a: Vec<String> = sb.read("keys-a").lines().map(str::to_owned).collect();
    assert_eq!(keys_a.len(), 1, "done-first ran again: {keys_a:?}");
    let keys_b: Vec<String> = sb.read("keys-b").lines().map(str::to_owned).collect();
    assert_eq!(keys_b.len(), 2, "half-done ran exactly once more: {keys_b:?}");
    assert_eq!(keys_b[0], keys_b[1], "the idempotency key survives the crash");
    assert_eq!(keys_b[0].len(), 64, "a sha256 in hex: {}", keys_b[0]);
    assert_ne!(keys_a[0], keys_b[0], "each task has its own key");
    assert!(sb.path().join("work-b").exists());
    let states = sb.task_states(&id);
    assert_eq!(states["done-first"].0, "succeeded");
    assert_eq!(states["half-done"].0, "succeeded");
}

#[test]
fn a_stale_lock_is_reported_and_not_broken_silently() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &runbook());
    let mut child = sb.command(&["run", "rb.yaml"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = stdout.lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned();
    let ran = sb.run(&["resume", &id]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("stale lock") && ran.stderr.contains("--break-lock"), "{}", ran.stderr);
    assert_eq!(sb.status(&id)["state"], "interrupted");
}

#[test]
fn ctrl_c_finishes_running_tasks_and_prints_the_resume_command() {
    interrupted_by(&[libc::SIGINT]);
}

/// A CI job's timeout (SIGTERM) and a dropped SSH session (SIGHUP) interrupt a run as Ctrl-C
/// does: no stale lock, no task left in doubt. A dropped session through a login shell sends
/// SIGHUP twice (the kernel, then the shell to its jobs): that is still one interrupt.
#[test]
fn sigterm_and_sighup_interrupt_like_ctrl_c() {
    interrupted_by(&[libc::SIGTERM]);
    interrupted_by(&[libc::SIGHUP]);
    interrupted_by(&[libc::SIGHUP, libc::SIGHUP]);
}

fn interrupted_by(signals: &[libc::c_int]) {
    let sig = signals[0];
    let sb = Sandbox::new();
    sb.write("rb.yaml", &runbook());
    let child = spawn_run(&sb);
    // Interrupt once t0 has started; it takes 120 ms, so it is almost always still running.
    wait_for(&sb, "starts.log", Duration::from_secs(20));
    for &sig in signals {
        signal(&child, sig);
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "signal {sig}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("drctl resume"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout.lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned();
    // Nothing was left mid-flight: the running task finished, and nothing new started.
    let states = sb.task_states(&id);
    assert!(states.values().all(|(s, _)| s != "running"), "{states:?}");
    assert_eq!(states["t0"].0, "succeeded", "the running task was allowed to finish");
    assert_eq!(sb.status(&id)["state"], "interrupted");
    let started = counts(&sb.read("starts.log"));
    let done = counts(&sb.read("done.log"));
    assert!(!started.is_empty());
    assert_eq!(started, done, "running tasks were allowed to finish");
    assert!(started.len() < 12, "the run stopped starting tasks: {started:?}");
    let ran = sb.run(&["resume", &id]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let done = counts(&sb.read("done.log"));
    assert_eq!(done.len(), 12);
    assert!(done.values().all(|&c| c == 1), "{done:?}");
}

/// Runs rb.yaml, whose command appends a line to tries.log, and sends Ctrl-C once the second
/// attempt has started; returns the run id of the interrupted run (exit 130).
fn ctrl_c_during_the_second_attempt(sb: &Sandbox) -> String {
    let child = spawn_run(sb);
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(sb.path().join("tries.log")).unwrap_or_default().lines().count() < 2 {
        assert!(std::time::Instant::now() < until, "the second attempt never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned()
}

#[test]
fn resume_after_ctrl_c_goes_on_with_the_attempts_left() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: flaky\ntasks:\n  flaky:\n    uses: shell\n    retry: { attempts: 4, backoff: constant, delay: 300ms, jitter: false }\n    with: { run: 'echo try >> tries.log; [ -f ok ]' }\n",
    );
    let id = ctrl_c_during_the_second_attempt(&sb);
    let tries = || sb.read("tries.log").lines().count();
    assert_eq!(tries(), 2);
    // Two of the four attempts are left: resume uses them, not four more.
    let ran = sb.run(&["resume", &id]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(tries(), 4, "{}", ran.stderr);
    assert_eq!(sb.task_states(&id)["flaky"], ("failed".to_owned(), 4));
    // Resuming a task that failed is a decision to try again: its attempts start afresh.
    sb.write("ok", "");
    let ran = sb.run(&["resume", &id]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(tries(), 5);
}

#[test]
fn the_retry_budget_left_bounds_the_first_attempt_after_a_resume() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: budget\ntasks:\n  slow:\n    uses: shell\n    retry: { attempts: 5, backoff: constant, delay: 300ms, jitter: false, budget: 5s, retry_on: [any] }\n    with: { run: 'echo try >> tries.log; sleep 2; exit 1' }\n",
    );
    let id = ctrl_c_during_the_second_attempt(&sb);
    // Two 2 s attempts and a 300 ms wait used 4.3 s of the 5 s: the next attempt gets what is
    // left, not another 2 s.
    let started = std::time::Instant::now();
    let ran = sb.run(&["resume", &id]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(started.elapsed() < Duration::from_millis(1800), "took {:?}: {}", started.elapsed(), ran.stderr);
    assert!(ran.stderr.contains("attempt cut off: retry budget of 5s spent"), "{}", ran.stderr);
}

#[test]
fn a_second_ctrl_c_cancels_running_tasks() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: cancel\ntasks:\n  long:\n    uses: shell\n    with: { run: 'touch started; [ -f go-on ] || sleep 30; touch finished' }\n  after:\n    uses: shell\n    depends_on: [long]\n    with: { run: 'touch after' }\n",
    );
    let child = spawn_run(&sb);
    wait_for(&sb, "started", Duration::from_secs(20));
    let started = std::time::Instant::now();
    for _ in 0..2 {
        sigint(&child);
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(25), "the 30 s command was not cancelled");
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!sb.path().join("finished").exists());
    assert!(!sb.path().join("after").exists());
    let id = String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned();
    let states = sb.task_states(&id);
    assert_eq!(states["long"].0, "cancelled", "{states:?}");
    assert_eq!(states["after"].0, "pending", "undecided, not skipped: {states:?}");
    assert_eq!(sb.status(&id)["state"], "interrupted");
    sb.write("go-on", "");
    let ran = sb.run(&["resume", &id]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(sb.path().join("finished").exists() && sb.path().join("after").exists());
    // The report still tells the cancelled first attempt from the one that succeeded.
    let junit = sb.run(&["report", &id, "--format", "junit"]);
    assert_eq!(junit.code, 0, "{}", junit.stderr);
    let attempt = |n: u32| junit.stdout.lines().find(|l| l.contains(&format!("attempt {n} at"))).map(str::to_owned);
    assert!(attempt(1).is_some_and(|l| l.contains("): cancelled")), "{}", junit.stdout);
    assert!(attempt(2).is_some_and(|l| l.contains("): ok")), "{}", junit.stdout);
    // ... and the Retries section lists the attempt that had to be made again.
    let markdown = sb.run(&["report", &id, "--format", "markdown"]);
    assert!(markdown.stdout.contains("- **long** succeeded on attempt 2:"), "{}", markdown.stdout);
    assert!(markdown.stdout.contains("  - attempt 1 (cancelled, "), "{}", markdown.stdout);
}

#[test]
fn a_torn_last_record_is_cut_off_and_the_run_resumes_again_and_again() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: torn\ntasks:\n  a:\n    uses: shell\n    with: { run: 'echo a >> done.log' }\n  b:\n    uses: shell\n    depends_on: [a]\n    with: { run: 'echo b >> done.log' }\n",
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let id = ran.run_id();
    // A crash while `b`'s `done` record was being written: the journal ends mid-record.
    let journal = sb.path().join(".drctl/runs").join(&id).join("journal.log");
    let text = std::fs::read_to_string(&journal).unwrap();
    let done_b = text.find("\"t\":\"done\",\"task\":\"b\"").expect("b's done record");
    let line_start = text[..done_b].rfind('\n').map_or(0, |i| i + 1);
    std::fs::write(&journal, &text[..done_b + 10]).unwrap();
    assert!(line_start < done_b);
    for round in 0..2 {
        let ran = sb.run(&["resume", &id]);
        assert_eq!(ran.code, 0, "resume {round}: {}", ran.stderr);
        if round == 0 {
            assert!(ran.stderr.contains("last record was cut short"), "{}", ran.stderr);
        }
    }
    assert_eq!(sb.status(&id)["state"], "succeeded");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.ends_with('\n'));
    for (n, line) in text.lines().enumerate() {
        let (crc, body) = line.split_once(' ').unwrap_or_else(|| panic!("line {}: {line}", n + 1));
        assert_eq!(crc.len(), 8, "line {}: {line}", n + 1);
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok(), "line {} is damaged: {line}", n + 1);
    }
    // `b` ran again after the crash (its `done` was never written), `a` did not.
    let done = counts(&sb.read("done.log"));
    assert_eq!(done.get("a"), Some(&1), "{done:?}");
    assert_eq!(done.get("b"), Some(&2), "{done:?}");
}

/// A task marked done by its check keeps the outputs its interrupted attempt wrote, with the
/// probe's own on top; its dependents read them.
#[test]
fn a_task_marked_done_by_its_check_hands_its_outputs_on() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: check-outputs
tasks:
  net:
    uses: shell
    check: { uses: shell, with: { run: 'test -f vcn && echo "region=dest" >> "$DRCTL_OUTPUT"' } }
    with:
      run: 'echo "vcn_id=vcn-1" >> "$DRCTL_OUTPUT"; touch vcn; echo $$ > pid.tmp; mv pid.tmp pid; sleep 2'
  app:
    uses: shell
    with: { run: 'echo "${{ tasks.net.outputs.vcn_id }} in ${{ tasks.net.outputs.region }}" > app' }
"#,
    );
    let mut child = spawn_run(&sb);
    wait_for(&sb, "pid", Duration::from_secs(20));
    // drctl dies; the command goes on and ends by itself.
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait");
    let id =
        String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("run ")).expect("run id").to_owned();
    let ran = sb.run(&["resume", &id, "--break-lock", "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("net was already done (check passed)"), "{}", ran.stderr);
    assert_eq!(sb.read("app").trim(), "vcn-1 in dest");
}

/// After a crash, an operator who finished a step by hand skips it; its dependents run. While
/// the run is being driven, `status` counts its time up to now.
#[test]
fn a_task_left_running_by_a_crash_can_be_skipped_and_a_live_run_shows_its_time_so_far() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: by-hand
tasks:
  slow:
    uses: shell
    with: { run: 'echo $$ > pid.tmp; mv pid.tmp pid; sleep 30' }
  next:
    uses: shell
    depends_on: [slow]
    with: { run: 'touch next' }
"#,
    );
    let mut child = spawn_run(&sb);
    wait_for(&sb, "pid", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1200));
    let runs: serde_json::Value = serde_json::from_str(&sb.run(&["runs", "-o", "json"]).stdout).expect("runs json");
    let id = runs[0]["run_id"].as_str().expect("run id").to_owned();
    let live = sb.status(&id);
    assert_eq!(live["state"], "running");
    assert!(live["elapsed_ms"].as_u64().unwrap_or(0) >= 1000, "{live}");
    let _ = child.kill();
    let _ = child.wait();
    let pid: libc::pid_t = sb.read("pid").trim().parse().expect("pid");
    kill_group(pid);
    let skipped = sb.run(&["skip", &id, "slow", "--reason", "finished by hand", "--break-lock"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert!(sb.path().join("next").exists());
    assert_eq!(sb.task_states(&id)["slow"].0, "skipped");
}

/// The resume command printed after Ctrl-C works as printed: a run given secrets by a params
/// file names that file (secrets are not stored), and the state directory.
#[test]
fn the_printed_resume_command_works_when_pasted() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: pasted
params:
  token: { type: string, secret: true, required: true }
tasks:
  first:
    uses: shell
    with: { run: 'touch started; sleep 1' }
  second:
    uses: shell
    depends_on: [first]
    with: { run: 'test -n "${{ params.token }}" && touch second' }
"#,
    );
    sb.write("my params.yaml", "token: s3cr3t-value\n");
    let child = sb
        .command(&[
            "run",
            "rb.yaml",
            "--params-file",
            "my params.yaml",
            "--state-dir",
            "state dir",
            "--progress",
            "plain",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drctl");
    wait_for(&sb, "started", Duration::from_secs(20));
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let command = stderr
        .lines()
        .find_map(|l| l.split_once("continue with: ").map(|(_, c)| c.to_owned()))
        .unwrap_or_else(|| panic!("no resume command: {stderr}"));
    assert!(command.contains("--params-file"), "{command}");
    let (code, stderr) = sb.paste(&command);
    assert_eq!(code, Some(0), "{command}: {stderr}");
    assert!(sb.path().join("second").exists());
}

#[test]
fn a_broken_lock_is_audited_even_when_the_resume_then_refuses() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: lock\nparams:\n  tok: { type: string, secret: true }\ntasks:\n  t:\n    uses: shell\n    with: { run: 'test -f go' }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", "tok=abc"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let id = ran.run_id();
    let lock = sb.path().join(".drctl/runs").join(&id).join("lock");
    // A lock of a drctl on another host: drctl cannot check it, the operator can break it.
    std::fs::write(&lock, "4242 gone-host 7\n").unwrap();
    let refused = sb.run(&["resume", &id, "-p", "tok=abc"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("gone-host") && refused.stderr.contains("--break-lock"), "{}", refused.stderr);
    // Broken, then the resume refuses (the secret is not given again): the break is on record.
    let refused = sb.run(&["resume", &id, "--break-lock"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("secret parameter `tok`"), "{}", refused.stderr);
    assert!(!lock.exists());
    let audit = sb.status(&id)["audit"].as_array().unwrap().clone();
    assert!(
        audit.iter().any(|a| a["action"] == "breaklock" && a["reason"].as_str().unwrap().contains("gone-host")),
        "{audit:?}"
    );
}

/// Runs `rb.yaml` and SIGKILLs drctl alone once its task has written `work.log`: the task's
/// command runs on. Returns the run id.
fn kill_drctl_once_work_started(sb: &Sandbox) -> String {
    let mut child = spawn_run(sb);
    wait_for(sb, "work.log", Duration::from_secs(20));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned()
}

/// `drctl resume ID --break-lock` in the background, once its resume is in the journal;
/// returns the process and the journal's path.
fn resume_started(sb: &Sandbox, id: &str) -> (std::process::Child, std::path::PathBuf) {
    let resumed = sb
        .command(&["resume", id, "--break-lock", "--progress", "plain"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drctl");
    let journal = sb.path().join(".drctl/runs").join(id).join("journal.log");
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&journal).unwrap_or_default().contains("\"action\":\"resume\"") {
        assert!(std::time::Instant::now() < until, "the resume never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    (resumed, journal)
}

/// Resume waits for a command that a crashed segment left running. A second Ctrl-C during
/// that wait cancels it, killing the command, and the task stays in doubt: the next resume
/// runs its check, which finds the work unfinished, and runs the task again.
#[test]
fn a_second_ctrl_c_while_resume_waits_for_a_leftover_command_kills_it_and_keeps_the_task_in_doubt() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: leftover\ntasks:\n  a:\n    uses: shell\n    check: { uses: shell, with: { run: 'grep -q end work.log' } }\n    with: { run: 'echo start >> work.log; sleep 2; echo end >> work.log' }\n",
    );
    let id = kill_drctl_once_work_started(&sb);
    let (resumed, _) = resume_started(&sb, &id);
    std::thread::sleep(Duration::from_millis(200));
    sigint(&resumed);
    std::thread::sleep(Duration::from_millis(200));
    sigint(&resumed);
    let out = resumed.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("waiting for pid"), "{stderr}");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(sb.read("work.log"), "start\n", "the leftover command was not stopped");
    let ran = sb.run(&["resume", &id, "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("running its check first"), "{}", ran.stderr);
    assert_eq!(sb.read("work.log"), "start\nstart\nend\n");
}

#[test]
fn a_task_whose_command_a_crash_left_running_is_not_skipped_until_the_command_ends() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: skip-leftover\ntasks:\n  a: { uses: shell, with: { run: 'echo start >> work.log; sleep 1; echo end >> work.log' } }\n  b: { uses: shell, depends_on: [a], with: { run: 'cat work.log > seen-by-b' } }\n",
    );
    let id = kill_drctl_once_work_started(&sb);
    // `status` says the task is in doubt, and whether its command still runs.
    let status = sb.status(&id);
    assert_eq!((status["state"].as_str(), status["tasks"][0]["in_doubt"].as_bool()), (Some("interrupted"), Some(true)));
    assert!(status["tasks"][0]["pid"].as_u64().is_some(), "{status}");
    let text = sb.run(&["status", &id]);
    assert!(text.stdout.contains(") is still running"), "{}", text.stdout);
    let refused = sb.run(&["skip", &id, "a", "--reason", "done by hand", "--break-lock"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("is still running"), "{}", refused.stderr);
    std::thread::sleep(Duration::from_millis(1500));
    let text = sb.run(&["status", &id]);
    assert!(
        text.stdout.contains("in doubt: drctl stopped while it ran; `drctl resume` runs its check"),
        "{}",
        text.stdout
    );
    let skipped = sb.run(&["skip", &id, "a", "--reason", "done by hand"]);
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert_eq!(sb.read("seen-by-b"), "start\nend\n", "b started before a's command ended");
}

/// A task cancelled by a second Ctrl-C is in doubt: when its check finds the work done, its
/// outputs are what the cancelled attempt wrote, with the check's own on top.
#[test]
fn a_task_cancelled_by_a_second_ctrl_c_keeps_what_it_wrote_when_its_check_passes() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: cancelled\ntasks:\n  a:\n    uses: shell\n    check: { uses: shell, with: { run: 'echo ck=2 >> \"$DRCTL_OUTPUT\"' } }\n    with: { run: 'echo part=1 >> \"$DRCTL_OUTPUT\"; touch started; sleep 5' }\n  b:\n    uses: shell\n    depends_on: [a]\n    with: { run: 'echo ${{ tasks.a.outputs.part }} ${{ tasks.a.outputs.ck }} > b.out' }\n",
    );
    let child = spawn_run(&sb);
    wait_for(&sb, "started", Duration::from_secs(20));
    sigint(&child);
    std::thread::sleep(Duration::from_millis(200));
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned();
    let ran = sb.run(&["resume", &id]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(sb.read("b.out").trim(), "1 2");
}

/// What an attempt wrote to `$DRCTL_OUTPUT` stays in the run's scratch directory while a
/// resume may read it, and no longer: a secret output is not left there in clear.
#[test]
fn a_secret_output_of_an_attempt_a_crash_interrupted_is_not_left_on_disk() {
    for how in ["resume", "skip", "skip and resume"] {
        let sb = Sandbox::new();
        sb.write(
            "rb.yaml",
            "version: 1\nname: leftover-secret\ntasks:\n  a:\n    uses: shell\n    secret_outputs: [pw]\n    with: { run: 'echo \"pw=Gen$((1000+7))Pass\" >> \"$DRCTL_OUTPUT\"; echo start >> work.log; sleep 1' }\n",
        );
        let id = kill_drctl_once_work_started(&sb);
        std::thread::sleep(Duration::from_millis(1200));
        // The interrupted attempt's output file is there, secret and all, before anything runs.
        let left: Vec<_> =
            sb.all_files().into_iter().filter(|(path, _)| path.extension().is_some_and(|e| e == "out")).collect();
        assert!(
            left.iter().any(|(_, bytes)| String::from_utf8_lossy(bytes).contains("Gen1007Pass")),
            "{how}: {left:?}"
        );
        let ran = match how {
            "resume" => sb.run(&["resume", &id, "--break-lock", "--progress", "plain"]),
            "skip" => sb.run(&["skip", &id, "a", "--reason", "by hand", "--break-lock", "--no-resume"]),
            _ => sb.run(&["skip", &id, "a", "--reason", "by hand", "--break-lock", "--progress", "plain"]),
        };
        assert_eq!(ran.code, 0, "{how}: {}", ran.stderr);
        for (path, bytes) in sb.all_files() {
            assert!(!String::from_utf8_lossy(&bytes).contains("Gen1007Pass"), "{how}: in {}", path.display());
        }
    }
}

/// A first Ctrl-C while resume waits for a command a crash left running starts no new
/// attempt: the task keeps the attempts it has left for the next resume.
#[test]
fn a_first_ctrl_c_while_resume_waits_for_a_leftover_command_starts_no_attempt() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: leftover-stop\ntasks:\n  a:\n    uses: shell\n    retry: { attempts: 3, delay: 10ms }\n    with: { run: 'echo start >> work.log; sleep 1; exit 1' }\n",
    );
    let id = kill_drctl_once_work_started(&sb);
    let (resumed, journal) = resume_started(&sb, &id);
    std::thread::sleep(Duration::from_millis(200));
    sigint(&resumed);
    let out = resumed.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let starts = std::fs::read_to_string(&journal).unwrap().matches("\"t\":\"start\"").count();
    assert_eq!(starts, 1, "no attempt was started after the Ctrl-C");
    let ran = sb.run(&["resume", &id, "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(sb.read("work.log"), "start\nstart\nstart\n", "three attempts in all");
}

/// A last record written whole (its newline is there) that does not read was damaged after it
/// was written: resume stops and names the line rather than cut it off and run the task again.
#[test]
fn a_whole_last_record_that_is_damaged_stops_the_resume() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: damaged\ntasks:\n  a:\n    uses: shell\n    with: { run: 'echo a >> done.log; echo \"y=2\" >> \"$DRCTL_OUTPUT\"' }\n  b:\n    uses: shell\n    depends_on: [a]\n    with: { run: 'echo b >> done.log' }\n",
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let id = ran.run_id();
    let journal = sb.path().join(".drctl/runs").join(&id).join("journal.log");
    let text = std::fs::read_to_string(&journal).unwrap();
    let done_a = text.find("\"t\":\"done\",\"task\":\"a\"").expect("a's done record");
    let line_end = done_a + text[done_a..].find('\n').unwrap() + 1;
    let damaged = text[..line_end].replace("\"y\":\"2\"", "\"y\":\"3\"");
    assert_ne!(damaged, text[..line_end], "the output is in the record");
    std::fs::write(&journal, &damaged).unwrap();
    let line = damaged.lines().count();
    let resumed = sb.run(&["resume", &id]);
    assert_ne!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stderr.contains(&format!("line {line}")), "names the line: {}", resumed.stderr);
    assert!(resumed.stderr.contains("does not match its checksum"), "{}", resumed.stderr);
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), damaged, "the damaged record is kept");
    assert_eq!(counts(&sb.read("done.log")).get("a"), Some(&1), "a did not run again");
    // Text put between two records is not a record at all, and is named as such.
    let inserted = text.replacen('\n', "\nnote: a by hand\n", 1);
    std::fs::write(&journal, &inserted).unwrap();
    let resumed = sb.run(&["resume", &id]);
    assert_ne!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stderr.contains("line 2") && resumed.stderr.contains("not a journal record"), "{}", resumed.stderr);
}

/// A `for_each` task that cannot start again after a crash (it reads a secret output that was
/// never stored) fails instance by instance, where `status` lists them.
#[test]
fn a_for_each_task_failing_before_it_starts_again_shows_the_failure_on_its_instances() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: fe-withheld\ntasks:\n  s: { uses: shell, secret_outputs: [tok], with: { run: 'echo tok=abcdefgh >> \"$DRCTL_OUTPUT\"' } }\n  f: { uses: shell, for_each: [one, two], with: { run: 'echo x >> work.log; sleep 1; echo ${{ tasks.s.outputs.tok }}' } }\n",
    );
    let id = kill_drctl_once_work_started(&sb);
    std::thread::sleep(Duration::from_millis(1200));
    let resumed = sb.run(&["resume", &id, "--break-lock"]);
    assert_eq!(resumed.code, 1, "{}", resumed.stderr);
    let status = sb.status(&id);
    for key in ["f[one]", "f[two]"] {
        let task = status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == key).expect("listed").clone();
        assert_eq!(task["state"], "failed", "{status}");
        assert!(task["error"].as_str().unwrap_or_default().contains("held a secret"), "{task}");
    }
}

/// Ctrl-C while the last task runs: it is allowed to finish, and then nothing is left to do.
/// The run is complete (exit 0, `succeeded`), not waiting for a resume that has nothing to run.
#[test]
fn an_interrupt_during_the_last_task_leaves_a_complete_run() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: last\ntasks:\n  first: { uses: shell, with: { run: 'true' } }\n  only:\n    uses: shell\n    \
         depends_on: [first]\n    with: { run: 'touch started; sleep 0.5; echo done >> done.log' }\n",
    );
    let child = spawn_run(&sb);
    wait_for(&sb, "started", Duration::from_secs(20));
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("drctl resume"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout.lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned();
    assert_eq!(sb.status(&id)["state"], "succeeded");
    assert_eq!(sb.read("done.log"), "done\n");

    // With a failure `on_failure: continue` let through, it ends failed, as without the interrupt.
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: last\ntasks:\n  bad: { uses: shell, on_failure: continue, retry: { attempts: 1 }, with: { run: \
         'exit 3' } }\n  only:\n    uses: shell\n    with: { run: 'touch started; sleep 0.5' }\n",
    );
    let child = spawn_run(&sb);
    wait_for(&sb, "started", Duration::from_secs(20));
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A state directory that fills up mid-run: the run ends failed, and every task shown as
/// finished is either on record as done or named as in doubt (its progress line can come before
/// its record reaches the disk); after space is freed, resume runs the rest. Needs a small tmpfs (root with mount rights); skipped where mounting is refused.
#[test]
fn a_full_state_directory_names_the_tasks_in_doubt() {
    let sb = Sandbox::new();
    let state = sb.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&state)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs here");
        return;
    }
    let filler = state.join("filler");
    let mut text = format!(
        "version: 1\nname: full\ndefaults: {{ retry: {{ attempts: 1 }} }}\ntasks:\n  fill:\n    uses: shell\n    with: {{ run: \
         'head -c 200000 /dev/zero > {} ; true' }}\n",
        filler.display()
    );
    let mut previous = "fill".to_owned();
    for i in 0..40 {
        text.push_str(&format!(
            "  t{i}:\n    uses: shell\n    depends_on: [{previous}]\n    with: {{ run: 'echo t{i} >> count' }}\n"
        ));
        previous = format!("t{i}");
    }
    sb.write("rb.yaml", &text);
    let state_arg = state.to_str().unwrap();
    let ran = sb.run(&["run", "rb.yaml", "--state-dir", state_arg, "--progress", "plain"]);
    let cleanup = || {
        let _ = std::process::Command::new("umount").arg(&state).status();
    };
    // The failure names the file it could not write, so the operator knows which disk filled.
    let named_file = format!("{}/runs/", state.display());
    if ran.code != 1 || !ran.stderr.contains("journal write failed") || !ran.stderr.contains(&named_file) {
        cleanup();
        panic!("the run should have failed on the full disk: {}\n{}", ran.code, ran.stderr);
    }
    let id = ran.run_id();
    let status = sb.run(&["status", &id, "--state-dir", state_arg, "-o", "json"]);
    let named = ran
        .stderr
        .lines()
        .find_map(|l| l.split_once("in doubt (even if shown as finished above): "))
        .map(|(_, ids)| ids);
    let shown: Vec<&str> = ran
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().split_once("✔ "))
        .filter_map(|(_, rest)| rest.split(' ').next())
        .collect();
    std::fs::remove_file(&filler).ok();
    let resumed = sb.run(&["resume", &id, "--state-dir", state_arg]);
    cleanup();
    assert_eq!(status.code, 0, "{}", status.stderr);
    let recorded: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let done =
        |id: &str| recorded["tasks"].as_array().unwrap().iter().any(|t| t["id"] == id && t["state"] == "succeeded");
    assert!(!shown.is_empty(), "{}", ran.stderr);
    for id in shown {
        let in_doubt = named.is_some_and(|ids| ids.split(", ").any(|n| n == id));
        assert!(done(id) || in_doubt, "{id} was shown finished, but is neither on record nor named: {}", ran.stderr);
    }
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let count = sb.read("count");
    for i in 0..40 {
        assert!(count.lines().any(|l| l == format!("t{i}")), "t{i} never ran: {count}");
    }
}

/// The run directory's copy of the runbook is lost, but the file the run started from is still
/// there, unchanged: resume uses it (and copies it back) rather than refuse.
#[test]
fn a_lost_runbook_copy_is_taken_from_the_unchanged_original() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: copy\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  after: { uses: shell, \
         depends_on: [gate], with: { run: 'echo after >> after.log' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let id = ran.run_id();
    let copy = sb.path().join(".drctl/runs").join(&id).join("runbook.yaml");
    std::fs::remove_file(&copy).unwrap();
    let resumed = sb.run(&["resume", &id, "--yes"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert!(resumed.stderr.contains("copy of the runbook is gone"), "{}", resumed.stderr);
    assert!(copy.exists());
    assert_eq!(sb.read("after.log"), "after\n");
    // Changed since, it is not the run's runbook: refused, as before.
    std::fs::remove_file(&copy).unwrap();
    sb.write("rb.yaml", "version: 1\nname: other\ntasks:\n  x: { uses: sleep, with: { duration: 1ms } }\n");
    assert_ne!(sb.run(&["resume", &id, "--yes"]).code, 0);
}

/// Two Ctrl-Cs during a burst of command starts: whatever was being started when the run
/// ended is stopped, so no process of the run outlives it. Each command, once started,
/// records its own process group; every group must be gone after drctl exits.
#[test]
fn a_second_ctrl_c_during_a_burst_of_starts_leaves_no_process_behind() {
    let text = burst(150, |_| "echo $$ >> groups; sleep 5".to_owned());
    for round in 0..4u64 {
        let sb = Sandbox::new();
        sb.write("rb.yaml", &text);
        let child = spawn_run_with(&sb, &["--parallelism", "64"]);
        std::thread::sleep(Duration::from_millis(15 + 15 * round));
        signal(&child, libc::SIGINT);
        std::thread::sleep(Duration::from_millis(20));
        signal(&child, libc::SIGINT);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
        std::thread::sleep(Duration::from_millis(200));
        let groups = std::fs::read_to_string(sb.path().join("groups")).unwrap_or_default();
        let alive: Vec<&str> = groups.lines().filter(|pid| group_is_running(pid)).collect();
        for pid in &alive {
            if let Ok(group) = pid.parse::<libc::pid_t>() {
                // SAFETY: stopping the leftover group this test found.
                unsafe { libc::kill(-group, libc::SIGKILL) };
            }
        }
        assert!(alive.is_empty(), "round {round}: process groups left running: {alive:?}");
    }
}

/// Whether a process other than a zombie is in process group `group` (from `/proc`).
fn group_is_running(group: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else { return false };
    entries.flatten().any(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces, so read after its `)`.
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        fields.first().is_some_and(|state| *state != "Z") && fields.get(2) == Some(&group)
    })
}

/// A first Ctrl-C during bursts of command starts: a task whose attempt was recorded but had
/// not begun is pending again, with no attempt used, rather than in doubt; resume then runs
/// every task that had not run, each exactly once and as its first attempt.
#[test]
fn a_first_ctrl_c_during_a_burst_of_starts_leaves_no_task_in_doubt() {
    let text = burst(120, |i| format!("echo w{i} >> started; sleep 0.1"));
    for round in 0..8u64 {
        let sb = Sandbox::new();
        sb.write("rb.yaml", &text);
        let child = spawn_run_with(&sb, &["--parallelism", "40"]);
        // Into the first burst, or the second or third, as the first commands end.
        wait_for(&sb, "started", Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(17 * round));
        signal(&child, libc::SIGINT);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(0) {
            continue;
        }
        assert_eq!(out.status.code(), Some(130), "round {round}: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let id = stdout.lines().find_map(|l| l.strip_prefix("run ")).expect("run id").to_owned();
        let states = sb.task_states(&id);
        let started = counts(&sb.read("started"));
        for (task, (state, attempts)) in &states {
            let ran = started.get(task).copied().unwrap_or(0);
            match state.as_str() {
                "succeeded" => assert_eq!((ran, *attempts), (1, 1), "round {round}: {task}"),
                "pending" => assert_eq!((ran, *attempts), (0, 0), "round {round}: {task}"),
                other => panic!("round {round}: {task} is {other} after a first Ctrl-C: {stderr}"),
            }
        }
        let resumed = sb.run(&["resume", &id]);
        assert_eq!(resumed.code, 0, "round {round}: {}", resumed.stderr);
        assert!(!resumed.stderr.contains("was running when the run stopped"), "round {round}: {}", resumed.stderr);
        let started = counts(&sb.read("started"));
        for (task, (state, attempts)) in sb.task_states(&id) {
            assert_eq!((state.as_str(), attempts), ("succeeded", 1), "round {round}: {task}");
            assert_eq!(started.get(&task), Some(&1), "round {round}: {task} ran more or less than once");
        }
    }
}

/// A Ctrl-C typed at a terminal goes to drctl's whole process group, and so to a command caught
/// between its start and its move into a group of its own. Such a command is started again, so
/// no task fails of a signal meant for drctl: the run stops as after any first Ctrl-C, and each
/// task that started ran to its end, once.
#[test]
fn a_ctrl_c_to_drctls_process_group_during_starts_fails_no_task() {
    use std::os::unix::process::CommandExt;
    let text = burst(120, |i| format!("echo w{i} >> started; sleep 0.4"));
    for round in 0..8u64 {
        let sb = Sandbox::new();
        sb.write("rb.yaml", &text);
        let child = sb
            .command(&["run", "rb.yaml", "--progress", "plain", "--parallelism", "64"])
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn drctl");
        wait_for(&sb, "started", Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(3 * round));
        let group = libc::pid_t::try_from(child.id()).expect("pid");
        // SAFETY: signalling the process group this test started drctl in.
        unsafe { libc::kill(-group, libc::SIGINT) };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The signal came while the first 64 ran: the run was interrupted, not finished.
        assert_eq!(out.status.code(), Some(130), "round {round}: {stderr}");
        assert!(!stderr.contains("killed by signal"), "round {round}: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let id = stdout.lines().find_map(|l| l.strip_prefix("run ")).expect("run id").to_owned();
        let started = counts(&sb.read("started"));
        let states = sb.task_states(&id);
        assert!(states.values().any(|(state, _)| state == "pending"), "round {round}: nothing was left to resume");
        for (task, (state, attempts)) in states {
            let ran = started.get(&task).copied().unwrap_or(0);
            match state.as_str() {
                "succeeded" => assert_eq!((ran, attempts), (1, 1), "round {round}: {task}"),
                "pending" => assert_eq!((ran, attempts), (0, 0), "round {round}: {task}"),
                other => panic!("round {round}: {task} is {other} after a Ctrl-C to the group: {stderr}"),
            }
        }
    }
}

/// A signal while `run --sim` is still setting up (starting its simulator) interrupts the run
/// as it starts, rather than ending drctl by the signal's default action; resume then runs it.
#[test]
fn a_signal_while_the_run_sets_up_interrupts_it_as_it_starts() {
    for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
        // Past the parsing of the command line, into the simulator's set-up; sooner when the
        // set-up and the one task were done before the signal came.
        let interrupted = [60, 30, 15].into_iter().any(|wait| {
            let sb = Sandbox::new();
            sb.write(
                "rb.yaml",
                "version: 1\nname: early\ntasks:\n  t: { uses: shell, with: { run: 'echo ran >> ran.log' } }\n",
            );
            let child = spawn_run_with(&sb, &["--sim"]);
            std::thread::sleep(Duration::from_millis(wait));
            signal(&child, sig);
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() == Some(0) {
                return false;
            }
            assert_eq!(out.status.code(), Some(130), "signal {sig}: {stderr}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let id = stdout.lines().find_map(|l| l.strip_prefix("run ")).expect("run id").to_owned();
            let resumed = sb.run(&["resume", &id]);
            assert_eq!(resumed.code, 0, "{}", resumed.stderr);
            assert_eq!(sb.read("ran.log"), "ran\n");
            true
        });
        assert!(interrupted, "signal {sig} never came before the run had finished");
    }
}

/// Only the run directory's copy of the runbook was edited: resume says so, and how to put it
/// back, rather than that the user's runbook changed.
#[test]
fn an_edited_copy_of_the_runbook_is_named_as_the_change() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: copy\ntasks:\n  gate: { uses: approval, with: { message: go? } }\n  after: { uses: shell, depends_on: [gate], with: { run: 'true' } }\n");
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let id = ran.run_id();
    let copy = sb.path().join(".drctl/runs").join(&id).join("runbook.yaml");
    let kept = std::fs::read(&copy).unwrap();
    std::fs::write(&copy, [kept.as_slice(), b"# edited\n"].concat()).unwrap();
    let refused = sb.run(&["resume", &id, "--yes"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the run's copy of its runbook differs") && refused.stderr.contains("cp "),
        "{}",
        refused.stderr
    );
    std::fs::write(&copy, kept).unwrap();
    assert_eq!(sb.run(&["resume", &id, "--yes"]).code, 0);
}
