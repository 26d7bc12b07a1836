//! Checks of each task: action, phase, dependencies, retry policy, failure mode, and the
//! dependency graph as a whole (cycles).

use indexmap::IndexMap;

use super::inputs::{self, RefContext};
use super::{suggest, suggest_or_list, Validator};
use crate::actions::ActionRegistry;
use crate::runbook::checked::{Check, Dep, Input, Param, Task};
use crate::runbook::de::Lenient;
use crate::runbook::model::{Defaults, OnFailure, RetryDoc, TaskDoc, Text};
use crate::runbook::problem::Problem;
use crate::runbook::retry::{RetryOn, RetryPolicy};
use crate::runbook::yaml::{ByteSpan, Node};

/// Task ids in order, with an index for lookups (runbooks may hold thousands of tasks).
pub(super) struct TaskIds<'a> {
    pub names: Vec<&'a str>,
    index: crate::hash::FastMap<&'a str, usize>,
    /// Per task: the names of its action's outputs when they are fixed, and whether the task
    /// has `for_each` (its outputs are then keyed by item first).
    outputs: Vec<Option<(&'static [&'static str], bool)>>,
}

impl<'a> TaskIds<'a> {
    fn new(names: Vec<&'a str>, outputs: Vec<Option<(&'static [&'static str], bool)>>) -> Self {
        let index = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        Self { names, index, outputs }
    }

    pub fn index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The fixed output names of task `t`'s action, and whether `t` has `for_each`.
    pub fn fixed_outputs(&self, t: usize) -> Option<(&'static [&'static str], bool)> {
        self.outputs.get(t).copied().flatten()
    }
}

pub(super) struct Context<'a> {
    pub params: &'a IndexMap<String, Param>,
    pub phases: &'a [(String, ByteSpan)],
    pub concurrency: &'a IndexMap<String, usize>,
    pub defaults: &'a Defaults,
    /// The default retry policy and attempt timeout, already checked.
    pub retry: &'a RetryPolicy,
    pub timeout: Option<std::time::Duration>,
    pub actions: &'a ActionRegistry,
}

pub(super) fn check_tasks(
    v: &mut Validator<'_>,
    docs: &IndexMap<Text, Lenient<Box<TaskDoc>>>,
    ctx: &Context<'_>,
) -> Option<Vec<Task>> {
    let outputs = docs
        .values()
        .map(|doc| {
            // A `check` probe's outputs join the task's when it finds the work done.
            let doc = doc.0.as_ref().filter(|doc| doc.check.is_none())?;
            let names = ctx.actions.get(&doc.uses.value)?.output_names()?;
            Some((names, doc.for_each.is_some()))
        })
        .collect();
    let ids = TaskIds::new(docs.keys().map(|k| k.value.as_str()).collect(), outputs);
    let mut tasks = Vec::with_capacity(docs.len());
    // Each task's edges by its place in `docs`, empty for a task that did not decode, so that
    // cycles are found (and reported with everything else) even when other tasks have errors.
    let mut edges: Vec<Option<usize>> = Vec::with_capacity(docs.len());
    let mut complete = true;
    for (index, (id, doc)) in docs.iter().enumerate() {
        if !valid_id(&id.value) {
            v.push(
                Problem::new(
                    "drctl::task-id",
                    format!("task id `{}` is not allowed", id.value),
                    id.span.clone(),
                    "here",
                )
                .help(Some("use letters, digits, `-` and `_`, starting with a letter or `_`".into())),
            );
        }
        let Some(doc) = &doc.0 else {
            complete = false;
            edges.push(None);
            continue;
        };
        match check_task(v, index, id, doc, &ids, ctx) {
            Some(task) => {
                edges.push(Some(tasks.len()));
                tasks.push(task);
            }
            None => {
                complete = false;
                edges.push(None);
            }
        }
    }
    let names: Vec<&str> = docs.keys().map(|k| k.value.as_str()).collect();
    let deps: Vec<&[Dep]> = edges.iter().map(|e| e.map_or(&[][..], |i| tasks[i].deps.as_slice())).collect();
    for cycle in crate::graph::find_cycles(&deps) {
        let cycle_names: Vec<&str> = cycle.iter().map(|(t, _)| names[*t]).collect();
        let mut shown = cycle_names.join(" → ");
        shown.push_str(&format!(" → {}", cycle_names[0]));
        let mut problem: Option<Problem> = None;
        for (task, edge) in &cycle {
            let dep = &deps[*task][*edge];
            let verb = if dep.implicit { "uses outputs of" } else { "depends on" };
            let label = format!("`{}` {verb} `{}`", names[*task], names[dep.task]);
            problem = Some(match problem {
                None => Problem::new("drctl::cycle", format!("dependency cycle: {shown}"), dep.span.clone(), label),
                Some(p) => p.label(dep.span.clone(), label),
            });
        }
        if let Some(p) = problem {
            v.push(p.help(Some("remove one of these dependencies so the tasks can be ordered".into())));
        }
    }
    complete.then_some(tasks)
}

