//! The signals that interrupt a run: Ctrl-C (SIGINT), and SIGTERM and SIGHUP, which a CI job's
//! timeout, a service manager or a dropped SSH session send. All three are handled alike, so
//! none of them ends drctl as a crash would (a stale lock, a task left in doubt).

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Listens for the interrupting signals from the moment it is made.
pub struct Interrupts {
    /// Each stream, with whether it is SIGHUP's.
    streams: Vec<(bool, Signal)>,
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
        let kinds = [(false, SignalKind::interrupt()), (false, SignalKind::terminate()), (true, SignalKind::hangup())];
        let streams = kinds.into_iter().filter_map(|(hup, kind)| signal(kind).ok().map(|s| (hup, s))).collect();
        Interrupts { streams, seen: false }
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
            let waits = self.streams.iter_mut().map(|(_, s)| Box::pin(s.recv()));
            let (_, index, _) = futures::future::select_all(waits).await;
            let hangup = self.streams.get(index).is_some_and(|(hup, _)| *hup);
            if hangup && self.seen {
                continue;
            }
            self.seen = true;
            return;
        }
    }
}
