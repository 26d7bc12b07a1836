//! The write half of converging (`run`): create when absent, update what differs, delete on
//! `ensure: absent`, each followed by the wait for the work request and the lifecycle state
//! when `wait` is true; and `refresh`, which stops where `run` would first write.
//!
//! Creates carry the task's idempotency key as `opc-retry-token`, so an attempt whose answer
//! was lost and is retried gets the first resource back instead of a second one. Updates and
//! deletes carry the etag of the GET they were decided on, as `if-match`.

use serde_json::{json, Value};

use super::api::Current;
use super::engine::{tagged_by, Differences, Plan};
use super::error::ConvergeError;
use super::inputs::Ensure;
use super::kinds::{DeleteStyle, Special, GOING, GONE, SETTLING};
use super::nsg_rules;
use crate::actions::{ActionContext, Change, FieldDiff, Outputs, Refreshed};
use crate::oci::{ClientError, OciResponse};

/// States a delete waits for (a 404 counts as DELETED).
const DELETED: &[&str] = &["DELETED", "TERMINATED"];
const SCHEDULED: &[&str] = &["PENDING_DELETION", "DELETED"];
/// A scheduled deletion: gone for `ensure: absent`, restorable for `ensure: present`.
const PENDING: &str = "PENDING_DELETION";

/// Converges the resource; returns the outputs.
pub async fn run(plan: &Plan<'_>, ctx: &ActionContext) -> Result<Outputs, ConvergeError> {
    let found = plan.locate().await?;
    let found = match found {
        Some(c) if GOING.contains(&c.state()) => {
            ctx.log.line(&format!("{} is {}; waiting until it is gone", plan.what, c.state()));
            let last = wait_gone(plan, &c, GONE).await?;
            // A scheduled deletion ends in PENDING_DELETION: the resource (and its name) remain.
            Some(last).filter(|l| l.state() == PENDING)
        }
        other => other,
    };
    match (plan.desired.ensure, found) {
        (Ensure::Absent, None) => Ok(plan.outputs(&Value::Null, "absent", false)),
        // Deleted already, or scheduled for deletion: its fields say which (and whose drill tag
        // it carries), for a cleanup to name what it found.
        (Ensure::Absent, Some(c)) if GONE.contains(&c.state()) => Ok(plan.outputs(&c.body, "absent", false)),
        (Ensure::Absent, Some(c)) => match &ctx.only_tagged {
            Some(run) if !tagged_by(&c.body, run) => {
                ctx.log.line(&format!("{}: {} is not tagged by drill run {run}; kept", plan.what, c.id()));
                Ok(plan.outputs(&c.body, "kept", false))
            }
            _ => delete(plan, ctx, c).await,
        },
        (Ensure::Present, None) => {
            if plan.vault_missing {
                return Err(ConvergeError::input(
                    &plan.what,
                    "the vault named by `vaultId` does not exist in this region: converge the vault first (refs or depends_on)",
                ));
            }
            if let Some(id) = &plan.desired.id {
                return Err(ConvergeError::input(
                    &plan.what,
                    format!("`id` {id} does not exist; remove `id` to create the resource by name"),
                ));
            }
            if plan.kind.special == Special::SecretContent && plan.secret.is_none() {
                return Err(ConvergeError::input(
                    &plan.what,
                    "the secret does not exist here, and creating it needs its value: `secretContent` gave none; \
                     pass the value to the task (the shipped failover runbook takes it in the `secret_values` \
                     parameter, by inventory key)",
                ));
            }
            create(plan, ctx).await
        }
        (Ensure::Present, Some(c)) => converge_existing(plan, ctx, c).await,
    }
}

