//! Carries out a [`CleanupPlan`]: every item once its dependents are gone, up to `parallelism`
//! at a time, each through the action that created it (or the registry, for image copies).
//!
//! It decides nothing about which resources are the drill's: converge actions get
//! `only_tagged = Some(run_id)` and keep anything not tagged with the run. It never writes to
//! the run directory; the caller records the results.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::plan::{CleanupPlan, TagWas, Undo, UndoKind};
use crate::actions::{ActionContext, ActionError, ActionRegistry, TaskLog};
use crate::checkpoint::record::{now_millis, Millis};
use crate::registry::{resolve_credentials, Digest, DockerConfig, ImageRef, RepoUndo, TagUndo};

/// How one item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Deleted,
    /// Put back as it was before the drill (a tag the drill's image copy moved).
    Restored,
    /// Left in place: not the drill's (no matching tag) or not written by it.
    Kept,
    AlreadyGone,
    /// Not touched: an earlier cleanup of the run removed it. Whatever has its name now (a
    /// resource another run made, or brought back) is not the drill's to remove.
    DoneEarlier,
    Failed,
    /// Not tried: something that depended on it could not be removed.
    Blocked,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Deleted => "deleted",
            Outcome::Restored => "restored",
            Outcome::Kept => "kept",
            Outcome::AlreadyGone => "already gone",
            Outcome::DoneEarlier => "done earlier",
            Outcome::Failed => "failed",
            Outcome::Blocked => "blocked",
        }
    }

    /// Whether whatever depended on an item in this state may now be removed.
    fn releases(self) -> bool {
        matches!(
            self,
            Outcome::Deleted | Outcome::Restored | Outcome::AlreadyGone | Outcome::DoneEarlier | Outcome::Kept
        )
    }
}

/// The result of one item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemResult {
    /// `task` or `task[key]`.
    pub instance: String,
    pub action: String,
    /// The OCID or image removed (or kept).
    pub resource: String,
    pub outcome: Outcome,
    /// The error of a failure, the reason something was kept or blocked.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    pub attempts: u32,
    pub at: Millis,
}

/// What execution needs besides the plan.
pub struct Executor {
    pub actions: ActionRegistry,
    pub parallelism: usize,
    pub scratch_dir: std::path::PathBuf,
    pub log: Arc<dyn TaskLog>,
    pub cancel: CancellationToken,
    /// Where registry credentials come from (see [`crate::actions::oci::OciSettings`]).
    pub docker_config: Option<std::path::PathBuf>,
    /// Told each item's result as soon as it is known, to put it on record then: a cleanup cut
    /// short must not forget what it already removed.
    pub record: RecordResult,
}

/// Puts an item's result on record (see [`Executor::record`]).
pub type RecordResult = Box<dyn Fn(&Undo, &ItemResult) + Send + Sync>;

impl Executor {
    /// Runs every item of `plan`, dependents first; results are in plan order.
    pub async fn run(&self, plan: &CleanupPlan) -> Vec<ItemResult> {
        let n = plan.items.len();
        let mut results: Vec<Option<ItemResult>> = vec![None; n];
        let mut started = vec![false; n];
        let mut running: JoinSet<ItemResult> = JoinSet::new();
        let mut jobs: HashMap<tokio::task::Id, usize> = HashMap::new();
        let settle = |results: &mut Vec<Option<ItemResult>>, i: usize, r: ItemResult| {
            (self.record)(&plan.items[i], &r);
            results[i] = Some(r);
        };
        loop {
            let mut progressed = false;
            for (i, item) in plan.items.iter().enumerate() {
                if started[i]
                    || running.len() >= self.parallelism.max(1)
                    || item.after.iter().any(|&j| results[j].is_none())
                {
                    continue;
                }
                started[i] = true;
                progressed = true;
                let stuck: Vec<String> = item
                    .after
                    .iter()
                    .filter_map(|&j| results[j].as_ref().filter(|r| !r.outcome.releases()))
                    .map(|r| format!("{} ({})", r.instance, r.outcome.as_str()))
                    .collect();
                // An image stays while something built on it stays: a function that another
                // run took over (no longer tagged with this drill) still runs it.
                let in_use = match &item.kind {
                    UndoKind::Image { image, .. } => item.after.iter().find_map(|&j| {
                        results[j]
                            .as_ref()
                            .filter(|r| r.outcome == Outcome::Kept && !r.resource.is_empty())
                            .filter(|_| runs_image(&plan.items[j], image))
                            .map(|r| r.instance.clone())
                    }),
                    _ => None,
                };
                if let Some(user) = in_use {
                    let detail = format!("{user}, which was built on it, stays (it is not this drill's)");
                    settle(&mut results, i, result(item, Outcome::Kept, detail, 0));
                } else if stuck.is_empty() {
                    let job = Job::new(self, &plan.run_id, item);
                    let handle = running.spawn(job.run());
                    jobs.insert(handle.id(), i);
                } else {
                    let detail = format!("not tried: {} still there", stuck.join(", "));
                    settle(&mut results, i, result(item, Outcome::Blocked, detail, 0));
                }
            }
            match running.join_next_with_id().await {
                Some(Ok((id, r))) => {
                    if let Some(i) = jobs.remove(&id) {
                        settle(&mut results, i, r);
                    }
                }
                Some(Err(e)) => {
                    if let Some(i) = jobs.remove(&e.id()) {
                        settle(&mut results, i, result(&plan.items[i], Outcome::Failed, format!("stopped: {e}"), 0));
                    }
                }
                // Nothing runs and nothing could start: every item is done (the plan is acyclic,
                // so otherwise something would have been ready).
                None if !progressed => break,
                None => {}
            }
        }
        results
            .into_iter()
            .zip(&plan.items)
            .map(|(r, item)| {
                r.unwrap_or_else(|| {
                    let r = unreached(item);
                    (self.record)(item, &r);
                    r
                })
            })
            .collect()
    }
}

