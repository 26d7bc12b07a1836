//! Dry-run plans: what would run, in which order, with which inputs, against the RTO.
//!
//! A plan is computed from the checked runbook and the parameters alone; it makes no call and
//! touches no file. Values only known after earlier tasks run are shown as
//! `(known after run)`. A saved plan carries hashes of the runbook, the parameters and the plan
//! itself, so `drctl run --plan` can refuse to run anything other than what was reviewed.

mod refresh;
mod render;
mod schedule;

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::engine::RunScope;
use crate::runbook::checked::ForEach;
use crate::runbook::expr::{truthy, type_name};
use crate::runbook::Runbook;
use crate::ui::redact::Redactor;

pub use refresh::{refresh, render as render_refresh, Refresh, RefreshSummary, RefreshedInstance};
pub use render::render_text;

/// Shown in place of values that earlier tasks produce.
pub const UNKNOWN: &str = "(known after run)";
/// What a `for_each` task's `${{ each }}` shows in a plan.
const EACH: &str = "(each item)";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedTask {
    pub id: String,
    pub phase: Option<String>,
    pub uses: String,
    pub needs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_each: Option<Value>,
    /// Why the run will skip the task, when the plan knows it already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub inputs: Value,
    pub retry_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    pub estimate_ms: u64,
    pub on_failure: String,
    /// Expressions that fail on values already known (a parameter of the wrong type, a bad
    /// `format`): the run would fail here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    pub runbook: String,
    pub runbook_path: String,
    pub runbook_sha256: String,
    /// Parameter values, secrets masked.
    pub params: Map<String, Value>,
    pub params_sha256: String,
    pub waves: Vec<Vec<PlannedTask>>,
    pub critical_path: Vec<String>,
    pub critical_path_ms: u64,
    /// The whole run's estimated duration: the graph played out on the parallelism and the
    /// concurrency groups. At least the critical path.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub estimated_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_ms: Option<u64>,
    pub parallelism: usize,
    /// Planned for a drill (`run.drill` true), to be run with `drctl run --drill`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
    pub plan_sha256: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The scope a plan resolves a task in: what the run would know when the task starts, less
/// what only the run can know. The run's id is drawn as it starts, and a `for_each` task's
/// `each` is one item per instance: an expression reading either is known after run, whatever
/// it computes from them (`upper(each)`, `contains(run.id, '-')`), rather than computed from a
/// placeholder's text. `${{ each }}` on its own shows as the item placeholder.
struct PlanScope<'a> {
    inner: &'a RunScope<'a>,
    each_later: bool,
}

impl crate::runbook::expr::Scope for PlanScope<'_> {
    fn var(&self, name: &str) -> Option<std::borrow::Cow<'_, Value>> {
        if self.each_later && name == "each" {
            return None;
        }
        self.inner.var(name)
    }

    fn task(&self, id: &str) -> Option<std::borrow::Cow<'_, Value>> {
        self.inner.task(id)
    }

    fn known_later(&self, name: &str) -> bool {
        self.each_later && name == "each"
    }

    fn known_later_member(&self, name: &str, member: &str) -> bool {
        (name, member) == ("run", "id")
    }

    fn placeholder(&self, name: &str) -> Option<String> {
        (self.each_later && name == "each").then(|| EACH.to_owned())
    }
}

/// How long a `sleep` task with a written-out duration takes: that duration.
fn literal_sleep(task: &crate::runbook::checked::Task) -> Option<Duration> {
    if task.uses != "sleep" {
        return None;
    }
    let with = task.with.to_source_value();
    crate::runbook::duration::parse_duration(with.get("duration")?.as_str()?).ok()
}

/// How many items of a `for_each` a plan checks the inputs of.
const MAX_CHECKED_ITEMS: usize = 256;

