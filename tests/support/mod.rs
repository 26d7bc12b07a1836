//! Drives the real `drctl` binary in a temporary directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// The run id printed first by `run` and `resume`.
    pub fn run_id(&self) -> String {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix("run "))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no run id in stdout: {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// A test needs a tool this machine lacks. Outside CI the test is skipped with a note (a
/// developer without `docker-registry` can still run the rest); with
/// `DRCTL_TESTS_REQUIRE_TOOLS` set, as `.ci/run` sets it, the test fails instead, so a broken
/// install can never turn into a green run that tested nothing.
pub fn tool_missing(why: &str) {
    if std::env::var_os("DRCTL_TESTS_REQUIRE_TOOLS").is_some() {
        panic!("required tool missing: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// The most tasks running at once, from a log where each task writes `+` when it starts and
/// `-` when it ends (under `flock`, so lines never interleave).
pub fn peak_running(log: &str) -> i32 {
    let (mut running, mut peak) = (0, 0);
    for line in log.lines() {
        running += if line == "+" { 1 } else { -1 };
        peak = peak.max(running);
    }
    peak
}

pub fn drctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_drctl"))
}

impl Sandbox {
    /// Runs a command line drctl printed, as an operator pasting it into a shell here would:
    /// through `sh`, with this build's binary for `drctl`. Gives its exit code and stderr.
    pub fn paste(&self, command: &str) -> (Option<i32>, String) {
        let out = std::process::Command::new("sh")
            .args(["-c", &command.replacen("drctl", &drctl_bin().display().to_string(), 1)])
            .current_dir(self.path())
            .output()
            .expect("sh");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    pub fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(drctl_bin());
        cmd.args(args).current_dir(self.dir.path()).env("NO_COLOR", "1").env_remove("DRCTL_STATE_DIR");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Ran {
        let out: Output = self.command(args).output().expect("run drctl");
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `drctl status RUN -o json`, parsed.
    pub fn status(&self, run: &str) -> serde_json::Value {
        let ran = self.run(&["status", run, "-o", "json"]);
        assert_eq!(ran.code, 0, "status failed: {}", ran.stderr);
        serde_json::from_str(&ran.stdout).expect("status json")
    }

    /// The state of each task instance by id.
    pub fn task_states(&self, run: &str) -> std::collections::BTreeMap<String, (String, u64)> {
        let status = self.status(run);
        status["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap_or_default().to_owned(),
                    (t["state"].as_str().unwrap_or_default().to_owned(), t["attempts"].as_u64().unwrap_or(0)),
                )
            })
            .collect()
    }

    /// Every file under the sandbox, with its contents.
    pub fn all_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p, out);
                    } else if let Ok(bytes) = std::fs::read(&p) {
                        out.push((p, bytes));
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

pub mod registry;
