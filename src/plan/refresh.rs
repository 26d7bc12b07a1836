//! `drctl plan --refresh`: what each task would change, found with read-only calls.
//!
//! Tasks are visited in dependency order, as a run would. Read-only actions (an inventory
//! capture) run for real, so the `for_each` lists that hang on them expand; actions that can
//! preview themselves (the OCI converge actions) answer create / update with a field diff /
//! no change / delete, and the outputs they already know (an existing resource's id) flow to
//! later tasks. Approvals are previewed as approved, so the tasks behind them are previewed too. Everything else is reported as "runs" and its outputs stay unknown, as do the
//! inputs of tasks that need them. This module must never call an action's `run` unless the
//! action declares itself read-only.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use super::UNKNOWN;
use crate::actions::{ActionContext, ActionRegistry, Change, NullLog};
use crate::engine::{instance_keys, RunScope};
use crate::runbook::checked::ForEach;
use crate::runbook::expr::truthy;
use crate::runbook::Runbook;
use crate::ui::redact::Redactor;

/// The preview of one task instance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RefreshedInstance {
    pub task: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// create | update | no change | delete | absent | read | runs | unknown | skipped | error
    pub change: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<DiffLine>,
    /// Why the change is unknown, or the error the preview met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DiffLine {
    pub path: String,
    pub current: Value,
    pub desired: Value,
}

/// Counts per kind of change, for the closing line.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RefreshSummary {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub delete: usize,
    pub runs: usize,
    pub unknown: usize,
    pub errors: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Refresh {
    pub instances: Vec<RefreshedInstance>,
    pub summary: RefreshSummary,
}

