//! Checks of expressions in task inputs, conditions and `for_each`: they must parse, and every
//! name they read must exist. References to other tasks' outputs become implicit edges.

use indexmap::IndexMap;
use serde_json::Value;

use super::quoting::{quoting, Quoting};
use super::tasks::add_dep;
use super::{suggest, suggest_or_list, type_word, Validator};
use crate::runbook::checked::{Dep, ForEach, Input, Param};
use crate::runbook::expr::{failing_calls, parse_expr, BinaryOp, Expr, ExprKind, Reference, Template, TemplatePart};
use crate::runbook::model::ParamType;
use crate::runbook::problem::Problem;
use crate::runbook::yaml::{scalar_kind, ByteSpan, Node, NodeKind, ScalarKind};

const ROOTS: [&str; 5] = ["params", "tasks", "each", "run", "env"];
const RUN_FIELDS: [&str; 3] = ["id", "name", "drill"];

pub(super) struct RefContext<'a> {
    pub task_index: usize,
    pub ids: &'a super::tasks::TaskIds<'a>,
    pub params: &'a IndexMap<String, Param>,
    pub has_for_each: bool,
}

/// Where the text of a scalar starts in the source, when it can be found verbatim (plain or
/// quoted scalars without escapes); expression errors then point inside the string.
fn text_offset(source: &str, node: &Node) -> Option<usize> {
    let text = node.as_scalar()?;
    let raw = source.get(node.span.clone())?;
    raw.find(text).map(|pos| node.span.start + pos)
}

/// Where a range of a scalar's text is in the source. When the whole text is not there verbatim
/// (block scalars, escapes), the fragment itself is looked up: its n-th occurrence in the text
/// is its n-th occurrence in the source, as long as the fragment holds no escape or line break.
fn map_span(source: &str, node: &Node, range: &std::ops::Range<usize>) -> ByteSpan {
    if let Some(offset) = text_offset(source, node) {
        return offset + range.start..offset + range.end;
    }
    let found = || {
        let text = node.as_scalar()?;
        let fragment = text.get(range.clone()).filter(|f| !f.is_empty())?;
        let nth = text.get(..range.start)?.matches(fragment).count();
        let raw = source.get(node.span.clone())?;
        let (pos, _) = raw.match_indices(fragment).nth(nth)?;
        Some(node.span.start + pos..node.span.start + pos + fragment.len())
    };
    found().unwrap_or_else(|| node.span.clone())
}

/// Parses a string scalar as a template, reporting problems; `None` when it does not parse.
fn template(
    v: &mut Validator<'_>,
    node: &Node,
    text: &str,
    refs: &RefContext<'_>,
    deps: &mut Vec<Dep>,
    allow_each: bool,
) -> Option<Template> {
    // Every bad expression of the string is reported, and the good ones are still checked.
    let (t, errors) = Template::parse_all(text);
    check_refs(v, node, &t.references(), refs, deps, allow_each);
    check_calls(v, node, &t, refs);
    if errors.is_empty() {
        return Some(t);
    }
    for e in errors {
        v.push(
            Problem::new(
                "drctl::expression",
                format!("bad expression: {}", e.message),
                map_span(v.text, node, &e.range),
                "here",
            )
            .help(e.help.clone().or_else(|| {
                Some(
                    "an expression is a path (`params.region`, `tasks.make-vcn.outputs.id`), a literal, or those \
                     combined with operators and functions, inside `${{ }}`"
                        .into(),
                )
            })),
        );
    }
    None
}

/// The states `tasks.ID.state` can read.
const STATES: [&str; 6] = ["pending", "running", "succeeded", "failed", "skipped", "cancelled"];

