//! `drctl cleanup` of a drill: a fake converge action, registered through the library API,
//! records every call, so the order, the exact `with`, `only_tagged` and a rerun's idempotency
//! can be checked; `registry.copy` copies are undone against a real local registry.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drctl::actions::{Action, ActionContext, ActionError, ActionRegistry, BoxFuture, ErrorClass, Outputs};
use drctl::checkpoint::record::now_millis;
use drctl::checkpoint::{Actor, Replay, RunDir, RunMeta};
use drctl::cleanup::{self, CleanupError, Outcome};
use drctl::engine::{self, EngineConfig, Silent};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

/// One call to the fake: which instance, with what, and when it started and ended (a counter).
#[derive(Debug, Clone)]
struct Call {
    instance: String,
    with: Value,
    drill: bool,
    only_tagged: Option<String>,
    start: usize,
    end: usize,
}

/// A converge action over an in-memory cloud: creates on `ensure: present` (tagging with the
/// run id in a drill), deletes on `ensure: absent` when the tag matches `only_tagged`.
#[derive(Default)]
struct FakeCloud {
    calls: Mutex<Vec<Call>>,
    clock: Mutex<usize>,
    /// OCID → drill tag.
    resources: Mutex<BTreeMap<String, Option<String>>>,
    /// OCIDs whose deletion fails.
    broken: Mutex<Vec<String>>,
}

impl FakeCloud {
    fn tick(&self) -> usize {
        let mut c = self.clock.lock().unwrap();
        *c += 1;
        *c
    }

    fn absent(&self, ctx: &ActionContext, with: &Value) -> Result<Outputs, ActionError> {
        let id = with["id"].as_str().unwrap_or_default().to_owned();
        if self.broken.lock().unwrap().contains(&id) {
            return Err(ActionError::fatal(ErrorClass::HttpStatus(409), format!("{id} is still in use")));
        }
        let mut resources = self.resources.lock().unwrap();
        let operation = match resources.get(&id) {
            None => "absent",
            Some(tag) if tag.as_ref() == ctx.only_tagged.as_ref() => {
                resources.remove(&id);
                "delete"
            }
            Some(_) => "kept",
        };
        let mut out = Outputs::new();
        out.insert("operation".into(), json!(operation));
        Ok(out)
    }

    fn present(&self, ctx: &ActionContext, with: &Value) -> Outputs {
        let name = with["displayName"].as_str().unwrap_or_default();
        let id = format!("ocid1.{}.{name}", ctx.task_id);
        let mut resources = self.resources.lock().unwrap();
        let operation = if with.get("existing").is_some() {
            "none"
        } else {
            resources.insert(id.clone(), ctx.drill.then(|| ctx.run_id.clone()));
            "create"
        };
        let mut out = Outputs::new();
        out.insert("id".into(), json!(id));
        out.insert("displayName".into(), json!(name));
        out.insert("lifecycleState".into(), json!("AVAILABLE"));
        out.insert("region".into(), with["region"].clone());
        out.insert("changed".into(), json!(operation == "create"));
        out.insert("operation".into(), json!(operation));
        out
    }
}

struct Fake(Arc<FakeCloud>);

impl Action for Fake {
    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let start = self.0.tick();
            // Long enough for removals that may overlap to overlap.
            tokio::time::sleep(Duration::from_millis(30)).await;
            let result =
                if with["ensure"] == "absent" { self.0.absent(ctx, &with) } else { Ok(self.0.present(ctx, &with)) };
            let end = self.0.tick();
            let instance = match &ctx.instance_key {
                Some(k) => format!("{}[{k}]", ctx.task_id),
                None => ctx.task_id.clone(),
            };
            self.0.calls.lock().unwrap().push(Call {
                instance,
                with,
                drill: ctx.drill,
                only_tagged: ctx.only_tagged.clone(),
                start,
                end,
            });
            result
        })
    }
}

