//! The read half of converging, shared by `run` and `refresh`: turning a task's inputs into a
//! [`Plan`] (endpoint, special inputs resolved), finding the resource by name (every page) or
//! by `id`, and computing what differs.
//!
//! Everything here reads; creating, updating and deleting is `apply.rs`'s job.

use serde_json::{Map, Value};

use super::api::{placement, Current, PlacementError, ResourceApi};
use super::diff::{diff_fields, DRILL_TAG};
use super::error::{advice_for, ConvergeError};
use super::inputs::{identity, Desired};
use super::kinds::{Placement, ResourceKind, Special, GOING, GONE};
use super::{nsg_rules, secret_content, services};
use crate::actions::oci::OciEnvironment;
use crate::actions::{ActionContext, ActionError, FieldDiff, Outputs};

/// A converge task ready to run: inputs, API and the fields to create with and compare.
pub struct Plan<'a> {
    pub kind: &'static ResourceKind,
    pub desired: Desired,
    pub api: ResourceApi<'a>,
    /// `oci.core.vcn `orders-vcn` in us-phoenix-1`, for messages.
    pub what: String,
    /// Resource fields to compare (special inputs taken out, `services: all` resolved).
    pub compare: Map<String, Value>,
    /// NSG rules, normalized.
    pub rules: Option<Vec<Value>>,
    /// The secret's content in OCI's shape.
    pub secret: Option<Value>,
    /// When a key's vault does not exist (yet): nothing can exist inside it.
    pub vault_missing: bool,
}

/// What differs, and how to fix it.
#[derive(Debug, Default)]
pub struct Differences {
    pub diffs: Vec<FieldDiff>,
    /// Fields for the update body.
    pub update: Map<String, Value>,
    pub rules: Option<nsg_rules::RulePlan>,
    /// Whether the secret needs a new version.
    pub secret_changed: bool,
}

impl Differences {
    pub fn is_empty(&self) -> bool {
        self.diffs.is_empty()
    }
}

/// Builds the plan of a task: parses inputs, finds where calls go, resolves special inputs.
pub async fn prepare<'a>(
    kind: &'static ResourceKind,
    env: &'a OciEnvironment,
    ctx: &ActionContext,
    with: &Value,
) -> Result<Plan<'a>, ActionError> {
    let desired = Desired::parse(kind, with).map_err(|m| ActionError::input(format!("{}: {m}", kind.action)))?;
    let label = desired.name(kind).or(desired.id.as_deref()).unwrap_or("?");
    let what = format!("{} `{label}` in {}", kind.action, desired.region);
    let (client, _) = env.client().await?;
    let path_parent = if kind.parent_in_path() {
        let parent = desired.parent(kind).ok_or_else(|| {
            ConvergeError::input(
                &what,
                format!("a {} is addressed inside its parent: give `{}`", kind.noun, kind.parent.unwrap_or_default()),
            )
        })?;
        Some(parent.to_string())
    } else {
        None
    };
    let vault = if kind.parent == Some("vaultId") { desired.parent(kind) } else { None };
    let (write_region, endpoint, vault_missing) =
        match placement(client, kind, &desired.region, vault, &ctx.cancel).await {
            Ok((w, e)) => (w, e, false),
            Err(PlacementError::VaultNotFound) => (desired.region.clone(), None, true),
            Err(PlacementError::Client(source)) => {
                let advice = advice_for(&source, "read vault", None);
                return Err(ConvergeError::Api { what, step: "reading the vault".into(), source, advice }.into());
            }
            Err(e) => return Err(ConvergeError::input(&what, e.to_string()).into()),
        };
    let api = ResourceApi {
        client,
        kind,
        region: desired.region.clone(),
        write_region,
        endpoint,
        path_parent,
        cancel: ctx.cancel.clone(),
    };
    let mut compare = desired.fields.clone();
    let mut rules = None;
    let mut secret = None;
    match kind.special {
        Special::NsgRules => {
            if let Some(r) = compare.remove("securityRules") {
                rules = Some(nsg_rules::normalize(&r).map_err(|m| ConvergeError::input(&what, m))?);
            }
        }
        Special::SecretContent => {
            // A null value (an expression that found none) leaves an existing secret's value
            // alone; creating one without it is refused in `apply`.
            if let Some(c) = compare.remove("secretContent").filter(|c| !c.is_null()) {
                secret = Some(secret_content::normalize(&c).map_err(|m| ConvergeError::input(&what, m))?);
            }
        }
        Special::ServiceGatewayServices if services::wants_all(compare.get("services")) => {
            let all = services::all_services(&api).await.map_err(|source| ConvergeError::Api {
                what: what.clone(),
                step: "listing the region's services".into(),
                advice: String::new(),
                source,
            })?;
            let all = all.ok_or_else(|| {
                ConvergeError::input(
                    &what,
                    "the region lists no \"All ... Services In Oracle Services Network\" service",
                )
            })?;
            compare.insert("services".into(), all);
        }
        _ => {}
    }
    Ok(Plan { kind, desired, api, what, compare, rules, secret, vault_missing })
}