/// A task id is a name as expressions read it (`tasks.<id>.outputs`): letters of any script,
/// digits, `-` and `_`, starting with a letter or `_`.
fn valid_id(id: &str) -> bool {
    use crate::runbook::expr::{is_ident_continue, is_ident_start};
    let mut chars = id.chars();
    chars.next().is_some_and(is_ident_start) && chars.all(is_ident_continue)
}

fn check_task(
    v: &mut Validator<'_>,
    index: usize,
    id: &Text,
    doc: &TaskDoc,
    ids: &TaskIds<'_>,
    ctx: &Context<'_>,
) -> Option<Task> {
    let action = ctx.actions.get(&doc.uses.value).cloned();
    if action.is_none() {
        v.push(
            Problem::new(
                "drctl::unknown-action",
                format!("unknown action `{}`", doc.uses.value),
                doc.uses.span.clone(),
                "not an action",
            )
            .help(
                suggest(&doc.uses.value, ctx.actions.names())
                    .or_else(|| Some(format!("actions: {}", ctx.actions.names().collect::<Vec<_>>().join(", ")))),
            ),
        );
    }
    if let Some(phase) = &doc.phase {
        if ctx.phases.is_empty() {
            v.push(
                Problem::new(
                    "drctl::phase",
                    format!("phase `{}` is not declared", phase.value),
                    phase.span.clone(),
                    "here",
                )
                .help(Some("declare the phases at the top: `phases: [inventory, prepare, ...]`".into())),
            );
        } else if !ctx.phases.iter().any(|(p, _)| *p == phase.value) {
            v.push(
                Problem::new(
                    "drctl::phase",
                    format!("phase `{}` is not declared", phase.value),
                    phase.span.clone(),
                    "not in `phases`",
                )
                .help(suggest(&phase.value, ctx.phases.iter().map(|(p, _)| p.as_str())).or_else(
                    || {
                        Some(format!(
                            "declared phases: {}",
                            ctx.phases.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")
                        ))
                    },
                )),
            );
        }
    }
    if let Some(group) = &doc.concurrency {
        if !ctx.concurrency.contains_key(&group.value) {
            v.push(
                Problem::new(
                    "drctl::concurrency",
                    format!("concurrency group `{}` is not declared", group.value),
                    group.span.clone(),
                    "here",
                )
                .help(
                    suggest(&group.value, ctx.concurrency.keys().map(String::as_str))
                        .or_else(|| Some(format!("declare it at the top: `concurrency: {{ {}: 4 }}`", group.value))),
                ),
            );
        }
    }
    let mut deps: Vec<Dep> = Vec::new();
    for dep in &doc.depends_on {
        match ids.index(&dep.value) {
            Some(t) => add_dep(&mut deps, Dep::ordered(t, dep.span.clone())),
            None => v.push(
                Problem::new(
                    "drctl::unknown-task",
                    format!("`{}` depends on unknown task `{}`", id.value, dep.value),
                    dep.span.clone(),
                    "no such task",
                )
                .help(suggest_or_list(&dep.value, "tasks", ids.names.iter().copied())),
            ),
        }
    }
    let refs = RefContext { task_index: index, ids, params: ctx.params, has_for_each: doc.for_each.is_some() };
    let condition = doc.condition.as_ref().and_then(|node| inputs::condition(v, &node.0, &refs, &mut deps));
    let for_each = doc.for_each.as_ref().and_then(|node| inputs::for_each(v, &node.0, &refs, &mut deps));
    let with = match &doc.with {
        Some(node) => inputs::input(v, &node.0, &refs, &mut deps, true),
        None => Some(Input::empty()),
    };
    if let Some(action) = &action {
        check_inputs(v, action.as_ref(), &doc.uses, doc.with.as_ref().map(|n| &n.0));
    }
    let with = match (&action, with) {
        (Some(action), Some(with)) => Some(scripts_as_env(v, action.as_ref(), with, doc.with.as_ref().map(|n| &n.0))),
        (_, with) => with,
    };
    let check = match &doc.check {
        Some(c) => {
            if ctx.actions.get(&c.uses.value).is_none() {
                v.push(
                    Problem::new(
                        "drctl::unknown-action",
                        format!("unknown action `{}`", c.uses.value),
                        c.uses.span.clone(),
                        "not an action",
                    )
                    .help(suggest_or_list(&c.uses.value, "actions", ctx.actions.names())),
                );
            }
            let with = match &c.with {
                Some(node) => inputs::input(v, &node.0, &refs, &mut deps, true),
                None => Some(Input::empty()),
            };
            let probe = ctx.actions.get(&c.uses.value);
            if let Some(probe) = probe {
                check_inputs(v, probe.as_ref(), &c.uses, c.with.as_ref().map(|n| &n.0));
            }
            let with = match (probe, with) {
                (Some(probe), Some(with)) => {
                    Some(scripts_as_env(v, probe.as_ref(), with, c.with.as_ref().map(|n| &n.0)))
                }
                (_, with) => with,
            };
            with.map(|with| Check { uses: c.uses.value.clone(), with })
        }
        None => None,
    };
    let retry = retry_policy(v, ctx.retry, doc.retry.as_deref());
    let timeout = v.limit(doc.timeout.as_deref(), "timeout").or(ctx.timeout);
    let on_failure = doc
        .on_failure
        .as_ref()
        .map(|o| o.value)
        .or(ctx.defaults.on_failure.as_ref().map(|o| o.value))
        .unwrap_or(OnFailure::Abort);
    Some(Task {
        id: id.value.clone(),
        span: id.span.clone(),
        phase: doc.phase.as_ref().map(|p| p.value.clone()),
        uses: doc.uses.value.clone(),
        description: doc.description.as_deref().map(str::to_owned),
        deps,
        condition,
        for_each,
        retry,
        timeout,
        estimate: v.duration(doc.estimate.as_deref()),
        on_failure,
        concurrency: doc.concurrency.as_ref().map(|c| c.value.clone()),
        with: with.unwrap_or_else(Input::empty),
        check,
        secret_outputs: doc.secret_outputs.iter().map(|s| s.value.clone()).collect(),
    })
}