/// Predicts `run` with reads only.
pub async fn refresh(plan: &Plan<'_>, ctx: &ActionContext) -> Result<Refreshed, ConvergeError> {
    let found = plan.locate().await?.filter(|c| !GOING.contains(&c.state()));
    let (change, outputs) = match (plan.desired.ensure, found) {
        (Ensure::Absent, None) => (Change::Absent, plan.outputs(&Value::Null, "absent", false)),
        (Ensure::Absent, Some(c)) if GONE.contains(&c.state()) => {
            (Change::Absent, plan.outputs(&Value::Null, "absent", false))
        }
        (Ensure::Absent, Some(c)) => match &ctx.only_tagged {
            Some(run) if !tagged_by(&c.body, run) => (Change::NoChange, plan.outputs(&c.body, "kept", false)),
            _ => (Change::Delete, plan.outputs(&c.body, "delete", true)),
        },
        (Ensure::Present, None) => (Change::Create, plan.outputs(&plan.create_body(ctx), "create", true)),
        (Ensure::Present, Some(c)) => {
            let mut diffs = Vec::new();
            if c.state() == PENDING {
                diffs.push(restore_diff(plan, &c));
            }
            if plan.kind.ready.contains(&c.state()) || SETTLING.contains(&c.state()) {
                diffs.extend(plan.differences(&c).await?.diffs);
            }
            // A run that is no drill takes over a drill's resource by removing its drill tag
            // (see `converge_existing`): an update, though the task's fields all match.
            let path = format!("/freeformTags/{}", super::diff::DRILL_TAG);
            if let (false, Some(tag)) = (ctx.drill, c.body.pointer(&path)) {
                diffs.push(crate::actions::FieldDiff {
                    path: format!("freeformTags.{}", super::diff::DRILL_TAG),
                    current: tag.clone(),
                    desired: Value::Null,
                });
            }
            if diffs.is_empty() {
                (Change::NoChange, plan.outputs(&c.body, "none", false))
            } else {
                (Change::Update(diffs), plan.outputs(&c.body, "update", true))
            }
        }
    };
    Ok(Refreshed { change, outputs })
}

async fn create(plan: &Plan<'_>, ctx: &ActionContext) -> Result<Outputs, ConvergeError> {
    let body = plan.create_body(ctx);
    ctx.log.line(&format!("{}: not found; creating", plan.what));
    let response = send_create(plan, ctx, &body).await?;
    let created: Value = response.json().unwrap_or(Value::Null);
    let mut work_request = None;
    if plan.desired.wait {
        work_request = match plan.api.wait_work_request(&response).await {
            Ok(w) => w,
            Err(e @ crate::oci::WaitError::WorkRequestFailed { .. }) => {
                let id = match created.get("id").and_then(Value::as_str) {
                    Some(id) => Some(id.to_owned()),
                    None => plan.api.work_request_resource(&response).await,
                };
                return Err(create_failed(plan, ctx, id.as_deref(), e).await);
            }
            Err(e) => return Err(wait_error(plan, "create", e)),
        };
    }
    let id = match created.get("id").and_then(Value::as_str) {
        Some(id) => id.to_string(),
        None => match work_request.as_ref().and_then(crate::oci::WorkRequest::created_id) {
            Some(id) => id,
            None => plan.locate().await?.map(|c| c.id().to_string()).ok_or_else(|| ConvergeError::NoResourceId {
                what: plan.what.clone(),
                missing: "the new resource's id".into(),
            })?,
        },
    };
    ctx.log.line(&format!("{}: created {id}", plan.what));
    let mut current = if plan.desired.wait {
        match plan.api.wait_state(&id, plan.kind.ready).await {
            Ok(c) => c,
            Err(e @ crate::oci::WaitError::Failed { .. }) => return Err(create_failed(plan, ctx, Some(&id), e).await),
            Err(e) => return Err(wait_error(plan, "waiting until it is ready", e)),
        }
    } else {
        read_after_write(plan, &id).await?.unwrap_or(Current { body: created, etag: None })
    };
    if let Some(rules) = &plan.rules {
        let rule_plan = nsg_rules::plan(rules, &[]);
        nsg_rules::apply(&plan.api, &id, &rule_plan).await.map_err(|e| plan.api_error("add security rules", e))?;
        current = with_rules(plan, current).await?;
    }
    Ok(plan.outputs(&current.body, "create", true))
}