const RUNBOOK: &str = r#"version: 1
name: drill
tasks:
  vcn:
    uses: oci.core.vcn
    with: { region: us-phoenix-1, displayName: net }
  subnet:
    uses: oci.core.subnet
    with: { region: us-phoenix-1, displayName: sub, vcnId: "${{ tasks.vcn.outputs.id }}" }
  marker:
    uses: shell
    depends_on: [subnet]
    with: { run: 'true' }
  app:
    uses: oci.functions.application
    depends_on: [marker]
    with: { region: us-phoenix-1, displayName: orders }
  fn:
    uses: oci.functions.function
    for_each: [validate, ship]
    with: { region: us-phoenix-1, displayName: "${{ each }}", applicationId: "${{ tasks.app.outputs.id }}" }
  shared:
    uses: oci.core.vcn
    with: { region: us-phoenix-1, displayName: shared, existing: true }
"#;

fn registry(cloud: &Arc<FakeCloud>) -> ActionRegistry {
    let mut actions = drctl::actions::builtin();
    for name in ["oci.core.vcn", "oci.core.subnet", "oci.functions.application", "oci.functions.function"] {
        actions.register(name, Arc::new(Fake(cloud.clone())));
    }
    actions
}

/// Runs the runbook through the engine in a new run directory.
async fn run(state: &std::path::Path, actions: &ActionRegistry, drill: bool) -> RunDir {
    let runbook = Arc::new(drctl::runbook::load("rb.yaml", RUNBOOK, actions).expect("runbook loads"));
    let meta = RunMeta {
        work_dir: None,
        run_id: drctl::checkpoint::new_run_id(),
        runbook_name: runbook.name.clone(),
        runbook_path: state.join("rb.yaml").display().to_string(),
        runbook_sha256: runbook.source.sha256.clone(),
        params: Default::default(),
        secret_params: Vec::new(),
        created_at: now_millis(),
        actor: Actor::current(),
        drill,
        parallelism: Some(4),
        rto_ms: None,
        drctl_version: "test".into(),
        sim: None,
        params_file: None,
        flag_params: Vec::new(),
        oci: None,
    };
    let dir = RunDir::create(state, &meta, RUNBOOK).unwrap();
    let journal = dir.open_journal().unwrap();
    let cfg = EngineConfig {
        work_dir: None,
        runbook,
        params: json!({}),
        actions: actions.clone(),
        run_dir: dir.clone(),
        journal,
        redactor: drctl::ui::redact::Redactor::new(),
        observer: Arc::new(Silent),
        approver: None,
        parallelism: 4,
        approve_all: false,
        drill,
        created_at: meta.created_at,
        stop: CancellationToken::new(),
        stop_attempts: CancellationToken::new(),
        kill: CancellationToken::new(),
    };
    let outcome = engine::execute(cfg, Replay::default(), false).await.unwrap();
    assert_eq!(outcome.state, drctl::checkpoint::RunState::Succeeded, "{outcome:?}");
    dir
}

