//! Secret outputs a resumed run cannot give back: never stored, so a task that reads one fails
//! naming it rather than running with a masked value.

use serde_json::Value;

use super::Scheduler;
use crate::runbook::checked::TaskIdx;

/// An output of a task finished in an earlier segment that held a secret.
pub(super) struct Withheld {
    /// The instance's `for_each` key.
    pub(super) key: Option<String>,
    pub(super) name: String,
    /// What was stored of a map or a list: its texts that were never secret, `***` for the rest.
    /// `None` when nothing was stored.
    pub(super) kept: Option<Value>,
}

/// Whether what `path` reads inside a stored output holds a masked part. A segment chosen at
/// run time (`None`) may read any part below it.
fn masked_below(value: &Value, path: &[Option<String>]) -> bool {
    let mut at = value;
    for segment in path {
        let Some(segment) = segment else { break };
        let next = match at {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            // Reads nothing that was stored; the expression's own rules apply.
            None => return false,
        }
    }
    crate::ui::redact::holds_mask(at)
}

impl Scheduler<'_> {
    /// Why task `t` cannot run: it reads a secret output that a dependency produced before the
    /// run was interrupted. Such values are never stored, so a resume cannot give them back;
    /// the task fails naming the output rather than running with a masked value.
    pub(super) fn reads_withheld(&self, t: TaskIdx) -> Option<String> {
        if self.withheld.is_empty() {
            return None; // every run that was not resumed after producing a secret output
        }
        let tasks = &self.cfg.runbook.tasks;
        for dep in tasks[t].deps.iter().filter(|d| d.outputs) {
            let Some(lost) = self.withheld.get(&dep.task) else { continue };
            // A `for_each` task's outputs are keyed by item first, then by name.
            let keyed = tasks[dep.task].for_each.is_some();
            let at = usize::from(keyed);
            for path in &dep.output_paths {
                // `None` where the expression chooses at run time: any of them may be read.
                let key = if keyed { path.first().cloned().flatten() } else { None };
                let name = path.get(at).cloned().flatten();
                let rest = path.get(at + 1..).unwrap_or_default();
                let read = lost.iter().find(|w| {
                    (!keyed || key.is_none() || key == w.key)
                        && name.as_ref().is_none_or(|n| *n == w.name)
                        && w.kept.as_ref().is_none_or(|value| masked_below(value, rest))
                });
                if let Some(w) = read {
                    let mut shown = w.name.clone();
                    if w.kept.is_some() {
                        for segment in rest.iter().map_while(|s| s.as_deref()) {
                            shown.push('.');
                            shown.push_str(segment);
                        }
                    }
                    return Some(format!(
                        "reads output `{shown}` of `{}`, which held a secret and so was never stored: a resumed run \
                         cannot give it back; start a new run to produce it again",
                        tasks[dep.task].id
                    ));
                }
            }
        }
        None
    }
}