/// Sends the create with the task's idempotency key as retry token. A later attempt that
/// sends the same token gets the earlier attempt's answer back (that is what the token is
/// for); when what that answer names is gone since (it failed and was deleted), the answer is
/// stale, and the create is sent again under a token derived from the key and the gone
/// resource's id: as stable across a crash and resume as the key itself. A create under a
/// derived token may have failed the same way in an earlier attempt, so each answer is
/// checked in turn: attempt n follows at most n - 1 stale answers to a fresh create. OCI may
/// also refuse the old token outright (409 InvalidatedRetryToken), which gets the same
/// treatment.
async fn send_create(plan: &Plan<'_>, ctx: &ActionContext, body: &Value) -> Result<OciResponse, ConvergeError> {
    let key = &ctx.idempotency_key;
    let mut token = key.clone();
    for _ in 0..ctx.attempt.saturating_add(2) {
        let response = match plan.api.create(body, &token).await {
            Ok(r) => r,
            Err(ClientError::Api(e)) if e.status == 409 && e.code == "InvalidatedRetryToken" && &token == key => {
                ctx.log.line(&format!(
                    "{}: the retry token of an earlier attempt is no longer valid; using a new one",
                    plan.what
                ));
                token = derived_token(key, "invalidated");
                continue;
            }
            Err(e) => return Err(plan.api_error("create", e)),
        };
        // Only an earlier attempt of this instance can have sent the key, or a token derived
        // from it: a first attempt's answer is its own, and costs no read.
        if ctx.attempt <= 1 {
            return Ok(response);
        }
        let answered =
            response.json::<Value>().ok().and_then(|b| b.get("id").and_then(Value::as_str).map(str::to_owned));
        let answered = match answered {
            Some(id) => Some(id),
            None => plan.api.work_request_resource(&response).await,
        };
        let Some(id) = answered else { return Ok(response) };
        let gone = match read_after_write(plan, &id).await? {
            None => true,
            Some(c) => GONE.contains(&c.state()) || GOING.contains(&c.state()),
        };
        if !gone {
            return Ok(response);
        }
        ctx.log.line(&format!(
            "{}: an earlier attempt's create answered {id}, which is gone since; creating it again",
            plan.what
        ));
        token = derived_token(key, &id);
    }
    Err(ConvergeError::input(&plan.what, "the create kept answering with a resource that is gone"))
}

fn derived_token(key: &str, from: &str) -> String {
    crate::hash::hex(&<sha2::Sha256 as sha2::Digest>::digest(format!("{key}/{from}").as_bytes()))
}

/// The create went through and then failed. A resource left FAILED by it is this attempt's
/// own and holds the name: it is deleted now, or else by the next attempt, which finds it.
async fn create_failed(
    plan: &Plan<'_>,
    ctx: &ActionContext,
    id: Option<&str>,
    source: crate::oci::WaitError,
) -> ConvergeError {
    let outcome = remove_failed(plan, ctx, id).await;
    ConvergeError::CreateFailed { what: plan.what.clone(), source, outcome }
}

/// What became of the resource a failed create left.
async fn remove_failed(plan: &Plan<'_>, ctx: &ActionContext, id: Option<&str>) -> String {
    let Some(id) = id else {
        return "the service did not say which resource it was; the next attempt replaces a FAILED one of this \
                name"
            .to_owned();
    };
    let failed = match read_after_write(plan, id).await {
        Ok(Some(c)) if c.state() == "FAILED" => c,
        Ok(Some(c)) => return format!("{id} is {} now; left as it is", c.state()),
        Ok(None) => return format!("{id} is gone"),
        Err(e) => return format!("{id} could not be read ({e}); the next attempt replaces it if it is FAILED"),
    };
    ctx.log.line(&format!("{}: the create failed; deleting the FAILED {id} so that a retry can create it", plan.what));
    match delete(plan, ctx, failed).await {
        Ok(_) => format!("the FAILED {id} was deleted; the next attempt creates it afresh"),
        Err(e) => {
            format!("deleting the FAILED {id} failed too ({e}); the next attempt deletes it and creates it afresh")
        }
    }
}

