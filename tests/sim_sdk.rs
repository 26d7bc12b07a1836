//! Oracle's own clients against the simulator: runs tests/sim/sdk_smoke.py (Python SDK
//! oci==2.189.0 and oci-cli, installed by .ci/deps/sim.sh) against a simulator launched
//! exactly as `drctl sim --dir DIR` launches it. Skips, with a note, only when the Python
//! `oci` package is not importable, and fails then under `.ci/run`.

mod sim_support;

use std::process::Command;

use sim_support::TestSim;

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oracle_python_sdk_and_cli_accept_the_simulator() {
    let importable = Command::new(python()).args(["-c", "import oci, requests, cryptography"]).status();
    if !importable.is_ok_and(|s| s.success()) {
        let why = "python `oci` is not importable (run .ci/deps/sim.sh)";
        // `.ci/run` sets this: there a missing SDK is a broken install, not a reason to skip.
        assert!(std::env::var_os("DRCTL_TESTS_REQUIRE_TOOLS").is_none(), "required tool missing: {why}");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let sim = TestSim::start(|_| {}).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sim/sdk_smoke.py");
    let dir = sim.path().to_path_buf();
    // The oci-cli part always runs here, whatever the shell says.
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python()).arg(script).arg(dir).env_remove("SIM_SKIP_CLI").output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "sdk_smoke.py failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("ALL PASSED"), "{stdout}");
    let passed: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("PASS ")).collect();
    assert!(passed.len() >= 50, "{stdout}");
    for cli in ["oci network vcn create", "oci fn application list", "oci iam compartment delete"] {
        assert!(passed.iter().any(|p| p.starts_with(cli)), "{cli} did not pass: {stdout}");
    }
    sim.launched.stop().await;
}
