//! What names resolve to during evaluation.
//!
//! The engine implements [`Scope`] over its own state (parameters, task records, the current
//! `for_each` item) and hands out borrows, so evaluating an expression never copies a task's
//! outputs. This module defines the seam only; it never decides what a name means.

use std::borrow::Cow;

use serde_json::Value;

/// The names an expression can read.
pub trait Scope {
    /// A top-level name other than `tasks` (`params`, `each`, `run`, `env`, ...).
    /// `None` means the name does not exist, which evaluates to [`EvalError::UnknownName`].
    ///
    /// [`EvalError::UnknownName`]: super::EvalError::UnknownName
    fn var(&self, name: &str) -> Option<Cow<'_, Value>>;

    /// The record of task `id`: `{"outputs": {...}, "state": "succeeded"}`. `None` means it is
    /// not known (yet), which evaluates to [`EvalError::Unknown`] ("known after run" in plans).
    ///
    /// [`EvalError::Unknown`]: super::EvalError::Unknown
    fn task(&self, id: &str) -> Option<Cow<'_, Value>>;

    /// Whether a name the scope does not give is only known later (a plan's `each`): it then
    /// evaluates to [`EvalError::Unknown`] rather than an unknown name.
    ///
    /// [`EvalError::Unknown`]: super::EvalError::Unknown
    fn known_later(&self, _name: &str) -> bool {
        false
    }

    /// Whether member `member` of top-level name `name` is only known later, though the rest
    /// of `name` is known now (a plan's `run.id`): it evaluates to [`EvalError::Unknown`].
    ///
    /// [`EvalError::Unknown`]: super::EvalError::Unknown
    fn known_later_member(&self, _name: &str, _member: &str) -> bool {
        false
    }

    /// What a partial rendering shows for a name known only later, written on its own (a
    /// plan's `${{ each }}`), instead of the general placeholder.
    fn placeholder(&self, _name: &str) -> Option<String> {
        None
    }
}

/// For tests and simple callers: a JSON object whose keys are the top-level names, with task
/// records under `"tasks"`.
impl Scope for Value {
    fn var(&self, name: &str) -> Option<Cow<'_, Value>> {
        if name == "tasks" {
            return None;
        }
        self.get(name).map(Cow::Borrowed)
    }

    fn task(&self, id: &str) -> Option<Cow<'_, Value>> {
        self.get("tasks")?.get(id).map(Cow::Borrowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_scope_resolves_vars_and_tasks() {
        let scope = json!({
            "params": {"region": "eu"},
            "tasks": {"a": {"state": "succeeded"}}
        });
        assert_eq!(scope.var("params").unwrap().as_ref(), &json!({"region": "eu"}));
        assert_eq!(scope.var("tasks"), None);
        assert_eq!(scope.var("each"), None);
        assert_eq!(scope.task("a").unwrap().as_ref(), &json!({"state": "succeeded"}));
        assert_eq!(scope.task("b"), None);
        assert_eq!(json!(null).task("a"), None);
    }
}