async fn converge_existing(plan: &Plan<'_>, ctx: &ActionContext, found: Current) -> Result<Outputs, ConvergeError> {
    let mut current = found;
    let mut restored = None;
    if current.state() == PENDING {
        // PENDING_DELETION: the name is still taken; restoring it is the only way back.
        restored = Some(restore_diff(plan, &current));
        ctx.log.line(&format!("{}: {} is {}; cancelling its deletion", plan.what, current.id(), current.state()));
        plan.api
            .action(current.id(), "cancelDeletion", None, current.etag.as_deref())
            .await
            .map_err(|e| plan.api_error("cancel deletion", e))?;
        // It goes back to the state it had: a key may have been DISABLED, which is settled.
        let mut settled: Vec<&str> = plan.kind.ready.to_vec();
        if plan.kind.action == "oci.kms.key" {
            settled.push("DISABLED");
        }
        current = plan
            .api
            .wait_state(current.id(), &settled)
            .await
            .map_err(|e| wait_error(plan, "waiting until it is ready", e))?;
    }
    if SETTLING.contains(&current.state()) && plan.desired.wait {
        current = wait_ready(plan, current.id()).await?;
    }
    if current.state() == "FAILED" {
        // A FAILED resource serves nothing and holds the name: a failover replaces it. A drill
        // replaces only one it made itself; one from before it is not the drill's to delete.
        let id = current.id().to_owned();
        if !ctx.drill || tagged_by(&current.body, &ctx.run_id) {
            ctx.log.line(&format!("{}: {id} is FAILED; deleting it and creating it afresh", plan.what));
            delete(plan, ctx, current).await?;
            return create(plan, ctx).await;
        }
        let mut command = format!(
            "drctl oci request DELETE {} {} --region {}",
            plan.kind.service,
            plan.api.item_path(&id),
            plan.api.write_region
        );
        if let Some(endpoint) = &plan.api.endpoint {
            command.push_str(&format!(" --endpoint {}", endpoint.as_str().trim_end_matches('/')));
        }
        return Err(ConvergeError::BadState {
            what: plan.what.clone(),
            state: "FAILED".into(),
            advice: format!(
                "{} {id} failed before this drill began, so the drill leaves it alone; delete it (`{command}`) and \
                 resume",
                plan.kind.noun
            ),
        });
    }
    let mut differences = plan.differences(&current).await?;
    // A drill that brings back a resource an earlier drill's cleanup scheduled for deletion
    // makes it its own: tagged with this run, so that this drill's cleanup removes it again.
    let adopt = restored.is_some() && ctx.drill && !tagged_by(&current.body, &ctx.run_id);
    // A run that is no drill and finds a drill's resource (left standing, or brought back from
    // its cleanup's scheduled deletion) takes it over: the drill's tag goes, so that no cleanup
    // of that drill removes what this run now relies on.
    let drill_tag = current.body.pointer(&format!("/freeformTags/{}", super::diff::DRILL_TAG)).cloned();
    let disown = !ctx.drill && drill_tag.is_some();
    if adopt || disown {
        let mut tags = match differences.update.get("freeformTags").or_else(|| current.body.get("freeformTags")) {
            Some(Value::Object(tags)) => tags.clone(),
            _ => serde_json::Map::new(),
        };
        if adopt {
            tags.insert(super::diff::DRILL_TAG.into(), Value::String(ctx.run_id.clone()));
        } else {
            tags.remove(super::diff::DRILL_TAG);
        }
        differences.update.insert("freeformTags".into(), Value::Object(tags));
    }
    let retag = adopt || disown;
    if differences.is_empty() && !retag {
        let changed = restored.is_some();
        let op = if changed { "update" } else { "none" };
        let mut outputs = plan.outputs(&with_rules_if(plan, current).await?.body, op, changed);
        if changed {
            outputs.insert("restored".into(), Value::Bool(true));
        }
        return Ok(outputs);
    }
    let paths: Vec<&str> = differences.diffs.iter().map(|d| d.path.as_str()).collect();
    if paths.is_empty() && disown {
        let drill = drill_tag.as_ref().and_then(Value::as_str).unwrap_or("?");
        ctx.log.line(&format!("{}: taking it over from drill run {drill} (its drill tag is removed)", plan.what));
    } else if paths.is_empty() {
        ctx.log.line(&format!("{}: tagging it for drill run {}", plan.what, ctx.run_id));
    } else {
        ctx.log.line(&format!("{}: updating {}", plan.what, paths.join(", ")));
    }
    let id = current.id().to_string();
    current = update(plan, &current, &differences).await?;
    if let Some(rules) = &differences.rules {
        nsg_rules::apply(&plan.api, &id, rules).await.map_err(|e| plan.api_error("change security rules", e))?;
    }
    let current = with_rules_if(plan, current).await?;
    let mut outputs = plan.outputs(&current.body, "update", true);
    if restored.is_some() {
        // Brought back from a scheduled deletion: a drill's cleanup undoes it like a creation.
        outputs.insert("restored".into(), Value::Bool(true));
    }
    Ok(outputs)
}