/// What the run would refuse of `inputs` when the task starts, where the plan knows the values
/// (placeholders for what it does not know are not judged).
fn refusals(action: &dyn crate::actions::Action, inputs: &Value) -> Vec<String> {
    let Value::Object(with) = inputs else { return Vec::new() };
    let mut refused = Vec::new();
    for problem in action.check_resolved(with) {
        let at = if problem.key.is_empty() { Some(inputs) } else { with.get(&problem.key) };
        if at.is_none_or(|v| mentions_unknown(v) || mentions(v, EACH)) {
            continue;
        }
        let place = if problem.key.is_empty() { String::new() } else { format!(" `{}`", problem.key) };
        let help = problem.help.map(|h| format!(" ({h})")).unwrap_or_default();
        refused.push(format!("input{place} refused: {}{help}", problem.message));
    }
    refused
}

/// Whether a partly resolved value still holds something known only at run time.
fn mentions_unknown(value: &Value) -> bool {
    mentions(value, UNKNOWN)
}

/// Whether a text inside `value` holds `placeholder`.
fn mentions(value: &Value, placeholder: &str) -> bool {
    match value {
        Value::String(s) => s.contains(placeholder),
        Value::Array(items) => items.iter().any(|v| mentions(v, placeholder)),
        Value::Object(map) => map.values().any(|v| mentions(v, placeholder)),
        _ => false,
    }
}

