//! `drctl sim` as its own process: init, serve, answer drctl's signed calls, stop on SIGTERM.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::Sandbox;

#[test]
fn drctl_sim_serves_until_sigterm_and_drctl_talks_to_it() {
    let sb = Sandbox::new();
    let init = sb.run(&["sim", "init", "sim"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let child = sb.command(&["sim", "--dir", "sim"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let endpoints = sb.path().join("sim/endpoints.json");
    let started = Instant::now();
    while !endpoints.exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "endpoints.json never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    let map: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&endpoints).unwrap()).unwrap();
    for region in ["us-ashburn-1", "us-phoenix-1", "eu-frankfurt-1"] {
        assert!(map[region].as_str().is_some_and(|u| u.starts_with("http://127.0.0.1:")), "{map}");
    }
    let config = std::fs::read_to_string(sb.path().join("sim/config")).unwrap();
    let tenancy = config.lines().find_map(|l| l.strip_prefix("tenancy=")).unwrap().to_owned();
    let listed = sb.run(&[
        "oci",
        "request",
        "GET",
        "core",
        &format!("/20160918/vcns?compartmentId={tenancy}"),
        "--config-file",
        "sim/config",
        "--endpoints",
        "sim/endpoints.json",
        "--region",
        "us-phoenix-1",
    ]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(listed.stdout.trim(), "[]");
    // A fault for a region it does not serve is a usage error that names the regions; so is
    // a dump of one. A region key is as good as its id.
    let fault = sb.run(&["sim", "fault", "--dir", "sim", "mars-1", "errors", "0.1"]);
    assert_eq!(fault.code, 2, "{}", fault.stderr);
    assert!(fault.stderr.contains("serves no region `mars-1`; it serves eu-frankfurt-1"), "{}", fault.stderr);
    let dump = sb.run(&["sim", "dump", "--dir", "sim", "--region", "mars-1"]);
    assert_eq!(dump.code, 2, "{}", dump.stderr);
    assert!(dump.stderr.contains("serves no region `mars-1`"), "{}", dump.stderr);
    let by_key = sb.run(&["sim", "fault", "--dir", "sim", "phx", "errors", "0.1"]);
    assert_eq!(by_key.code, 0, "{}", by_key.stderr);
    let dump = sb.run(&["sim", "dump", "--dir", "sim", "--region", "phx"]);
    assert_eq!(dump.code, 0, "{}", dump.stderr);
    assert!(dump.stdout.contains("us-phoenix-1"), "{}", dump.stdout);
    // One simulator at a time serves a directory; a second is refused as a run another
    // process drives is (exit 2), not as a failure.
    let second = sb.run(&["sim", "--dir", "sim"]);
    assert_eq!(second.code, 2, "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("is already served by another simulator (pid {})", child.id())),
        "{}",
        second.stderr
    );
    stop(child);

    // A directory with a state file (what `run --sim` keeps) is served with it.
    std::fs::remove_file(&endpoints).unwrap();
    let saving =
        sb.command(&["sim", "--dir", "sim", "--state", "sim/state.json"]).stdout(Stdio::null()).spawn().unwrap();
    wait_for_file(&endpoints);
    stop(saving);
    std::fs::remove_file(&endpoints).unwrap();
    let again = sb.command(&["sim", "--dir", "sim"]).stdout(Stdio::piped()).spawn().unwrap();
    wait_for_file(&endpoints);
    let pid = again.id();
    stop_pid(pid);
    let out = again.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("state            sim/state.json (found there"), "{printed}");
}

fn wait_for_file(path: &std::path::Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop_pid(pid: u32) {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(libc::pid_t::try_from(pid).unwrap(), libc::SIGTERM);
    }
}

fn stop(mut child: std::process::Child) {
    stop_pid(child.id());
    let status = child.wait().unwrap();
    assert!(status.success(), "sim exit: {status:?}");
}

/// Mistakes on the command line are usage errors (exit 2) that say what to change.
#[test]
fn bad_simulator_options_are_refused_with_the_fix() {
    let sb = Sandbox::new();
    assert_eq!(sb.run(&["sim", "init", "sim"]).code, 0);
    let typo = sb.run(&["sim", "--dir", "sim", "--limit", "functions-per-aplication=5"]);
    assert_eq!(typo.code, 2, "{}", typo.stderr);
    assert!(typo.stderr.contains("did you mean `functions-per-application`"), "{}", typo.stderr);
    let high = sb.run(&["sim", "--dir", "sim", "--port-base", "65534"]);
    assert_eq!(high.code, 2, "{}", high.stderr);
    assert!(high.stderr.contains("the last port is 65535: give a lower base"), "{}", high.stderr);
    let no_dir = sb.run(&["sim"]);
    assert_eq!(no_dir.code, 2, "{}", no_dir.stderr);
    for (faults, says) in [
        ("throttle: 0.5\n", "`throttle` is not a region with faults"),
        ("us-phoenix-1: { throtle: 0.5 }\n", "faults.yaml:1:17: `us-phoenix-1`: unknown field `throtle` (did you mean `throttle`?)"),
        ("us-phoenix-1:\n  errors: 0.1\n  throttle: 2.5\n", "faults.yaml:3:13: `us-phoenix-1`: throttle rate must be within 0..1, got 2.5"),
        ("us-phoenix-1:\n  errors: lots\n", "faults.yaml:2:11: `us-phoenix-1`: `errors`: invalid type: string \"lots\""),
        ("us-phoenix-1:\n  errors: [0.1\n", "faults file faults.yaml:2:3: while parsing a flow sequence"),
        ("us-phoenix-1:\n  outage: refuse\n  outage: error\n", "faults.yaml:3:3: `outage` is given twice"),
        (
            "us-phoenix-1:\n  latency:\n    - { op: \"/20160918/vcns*\", delay: 2s }\n",
            "faults.yaml:3:13: `us-phoenix-1`: latency op `/20160918/vcns*` never matches a request: write `METHOD /path`",
        ),
        ("us-phoenix-1:\n  latency:\n    - { op: \"get /x\", delay: 2s }\n", "latency op `get /x` never matches"),
        ("us-phoenix-1:\n  latency:\n    - { op: \"GET /x\", delay: soon }\n", "faults.yaml:3:30: `us-phoenix-1`: bad duration `soon`"),
        (
            "us-phoenix-1:\n  latency:\n    - { op: \"GET /x?y=1\", delay: 2s }\n",
            "latency op `GET /x?y=1` never matches",
        ),
        (
            "eu-frankfurt-1: {}\nus-phoenix-1:\n  nope: 1\n",
            "faults file faults.yaml:3:3: `us-phoenix-1`: unknown field `nope`",
        ),
        ("us-nowhere-1: { throttle: 0.1 }\n", "faults file faults.yaml: region `us-nowhere-1` is not served"),
    ] {
        sb.write("faults.yaml", faults);
        let bad = sb.run(&["sim", "--dir", "sim", "--faults", "faults.yaml"]);
        assert_eq!(bad.code, 2, "{faults}: {}", bad.stderr);
        assert!(bad.stderr.contains(says), "{faults}: {}", bad.stderr);
    }
    let no_file = sb.run(&["sim", "--dir", "sim", "--faults", "nofile.yaml"]);
    assert_eq!(no_file.code, 2, "{}", no_file.stderr);
    assert!(no_file.stderr.contains("cannot read faults file nofile.yaml"), "{}", no_file.stderr);
    let unwritable = sb.run(&["sim", "--dir", "sim", "--state", "nodir/s.json"]);
    assert_eq!(unwritable.code, 2, "{}", unwritable.stderr);
    assert!(unwritable.stderr.contains("give --state a file in a directory that exists"), "{}", unwritable.stderr);
    sb.write("broken-state.json", "{ not json");
    let broken = sb.run(&["sim", "--dir", "sim", "--state", "broken-state.json"]);
    assert_eq!(broken.code, 2, "{}", broken.stderr);
    assert!(broken.stderr.contains("give --state a simulator state file"), "{}", broken.stderr);
    let config = std::fs::read_to_string(sb.path().join("sim/config")).unwrap();
    let again = sb.run(&["sim", "init", "sim"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("already holds a simulator"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(sb.path().join("sim/config")).unwrap(), config, "its key and tenancy stay");
    let missing = sb.run(&["sim", "--dir", "nowhere"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("set one up with `drctl sim init nowhere`"), "{}", missing.stderr);
}

/// The registries of a `run --sim` simulator want a login, as OCIR's do: the run copies with
/// the one the simulator gives it (in a docker config of its own), and a task that brings
/// other credentials is refused.
#[test]
fn the_embedded_simulators_registries_want_its_login() {
    let sb = Sandbox::new();
    let inventory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orders-api/inventory.yaml");
    let copy = |extra: &str| {
        format!(
            "version: 1\nname: login\ntasks:\n  copy:\n    uses: registry.copy\n    with:\n      source: {{ region: \
             us-ashburn-1, repository: drctlsim/orders/notify-order, tag: 1.0.0 }}\n      destination: {{ region: \
             us-phoenix-1, repository: drctlsim/orders/notify-order, tag: 1.0.0 }}\n{extra}"
        )
    };
    sb.write("ok.yaml", &copy(""));
    let ran = sb.run(&["run", "ok.yaml", "--sim", inventory.to_str().unwrap(), "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let login = sb.read(".drctl/sim/registry-login.json");
    assert!(login.contains("\"auths\""), "{login}");
    sb.write("wrong.yaml", &copy("      destination_credentials: drctl-sim:not-the-password\n"));
    let refused = sb.run(&["run", "wrong.yaml", "--sim", inventory.to_str().unwrap(), "--progress", "plain"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.to_lowercase().contains("unauthorized") || refused.stderr.contains("401"),
        "{}",
        refused.stderr
    );
}