fn outcomes(results: &[cleanup::ItemResult]) -> BTreeMap<String, Outcome> {
    results.iter().map(|r| (r.instance.clone(), r.outcome)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_removes_what_the_drill_created_dependents_first_and_a_rerun_changes_nothing() {
    let state = tempfile::tempdir().unwrap();
    let cloud = Arc::new(FakeCloud::default());
    let actions = registry(&cloud);
    let dir = run(state.path(), &actions, true).await;
    let created = cloud.calls.lock().unwrap().drain(..).collect::<Vec<_>>();
    assert!(created.iter().all(|c| c.drill && c.only_tagged.is_none()), "{created:?}");
    assert_eq!(cloud.resources.lock().unwrap().len(), 5);

    let prepared = cleanup::prepare(&dir, actions.clone(), false).unwrap().0;
    let planned: Vec<String> = prepared.plan.items.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(planned.len(), 5, "the pre-existing `shared` VCN and the shell task are not in the plan: {planned:?}");
    assert!(!planned.contains(&"shared".to_owned()) && !planned.contains(&"marker".to_owned()));
    let report = prepared.execute(4, CancellationToken::new(), None).await.unwrap();
    assert!(!report.failed());
    let expected: BTreeMap<String, Outcome> = ["vcn", "subnet", "app", "fn[validate]", "fn[ship]"]
        .iter()
        .map(|i| (i.to_string(), Outcome::Deleted))
        .collect();
    assert_eq!(outcomes(&report.results), expected);
    assert!(cloud.resources.lock().unwrap().is_empty());

    let calls: BTreeMap<String, Call> =
        cloud.calls.lock().unwrap().drain(..).map(|c| (c.instance.clone(), c)).collect();
    assert_eq!(calls.len(), 5);
    for c in calls.values() {
        assert_eq!(c.only_tagged.as_deref(), Some(dir.id.as_str()), "{c:?}");
    }
    // Reverse dependency order: each removal starts after everything that depended on it ended.
    let before = |a: &str, b: &str| calls[a].end < calls[b].start;
    assert!(before("fn[validate]", "app") && before("fn[ship]", "app"), "{calls:?}");
    assert!(before("app", "subnet"), "through the shell task in between: {calls:?}");
    assert!(before("subnet", "vcn"), "{calls:?}");
    assert!(calls["fn[ship]"].start < calls["fn[validate]"].end, "instances of one task are removed in parallel");
    // The exact inputs: ensure absent, the region and id, and the outputs as fields.
    assert_eq!(
        calls["vcn"].with,
        json!({
            "ensure": "absent",
            "region": "us-phoenix-1",
            "id": "ocid1.vcn.net",
            "fields": {
                "id": "ocid1.vcn.net",
                "displayName": "net",
                "lifecycleState": "AVAILABLE",
                "region": "us-phoenix-1",
                "changed": true,
                "operation": "create"
            }
        })
    );

    let saved: Value = serde_json::from_slice(&std::fs::read(dir.path.join("cleanup.json")).unwrap()).unwrap();
    assert_eq!(saved["run_id"], dir.id.as_str());
    assert_eq!(saved["results"].as_array().unwrap().len(), 5);
    assert!(saved["by"]["user"].as_str().is_some_and(|u| !u.is_empty()));
    let audit = dir.replay().unwrap().audit;
    let entries: Vec<&str> = audit.iter().map(|a| a.reason.as_str()).collect();
    assert_eq!(audit.len(), 6, "{entries:?}");
    assert_eq!(entries[0], "started: 5 to undo");
    assert!(entries.contains(&"deleted ocid1.vcn.net"), "{entries:?}");

    // A rerun finds everything gone and removes nothing.
    let again = cleanup::prepare(&dir, actions.clone(), false)
        .unwrap()
        .0
        .execute(4, CancellationToken::new(), None)
        .await
        .unwrap();
    assert!(!again.failed());
    assert!(again.results.iter().all(|r| r.outcome == Outcome::DoneEarlier), "{:?}", again.results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_removal_blocks_what_it_depends_on_and_resources_not_tagged_are_kept() {
    let state = tempfile::tempdir().unwrap();
    let cloud = Arc::new(FakeCloud::default());
    let actions = registry(&cloud);
    let dir = run(state.path(), &actions, true).await;
    cloud.broken.lock().unwrap().push("ocid1.app.orders".into());
    // Someone took the VCN over: its drill tag is gone.
    cloud.resources.lock().unwrap().insert("ocid1.vcn.net".into(), None);

    let report = cleanup::prepare(&dir, actions.clone(), false)
        .unwrap()
        .0
        .execute(4, CancellationToken::new(), None)
        .await
        .unwrap();
    assert!(report.failed());
    let got = outcomes(&report.results);
    assert_eq!(got["fn[validate]"], Outcome::Deleted);
    assert_eq!(got["app"], Outcome::Failed);
    assert_eq!(got["subnet"], Outcome::Blocked);
    assert_eq!(got["vcn"], Outcome::Blocked);
    let app = report.results.iter().find(|r| r.instance == "app").unwrap();
    assert_eq!(app.detail, "ocid1.app.orders is still in use");

    cloud.broken.lock().unwrap().clear();
    let again = cleanup::prepare(&dir, actions.clone(), false)
        .unwrap()
        .0
        .execute(4, CancellationToken::new(), None)
        .await
        .unwrap();
    let got = outcomes(&again.results);
    assert_eq!(got["fn[validate]"], Outcome::DoneEarlier);
    assert_eq!(got["app"], Outcome::Deleted);
    assert_eq!(got["subnet"], Outcome::Deleted);
    assert_eq!(got["vcn"], Outcome::Kept);
    assert!(!again.failed());
    assert_eq!(cloud.resources.lock().unwrap().keys().collect::<Vec<_>>(), vec!["ocid1.vcn.net"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_is_not_a_drill_is_refused() {
    let state = tempfile::tempdir().unwrap();
    let cloud = Arc::new(FakeCloud::default());
    let actions = registry(&cloud);
    let dir = run(state.path(), &actions, false).await;
    match cleanup::prepare(&dir, actions, false) {
        Err(CleanupError::NotADrill { run_id }) => assert_eq!(run_id, dir.id),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a run that is not a drill was accepted"),
    }
    assert_eq!(cloud.resources.lock().unwrap().len(), 5, "nothing removed");
}

/// A sandbox whose endpoints file puts Phoenix's registry at `host` (plain HTTP).
fn phoenix_at(host: &str) -> support::Sandbox {
    let sb = support::Sandbox::new();
    sb.write("endpoints.json", &format!(r#"{{"us-phoenix-1": "http://{host}"}}"#));
    sb
}

/// A runbook `name` whose tasks copy Phoenix's `src/app:1.0` into each `(task, repository)`.
fn copies(name: &str, tasks: &[(&str, &str)]) -> String {
    let mut text = format!("version: 1\nname: {name}\ntasks:\n");
    for (task, dest) in tasks {
        text.push_str(&format!(
            "  {task}:\n    uses: registry.copy\n    with:\n      source: {{ region: us-phoenix-1, repository: src/app, tag: \"1.0\" }}\n      destination: {{ region: us-phoenix-1, repository: {dest} }}\n"
        ));
    }
    text
}

/// Through the binary: a drill copies one image into a repository that lacks it and one into
/// a repository that already has it; cleanup deletes only the first, and a rerun finds it gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_deletes_only_images_the_drill_wrote() {
    use support::registry::*;
    let Some(reg) = start_registry() else { return };
    let http = reqwest::Client::new();
    push_image(&reg.host(), "src/app", "1.0", &[20_000], 11).await;
    push_image(&reg.host(), "there/app", "1.0", &[20_000], 11).await;
    let sb = phoenix_at(&reg.host());
    sb.write("rb.yaml", &copies("images", &[("fresh", "new/app"), ("known", "there/app")]));
    let drill = sb.run(&["run", "rb.yaml", "--drill", "--endpoints", "endpoints.json"]);
    assert_eq!(drill.code, 0, "{}", drill.stderr);
    let id = drill.run_id();
    assert!(get_manifest(&http, &reg.host(), "new/app", "1.0").await.is_some());

    let dry = sb.run(&["cleanup", &id, "--dry-run", "--endpoints", "endpoints.json"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains(&format!("delete {}/new/app:1.0@sha256:", reg.host())), "{}", dry.stdout);
    assert!(dry.stdout.contains("keep (registry.copy known)"), "{}", dry.stdout);
    let no_tty = sb.run(&["cleanup", &id]);
    assert_eq!(no_tty.code, 2, "without a terminal cleanup needs --yes: {}", no_tty.stderr);
    assert!(
        get_manifest(&http, &reg.host(), "new/app", "1.0").await.is_some(),
        "a dry run and a refusal remove nothing"
    );

    let done = sb.run(&["cleanup", &id, "--yes"]);
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    assert!(done.stdout.contains("deleted       fresh"), "{}", done.stdout);
    assert!(done.stdout.contains("kept          known"), "{}", done.stdout);
    assert_eq!(get_manifest(&http, &reg.host(), "new/app", "1.0").await, None);
    assert!(get_manifest(&http, &reg.host(), "there/app", "1.0").await.is_some());
    assert!(get_manifest(&http, &reg.host(), "src/app", "1.0").await.is_some());

    let again = sb.run(&["cleanup", &id, "--yes"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("done earlier  fresh"), "{}", again.stdout);
    let status = sb.status(&id);
    let cleanups = status["audit"].as_array().unwrap().iter().filter(|a| a["action"] == "cleanup").count();
    assert_eq!(cleanups, 6, "two cleanups, each in the audit log as it starts and for each of the two items");

    sb.write("plain.yaml", "version: 1\nname: plain\ntasks:\n  t: { uses: shell, with: { run: 'true' } }\n");
    let plain = sb.run(&["run", "plain.yaml"]);
    let refused = sb.run(&["cleanup", &plain.run_id(), "--yes"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("is not a drill"), "{}", refused.stderr);
}

/// A drill paused at an approval, then cleaned up, cannot be continued: its outputs name what
/// the cleanup removed. Cleanup says so first; approve and resume refuse, recording nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_that_was_cleaned_up_cannot_go_on() {
    use support::registry::*;
    let Some(reg) = start_registry() else { return };
    push_image(&reg.host(), "src/app", "1.0", &[20_000], 11).await;
    let sb = phoenix_at(&reg.host());
    let mut text = copies("gated", &[("fresh", "new/app")]);
    text.push_str("  gate:\n    uses: approval\n    depends_on: [fresh]\n    with: { message: cut over? }\n");
    text.push_str("  after:\n    uses: shell\n    depends_on: [gate]\n    with: { run: 'true' }\n");
    sb.write("rb.yaml", &text);
    let drill = sb.run(&["run", "rb.yaml", "--drill", "--endpoints", "endpoints.json"]);
    assert_eq!(drill.code, 3, "paused at the approval: {}", drill.stderr);
    let id = drill.run_id();
    let done = sb.run(&["cleanup", &id, "--yes"]);
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    assert!(
        done.stderr.contains(&format!("note: run {id} is paused; once cleaned up, it cannot be resumed")),
        "{}",
        done.stderr
    );
    let before = sb.read(&format!(".drctl/runs/{id}/journal.log"));
    for args in [vec!["approve", &id, "gate", "--reason", "go"], vec!["resume", &id]] {
        let refused = sb.run(&args);
        assert_eq!(refused.code, 2, "{args:?}: {}", refused.stderr);
        assert!(refused.stderr.contains(&format!("run {id} was cleaned up (")), "{}", refused.stderr);
        assert!(refused.stderr.contains("start a new drill: drctl run /"), "{}", refused.stderr);
        assert!(refused.stderr.contains("/rb.yaml --drill"), "{}", refused.stderr);
    }
    assert_eq!(sb.read(&format!(".drctl/runs/{id}/journal.log")), before, "nothing recorded");
    assert_eq!(sb.task_states(&id)["after"].0, "pending");
}

/// Two copies of one image in one drill: the second finds it already there. Its reason names
/// the copy of this drill that put it there, which removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_copy_of_an_image_in_one_drill_names_the_first() {
    use support::registry::*;
    let Some(reg) = start_registry() else { return };
    push_image(&reg.host(), "src/app", "1.0", &[20_000], 11).await;
    let sb = phoenix_at(&reg.host());
    let copy = |name: &str, after: &str| {
        format!(
            "  {name}:\n    uses: registry.copy\n    depends_on: [{after}]\n    with:\n      source: {{ region: us-phoenix-1, repository: src/app, tag: \"1.0\" }}\n      destination: {{ region: us-phoenix-1, repository: new/app }}\n"
        )
    };
    sb.write("rb.yaml", &format!("version: 1\nname: twins\ntasks:\n{}{}", copy("first", ""), copy("second", "first")));
    let drill = sb.run(&["run", "rb.yaml", "--drill", "--endpoints", "endpoints.json"]);
    assert_eq!(drill.code, 0, "{}", drill.stderr);
    let dry = sb.run(&["cleanup", &drill.run_id(), "--dry-run", "--endpoints", "endpoints.json"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("new/app:1.0 was copied by first of this drill, which removes it"), "{}", dry.stdout);
    assert!(!dry.stdout.contains("before the drill"), "{}", dry.stdout);
}

/// A drill's copy moved a tag the destination had (onto the drill's image), and put a new tag
/// on an image the destination held under another: cleanup puts the moved tag back on its
/// earlier image before deleting the drill's, and removes the new tag where the registry
/// deletes tags alone (the Distribution API 1.1), or keeps it and says how to remove it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_puts_back_the_tags_a_drill_moved() {
    use support::registry::*;
    let Some(reg) = start_registry() else { return };
    let http = reqwest::Client::new();
    let digest = |bytes: &[u8]| format!("sha256:{}", drctl::hash::sha256_hex(bytes));
    push_image(&reg.host(), "src/app", "1.0", &[20_000], 11).await;
    let source = digest(&get_manifest(&http, &reg.host(), "src/app", "1.0").await.unwrap());
    // An older build under the same tag, and the drill's image under another tag.
    push_image(&reg.host(), "moved/app", "1.0", &[20_000], 12).await;
    let older = digest(&get_manifest(&http, &reg.host(), "moved/app", "1.0").await.unwrap());
    push_image(&reg.host(), "held/app", "other", &[20_000], 11).await;
    let sb = phoenix_at(&reg.host());
    sb.write("rb.yaml", &copies("tags", &[("moved", "moved/app"), ("held", "held/app")]));
    let drill = sb.run(&["run", "rb.yaml", "--drill", "--endpoints", "endpoints.json"]);
    assert_eq!(drill.code, 0, "{}", drill.stderr);
    let id = drill.run_id();
    assert_eq!(digest(&get_manifest(&http, &reg.host(), "moved/app", "1.0").await.unwrap()), source);
    assert_eq!(digest(&get_manifest(&http, &reg.host(), "held/app", "1.0").await.unwrap()), source);

    let dry = sb.run(&["cleanup", &id, "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains(&format!("put tag 1.0 back on {older}, then delete")), "{}", dry.stdout);
    assert!(dry.stdout.contains(&format!("remove the tag {}/held/app:1.0", reg.host())), "{}", dry.stdout);

    let done = sb.run(&["cleanup", &id, "--yes"]);
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    assert!(done.stdout.contains("deleted       moved"), "{}", done.stdout);
    assert!(done.stdout.contains(&format!("tag 1.0 names {older} again")), "{}", done.stdout);
    assert_eq!(digest(&get_manifest(&http, &reg.host(), "moved/app", "1.0").await.unwrap()), older);
    assert_eq!(get_manifest(&http, &reg.host(), "moved/app", &source).await, None, "the drill's image is gone");
    // The held image stays under its own tag, whatever became of the drill's.
    assert!(get_manifest(&http, &reg.host(), "held/app", "other").await.is_some());
    let held = done.stdout.lines().find(|l| l.split_whitespace().nth(1) == Some("held")).unwrap_or_default().to_owned();
    match get_manifest(&http, &reg.host(), "held/app", "1.0").await {
        None => assert!(held.starts_with("deleted"), "{}", done.stdout),
        Some(_) => assert!(
            held.starts_with("kept") && held.contains("does not delete a tag alone") && held.contains("remove tag 1.0"),
            "{}",
            done.stdout
        ),
    }
}

/// A drill copied a multi-platform image (an index) into a repository that lacked it: cleanup
/// deletes the index and the platform manifests the copy wrote under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_of_an_index_deletes_its_platform_manifests_too() {
    use support::registry::*;
    let Some(reg) = start_registry() else { return };
    let http = reqwest::Client::new();
    let amd = push_image_typed(&reg.host(), "src/multi", "amd64", &[4096], 21, "amd64", true).await;
    let arm = push_image_typed(&reg.host(), "src/multi", "arm64", &[4096], 22, "arm64", true).await;
    push_index(&reg.host(), "src/multi", "1.0", &[(&amd, "linux/amd64"), (&arm, "linux/arm64")]).await;
    let sb = phoenix_at(&reg.host());
    sb.write(
        "rb.yaml",
        "version: 1\nname: multi\ntasks:\n  copy:\n    uses: registry.copy\n    with:\n      source: { region: us-phoenix-1, repository: src/multi, tag: \"1.0\" }\n      destination: { region: us-phoenix-1, repository: dr/multi }\n",
    );
    let drill = sb.run(&["run", "rb.yaml", "--drill", "--endpoints", "endpoints.json"]);
    assert_eq!(drill.code, 0, "{}", drill.stderr);
    for child in [&amd.digest, &arm.digest] {
        assert!(get_manifest(&http, &reg.host(), "dr/multi", child).await.is_some());
    }
    let dry = sb.run(&["cleanup", &drill.run_id(), "--dry-run"]);
    assert!(dry.stdout.contains("and the 2 platform manifests the copy wrote under it"), "{}", dry.stdout);
    let done = sb.run(&["cleanup", &drill.run_id(), "--yes"]);
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    assert!(done.stdout.contains("2 platform manifests deleted with it"), "{}", done.stdout);
    assert_eq!(get_manifest(&http, &reg.host(), "dr/multi", "1.0").await, None);
    for child in [&amd.digest, &arm.digest] {
        assert_eq!(get_manifest(&http, &reg.host(), "dr/multi", child).await, None, "{child} left behind");
        assert!(get_manifest(&http, &reg.host(), "src/multi", child).await.is_some(), "the source keeps {child}");
    }
}
