//! `sleep`: waits for a duration, precisely.
//!
//! tokio's timer rounds up to whole milliseconds, which adds up along a long chain of short
//! waits; the last two milliseconds are therefore slept on a blocking thread, whose sleep is
//! accurate to tens of microseconds.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{Action, ActionContext, ActionError, BoxFuture, ErrorClass, InputProblem, Outputs};
use crate::runbook::duration::parse_duration;

pub struct Sleep;

const KEYS: &[&str] = &["duration"];

fn duration_of(with: &Value) -> Result<Duration, String> {
    match with.get("duration") {
        Some(Value::String(s)) => parse_duration(s),
        Some(_) => Err("`duration` must be a string like 30s".into()),
        None => Err("missing input `duration`".into()),
    }
}

impl Action for Sleep {
    fn is_pure(&self) -> bool {
        true
    }

    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = super::unknown_keys(with, KEYS);
        let value = Value::Object(with.clone());
        let unresolved = with.get("duration").and_then(Value::as_str).is_some_and(|s| s.contains("${{"));
        if !unresolved {
            if let Err(why) = duration_of(&value) {
                problems.push(InputProblem::new("duration", why).with_help("write durations like 500ms, 30s or 5m"));
            }
        }
        problems
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let duration = duration_of(&with).map_err(ActionError::input)?;
            let deadline = Instant::now() + duration;
            let coarse = duration.saturating_sub(Duration::from_millis(2));
            tokio::select! {
                () = tokio::time::sleep(coarse) => {}
                () = ctx.cancel.cancelled() => return Err(ActionError::new(ErrorClass::Other, "sleep cancelled")),
            }
            let rest = deadline.saturating_duration_since(Instant::now());
            if !rest.is_zero() {
                let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
            }
            Ok(Outputs::new())
        })
    }
}