/// Walks the runbook and previews every instance it can reach.
pub async fn refresh(
    runbook: &Runbook,
    params: &Value,
    actions: &ActionRegistry,
    redactor: &Redactor,
    drill: bool,
) -> Refresh {
    let run = json!({ "id": "plan", "name": runbook.name, "drill": drill });
    let mut known: crate::hash::FastMap<String, Value> = Default::default();
    let mut instances = Vec::new();
    let scratch = std::env::temp_dir();
    // Regions whose network failed a read, each with that failure: the rest of their reads
    // are not tried, since each would wait out the same retries (minutes when a region is
    // down) to the same end.
    let mut unreachable: crate::hash::FastMap<String, String> = Default::default();
    for t in crate::graph::topo_order(runbook) {
        let task = &runbook.tasks[t];
        let out = |key: Option<String>, change: &str, note: Option<String>| RefreshedInstance {
            task: task.id.clone(),
            key,
            change: change.to_owned(),
            diff: Vec::new(),
            note: note.map(|n| redactor.mask(&n).into_owned()),
        };
        // Only tasks whose outputs this one reads must be known; an explicit `depends_on`
        // (an approval, say) orders the run but does not change what the task would do.
        let mut needed = task.deps.iter().filter(|d| d.implicit).map(|d| &runbook.tasks[d.task].id);
        if let Some(missing) = needed.find(|id| !known.contains_key(*id)) {
            instances.push(out(None, "unknown", Some(format!("waits for `{missing}`, whose outputs are {UNKNOWN}"))));
            continue;
        }
        let scope = RunScope { params, run: &run, each: None, tasks: &known };
        if let Some(condition) = &task.condition {
            match condition.render(&scope) {
                Ok(v) if !truthy(&v) => {
                    instances.push(out(None, "skipped", Some("condition is false".into())));
                    known.insert(task.id.clone(), json!({ "outputs": {}, "state": "skipped" }));
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    instances.push(out(None, "unknown", Some(format!("`if`: {e}"))));
                    continue;
                }
            }
        }
        let items: Vec<(Option<String>, Option<Value>)> = match &task.for_each {
            None => vec![(None, None)],
            Some(for_each) => {
                let list = match for_each {
                    ForEach::List(items) => Ok(Value::Array(items.clone())),
                    ForEach::Expr(template) => template.render(&scope).map_err(|e| e.to_string()),
                };
                match list {
                    Ok(Value::Array(items)) => {
                        instance_keys(&items, redactor).into_iter().map(Some).zip(items.into_iter().map(Some)).collect()
                    }
                    Ok(_) => {
                        instances.push(out(None, "error", Some("for_each does not give a list".into())));
                        continue;
                    }
                    Err(e) => {
                        instances.push(out(None, "unknown", Some(format!("for_each: {e}"))));
                        continue;
                    }
                }
            }
        };
        let Some(action) = actions.get(&task.uses) else {
            instances.push(out(None, "error", Some(format!("unknown action `{}`", task.uses))));
            continue;
        };
        let mut outputs_by_key = Map::new();
        let mut complete = true;
        // Whether an instance would create its resource: outputs it does not preview are then
        // known after the run, not missing.
        let mut planned = false;
        for (key, item) in items {
            let scope = RunScope { params, run: &run, each: item.as_ref(), tasks: &known };
            let with = match task.with.resolve(&scope) {
                Ok(with) => with,
                Err(e) => {
                    complete = false;
                    instances.push(out(key, "unknown", Some(e.to_string())));
                    continue;
                }
            };
            let ctx = ActionContext {
                work_dir: None,
                task_id: task.id.clone(),
                instance_key: key.clone(),
                idempotency_key: String::new(),
                attempt: 1,
                started: std::time::Instant::now(),
                cancel: CancellationToken::new(),
                log: Arc::new(NullLog),
                scratch_dir: PathBuf::from(&scratch),
                drill,
                run_id: "plan".into(),
                only_tagged: None,
                urgency: 0,
            };
            let region = with.get("region").and_then(Value::as_str).map(str::to_owned);
            if let Some((down, failed)) =
                regions_of(&with).into_iter().find_map(|r| unreachable.get(r).map(|failed| (r, failed)))
            {
                let note = format!("not read: {down} did not answer an earlier read ({failed})");
                instances.push(out(key, "error", Some(note)));
                complete = false;
                continue;
            }
            let network = |e: &crate::actions::ActionError| e.class == crate::actions::ErrorClass::Network;
            let mut down = None;
            let (entry, outputs) = if action.is_approval() {
                // An approval changes nothing outside drctl; previewing past it as approved
                // (its outputs as the engine records them) lets the plan show the tasks behind
                // it instead of stopping at the first approval.
                let mut outputs = crate::actions::Outputs::new();
                outputs.insert("approved".into(), Value::Bool(true));
                let note = Some("an approval; previewed as approved".to_owned());
                (out(key.clone(), "runs", note), Some(outputs))
            } else if action.is_read_only() {
                match action.run(&ctx, with).await {
                    Ok(outputs) => (out(key.clone(), "read", None), Some(outputs)),
                    Err(e) => {
                        down = network(&e).then(|| e.to_string());
                        (out(key.clone(), "error", Some(e.to_string())), None)
                    }
                }
            } else {
                match action.refresh(&ctx, with) {
                    None => (out(key.clone(), "runs", None), None),
                    Some(preview) => match preview.await {
                        Ok(refreshed) => {
                            let mut entry = out(key.clone(), change_name(&refreshed.change), None);
                            if let Change::Update(diffs) = &refreshed.change {
                                entry.diff = diffs
                                    .iter()
                                    .map(|d| DiffLine {
                                        path: d.path.clone(),
                                        current: redactor.mask_value(&d.current),
                                        desired: redactor.mask_value(&d.desired),
                                    })
                                    .collect();
                            }
                            let mut outputs = refreshed.outputs;
                            if refreshed.change == Change::Create {
                                outputs.entry("id").or_insert_with(|| Value::String(UNKNOWN.into()));
                                planned = true;
                            }
                            (entry, Some(outputs))
                        }
                        Err(e) => {
                            down = network(&e).then(|| e.to_string());
                            (out(key.clone(), "error", Some(e.to_string())), None)
                        }
                    },
                }
            };
            if let (Some(region), Some(failure)) = (region, down) {
                unreachable.insert(region, failure);
            }
            instances.push(entry);
            match outputs {
                Some(outputs) => {
                    outputs_by_key.insert(key.unwrap_or_default(), Value::Object(outputs));
                }
                None => complete = false,
            }
        }
        // A task's outputs are visible to later tasks only when every instance's are known,
        // so a dependent never previews against half a list.
        if complete {
            let outputs = if task.for_each.is_some() {
                Value::Object(outputs_by_key)
            } else {
                outputs_by_key.into_iter().next().map_or_else(|| json!({}), |(_, v)| v)
            };
            known.insert(task.id.clone(), json!({ "outputs": outputs, "state": "succeeded", "planned": planned }));
        }
    }
    let summary = summarize(&instances);
    Refresh { instances, summary }
}

/// The regions a task's inputs name: its own, and those of an image copy's source and
/// destination.
fn regions_of(with: &Value) -> Vec<&str> {
    [Some(with), with.get("source"), with.get("destination")]
        .into_iter()
        .filter_map(|v| v?.get("region")?.as_str())
        .collect()
}

