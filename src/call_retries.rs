//! Retries made inside one attempt by the service clients (OCI's throttling, 5xx and
//! connection errors; a registry's transient failures). The engine runs each attempt within a
//! [`Tally`]; the clients note every retry in the attempt's tally, and the engine records the
//! count with the attempt, so a report shows why a task that succeeded at once took long.
//! Outside an attempt a retry is only logged, unless the command runs its calls within an
//! [announcing](Tally::announcing) tally (`drctl oci request`), which also says each retry on
//! standard error as it happens: an operator waiting on a call sees why it takes long.

use std::future::Future;
use std::sync::{Arc, Mutex};

tokio::task_local! {
    static CURRENT: Tally;
}

/// The retries of one attempt so far, and whether each is said on standard error.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    counted: Arc<Mutex<Counted>>,
    announce: bool,
}

/// What a tally holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counted {
    pub retries: u32,
    /// The failure that caused the last retry.
    pub last: Option<String>,
}

impl Tally {
    /// A tally that also says each retry on standard error, with the wait before it.
    pub fn announcing() -> Tally {
        Tally { counted: Arc::default(), announce: true }
    }

    /// `work`, noting its retries in this tally.
    pub fn scope<F: Future>(self, work: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, work)
    }

    /// The tally `work` runs within, if any: work moved to another task or thread takes it
    /// along with [`Tally::scope`].
    pub fn current() -> Option<Tally> {
        CURRENT.try_with(Tally::clone).ok()
    }

    pub fn counted(&self) -> Counted {
        self.counted.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// Notes one retry, caused by `failure` and made after `delay` where the caller knows it, in
/// the running attempt's tally (if there is one).
pub fn note(failure: &str, delay: Option<std::time::Duration>) {
    let _ = CURRENT.try_with(|tally| {
        if let Ok(mut counted) = tally.counted.lock() {
            counted.retries += 1;
            counted.last = Some(failure.to_owned());
            if tally.announce {
                let first = failure.lines().next().unwrap_or_default();
                let wait = delay.map(|d| format!(" in {:.1} s", d.as_secs_f64())).unwrap_or_default();
                crate::errln!("retry {}{wait}: {}", counted.retries, crate::ui::printable(first));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_are_counted_within_the_scope_only() {
        note("before any scope", None);
        let tally = Tally::default();
        tally
            .clone()
            .scope(async {
                note("429 TooManyRequests", None);
                let inner = Tally::current().expect("a tally in scope");
                // Work moved to a task of its own takes the tally along.
                tokio::spawn(inner.scope(async { note("503 ServiceUnavailable", None) })).await.expect("joined");
            })
            .await;
        note("after the scope", None);
        assert_eq!(tally.counted(), Counted { retries: 2, last: Some("503 ServiceUnavailable".into()) });
    }
}
