//! Runs tests/conformance/oci_signing.py: drctl's signer against Oracle's Python SDK.
//!
//! A custom harness (`harness = false`) so this binary can also serve as the signer the
//! script drives: invoked with `--sign-stdin` it signs JSON lines from stdin. Skips with a
//! note when the `oci` Python package is not importable (install it with .ci/deps/oci.sh),
//! and fails then under `.ci/run`, which sets `DRCTL_TESTS_REQUIRE_TOOLS`.

use std::io::{stdin, stdout, BufWriter};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--sign-stdin") {
        let out = BufWriter::new(stdout().lock());
        return match drctl::oci::conformance::sign_json_lines(stdin().lock(), out) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    // `cargo test -- --list` and filters from other harnesses: answer like libtest would.
    if std::env::args().any(|a| a == "--list") {
        println!("oci_signing_matches_python_sdk: test");
        return ExitCode::SUCCESS;
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let importable =
        Command::new(&python).args(["-c", "import oci"]).output().map(|o| o.status.success()).unwrap_or(false);
    if !importable {
        if std::env::var_os("DRCTL_TESTS_REQUIRE_TOOLS").is_some() {
            println!("test oci_signing_matches_python_sdk ... FAILED: python `oci` not importable");
            return ExitCode::FAILURE;
        }
        println!("test oci_signing_matches_python_sdk ... skipped: python `oci` not importable (run .ci/deps/oci.sh)");
        return ExitCode::SUCCESS;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cannot locate this test binary: {e}");
            return ExitCode::FAILURE;
        }
    };
    let signer = format!("'{}' --sign-stdin", exe.display());
    let output = Command::new(&python)
        .arg(root.join("tests/conformance/oci_signing.py"))
        .args(["--count", "250", "--signer", &signer])
        .output();
    match output {
        Ok(o) => {
            print!("{}", String::from_utf8_lossy(&o.stdout));
            eprint!("{}", String::from_utf8_lossy(&o.stderr));
            if o.status.success() {
                println!("test oci_signing_matches_python_sdk ... ok");
                ExitCode::SUCCESS
            } else {
                println!("test oci_signing_matches_python_sdk ... FAILED");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("cannot run {python}: {e}");
            ExitCode::FAILURE
        }
    }
}