fn unreached(item: &Undo) -> ItemResult {
    result(item, Outcome::Blocked, "not tried".into(), 0)
}

fn result(item: &Undo, outcome: Outcome, detail: String, attempts: u32) -> ItemResult {
    let resource = item.kind.resource();
    ItemResult {
        instance: item.id.to_string(),
        action: item.action.clone(),
        resource,
        outcome,
        detail,
        attempts,
        at: now_millis(),
    }
}

/// One item's removal, owned so it can run on its own task.
struct Job {
    item: Undo,
    run_id: String,
    action: Option<Arc<dyn crate::actions::Action>>,
    scratch_dir: std::path::PathBuf,
    log: Arc<dyn TaskLog>,
    cancel: CancellationToken,
    docker_config: Option<std::path::PathBuf>,
}

impl Job {
    fn new(exec: &Executor, run_id: &str, item: &Undo) -> Job {
        Job {
            item: item.clone(),
            run_id: run_id.to_owned(),
            action: exec.actions.get(&item.action).cloned(),
            scratch_dir: exec.scratch_dir.clone(),
            log: exec.log.clone(),
            cancel: exec.cancel.clone(),
            docker_config: exec.docker_config.clone(),
        }
    }

    async fn run(self) -> ItemResult {
        let item = &self.item;
        match &item.kind {
            UndoKind::Keep { why } => result(item, Outcome::Kept, why.clone(), 0),
            UndoKind::Removed { .. } => result(
                item,
                Outcome::DoneEarlier,
                "removed by an earlier cleanup of this run; not touched again: whatever is there now was made, or \
                 brought back, by another run since"
                    .into(),
                0,
            ),
            UndoKind::Converge { with, .. } | UndoKind::Unfinished { with, .. } => self.converge(with).await,
            UndoKind::Image { image, digest, plain_http, manifest, tag, children } => {
                let docker = self.docker_config.as_deref();
                let (outcome, detail) =
                    undo_image(image, digest, *plain_http, *manifest, tag.as_ref(), children, docker).await;
                result(item, outcome, detail, 1)
            }
        }
    }

    /// The converge action with `ensure: absent`, retried as the task's policy says.
    async fn converge(&self, with: &Value) -> ItemResult {
        let item = &self.item;
        let Some(action) = &self.action else {
            return result(item, Outcome::Failed, format!("unknown action `{}`", item.action), 0);
        };
        let key = crate::engine::idempotency_key(&format!("{}/cleanup", self.run_id), &item.id);
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_os_rng();
        let mut tries = 0;
        loop {
            tries += 1;
            let ctx = ActionContext {
                work_dir: None,
                task_id: item.id.task.clone(),
                instance_key: item.id.key.clone(),
                idempotency_key: key.clone(),
                attempt: tries,
                started: std::time::Instant::now(),
                cancel: self.cancel.child_token(),
                log: self.log.clone(),
                scratch_dir: self.scratch_dir.clone(),
                drill: true,
                run_id: self.run_id.clone(),
                only_tagged: Some(self.run_id.clone()),
                urgency: 0,
            };
            let err: ActionError = tokio::select! {
                outcome = action.run(&ctx, with.clone()) => match outcome {
                    Ok(outputs) => return converge_result(item, &outputs, tries, &self.run_id),
                    Err(e) => e,
                },
                () = self.cancel.cancelled() => return result(item, Outcome::Failed, "cancelled".into(), tries),
            };
            self.log.line(&format!("{} attempt {tries}: {}", item.id, err.message));
            if !item.retry.should_retry(&err, tries) {
                return result(item, Outcome::Failed, err.message, tries);
            }
            let mut delay = item.retry.delay_after(tries, &mut rng);
            if let Some(after) = err.retry_after {
                delay = delay.max(after);
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.cancel.cancelled() => return result(item, Outcome::Failed, "cancelled".into(), tries),
            }
        }
    }
}

