//! Parameter values from `--param`, `--params-file` and `DRCTL_PARAM_<NAME>`, typed and
//! checked against the runbook's declarations.
//!
//! Every source is read and checked before anything is refused, so one command reports every
//! problem with the parameters at once (those in the params file at their line). Secret values
//! never appear in a message.

mod file;
mod problems;

use serde_json::{Map, Value};

pub use problems::InvalidParams;

use super::{CliError, ParamArgs};
use crate::runbook::checked::{param_env_var, Param};
use crate::runbook::model::ParamType;
use crate::runbook::validate::{matches_type, type_word};
use crate::runbook::{Invalid, Problem, Runbook};
use crate::ui::redact::Redactor;

/// Resolves every declared parameter. Secret values are registered with `redactor`.
/// `stored` are values kept from an earlier segment of the run (secrets are not among them).
///
/// Precedence, lowest first: the runbook's default, the params file, `DRCTL_PARAM_*`,
/// `--param`. A value the params file gives as null counts as not given.
pub fn resolve(
    runbook: &Runbook,
    args: &ParamArgs,
    stored: Option<&Map<String, Value>>,
    redactor: &Redactor,
) -> Result<Value, CliError> {
    let mut file = match &args.params_file {
        Some(path) => Some(file::read(path, &runbook.params)?),
        None => None,
    };
    let mut given = Given::default();
    if let Some(file) = &file {
        given.values.extend(file.values.iter().cloned());
        given.refused.extend(file.refused.iter().cloned());
    }
    from_environment(runbook, &mut given);
    from_flags(runbook, &args.params, &mut given);
    if let Some(stored) = stored {
        keep_stored(runbook, stored, &mut given);
    }
    let values = complete(runbook, &mut given, file.as_mut());
    let problems = given.problems;
    let invalid = InvalidParams {
        file: file.filter(|f| !f.problems.is_empty()).map(|mut f| {
            f.problems.sort_by_key(|p| p.labels.first().map_or(0, |(span, _)| span.start));
            Invalid { path: f.path, text: f.shown_text, problems: f.problems }
        }),
        unplaced: problems,
    };
    invalid.into_result()?;
    for (name, value) in &values {
        if runbook.params.get(name).is_some_and(|p| p.secret) {
            redactor.add_value(value);
        }
    }
    Ok(Value::Object(values))
}

/// Teaches `redactor` the values of the secret parameters given to this command (flags,
/// variables, a params file), without the checks of [`resolve`]: a decision recorded without
/// resuming (`--no-resume`) needs no parameters, but masks those it is given. Returns the
/// secret parameters the runbook declares that were not given.
pub fn mask_given_secrets(runbook: &Runbook, args: &ParamArgs, redactor: &Redactor) -> Vec<String> {
    let mut given = Given::default();
    if let Some(file) = args.params_file.as_ref().and_then(|path| file::read(path, &runbook.params).ok()) {
        given.values.extend(file.values.iter().cloned());
    }
    from_environment(runbook, &mut given);
    from_flags(runbook, &args.params, &mut given);
    let mut missing = Vec::new();
    for name in runbook.params.iter().filter(|(_, p)| p.secret).map(|(name, _)| name) {
        match given.values.get(name) {
            Some(value) => redactor.add_value(value),
            None => missing.push(name.clone()),
        }
    }
    missing
}

/// What the sources give so far, and what is wrong with them.
#[derive(Default)]
struct Given {
    values: Map<String, Value>,
    /// Parameters given a value that was refused: they are not also reported missing.
    refused: Vec<String>,
    /// Problems without a place in the params file.
    problems: Vec<Problem>,
}

impl Given {
    /// Takes the outcome of reading parameter `name` from text.
    fn take(&mut self, name: &str, read: Result<Value, Problem>) {
        match read {
            Ok(value) => {
                self.values.insert(name.to_owned(), value);
            }
            Err(problem) => {
                self.refused.push(name.to_owned());
                self.problems.push(problem);
            }
        }
    }
}

