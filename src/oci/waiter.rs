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
    /// First wait between polls.
    pub interval: Duration,
    /// The wait doubles after each poll up to this.
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
    pub(crate) fn next_interval(&self, current: Duration) -> Duration {
        (current * 2).min(self.max_interval)
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
        interval = policy.next_interval(interval);
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
    if start.elapsed() + interval > policy.timeout {
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
