//! Signs OCI requests given as JSON lines on stdin and prints the added headers and the
//! signing string as JSON lines on stdout; used by tests/conformance/oci_signing.py.

use std::io::{stdin, stdout, BufWriter};
use std::process::ExitCode;

fn main() -> ExitCode {
    let input = stdin().lock();
    let output = BufWriter::new(stdout().lock());
    match drctl::oci::conformance::sign_json_lines(input, output) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oci_sign: {e}");
            ExitCode::FAILURE
        }
    }
}
