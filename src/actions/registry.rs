//! The one table of action kinds, looked up by the name a task gives in `uses`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Action;

/// Maps `uses:` names to actions.
#[derive(Clone, Default)]
pub struct ActionRegistry {
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
}

impl ActionRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, name: &'static str, action: Arc<dyn Action>) {
        self.actions.insert(name, action);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Action>> {
        self.actions.get(name)
    }

    /// Every registered name, sorted; used for did-you-mean suggestions.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.actions.keys().copied()
    }
}