/// `with` with the `${{ }}` parts of the action's script inputs, or of its shell probe, turned
/// into environment variables (see [`crate::actions::Action::script_inputs`]). An expression
/// where the shell would never expand one is a problem, reported at its script (`node` is the
/// task's `with`).
fn scripts_as_env(
    v: &mut Validator<'_>,
    action: &dyn crate::actions::Action,
    with: Input,
    node: Option<&Node>,
) -> Input {
    let (with, unexpanded, probe) = if !action.script_inputs().is_empty() {
        let (with, unexpanded) = inputs::scriptify(with, action.script_inputs());
        (with, unexpanded, None)
    } else if let Some(key) = action.script_probe() {
        let (with, unexpanded) = inputs::scriptify_probe(with, key);
        (with, unexpanded, Some(key))
    } else {
        return with;
    };
    for found in unexpanded {
        let holder = match probe {
            Some(key) => node.and_then(|n| n.get(key)),
            None => node,
        };
        let script = holder.and_then(|h| if h.as_scalar().is_some() { Some(h) } else { h.get(&found.key) });
        let Some(at) = script.or(holder).or(node) else { continue };
        // The expression itself when it is written verbatim in the script's source.
        let span = v
            .text
            .get(at.span.clone())
            .and_then(|source| source.find(&found.expr))
            .map_or(at.span.clone(), |pos| at.span.start + pos..at.span.start + pos + found.expr.len());
        let (message, help) = match &found.place {
            inputs::Unexpandable::QuotedHeredoc => (
                format!(
                    "`{}` is in a here-document with a quoted delimiter, where the shell expands nothing",
                    found.expr
                ),
                "leave the delimiter unquoted (<<EOF) so the value is filled in, or pass it in `env:` and read it \
                 elsewhere in the script"
                    .to_owned(),
            ),
            inputs::Unexpandable::NotAShell(program) => (
                format!(
                    "`{}` is in a script for `{program}`, which is not a POSIX shell: the value cannot be filled in",
                    found.expr
                ),
                format!(
                    "values reach scripts as environment variables, never as code: pass it in `env:` (`env: {{ \
                     VALUE: \"{}\" }}`) and read VALUE the way {program} reads one",
                    found.expr
                ),
            ),
        };
        v.push(Problem::new("drctl::expression", message, span, "never filled in").help(Some(help)));
    }
    with
}

