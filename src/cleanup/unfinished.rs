//! The inputs of a drill's instance that started and never succeeded. A crash, a timeout or
//! a failure may have come after its create, so cleanup looks for what it may have created,
//! by name. Nothing recorded them (inputs may hold secrets), so they are worked out again the
//! way the run did: the kept runbook, the run's parameters and what the journal says every
//! other task gave.

use serde_json::{Map, Value};

use crate::checkpoint::{InstanceId, Replay, TaskState};
use crate::engine::{instance_keys, RunScope};
use crate::hash::FastMap;
use crate::runbook::checked::{ForEach, Input, TaskIdx};
use crate::runbook::Runbook;
use crate::ui::redact::Redactor;

/// What expressions of the run saw, rebuilt from its run directory.
pub struct RunInputs<'a> {
    runbook: &'a Runbook,
    params: Value,
    run: Value,
    records: FastMap<String, Value>,
}

impl<'a> RunInputs<'a> {
    pub fn new(run_id: &str, runbook: &'a Runbook, replay: &Replay, params: &Map<String, Value>, drill: bool) -> Self {
        let run = serde_json::json!({ "id": run_id, "name": runbook.name, "drill": drill });
        let mut records = FastMap::default();
        for task in &runbook.tasks {
            let instance =
                |key: Option<&String>| replay.instance(&InstanceId { task: task.id.clone(), key: key.cloned() });
            let record = match (&task.for_each, replay.expansions.get(&task.id)) {
                (None, _) => instance(None).and_then(|r| match r.state {
                    TaskState::Succeeded => Some(record(Value::Object(r.outputs.clone()), "succeeded")),
                    TaskState::Skipped => Some(record(Value::Object(Map::new()), "skipped")),
                    TaskState::Failed => Some(record(Value::Object(Map::new()), "failed")),
                    _ => None,
                }),
                (Some(_), Some(keys)) => {
                    let done: Option<Map<String, Value>> = keys
                        .iter()
                        .map(|k| {
                            let r = instance(Some(k)).filter(|r| r.state == TaskState::Succeeded)?;
                            Some((k.clone(), Value::Object(r.outputs.clone())))
                        })
                        .collect();
                    done.map(|outputs| {
                        let mut r = record(Value::Object(outputs), "succeeded");
                        r["for_each"] = Value::Bool(true);
                        r
                    })
                }
                (Some(_), None) => None,
            };
            if let Some(r) = record {
                records.insert(task.id.clone(), r);
            }
        }
        RunInputs { runbook, params: Value::Object(params.clone()), run, records }
    }

    /// The resolved `with` of instance `key` of task `t`, or why it cannot be known. A
    /// top-level input that cannot be resolved again (one that reads a secret parameter, which
    /// the run directory does not keep) is left out and named with its error: finding a
    /// resource by name needs only its identity.
    pub fn of(&self, t: TaskIdx, key: Option<&str>) -> Result<(Value, Vec<String>), String> {
        let task = &self.runbook.tasks[t];
        let scope = RunScope { params: &self.params, run: &self.run, each: None, tasks: &self.records };
        let item = match (&task.for_each, key) {
            (Some(for_each), Some(key)) => {
                let items = match for_each {
                    ForEach::List(items) => items.clone(),
                    ForEach::Expr(template) => match template.render(&scope) {
                        Ok(Value::Array(items)) => items,
                        Ok(_) => return Err("its `for_each` no longer gives a list".into()),
                        Err(e) => return Err(format!("its `for_each` cannot be evaluated again: {e}")),
                    },
                };
                let keys = instance_keys(&items, &Redactor::new());
                let at = keys.iter().position(|k| k == key).ok_or("its `for_each` item is no longer in the list")?;
                items.into_iter().nth(at)
            }
            _ => None,
        };
        let scope = RunScope { each: item.as_ref(), ..scope };
        let Input::Map(fields) = &task.with else {
            let with = task.with.resolve(&scope).map_err(|e| format!("its inputs cannot be resolved again: {e}"))?;
            return Ok((with, Vec::new()));
        };
        let mut with = Map::new();
        let mut unresolved = Vec::new();
        for (name, input) in fields {
            match input.resolve(&scope) {
                Ok(value) => {
                    with.insert(name.clone(), value);
                }
                Err(e) => unresolved.push(self.why_unresolved(name, input, &e.to_string())),
            }
        }
        Ok((Value::Object(with), unresolved))
    }

    /// Why input `name` cannot be resolved again: a secret parameter it reads is not kept.
    fn why_unresolved(&self, name: &str, input: &Input, error: &str) -> String {
        let refs = input.references();
        let secret = self.runbook.params.iter().filter(|(_, p)| p.secret).find(|(param, _)| {
            refs.iter().any(|r| r.root == "params" && r.path.first().is_some_and(|first| first == *param))
        });
        match secret {
            Some((param, _)) => {
                format!("`{name}` reads secret parameter `{param}`, which the run directory does not keep")
            }
            None => format!("`{name}` cannot be resolved again: {error}"),
        }
    }
}

fn record(outputs: Value, state: &str) -> Value {
    serde_json::json!({ "outputs": outputs, "state": state })
}