impl Plan<'_> {
    pub fn api_error(&self, step: &str, source: crate::oci::ClientError) -> ConvergeError {
        let home = (self.kind.placement == Placement::HomeRegionWrites).then_some(self.api.write_region.as_str());
        let advice = advice_for(&source, step, home);
        ConvergeError::Api { what: self.what.clone(), step: step.to_string(), source, advice }
    }

    /// The resource, found by `id` or by name, parent and compartment. Resources in a gone
    /// state are ignored, except PENDING_DELETION ones when nothing live matches (they can be
    /// restored and still hold the name).
    pub async fn locate(&self) -> Result<Option<Current>, ConvergeError> {
        if self.vault_missing {
            return Ok(None);
        }
        if let Some(id) = &self.desired.id {
            let found = self.api.get(id, false).await.map_err(|e| self.api_error("read", e))?;
            return Ok(found.filter(|c| !matches!(c.state(), "DELETED" | "TERMINATED")));
        }
        let kind = self.kind;
        let name = self.desired.name(kind).unwrap_or_default();
        let compartment = self.desired.text("compartmentId").filter(|_| kind.in_compartment);
        let parent = self.desired.parent(kind);
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(c) = compartment {
            query.push(("compartmentId", c));
        }
        if let (Some(field), Some(p)) = (kind.parent, parent) {
            // Keys are listed per vault endpoint; logs per log group path.
            if !kind.parent_in_path() && kind.placement != Placement::VaultManagementEndpoint {
                query.push((field, p));
            }
        }
        if let Some(param) = kind.name_query {
            query.push((param, name));
        }
        let items = self.api.list(&query).await.map_err(|e| self.api_error("list", e))?;
        let field_is =
            |item: &Value, field: &str, want: Option<&str>| match (item.get(field).and_then(Value::as_str), want) {
                (Some(have), Some(want)) => have == want,
                _ => true,
            };
        let matching: Vec<&Value> = items
            .iter()
            .filter(|i| i.get(kind.name_field).and_then(Value::as_str) == Some(name))
            .filter(|i| kind.parent.is_none_or(|p| field_is(i, p, parent)))
            .filter(|i| field_is(i, "compartmentId", compartment))
            .filter(|i| !matches!(state_of(i), "DELETED" | "TERMINATED"))
            .collect();
        // A resource being deleted or pending deletion only counts when nothing else does.
        let settled = |i: &&&Value| !GONE.contains(&state_of(i)) && !GOING.contains(&state_of(i));
        let live: Vec<&&Value> = matching.iter().filter(settled).collect();
        let chosen = match live.len() {
            0 => {
                let going = matching.iter().find(|i| GOING.contains(&state_of(i)));
                going.or(matching.first()).copied()
            }
            1 => Some(*live[0]),
            n => {
                let ids: Vec<&str> = live.iter().filter_map(|i| i.get("id").and_then(Value::as_str)).collect();
                return Err(ConvergeError::Ambiguous {
                    what: self.what.clone(),
                    count: n,
                    identity: identity(kind),
                    ids: ids.join(", "),
                });
            }
        };
        let Some(id) = chosen.and_then(|i| i.get("id")).and_then(Value::as_str) else { return Ok(None) };
        // List items are summaries; the GET has every field and the etag (and may show that
        // the resource finished deleting since it was listed).
        let found = self.api.get(id, false).await.map_err(|e| self.api_error("read", e))?;
        Ok(found.filter(|c| !matches!(c.state(), "DELETED" | "TERMINATED")))
    }

    /// What differs between the task's fields and `current`. A difference in a field the
    /// service cannot update is an error saying the resource must be recreated.
    pub async fn differences(&self, current: &Current) -> Result<Differences, ConvergeError> {
        let kind = self.kind;
        let mut out = Differences::default();
        for diff in diff_fields(&self.compare, &current.body, |f| kind.is_identity_field(f)) {
            let top = diff.path.split('.').next().unwrap_or_default().to_string();
            if kind.updatable.contains(&top.as_str()) {
                out.update.insert(top.clone(), self.compare.get(&top).cloned().unwrap_or(Value::Null));
                out.diffs.push(diff);
                continue;
            }
            // Create-only fields that the service never returns cannot be compared.
            if current.body.get(&top).is_none() {
                continue;
            }
            let advice = kind
                .recreate_advice
                .iter()
                .find(|(f, _)| *f == top)
                .map(|(_, a)| a.to_string())
                .unwrap_or_else(|| format!("`{top}` is set only when a {} is created: delete it (ensure: absent) and run again to recreate it, or change the runbook to the current value", kind.noun));
            return Err(ConvergeError::CreateOnly {
                what: self.what.clone(),
                field: diff.path,
                current: diff.current.to_string(),
                desired: diff.desired.to_string(),
                advice,
            });
        }
        if let Some(tags) = out.update.get_mut("freeformTags") {
            keep_drill_tag(tags, &current.body);
        }
        if let Some(rules) = &self.rules {
            let have =
                nsg_rules::list(&self.api, current.id()).await.map_err(|e| self.api_error("list security rules", e))?;
            let plan = nsg_rules::plan(rules, &have);
            if !plan.is_empty() {
                out.diffs.push(FieldDiff {
                    path: "securityRules".into(),
                    current: Value::Array(plan.current.clone()),
                    desired: Value::Array(rules.clone()),
                });
                out.rules = Some(plan);
            }
        }
        if let Some(secret) = &self.secret {
            if secret_content::differs(&self.api, current.id(), secret)
                .await
                .map_err(|e| self.api_error("read secret bundle", e))?
            {
                out.diffs.push(secret_content::masked_diff());
                out.secret_changed = true;
            }
        }
        Ok(out)
    }

    /// The create body: the task's fields, special inputs in OCI's shape, the drill tag.
    pub fn create_body(&self, ctx: &ActionContext) -> Value {
        let mut body = self.compare.clone();
        if let Some(secret) = &self.secret {
            body.insert("secretContent".into(), secret.clone());
        }
        if self.kind.parent_in_path() {
            body.remove(self.kind.parent.unwrap_or_default());
        }
        if !self.kind.in_compartment {
            body.remove("compartmentId");
        }
        if ctx.drill {
            let tags = body.entry("freeformTags").or_insert_with(|| Value::Object(Map::new()));
            if let Some(map) = tags.as_object_mut() {
                map.insert(DRILL_TAG.into(), Value::String(ctx.run_id.clone()));
            }
        }
        Value::Object(body)
    }

    /// Outputs: the resource's fields as read, plus `region`, `changed`, `operation`.
    pub fn outputs(&self, body: &Value, operation: &str, changed: bool) -> Outputs {
        let mut out = body.as_object().cloned().unwrap_or_default();
        out.remove("secretContent");
        out.insert("region".into(), Value::String(self.desired.region.clone()));
        out.insert("changed".into(), Value::Bool(changed));
        out.insert("operation".into(), Value::String(operation.into()));
        out
    }
}

pub fn state_of(item: &Value) -> &str {
    item.get("lifecycleState").and_then(Value::as_str).unwrap_or_default()
}

/// Whether a cleanup run may delete `body`: only resources its drill tagged.
pub fn tagged_by(body: &Value, run_id: &str) -> bool {
    body.pointer(&format!("/freeformTags/{DRILL_TAG}")).and_then(Value::as_str) == Some(run_id)
}

/// Keeps an existing drill tag when an update replaces `freeformTags`.
fn keep_drill_tag(tags: &mut Value, current: &Value) {
    if let (Some(map), Some(tag)) = (tags.as_object_mut(), current.pointer(&format!("/freeformTags/{DRILL_TAG}"))) {
        map.insert(DRILL_TAG.into(), tag.clone());
    }
}