/// Reads a converge action's `operation` output (contract C1), for a cleanup of drill `run_id`.
fn converge_result(item: &Undo, outputs: &crate::actions::Outputs, tries: u32, run_id: &str) -> ItemResult {
    match outputs.get("operation").and_then(Value::as_str) {
        Some("delete") => result(item, Outcome::Deleted, String::new(), tries),
        Some("absent") if matches!(item.kind, UndoKind::Unfinished { .. }) => {
            unfinished_absent(item, outputs, tries, run_id)
        }
        Some("absent") => result(item, Outcome::AlreadyGone, String::new(), tries),
        Some("kept") if matches!(item.kind, UndoKind::Unfinished { .. }) => result(
            item,
            Outcome::Kept,
            "found, but not tagged with this drill's run id: it was there before the drill".into(),
            tries,
        ),
        Some("kept") => result(item, Outcome::Kept, "not tagged with this drill's run id".into(), tries),
        other => result(
            item,
            Outcome::Failed,
            format!("`{}` answered operation {:?} to ensure: absent", item.action, other.unwrap_or("(none)")),
            tries,
        ),
    }
}

/// What an unfinished task's removal by name found absent was: nothing of that name, or one
/// on its way out (deleted, or its deletion scheduled), which is left as it is unless it
/// carries this drill's tag, since then the drill's own task may have made it.
fn unfinished_absent(item: &Undo, outputs: &crate::actions::Outputs, tries: u32, run_id: &str) -> ItemResult {
    let Some(id) = outputs.get("id").and_then(Value::as_str) else {
        let why = "none found: nothing the unfinished task may have created is there";
        return result(item, Outcome::AlreadyGone, why.into(), tries);
    };
    let state = outputs.get("lifecycleState").and_then(Value::as_str).unwrap_or("gone");
    let tag = outputs
        .get("freeformTags")
        .and_then(|tags| tags.get(crate::actions::oci::converge::diff::DRILL_TAG))
        .and_then(Value::as_str);
    let (outcome, why) = match tag {
        Some(run) if run == run_id => (Outcome::AlreadyGone, format!("{id} is {state} already")),
        Some(run) => {
            (Outcome::Kept, format!("{id} is {state} and not this drill's (tagged by drill run {run}): left as it is"))
        }
        None => (Outcome::Kept, format!("{id} is {state} and was not created by a drill: left as it is")),
    };
    result(item, outcome, why, tries)
}