/// Builds the plan. `params` are the full values (secrets included, only for resolution);
/// `history` gives measured durations of tasks from earlier runs.
pub fn build(
    runbook: &Runbook,
    actions: &crate::actions::ActionRegistry,
    params: &Value,
    redactor: &Redactor,
    parallelism: usize,
    drill: bool,
    history: &HashMap<String, Duration>,
) -> Plan {
    // The records of tasks the plan knows will be skipped: what reads them (their state, their
    // outputs with a fallback) is then known too.
    let mut tasks_known = crate::hash::FastMap::default();
    let run = json!({ "id": UNKNOWN, "name": runbook.name, "drill": drill });
    // Unknown durations count as a nanosecond, so the longest chain still shows.
    let mut estimates: Vec<Duration> = runbook
        .tasks
        .iter()
        .map(|task| {
            task.estimate
                .or_else(|| history.get(&task.id).copied())
                .or_else(|| literal_sleep(task))
                .unwrap_or(Duration::from_nanos(1))
        })
        .collect();
    let order = crate::graph::topo_order(runbook);
    // What the run would do, for the whole-run estimate: a `for_each` whose items the plan
    // knows runs that many instances.
    let mut work: Vec<schedule::Work> = runbook
        .tasks
        .iter()
        .zip(&estimates)
        .map(|(task, &each)| schedule::Work {
            instances: 1,
            each,
            slot: !actions.get(&task.uses).is_some_and(|a| a.is_approval()),
        })
        .collect();
    // Tasks the plan already knows will not run take no time: a condition that is false, and
    // (as the run decides) every task that reads the outputs of one.
    let mut skipped = vec![false; runbook.tasks.len()];
    let mut waves = Vec::new();
    for wave in crate::graph::waves_in(runbook, &order) {
        let mut planned = Vec::with_capacity(wave.len());
        for t in wave {
            let task = &runbook.tasks[t];
            let run_scope = RunScope { params, run: &run, each: None, tasks: &tasks_known };
            let scope = PlanScope { inner: &run_scope, each_later: task.for_each.is_some() };
            let mut errors = Vec::new();
            let mut failed = |what: &str, e: &dyn std::fmt::Display| {
                errors.push(redactor.mask(&format!("{what}: {e}")).into_owned());
                Value::String(format!("(error: {e})"))
            };
            let inputs = task.with.resolve_partial(&scope, UNKNOWN).unwrap_or_else(|e| failed("with", &e));
            // Values the plan knows meet the checks the run gives them when the task starts
            // (checked below, once the plan knows whether the task runs at all).
            let action = actions.get(&task.uses);
            let mut checked_inputs = action.map(|a| refusals(a.as_ref(), &inputs)).unwrap_or_default();
            let for_each = task.for_each.as_ref().map(|f| match f {
                ForEach::List(items) => Value::Array(items.clone()),
                ForEach::Expr(t) => match t.render_partial(&scope, UNKNOWN) {
                    // What the run would refuse, the plan refuses now (an optional list
                    // parameter given no value is null).
                    Ok(value) if !value.is_array() && !mentions_unknown(&value) => {
                        failed("for_each", &format!("for_each must give a list, got {}", type_name(&value)))
                    }
                    Ok(value) => value,
                    Err(e) => failed("for_each", &e),
                },
            });
            if let Some(items) = for_each.as_ref().and_then(Value::as_array) {
                work[t].instances = items.len();
                // Items the plan knows give the inputs they feed: checked item by item, as the
                // run checks each instance (a few hundred at most: a plan stays quick).
                if let (Some(action), false) = (action, mentions_unknown(&Value::Array(items.clone()))) {
                    let keys = crate::engine::instance_keys(items, redactor);
                    // What holds for every item is said once, above.
                    let general = checked_inputs.clone();
                    for (item, key) in items.iter().zip(&keys).take(MAX_CHECKED_ITEMS) {
                        let item_scope = RunScope { params, run: &run, each: Some(item), tasks: &tasks_known };
                        let scope = PlanScope { inner: &item_scope, each_later: false };
                        let Ok(with) = task.with.resolve_partial(&scope, UNKNOWN) else { continue };
                        let own: Vec<String> = refusals(action.as_ref(), &with)
                            .into_iter()
                            .filter(|r| !general.contains(r))
                            .map(|r| format!("[{key}] {r}"))
                            .collect();
                        checked_inputs.extend(own);
                    }
                }
            }
            let reads_skipped = task.deps.iter().find(|d| d.needs_outputs && skipped[d.task]);
            let condition = task.condition.as_ref().map(|c| match c.render_partial(&scope, UNKNOWN) {
                Ok(Value::Bool(b)) => {
                    skipped[t] |= !b;
                    b.to_string()
                }
                // Known now and false as the run reads it (`""`, `0`, `null`, `[]`): skipped.
                Ok(other) if !mentions_unknown(&other) && !truthy(&other) => {
                    skipped[t] = true;
                    format!("{other} (false)")
                }
                Ok(other) => other.as_str().map_or_else(|| other.to_string(), str::to_owned),
                Err(e) => failed("if", &e).as_str().unwrap_or_default().to_owned(),
            });
            // The condition's text may be a secret's value (`if: ${{ params.token }}`).
            let condition = condition.map(|c| redactor.mask(&c).into_owned());
            let skip = match reads_skipped {
                _ if skipped[t] => Some("its condition is false".to_owned()),
                Some(d) => Some(format!("it needs outputs of `{}`, which will be skipped", runbook.tasks[d.task].id)),
                None => None,
            };
            skipped[t] |= skip.is_some();
            // A task that will not run has no inputs to refuse.
            if !skipped[t] {
                for refusal in checked_inputs {
                    errors.push(redactor.mask(&format!("with: {refusal}")).into_owned());
                }
            }
            if skipped[t] {
                work[t].instances = 0;
                tasks_known.insert(task.id.clone(), json!({ "outputs": {}, "state": "skipped" }));
            }
            // A task that runs no instance (skipped, or a `for_each` over no items) takes no time.
            if work[t].instances == 0 {
                estimates[t] = Duration::ZERO;
            }
            planned.push(PlannedTask {
                id: task.id.clone(),
                phase: task.phase.clone(),
                uses: task.uses.clone(),
                needs: task.deps.iter().map(|d| runbook.tasks[d.task].id.clone()).collect(),
                condition,
                for_each: for_each.map(|v| redactor.mask_value(&v)),
                skipped: skip,
                inputs: redactor.mask_value(&inputs),
                retry_attempts: task.retry.attempts,
                // An approval's wait is bounded by its own `timeout` input, not the task's.
                timeout_ms: if task.uses == "approval" { None } else { task.timeout.map(|d| d.as_millis() as u64) },
                estimate_ms: estimates[t].as_millis() as u64,
                on_failure: format!("{:?}", task.on_failure).to_lowercase(),
                errors,
            });
        }
        waves.push(planned);
    }
    let (path, length) = crate::graph::critical_path_in(runbook, &order, |t| estimates[t]);
    let priority = crate::graph::bottom_levels_in(runbook, &order);
    let estimated = schedule::makespan(runbook, &work, &priority, parallelism).max(length);
    // A secret parameter is masked by its declaration, whatever its value (one too short for
    // the redactor to mask where it appears, a number, a boolean).
    let mut masked_params = match redactor.mask_value(params) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for (name, value) in masked_params.iter_mut() {
        // An empty one stays as it is: it hides nothing, and a saved plan then names the
        // parameter when a value is set since.
        let empty = value.is_null() || value.as_str() == Some("");
        if runbook.params.get(name).is_some_and(|p| p.secret) && !empty {
            *value = Value::String(crate::ui::redact::MASK.into());
        }
    }
    let mut plan = Plan {
        runbook: runbook.name.clone(),
        runbook_path: runbook.source.path.clone(),
        runbook_sha256: runbook.source.sha256.clone(),
        params_sha256: params_hash(runbook, params),
        params: masked_params,
        waves,
        critical_path: path.into_iter().map(|t| runbook.tasks[t].id.clone()).collect(),
        critical_path_ms: length.as_millis() as u64,
        estimated_ms: estimated.as_millis() as u64,
        rto_ms: runbook.rto.map(|d| d.as_millis() as u64),
        parallelism,
        drill,
        plan_sha256: String::new(),
    };
    plan.plan_sha256 = plan.content_hash();
    plan
}

