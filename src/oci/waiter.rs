//! Waiting for a resource to reach a lifecycle state by polling its GET.
//!
//! Polls with a growing interval until `lifecycleState` is one of the wanted states, fails
//! at once on `FAILED` (or on a terminal state that was not wanted), and gives up at the
//! timeout. A 404 counts as `DELETED` when `DELETED` is wanted, since OCI forgets deleted
//! resources. It never changes the resource.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;

use super::api_error::{ClientError, WaitError};
use super::client::OciClient;
use super::request::OciRequest;

/// How often and how long to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct PollPolicy {
    /// Shortest wait between polls (the first polls come this often).
    pub interval: Duration,
    /// Longest wait between polls; in between, the wait is a quarter of the time waited.
    pub max_interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for PollPolicy {
    /// The SDK waiter's bounds: at most 30 s between polls, 20 minutes in total.
    fn default() -> Self {
        PollPolicy {
            interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(1200),
        }
    }
}

impl PollPolicy {
    /// The wait before the next poll, `elapsed` into the wait: a quarter of the time waited
    /// so far, within `interval..=max_interval`. Doubling the wait after each poll would let
    /// the poll that sees a change come up to twice as long after the wait began as the change
    /// itself (a work request done at 16.1 s seen at 31.75 s); growing with the time waited
    /// keeps that overshoot within a quarter of the wait plus one round trip, and still backs
    /// off (each poll 25% later than the one before once past `4 * interval`).
    pub(crate) fn next_interval(&self, elapsed: Duration) -> Duration {
        (elapsed / 4).max(self.interval).min(self.max_interval)
    }
}

/// The state reached and the resource as last read (`Null` after a 404 → DELETED).
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleResult {
    pub state: String,
    pub body: Value,
    pub etag: Option<String>,
}

/// Terminal states that end a wait unless they are wanted.
const TERMINAL: [&str; 3] = ["FAILED", "DELETED", "TERMINATED"];

/// Polls `get` until the body's `lifecycleState` is in `wanted`.
pub async fn wait_for_state(
    client: &OciClient,
    get: OciRequest,
    wanted: &[&str],
    policy: &PollPolicy,
) -> Result<LifecycleResult, WaitError> {
    let what = describe(client, &get);
    let wanted_text = wanted.join("/");
    let start = Instant::now();
    let mut interval = policy.interval;
    loop {
        let mut req = get.clone();
        req.method = Method::GET;
        let last = match client.send(req).await {
            Ok(response) => {
                let body: Value = response.json()?;
                let state = body
                    .get("lifecycleState")
                    .and_then(Value::as_str)
                    .ok_or_else(|| WaitError::MissingField { what: what.clone(), field: "lifecycleState" })?
                    .to_string();
                if wanted.contains(&state.as_str()) {
                    return Ok(LifecycleResult { state, etag: response.etag().map(str::to_string), body });
                }
                if TERMINAL.contains(&state.as_str()) {
                    return Err(WaitError::Failed { what, state, wanted: wanted_text });
                }
                state
            }
            Err(ClientError::Api(e)) if e.status == 404 && wanted.contains(&"DELETED") => {
                return Ok(LifecycleResult { state: "DELETED".into(), body: Value::Null, etag: None });
            }
            Err(e) => return Err(e.into()),
        };
        sleep_or_stop(client, &get, &what, &wanted_text, &last, start, interval, policy).await?;
        interval = policy.next_interval(start.elapsed());
    }
}

/// Sleeps `interval` unless that would pass the timeout or the call is cancelled.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn sleep_or_stop(
    client: &OciClient,
    req: &OciRequest,
    what: &str,
    wanted: &str,
    last: &str,
    start: Instant,
    interval: Duration,
    policy: &PollPolicy,
) -> Result<(), WaitError> {
    if start.elapsed().checked_add(interval).is_none_or(|end| end > policy.timeout) {
        return Err(WaitError::Timeout {
            what: what.to_string(),
            wanted: wanted.to_string(),
            timeout: policy.timeout,
            last: last.to_string(),
        });
    }
    tokio::select! {
        biased;
        _ = client.cancelled(req) => Err(WaitError::Cancelled { what: what.to_string() }),
        _ = tokio::time::sleep(interval) => Ok(()),
    }
}

/// A short name for messages: the request URL without its query.
pub(crate) fn describe(client: &OciClient, req: &OciRequest) -> String {
    match req.resolve_url(client.endpoints()) {
        Ok(mut url) => {
            url.set_query(None);
            url.to_string()
        }
        Err(_) => format!("{:?}", req.target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PollPolicy {
        PollPolicy {
            interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(1800),
        }
    }

    #[test]
    fn polls_every_interval_at_first_then_a_quarter_of_the_time_waited() {
        let p = policy();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(p.next_interval(ms(0)), ms(250));
        assert_eq!(p.next_interval(ms(900)), ms(250));
        assert_eq!(p.next_interval(ms(2_000)), ms(500));
        assert_eq!(p.next_interval(ms(16_100)), ms(4_025));
        assert_eq!(p.next_interval(ms(200_000)), ms(30_000));
    }

    /// Polls at the times a wait of `done` would poll, returning when it sees the change.
    fn seen_at(p: &PollPolicy, done: Duration) -> Duration {
        let mut t = Duration::ZERO;
        let mut interval = p.interval;
        while t < done {
            t += interval;
            interval = p.next_interval(t);
        }
        t
    }

    #[test]
    fn a_change_is_seen_at_most_a_quarter_of_the_wait_late() {
        let p = policy();
        for done_ms in [100u64, 1_000, 2_000, 7_300, 16_100, 45_000, 110_000] {
            let done = Duration::from_millis(done_ms);
            let late = seen_at(&p, done) - done;
            assert!(late <= (done / 4).max(p.interval), "{done:?} seen {late:?} late");
        }
        // Doubling from 250 ms would see a 16.1 s change at 31.75 s; this sees it at 18.19 s.
        assert_eq!(seen_at(&p, Duration::from_millis(16_100)).as_millis(), 18_189);
    }
}