/// Undoes an image copy through the Distribution API: the tag it wrote first (put back on the
/// digest it named before, or removed), then the manifest it wrote. Credentials come from the
/// environment or the docker config (the run's own credential inputs are secrets and were
/// never stored). A tag the registry failed to put back keeps the manifest (deleting it would
/// take the tag with it), and the item fails, for the next cleanup to try again.
async fn undo_image(
    image: &str,
    digest: &str,
    plain_http: bool,
    manifest: bool,
    tag: Option<&TagWas>,
    children: &[String],
    docker_config: Option<&std::path::Path>,
) -> (Outcome, String) {
    let parsed = match (ImageRef::from_str(image), Digest::parse(digest)) {
        (Ok(image), Ok(digest)) => (image, digest),
        (Err(e), _) => return (Outcome::Failed, e.to_string()),
        (_, Err(e)) => return (Outcome::Failed, e.to_string()),
    };
    let (image, digest) = parsed;
    let docker = match DockerConfig::load_from(docker_config) {
        Ok(docker) => docker,
        Err(e) => return (Outcome::Failed, e.to_string()),
    };
    let credentials = resolve_credentials(&image.registry, None, &docker);
    let undo = match RepoUndo::new(&image, credentials, plain_http) {
        Ok(undo) => undo,
        Err(e) => return (Outcome::Failed, e.to_string()),
    };
    let mut notes = Vec::new();
    let mut outcome = None;
    if let Some(TagWas { tag, before }) = tag {
        let undone = undo.undo_tag(tag, digest.as_str(), before.as_deref()).await;
        let (tag_outcome, note) = match undone {
            Ok(TagUndo::Restored) => {
                (Outcome::Restored, format!("tag {tag} names {} again", before.as_deref().unwrap_or_default()))
            }
            Ok(TagUndo::Removed) => (Outcome::Deleted, format!("tag {tag} removed")),
            Ok(TagUndo::Gone) => (Outcome::AlreadyGone, format!("tag {tag} is gone already")),
            Ok(TagUndo::Moved(now)) => {
                (Outcome::Kept, format!("tag {tag} names {now} now: moved since the drill, so left as it is"))
            }
            Ok(TagUndo::BeforeGone(before)) => (
                Outcome::Kept,
                format!("tag {tag} named {before} before the drill, which is no longer in the repository: it cannot be put back"),
            ),
            Ok(TagUndo::Unsupported(status)) => (
                Outcome::Kept,
                format!(
                    "the registry does not delete a tag alone (HTTP {status}): remove tag {tag} there by hand (on OCI: \
                     `oci artifacts container image remove-version`)"
                ),
            ),
            Err(e) => return (Outcome::Failed, format!("tag {tag} could not be put back: {e}")),
        };
        outcome = Some(tag_outcome);
        notes.push(note);
    }
    if manifest {
        outcome = Some(match undo.delete_image(&digest).await {
            Ok(true) => Outcome::Deleted,
            Ok(false) => Outcome::AlreadyGone,
            Err(e) => {
                notes.push(e.to_string());
                Outcome::Failed
            }
        });
    }
    // Then the platform manifests the copy wrote under an index: deleting the index left them.
    if manifest && outcome != Some(Outcome::Failed) {
        let mut gone = 0;
        for child in children {
            let deleted = match Digest::parse(child) {
                Ok(d) => undo.delete_image(&d).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match deleted {
                Ok(_) => gone += 1,
                Err(e) => {
                    notes.push(format!("platform manifest {child}: {e}"));
                    outcome = Some(Outcome::Failed);
                }
            }
        }
        if gone > 0 {
            notes.push(format!("{gone} platform manifest{} deleted with it", if gone == 1 { "" } else { "s" }));
        }
    }
    (outcome.unwrap_or(Outcome::Kept), notes.join("; "))
}

/// Counts of outcomes, for the summary line.
pub fn tally(results: &[ItemResult]) -> HashMap<&'static str, usize> {
    let mut counts = HashMap::new();
    for r in results {
        *counts.entry(r.outcome.as_str()).or_default() += 1;
    }
    counts
}

/// Whether what `item` removes may run `image`: a function whose recorded fields name it (the
/// registry host aside, which a regional endpoint may write differently), or anything whose
/// fields do not say.
fn runs_image(item: &super::plan::Undo, image: &str) -> bool {
    let UndoKind::Converge { with, .. } = &item.kind else { return true };
    let Some(runs) = with.get("fields").and_then(|f| f.get("image")).and_then(Value::as_str) else { return true };
    let path = |reference: &str| {
        let reference = reference.split('@').next().unwrap_or(reference);
        reference.split_once('/').map_or(reference, |(_, rest)| rest).to_owned()
    };
    path(runs) == path(image)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checkpoint::InstanceId;
    use crate::runbook::retry::RetryPolicy;

    /// What cleanup says of an unfinished task whose resource's name is taken by one on its
    /// way out: kept when another drill's or no drill's, gone when this drill's.
    #[test]
    fn a_resource_on_its_way_out_is_named_by_whose_it_is() {
        let item = Undo {
            id: InstanceId { task: "secrets".into(), key: Some("db".into()) },
            action: "oci.vault.secret".into(),
            kind: UndoKind::Unfinished { resource: "secret `db`".into(), with: json!({}), state: "in doubt".into() },
            after: Vec::new(),
            retry: RetryPolicy::default(),
        };
        let outputs = |tag: Option<&str>| -> crate::actions::Outputs {
            let mut body =
                json!({ "operation": "absent", "id": "ocid1.secret.x", "lifecycleState": "PENDING_DELETION" });
            if let Some(run) = tag {
                body["freeformTags"] = json!({ crate::actions::oci::converge::diff::DRILL_TAG: run });
            }
            body.as_object().cloned().unwrap_or_default()
        };
        let other = converge_result(&item, &outputs(Some("run-1")), 1, "run-2");
        assert_eq!(other.outcome, Outcome::Kept);
        assert_eq!(
            other.detail,
            "ocid1.secret.x is PENDING_DELETION and not this drill's (tagged by drill run run-1): left as it is"
        );
        assert_eq!(converge_result(&item, &outputs(None), 1, "run-2").outcome, Outcome::Kept);
        let own = converge_result(&item, &outputs(Some("run-2")), 1, "run-2");
        assert_eq!(
            (own.outcome, own.detail.as_str()),
            (Outcome::AlreadyGone, "ocid1.secret.x is PENDING_DELETION already")
        );
        let none =
            converge_result(&item, &json!({ "operation": "absent" }).as_object().cloned().unwrap_or_default(), 1, "r");
        assert_eq!(none.outcome, Outcome::AlreadyGone);
        assert!(none.detail.starts_with("none found"), "{}", none.detail);
    }
}