/// Reports a comparison of `tasks.ID.state` with text that is no state (`'faild'`), which
/// would decide the condition the same way whatever the task did.
fn check_states(v: &mut Validator<'_>, node: &Node, expr: &Expr) {
    let is_state = |e: &Expr| match e.kind() {
        ExprKind::Member { object, name } if name.node == "state" => matches!(
            object.kind(),
            ExprKind::Member { object: root, .. } | ExprKind::Index { object: root, .. } if root.as_name() == Some("tasks")
        ),
        _ => false,
    };
    if let ExprKind::Binary { op: BinaryOp::Eq | BinaryOp::Ne, lhs, rhs } = expr.kind() {
        for (a, b) in [(lhs, rhs), (rhs, lhs)] {
            let ExprKind::Literal(Value::String(text)) = b.kind() else { continue };
            if is_state(a) && !STATES.contains(&text.as_str()) {
                v.push(
                    Problem::new(
                        "drctl::expression",
                        format!("`{text}` is not a state a task can be in"),
                        map_span(v.text, node, &b.span()),
                        "never equal to tasks.ID.state",
                    )
                    .help(Some(match suggest(text, STATES) {
                        Some(close) => format!("{close} States: {}", STATES.join(", ")),
                        None => format!("states: {}", STATES.join(", ")),
                    })),
                );
            }
        }
    }
    expr.for_each_child(|child| check_states(v, node, child));
}

/// Reports operations that fail before anything runs (see [`failing_calls`]).
fn check_calls(v: &mut Validator<'_>, node: &Node, template: &Template, refs: &RefContext<'_>) {
    let param_type = |name: &str| refs.params.get(name).map(|p| p.kind);
    for expr in template.expressions() {
        check_states(v, node, expr);
        for failure in failing_calls(expr, &param_type) {
            let help = if failure.reads_params {
                "it fails for every value of the parameter's declared type: convert the value or change the type"
            } else {
                "it fails whatever the run: fix its arguments"
            };
            v.push(
                Problem::new(
                    "drctl::expression",
                    format!(
                        "this {} cannot succeed: {}",
                        if failure.call { "call" } else { "expression" },
                        failure.error
                    ),
                    map_span(v.text, node, failure.error.range()),
                    "here",
                )
                .help(Some(help.into())),
            );
        }
    }
}

/// A reference to an output that the task's action never gives (`tasks.gate.outputs.aproved`
/// of an `approval`); `fixed` is the action's output names and whether the task has
/// `for_each`, when they are known.
fn unknown_output(
    r: &Reference,
    fixed: Option<(&'static [&'static str], bool)>,
    task: &str,
    span: ByteSpan,
) -> Option<Problem> {
    let (names, for_each) = fixed?;
    if r.segments.get(1)?.as_deref() != Some("outputs") {
        return None;
    }
    // A `for_each` task's outputs are keyed by item first.
    let name = r.segments.get(2 + usize::from(for_each))?.as_deref()?;
    if names.contains(&name) {
        return None;
    }
    let help = match names {
        [] => format!("`{task}` gives no outputs; read `tasks.{task}.state` to see how it ended"),
        _ => suggest(name, names.iter().copied()).unwrap_or_else(|| format!("`{task}` gives: {}", names.join(", "))),
    };
    Some(
        Problem::new("drctl::unknown-output", format!("`{task}` has no output `{name}`"), span, "here")
            .help(Some(help)),
    )
}

