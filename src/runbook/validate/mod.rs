//! Validation: from the typed file to a checked [`Runbook`], reporting every problem at once.
//!
//! Each check records a [`Problem`] with the span it concerns and carries on, so one run of
//! `drctl validate` shows everything that is wrong. Only a runbook without problems becomes a
//! [`Runbook`].

mod inputs;
mod quoting;
mod tasks;
mod top;
mod tree;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::checked::{Runbook, Source};
use super::de::{did_you_mean, from_node, ErrorSink};
use super::duration::parse_duration;
use super::model::{DurationText, ParamType, RunbookDoc};
use super::problem::{Invalid, Problem};
use super::yaml::{self, ByteSpan};
use crate::actions::ActionRegistry;
pub(crate) use tree::drop_duplicate_keys;
use tree::overlap;

/// Reads, decodes and validates a runbook.
pub fn load(path: &str, text: &str, actions: &ActionRegistry) -> Result<Runbook, Invalid> {
    // A byte-order mark some editors write is not part of the YAML; left in, every column on
    // the first line would be off by one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut v = Validator { problems: Vec::new(), text, tagged: Vec::new() };
    let runbook = v.run(path, text, actions);
    match runbook {
        Some(runbook) if v.problems.is_empty() => Ok(runbook),
        _ => {
            let mut problems = v.problems;
            // A tagged value stands in the tree as the text written; what else is said about
            // it follows from the tag, which is reported on its own.
            let tagged = v.tagged;
            problems.retain(|p| p.code == TAG || !p.labels.iter().any(|(s, _)| tagged.iter().any(|t| overlap(s, t))));
            problems.sort_by_key(|p| p.labels.first().map_or(0, |(s, _)| s.start));
            Err(Invalid { path: path.to_owned(), text: Arc::from(text), problems })
        }
    }
}

pub(crate) struct Validator<'t> {
    pub(crate) problems: Vec<Problem>,
    pub(crate) text: &'t str,
    /// Where the file has YAML tags.
    tagged: Vec<ByteSpan>,
}

/// The code of a YAML tag's problem.
pub(super) const TAG: &str = "drctl::yaml-tag";

impl Validator<'_> {
    pub(crate) fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    pub(crate) fn duration(&mut self, d: Option<&DurationText>) -> Option<Duration> {
        let d = d?;
        match parse_duration(&d.0.value) {
            Ok(duration) => Some(duration),
            Err(why) => {
                self.push(
                    Problem::new("drctl::bad-duration", format!("bad duration: {why}"), d.0.span.clone(), "here")
                        .help(Some("write durations like 500ms, 30s, 5m or 1h30m".into())),
                );
                None
            }
        }
    }

    /// A duration that bounds work (a timeout, a retry budget): zero would fail every attempt
    /// at once, so it is refused.
    pub(crate) fn limit(&mut self, d: Option<&DurationText>, what: &str) -> Option<Duration> {
        let duration = self.duration(d)?;
        if duration.is_zero() {
            let span = d.map_or(0..0, |d| d.0.span.clone());
            self.push(
                Problem::new(
                    "drctl::bad-duration",
                    format!("a {what} of 0 would fail every attempt at once"),
                    span,
                    "here",
                )
                .help(Some(format!("give a {what} longer than zero, or leave it out"))),
            );
            return None;
        }
        Some(duration)
    }

    fn run(&mut self, path: &str, text: &str, actions: &ActionRegistry) -> Option<Runbook> {
        let root = self.tree(text)?;
        let sink = ErrorSink::default();
        let decoded: Result<RunbookDoc, _> = from_node(&root, &sink);
        for err in sink.take() {
            let span = err.span.clone().unwrap_or(0..0);
            self.push(Problem::new("drctl::schema", err.message.clone(), span, "here").help(err.help.clone()));
        }
        let doc = match decoded {
            Ok(doc) => doc,
            Err(err) => {
                let span = err.span.clone().unwrap_or(0..0);
                self.push(Problem::new("drctl::schema", err.message.clone(), span, "here").help(err.help.clone()));
                return None;
            }
        };
        // Where the top-level keys are, for a key written with no value (`tasks:`).
        let key_at = |key: &str| match &root.kind {
            yaml::NodeKind::Map(entries) => {
                entries.iter().find(|(k, _)| k.as_scalar() == Some(key)).map(|(k, _)| k.span.clone())
            }
            _ => None,
        };
        let (name_key, tasks_key) = (key_at("name"), key_at("tasks"));
        // The decoded model owns what it needs; free the tree before building the checked form.
        drop(root);
        let top = first_line(text);
        self.version(&doc, &top);
        let name = self.name(&doc, name_key, &top);
        let objectives = doc.objectives.as_ref().and_then(|o| o.0.clone());
        let rto = self.rto(objectives.as_ref());
        let rpo = objectives.as_ref().and_then(|o| self.duration(o.rpo.as_ref()));
        let params = self.params(&doc);
        let phases = self.phases(&doc);
        let defaults = doc.defaults.as_ref().and_then(|d| d.0.clone()).unwrap_or_default();
        let concurrency = self.concurrency(&doc);
        let parallelism = self.parallelism(&defaults);
        let task_docs = self.task_docs(&doc, tasks_key, top)?;
        let retry = tasks::retry_policy(self, &crate::runbook::retry::RetryPolicy::default(), defaults.retry.as_ref());
        let timeout = self.limit(defaults.timeout.as_ref(), "timeout");
        let ctx = tasks::Context {
            params: &params,
            phases: &phases,
            concurrency: &concurrency,
            defaults: &defaults,
            retry: &retry,
            timeout,
            actions,
        };
        let tasks = tasks::check_tasks(self, task_docs, &ctx)?;
        let sha256 = crate::hash::sha256_hex(text.as_bytes());
        Some(Runbook {
            name,
            description: doc.description.as_ref().and_then(|d| d.0.clone()),
            source: Arc::new(Source { path: path.to_owned(), text: Arc::from(text), sha256 }),
            rto,
            rpo,
            params,
            phases: phases.into_iter().map(|(p, _)| p).collect(),
            parallelism,
            concurrency,
            tasks,
            index: Default::default(),
        })
    }
}

