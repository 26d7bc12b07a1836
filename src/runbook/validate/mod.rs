//! Validation: from the typed file to a checked [`Runbook`], reporting every problem at once.
//!
//! Each check records a [`Problem`] with the span it concerns and carries on, so one run of
//! `drctl validate` shows everything that is wrong. Only a runbook without problems becomes a
//! [`Runbook`].

mod inputs;
mod quoting;
mod tasks;

use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;

use super::checked::{Param, Runbook, Source};
use super::de::{did_you_mean, from_node, ErrorSink, Lenient};
use super::duration::parse_duration;
use super::model::{DurationText, ParamType, RunbookDoc};
use super::problem::{Invalid, Problem};
use super::yaml::{self, ByteSpan};
use crate::actions::ActionRegistry;

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

/// What a YAML tag is on: a key, a list or map, or text (the value of `if`, or another).
enum Tagged {
    Key,
    Collection,
    Text(bool),
}

/// The node a tag found at `at` is on (a key, a list or map, or text), and its whole span.
fn tagged_node(node: &yaml::Node, at: usize) -> Option<(ByteSpan, Tagged)> {
    let here = |n: &yaml::Node, key: Option<&yaml::Node>| {
        (n.span.start == at).then(|| {
            let what = match &n.kind {
                yaml::NodeKind::Scalar { .. } => Tagged::Text(key.and_then(|k| k.as_scalar()) == Some("if")),
                _ => Tagged::Collection,
            };
            (n.span.clone(), what)
        })
    };
    let key_here = |k: &yaml::Node| (k.span.start == at).then(|| (k.span.clone(), Tagged::Key));
    // The innermost node wins: a block map starts where its first key does.
    match &node.kind {
        yaml::NodeKind::Map(entries) => {
            entries.iter().find_map(|(k, v)| {
                key_here(k).or_else(|| tagged_node(v, at)).or_else(|| {
                    // What is said about a tagged value may point at its key.
                    here(v, Some(k)).map(|(span, what)| (k.span.start..span.end, what))
                })
            })
        }
        yaml::NodeKind::Seq(items) => items.iter().find_map(|i| tagged_node(i, at).or_else(|| here(i, None))),
        yaml::NodeKind::Scalar { .. } => None,
    }
}

/// Whether two spans share a byte; an empty span stands for the byte it is at.
fn overlap(a: &ByteSpan, b: &ByteSpan) -> bool {
    a.start < b.end.max(b.start + 1) && b.start < a.end.max(a.start + 1)
}

pub(crate) struct Validator<'t> {
    pub(crate) problems: Vec<Problem>,
    pub(crate) text: &'t str,
    /// Where the file has YAML tags.
    tagged: Vec<ByteSpan>,
}

