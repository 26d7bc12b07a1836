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
    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = super::unknown_keys(with, KEYS);
        if let Some(t) = with.get("timeout") {
            match t.as_str() {
                Some(s) if s.contains("${{") => {}
                Some(s) => {
                    if let Err(why) = parse_duration(s) {
                        problems.push(InputProblem::new("timeout", why));
                    }
                }
                None => problems.push(InputProblem::new("timeout", "`timeout` must be a duration like 1h")),
            }
        }
        if let Some(o) = with.get("on_timeout") {
            if !matches!(o.as_str(), Some("approve" | "deny")) {
                problems.push(InputProblem::new("on_timeout", "`on_timeout` must be `approve` or `deny`"));
            }
        }
        if with.get("on_timeout").is_some() && with.get("timeout").is_none() {
            problems.push(InputProblem::new("on_timeout", "`on_timeout` needs a `timeout`"));
        }
        problems
    }

    fn is_approval(&self) -> bool {
        true
    }

    fn run<'a>(&'a self, _ctx: &'a ActionContext, _with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async { Err(ActionError::input("approvals are decided by the engine, not run")) })
    }
}