fn check_refs(
    v: &mut Validator<'_>,
    node: &Node,
    references: &[Reference],
    refs: &RefContext<'_>,
    deps: &mut Vec<Dep>,
    allow_each: bool,
) {
    for r in references {
        let span = map_span(v.text, node, &r.range);
        match r.root.as_str() {
            "params" => {
                if let Some(name) = r.path.first() {
                    if !refs.params.contains_key(name) {
                        v.push(
                            Problem::new(
                                "drctl::unknown-param",
                                format!("unknown parameter `{name}`"),
                                span,
                                "not declared under `params`",
                            )
                            .help(
                                suggest(name, refs.params.keys().map(String::as_str)).or_else(|| {
                                    Some(format!("declare it: `params: {{ {name}: {{ type: string }} }}`"))
                                }),
                            ),
                        );
                    }
                }
            }
            "tasks" => {
                let Some(task) = r.path.first() else {
                    // `tasks[params.which]`: which task is read is only known as the task runs,
                    // so it adds no dependency, and that task may not have run by then.
                    v.push(
                        Problem::new(
                            "drctl::computed-task",
                            "a task read through a computed name",
                            span,
                            "which task this reads is not written here",
                        )
                        .help(Some(
                            "name the task as written (`tasks.<id>` or `tasks['<id>']`): a name is what makes the \
                             task run first; to choose between tasks, name each, as in `${{ params.which == 'a' && \
                             tasks.a.outputs.x || tasks.b.outputs.x }}`"
                                .into(),
                        )),
                    );
                    continue;
                };
                match refs.ids.index(task) {
                    None => v.push(
                        Problem::new("drctl::unknown-task", format!("unknown task `{task}`"), span, "no such task")
                            .help(suggest_or_list(task, "tasks", refs.ids.names.iter().copied())),
                    ),
                    Some(t) if t == refs.task_index => v.push(
                        Problem::new(
                            "drctl::self-reference",
                            format!("task `{task}` reads its own outputs"),
                            span,
                            "here",
                        )
                        .help(Some("a task can only read outputs of tasks that run before it".into())),
                    ),
                    Some(t) => {
                        if let Some(field) = r.path.get(1) {
                            if field != "outputs" && field != "state" {
                                v.push(
                                    Problem::new(
                                        "drctl::task-field",
                                        format!("tasks.{task} has no `{field}`"),
                                        span.clone(),
                                        "here",
                                    )
                                    .help(Some(format!("use `tasks.{task}.outputs.<name>` or `tasks.{task}.state`"))),
                                );
                            }
                        }
                        if let Some(problem) = unknown_output(r, refs.ids.fixed_outputs(t), task, span.clone()) {
                            v.push(problem);
                        }
                        let state = r.path.get(1).is_some_and(|field| field == "state");
                        let outputs = !state;
                        let output_paths = match r.segments.get(1) {
                            Some(Some(field)) if field == "outputs" => vec![r.segments[2..].to_vec()],
                            _ if outputs => vec![Vec::new()],
                            _ => Vec::new(),
                        };
                        // The whole record (`tasks.X`) always exists; a fallback only applies to outputs.
                        let needs_outputs = outputs && !(r.fallback && r.path.len() > 1);
                        add_dep(
                            deps,
                            Dep {
                                task: t,
                                span,
                                implicit: true,
                                reads: true,
                                outputs,
                                needs_outputs,
                                state,
                                output_paths,
                            },
                        );
                    }
                }
            }
            "each" => {
                if !refs.has_for_each || !allow_each {
                    let why = if refs.has_for_each {
                        "`each` is not known here (only in `with` and `check`)"
                    } else {
                        "`each` is only defined in tasks with `for_each`"
                    };
                    let help = if refs.has_for_each {
                        "read `each` in `with` or `check`; elsewhere name the value directly"
                    } else {
                        "add `for_each:` with the list the task runs once per item of, or use the value directly"
                    };
                    v.push(Problem::new("drctl::each", why, span, "here").help(Some(help.into())));
                }
            }
            "run" => {
                if let Some(field) = r.path.first() {
                    if !RUN_FIELDS.contains(&field.as_str()) {
                        v.push(
                            Problem::new("drctl::run-field", format!("`run` has no `{field}`"), span, "here").help(
                                suggest(field, RUN_FIELDS)
                                    .or_else(|| Some(format!("run fields: {}", RUN_FIELDS.join(", ")))),
                            ),
                        );
                    }
                }
            }
            "env" => {}
            other => v.push(
                Problem::new("drctl::unknown-name", format!("unknown name `{other}`"), span, "here")
                    .help(suggest(other, ROOTS).or_else(|| Some(format!("names: {}", ROOTS.join(", "))))),
            ),
        }
    }
}

/// Converts a `with` subtree: strings holding `${{` become templates, the rest literals.
pub(super) fn input(
    v: &mut Validator<'_>,
    node: &Node,
    refs: &RefContext<'_>,
    deps: &mut Vec<Dep>,
    allow_each: bool,
) -> Option<Input> {
    match &node.kind {
        NodeKind::Scalar { text, quoted } => {
            if text.contains("${{") {
                template(v, node, text, refs, deps, allow_each).map(|t| Input::Template(t, text.clone()))
            } else if *quoted {
                Some(Input::Literal(Value::String(text.clone())))
            } else {
                Some(Input::Literal(node.to_json()))
            }
        }
        NodeKind::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for item in items {
                match input(v, item, refs, deps, allow_each) {
                    Some(i) => out.push(i),
                    None => ok = false,
                }
            }
            ok.then_some(Input::List(out))
        }
        NodeKind::Map(entries) => {
            let mut out = IndexMap::with_capacity(entries.len());
            let mut ok = true;
            for (key, value) in entries {
                if key.as_scalar().is_some_and(|k| k.contains("${{")) {
                    v.push(
                        Problem::new(
                            "drctl::expression",
                            "`${{ }}` in a key is not evaluated",
                            key.span.clone(),
                            "this key",
                        )
                        .help(Some(
                            "keys are fixed names: write the name itself here, and expressions in values".into(),
                        )),
                    );
                    ok = false;
                    continue;
                }
                // An unquoted `<<` is YAML's merge key, which drctl's reader does not apply: left
                // as it is, it would send a key named `<<` and not the keys it was meant to merge.
                if matches!(&key.kind, NodeKind::Scalar { text, quoted: false } if text == "<<") {
                    v.push(
                        Problem::new(
                            "drctl::merge-key",
                            "YAML merge keys are not supported",
                            key.span.clone(),
                            "this key is not merged",
                        )
                        .help(Some(
                            "write the keys out here; a key really named `<<` is written in quotes (`\"<<\"`)".into(),
                        )),
                    );
                    ok = false;
                    continue;
                }
                match input(v, value, refs, deps, allow_each) {
                    Some(i) => {
                        out.insert(key.as_scalar().unwrap_or_default().to_owned(), i);
                    }
                    None => ok = false,
                }
            }
            ok.then_some(Input::Map(out))
        }
    }
}