/// The action's own checks of its inputs, each pointing at the input it is about; without
/// `with:`, at `uses`.
fn check_inputs(
    v: &mut Validator<'_>,
    action: &dyn crate::actions::Action,
    uses: &Text,
    with: Option<&crate::runbook::yaml::Node>,
) {
    let Some(node) = with else {
        for problem in action.check_inputs(&serde_json::Map::new()) {
            v.push(
                Problem::new(
                    "drctl::input",
                    format!("{}: {}", uses.value, problem.message),
                    uses.span.clone(),
                    "no `with:`",
                )
                .help(problem.help.or_else(|| Some("add `with:` with the action's inputs".into()))),
            );
        }
        return;
    };
    if let Some(map) = node.to_json().as_object() {
        for problem in action.check_inputs(map) {
            // The action's word on an input outweighs a generic one about a name inside it:
            // `until: ${{ response.status }}` names `response`, which exists only at each poll,
            // and the action's message says so and how to write it.
            if let Some(value) = node.get(&problem.key).filter(|_| !problem.key.is_empty()) {
                let inside = value.span.clone();
                v.problems.retain(|p| {
                    p.code != "drctl::unknown-name"
                        || !p.labels.first().is_some_and(|(s, _)| s.start >= inside.start && s.end <= inside.end)
                });
            }
            let inner = node.get(&problem.key).and_then(|m| path_span(m, &problem.inner));
            let span = inner.unwrap_or_else(|| {
                node.get(&problem.key)
                    .map_or(node.span.clone(), |n| key_span(node, &problem.key).unwrap_or(n.span.clone()))
            });
            let help = problem.help.unwrap_or_else(|| match problem.key.as_str() {
                "" => format!("give `{}` the inputs it needs (the README lists each action's inputs)", uses.value),
                key => format!(
                    "write `{key}` as the message says (the README lists what each input of `{}` takes)",
                    uses.value
                ),
            });
            v.push(
                Problem::new("drctl::input", format!("{}: {}", uses.value, problem.message), span, "here")
                    .help(Some(help)),
            );
        }
    } else if !matches!(node.kind, crate::runbook::yaml::NodeKind::Map(_)) {
        v.push(
            Problem::new("drctl::input", "`with` must be a map of inputs", node.span.clone(), "not a map")
                .help(Some("write the inputs as a map: `with: { run: ./make-vcn.sh }`".into())),
        );
    }
}

