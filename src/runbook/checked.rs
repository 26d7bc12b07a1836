//! The checked runbook: what validation produces and every later stage consumes.
//!
//! Everything here has been verified: durations parsed, expressions parsed, references
//! resolved to task indices, actions known. Later stages never re-check strings.

use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;

use super::expr::{EvalError, Scope, Template};
use super::model::{OnFailure, ParamType};
use super::retry::RetryPolicy;
use super::yaml::ByteSpan;

/// An input that could not be resolved: where it is in `with` (`env.REGION`, `items[2]`;
/// empty for `with` itself) and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{error}", if path.is_empty() { String::new() } else { format!("`{path}`: ") })]
pub struct InputError {
    pub path: String,
    pub error: EvalError,
}

/// One step of an [`InputError`]'s path.
enum Step<'a> {
    Key(&'a str),
    Item(usize),
}

fn path_text(path: &[Step<'_>]) -> String {
    // An expression of a script is passed in `env.DRCTL_EXPR_n` (see `validate::scriptify`):
    // it was written in `run`.
    let script = match path {
        [.., Step::Key("env"), Step::Key(name)] if name.starts_with("DRCTL_EXPR_") => Some(path.len() - 2),
        _ => None,
    };
    let path = match script {
        Some(end) => &path[..end],
        None => path,
    };
    let mut out = String::new();
    for step in path.iter().chain(script.map(|_| &Step::Key("run"))) {
        match step {
            Step::Key(key) if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Key(key) => out.push_str(&format!("[{}]", Value::String((*key).to_owned()))),
            Step::Item(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Index of a task in [`Runbook::tasks`].
pub type TaskIdx = usize;

/// A validated runbook.
#[derive(Debug)]
pub struct Runbook {
    pub name: String,
    pub description: Option<String>,
    pub source: Arc<Source>,
    pub rto: Option<Duration>,
    pub rpo: Option<Duration>,
    pub params: IndexMap<String, Param>,
    pub phases: Vec<String>,
    pub parallelism: Option<usize>,
    /// Concurrency groups and their limits.
    pub concurrency: IndexMap<String, usize>,
    pub tasks: Vec<Task>,
    /// Task indices by id, built on first use by [`Runbook::task_index`].
    pub(super) index: std::sync::OnceLock<std::collections::HashMap<String, TaskIdx>>,
}

impl Runbook {
    /// The index of task `id`. Callers look up every task of a run (summaries, reports, cleanup
    /// plans), so the map is built once rather than the tasks scanned per lookup.
    pub fn task_index(&self, id: &str) -> Option<TaskIdx> {
        let index = self.index.get_or_init(|| self.tasks.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect());
        index.get(id).copied()
    }

    /// Secret parameter names.
    pub fn secret_params(&self) -> impl Iterator<Item = &str> {
        self.params.iter().filter(|(_, p)| p.secret).map(|(n, _)| n.as_str())
    }
}

/// The runbook text as read, with its path and hash.
#[derive(Debug)]
pub struct Source {
    pub path: String,
    pub text: Arc<str>,
    /// sha256 of the text, hex.
    pub sha256: String,
}

/// The environment variable that gives parameter `name`: `DRCTL_PARAM_` and the name in
/// upper case, with every character a shell cannot export in a name (`-`, `.`, `é`) as `_`.
pub fn param_env_var(name: &str) -> String {
    let tail: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("DRCTL_PARAM_{tail}")
}

#[derive(Debug, Clone)]
pub struct Param {
    pub kind: ParamType,
    pub required: bool,
    pub secret: bool,
    pub default: Option<Value>,
    pub description: Option<String>,
    pub allowed: Option<Vec<Value>>,
}

/// A dependency edge into a task.
#[derive(Debug, Clone)]
pub struct Dep {
    pub task: TaskIdx,
    /// Where the edge is written: a `depends_on` entry or an expression reference.
    pub span: ByteSpan,
    /// True when it comes from a `${{ tasks.X... }}` reference alone (not in `depends_on`).
    pub implicit: bool,
    /// True when an expression of the task reads X's record, whether or not `depends_on`
    /// also lists X.
    pub reads: bool,
    /// True when an expression reads X's outputs (not only `tasks.X.state`).
    pub outputs: bool,
    /// True when an expression reads X's outputs with no fallback (`default(...)`, `||`): the
    /// task is skipped when X did not succeed. One whose every read of them has a fallback runs
    /// when X was skipped by its `if` (the fallbacks apply), but not when X failed.
    pub needs_outputs: bool,
    /// True when an expression reads `tasks.X.state`. A task that reads X's state and no output
    /// without a fallback runs whatever X's end (its `if` decides).
    pub state: bool,
    /// For each expression reading X's outputs, what follows `outputs`: the output's name (after
    /// the item key when X has `for_each`), `None` where an index is not a literal. Empty for a
    /// reference to all of them (`tasks.X`, `tasks.X.outputs`).
    pub output_paths: Vec<Vec<Option<String>>>,
}

impl Dep {
    /// An edge written in `depends_on`: order only, nothing read.
    pub fn ordered(task: TaskIdx, span: ByteSpan) -> Dep {
        Dep {
            task,
            span,
            implicit: false,
            reads: false,
            outputs: false,
            needs_outputs: false,
            state: false,
            output_paths: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum ForEach {
    List(Vec<Value>),
    Expr(Template),
}

/// A probe that tells whether a task's work is already done.
#[derive(Debug, Clone)]
pub struct Check {
    pub uses: String,
    pub with: Input,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    /// Span of the task id key.
    pub span: ByteSpan,
    pub phase: Option<String>,
    pub uses: String,
    pub description: Option<String>,
    pub deps: Vec<Dep>,
    pub condition: Option<Template>,
    pub for_each: Option<ForEach>,
    pub retry: RetryPolicy,
    pub timeout: Option<Duration>,
    pub estimate: Option<Duration>,
    pub on_failure: OnFailure,
    pub concurrency: Option<String>,
    pub with: Input,
    pub check: Option<Check>,
    pub secret_outputs: std::sync::Arc<[String]>,
}

/// Action inputs: JSON-like values whose strings may be templates.
#[derive(Debug, Clone)]
pub enum Input {
    Literal(Value),
    /// A string with `${{ }}` parts, and the string as written.
    Template(Template, String),
    List(Vec<Input>),
    Map(IndexMap<String, Input>),
}

impl Input {
    /// Evaluates every template against `scope`.
    pub fn resolve(&self, scope: &dyn Scope) -> Result<Value, InputError> {
        self.render(&|t: &Template| t.render(scope), &mut Vec::new())
    }

    /// Like [`Input::resolve`], but values not known before the run become `unknown`.
    pub fn resolve_partial(&self, scope: &dyn Scope, unknown: &str) -> Result<Value, InputError> {
        self.render(&|t: &Template| t.render_partial(scope, unknown), &mut Vec::new())
    }

    /// Renders every template with `render`; `path` is where this input is in the whole.
    fn render<'a>(
        &'a self,
        render: &dyn Fn(&Template) -> Result<Value, EvalError>,
        path: &mut Vec<Step<'a>>,
    ) -> Result<Value, InputError> {
        Ok(match self {
            Input::Literal(v) => v.clone(),
            Input::Template(t, _) => render(t).map_err(|error| InputError { path: path_text(path), error })?,
            Input::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Item(i));
                    out.push(item.render(render, path)?);
                    path.pop();
                }
                Value::Array(out)
            }
            Input::Map(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (key, item) in map {
                    path.push(Step::Key(key));
                    out.insert(key.clone(), item.render(render, path)?);
                    path.pop();
                }
                Value::Object(out)
            }
        })
    }

    /// The input with templates shown as written (for hashing and display).
    pub fn to_source_value(&self) -> Value {
        match self {
            Input::Literal(v) => v.clone(),
            Input::Template(_, source) => Value::String(source.clone()),
            Input::List(items) => Value::Array(items.iter().map(Input::to_source_value).collect()),
            Input::Map(map) => Value::Object(map.iter().map(|(k, i)| (k.clone(), i.to_source_value())).collect()),
        }
    }

    /// Every reference of every template in the input.
    pub fn references(&self) -> Vec<crate::runbook::expr::Reference> {
        match self {
            Input::Literal(_) => Vec::new(),
            Input::Template(t, _) => t.references(),
            Input::List(items) => items.iter().flat_map(Input::references).collect(),
            Input::Map(map) => map.values().flat_map(Input::references).collect(),
        }
    }

    /// Whether any string of the input is a template.
    pub fn has_templates(&self) -> bool {
        match self {
            Input::Literal(_) => false,
            Input::Template(..) => true,
            Input::List(items) => items.iter().any(Input::has_templates),
            Input::Map(map) => map.values().any(Input::has_templates),
        }
    }

    pub fn empty() -> Input {
        Input::Map(IndexMap::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::expr::Template;
    use serde_json::json;

    struct Params(Value);

    impl Scope for Params {
        fn var(&self, name: &str) -> Option<std::borrow::Cow<'_, Value>> {
            (name == "params").then_some(std::borrow::Cow::Borrowed(&self.0))
        }

        fn task(&self, _id: &str) -> Option<std::borrow::Cow<'_, Value>> {
            None
        }
    }

    fn template(text: &str) -> Input {
        Input::Template(Template::parse(text).unwrap(), text.to_owned())
    }

    #[test]
    fn an_input_that_fails_names_where_it_is() {
        let with = Input::Map(IndexMap::from([
            ("run".to_owned(), Input::Literal(json!("true"))),
            (
                "env".to_owned(),
                Input::Map(IndexMap::from([
                    ("OK".to_owned(), template("${{ params.n }}")),
                    ("A KEY".to_owned(), Input::List(vec![Input::Literal(json!(1)), template("${{ params.n.x }}")])),
                ])),
            ),
        ]));
        let scope = Params(json!({ "n": 1 }));
        let error = with.resolve(&scope).unwrap_err();
        assert_eq!(error.path, r#"env["A KEY"][1]"#);
        assert_eq!(error.to_string(), r#"`env["A KEY"][1]`: cannot read member `x` of a number (`params.n`)"#);
        let script = Input::Map(IndexMap::from([(
            "env".to_owned(),
            Input::Map(IndexMap::from([("DRCTL_EXPR_0".to_owned(), template("${{ params.n.x }}"))])),
        )]));
        assert_eq!(script.resolve(&scope).unwrap_err().path, "run", "where the expression was written");
        let top = template("${{ params.n.x }}").resolve(&scope).unwrap_err();
        assert_eq!(top.to_string(), "cannot read member `x` of a number (`params.n`)");
    }
}