impl Plan {
    /// Every expression error found while planning, as `task: where: error`.
    pub fn errors(&self) -> Vec<String> {
        self.waves.iter().flatten().flat_map(|t| t.errors.iter().map(move |e| format!("{}: {e}", t.id))).collect()
    }

    /// sha256 of the plan with its own hash field empty.
    pub fn content_hash(&self) -> String {
        if self.plan_sha256.is_empty() {
            let mut hasher = Sha256::new();
            // Writing into a hasher cannot fail; serializing a plan (strings, numbers, JSON
            // values with string keys) cannot either.
            let _ = serde_json::to_writer(&mut hasher, self);
            return crate::hash::hex(&hasher.finalize());
        }
        let mut copy = self.clone();
        copy.plan_sha256 = String::new();
        copy.content_hash()
    }
}

/// Hash of the parameter values. Secret values are left out (only whether one is set counts),
/// so the hash in a saved plan cannot be used to guess them.
pub fn params_hash(runbook: &Runbook, params: &Value) -> String {
    let mut canonical = std::collections::BTreeMap::new();
    if let Value::Object(map) = params {
        for (name, value) in map {
            // An empty or absent secret hides nothing; keeping it as is, and telling a secret
            // left at its default from one given, makes setting one count as a change.
            let shown = match runbook.params.get(name).filter(|p| p.secret && !is_empty(value)) {
                Some(p) if p.default.as_ref() == Some(value) => Value::String("<secret default>".into()),
                Some(_) => Value::String("<secret>".into()),
                None => value.clone(),
            };
            canonical.insert(name.clone(), shown);
        }
    }
    crate::hash::hex(&Sha256::digest(serde_json::to_vec(&canonical).unwrap_or_default()))
}

fn is_empty(value: &Value) -> bool {
    matches!(value, Value::Null) || value.as_str().is_some_and(str::is_empty)
}

/// The first 12 characters of a hash for messages; a hand-edited plan may hold anything there.
fn short(hash: &str) -> &str {
    hash.char_indices().nth(12).map_or(hash, |(end, _)| &hash[..end])
}

