//! The run lock: one process drives a run at a time.
//!
//! The lock is a file created exclusively in the run directory, holding the owner's pid, host
//! and the process's start time (so that a pid reused after a reboot is not taken for the
//! owner). A lock whose process is gone (a crash, SIGKILL, a lost laptop) is reported as stale and
//! is only broken when the operator asks, because a lock on a shared state directory may belong
//! to a live process on another host.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::record::hostname;
use super::CheckpointError;

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOwner {
    pub pid: u32,
    pub host: String,
    /// The owner's start time in clock ticks since boot (0: unknown, from an older lock file).
    pub started: u64,
}

impl LockOwner {
    /// Whether the owner is certainly gone: same host and no such process.
    pub fn is_dead(&self) -> bool {
        if self.host != hostname() {
            return false;
        }
        let pid = match libc::pid_t::try_from(self.pid) {
            Ok(pid) if pid > 0 => pid,
            _ => return true,
        };
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let alive =
            unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            return true;
        }
        // A live process with the pid, started at another time, is not the owner.
        self.started != 0 && super::record::process_start_time(self.pid).is_some_and(|s| s != self.started)
    }
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of the run directory `dir`. With `break_stale`, a lock whose owner is dead
    /// is removed first (the caller records that in the audit log).
    pub fn acquire(dir: &Path, break_stale: bool) -> Result<(RunLock, Option<LockOwner>), CheckpointError> {
        let path = dir.join("lock");
        let mut broken = None;
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(mut file) => {
                    let pid = std::process::id();
                    let started = super::record::process_start_time(pid).unwrap_or(0);
                    let line = format!("{pid} {} {started}\n", hostname());
                    file.write_all(line.as_bytes()).map_err(|e| CheckpointError::io(&path, e))?;
                    return Ok((RunLock { path }, broken));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = read_owner(&path)?;
                    if !owner.is_dead() {
                        return Err(CheckpointError::Locked { dir: dir.to_owned(), pid: owner.pid, host: owner.host });
                    }
                    if !break_stale {
                        return Err(CheckpointError::StaleLock {
                            dir: dir.to_owned(),
                            pid: owner.pid,
                            host: owner.host,
                        });
                    }
                    std::fs::remove_file(&path).map_err(|e| CheckpointError::io(&path, e))?;
                    broken = Some(owner);
                }
                Err(e) => return Err(CheckpointError::io(&path, e)),
            }
        }
        Err(CheckpointError::Locked { dir: dir.to_owned(), pid: 0, host: "another process".into() })
    }

    /// The current owner of a run's lock, if any.
    pub fn owner(dir: &Path) -> Option<LockOwner> {
        read_owner(&dir.join("lock")).ok()
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn read_owner(path: &Path) -> Result<LockOwner, CheckpointError> {
    let text = std::fs::read_to_string(path).map_err(|e| CheckpointError::io(path, e))?;
    let mut parts = text.split_whitespace();
    let pid = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let host = parts.next().unwrap_or("unknown-host").to_owned();
    let started = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok(LockOwner { pid, host, started })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_is_refused_and_stale_lock_needs_breaking() {
        let dir = tempfile::tempdir().unwrap();
        let (lock, _) = RunLock::acquire(dir.path(), false).unwrap();
        let err = RunLock::acquire(dir.path(), false).unwrap_err();
        assert!(matches!(err, CheckpointError::Locked { pid, .. } if pid == std::process::id()));
        drop(lock);
        // A lock left by a process that no longer exists.
        std::fs::write(dir.path().join("lock"), format!("999999999 {}\n", hostname())).unwrap();
        let err = RunLock::acquire(dir.path(), false).unwrap_err();
        assert!(matches!(err, CheckpointError::StaleLock { pid: 999999999, .. }), "{err:?}");
        let (lock, broken) = RunLock::acquire(dir.path(), true).unwrap();
        assert_eq!(broken.map(|o| o.pid), Some(999999999));
        drop(lock);
        // A lock naming a live process (this one) that started at another time: the pid was
        // reused, for example after a reboot, so the lock is stale.
        std::fs::write(dir.path().join("lock"), format!("{} {} 1\n", std::process::id(), hostname())).unwrap();
        let err = RunLock::acquire(dir.path(), false).unwrap_err();
        assert!(matches!(err, CheckpointError::StaleLock { .. }), "{err:?}");
    }
}
