//! The run lock: one process drives a run at a time.
//!
//! The lock is a file published whole in the run directory, holding the owner's pid, host
//! and the process's start time (so that a pid reused after a reboot is not taken for the
//! owner). A lock whose process is gone (a crash, SIGKILL, a lost laptop) is reported as stale and
//! is only broken when the operator asks, because a lock on a shared state directory may belong
//! to a live process on another host. The operator may also break a lock of another host,
//! whose process drctl cannot check, and a lock file damaged outside drctl.

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
        // A live process with the pid, started at another time, is not the owner; nor is a
        // zombie, which has ended and only waits for its parent to collect it (where `/proc`
        // can tell).
        match super::record::process_start_time(self.pid) {
            Some(started) => self.started != 0 && started != self.started,
            None => std::path::Path::new("/proc/self/stat").exists(),
        }
    }
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    /// What this lock's file holds: released only while the file still holds it (an operator
    /// may have broken the lock meanwhile and another process taken it).
    line: String,
}

impl RunLock {
    /// Takes the lock of the run directory `dir`. With `break_stale`, a lock whose owner is dead,
    /// runs on another host (which cannot be checked), or was never written is removed first
    /// (the caller records that in the audit log).
    pub fn acquire(dir: &Path, break_stale: bool) -> Result<(RunLock, Option<LockOwner>), CheckpointError> {
        let path = dir.join("lock");
        let pid = std::process::id();
        let started = super::record::process_start_time(pid).unwrap_or(0);
        let line = format!("{pid} {} {started}\n", hostname());
        let mut broken = None;
        for _ in 0..2 {
            if publish(dir, &path, &line)? {
                return Ok((RunLock { path, line }, broken));
            }
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                // Released meanwhile: try again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CheckpointError::io(&path, e)),
            };
            let owner = parse_owner(&text);
            let dir = dir.to_owned();
            if owner.pid == 0 {
                // drctl publishes a lock file whole, so an empty or unreadable one was damaged
                // outside it.
                if !break_stale {
                    return Err(CheckpointError::DamagedLock { dir });
                }
            } else if owner.host != hostname() {
                // Its process cannot be checked: only the operator can say it is gone.
                if !break_stale {
                    return Err(CheckpointError::LockElsewhere { dir, pid: owner.pid, host: owner.host });
                }
            } else if !owner.is_dead() {
                return Err(CheckpointError::Locked { dir, pid: owner.pid, host: owner.host });
            } else if !break_stale {
                return Err(CheckpointError::StaleLock { dir, pid: owner.pid, host: owner.host });
            }
            if !take_aside(&path, &text)? {
                // Another process broke it first and holds the lock now.
                return Err(CheckpointError::LockBeingTaken { dir });
            }
            broken = Some(owner);
        }
        Err(CheckpointError::LockBeingTaken { dir: dir.to_owned() })
    }

    /// Whether a process may be driving the run now: its lock's owner is alive, or on another
    /// host, where drctl cannot check.
    pub fn held(dir: &Path) -> bool {
        match read_owner(&dir.join("lock")) {
            Ok(owner) => owner.pid != 0 && !owner.is_dead(),
            Err(_) => false,
        }
    }

    /// The current owner of a run's lock, if any.
    pub fn owner(dir: &Path) -> Option<LockOwner> {
        read_owner(&dir.join("lock")).ok()
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Not another process's lock, taken after an operator broke this one.
        if std::fs::read_to_string(&self.path).is_ok_and(|held| held == self.line) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Publishes `line` as the lock file at `path`, whole: written to a file of this process's
/// own, then hard-linked to the lock's name, which fails if the name exists. A crash at any
/// point leaves either no lock or a complete one, never an empty lock file. Returns false
/// when another lock holds the name.
fn publish(dir: &Path, path: &Path, line: &str) -> Result<bool, CheckpointError> {
    let own = dir.join(format!("lock.taking.{}", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&own)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&own);
        return Err(CheckpointError::io(path, e));
    }
    let linked = std::fs::hard_link(&own, path);
    let _ = std::fs::remove_file(&own);
    match linked {
        Ok(()) => {
            sweep_leftovers(dir);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // A file system without hard links (FAT, some network shares): the lock is created
        // in place, which a crash between its creation and its write can leave empty.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EOPNOTSUPP | libc::ENOSYS)) => {
            create_in_place(path, line)
        }
        Err(e) => Err(CheckpointError::io(path, e)),
    }
}

/// Creates the lock file at `path` holding `line`; false if it exists.
fn create_in_place(path: &Path, line: &str) -> Result<bool, CheckpointError> {
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut file) => {
            file.write_all(line.as_bytes()).map_err(|e| CheckpointError::io(path, e))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(CheckpointError::io(path, e)),
    }
}

