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
    let mut child = sb.command(&["sim", "--dir", "sim"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
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
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "sim exit: {status:?}");
}
