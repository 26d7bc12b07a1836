//! What a drill's cleanup would undo, and in which order.
//!
//! Built from the run's checked runbook and its replayed journal only: it reads no cloud state
//! and changes nothing. An instance is undone when it succeeded and its outputs say this run
//! created something: a converge action (`oci.*`) with `operation: create` and an `id` (or
//! `restored: true`: brought back from a deletion scheduled by an earlier drill's cleanup; or
//! found carrying this run's drill tag: made by an attempt that did not see its end), or
//! a `registry.copy` whose destination did not have the image before. An instance of a
//! converge action that started and never succeeded may have created its resource before it
//! was cut short: it is looked for by name (see [`super::unfinished`]).

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::unfinished::RunInputs;
use crate::actions::ActionRegistry;
use crate::checkpoint::{AuditAction, InstanceId, Replay, TaskState};
use crate::runbook::checked::TaskIdx;
use crate::runbook::retry::RetryPolicy;
use crate::runbook::Runbook;

/// Everything a cleanup of one run would do.
#[derive(Debug, Clone, Serialize)]
pub struct CleanupPlan {
    pub run_id: String,
    pub items: Vec<Undo>,
}

/// One thing to undo.
#[derive(Debug, Clone, Serialize)]
pub struct Undo {
    pub id: InstanceId,
    /// The action that created it, and that removes it again.
    pub action: String,
    pub kind: UndoKind,
    /// Indices (into [`CleanupPlan::items`]) of items that depended on this one: each must be
    /// gone before this one is removed.
    pub after: Vec<usize>,
    #[serde(skip)]
    pub retry: RetryPolicy,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UndoKind {
    /// Run the converge action again with `with` (`ensure: absent`, addressed by id).
    Converge { resource: String, with: Value },
    /// Run the converge action with `with` (`ensure: absent`, found by name) for an instance
    /// that never finished: it removes the resource only if the drill created it.
    Unfinished { resource: String, with: Value, state: String },
    /// Undo a `registry.copy` at its destination `image`: put back the tag it wrote (`tag`),
    /// then delete the manifest `digest` if the copy wrote it (`manifest`).
    /// Manifests of an index the copy wrote (`children`) are deleted after it.
    Image {
        image: String,
        digest: String,
        plain_http: bool,
        manifest: bool,
        tag: Option<TagWas>,
        children: Vec<String>,
    },
    /// Shown in the plan, never touched, for the reason given.
    Keep { why: String },
    /// Removed by an earlier cleanup of the run (at `at`): never touched again, since whatever
    /// is there now was made, or brought back, since by another run.
    Removed { resource: String, at: u64 },
}

/// A tag a copy wrote, and the digest it named before (`None`: there was no such tag).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TagWas {
    pub tag: String,
    pub before: Option<String>,
}

impl UndoKind {
    /// What the item removes: a resource, or an image by digest; empty for what is kept.
    pub fn resource(&self) -> String {
        match self {
            UndoKind::Converge { resource, .. }
            | UndoKind::Unfinished { resource, .. }
            | UndoKind::Removed { resource, .. } => resource.clone(),
            UndoKind::Image { image, digest, manifest: true, .. } => format!("{image}@{digest}"),
            UndoKind::Image { image, .. } => image.clone(),
            UndoKind::Keep { .. } => String::new(),
        }
    }
}

impl Undo {
    /// What the plan shows for this item.
    pub fn describe(&self) -> String {
        match &self.kind {
            UndoKind::Converge { resource, with } => {
                let region = with.get("region").and_then(Value::as_str).unwrap_or("?");
                format!("delete {resource} in {region} ({} {})", self.action, self.id)
            }
            UndoKind::Unfinished { resource, state, .. } => format!(
                "delete {resource} if the drill created it ({} {} is {state}: it may have created it before it stopped)",
                self.action, self.id
            ),
            UndoKind::Image { image, digest, manifest, tag, children, .. } => {
                let by = format!("{} {}", self.action, self.id);
                match (manifest, tag) {
                    (true, Some(TagWas { tag, before: Some(before) })) => {
                        format!("put tag {tag} back on {before}, then delete {image}@{digest} ({by})")
                    }
                    (true, _) if children.is_empty() => format!("delete {image}@{digest} ({by})"),
                    (true, _) => format!(
                        "delete {image}@{digest} and the {} platform manifest{} the copy wrote under it ({by})",
                        children.len(),
                        if children.len() == 1 { "" } else { "s" }
                    ),
                    (false, Some(TagWas { before: Some(before), .. })) => {
                        format!("put {image} back on {before}; the copy moved it to {digest}, which stays ({by})")
                    }
                    (false, _) => format!(
                        "remove the tag {image}; the copy put it on {digest}, which the destination held before and \
                         which stays ({by})"
                    ),
                }
            }
            UndoKind::Keep { why } => format!("keep ({} {}): {why}", self.action, self.id),
            UndoKind::Removed { resource, at } => {
                format!("already removed {resource} ({} {}) by the cleanup at {}", self.action, self.id, when(*at))
            }
        }
    }
}

