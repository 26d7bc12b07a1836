//! `oci.request`: one signed OCI API call, so a runbook can reach any OCI API.
//!
//! Inputs: `method`, `service` (functions, core, identity, ...), `region` (default: the
//! profile's), `path` (with its API version, e.g. `/20160918/vcns`), `query` (map), `body`
//! (JSON), `expect_status` (a status, a list, or `2xx`; default any 2xx, since the client fails
//! on other statuses anyway). POST requests carry `opc-retry-token` derived from the task's
//! idempotency key, so a retried or resumed create never makes a second resource.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Map, Value};

use super::{action_error, OciEnvironment};
use crate::actions::{Action, ActionContext, ActionError, BoxFuture, ErrorClass, InputProblem, Outputs};
use crate::oci::{OciRequest, Service};

const KEYS: &[&str] = &["method", "service", "region", "path", "query", "body", "expect_status", "if_match"];

pub struct OciRequestAction {
    env: Arc<OciEnvironment>,
}

impl OciRequestAction {
    pub fn new(env: Arc<OciEnvironment>) -> Self {
        Self { env }
    }
}

fn text<'a>(with: &'a Value, key: &str) -> Option<&'a str> {
    with.get(key).and_then(Value::as_str)
}

fn unresolved(value: Option<&Value>) -> bool {
    value.and_then(Value::as_str).is_some_and(|s| s.contains("${{"))
}

impl Action for OciRequestAction {
    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = crate::actions::unknown_keys(with, KEYS);
        for key in ["method", "service", "path"] {
            if !with.contains_key(key) {
                problems.push(InputProblem::new("", format!("missing input `{key}`")));
            }
        }
        if let Some(service) = with.get("service").filter(|v| !unresolved(Some(v))) {
            if let Some(name) = service.as_str() {
                if let Err(e) = Service::parse(name) {
                    problems.push(InputProblem::new("service", e.to_string()));
                }
            }
        }
        if let Some(path) = with.get("path").and_then(Value::as_str) {
            if !path.starts_with('/') && !path.starts_with("${{") {
                problems.push(InputProblem::new(
                    "path",
                    "`path` must start with `/` and the API version, e.g. /20160918/vcns",
                ));
            }
        }
        problems
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let (client, home) = self.env.client().await?;
            let method = text(&with, "method").unwrap_or("GET").to_ascii_uppercase();
            let method = Method::from_bytes(method.as_bytes())
                .map_err(|_| ActionError::input(format!("bad method `{method}`")))?;
            let service = Service::parse(text(&with, "service").unwrap_or_default())
                .map_err(|e| ActionError::input(e.to_string()))?;
            let region = match text(&with, "region") {
                Some(region) => region.to_owned(),
                None => home
                    .usable()
                    .map_err(|e| ActionError::input(format!("{e}; fix it there, or give the task a `region` input")))?
                    .to_owned(),
            };
            let path = text(&with, "path").ok_or_else(|| ActionError::input("missing input `path`"))?;
            let mut request = OciRequest::new(method.clone(), service, region, path).cancel_on(ctx.cancel.clone());
            if let Some(query) = with.get("query").and_then(Value::as_object) {
                for (k, v) in query {
                    request = request.query(k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned));
                }
            }
            if let Some(body) = with.get("body") {
                request = request.json(body).map_err(action_error)?;
            }
            if let Some(etag) = text(&with, "if_match") {
                request = request.if_match(etag);
            }
            if method == Method::POST {
                request = request.idempotency_key(&ctx.idempotency_key);
            }
            let response = client.send(request).await.map_err(action_error)?;
            let status = response.status.as_u16();
            ctx.log.line(&format!("{method} {} -> {status} (opc-request-id {})", response.url, response.request_id));
            if let Some(expect) = with.get("expect_status") {
                if !crate::actions::http::status_matches(Some(expect), status) {
                    return Err(ActionError::new(
                        ErrorClass::HttpStatus(status),
                        format!("{} answered {status}, expected {expect}", response.url),
                    ));
                }
            }
            let mut headers = Map::new();
            for name in ["etag", "opc-work-request-id", "opc-next-page", "location"] {
                if let Some(v) = response.header(name) {
                    headers.insert(name.to_owned(), Value::String(v.to_owned()));
                }
            }
            let mut outputs = Outputs::new();
            outputs.insert("status".into(), Value::from(status));
            outputs.insert("json".into(), response.json::<Value>().unwrap_or(Value::Null));
            outputs.insert("headers".into(), Value::Object(headers));
            outputs.insert("request_id".into(), Value::String(response.request_id.clone()));
            Ok(outputs)
        })
    }
}
