//! `approval`: a person must approve before dependents run.
//!
//! The engine handles approvals itself (asking on a terminal, pausing the run, applying
//! `--yes` and timeouts, writing the audit log); this action only declares its inputs.

use serde_json::{Map, Value};

use super::{Action, ActionContext, ActionError, BoxFuture, InputProblem, Outputs};
use crate::runbook::duration::parse_duration;

pub struct Approval;

const KEYS: &[&str] = &["message", "timeout", "on_timeout"];

impl Action for Approval {
    fn check_resolved(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        self.check_inputs(with)
    }

    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = super::unknown_keys(with, KEYS);
        if let Some(t) = with.get("timeout") {
            match t.as_str() {
                Some(s) if s.contains("${{") => {}
                Some(s) => match parse_duration(s) {
                    Err(why) => problems.push(InputProblem::new("timeout", why)),
                    // The question would time out before anybody could read it.
                    Ok(d) if d.is_zero() => problems.push(
                        InputProblem::new("timeout", "an approval `timeout` of 0 decides before anybody is asked")
                            .with_help("give the time a person has to answer, such as 15m, or leave `timeout` out"),
                    ),
                    Ok(_) => {}
                },
                None => problems.push(InputProblem::new("timeout", "`timeout` must be a duration like 1h")),
            }
        }
        if let Some(o) = with.get("on_timeout") {
            if !matches!(o.as_str(), Some("approve" | "deny")) {
                problems.push(
                    InputProblem::new("on_timeout", "`on_timeout` must be `approve` or `deny`")
                        .with_help("write `on_timeout: deny` (the safe default) or `on_timeout: approve`"),
                );
            }
        }
        if with.get("on_timeout").is_some() && with.get("timeout").is_none() {
            problems.push(
                InputProblem::new("on_timeout", "`on_timeout` needs a `timeout`")
                    .with_help("add how long to wait for an operator, e.g. `timeout: 15m`, or remove `on_timeout`"),
            );
        }
        problems
    }

    fn is_approval(&self) -> bool {
        true
    }

    fn output_names(&self) -> Option<&'static [&'static str]> {
        Some(&["approved", "by", "reason"])
    }

    fn run<'a>(&'a self, _ctx: &'a ActionContext, _with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async { Err(ActionError::input("approvals are decided by the engine, not run")) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_of_zero_is_refused() {
        let with = |t: &str| serde_json::json!({ "message": "go?", "timeout": t }).as_object().cloned().unwrap();
        let problems = Approval.check_inputs(&with("0s"));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("0 decides before anybody is asked"), "{}", problems[0].message);
        assert!(Approval.check_inputs(&with("15m")).is_empty());
    }
}
