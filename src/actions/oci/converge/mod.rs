//! Typed converge actions `oci.<service>.<resource>` (contract C1): each brings one OCI
//! resource to the state a task describes, idempotently. Find it by name (or `id`); create it
//! when absent, with the task's idempotency key as retry token; update only the fields the
//! task gives that differ, with the GET's etag as `if-match`; delete it on `ensure: absent`;
//! wait for work requests and lifecycle states. `refresh` predicts the same with reads only.
//!
//! One generic engine ([`engine`] reads, [`apply`] writes) driven by a descriptor table
//! ([`kinds`]); the few resources that do not fit one JSON body have their own small files
//! ([`nsg_rules`], [`secret_content`], [`services`]). These actions never print or return a
//! secret's value, and never delete a resource a cleanup run did not tag.

mod api;
mod apply;
pub mod diff;
mod engine;
mod error;
pub mod field_types;
pub mod fields;
pub mod inputs;
pub mod kinds;
mod models;
mod nsg_rules;
pub mod refs;
mod secret_content;
mod service_labels;
mod services;

use std::sync::Arc;

use serde_json::{Map, Value};

use super::OciEnvironment;
use crate::actions::{Action, ActionContext, ActionError, BoxFuture, InputProblem, Outputs, Refreshed};
pub use kinds::{ResourceKind, KINDS};

/// One `oci.<service>.<resource>` action.
pub struct ConvergeAction {
    kind: &'static ResourceKind,
    env: Arc<OciEnvironment>,
}

impl ConvergeAction {
    pub fn new(kind: &'static ResourceKind, env: Arc<OciEnvironment>) -> Self {
        Self { kind, env }
    }
}

impl Action for ConvergeAction {
    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = inputs::check(self.kind, with);
        problems.extend(inputs::misspelled_fields(self.kind, with));
        problems
    }

    /// The same checks on values expressions gave (a name or tags from a parameter): what
    /// the run would refuse as the task starts, so `plan` shows it.
    fn check_resolved(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        inputs::check(self.kind, with)
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let plan = engine::prepare(self.kind, &self.env, ctx, &with).await?;
            let outputs = apply::run(&plan, ctx).await?;
            ctx.log.line(&format!(
                "{}: {}",
                plan.what,
                outputs.get("operation").and_then(Value::as_str).unwrap_or_default()
            ));
            Ok(outputs)
        })
    }

    fn refresh<'a>(
        &'a self,
        ctx: &'a ActionContext,
        with: Value,
    ) -> Option<BoxFuture<'a, Result<Refreshed, ActionError>>> {
        Some(Box::pin(async move {
            // A parent the run is still to create holds nothing yet: nothing to read.
            let desired = inputs::Desired::parse(self.kind, &with).map_err(ActionError::input)?;
            let unknown = |v: &str| v.contains(crate::plan::UNKNOWN);
            if desired.parent(self.kind).is_some_and(unknown) || desired.id.as_deref().is_some_and(unknown) {
                let change = match desired.ensure {
                    inputs::Ensure::Present => crate::actions::Change::Create,
                    inputs::Ensure::Absent => crate::actions::Change::Absent,
                };
                return Ok(Refreshed { change, outputs: Outputs::new() });
            }
            let plan = engine::prepare(self.kind, &self.env, ctx, &with).await?;
            Ok(apply::refresh(&plan, ctx).await?)
        }))
    }

    fn removal_by_name(&self, with: &Value) -> Option<Result<(String, Value), String>> {
        Some(inputs::removal_by_name(self.kind, with))
    }
}

/// Every converge action, by name, sharing one OCI environment.
pub fn actions(env: &Arc<OciEnvironment>) -> Vec<(&'static str, Arc<dyn Action>)> {
    KINDS
        .iter()
        .map(|kind| (kind.action, Arc::new(ConvergeAction::new(kind, env.clone())) as Arc<dyn Action>))
        .collect()
}