fn first_line(text: &str) -> ByteSpan {
    0..text.find('\n').unwrap_or(text.len())
}

pub(crate) fn matches_type(kind: ParamType, value: &Value) -> bool {
    match kind {
        ParamType::String => value.is_string(),
        ParamType::Number => value.is_number(),
        ParamType::Bool => value.is_boolean(),
        ParamType::List => value.is_array(),
        ParamType::Map => value.is_object(),
    }
}

pub(crate) fn type_word(kind: ParamType) -> &'static str {
    match kind {
        ParamType::String => "string",
        ParamType::Number => "number",
        ParamType::Bool => "bool",
        ParamType::List => "list",
        ParamType::Map => "map",
    }
}

/// Whether `value` is one of `allowed`; numbers by value, so that `1.0` is `1`.
pub(crate) fn is_allowed(allowed: &[Value], value: &Value) -> bool {
    allowed.iter().any(|a| match (a, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    })
}

pub(crate) fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(word, candidates)
}

/// The did-you-mean for `word`, or else the names it may be (`what`: "tasks", "actions"), the
/// first few of them when there are many.
pub(crate) fn suggest_or_list<'a>(
    word: &str,
    what: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    const SHOWN: usize = 12;
    let names: Vec<&str> = candidates.into_iter().collect();
    did_you_mean(word, names.iter().copied()).or_else(|| {
        let mut list = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        if names.len() > SHOWN {
            list.push_str(&format!(" and {} more", names.len() - SHOWN));
        }
        (!names.is_empty()).then(|| format!("{what}: {list}"))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::runbook::checked::Input;

    fn script_and_env(input: &Input) -> (serde_json::Value, serde_json::Value) {
        let value = input.to_source_value();
        (value["run"].clone(), value["env"].clone())
    }

    /// The problems for `text`, as (message, line of each label).
    fn problems(text: &str) -> Vec<(String, Vec<usize>)> {
        let Err(invalid) = super::load("rb.yaml", text, &crate::actions::builtin()) else {
            panic!("expected problems");
        };
        let line = |at: usize| text[..at].matches('\n').count() + 1;
        invalid
            .problems
            .iter()
            .map(|p| (p.message.clone(), p.labels.iter().map(|(span, _)| line(span.start)).collect()))
            .collect()
    }

    #[test]
    fn a_repeated_key_is_found_in_small_and_large_maps() {
        let mut text = String::from("version: 1\nname: d\ntasks:\n");
        for i in 0..20 {
            text.push_str(&format!("  t{i}: {{ uses: sleep, with: {{ duration: 1ms }}, uses: shell }}\n"));
        }
        text.push_str("  t3: { uses: sleep, with: { duration: 1ms } }\n");
        let found = problems(&text);
        // Twenty small maps with a repeated `uses`, and the large task map with `t3` again.
        assert_eq!(found.iter().filter(|(m, _)| m == "duplicate key `uses`").count(), 20, "{found:?}");
        assert!(found.contains(&("duplicate key `t3`".into(), vec![24, 7])), "{found:?}");
    }

    #[test]
    fn expressions_in_scripts_and_check_scripts_become_environment_variables() {
        let text = "version: 1\nname: s\nparams:\n  name: { type: string }\ntasks:\n  t:\n    uses: shell\n    check: { uses: shell, with: { run: 'test -f \"${{ params.name }}\"' } }\n    with: { run: 'echo \"${{ params.name }}\"', env: { A: b } }\n";
        let runbook = super::load("rb.yaml", text, &crate::actions::builtin()).unwrap();
        let task = &runbook.tasks[0];
        let (run, env) = script_and_env(&task.with);
        assert_eq!(run, json!("echo \"${DRCTL_EXPR_0}\""));
        assert_eq!(env, json!({"A": "b", "DRCTL_EXPR_0": "${{ params.name }}"}));
        let check = task.check.as_ref().unwrap();
        let (run, env) = script_and_env(&check.with);
        assert_eq!(run, json!("test -f \"${DRCTL_EXPR_0}\""));
        assert_eq!(env, json!({"DRCTL_EXPR_0": "${{ params.name }}"}));
    }
}
