//! Retries made inside one attempt by the service clients (OCI's throttling, 5xx and
//! connection errors; a registry's transient failures). The engine runs each attempt within a
//! [`Tally`]; the clients note every retry in the attempt's tally, and the engine records the
//! count with the attempt, so a report shows why a task that succeeded at once took long.
//! Outside an attempt (the CLI's own calls) a retry is only logged.

use std::future::Future;
use std::sync::{Arc, Mutex};

tokio::task_local! {
    static CURRENT: Tally;
}

/// The retries of one attempt so far.
#[derive(Debug, Clone, Default)]
pub struct Tally(Arc<Mutex<Counted>>);

/// What a tally holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counted {
    pub retries: u32,
    /// The failure that caused the last retry.
    pub last: Option<String>,
}

impl Tally {
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
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// Notes one retry, caused by `failure`, in the running attempt's tally (if there is one).
pub fn note(failure: &str) {
    let _ = CURRENT.try_with(|tally| {
        if let Ok(mut counted) = tally.0.lock() {
            counted.retries += 1;
            counted.last = Some(failure.to_owned());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_are_counted_within_the_scope_only() {
        note("before any scope");
        let tally = Tally::default();
        tally
            .clone()
            .scope(async {
                note("429 TooManyRequests");
                let inner = Tally::current().expect("a tally in scope");
                // Work moved to a task of its own takes the tally along.
                tokio::spawn(inner.scope(async { note("503 ServiceUnavailable") })).await.expect("joined");
            })
            .await;
        note("after the scope");
        assert_eq!(tally.counted(), Counted { retries: 2, last: Some("503 ServiceUnavailable".into()) });
    }
}
