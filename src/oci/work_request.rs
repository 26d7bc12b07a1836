//! Following an asynchronous OCI operation through its work request.
//!
//! Polls `GET .../workRequests/{id}` until `status` is SUCCEEDED (returned), FAILED or
//! CANCELED (errors carrying the work request's id and resources), or the poll policy's
//! timeout passes. It reads only; cancelling the work request is the caller's decision.

use serde_json::Value;
use tokio::time::Instant;

use super::api_error::WaitError;
use super::client::OciClient;
use super::endpoints::Service;
use super::request::OciRequest;
use super::waiter::{describe, sleep_or_stop, PollPolicy};

/// A finished work request.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkRequest {
    pub id: String,
    pub status: String,
    /// The full work request as returned (operationType, resources, percentComplete, ...).
    pub body: Value,
}

impl WorkRequest {
    /// Identifiers of the resources the work request touched, with their action type.
    pub fn resources(&self) -> Vec<(String, String)> {
        self.body
            .get("resources")
            .and_then(Value::as_array)
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| {
                        Some((
                            r.get("identifier")?.as_str()?.to_string(),
                            r.get("actionType").and_then(Value::as_str).unwrap_or("").to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The resource a create made: the one marked CREATED, else the first named.
    pub fn created_id(&self) -> Option<String> {
        let resources = self.resources();
        resources
            .iter()
            .find(|(_, action)| action.eq_ignore_ascii_case("CREATED"))
            .or_else(|| resources.first())
            .map(|(id, _)| id.clone())
    }
}

/// The GET of a work request of `service` in `region` (`/workRequests/{id}` under the
/// service's base path).
pub fn work_request_get(service: Service, region: &str, id: &str) -> OciRequest {
    OciRequest::new(reqwest::Method::GET, service, region, format!("/workRequests/{id}"))
}

/// Polls `get` (a work request GET) until it ends.
pub async fn wait_for_work_request(
    client: &OciClient,
    get: OciRequest,
    policy: &PollPolicy,
) -> Result<WorkRequest, WaitError> {
    let what = describe(client, &get);
    let start = Instant::now();
    let mut interval = policy.interval;
    loop {
        let body: Value = client.send(get.clone()).await?.json()?;
        let status = body
            .get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| WaitError::MissingField { what: what.clone(), field: "status" })?
            .to_string();
        let id = body.get("id").and_then(Value::as_str).unwrap_or(&what).to_string();
        match status.as_str() {
            "SUCCEEDED" => return Ok(WorkRequest { id, status, body }),
            "FAILED" | "CANCELED" => {
                let operation =
                    body.get("operationType").and_then(Value::as_str).map(|op| format!(" ({op})")).unwrap_or_default();
                return Err(WaitError::WorkRequestFailed { id, status, detail: operation });
            }
            _ => {}
        }
        sleep_or_stop(client, &get, &what, "SUCCEEDED", &status, start, interval, policy).await?;
        interval = policy.next_interval(start.elapsed());
    }
}