/// How to write a condition, when the one given cannot simply be unwrapped into one.
const ONE_EXPRESSION_IF: &str =
    "write the whole condition inside one `${{ }}`, with text in single quotes, as in: if: ${{ params.env == 'prod' }}";

/// `if:` — a boolean, a template, or a bare expression (`a == 'b'` without `${{ }}`).
pub(super) fn condition(
    v: &mut Validator<'_>,
    node: &Node,
    refs: &RefContext<'_>,
    deps: &mut Vec<Dep>,
) -> Option<Template> {
    let NodeKind::Scalar { text, quoted } = &node.kind else {
        v.push(
            Problem::new(
                "drctl::condition",
                "`if` must be an expression or true/false",
                node.span.clone(),
                format!("this is {}", node.type_name()),
            )
            .help(Some("write one expression: `if: ${{ ... }}`".into())),
        );
        return None;
    };
    match scalar_kind(text, *quoted) {
        ScalarKind::Bool(b) => return Template::parse(&format!("${{{{ {b} }}}}")).ok(),
        // Whether a null `if` meant "never" or "always" is not known: it is refused.
        ScalarKind::Null => {
            v.push(
                Problem::new("drctl::condition", "`if` has no value", node.span.clone(), "empty")
                    .help(Some("write the condition (`if: ${{ params.dry_run == false }}`), or remove `if:`".into())),
            );
            return None;
        }
        _ => {}
    }
    if text.contains("${{") {
        let template = template(v, node, text, refs, deps, false)?;
        if template.single_expression().is_none() {
            // `${{ a }} && ${{ b }}` renders as the text `false && true`, which is never false.
            v.push(
                Problem::new(
                    "drctl::condition",
                    "`if` mixes text with `${{ }}`: the text it renders to is not evaluated again, so it counts as true",
                    node.span.clone(),
                    "one expression here",
                )
                .help(Some(match template.as_one_expression() {
                    Some(expr) => format!("write the whole condition as one expression: if: ${{{{ {expr} }}}}"),
                    None => ONE_EXPRESSION_IF.into(),
                })),
            );
            return None;
        }
        return Some(template);
    }
    match parse_expr(text) {
        Ok(expr) => {
            check_refs(v, node, &expr.references(), refs, deps, false);
            check_states(v, node, &expr);
            Template::parse(&format!("${{{{ {text} }}}}")).ok()
        }
        Err(e) => {
            v.push(
                Problem::new(
                    "drctl::expression",
                    format!("bad condition: {}", e.message),
                    map_span(v.text, node, &e.range),
                    "here",
                )
                .help(e.help.clone()),
            );
            None
        }
    }
}