async fn update(plan: &Plan<'_>, current: &Current, differences: &Differences) -> Result<Current, ConvergeError> {
    let mut body = differences.update.clone();
    if differences.secret_changed {
        if let Some(secret) = &plan.secret {
            body.insert("secretContent".into(), secret.clone());
        }
    }
    if body.is_empty() {
        return Ok(current.clone());
    }
    let id = current.id().to_string();
    let response = plan
        .api
        .update(&id, &Value::Object(body), current.etag.as_deref())
        .await
        .map_err(|e| plan.api_error("update", e))?;
    if !plan.desired.wait {
        return Ok(read_after_write(plan, &id).await?.unwrap_or_else(|| current.clone()));
    }
    plan.api.wait_work_request(&response).await.map_err(|e| wait_error(plan, "update", e))?;
    wait_ready(plan, &id).await
}

async fn delete(plan: &Plan<'_>, ctx: &ActionContext, current: Current) -> Result<Outputs, ConvergeError> {
    let id = current.id().to_string();
    ctx.log.line(&format!("{}: deleting {id}", plan.what));
    let etag = current.etag.as_deref();
    let (sent, gone_states) = match plan.kind.delete {
        DeleteStyle::Delete => (plan.api.delete(&id, etag).await, DELETED),
        DeleteStyle::ScheduleDeletion => {
            (plan.api.action(&id, "scheduleDeletion", Some(&json!({})), etag).await, SCHEDULED)
        }
    };
    let response = match sent {
        Ok(r) => r,
        // Deleted meanwhile by someone else: the wanted state is reached.
        Err(ClientError::Api(e)) if e.status == 404 => return Ok(plan.outputs(&Value::Null, "absent", false)),
        Err(e) => return Err(plan.api_error("delete", e)),
    };
    let mut body = current.body.clone();
    let state = if plan.desired.wait {
        plan.api.wait_work_request(&response).await.map_err(|e| wait_error(plan, "delete", e))?;
        let last = wait_gone(plan, &current, gone_states).await?;
        if last.body.is_null() {
            "DELETED".to_string()
        } else {
            last.state().to_string()
        }
    } else {
        let now = read_after_write(plan, &id).await?;
        now.map_or_else(|| "DELETED".to_string(), |c| c.state().to_string())
    };
    body["lifecycleState"] = Value::String(state);
    Ok(plan.outputs(&body, "delete", true))
}

/// The diff that restoring a resource pending deletion shows.
fn restore_diff(plan: &Plan<'_>, current: &Current) -> FieldDiff {
    FieldDiff {
        path: "lifecycleState".into(),
        current: json!(current.state()),
        desired: json!(plan.kind.ready.first().copied().unwrap_or("ACTIVE")),
    }
}

async fn wait_ready(plan: &Plan<'_>, id: &str) -> Result<Current, ConvergeError> {
    plan.api.wait_state(id, plan.kind.ready).await.map_err(|e| wait_error(plan, "waiting until it is ready", e))
}

async fn wait_gone(plan: &Plan<'_>, current: &Current, states: &[&str]) -> Result<Current, ConvergeError> {
    plan.api.wait_state(current.id(), states).await.map_err(|e| wait_error(plan, "waiting until it is deleted", e))
}

async fn read_after_write(plan: &Plan<'_>, id: &str) -> Result<Option<Current>, ConvergeError> {
    plan.api.get(id, true).await.map_err(|e| plan.api_error("read", e))
}

/// For NSGs given `securityRules`: the outputs also carry the rules as they are now.
async fn with_rules_if(plan: &Plan<'_>, current: Current) -> Result<Current, ConvergeError> {
    if plan.rules.is_some() {
        with_rules(plan, current).await
    } else {
        Ok(current)
    }
}

async fn with_rules(plan: &Plan<'_>, mut current: Current) -> Result<Current, ConvergeError> {
    let rules = nsg_rules::list(&plan.api, current.id()).await.map_err(|e| plan.api_error("list security rules", e))?;
    if let Some(map) = current.body.as_object_mut() {
        map.insert("securityRules".into(), Value::Array(rules));
    }
    Ok(current)
}

fn wait_error(plan: &Plan<'_>, step: &str, source: crate::oci::WaitError) -> ConvergeError {
    ConvergeError::Wait { what: plan.what.clone(), step: step.to_string(), source }
}
