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

#[test]
fn sigkill_at_many_points_then_resume_runs_everything_exactly_once() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", &runbook());
    let delays_ms = [90, 170, 260, 330, 420, 510, 650];
    let mut run_id: Option<String> = None;
    for (n, delay) in delays_ms.iter().enumerate() {
        let args: Vec<String> = match &run_id {
            None => vec!["run".into(), "rb.yaml".into(), "--progress".into(), "plain".into()],
            Some(id) => vec!["resume".into(), id.clone(), "--break-lock".into(), "--progress".into(), "plain".into()],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = sb.command(&args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn drctl");
        std::thread::sleep(Duration::from_millis(*delay));
        let _ = child.kill(); // SIGKILL
        let out = child.wait_with_output().expect("wait");
        if run_id.is_none() {
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            run_id = stdout.lines().find_map(|l| l.strip_prefix("run ")).map(str::to_owned);
            assert!(run_id.is_some(), "kill {n}: no run id printed before {delay} ms");
        }
    }
    let id = run_id.expect("run id");
    let mut finished = false;
    for _ in 0..5 {
        let ran = sb.run(&["resume", &id, "--break-lock"]);
        if ran.code == 0 {
            finished = true;
            break;
        }
        assert!(ran.code == 1 || ran.code == 2, "unexpected exit {}: {}", ran.code, ran.stderr);
    }
    assert!(finished, "the run never finished");
    let done = counts(&sb.read("done.log"));
    assert_eq!(done.len(), 12, "{done:?}");
    assert!(done.values().all(|&c| c == 1), "a task finished twice: {done:?}");
    let states = sb.task_states(&id);
    assert!(states.values().all(|(s, _)| s == "succeeded"), "{states:?}");
    let status = sb.status(&id);
    assert_eq!(status["state"], "succeeded");
    let audit = status["audit"].as_array().unwrap();
    assert!(audit.iter().any(|a| a["action"] == "breaklock"), "stale locks are broken explicitly and audited");
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
    let sb = Sandbox::new();
    sb.write("rb.yaml", &runbook());
    let child = sb
        .command(&["run", "rb.yaml", "--progress", "plain"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("drctl resume"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout.lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned();
    // Nothing was left mid-flight: every started task finished.
    let states = sb.task_states(&id);
    assert!(states.values().all(|(s, _)| s != "running"), "{states:?}");
    assert_eq!(sb.status(&id)["state"], "interrupted");
    let started = counts(&sb.read("starts.log"));
    let done = counts(&sb.read("done.log"));
    assert_eq!(started, done, "running tasks were allowed to finish");
    let ran = sb.run(&["resume", &id]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let done = counts(&sb.read("done.log"));
    assert_eq!(done.len(), 12);
    assert!(done.values().all(|&c| c == 1), "{done:?}");
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
            assert!(ran.stderr.contains("torn"), "{}", ran.stderr);
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