/// A moment as the plan shows it.
fn when(at: u64) -> String {
    crate::report::timestamp_utc_seconds(at)
}

/// What a cleanup needs to know about a run besides its journal.
pub struct RunFacts<'a> {
    pub run_id: &'a str,
    pub runbook: &'a Runbook,
    pub replay: &'a Replay,
    /// The actions (to look for what unfinished instances created).
    pub actions: &'a ActionRegistry,
    /// The run's parameters as its metadata keeps them, secrets masked.
    pub params: &'a Map<String, Value>,
}

/// Plans the cleanup of a run.
pub fn plan(facts: &RunFacts<'_>) -> CleanupPlan {
    let RunFacts { run_id, runbook, replay, .. } = *facts;
    let mut inputs = None;
    let mut items = Vec::new();
    let mut tasks: Vec<TaskIdx> = Vec::new();
    for id in &replay.order {
        let Some(t) = runbook.task_index(&id.task) else { continue };
        let Some(rec) = replay.instance(id) else { continue };
        let task = &runbook.tasks[t];
        let kind = match rec.state {
            TaskState::Succeeded => undo_kind(run_id, &task.uses, &rec.outputs),
            _ if rec.first_start.is_some() => {
                let inputs = inputs.get_or_insert_with(|| RunInputs::new(run_id, runbook, replay, facts.params, true));
                unfinished(facts, inputs, t, id, rec.state)
            }
            _ => None,
        };
        let Some(mut kind) = kind else { continue };
        // A cleanup run again leaves what an earlier one removed after the instance ended.
        // What an earlier cleanup found gone is looked for again (by its id, and removed only
        // if it carries this drill's tag): that cleanup may have asked the wrong place, and
        // for an unfinished instance a create still in flight may have finished since. An
        // image found gone is not: a later run may have pushed the same digest.
        let done: &[&str] = match kind {
            UndoKind::Image { .. } => &["deleted ", "restored ", "already gone ", "done earlier "],
            _ => &["deleted ", "done earlier "],
        };
        let removed = replay.audit.iter().rev().find(|a| {
            a.action == AuditAction::Cleanup
                && a.task.as_ref() == Some(id)
                && a.at >= rec.end.unwrap_or(0)
                && done.iter().any(|p| a.reason.starts_with(p))
        });
        if let Some(earlier) = removed {
            kind = UndoKind::Removed { resource: kind.resource(), at: earlier.at };
        }
        items.push(Undo {
            id: id.clone(),
            action: task.uses.clone(),
            kind,
            after: Vec::new(),
            retry: task.retry.clone(),
        });
        tasks.push(t);
    }
    // An image found already there may have been put there by another copy of this drill
    // (two functions running one image): that copy removes it, and the reason says so.
    for i in 0..items.len() {
        if items[i].action != "registry.copy" || !matches!(items[i].kind, UndoKind::Keep { .. }) {
            continue;
        }
        let Some(outputs) = replay.instance(&items[i].id).map(|r| &r.outputs) else { continue };
        let (Some(image), Some(digest)) =
            (outputs.get("image").and_then(Value::as_str), outputs.get("digest").and_then(Value::as_str))
        else {
            continue;
        };
        let copier = items.iter().find(
            |other| matches!(&other.kind, UndoKind::Image { image: i2, digest: d2, manifest: true, .. } if i2 == image && d2 == digest),
        );
        if let Some(copier) = copier {
            let why = format!("{image} was copied by {} of this drill, which removes it", copier.id);
            items[i].kind = UndoKind::Keep { why };
        }
    }
    let ancestors = ancestors(runbook);
    for i in 0..items.len() {
        items[i].after = (0..items.len()).filter(|&j| tasks[j] != tasks[i] && ancestors[tasks[j]][tasks[i]]).collect();
    }
    CleanupPlan { run_id: run_id.to_owned(), items }
}

/// What undoing an instance that started and never succeeded means, if anything: looking for
/// what it may have created by name, when its action creates anything.
fn unfinished(
    facts: &RunFacts<'_>,
    inputs: &RunInputs<'_>,
    t: TaskIdx,
    id: &InstanceId,
    state: TaskState,
) -> Option<UndoKind> {
    let task = &facts.runbook.tasks[t];
    let action = facts.actions.get(&task.uses)?;
    // `None` whatever the inputs: the action creates nothing to look for.
    let _ = action.removal_by_name(&Value::Null)?;
    let state = match state {
        TaskState::Running => "in doubt".to_owned(),
        TaskState::Pending => "unfinished".to_owned(),
        s => s.as_str().to_owned(),
    };
    let unknown = |why: String| UndoKind::Keep {
        why: format!(
            "it is {state} and may have created its resource, but {why}: look for one tagged {}={}",
            crate::actions::oci::converge::diff::DRILL_TAG,
            facts.run_id
        ),
    };
    let (with, unresolved) = match inputs.of(t, id.key.as_deref()) {
        Ok(found) => found,
        Err(why) => return Some(unknown(why)),
    };
    Some(match action.removal_by_name(&with)? {
        // A value the run directory keeps masked would find the wrong resource, or none.
        Ok((_, with)) if crate::ui::redact::holds_mask(&with) => unknown("what names it is kept masked".into()),
        Ok((resource, with)) => UndoKind::Unfinished { resource, with, state },
        Err(why) if unresolved.is_empty() => unknown(why),
        Err(why) => unknown(format!("{why} ({})", unresolved.join("; "))),
    })
}