/// `for_each:` — a literal list or an expression that gives one.
pub(super) fn for_each(
    v: &mut Validator<'_>,
    node: &Node,
    refs: &RefContext<'_>,
    deps: &mut Vec<Dep>,
) -> Option<ForEach> {
    match &node.kind {
        NodeKind::Seq(items) => {
            // Items are taken as written: an expression in one would become an item's text.
            fn templated<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
                match &node.kind {
                    NodeKind::Scalar { text, .. } if text.contains("${{") => out.push(node),
                    NodeKind::Seq(items) => items.iter().for_each(|i| templated(i, out)),
                    NodeKind::Map(entries) => entries.iter().for_each(|(_, v)| templated(v, out)),
                    _ => {}
                }
            }
            let mut found = Vec::new();
            items.iter().for_each(|i| templated(i, &mut found));
            let templated = found;
            for item in &templated {
                v.push(
                    Problem::new(
                        "drctl::for-each",
                        "`${{ }}` inside a for_each list is not evaluated",
                        item.span.clone(),
                        "taken as text",
                    )
                    .help(Some("write the whole list as one expression: for_each: ${{ ['a', 'b', params.x] }}".into())),
                );
            }
            if !templated.is_empty() {
                return None;
            }
            match node.to_json() {
                Value::Array(items) => Some(ForEach::List(items)),
                _ => None,
            }
        }
        NodeKind::Scalar { text, .. } if text.contains("${{") => {
            let t = template(v, node, text, refs, deps, false)?;
            if let Some(expr) = t.single_expression() {
                // An expression that reads nothing gives the same value now as in the run.
                let references = expr.references();
                if references.is_empty() {
                    if let Some(value) = t.render(&Value::Null).ok().filter(|value| !value.is_array()) {
                        v.push(
                            Problem::new(
                                "drctl::for-each",
                                format!(
                                    "for_each over a non-list: this expression gives {}",
                                    crate::runbook::expr::type_name(&value)
                                ),
                                node.span.clone(),
                                "not a list",
                            )
                            .help(Some("write an expression that gives a list, as in: ${{ ['a', 'b'] }}".into())),
                        );
                        return None;
                    }
                }
                // A bare parameter reference can be checked now.
                if let [r] = references.as_slice() {
                    if r.root == "params" && r.path.len() == 1 && expr.to_string() == format!("params.{}", r.path[0]) {
                        if let Some(param) = refs.params.get(&r.path[0]) {
                            if param.kind != ParamType::List {
                                v.push(
                                    Problem::new(
                                        "drctl::for-each",
                                        format!(
                                            "for_each over a non-list: parameter `{}` is a {}",
                                            r.path[0],
                                            type_word(param.kind)
                                        ),
                                        map_span(v.text, node, &r.range),
                                        "not a list",
                                    )
                                    .help(Some("declare it with `type: list`, or iterate over a list".into())),
                                );
                                return None;
                            }
                        }
                    }
                }
            } else {
                v.push(
                    Problem::new(
                        "drctl::for-each",
                        "for_each over a non-list: this text is a string",
                        node.span.clone(),
                        "a string",
                    )
                    .help(Some("write one expression, `${{ params.regions }}`, or a YAML list".into())),
                );
                return None;
            }
            Some(ForEach::Expr(t))
        }
        _ => {
            v.push(
                Problem::new(
                    "drctl::for-each",
                    format!("for_each over a non-list: this is {}", node.type_name()),
                    node.span.clone(),
                    "not a list",
                )
                .help(Some("give a YAML list or one expression that evaluates to a list".into())),
            );
            None
        }
    }
}

/// `scriptify` for the input `key` of `with`, which holds a command (made `{ run: command }`)
/// or the inputs of a `shell` task. Returns the expressions the shell would never expand, as
/// [`scriptify`] does, with the key they are under.
pub(super) fn scriptify_probe(with: Input, key: &str) -> (Input, Vec<Unexpanded>) {
    let Input::Map(mut map) = with else { return (with, Vec::new()) };
    let probe = match map.get(key) {
        Some(command @ Input::Template(..)) => Input::Map(IndexMap::from([("run".to_owned(), command.clone())])),
        Some(inputs @ Input::Map(_)) => inputs.clone(),
        _ => return (Input::Map(map), Vec::new()),
    };
    let (probe, unexpanded) = scriptify(probe, &["run"]);
    map.insert(key.to_owned(), probe);
    (Input::Map(map), unexpanded)
}

/// An expression in a script, at a place where the shell never expands a variable: `key` is
/// the script input, `expr` the expression.
pub(super) struct Unexpanded {
    pub key: String,
    pub expr: String,
    pub place: Unexpandable,
}

/// Why a script would never read an expression's variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Unexpandable {
    /// A here-document with a quoted delimiter.
    QuotedHeredoc,
    /// A script for a program that is not a POSIX shell (`shell: python3`): `${NAME}` is not
    /// how it reads a variable.
    NotAShell(String),
}

