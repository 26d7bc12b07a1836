//! Finding the processes of an attempt by what its commands carry in their environment
//! (`DRCTL_IDEMPOTENCY_KEY`, `DRCTL_ATTEMPT`), when no pid of theirs is known: a crash kept the
//! `spawned` record from the journal, or the command started but drctl never got hold of it.

/// Pids of this user's processes whose environment holds every `name=value` pair given (from
/// `/proc`; on a system without it, none). Processes that have exited but not been reaped are
/// left out.
pub fn processes_with_env(pairs: &[(&str, &str)]) -> Vec<u32> {
    let needles: Vec<String> = pairs.iter().map(|(name, value)| format!("{name}={value}")).collect();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let own = std::process::id();
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != own)
        .filter(|pid| {
            let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else { return false };
            // A zombie's environment reads as empty; only live processes matter.
            needles.iter().all(|needle| environ.split(|b| *b == 0).any(|entry| entry == needle.as_bytes()))
        })
        .collect()
}

/// Stops what a command that drctl lost hold of as it started left running: every process
/// carrying its attempt's key and number, each with its process group (the command's own, of
/// which it is the leader). Nothing, for a command that carries no key.
pub fn stop_lost(command: &std::process::Command) {
    let env = |wanted: &str| {
        command.get_envs().find(|(name, _)| *name == wanted).and_then(|(_, value)| value?.to_str().map(str::to_owned))
    };
    let (Some(key), Some(attempt)) = (env("DRCTL_IDEMPOTENCY_KEY"), env("DRCTL_ATTEMPT")) else { return };
    for pid in processes_with_env(&[("DRCTL_IDEMPOTENCY_KEY", &key), ("DRCTL_ATTEMPT", &attempt)]) {
        if let Ok(pid) = libc::pid_t::try_from(pid) {
            // SAFETY: SIGKILL to processes of this user that carry the attempt's key, and to
            // the group each leads; a group that does not exist fails harmlessly with ESRCH.
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{processes_with_env, stop_lost};

    fn wait_until(what: impl Fn() -> bool) -> bool {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !what() {
            if std::time::Instant::now() > until {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        true
    }

    #[test]
    fn finds_the_processes_holding_a_key_in_their_environment() {
        let key = format!("test-key-{}", std::process::id());
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .env("DRCTL_IDEMPOTENCY_KEY", &key)
            .env("DRCTL_ATTEMPT", "2")
            .spawn()
            .expect("spawn sleep");
        // Until the child has exec'd, its environment is still the parent's.
        let holders = || processes_with_env(&[("DRCTL_IDEMPOTENCY_KEY", &key)]);
        assert!(wait_until(|| !holders().is_empty()));
        assert_eq!(holders(), vec![child.id()]);
        assert_eq!(processes_with_env(&[("DRCTL_IDEMPOTENCY_KEY", &key), ("DRCTL_ATTEMPT", "2")]), vec![child.id()]);
        assert!(processes_with_env(&[("DRCTL_IDEMPOTENCY_KEY", &key), ("DRCTL_ATTEMPT", "1")]).is_empty());
        assert!(processes_with_env(&[("DRCTL_IDEMPOTENCY_KEY", "another-key")]).is_empty());
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(holders().is_empty());
    }

    /// A lost command's whole group is stopped; another attempt's process of the same task (a
    /// background process an earlier attempt left) is not.
    #[test]
    fn stopping_a_lost_command_stops_its_group_and_spares_other_attempts() {
        use std::os::unix::process::CommandExt;
        let key = format!("lost-key-{}", std::process::id());
        let start = |attempt: &str| {
            let mut command = std::process::Command::new("/bin/sh");
            command
                .args(["-c", "sleep 30 & wait"])
                .env("DRCTL_IDEMPOTENCY_KEY", &key)
                .env("DRCTL_ATTEMPT", attempt)
                .process_group(0);
            let child = command.spawn().expect("spawn sh");
            (command, child)
        };
        let (_, mut earlier) = start("1");
        let (lost, mut child) = start("2");
        let attempt = |n: &str| processes_with_env(&[("DRCTL_IDEMPOTENCY_KEY", &key), ("DRCTL_ATTEMPT", n)]);
        assert!(wait_until(|| attempt("2").len() == 2 && attempt("1").len() == 2));
        stop_lost(&lost);
        assert!(child.wait().is_ok());
        assert!(wait_until(|| attempt("2").is_empty()), "the lost command's background sleep survived");
        assert_eq!(attempt("1").len(), 2, "another attempt's processes were stopped");
        earlier.kill().expect("kill");
        earlier.wait().expect("wait");
        // SAFETY: the earlier attempt's group, which this test started.
        unsafe { libc::killpg(libc::pid_t::try_from(earlier.id()).unwrap_or(0), libc::SIGKILL) };
    }
}
