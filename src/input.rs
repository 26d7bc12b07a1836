//! Reading an input file whole (a runbook, parameters, the OCI config and key, an endpoints
//! or inventory file, a request body), with a bound: a path to `/dev/zero` or to a runaway
//! log must end in an error that names it, not in all the memory there is. Pipes are read
//! (`--params-file <(vault read ...)`), up to the same bound.

use std::io::Read;
use std::path::Path;

/// The largest input file read whole, in bytes: far above any runbook or inventory.
pub const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// The bytes of `path`, at most `limit`; a longer file is an error that says so.
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("it holds more than {} MiB, more than drctl reads from such a file", limit / (1024 * 1024)),
        ));
    }
    Ok(bytes)
}

/// The text of `path`, at most [`MAX_INPUT`] bytes of UTF-8.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = read_limited(path, MAX_INPUT)?;
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
}

/// The line and column of the first byte of `bytes` that is not UTF-8, if any.
pub fn not_utf8_at(bytes: &[u8]) -> Option<(usize, usize)> {
    let valid = &bytes[..std::str::from_utf8(bytes).err()?.valid_up_to()];
    let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
    let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    Some((line, column))
}

/// The bytes of `path`, at most [`MAX_INPUT`].
pub fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    read_limited(path, MAX_INPUT)
}

#[cfg(test)]
mod tests {
    use super::read_limited;

    #[test]
    fn an_endless_file_ends_in_an_error_at_the_bound() {
        let err = read_limited(std::path::Path::new("/dev/zero"), 1024 * 1024).unwrap_err();
        assert!(err.to_string().contains("more than 1 MiB"), "{err}");
    }
}