/// The program `shell` names, when it is not a POSIX shell: a script for it cannot read
/// `${DRCTL_EXPR_n}`. Only a literal `shell` is judged.
fn foreign_shell(map: &IndexMap<String, Input>) -> Option<String> {
    let Some(Input::Literal(Value::String(shell))) = map.get("shell") else { return None };
    let base = |word: &'_ str| word.rsplit('/').next().unwrap_or(word).to_owned();
    let mut words = shell.split_whitespace();
    let mut name = base(words.next()?);
    // `env bash` runs bash: look through `env` (and its options) to the program it starts.
    if name == "env" {
        name = base(words.find(|w| !w.starts_with('-') && !w.contains('='))?);
    }
    let posix = ["sh", "bash", "dash", "ash", "ksh", "mksh", "ksh93", "zsh", "yash", "busybox"];
    (!posix.contains(&name.as_str())).then_some(name)
}

/// Rewrites each `${{ }}` in the script inputs `keys` of `with` into a reference to an
/// environment variable `DRCTL_EXPR_n`, and adds `DRCTL_EXPR_n` to `with.env`, so expression
/// values reach scripts as data, never as code. The reference suits the expression's quoting:
/// in single quotes, the quotes are closed around it. An expression where the shell expands
/// nothing is returned rather than rewritten.
pub(super) fn scriptify(with: Input, keys: &[&str]) -> (Input, Vec<Unexpanded>) {
    let Input::Map(mut map) = with else { return (with, Vec::new()) };
    let mut extra: Vec<(String, Input)> = Vec::new();
    let mut unexpanded = Vec::new();
    let foreign = foreign_shell(&map);
    for key in keys {
        let Some(Input::Template(template, source)) = map.get(*key) else { continue };
        if let Some(program) = &foreign {
            for part in template.parts() {
                if let TemplatePart::Expr { range, .. } = part {
                    let expr = source.get(range.clone()).unwrap_or_default().to_owned();
                    unexpanded.push(Unexpanded {
                        key: (*key).to_owned(),
                        expr,
                        place: Unexpandable::NotAShell(program.clone()),
                    });
                }
            }
            continue;
        }
        let mut pieces = vec![String::new()];
        for part in template.parts() {
            match part {
                TemplatePart::Literal { text, .. } => {
                    if let Some(piece) = pieces.last_mut() {
                        piece.push_str(text);
                    }
                }
                TemplatePart::Expr { .. } => pieces.push(String::new()),
            }
        }
        let mut places = quoting(&pieces.iter().map(String::as_str).collect::<Vec<_>>()).into_iter();
        let mut script = String::with_capacity(source.len());
        for part in template.parts() {
            match part {
                TemplatePart::Literal { text, .. } => script.push_str(text),
                TemplatePart::Expr { range, .. } => {
                    let text = source.get(range.clone()).unwrap_or_default().to_owned();
                    let name = format!("DRCTL_EXPR_{}", extra.len());
                    let place = places.next().unwrap_or(Quoting::Expands);
                    let Some(reference) = place.reference(&name) else {
                        unexpanded.push(Unexpanded {
                            key: (*key).to_owned(),
                            expr: text.clone(),
                            place: Unexpandable::QuotedHeredoc,
                        });
                        script.push_str(&text);
                        continue;
                    };
                    script.push_str(&reference);
                    match Template::parse(&text) {
                        Ok(t) => extra.push((name, Input::Template(t, text))),
                        Err(_) => return (Input::Map(map), unexpanded),
                    }
                }
            }
        }
        map.insert((*key).to_owned(), Input::Literal(Value::String(script)));
    }
    if extra.is_empty() {
        return (Input::Map(map), unexpanded);
    }
    match map.entry("env".to_owned()).or_insert_with(|| Input::Map(IndexMap::new())) {
        Input::Map(env) => env.extend(extra),
        Input::Literal(Value::Object(literal)) => {
            let mut env: IndexMap<String, Input> =
                literal.iter().map(|(k, v)| (k.clone(), Input::Literal(v.clone()))).collect();
            env.extend(extra);
            map.insert("env".to_owned(), Input::Map(env));
        }
        _ => {}
    }
    (Input::Map(map), unexpanded)
}
