//! The signals that interrupt a run: Ctrl-C (SIGINT), and SIGTERM and SIGHUP, which a CI job's
//! timeout, a service manager or a dropped SSH session send. All three are handled alike, so
//! none of them ends drctl as a crash would (a stale lock, a task left in doubt).

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Listens for the interrupting signals from the moment it is made.
pub struct Interrupts {
    streams: Vec<Signal>,
}

impl Interrupts {
    /// Installs the handlers. A signal that cannot be listened for is left to its default
    /// action, as before this existed.
    pub fn listen() -> Interrupts {
        let kinds = [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()];
        Interrupts { streams: kinds.into_iter().filter_map(|kind| signal(kind).ok()).collect() }
    }

    /// Resolves at the next interrupting signal; never, if none could be listened for.
    pub async fn next(&mut self) {
        if self.streams.is_empty() {
            return std::future::pending().await;
        }
        let waits = self.streams.iter_mut().map(|s| Box::pin(s.recv()));
        let _ = futures::future::select_all(waits).await;
    }
}