/// Adds an edge unless one to the same task exists; an explicit edge wins over an implicit one,
/// and an edge reads the task's record if any of its sources does.
pub(super) fn add_dep(deps: &mut Vec<Dep>, dep: Dep) {
    match deps.iter_mut().find(|d| d.task == dep.task) {
        Some(existing) => {
            existing.implicit &= dep.implicit;
            existing.reads |= dep.reads;
            existing.outputs |= dep.outputs;
            existing.needs_outputs |= dep.needs_outputs;
            existing.state |= dep.state;
            existing.output_paths.extend(dep.output_paths);
        }
        None => deps.push(dep),
    }
}

fn key_span(map: &crate::runbook::yaml::Node, key: &str) -> Option<ByteSpan> {
    match &map.kind {
        crate::runbook::yaml::NodeKind::Map(entries) => {
            entries.iter().find(|(k, _)| k.as_scalar() == Some(key)).map(|(k, _)| k.span.clone())
        }
        _ => None,
    }
}

/// The span of the last key of `path` (keys, and indices of list items) inside `node`; `None`
/// for an empty path or one that is not there.
fn path_span(node: &crate::runbook::yaml::Node, path: &[String]) -> Option<ByteSpan> {
    use crate::runbook::yaml::NodeKind;
    let (last, along) = path.split_last()?;
    let mut node = node;
    for step in along {
        node = match &node.kind {
            NodeKind::Seq(items) => items.get(step.parse::<usize>().ok()?)?,
            _ => node.get(step)?,
        };
    }
    key_span(node, last)
}

/// `base` with the settings of `doc` applied on top.
pub(super) fn retry_policy(v: &mut Validator<'_>, base: &RetryPolicy, doc: Option<&RetryDoc>) -> RetryPolicy {
    let mut policy = base.clone();
    if let Some(doc) = doc {
        if let Some(a) = &doc.attempts {
            if a.value == 0 {
                v.push(
                    Problem::new("drctl::retry", "attempts must be at least 1", a.span.clone(), "here")
                        .help(Some("1 means a single attempt, no retry".into())),
                );
            }
            policy.attempts = a.value.max(1);
        }
        if let Some(b) = doc.backoff {
            policy.backoff = b;
        }
        if let Some(d) = v.duration(doc.delay.as_ref()) {
            policy.delay = d;
        }
        if let Some(d) = v.duration(doc.max_delay.as_ref()) {
            policy.max_delay = d;
            // Written together, `max_delay` bounds every wait; a `delay` above it is a mistake.
            // (Over a `max_delay` inherited from `defaults`, or the built-in 30s, `delay` wins.)
            let delay = doc.delay.as_ref().and_then(|t| crate::runbook::duration::parse_duration(&t.0.value).ok());
            if let (Some(delay), Some(text)) = (delay, &doc.max_delay) {
                if delay > d {
                    v.push(
                        Problem::new(
                            "drctl::retry",
                            format!(
                                "`max_delay` {} is shorter than `delay` {}",
                                crate::runbook::duration::format_duration(d),
                                crate::runbook::duration::format_duration(delay)
                            ),
                            text.0.span.clone(),
                            "here",
                        )
                        .help(Some("`max_delay` bounds every wait between attempts: raise it to at least `delay`, or lower `delay`".into())),
                    );
                }
            }
        }
        if let Some(j) = doc.jitter {
            policy.jitter = j;
        }
        if let Some(b) = v.limit(doc.budget.as_ref(), "retry budget") {
            policy.budget = Some(b);
        }
        if let Some(list) = &doc.retry_on {
            policy.retry_on.clear();
            for item in list {
                match RetryOn::parse(&item.value) {
                    Ok(r) => policy.retry_on.push(r),
                    Err(why) => {
                        let classes = "error classes: any, timeout, network, exit:N, http:5xx, http:NNN";
                        let help = suggest(&item.value, ["any", "timeout", "network"])
                            .map_or_else(|| classes.to_owned(), |s| format!("{s} ({classes})"));
                        v.push(Problem::new("drctl::retry", why, item.span.clone(), "here").help(Some(help)));
                    }
                }
            }
        }
    }
    policy
}