fn change_name(change: &Change) -> &'static str {
    match change {
        Change::Create => "create",
        Change::Update(_) => "update",
        Change::NoChange => "no change",
        Change::Delete => "delete",
        Change::Absent => "absent",
    }
}

fn summarize(instances: &[RefreshedInstance]) -> RefreshSummary {
    let mut s = RefreshSummary::default();
    for i in instances {
        match i.change.as_str() {
            "create" => s.create += 1,
            "update" => s.update += 1,
            "no change" | "absent" | "read" => s.unchanged += 1,
            "delete" => s.delete += 1,
            "runs" => s.runs += 1,
            "unknown" | "skipped" => s.unknown += 1,
            _ => s.errors += 1,
        }
    }
    s
}

/// The refresh as text: one line per instance, a diff under each update, and a total.
pub fn render(refresh: &Refresh) -> String {
    use std::fmt::Write;
    let mut out = String::from("\nRefresh (read-only calls; nothing was changed):\n");
    let width = refresh.instances.iter().map(|i| crate::ui::width(&label(i))).max().unwrap_or(0).min(56);
    for i in &refresh.instances {
        let mark = match i.change.as_str() {
            "create" => '+',
            "update" => '~',
            "delete" => '-',
            "no change" | "absent" | "read" => '=',
            "runs" => '>',
            "error" => '!',
            _ => '?',
        };
        let note = i.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
        let _ = writeln!(out, "  {mark} {}  {}{note}", crate::ui::pad(&label(i), width), i.change);
        for d in &i.diff {
            let _ = writeln!(out, "      {}: {} -> {}", d.path, d.current, d.desired);
        }
    }
    let s = &refresh.summary;
    let _ = writeln!(
        out,
        "\n{} to create, {} to update, {} unchanged, {} to delete; {} run without a preview, {} not known until run{}",
        s.create,
        s.update,
        s.unchanged,
        s.delete,
        s.runs,
        s.unknown,
        if s.errors > 0 { format!(", {} errors", s.errors) } else { String::new() }
    );
    out
}

fn label(i: &RefreshedInstance) -> String {
    match &i.key {
        Some(key) => format!("{}[{key}]", i.task),
        None => i.task.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use futures::future::BoxFuture;

    use super::*;
    use crate::actions::{Action, ActionError, ErrorClass, Outputs};

    /// Reads that fail as a region that refuses connections does, counted.
    struct Down(Arc<AtomicU32>);

    impl Action for Down {
        fn run<'a>(&'a self, _: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
            Box::pin(async move {
                self.0.fetch_add(1, Ordering::SeqCst);
                if with["region"] == "up-1" {
                    return Ok(Outputs::new());
                }
                Err(ActionError::new(ErrorClass::Network, "connection refused after 8 attempt(s)"))
            })
        }

        fn is_read_only(&self) -> bool {
            true
        }
    }

    #[tokio::test]
    async fn a_region_that_does_not_answer_is_read_once() {
        let calls = Arc::new(AtomicU32::new(0));
        let mut actions = crate::actions::builtin();
        actions.register("oci.inventory", Arc::new(Down(calls.clone())));
        let text = "version: 1\nname: r\ntasks:\n  a: { uses: oci.inventory, with: { region: down-1 } }\n  b: { uses: \
                    oci.inventory, with: { region: down-1 } }\n  c: { uses: oci.inventory, with: { region: up-1 } }\n  d: { uses: \
                    oci.inventory, with: { source: { region: up-1 }, destination: { region: down-1 } } }\n";
        let runbook = crate::runbook::load("rb.yaml", text, &actions).expect("runbook loads");
        let refreshed = refresh(&runbook, &json!({}), &actions, &Redactor::default(), false).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "{refreshed:?}");
        let notes: Vec<(&str, &str, Option<&str>)> =
            refreshed.instances.iter().map(|i| (i.task.as_str(), i.change.as_str(), i.note.as_deref())).collect();
        assert_eq!(
            notes,
            [
                ("a", "error", Some("connection refused after 8 attempt(s)")),
                (
                    "b",
                    "error",
                    Some("not read: down-1 did not answer an earlier read (connection refused after 8 attempt(s))")
                ),
                ("c", "read", None),
                (
                    "d",
                    "error",
                    Some("not read: down-1 did not answer an earlier read (connection refused after 8 attempt(s))")
                ),
            ]
        );
    }
}
