//! What `${{ }}` expressions see while a run executes.

use std::borrow::Cow;

use serde_json::Value;

use crate::hash::FastMap;
use crate::runbook::expr::Scope;

/// Names visible to expressions: `params`, `run`, `each`, `env` and `tasks`.
pub struct RunScope<'a> {
    pub params: &'a Value,
    pub run: &'a Value,
    pub each: Option<&'a Value>,
    /// Task records (`{"outputs": .., "state": ..}`) of finished tasks, by id.
    pub tasks: &'a FastMap<String, Value>,
}

impl Scope for RunScope<'_> {
    fn var(&self, name: &str) -> Option<Cow<'_, Value>> {
        match name {
            "params" => Some(Cow::Borrowed(self.params)),
            "run" => Some(Cow::Borrowed(self.run)),
            "each" => self.each.map(Cow::Borrowed),
            "env" => Some(Cow::Owned(Value::Object(std::env::vars().map(|(k, v)| (k, Value::String(v))).collect()))),
            _ => None,
        }
    }

    fn task(&self, id: &str) -> Option<Cow<'_, Value>> {
        self.tasks.get(id).map(Cow::Borrowed)
    }
}