/// Why a saved plan no longer matches.
pub fn compare_saved(saved: &Plan, current: &Plan) -> Vec<String> {
    let mut changes = Vec::new();
    if saved.runbook_sha256 != current.runbook_sha256 {
        changes.push(format!(
            "the runbook changed (sha256 {} → {})",
            short(&saved.runbook_sha256),
            short(&current.runbook_sha256)
        ));
    }
    if saved.params_sha256 != current.params_sha256 {
        let mut names: Vec<&String> = saved
            .params
            .iter()
            .filter(|(k, v)| current.params.get(*k) != Some(v))
            .map(|(k, _)| k)
            .chain(current.params.keys().filter(|k| !saved.params.contains_key(*k)))
            .collect();
        names.dedup();
        changes.push(format!(
            "parameters changed: {}",
            if names.is_empty() {
                "a secret value".to_owned()
            } else {
                names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            }
        ));
    }
    if saved.plan_sha256 != saved.content_hash() {
        changes.push("the saved plan file was edited".into());
    } else if saved.plan_sha256 != current.plan_sha256 {
        // A changed runbook or parameters are named above; what they change in the run, here.
        let details = what_would_run_differently(saved, current);
        if details.is_empty() && changes.is_empty() {
            changes.push("the plan differs from the saved one".into());
        }
        changes.extend(details);
    }
    changes
}

/// How what would run differs from what was reviewed: the parallelism, and each task's action,
/// dependencies, inputs and settings. Estimates and the critical path are left out: they change
/// with every measured run, not with what runs.
fn what_would_run_differently(saved: &Plan, current: &Plan) -> Vec<String> {
    let mut changes = Vec::new();
    if saved.drill != current.drill {
        changes.push(if saved.drill {
            "the plan is for a drill: run it with --drill, or plan again without --drill".into()
        } else {
            "this is a drill (--drill) but the plan is not: plan again with --drill".into()
        });
    }
    if saved.parallelism != current.parallelism {
        changes.push(format!("parallelism changed ({} → {})", saved.parallelism, current.parallelism));
    }
    let tasks = |plan: &Plan| -> std::collections::BTreeMap<String, PlannedTask> {
        plan.waves.iter().flatten().map(|t| (t.id.clone(), t.clone())).collect()
    };
    let (before, now) = (tasks(saved), tasks(current));
    for id in before.keys().filter(|id| !now.contains_key(*id)) {
        changes.push(format!("task `{id}` is no longer in the plan"));
    }
    for (id, task) in &now {
        let Some(old) = before.get(id) else {
            changes.push(format!("task `{id}` is new"));
            continue;
        };
        let mut fields: Vec<String> = Vec::new();
        if let (Value::Object(a), Value::Object(b)) = (&old.inputs, &task.inputs) {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys.into_iter().filter(|k| a.get(*k) != b.get(*k)) {
                // A `shell` command's expressions reach it as `DRCTL_EXPR_n` variables in its
                // `env`: a change there is a change of what `run` is given.
                let expr_only = k == "env"
                    && [a.get(k), b.get(k)].iter().all(|env| {
                        let entries = env.and_then(Value::as_object);
                        let changed =
                            |name: &String| a.get(k).and_then(|e| e.get(name)) != b.get(k).and_then(|e| e.get(name));
                        entries.is_none_or(|e| e.keys().filter(|n| changed(n)).all(|n| n.starts_with("DRCTL_EXPR_")))
                    });
                fields.push(if expr_only {
                    "with.run (the values of its expressions)".to_owned()
                } else {
                    format!("with.{k}")
                });
            }
        } else if old.inputs != task.inputs {
            fields.push("with".into());
        }
        let settings = [
            ("uses", old.uses != task.uses),
            ("phase", old.phase != task.phase),
            ("needs", old.needs != task.needs),
            ("if", old.condition != task.condition),
            ("for_each", old.for_each != task.for_each),
            ("retry", old.retry_attempts != task.retry_attempts),
            ("timeout", old.timeout_ms != task.timeout_ms),
            ("on_failure", old.on_failure != task.on_failure),
        ];
        fields.extend(settings.iter().filter(|(_, changed)| *changed).map(|(name, _)| (*name).to_owned()));
        if !fields.is_empty() {
            changes.push(format!("task `{id}`: {} changed", fields.join(", ")));
        }
    }
    changes
}
