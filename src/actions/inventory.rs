//! `oci.inventory`: the inventory of a compartment of the source region, captured live
//! through the run's OCI client, or — when the source region does not answer within
//! `timeout` (connection refused, timeouts, 5xx after retries) and `fallback` is `saved` —
//! loaded from the `saved` file, with a warning in the task log. A saved file of another
//! region or compartment is an input error. It only reads; it never writes to OCI.
//!
//! Outputs: `from` (`live` | `saved`), `captured_at`, `source`, one output per inventory
//! list (`vcns`, `subnets`, ..., `functions`, ...: the list's items as JSON) and `images`
//! (the distinct function images: key, repository, tag, digest) and `routes` (each gateway
//! route and method: key, deployment, method, path, function), and `tenancy` (the tenancy
//! OCID when the credentials are an API key, else null).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::oci::OciEnvironment;
use super::{Action, ActionContext, ActionError, BoxFuture, ErrorClass, InputProblem, Outputs};
use crate::inventory::{load_or_saved, InventoryError, Origin, LISTS};
use crate::oci::ClientError;
use crate::runbook::duration::parse_duration;

const KEYS: &[&str] = &["region", "compartment_id", "saved", "fallback", "timeout"];

/// Default time the live capture may take before the saved inventory is used.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct InventoryAction {
    env: Arc<OciEnvironment>,
}

impl InventoryAction {
    pub fn new(env: Arc<OciEnvironment>) -> Self {
        Self { env }
    }
}

fn text<'a>(with: &'a Value, key: &str) -> Option<&'a str> {
    with.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn required<'a>(with: &'a Value, key: &str) -> Result<&'a str, ActionError> {
    text(with, key).ok_or_else(|| ActionError::input(format!("missing input `{key}`")))
}

/// Whether a saved inventory may stand in (`fallback: saved`, the default).
fn falls_back(with: &Value) -> Result<bool, String> {
    match text(with, "fallback") {
        None | Some("saved") => Ok(true),
        Some("fail") => Ok(false),
        Some(other) => Err(format!("`fallback` must be `saved` or `fail`, got `{other}`")),
    }
}

fn timeout_of(with: &Value) -> Result<Duration, String> {
    match with.get("timeout") {
        None | Some(Value::Null) => Ok(DEFAULT_TIMEOUT),
        Some(Value::String(s)) => parse_duration(s),
        Some(_) => Err("`timeout` must be a string like 30s".into()),
    }
}

fn failure(e: InventoryError) -> ActionError {
    match &e {
        InventoryError::SavedMismatch { .. } | InventoryError::Parse { .. } | InventoryError::Read { .. } => {
            ActionError::input(e.to_string())
        }
        _ if e.region_unavailable() => ActionError::new(ErrorClass::Network, e.to_string()),
        // An answer from the service is classed by its status, as for every OCI action: a
        // 404 (no such compartment, or no permission) is not retried; throttling is.
        InventoryError::Capture { source: ClientError::Api(api), .. } => {
            let mut error = ActionError::new(ErrorClass::HttpStatus(api.status), e.to_string());
            error.retryable = api.is_retryable();
            error
        }
        _ => ActionError::new(ErrorClass::Other, e.to_string()),
    }
}

impl Action for InventoryAction {
    fn is_read_only(&self) -> bool {
        true
    }

    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = super::unknown_keys(with, KEYS);
        for key in ["region", "compartment_id"] {
            if !with.contains_key(key) {
                problems.push(InputProblem::new("", format!("missing input `{key}`")));
            }
        }
        let value = Value::Object(with.clone());
        let unresolved = |k: &str| with.get(k).and_then(Value::as_str).is_some_and(|s| s.contains("${{"));
        if !unresolved("fallback") {
            if let Err(e) = falls_back(&value) {
                problems.push(InputProblem::new("fallback", e));
            }
        }
        if !unresolved("timeout") {
            if let Err(e) = timeout_of(&value) {
                problems.push(InputProblem::new("timeout", e));
            }
        }
        problems
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let region = required(&with, "region")?;
            let compartment = required(&with, "compartment_id")?;
            let timeout = timeout_of(&with).map_err(ActionError::input)?;
            let saved = if falls_back(&with).map_err(ActionError::input)? {
                text(&with, "saved").map(PathBuf::from)
            } else {
                None
            };
            let (client, _) = self.env.client().await?;
            let loaded = tokio::select! {
                _ = ctx.cancel.cancelled() => return Err(ActionError::fatal(ErrorClass::Other, "cancelled")),
                loaded = load_or_saved(client, region, compartment, timeout, saved.as_deref()) => loaded.map_err(failure)?,
            };
            if let (Origin::Saved, Some(reason)) = (loaded.origin, &loaded.reason) {
                let path = saved.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
                ctx.log.warn(&format!("warning: {reason}; using the saved inventory {path}"));
            }
            let mut out = outputs(&loaded.inventory, loaded.origin);
            // Dynamic groups live in the tenancy itself; an API key names it.
            let tenancy = client.signer().tenancy();
            out.insert("tenancy".into(), tenancy.map_or(Value::Null, |t| Value::String(t.to_owned())));
            Ok(out)
        })
    }
}

fn outputs(inventory: &crate::inventory::Inventory, origin: Origin) -> Outputs {
    let mut out = Outputs::new();
    out.insert("from".into(), json!(origin.as_str()));
    out.insert("captured_at".into(), json!(inventory.captured_at));
    out.insert("source".into(), serde_json::to_value(&inventory.source).unwrap_or_default());
    for l in LISTS {
        out.insert(l.list.into(), serde_json::to_value(inventory.list(l.list)).unwrap_or_default());
    }
    let images: Vec<Value> = inventory
        .images()
        .into_iter()
        .map(|(key, i)| json!({"key": key, "repository": i.repository, "tag": i.tag, "digest": i.digest}))
        .collect();
    out.insert("images".into(), Value::Array(images));
    out.insert("routes".into(), Value::Array(routes(inventory)));
    out
}

/// Every route of every gateway deployment, one item per method, for tests that call each:
/// `key` ("<deployment> <METHOD> <path>"), `deployment` (its key), `method`, `path` (the
/// route's path, to append to the deployment's endpoint) and `function` (the key of the
/// function behind an ORACLE_FUNCTIONS_BACKEND, else null).
fn routes(inventory: &crate::inventory::Inventory) -> Vec<Value> {
    let mut out = Vec::new();
    for deployment in inventory.list("deployments") {
        let routes = deployment.spec.get("specification").and_then(|s| s.get("routes")).and_then(Value::as_array);
        for route in routes.into_iter().flatten() {
            let path = route.get("path").and_then(Value::as_str).unwrap_or("/");
            let function = route
                .pointer("/backend/functionId")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("@{function:"))
                .and_then(|r| r.strip_suffix('}'));
            let methods: Vec<&str> = route
                .get("methods")
                .and_then(Value::as_array)
                .map(|m| m.iter().filter_map(Value::as_str).collect())
                .unwrap_or_else(|| vec!["GET"]);
            for method in methods {
                let method = if method == "ANY" { "GET" } else { method };
                out.push(json!({
                    "key": format!("{} {method} {path}", deployment.key),
                    "deployment": deployment.key,
                    "method": method,
                    "path": path,
                    "function": function,
                }));
            }
        }
    }
    out
}
