//! Parameter values from `--param`, `--params-file` and `DRCTL_PARAM_<NAME>`, typed and
//! checked against the runbook's declarations.

use serde_json::{Map, Value};

use super::{CliError, ParamArgs};
use crate::runbook::checked::Param;
use crate::runbook::model::ParamType;
use crate::runbook::Runbook;
use crate::ui::redact::Redactor;

/// Resolves every declared parameter. Secret values are registered with `redactor`.
/// `stored` are values kept from an earlier segment of the run (secrets are not among them).
pub fn resolve(
    runbook: &Runbook,
    args: &ParamArgs,
    stored: Option<&Map<String, Value>>,
    redactor: &Redactor,
) -> Result<Value, CliError> {
    let mut given: Map<String, Value> = Map::new();
    // Secrets the run was given (stored masked): a resume must be given them again, or it
    // would go on with the defaults and fail far from the cause.
    let mut secrets_to_give = Vec::new();
    // The values the run started with: a resume goes on with them and cannot change them.
    let mut kept: Map<String, Value> = Map::new();
    if let Some(stored) = stored {
        for (k, v) in stored {
            if !runbook.params.get(k).is_some_and(|p| p.secret) {
                kept.insert(k.clone(), v.clone());
            } else if v.as_str() == Some(crate::ui::redact::MASK) {
                secrets_to_give.push(k.clone());
            }
        }
    }
    if let Some(path) = &args.params_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("cannot read params file {}: {e}", path.display())))?;
        let node = crate::runbook::yaml::parse(&text)
            .map_err(|e| CliError::usage(format!("{}: {}", path.display(), e.message)))?;
        match node.to_json() {
            Value::Object(map) => given.extend(map),
            Value::Null => {}
            _ => return Err(CliError::usage(format!("{}: expected a map of parameter values", path.display()))),
        }
    }
    for (name, param) in &runbook.params {
        let env = format!("DRCTL_PARAM_{}", name.to_ascii_uppercase().replace('-', "_"));
        if let Ok(text) = std::env::var(&env) {
            given.insert(name.clone(), typed(name, param, &text, &env)?);
        }
    }
    for pair in &args.params {
        let Some((name, text)) = pair.split_once('=') else {
            return Err(CliError::usage_help(format!("--param `{pair}` has no `=`"), "write --param name=value"));
        };
        let Some(param) = runbook.params.get(name) else {
            let known: Vec<&str> = runbook.params.keys().map(String::as_str).collect();
            let help = crate::runbook::de::did_you_mean(name, known.iter().copied())
                .unwrap_or_else(|| format!("parameters: {}", known.join(", ")));
            return Err(CliError::usage_help(format!("unknown parameter `{name}`"), help));
        };
        given.insert(name.to_owned(), typed(name, param, text, "--param")?);
    }
    for (name, value) in kept {
        match given.get(&name) {
            Some(other) if *other != value => {
                return Err(CliError::usage_help(
                    format!(
                        "parameter `{name}` was {} when this run started; a resume cannot change it (given: {})",
                        show(&value),
                        show(other)
                    ),
                    "drop the new value (check --param, --params-file and DRCTL_PARAM_* variables), or start a new run",
                ));
            }
            _ => {
                given.insert(name, value);
            }
        }
    }
    if let Some(name) = secrets_to_give.iter().find(|name| !given.contains_key(*name)) {
        return Err(CliError::usage_help(
            format!("secret parameter `{name}` was given to this run and is not stored with it"),
            format!(
                "pass it again: --param {name}=..., --params-file FILE or DRCTL_PARAM_{}",
                name.to_ascii_uppercase().replace('-', "_")
            ),
        ));
    }
    let mut values = Map::new();
    for (name, param) in &runbook.params {
        let value = match given.remove(name).or_else(|| param.default.clone()) {
            Some(v) => v,
            None if param.required => {
                let hint = if param.secret {
                    format!(" (or DRCTL_PARAM_{})", name.to_ascii_uppercase())
                } else {
                    String::new()
                };
                return Err(CliError::usage_help(
                    format!("missing required parameter `{name}`"),
                    format!("pass --param {name}=...{hint}"),
                ));
            }
            None => Value::Null,
        };
        if !value.is_null() && !crate::runbook::validate::matches_type(param.kind, &value) {
            return Err(CliError::usage(format!(
                "parameter `{name}` must be a {}",
                crate::runbook::validate::type_word(param.kind)
            )));
        }
        if let Some(allowed) = &param.allowed {
            if !value.is_null() && !allowed.contains(&value) {
                let shown: Vec<String> = allowed.iter().map(Value::to_string).collect();
                return Err(CliError::usage_help(
                    format!("parameter `{name}` is not an allowed value"),
                    format!("allowed: {}", shown.join(", ")),
                ));
            }
        }
        if param.secret {
            redactor.add_value(&value);
        }
        values.insert(name.clone(), value);
    }
    if let Some(extra) = given.keys().next() {
        return Err(CliError::usage(format!("unknown parameter `{extra}` in the parameters given")));
    }
    Ok(Value::Object(values))
}

/// Reads a parameter value given as text (`--param`, `DRCTL_PARAM_*`). `from` says where it
/// came from, for the error; a secret's value is never repeated in one.
fn typed(name: &str, param: &Param, text: &str, from: &str) -> Result<Value, CliError> {
    let kind = param.kind;
    let shown = if param.secret { crate::ui::redact::MASK } else { text };
    let bad = |what: &str| CliError::usage(format!("parameter `{name}` ({from}): `{shown}` is not {what}"));
    Ok(match kind {
        ParamType::String => Value::String(text.to_owned()),
        ParamType::Number => {
            serde_json::from_str::<serde_json::Number>(text).map(Value::Number).map_err(|_| bad("a number"))?
        }
        ParamType::Bool => match text {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
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
    })
}

/// Parameter values with secrets replaced by `***`, for the run directory. A secret left at
/// its default is stored as that default (it is in the runbook, which the run directory
/// keeps too), so a resume knows which secrets it must be given again.
pub fn stored_form(runbook: &Runbook, values: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(map) = values {
        for (k, v) in map {
            let param = runbook.params.get(k);
            let masked = param.is_some_and(|p| p.secret && !v.is_null() && p.default.as_ref() != Some(v));
            out.insert(k.clone(), if masked { Value::String(crate::ui::redact::MASK.into()) } else { v.clone() });
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