/// Values from `DRCTL_PARAM_<NAME>` variables, over those of the params file. A variable that
/// names two parameters (`a-b` and `a_b`) gives neither: which one was meant is not known.
fn from_environment(runbook: &Runbook, given: &mut Given) {
    for (name, param) in &runbook.params {
        let env = param_env_var(name);
        let Ok(text) = std::env::var(&env) else { continue };
        let named: Vec<&String> = runbook.params.keys().filter(|n| param_env_var(n) == env).collect();
        if named.len() > 1 {
            if named[0] == name {
                let all: Vec<String> = named.iter().map(|n| format!("`{n}`")).collect();
                given.problems.push(
                    Problem::unplaced("drctl::param-env", format!("{env} could give parameter {}", all.join(" or ")))
                        .help(Some(format!("give them with --param NAME=... instead, and unset {env}"))),
                );
            }
            given.refused.push(name.to_owned());
            continue;
        }
        given.take(name, typed(name, param, &text, &env));
    }
}

/// Values from `--param name=value`, over every other source.
fn from_flags(runbook: &Runbook, pairs: &[String], given: &mut Given) {
    for pair in pairs {
        let Some((name, text)) = pair.split_once('=') else {
            given.problems.push(
                Problem::unplaced("drctl::param-flag", format!("--param `{pair}` has no `=`"))
                    .help(Some("write --param name=value".into())),
            );
            continue;
        };
        let Some(param) = runbook.params.get(name) else {
            let help = file::unknown_help(name, &runbook.params);
            given.problems.push(
                Problem::unplaced("drctl::unknown-param", format!("unknown parameter `{name}`")).help(Some(help)),
            );
            continue;
        };
        given.take(name, typed(name, param, text, "--param"));
    }
}

/// On a resume: the values the run started with, which it goes on with and cannot change, and
/// the secrets it was given, which are not stored and must be given again.
fn keep_stored(runbook: &Runbook, stored: &Map<String, Value>, given: &mut Given) {
    for (name, value) in stored {
        let secret = runbook.params.get(name).is_some_and(|p| p.secret);
        if secret {
            // Secrets the run was given (stored masked): going on with the defaults would fail
            // far from the cause.
            if value.as_str() == Some(crate::ui::redact::MASK) && !given.values.contains_key(name) {
                // Said once: not also reported missing when it is required.
                given.refused.push(name.clone());
                given.problems.push(
                    Problem::unplaced(
                        "drctl::param-secret",
                        format!("secret parameter `{name}` was given to this run and is not stored with it"),
                    )
                    .help(Some(format!(
                        "pass it again: --param {name}=..., --params-file FILE or {}",
                        param_env_var(name)
                    ))),
                );
            }
            continue;
        }
        match given.values.get(name) {
            Some(other) if !crate::runbook::expr::same_value(other, value) => given.problems.push(
                Problem::unplaced(
                    "drctl::param-changed",
                    format!(
                        "parameter `{name}` was {} when this run started; a resume cannot change it (given: {})",
                        show(value),
                        show(other)
                    ),
                )
                .help(Some(
                    "drop the new value (check --param, --params-file and DRCTL_PARAM_* variables), or start a new run"
                        .into(),
                )),
            ),
            _ => {
                given.values.insert(name.clone(), value.clone());
            }
        }
    }
}

/// Every declared parameter's value: the one given, else its default, else null. A required
/// parameter with none is a problem, placed at its name when the params file gives it as null.
fn complete(runbook: &Runbook, given: &mut Given, mut file: Option<&mut file::ParamsFile>) -> Map<String, Value> {
    let mut values = Map::new();
    for (name, param) in &runbook.params {
        let value = match given.values.remove(name).or_else(|| param.default.clone()) {
            Some(v) => v,
            None if param.required && !given.refused.contains(name) && file.as_ref().is_none_or(|f| f.readable) => {
                report_missing(name, param, file.as_deref_mut(), &mut given.problems);
                Value::Null
            }
            None => Value::Null,
        };
        values.insert(name.clone(), value);
    }
    // Only stored values of a run whose runbook has since dropped the parameter are left.
    for name in given.values.keys() {
        given.problems.push(Problem::unplaced(
            "drctl::unknown-param",
            format!("unknown parameter `{name}` in the parameters given"),
        ));
    }
    values
}