/// What undoing one succeeded instance means, if anything.
fn undo_kind(run_id: &str, uses: &str, outputs: &Map<String, Value>) -> Option<UndoKind> {
    if uses.starts_with("oci.") {
        let id = outputs.get("id").and_then(Value::as_str)?;
        // Created by this run, or brought back by it from a deletion an earlier cleanup
        // scheduled: either way the drill found it absent.
        let created = outputs.get("operation").and_then(Value::as_str) == Some("create");
        let restored = outputs.get("restored").and_then(Value::as_bool) == Some(true);
        // Found already there, carrying this run's tag: an attempt cut short by a crash, or
        // one whose create's answer was lost, made it before the attempt that succeeded.
        let tagged = outputs
            .get("freeformTags")
            .and_then(|tags| tags.get(crate::actions::oci::converge::diff::DRILL_TAG))
            .and_then(Value::as_str)
            == Some(run_id);
        if !created && !restored && !tagged {
            return None;
        }
        let with = json!({
            "ensure": "absent",
            "region": outputs.get("region").cloned().unwrap_or(Value::Null),
            "id": id,
            "fields": Value::Object(outputs.clone()),
        });
        return Some(UndoKind::Converge { resource: id.to_owned(), with });
    }
    if uses == "registry.copy" {
        let image = outputs.get("image").and_then(Value::as_str)?;
        let digest = outputs.get("digest").and_then(Value::as_str)?;
        let plain_http = outputs.get("plain_http").and_then(Value::as_bool).unwrap_or(false);
        // The tag the copy put on the image, if it did (an older drctl did not record it).
        let tag = outputs
            .get("tag_written")
            .and_then(Value::as_bool)
            .filter(|&written| written)
            .and_then(|_| image.parse::<crate::registry::ImageRef>().ok()?.tag)
            .map(|tag| TagWas { tag, before: outputs.get("tag_before").and_then(Value::as_str).map(str::to_owned) });
        let children: Vec<String> = outputs
            .get("children_written")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str().map(str::to_owned))
            .collect();
        let undo = |manifest: bool, tag| UndoKind::Image {
            image: image.to_owned(),
            digest: digest.to_owned(),
            plain_http,
            manifest,
            tag,
            children: if manifest { children.clone() } else { Vec::new() },
        };
        return Some(match (outputs.get("existed").and_then(Value::as_bool), tag) {
            // A tag that was new goes with the manifest; one the copy moved is put back first.
            (Some(false), tag) => undo(true, tag.filter(|t| t.before.is_some())),
            (Some(true), Some(tag)) => undo(false, Some(tag)),
            (Some(true), None) => {
                UndoKind::Keep { why: format!("{image} was already in the destination before the drill") }
            }
            (None, _) => UndoKind::Keep {
                why: format!("{image}: the run did not record whether it wrote the image (copied by an older drctl)"),
            },
        });
    }
    None
}

/// `ancestors[a][b]`: task `b` is a dependency of `a`, directly or through other tasks, but
/// not through an approval: a task that waits for a person's decision does not use what came
/// before the decision, and a removal stuck after the gate must not hold up everything before it.
fn ancestors(runbook: &Runbook) -> Vec<Vec<bool>> {
    let n = runbook.tasks.len();
    let mut out = vec![vec![false; n]; n];
    for (start, reach) in out.iter_mut().enumerate() {
        let mut stack: Vec<TaskIdx> = runbook.tasks[start].deps.iter().map(|d| d.task).collect();
        while let Some(t) = stack.pop() {
            if !reach[t] {
                reach[t] = true;
                if runbook.tasks[t].uses != "approval" {
                    stack.extend(runbook.tasks[t].deps.iter().map(|d| d.task));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn removals_are_not_ordered_through_an_approval() {
        let text = r#"version: 1
name: t
tasks:
  a: { uses: shell, with: { run: 'true' } }
  gate: { uses: approval, depends_on: [a], with: { message: go } }
  b: { uses: shell, depends_on: [gate], with: { run: 'true' } }
  c: { uses: shell, depends_on: [b], with: { run: 'true' } }
"#;
        let runbook = crate::runbook::load("t.yaml", text, &crate::actions::builtin()).expect("loads");
        let at = |id: &str| runbook.tasks.iter().position(|t| t.id == id).expect("task");
        let ancestors = super::ancestors(&runbook);
        assert!(ancestors[at("c")][at("b")] && ancestors[at("c")][at("gate")]);
        assert!(!ancestors[at("c")][at("a")] && !ancestors[at("b")][at("a")]);
        assert!(ancestors[at("gate")][at("a")]);
    }
}
