//! The runbook's top-level keys: `version`, `name`, `objectives`, `params`, `phases`,
//! `defaults` and `concurrency`, and that `tasks` is there.

use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;

use super::{is_allowed, matches_type, type_word, Validator};
use crate::runbook::checked::Param;
use crate::runbook::de::Lenient;
use crate::runbook::model::{Defaults, Objectives, ParamType, RunbookDoc, TaskDoc, Text};
use crate::runbook::problem::Problem;
use crate::runbook::yaml::{self, ByteSpan};

impl Validator<'_> {
    /// Checks `version`, which must be 1.
    pub(super) fn version(&mut self, doc: &RunbookDoc, top: &ByteSpan) {
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
    }

    /// The runbook's `name`; empty, and reported, when missing.
    pub(super) fn name(&mut self, doc: &RunbookDoc, name_key: Option<ByteSpan>, top: &ByteSpan) -> String {
        match (&doc.name, name_key) {
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
        }
    }

    /// The recovery time objective, which must be longer than zero.
    pub(super) fn rto(&mut self, objectives: Option<&Objectives>) -> Option<Duration> {
        let rto = objectives.and_then(|o| self.duration(o.rto.as_ref()));
        if let (Some(rto), Some(text)) = (rto, objectives.and_then(|o| o.rto.as_ref())) {
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
        rto
    }

    /// The concurrency groups, each with its limit (at least 1).
    pub(super) fn concurrency(&mut self, doc: &RunbookDoc) -> IndexMap<String, usize> {
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
        concurrency
    }

    /// `defaults.parallelism`, which must be at least 1.
    pub(super) fn parallelism(&mut self, defaults: &Defaults) -> Option<usize> {
        match &defaults.parallelism {
            Some(p) if p.value == 0 => {
                self.push(
                    Problem::new("drctl::parallelism", "parallelism must be at least 1", p.span.clone(), "here")
                        .help(Some("give how many tasks may run at once: 1 or more".into())),
                );
                None
            }
            Some(p) => Some(p.value as usize),
            None => None,
        }
    }

    /// The tasks, which must be there; `None` when there are none to check.
    pub(super) fn task_docs<'d>(
        &mut self,
        doc: &'d RunbookDoc,
        tasks_key: Option<ByteSpan>,
        top: ByteSpan,
    ) -> Option<&'d IndexMap<Text, Lenient<Box<TaskDoc>>>> {
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
        Some(task_docs)
    }

    /// The declared parameters, each with its type, default and allowed values checked.
    pub(super) fn params(&mut self, doc: &RunbookDoc) -> IndexMap<String, Param> {
        let mut params = IndexMap::new();
        let Some(Lenient(Some(docs))) = &doc.params else { return params };
        for (name, spec) in docs {
            let Some(spec) = &spec.0 else { continue };
            let kind = spec.kind.as_ref().map_or(ParamType::String, |k| k.value);
            // A bool's plain `yes`, `no`, `1` or `0` reads as a params file or `--param` reads it.
            let default = spec.default.as_ref().map(|d| match (&d.0.kind, kind) {
                (yaml::NodeKind::Scalar { text, quoted: false }, ParamType::Bool) => {
                    crate::runbook::model::bool_word(text).map_or_else(|| d.0.to_json(), Value::Bool)
                }
                _ => d.0.to_json(),
            });
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

    /// The declared phases, in order; one declared twice is reported and kept once.
    pub(super) fn phases(&mut self, doc: &RunbookDoc) -> Vec<(String, ByteSpan)> {
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
