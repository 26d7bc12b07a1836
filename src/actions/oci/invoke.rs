//! `oci.functions.invoke`: calls a function once, synchronously, and checks the answer.
//!
//! Inputs: `region`, `function_id` (or `function`: the outputs of an `oci.functions.function`
//! task, with `id` and `invokeEndpoint`), `body` (a string is sent as is, anything else as
//! JSON), `content_type`, `expect: { status, json: { <path>: <value> }, contains }`.
//! Outputs: `status`, `body` (text), `json` (the body parsed, or null), `headers`.
//!
//! The call goes to the function's `invokeEndpoint` (read from the function when not given),
//! else to the region's Functions endpoint. An invoke runs user code, so the client never
//! retries it on its own: the task's retry policy decides, from the error class.

use std::sync::Arc;

use reqwest::header::HeaderValue;
use reqwest::{Method, Url};
use serde_json::{json, Map, Value};

use super::{action_error, OciEnvironment};
use crate::actions::http::check_expectations;
use crate::actions::{Action, ActionContext, ActionError, BoxFuture, ErrorClass, InputProblem, Outputs};
use crate::oci::{ClientError, OciClient, OciRequest, RetryPolicy, Service};

const KEYS: &[&str] = &["region", "function_id", "function", "body", "content_type", "expect"];
const EXPECT_KEYS: &[&str] = &["status", "json", "contains"];
/// Bodies longer than this are cut in the `body` output.
const BODY_LIMIT: usize = 64 * 1024;

pub struct FunctionInvokeAction {
    env: Arc<OciEnvironment>,
}

impl FunctionInvokeAction {
    pub fn new(env: Arc<OciEnvironment>) -> Self {
        Self { env }
    }
}

/// The function's OCID and invoke endpoint, as far as the inputs tell.
fn target(with: &Value) -> Result<(String, Option<String>), ActionError> {
    if let Some(id) = with.get("function_id").and_then(Value::as_str) {
        return Ok((id.to_string(), None));
    }
    let function = with.get("function").ok_or_else(|| ActionError::input("give `function_id` or `function`"))?;
    let id = function
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ActionError::input("`function` must be the outputs of a function task (an object with `id`)"))?;
    let endpoint = function.get("invokeEndpoint").and_then(Value::as_str).map(str::to_string);
    Ok((id.to_string(), endpoint))
}

/// The function's `invokeEndpoint`, read from the function itself.
async fn lookup_endpoint(
    client: &OciClient,
    ctx: &ActionContext,
    region: &str,
    id: &str,
) -> Result<Option<String>, ActionError> {
    let req = OciRequest::new(Method::GET, Service::Functions, region, format!("/20181201/functions/{id}"))
        .cancel_on(ctx.cancel.clone());
    let function: Value = client.send_json(req).await.map_err(|e| {
        let err = action_error(e);
        ActionError {
            message: format!("oci.functions.invoke: reading function {id} in {region}: {}", err.message),
            ..err
        }
    })?;
    Ok(function.get("invokeEndpoint").and_then(Value::as_str).map(str::to_string))
}

/// The request body and its content type.
fn body_of(with: &Value) -> (Vec<u8>, String) {
    let given = with.get("content_type").and_then(Value::as_str).map(str::to_string);
    match with.get("body") {
        None | Some(Value::Null) => (Vec::new(), given.unwrap_or_else(|| "application/json".into())),
        Some(Value::String(s)) => (s.clone().into_bytes(), given.unwrap_or_else(|| "text/plain".into())),
        Some(other) => (other.to_string().into_bytes(), given.unwrap_or_else(|| "application/json".into())),
    }
}