/// Records that required parameter `name` has no value.
fn report_missing(name: &str, param: &Param, file: Option<&mut file::ParamsFile>, problems: &mut Vec<Problem>) {
    let hint = if param.secret { format!(" (or {})", param_env_var(name)) } else { String::new() };
    let null_at = file.as_ref().and_then(|f| f.nulls.iter().find(|(n, _)| n == name)).map(|(_, at)| at.clone());
    match (file, null_at) {
        (Some(file), Some(at)) => file.problems.push(
            Problem::new(
                "drctl::param-missing",
                format!("required parameter `{name}` has no value: the params file gives it none"),
                at,
                "no value here",
            )
            .help(Some(format!("write a value after `{name}:`, or pass --param {name}=...{hint}"))),
        ),
        _ => problems.push(
            Problem::unplaced("drctl::param-missing", format!("missing required parameter `{name}`"))
                .help(Some(format!("pass --param {name}=...{hint}"))),
        ),
    }
}

/// The whole numbers drctl holds exactly.
pub(crate) const WHOLE_RANGE: &str = "-9223372036854775808 to 18446744073709551615";

pub(crate) use crate::runbook::model::bool_word;

/// Reads a parameter value given as text (`--param`, `DRCTL_PARAM_*`) and checks it against
/// the declaration. `from` says where it came from, for the problem; a secret's value is
/// never repeated in one.
fn typed(name: &str, param: &Param, text: &str, from: &str) -> Result<Value, Problem> {
    let shown = if param.secret { crate::ui::redact::MASK } else { text };
    let bad = |what: &str| {
        Problem::unplaced("drctl::param-type", format!("parameter `{name}` ({from}): `{shown}` is not {what}"))
    };
    let value = match param.kind {
        ParamType::String => Value::String(text.to_owned()),
        ParamType::Number => {
            // As a params file's YAML reads it (`0x10`, `1.` and `1e3` too); whole numbers
            // exactly (`-0` is 0).
            use crate::runbook::yaml::{integer_text, scalar_kind, ScalarKind};
            let digits = text.trim();
            match scalar_kind(digits, false) {
                ScalarKind::Int(i) => Value::from(i),
                ScalarKind::UInt(u) => Value::from(u),
                ScalarKind::Float(f) => Value::from(f),
                // Past 64 bits a whole number would be read as the nearest float, another number.
                _ if integer_text(digits) => {
                    return Err(bad(&format!("a whole number drctl can hold exactly ({WHOLE_RANGE})"))
                        .help(Some(format!("declare `{name}` with `type: string` to pass longer digits as text"))))
                }
                _ => return Err(bad("a number")),
            }
        }
        ParamType::Bool => Value::Bool(bool_word(text).ok_or_else(|| bad("true or false"))?),
        ParamType::List => {
            if text.trim_start().starts_with('[') {
                serde_json::from_str(text).map_err(|_| bad("a JSON list"))?
            } else if text.is_empty() {
                Value::Array(Vec::new())
            } else {
                Value::Array(text.split(',').map(|s| Value::String(s.trim().to_owned())).collect())
            }
        }
        ParamType::Map => serde_json::from_str(text).map_err(|_| bad("a JSON object"))?,
    };
    if !matches_type(param.kind, &value) {
        return Err(bad(&format!("a {}", type_word(param.kind))));
    }
    if let Some(allowed) = not_allowed(param, &value) {
        return Err(Problem::unplaced(
            "drctl::param-enum",
            format!("parameter `{name}` ({from}) is not one of its allowed values"),
        )
        .help(Some(allowed)));
    }
    Ok(value)
}

/// `allowed: ...` when the parameter has an `enum` and `value` is not in it.
fn not_allowed(param: &Param, value: &Value) -> Option<String> {
    let allowed = param.allowed.as_ref().filter(|allowed| !crate::runbook::validate::is_allowed(allowed, value))?;
    Some(format!("allowed: {}", allowed.iter().map(Value::to_string).collect::<Vec<_>>().join(", ")))
}

/// Parameter values with secrets replaced by `***`, for the run directory: a resume asks for
/// those again. A secret left at its default is left out; a resume takes the default again.
pub fn stored_form(runbook: &Runbook, values: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(map) = values {
        for (k, v) in map {
            let param = runbook.params.get(k);
            match param.filter(|p| p.secret && !v.is_null()) {
                // A secret left at its default is not written: a resume takes the default again.
                Some(p) if p.default.as_ref() == Some(v) => {}
                Some(_) => {
                    out.insert(k.clone(), Value::String(crate::ui::redact::MASK.into()));
                }
                None => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out
}

/// A parameter value for a message: strings without quotes, anything else as JSON.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