/// Removes the files of takers that crashed before publishing their lock: a taker's own file
/// lives for microseconds, so one a minute old is a leftover.
fn sweep_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(60));
        if old && entry.file_name().to_string_lossy().starts_with("lock.taking.") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Breaks the lock file at `path` if it still holds `judged` (the stale lock the caller
/// judged): renamed aside first, so that of two processes breaking one stale lock, the second
/// cannot remove the lock the first has taken since. Returns false, leaving the lock as it
/// found it, when the file held something else by then.
fn take_aside(path: &Path, judged: &str) -> Result<bool, CheckpointError> {
    let aside = path.with_extension(format!("broken.{}", std::process::id()));
    match std::fs::rename(path, &aside) {
        Ok(()) => {}
        // Gone meanwhile: whoever removed it, there is nothing left to break.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(CheckpointError::io(path, e)),
    }
    let held = std::fs::read_to_string(&aside).map_err(|e| CheckpointError::io(&aside, e))?;
    if held != judged {
        // Another process's fresh lock: put back (unless yet another took the name since).
        let _ = std::fs::hard_link(&aside, path);
        let _ = std::fs::remove_file(&aside);
        return Ok(false);
    }
    std::fs::remove_file(&aside).map_err(|e| CheckpointError::io(&aside, e))?;
    Ok(true)
}

fn read_owner(path: &Path) -> Result<LockOwner, CheckpointError> {
    let text = std::fs::read_to_string(path).map_err(|e| CheckpointError::io(path, e))?;
    Ok(parse_owner(&text))
}

/// The owner a lock file's text names (pid 0 for an empty or damaged file).
fn parse_owner(text: &str) -> LockOwner {
    let mut parts = text.split_whitespace();
    let pid = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let host = parts.next().unwrap_or("unknown-host").to_owned();
    let started = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    LockOwner { pid, host, started }
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

    #[test]
    fn a_lock_broken_and_taken_by_another_stays_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let (ours, _) = RunLock::acquire(dir.path(), false).unwrap();
        // An operator broke it, and another process holds it now: releasing ours leaves theirs.
        std::fs::write(&path, "4242 other-host 7\n").unwrap();
        drop(ours);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "4242 other-host 7\n");
        // Two breakers judged one stale lock: the second finds the first's lock in its place
        // and leaves it.
        assert!(!take_aside(&path, "999999999 gone-host 1\n").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "4242 other-host 7\n");
        assert!(take_aside(&path, "4242 other-host 7\n").unwrap());
        assert!(!path.exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn locks_of_other_hosts_and_empty_lock_files_are_broken_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        std::fs::write(&path, "4242 other-host 7\n").unwrap();
        let err = RunLock::acquire(dir.path(), false).unwrap_err();
        assert!(matches!(err, CheckpointError::LockElsewhere { pid: 4242, .. }), "{err:?}");
        assert!(err.help().unwrap().contains("--break-lock"));
        let (lock, broken) = RunLock::acquire(dir.path(), true).unwrap();
        assert_eq!(broken.map(|o| o.host), Some("other-host".to_owned()));
        drop(lock);
        // drctl never leaves a lock file empty: one that is was damaged outside it.
        std::fs::File::create(&path).unwrap();
        assert!(!RunLock::held(dir.path()), "no process drives the run");
        let err = RunLock::acquire(dir.path(), false).unwrap_err();
        assert!(matches!(err, CheckpointError::DamagedLock { .. }), "{err:?}");
        assert!(RunLock::acquire(dir.path(), true).is_ok());
    }

    #[test]
    fn a_taker_cut_short_leaves_no_lock_and_its_file_is_swept_later() {
        let dir = tempfile::tempdir().unwrap();
        // A taker killed between writing its own file and publishing it.
        let old = dir.path().join("lock.taking.999999999");
        std::fs::write(&old, "999999999 host 1\n").unwrap();
        let file = std::fs::File::options().write(true).open(&old).unwrap();
        file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(120)).unwrap();
        let fresh = dir.path().join("lock.taking.999999998");
        std::fs::write(&fresh, "999999998 host 1\n").unwrap();
        assert!(!RunLock::held(dir.path()));
        let (lock, broken) = RunLock::acquire(dir.path(), false).unwrap();
        assert_eq!(broken, None);
        assert!(!old.exists(), "a minute-old leftover is swept");
        assert!(fresh.exists(), "a taker may still be at work on a fresh one");
        drop(lock);
        assert!(!dir.path().join("lock").exists());
    }

    #[test]
    fn without_hard_links_the_lock_is_created_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        assert!(create_in_place(&path, "1 host 2\n").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "1 host 2\n");
        assert!(!create_in_place(&path, "3 host 4\n").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "1 host 2\n");
    }
}