impl Action for FunctionInvokeAction {
    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = crate::actions::unknown_keys(with, KEYS);
        if !with.contains_key("region") {
            problems.push(InputProblem::new("", "missing input `region`"));
        }
        if with.contains_key("function_id") == with.contains_key("function") {
            problems.push(
                InputProblem::new("", "give exactly one of `function_id` and `function`")
                    .with_help("`function: ${{ tasks.<function task>.outputs }}` or `function_id: ocid1.fnfunc...`"),
            );
        }
        if let Some(expect) = with.get("expect").and_then(Value::as_object) {
            for problem in crate::actions::unknown_keys(expect, EXPECT_KEYS) {
                problems.push(InputProblem { key: "expect".into(), ..problem });
            }
        }
        problems
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let (client, _) = self.env.client().await?;
            let region = with
                .get("region")
                .and_then(Value::as_str)
                .ok_or_else(|| ActionError::input("missing input `region`"))?;
            let (id, endpoint) = target(&with)?;
            let endpoint = match endpoint {
                Some(e) => Some(e),
                None => lookup_endpoint(client, ctx, region, &id).await?,
            };
            let (body, content_type) = body_of(&with);
            let content_type = HeaderValue::from_str(&content_type).map_err(|_| {
                ActionError::input(format!("`content_type` {content_type:?} is not a valid header value"))
            })?;
            let mut req = OciRequest::new(
                Method::POST,
                Service::Functions,
                region,
                format!("/20181201/functions/{id}/actions/invoke"),
            )
            .bytes(body, content_type)
            .retry_policy(RetryPolicy::none())
            .cancel_on(ctx.cancel.clone());
            if let Some(endpoint) = &endpoint {
                let url = Url::parse(endpoint).map_err(|e| {
                    ActionError::input(format!("function {id}: invokeEndpoint {endpoint:?} is not a URL: {e}"))
                })?;
                req = req.endpoint(url);
            }
            let (outputs, whole) = match client.send(req).await {
                Ok(response) => {
                    let headers: Map<String, Value> = response
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_string(), json!(String::from_utf8_lossy(v.as_bytes()))))
                        .collect();
                    let whole = String::from_utf8_lossy(&response.body).into_owned();
                    let text = crate::actions::http::head(&whole, BODY_LIMIT).to_owned();
                    let parsed: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                    (outputs(response.status.as_u16(), text, parsed, Value::Object(headers)), whole)
                }
                // A status the task expects (a function's error, say) is an answer, not a failure.
                Err(ClientError::Api(e)) if expects_status(&with, e.status) => {
                    let parsed = json!({"code": e.code, "message": e.message});
                    (outputs(e.status, parsed.to_string(), parsed.clone(), json!({})), parsed.to_string())
                }
                Err(e) => {
                    let err = action_error(e);
                    return Err(ActionError {
                        message: format!("oci.functions.invoke {id} in {region}: {}", err.message),
                        ..err
                    });
                }
            };
            let status = outputs.get("status").and_then(Value::as_u64).unwrap_or(0);
            ctx.log.line(&format!("invoked {id} in {region} -> {status}"));
            let expect = with.get("expect").map(expect_for_http);
            let name = format!("function {id} in {region}");
            // What the task keeps secret is known as secret before an error can quote it.
            ctx.log.outputs(&outputs);
            check_expectations(&name, expect.as_ref(), &outputs, &whole).map_err(|e| {
                if matches!(e.class, ErrorClass::HttpStatus(_) | ErrorClass::Assertion) {
                    e
                } else {
                    ActionError::fatal(ErrorClass::Assertion, e.message)
                }
            })?;
            Ok(outputs)
        })
    }
}

fn outputs(status: u16, body: String, json: Value, headers: Value) -> Outputs {
    let mut out = Outputs::new();
    out.insert("status".into(), json!(status));
    out.insert("body".into(), Value::String(body));
    out.insert("json".into(), json);
    out.insert("headers".into(), headers);
    out
}

fn expects_status(with: &Value, status: u16) -> bool {
    let expected = with.get("expect").and_then(|e| e.get("status"));
    expected.is_some() && crate::actions::http::status_matches(expected, status)
}

/// `expect` in the shape the `http` action checks (`contains` is its `body_contains`).
fn expect_for_http(expect: &Value) -> Value {
    let mut out = expect.as_object().cloned().unwrap_or_default();
    if let Some(needle) = out.remove("contains") {
        out.insert("body_contains".into(), needle);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_checked() {
        let action = FunctionInvokeAction::new(OciEnvironment::new(Default::default()));
        let with = json!({"function_id": "f", "function": {"id": "f"}, "expect": {"stat": 200}});
        let messages: Vec<String> =
            action.check_inputs(with.as_object().unwrap()).into_iter().map(|p| p.message).collect();
        assert_eq!(
            messages,
            vec!["missing input `region`", "give exactly one of `function_id` and `function`", "unknown input `stat`"]
        );
    }

    #[test]
    fn bodies_and_content_types() {
        assert_eq!(body_of(&json!({"body": "hi"})), (b"hi".to_vec(), "text/plain".to_string()));
        assert_eq!(body_of(&json!({"body": {"a": 1}})), (br#"{"a":1}"#.to_vec(), "application/json".to_string()));
        assert_eq!(
            body_of(&json!({"body": "<x/>", "content_type": "application/xml"})),
            (b"<x/>".to_vec(), "application/xml".to_string())
        );
        assert_eq!(
            target(&json!({"function": {"id": "f", "invokeEndpoint": "http://h"}})).unwrap(),
            ("f".to_string(), Some("http://h".to_string()))
        );
    }
}
