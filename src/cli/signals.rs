//! The signals that interrupt a run: Ctrl-C (SIGINT), and SIGTERM and SIGHUP, which a CI job's
//! timeout, a service manager or a dropped SSH session send. All three are handled alike, so
//! none of them ends drctl as a crash would (a stale lock, a task left in doubt).
//!
//! Every signal counts. tokio's streams tell that a signal has come since they were last read,
//! not how many: two Ctrl-Cs that arrive while the run's thread is busy (starting a burst of
//! tasks) would read as one, and the second would not cancel what the first let finish. So a
//! handler of drctl's own counts each signal, and the streams only wake the run to read the
//! counts.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::signal::unix::{signal, Signal, SignalKind};

/// The signals listened for, with whether each is SIGHUP.
const KINDS: [(libc::c_int, bool); 3] = [(libc::SIGINT, false), (libc::SIGTERM, false), (libc::SIGHUP, true)];

/// How many of each signal of [`KINDS`] have come since the counting handlers were installed.
static COUNTS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

/// Installs the counting handlers, once. They are installed before tokio's own (called first
/// when a signal comes), so a stream that wakes always finds its signal counted already.
fn count_signals() -> bool {
    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *INSTALLED.get_or_init(|| {
        KINDS.iter().zip(&COUNTS).all(|((number, _), count)| {
            // SAFETY: the action only adds to atomic counters, which is async-signal-safe,
            // and cannot panic.
            unsafe {
                signal_hook_registry::register(*number, move || {
                    count.fetch_add(1, Ordering::SeqCst);
                    crate::actions::note_interrupt();
                })
            }
            .is_ok()
        })
    })
}

fn counts() -> [u64; 3] {
    COUNTS.each_ref().map(|count| count.load(Ordering::SeqCst))
}

/// Listens for the interrupting signals from the moment it is made.
pub struct Interrupts {
    /// A stream per signal, which wakes the run when it comes, with whether it is SIGHUP's.
    streams: Vec<(bool, Signal)>,
    /// How many of each signal this listener has taken (read by [`Interrupts::next`]), or
    /// `None` when the signals could not be counted: each stream's wake is then one signal.
    taken: Option<[u64; 3]>,
    /// An interrupting signal has come.
    seen: bool,
}

/// Handlers installed as a command that drives a run began, until the run takes them.
static EARLY: std::sync::Mutex<Option<Interrupts>> = std::sync::Mutex::new(None);

/// Installs the handlers now, for a command that will drive a run after some set-up (reading
/// the runbook, starting a simulator): a signal that comes meanwhile then interrupts the run
/// as it starts, rather than ending drctl by the signal's default action.
pub fn listen_early() {
    let interrupts = Interrupts::install();
    *EARLY.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(interrupts);
}

impl Interrupts {
    /// The handlers [`listen_early`] installed, with any signal that came since, or new ones.
    pub fn listen() -> Interrupts {
        let early = EARLY.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        early.unwrap_or_else(Interrupts::install)
    }

    /// Installs the handlers. A signal that cannot be listened for is left to its default
    /// action, as before this existed.
    fn install() -> Interrupts {
        let taken = count_signals().then(counts);
        let streams = KINDS
            .iter()
            .filter_map(|(number, hup)| Some((*hup, signal(SignalKind::from_raw(*number)).ok()?)))
            .collect();
        Interrupts { streams, taken, seen: false }
    }

    /// Resolves at the next interrupting signal; never, if none could be listened for. A
    /// SIGHUP after the first signal is not one: a dropped SSH session sends it more than once
    /// (the kernel to the terminal's foreground jobs, the login shell to its jobs), and the
    /// second must not cancel the commands the first let finish.
    pub async fn next(&mut self) {
        if self.streams.is_empty() {
            return std::future::pending().await;
        }
        loop {
            if let Some(taken) = &mut self.taken {
                let now = counts();
                // SIGHUPs after the first signal are dropped, however many came.
                if self.seen && now[2] > taken[2] {
                    taken[2] = now[2];
                }
                if let Some(i) = (0..3).find(|&i| now[i] > taken[i]) {
                    taken[i] += 1;
                    self.seen = true;
                    return;
                }
            }
            let waits = self.streams.iter_mut().map(|(_, s)| Box::pin(s.recv()));
            let (_, index, _) = futures::future::select_all(waits).await;
            if self.taken.is_some() {
                // A wake only says that the counts may have moved: read them again.
                continue;
            }
            let hangup = self.streams.get(index).is_some_and(|(hup, _)| *hup);
            if hangup && self.seen {
                continue;
            }
            self.seen = true;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Interrupts;
    use std::time::Duration;

    fn raise(signal: libc::c_int) {
        // SAFETY: the handlers `Interrupts::install` put in place take the signal.
        unsafe {
            libc::raise(signal);
        }
    }

    /// Whether a signal is taken within `wait` milliseconds.
    async fn came(interrupts: &mut Interrupts, wait: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(wait), interrupts.next()).await.is_ok()
    }

    /// Signals that come before the listener reads any (tokio's stream holds them as one) each
    /// count; SIGHUPs after the first signal do not.
    #[tokio::test]
    async fn signals_that_come_together_each_count() {
        let mut interrupts = Interrupts::install();
        raise(libc::SIGTERM);
        raise(libc::SIGTERM);
        assert!(came(&mut interrupts, 2_000).await);
        assert!(came(&mut interrupts, 2_000).await, "the second of two signals that came together was lost");
        assert!(!came(&mut interrupts, 100).await);
        raise(libc::SIGHUP);
        raise(libc::SIGHUP);
        assert!(!came(&mut interrupts, 100).await, "a SIGHUP after the first signal counted");
    }
}
