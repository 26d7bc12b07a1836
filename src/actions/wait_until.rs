//! `wait_until`: polls an HTTP check or a command until it passes, or a deadline passes.
//!
//! `until` is an expression (without `${{ }}`) over the last result: for `http`,
//! `response.status`, `response.json`, `response.body`, `response.headers`; for `shell`,
//! `result.exit_code` and `result.outputs`. Without `until`, the probe passing is enough.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::{Action, ActionContext, ActionError, BoxFuture, ErrorClass, InputProblem, Outputs};
use crate::runbook::duration::parse_duration;
use crate::runbook::expr::{parse_expr, truthy};

const KEYS: &[&str] = &["http", "shell", "until", "interval", "timeout"];

pub struct WaitUntil {
    client: reqwest::Client,
}

impl WaitUntil {
    pub fn new() -> Self {
        Self { client: reqwest::Client::new() }
    }
}

impl Default for WaitUntil {
    fn default() -> Self {
        Self::new()
    }
}

fn duration_input(with: &Value, key: &str, default: Duration) -> Result<Duration, ActionError> {
    match with.get(key) {
        None => Ok(default),
        Some(Value::String(s)) => parse_duration(s).map_err(ActionError::input),
        Some(_) => Err(ActionError::input(format!("`{key}` must be a duration like 5s"))),
    }
}

impl Action for WaitUntil {
    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = super::unknown_keys(with, KEYS);
        if with.contains_key("http") == with.contains_key("shell") {
            problems.push(InputProblem::new("", "give exactly one probe: `http` or `shell`"));
        }
        if let Some(until) = with.get("until").and_then(Value::as_str) {
            if let Err(e) = parse_expr(until) {
                problems.push(InputProblem::new("until", format!("bad expression: {e}")));
            }
        }
        problems
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let interval = duration_input(&with, "interval", Duration::from_secs(5))?;
            let timeout = duration_input(&with, "timeout", Duration::from_secs(300))?;
            let until = match with.get("until").and_then(Value::as_str) {
                Some(src) => Some(parse_expr(src).map_err(|e| ActionError::input(format!("until: {e}")))?),
                None => None,
            };
            let deadline = Instant::now() + timeout;
            let mut polls = 0u32;
            loop {
                polls += 1;
                let (passed, last) = match (with.get("http"), with.get("shell")) {
                    (Some(request), _) => match super::http::send(&self.client, request, None).await {
                        Ok(response) => {
                            let ok = match &until {
                                Some(expr) => expr.eval(&json!({ "response": response })).is_ok_and(|v| truthy(&v)),
                                None => {
                                    super::http::check_expectations("probe", request.get("expect"), &response).is_ok()
                                }
                            };
                            (ok, format!("status {}", response["status"]))
                        }
                        Err(e) => (false, e.message),
                    },
                    (None, Some(command)) => {
                        let shell_with = json!({ "run": command });
                        match super::shell::Shell.run(ctx, shell_with).await {
                            Ok(outputs) => {
                                let result = json!({ "result": { "exit_code": 0, "outputs": outputs } });
                                let ok = until.as_ref().is_none_or(|expr| expr.eval(&result).is_ok_and(|v| truthy(&v)));
                                (ok, "exit 0".to_owned())
                            }
                            Err(e) => (false, e.message),
                        }
                    }
                    (None, None) => return Err(ActionError::input("give `http` or `shell`")),
                };
                if passed {
                    let mut outputs = Outputs::new();
                    outputs.insert("polls".into(), Value::from(polls));
                    return Ok(outputs);
                }
                ctx.log.line(&format!("poll {polls}: not yet ({last})"));
                if Instant::now() + interval > deadline {
                    return Err(ActionError::new(
                        ErrorClass::Timeout,
                        format!(
                            "condition not met after {polls} polls in {} (last: {last})",
                            humantime::format_duration(timeout)
                        ),
                    ));
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = ctx.cancel.cancelled() => return Err(ActionError::new(ErrorClass::Other, "wait cancelled")),
                }
            }
        })
    }
}
