//! Finding a command's program on `PATH`, once per run rather than once per spawn.
//!
//! Spawning `true` by name makes the child try `execve` in every `PATH` directory before the
//! right one, while the parent waits (spawns use `vfork`). On a machine whose `PATH` starts with
//! tool directories, that is most of the cost of a tiny task. The answer is remembered per
//! program and `PATH`, and checked (one `stat` and `access`) before each use: a program that has
//! since disappeared or lost its execute permission is looked up again.

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What was found, by `PATH` and then by program name: looked up without building a key.
type Found = HashMap<OsString, HashMap<String, PathBuf>>;

static FOUND: Mutex<Option<Found>> = Mutex::new(None);

/// The absolute path `execvp` would run for `program` with `path` as `PATH`, or `None` to leave
/// the search to the spawn: the name holds a `/`, nothing matches, or `PATH` has a relative
/// entry (whose meaning depends on the command's working directory).
pub fn resolve(program: &str, path: &OsStr) -> Option<PathBuf> {
    if program.is_empty() || program.contains('/') {
        return None;
    }
    let cached = FOUND.lock().ok().and_then(|cache| cache.as_ref()?.get(path)?.get(program).cloned());
    if let Some(found) = cached.filter(|f| is_executable_file(f)) {
        return Some(found);
    }
    let found = search(program, path)?;
    if let Ok(mut cache) = FOUND.lock() {
        let by_name = cache.get_or_insert_with(HashMap::new).entry(path.to_owned()).or_default();
        by_name.insert(program.to_owned(), found.clone());
    }
    Some(found)
}

fn search(program: &str, path: &OsStr) -> Option<PathBuf> {
    for dir in std::env::split_paths(path) {
        if !dir.is_absolute() {
            return None;
        }
        let candidate = dir.join(program);
        if is_executable_file(&candidate) {
            return Some(candidate);
        }
    }
    None
}

fn is_executable_file(path: &Path) -> bool {
    if !path.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn finds_the_first_executable_match_in_path_order() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let plain = a.path().join("tool");
        std::fs::write(&plain, "not executable").unwrap();
        let exe = b.path().join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        assert_eq!(resolve("tool", &path), Some(exe.clone()));
        assert_eq!(resolve("tool", &path), Some(exe.clone()));
        // Gone since: looked up again, and now nothing matches.
        std::fs::remove_file(&exe).unwrap();
        assert_eq!(resolve("tool", &path), None);
        // An executable appearing earlier in PATH later is not seen while the cached one stands;
        // execvp semantics hold at the time of the first lookup.
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(resolve("tool", &path), Some(plain));
    }

    #[test]
    fn leaves_paths_names_and_relative_entries_to_the_spawn() {
        assert_eq!(resolve("./tool", OsStr::new("/usr/bin")), None);
        assert_eq!(resolve("sh", OsStr::new("relative:/bin")), None);
        assert_eq!(resolve("", OsStr::new("/bin")), None);
    }
}