/// The code of a YAML tag's problem.
const TAG: &str = "drctl::yaml-tag";

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
        let mut root = match yaml::parse_tagged(text) {
            Ok((root, tags)) => {
                for tag in tags {
                    let (value, what) =
                        tagged_node(&root, tag.span.start).unwrap_or((tag.span.clone(), Tagged::Text(false)));
                    let written = text.get(tag.span.clone()).and_then(|t| t.lines().next()).unwrap_or_default().trim();
                    // `if: !params.dry_run` meant a negated condition; any other tag is dropped.
                    let negation = !written.starts_with("!!")
                        && written.len() > 1
                        && !written.contains([' ', '"', '\'', '|', '>', '&', '{', '['])
                        && matches!(what, Tagged::Text(true));
                    let help = match what {
                        Tagged::Key => "remove the tag: a key is a plain name".to_owned(),
                        Tagged::Collection => {
                            "remove the tag: drctl reads lists and maps as they are written".to_owned()
                        }
                        Tagged::Text(_) if negation => {
                            format!("write the negated condition as an expression: ${{{{ {written} }}}}")
                        }
                        Tagged::Text(_) => {
                            "remove the tag, which drctl does not read; to keep a leading `!` as text, put the whole \
                             value in quotes"
                                .to_owned()
                        }
                    };
                    self.push(
                        Problem::new(TAG, format!("YAML syntax error: {}", tag.message), tag.span.clone(), "here")
                            .help(Some(help)),
                    );
                    // Nothing else is said about the tagged value: what is wrong there follows
                    // from the tag.
                    self.tagged.push(value);
                }
                root
            }
            Err(e) => {
                let line = |at: usize| {
                    let start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
                    text[start..].lines().next().unwrap_or_default()
                };
                let help = if e.kind == yaml::SyntaxErrorKind::TooManyAliases {
                    yaml::ALIAS_HELP.to_owned()
                } else if e.message.contains("tab") {
                    "indent with spaces: YAML does not allow tabs for indentation".to_owned()
                } else if e.kind != yaml::SyntaxErrorKind::Malformed {
                    "a runbook is one map of keys, a few levels deep".to_owned()
                } else if e.message.contains("flow") && line(e.span.start).contains("${{") {
                    "inside `{ }` or `[ ]`, YAML reads the braces of `${{ }}` as its own: quote the value, as in \
                     `with: { run: 'echo ${{ each }}' }`"
                        .to_owned()
                } else {
                    "check the indentation, and that every quote and bracket opened before this point is closed"
                        .to_owned()
                };
                let message = match e.kind {
                    yaml::SyntaxErrorKind::SecondDocument => format!("{}; a runbook is one document", e.message),
                    _ => e.message,
                };
                self.push(
                    Problem::new("drctl::yaml", format!("YAML syntax error: {message}"), e.span, "here")
                        .help(Some(help)),
                );
                return None;
            }
        };
        if !matches!(root.kind, yaml::NodeKind::Map(_)) {
            self.push(
                Problem::new(
                    "drctl::not-a-map",
                    "a runbook must be a map of keys",
                    root.span.clone(),
                    "this is not a map",
                )
                .help(Some("start with `version: 1`, `name: ...` and `tasks:`".into())),
            );
            return None;
        }
        drop_duplicate_keys(&mut root, &mut self.problems);
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
        match &doc.version {
            None => self.push(
                Problem::new("drctl::missing", "missing required key `version`", top.clone(), "in this runbook")
                    .help(Some("add `version: 1` at the top".into())),
            ),
            Some(Lenient(Some(v))) if v.value != 1 => self.push(
                Problem::new(
                    "drctl::version",
                    format!("unsupported runbook version {}", v.value),
                    v.span.clone(),
                    "here",
                )
                .help(Some("this drctl reads `version: 1`".into())),
            ),
            _ => {}
        }
        let name = match (&doc.name, name_key) {
            (None, Some(key)) => {
                self.push(
                    Problem::new("drctl::missing", "`name` has no value", key, "here")
                        .help(Some("write the runbook's short name after `name:`".into())),
                );
                String::new()
            }
            (None, None) => {
                self.push(
                    Problem::new("drctl::missing", "missing required key `name`", top.clone(), "in this runbook")
                        .help(Some("add `name: <short name>`".into())),
                );
                String::new()
            }
            (Some(Lenient(n)), _) => n.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
        };
        let objectives = doc.objectives.as_ref().and_then(|o| o.0.clone());
        let rto = objectives.as_ref().and_then(|o| self.duration(o.rto.as_ref()));
        if let (Some(rto), Some(text)) = (rto, objectives.as_ref().and_then(|o| o.rto.as_ref())) {
            if rto.is_zero() {
                self.push(
                    Problem::new(
                        "drctl::bad-duration",
                        "an RTO of 0 is over as the run starts",
                        text.0.span.clone(),
                        "here",
                    )
                    .help(Some("give the recovery time objective, such as `rto: 30m`, or leave it out".into())),
                );
            }
        }
        let rpo = objectives.as_ref().and_then(|o| self.duration(o.rpo.as_ref()));
        let params = self.params(&doc);
        let phases = self.phases(&doc);
        let defaults = doc.defaults.as_ref().and_then(|d| d.0.clone()).unwrap_or_default();
        let mut concurrency = IndexMap::new();
        if let Some(Lenient(Some(groups))) = &doc.concurrency {
            for (group, limit) in groups {
                // A limit that could not be read was reported; the group still exists.
                let Lenient(Some(limit)) = limit else {
                    concurrency.insert(group.value.clone(), 1);
                    continue;
                };
                if limit.value == 0 {
                    self.push(
                        Problem::new(
                            "drctl::concurrency",
                            "a concurrency limit must be at least 1",
                            limit.span.clone(),
                            "here",
                        )
                        .help(Some(format!(
                            "give `{}` how many of its tasks may run at once (1 or more), or remove the group",
                            group.value
                        ))),
                    );
                }
                concurrency.insert(group.value.clone(), limit.value.max(1) as usize);
            }
        }
        let parallelism = match &defaults.parallelism {
            Some(p) if p.value == 0 => {
                self.push(
                    Problem::new("drctl::parallelism", "parallelism must be at least 1", p.span.clone(), "here")
                        .help(Some("give how many tasks may run at once: 1 or more".into())),
                );
                None
            }
            Some(p) => Some(p.value as usize),
            None => None,
        };
        let add_tasks =
            "add at least one task under `tasks:`, keyed by its id: `make-vcn: { uses: shell, with: { run: \
                         ./make-vcn.sh } }`";
        let Some(Lenient(task_docs)) = &doc.tasks else {
            let problem = match &tasks_key {
                Some(key) => Problem::new("drctl::no-tasks", "`tasks` is empty", key.clone(), "no tasks here"),
                None => Problem::new("drctl::missing", "missing required key `tasks`", top, "in this runbook"),
            };
            self.push(problem.help(Some(add_tasks.into())));
            return None;
        };
        let task_docs = task_docs.as_ref()?;
        if task_docs.is_empty() {
            let at = tasks_key.unwrap_or(top);
            self.push(
                Problem::new("drctl::no-tasks", "the runbook has no tasks", at, "no tasks here")
                    .help(Some(add_tasks.into())),
            );
        }
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

    fn params(&mut self, doc: &RunbookDoc) -> IndexMap<String, Param> {
        let mut params = IndexMap::new();
        let Some(Lenient(Some(docs))) = &doc.params else { return params };
        for (name, spec) in docs {
            let Some(spec) = &spec.0 else { continue };
            let kind = spec.kind.as_ref().map_or(ParamType::String, |k| k.value);
            let default = spec.default.as_ref().map(|d| d.0.to_json());
            let retype = format!(
                "write {} (`{}` has `type: {}`), or change its `type`",
                a_type(kind),
                name.value,
                type_word(kind)
            );
            if let (Some(value), Some(node)) = (&default, &spec.default) {
                let plain = matches!(&node.0.kind, yaml::NodeKind::Scalar { quoted: false, .. });
                let digits = node.0.as_scalar().filter(|t| plain && yaml::integer_text(t));
                if let (ParamType::Number, Some(digits)) = (kind, digits.filter(|_| !value.is_number())) {
                    self.push(
                        Problem::new(
                            "drctl::param-type",
                            format!("default of `{}` is a whole number drctl cannot hold exactly", name.value),
                            node.0.span.clone(),
                            "out of range",
                        )
                        .help(Some(format!(
                            "whole numbers are exact from -9223372036854775808 to 18446744073709551615; declare \
                             `{}` with `type: string` and quote \"{digits}\" to keep the digits as text",
                            name.value
                        ))),
                    );
                } else if !matches_type(kind, value) {
                    self.push(
                        Problem::new(
                            "drctl::param-type",
                            format!("default of `{}` is not a {}", name.value, type_word(kind)),
                            node.0.span.clone(),
                            format!("this is {}", node.0.type_name()),
                        )
                        .help(Some(retype.clone())),
                    );
                }
            }
            if let Some(list) = &spec.allowed {
                if list.value.is_empty() {
                    self.push(
                        Problem::new(
                            "drctl::param-enum",
                            format!("`enum` of `{}` allows no value", name.value),
                            list.span.clone(),
                            "empty",
                        )
                        .help(Some("list the values it may take, or remove `enum`".into())),
                    );
                }
                for node in list.value.iter().filter(|n| !matches_type(kind, &n.0.to_json())) {
                    self.push(
                        Problem::new(
                            "drctl::param-enum",
                            format!("a value in `enum` of `{}` is not a {}", name.value, type_word(kind)),
                            node.0.span.clone(),
                            format!("this is {}", node.0.type_name()),
                        )
                        .help(Some(retype.clone())),
                    );
                }
            }
            let allowed: Option<Vec<Value>> =
                spec.allowed.as_ref().map(|a| a.value.iter().map(|n| n.0.to_json()).collect());
            if let (Some(value), Some(node), Some(allowed)) = (&default, &spec.default, &allowed) {
                if !is_allowed(allowed, value) {
                    let shown: Vec<String> = allowed.iter().map(Value::to_string).collect();
                    self.push(
                        Problem::new(
                            "drctl::param-enum",
                            format!("default of `{}` is not one of its allowed values", name.value),
                            node.0.span.clone(),
                            "not in `enum`",
                        )
                        .help(Some(format!("allowed: {}", shown.join(", ")))),
                    );
                }
            }
            params.insert(
                name.value.clone(),
                Param {
                    kind,
                    required: spec.required,
                    secret: spec.secret,
                    default,
                    description: spec.description.clone(),
                    allowed,
                },
            );
        }
        params
    }

    fn phases(&mut self, doc: &RunbookDoc) -> Vec<(String, ByteSpan)> {
        let mut phases: Vec<(String, ByteSpan)> = Vec::new();
        if let Some(Lenient(Some(list))) = &doc.phases {
            for phase in list {
                if phases.iter().any(|(p, _)| *p == phase.value) {
                    self.push(
                        Problem::new(
                            "drctl::phase",
                            format!("phase `{}` is declared twice", phase.value),
                            phase.span.clone(),
                            "again here",
                        )
                        .help(Some("remove this one: each phase is declared once, in the order phases run".into())),
                    );
                } else {
                    phases.push((phase.value.clone(), phase.span.clone()));
                }
            }
        }
        phases
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

/// How to write a value of `kind`, for help lines.
fn a_type(kind: ParamType) -> &'static str {
    match kind {
        ParamType::String => "a string",
        ParamType::Number => "a number",
        ParamType::Bool => "true or false",
        ParamType::List => "a list",
        ParamType::Map => "a map",
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

/// Maps up to this many entries are checked for repeated keys pair by pair.
const SMALL_MAP: usize = 12;

/// Reports every key given twice in one map, and keeps only its first entry, so that the rest
/// of the runbook is checked as if the repeat were not there. YAML allows one value per key;
/// a repeat is almost always a mistake whose second value would otherwise silently win.
pub(crate) fn drop_duplicate_keys(node: &mut yaml::Node, problems: &mut Vec<Problem>) {
    match &mut node.kind {
        yaml::NodeKind::Scalar { .. } => {}
        yaml::NodeKind::Seq(items) => items.iter_mut().for_each(|n| drop_duplicate_keys(n, problems)),
        yaml::NodeKind::Map(entries) => {
            let mut repeats = Vec::new();
            {
                let mut report = |name: &str, span: &ByteSpan, earlier: &ByteSpan| {
                    problems.push(
                        Problem::new(
                            "drctl::duplicate-key",
                            format!("duplicate key `{name}`"),
                            span.clone(),
                            "given again here",
                        )
                        .label(earlier.clone(), "first given here")
                        .help(Some("a key may appear once in a map: remove or rename one of them".into())),
                    );
                };
                if entries.len() <= SMALL_MAP {
                    // Most maps hold a handful of keys: comparing pairs beats building an index.
                    for (i, (key, _)) in entries.iter().enumerate() {
                        let Some(name) = key.as_scalar() else { continue };
                        if let Some((earlier, _)) = entries[..i].iter().find(|(k, _)| k.as_scalar() == Some(name)) {
                            report(name, &key.span, &earlier.span);
                            repeats.push(i);
                        }
                    }
                } else {
                    let mut first: crate::hash::FastMap<&str, &ByteSpan> = crate::hash::FastMap::default();
                    first.reserve(entries.len());
                    for (i, (key, _)) in entries.iter().enumerate() {
                        let Some(name) = key.as_scalar() else { continue };
                        match first.entry(name) {
                            std::collections::hash_map::Entry::Vacant(slot) => {
                                slot.insert(&key.span);
                            }
                            std::collections::hash_map::Entry::Occupied(earlier) => {
                                report(name, &key.span, earlier.get());
                                repeats.push(i);
                            }
                        }
                    }
                }
            }
            for i in repeats.into_iter().rev() {
                entries.remove(i);
            }
            entries.iter_mut().for_each(|(_, v)| drop_duplicate_keys(v, problems));
        }
    }
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
