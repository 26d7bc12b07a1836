//! The OCI Functions failover end to end: `runbooks/oci-functions-failover.yaml` run by the
//! real `drctl` against a `drctl sim` process seeded from `examples/orders-api/inventory.yaml`
//! (us-ashburn-1 → us-phoenix-1). Each test has its own simulator on its own ports, so they
//! run in parallel. What the destination must hold is derived from the inventory file.

mod failover_support;
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use failover_support::{
    converge_instances, expected_images, expected_resources, inventory, resources_by_name, World, DEST, SOURCE,
};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Resources of the kinds a failover writes are all in their working state.
fn assert_all_live(dump: &Value) {
    for (_, _, kind, _) in failover_support::CONVERGE {
        for r in dump[kind].as_array().into_iter().flatten() {
            let state = r["lifecycleState"].as_str().unwrap_or_default();
            assert!(matches!(state, "ACTIVE" | "AVAILABLE" | "ENABLED"), "{kind} {} is {state}", r["id"]);
        }
    }
}

/// The destination holds one of every inventory resource, live, and the function images.
fn assert_destination_complete(w: &World, dump: &Value) {
    assert_eq!(resources_by_name(dump), expected_resources());
    assert_all_live(dump);
    assert_eq!(w.images(dump), expected_images());
    // Functions run the copied images: the destination's OCIR host, the inventory's digest.
    let inv = inventory();
    for f in inv["functions"].as_array().unwrap() {
        let name = f["spec"]["displayName"].as_str().unwrap();
        let live = dump["functions.function"].as_array().unwrap().iter().find(|d| d["displayName"] == name).unwrap();
        let repo = f["image"]["repository"].as_str().unwrap();
        assert_eq!(live["image"], json!(format!("phx.ocir.io/{repo}:{}", f["image"]["tag"].as_str().unwrap())));
        assert_eq!(live["imageDigest"], f["image"]["digest"]);
        assert_eq!(live["memoryInMBs"], f["spec"]["memoryInMBs"]);
    }
}

#[test]
fn failover_recreates_the_inventory_and_a_rerun_changes_nothing() {
    let w = World::start(&[]);
    let first = w.failover_ok(&[]);
    let dump = w.dump(DEST);
    assert_destination_complete(&w, &dump);

    let outputs = w.done_outputs(&first);
    assert_eq!(outputs["inventory"]["from"], "live");
    // Identity is tenancy-wide: the source's dynamic group and policy are already visible in
    // the destination, so they are left alone; everything else is created.
    let expected: BTreeMap<String, String> = converge_instances()
        .into_iter()
        .map(|id| {
            let op = if id.starts_with("dynamic-groups[") || id.starts_with("policies[") { "none" } else { "create" };
            (id, op.to_owned())
        })
        .collect();
    assert_eq!(w.operations(&first), expected);
    for (id, o) in outputs.iter().filter(|(id, _)| id.starts_with("images[")) {
        assert_eq!(o["existed"], false, "{id}");
    }

    // The second run finds everything right: no converge instance changes anything, no image
    // is copied, and the destination is identical (work requests, etags, timestamps
    // included: nothing is normalised).
    let rerun = w.failover(&[]);
    assert_eq!(rerun.code, 0, "run failed:\n{}", rerun.stderr);
    // Which the operator sees too: each line says `no change`, and the summary counts them.
    let unchanged = format!("resources: {} unchanged\n", converge_instances().len());
    assert!(rerun.stderr.contains(&unchanged), "{}", rerun.stderr);
    assert!(rerun.stderr.contains(", no change)") && !rerun.stderr.contains(", created)"), "{}", rerun.stderr);
    let second = rerun.run_id();
    w.assert_all_succeeded(&second);
    let none: BTreeMap<String, String> = converge_instances().into_iter().map(|id| (id, "none".to_owned())).collect();
    assert_eq!(w.operations(&second), none);
    let outputs = w.done_outputs(&second);
    for id in converge_instances() {
        assert_eq!(outputs[&id]["changed"], false, "{id}");
    }
    let images: Vec<(&String, &Value)> = outputs.iter().filter(|(id, _)| id.starts_with("images[")).collect();
    assert_eq!(images.len(), expected_images().len());
    for (id, o) in images {
        assert_eq!(o["existed"], true, "{id}");
        assert_eq!(o["bytes_moved"], 0, "{id}");
    }
    assert_eq!(w.dump(DEST), dump);
}

/// Without `--yes` the run pauses at the cutover approval, and `drctl approve` finishes it in a
/// new process. Everything the later tasks read was stored: a secret bundle read earlier (a
/// secret output) does not make the secret's id, which the functions' config holds, a secret.
#[test]
fn the_failover_paused_at_its_approval_finishes_after_approve() {
    let w = World::start(&[]);
    let args: Vec<String> = World::run_args(&[]).into_iter().filter(|a| a != "--yes").collect();
    let ran = w.drctl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(ran.code, 3, "paused at the approval:\n{}", ran.stderr);
    let run = ran.run_id();
    let params = failover_support::repo_file("examples/orders-api/params.yaml").display().to_string();
    let inventory = format!("inventory_file={}", failover_support::inventory_path().display());
    let approved = w.drctl(&[
        "approve",
        &run,
        "approve-cutover",
        "--reason",
        "go",
        "--params-file",
        &params,
        "--param",
        &inventory,
    ]);
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    w.assert_all_succeeded(&run);
    assert_destination_complete(&w, &w.dump(DEST));
}

#[test]
fn a_source_outage_during_the_capture_falls_back_to_the_saved_inventory() {
    let w = World::start(&[]);
    // The images were replicated before the outage (as a scheduled drill that keeps its
    // images would): their repositories in the workload's compartment, then the copies.
    // Copying first would make OCIR create each repository in the root compartment.
    let inv = inventory();
    let compartment = inv["source"]["compartment_id"].as_str().unwrap();
    for r in inv["repositories"].as_array().unwrap() {
        let body = json!({ "compartmentId": compartment, "displayName": r["spec"]["displayName"] });
        let file = w.sb.write("repository.json", &body.to_string());
        let path = "/20160918/container/repositories";
        let ran =
            w.drctl(&["oci", "request", "POST", "artifacts", path, "--region", DEST, "--body", file.to_str().unwrap()]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
    }
    let (src, dst) = (w.registry_host(SOURCE), w.registry_host(DEST));
    for (repo, tag, _) in expected_images() {
        let ran =
            w.drctl(&["image", "copy", "--plain-http", &format!("{src}/{repo}:{tag}"), &format!("{dst}/{repo}:{tag}")]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
    }
    // The capture's list calls are slow, so the outage lands while it is in flight.
    w.fault(SOURCE, &["latency", "GET *", "1s"]);
    let args = World::run_args(&[]);
    let child = w
        .command(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let journal_dir = w.path().join(".drctl/runs");
    let started = Instant::now();
    // Wait for the inventory task to start, then take the source region down.
    loop {
        let journal = std::fs::read_dir(&journal_dir)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| std::fs::read_to_string(e.path().join("journal.log")).unwrap_or_default())
            .unwrap_or_default();
        if journal.contains(r#""t":"start","task":"inventory""#) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the inventory task never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    w.fault(SOURCE, &["outage", "on", "--mode", "refuse"]);
    let out = child.wait_with_output().unwrap();
    let ran = support::Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(ran.code, 0, "run failed:\n{}\n{}", ran.stdout, ran.stderr);
    let run = ran.run_id();
    w.assert_all_succeeded(&run);
    let outputs = w.done_outputs(&run);
    assert_eq!(outputs["inventory"]["from"], "saved");
    assert_eq!(outputs["inventory"]["captured_at"], inventory()["captured_at"]);
    // The operator sees the fallback as it happens, not only in the task's log.
    let notice = ran.stderr.lines().find(|l| l.contains("! inventory: warning:")).unwrap_or_default();
    assert!(notice.contains("using the saved inventory"), "{}", ran.stderr);
    let existed: BTreeMap<&str, &Value> = outputs
        .iter()
        .filter(|(id, _)| id.starts_with("images["))
        .map(|(id, o)| (id.as_str(), &o["existed"]))
        .collect();
    assert_eq!(
        existed,
        BTreeMap::from([
            ("images[orders/notify-order]", &json!(true)),
            ("images[orders/validate-order]", &json!(true))
        ])
    );
    assert_destination_complete(&w, &w.dump(DEST));
}

/// `drctl resume RUN` after a SIGKILL: the lock is stale, and secret parameters (the
/// secret values, the gateway token) are never stored, so the params file is given again.
fn resume_args(run: &str) -> Vec<String> {
    let mut args = World::run_args(&["--break-lock"]);
    args[0] = "resume".into();
    args[1] = run.to_owned();
    args
}

#[test]
fn sigkill_at_twenty_random_points_then_resume_leaves_one_of_everything() {
    // Creates and updates are slow enough that the run spans many kill points.
    let faults = "us-phoenix-1:\n  latency:\n    - op: \"POST *\"\n      delay: 200ms..500ms\n    - op: \"PUT *\"\n      delay: 200ms..500ms\n";
    let fixtures = support::Sandbox::new();
    let faults_file = fixtures.write("faults.yaml", faults);
    let w = World::start(&["--latency", "200ms", "--faults", faults_file.to_str().unwrap()]);
    let seed: u64 = std::env::var("DRCTL_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    println!("kill seed: {seed} (DRCTL_KILL_SEED={seed} repeats it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let args = World::run_args(&[]);
    let runs = w.path().join(".drctl/runs");
    // A run exists once its `meta.json` does, as for drctl itself: a segment killed while
    // creating the directory leaves no run to resume, and the next segment starts one.
    let find_run = || {
        std::fs::read_dir(&runs)
            .ok()?
            .filter_map(Result::ok)
            .find(|e| e.path().join("meta.json").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
    };
    let done = |run: &Option<String>| run.as_ref().map_or(0, |r| w.done_outputs(r).len());
    let mut run_id: Option<String> = None;
    let mut landed = 0;
    let mut points = Vec::new();
    // Kill points are spread over the whole run by progress, not by time alone: each segment
    // is killed after 0 or 1 more instance finished, plus 0-150 ms, so kills land in every
    // phase, often between a create and its resource becoming ACTIVE.
    for kill in 0..20 {
        let mut cmd = match &run_id {
            None => w.command(&args.iter().map(String::as_str).collect::<Vec<_>>()),
            Some(run) => w.command(&resume_args(run).iter().map(String::as_str).collect::<Vec<_>>()),
        };
        let segment_log = w.path().join(format!("segment-{kill}.log"));
        let log_file = std::fs::File::create(&segment_log).unwrap();
        let mut child = cmd.stdout(std::process::Stdio::null()).stderr(log_file).spawn().unwrap();
        let target = done(&run_id) + rng.random_range(0..=1);
        let extra = Duration::from_millis(rng.random_range(0..150));
        let mut finished = None;
        let mut reached: Option<Instant> = None;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            if run_id.is_none() {
                run_id = find_run();
            }
            if reached.is_none() && done(&run_id) >= target {
                reached = Some(Instant::now());
            }
            if reached.is_some_and(|t| t.elapsed() >= extra) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if finished.is_none() {
            child.kill().unwrap(); // SIGKILL
            landed += 1;
        }
        child.wait().unwrap();
        points.push(done(&run_id));
        if let Some(status) = finished {
            let said = std::fs::read_to_string(&segment_log).unwrap_or_default();
            let tail: Vec<&str> = said.lines().rev().take(5).collect();
            println!("point {kill}: the segment ended on its own ({status}); its last lines: {tail:?}");
            break;
        }
    }
    println!("instances done at each kill: {points:?}");
    println!("{landed} kills landed");
    assert!(landed >= 15, "only {landed} of 20 kills hit a running drctl (seed {seed})");
    let run = run_id.expect("the run directory exists after the first segment");
    println!(
        "{} of {} instances done before the final resume",
        w.done_outputs(&run).len(),
        failover_support::all_instances().len()
    );
    // Without the secrets it was given, a resume stops before doing anything and says so.
    let bare = w.drctl(&["resume", &run, "--yes", "--break-lock"]);
    assert_eq!(bare.code, 2, "{}\n{}", bare.stdout, bare.stderr);
    assert!(
        bare.stderr.contains("secret parameter `secret_values` was given to this run and is not stored with it"),
        "{}",
        bare.stderr
    );
    let ran = w.drctl(&resume_args(&run).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(ran.code, 0, "final resume (seed {seed}):\n{}\n{}", ran.stdout, ran.stderr);
    w.assert_all_succeeded(&run);
    assert_destination_complete(&w, &w.dump(DEST));
}

/// The dump without what legitimately differs after a drill and its cleanup: the work
/// request log (history, as OCI keeps it; checked separately) and the count of stored
/// registry blobs (cleanup deletes manifests; blobs are left to garbage collection, as
/// `docs/drills.md` says).
fn comparable(dump: &Value) -> Value {
    let mut d = dump.clone();
    let o = d.as_object_mut().unwrap();
    o.remove("workRequests");
    o["registry"].as_object_mut().unwrap().remove("blobs");
    d
}

#[test]
fn a_drill_and_its_cleanup_leave_the_destination_as_it_was() {
    let w = World::start(&[]);
    let before = w.dump(DEST);
    let run = w.failover_ok(&["--drill"]);
    assert_destination_complete(&w, &w.dump(DEST));
    let cleanup = w.drctl(&["cleanup", &run, "--yes"]);
    assert_eq!(cleanup.code, 0, "cleanup:\n{}\n{}", cleanup.stdout, cleanup.stderr);

    // Deleted resources leave the lists two seconds after DELETED: wait for that.
    let started = Instant::now();
    let after = loop {
        let dump = w.dump(DEST);
        let settling = failover_support::CONVERGE.iter().any(|(_, _, kind, _)| {
            dump[kind].as_array().into_iter().flatten().any(|r| {
                matches!(r["lifecycleState"].as_str(), Some("DELETING" | "DELETED" | "TERMINATING" | "TERMINATED"))
            })
        });
        if !settling {
            break dump;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "deletions never settled: {dump}");
        std::thread::sleep(Duration::from_millis(200));
    };

    // Every work request the drill and the cleanup made succeeded.
    let new_requests: Vec<&Value> = after["workRequests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|wr| !before["workRequests"].as_array().unwrap().contains(wr))
        .collect();
    assert!(!new_requests.is_empty());
    for wr in &new_requests {
        assert_eq!(wr["status"], "SUCCEEDED", "{wr}");
    }

    // Vaults, keys and secrets are not deleted at once, in OCI as here: they are scheduled
    // for deletion (PENDING_DELETION, 30 days by default). Those the drill created are the
    // only difference allowed, and must be exactly the inventory's, tagged with the run.
    let mut after = comparable(&after);
    let inv = inventory();
    for (kind, list, field) in [
        ("kms.vault", "vaults", "displayName"),
        ("kms.key", "keys", "displayName"),
        ("vault.secret", "secrets", "secretName"),
    ] {
        let entries = after.as_object_mut().unwrap().remove(kind).unwrap_or(json!([]));
        let mut pending: Vec<(String, String, String)> = entries
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r[field].as_str().unwrap().to_owned(),
                    r["lifecycleState"].as_str().unwrap().to_owned(),
                    r["freeformTags"]["drctl-drill-run"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        pending.sort();
        let mut expected: Vec<(String, String, String)> = inv[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["spec"][field].as_str().unwrap().to_owned(), "PENDING_DELETION".to_owned(), run.clone()))
            .collect();
        expected.sort();
        assert_eq!(pending, expected, "{kind}");
        assert!(before.get(kind).is_none_or(|v| v.as_array().is_some_and(Vec::is_empty)), "{kind} before the drill");
    }
    let mut before = comparable(&before);
    for kind in ["kms.vault", "kms.key", "vault.secret"] {
        before.as_object_mut().unwrap().remove(kind);
    }
    assert_eq!(after, before);

    // The next drill brings those back (their names are still taken) and takes them as its
    // own, so that its cleanup schedules their deletion again: none is left active.
    let second = w.failover_ok(&["--drill"]);
    let cleanup = w.drctl(&["cleanup", &second, "--yes"]);
    assert_eq!(cleanup.code, 0, "second cleanup:\n{}\n{}", cleanup.stdout, cleanup.stderr);
    let dump = w.dump(DEST);
    for kind in ["kms.vault", "kms.key", "vault.secret"] {
        let entries = dump[kind].as_array().unwrap();
        assert!(!entries.is_empty(), "{kind}");
        for r in entries {
            assert_eq!(r["lifecycleState"], "PENDING_DELETION", "{kind} left behind by the second drill: {r}");
            assert_eq!(r["freeformTags"]["drctl-drill-run"], second.as_str(), "{kind}: {r}");
        }
    }

    // A real failover, at once, brings them back too and takes them over: the drill's tag
    // goes. (The images it copies stay: the repositories the cleanup deleted took only their
    // own.) A cleanup of either drill, run again, then removes nothing the failover relies on.
    w.failover_ok(&[]);
    for again in [&run, &second] {
        let cleanup = w.drctl(&["cleanup", again, "--yes"]);
        assert_eq!(cleanup.code, 0, "cleanup again:\n{}\n{}", cleanup.stdout, cleanup.stderr);
        assert!(!cleanup.stdout.contains("deleted "), "{}", cleanup.stdout);
    }
    let dump = w.dump(DEST);
    assert_destination_complete(&w, &dump);
    for kind in ["kms.vault", "kms.key", "vault.secret"] {
        for r in dump[kind].as_array().unwrap() {
            assert!(matches!(r["lifecycleState"].as_str(), Some("ACTIVE" | "ENABLED")), "{kind}: {r}");
            assert!(r["freeformTags"].get("drctl-drill-run").is_none(), "{kind}: {r}");
        }
    }
}

/// `drctl plan ... --refresh -o json` with the failover's parameters, and `extra`.
fn refresh_args(extra: &[&str]) -> Vec<String> {
    let mut args = World::run_args(&["--refresh", "-o", "json"]);
    args[0] = "plan".into();
    args.retain(|a| a != "--yes" && a != "--progress" && a != "plain");
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    args
}

/// The refreshed plan of the failover, as JSON; it must succeed.
fn refreshed_plan(w: &World, extra: &[&str]) -> Value {
    let plan = w.drctl(&refresh_args(extra).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(plan.code, 0, "plan:\n{}\n{}", plan.stdout, plan.stderr);
    serde_json::from_str(&plan.stdout).unwrap()
}

#[test]
fn drift_shows_in_a_refreshed_plan_and_the_next_run_corrects_exactly_it() {
    let w = World::start(&[]);
    w.failover_ok(&[]);
    let inv = inventory();
    let spec =
        &inv["functions"].as_array().unwrap().iter().find(|f| f["key"] == "orders/validate-order").unwrap()["spec"];
    let desired = spec["memoryInMBs"].as_u64().unwrap();
    let drifted = desired * 2;
    let dump = w.dump(DEST);
    let id = dump["functions.function"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["displayName"] == spec["displayName"])
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = w.sb.write("drift.json", &json!({ "memoryInMBs": drifted }).to_string());
    let put = w.drctl(&[
        "oci",
        "request",
        "PUT",
        "functions",
        &format!("/20181201/functions/{id}"),
        "--region",
        DEST,
        "--body",
        body.to_str().unwrap(),
    ]);
    assert_eq!(put.code, 0, "{}", put.stderr);
    let live = |w: &World| {
        w.dump(DEST)["functions.function"].as_array().unwrap().iter().find(|f| f["id"] == json!(id)).unwrap()
            ["memoryInMBs"]
            .clone()
    };
    assert_eq!(live(&w), json!(drifted));

    let plan = refreshed_plan(&w, &[]);
    let previews: BTreeMap<String, &Value> = plan["refresh"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let id = match i["key"].as_str() {
                Some(key) => format!("{}[{key}]", i["task"].as_str().unwrap()),
                None => i["task"].as_str().unwrap().to_owned(),
            };
            (id, i)
        })
        .collect();
    let drifted_id = "functions[orders/validate-order]";
    for id in converge_instances() {
        let preview = previews.get(&id).unwrap_or_else(|| panic!("{id} not previewed: {plan}"));
        if id == drifted_id {
            assert_eq!(preview["change"], "update", "{preview}");
            assert_eq!(preview["diff"], json!([{ "path": "memoryInMBs", "current": drifted, "desired": desired }]));
        } else {
            assert_eq!(preview["change"], "no change", "{id}: {preview}");
        }
    }
    // The images are already in the destination, which is what lets the functions preview.
    for (id, preview) in previews.iter().filter(|(id, _)| id.starts_with("images[")) {
        assert_eq!(preview["change"], "no change", "{id}");
    }
    assert_eq!(plan["refresh"]["summary"]["update"], 1);
    assert_eq!(plan["refresh"]["summary"]["unknown"], 0);
    assert_eq!(plan["refresh"]["summary"]["errors"], 0);

    let fix = w.failover_ok(&[]);
    let expected: BTreeMap<String, String> = converge_instances()
        .into_iter()
        .map(|i| {
            let op = if i == drifted_id { "update" } else { "none" };
            (i, op.to_owned())
        })
        .collect();
    assert_eq!(w.operations(&fix), expected);
    assert_eq!(live(&w), json!(desired));
}

/// Before any failover, every converge instance previews as a create: a child whose parent
/// the run would create (a function of a new application, a log of a new log group) is a
/// create too, read nowhere, and what reads outputs only a create gives is known after the run.
#[test]
fn a_refreshed_plan_of_an_empty_destination_creates_everything_without_errors() {
    let w = World::start(&[]);
    let plan = refreshed_plan(&w, &[]);
    let instances = plan["refresh"]["instances"].as_array().unwrap();
    let change = |task: &str| -> Vec<&str> {
        instances.iter().filter(|i| i["task"] == task).map(|i| i["change"].as_str().unwrap()).collect()
    };
    assert_eq!(change("functions"), ["create", "create"], "{plan}");
    assert_eq!(change("logs"), ["create"], "{plan}");
    assert_eq!(plan["refresh"]["summary"]["errors"], 0, "{plan}");
    for i in instances.iter().filter(|i| i["change"] == "unknown") {
        let note = i["note"].as_str().unwrap_or_default();
        assert!(note.contains("is not known until the task has run") || note.starts_with("waits for"), "{i}");
        assert!(!note.contains("without setting output"), "{i}");
    }
}

/// After a drill, a failover takes the drill's resources over by removing their drill tag:
/// the refreshed plan shows that as an update of each, as the run then does it. A refresh
/// whose reads fail exits 1, so that `plan --refresh && run` stops.
#[test]
fn a_refreshed_plan_after_a_drill_shows_the_takeover_and_errors_fail_it() {
    let w = World::start(&[]);
    w.failover_ok(&["--drill"]);
    let plan = refreshed_plan(&w, &[]);
    let previews = plan["refresh"]["instances"].as_array().unwrap();
    let fields: Vec<&Value> = previews.iter().filter(|i| i["task"] == "vcns" || i["task"] == "functions").collect();
    assert!(!fields.is_empty());
    for i in fields {
        assert_eq!(i["change"], "update", "{i}");
        assert_eq!(i["diff"][0]["path"], "freeformTags.drctl-drill-run", "{i}");
    }
    // Each preview is what the run then does.
    let run = w.failover_ok(&[]);
    for (id, op) in w.operations(&run) {
        let preview = previews
            .iter()
            .find(|i| format!("{}[{}]", i["task"].as_str().unwrap(), i["key"].as_str().unwrap_or_default()) == id)
            .unwrap_or_else(|| panic!("{id} not previewed"));
        let expected = if op == "update" { "update" } else { "no change" };
        assert_eq!(preview["change"], expected, "{id} ({op}): {preview}");
    }

    let failed = w
        .drctl(&refresh_args(&["--config-file", "/nonexistent/config"]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("a run would fail there"), "{}", failed.stderr);
}

#[test]
fn a_refreshed_plan_against_a_missing_simulator_says_how_to_make_one() {
    let sb = support::Sandbox::new();
    let runbook = std::fs::canonicalize("runbooks/oci-functions-failover.yaml").unwrap();
    let params = std::fs::canonicalize("examples/orders-api/params.yaml").unwrap();
    let ran = sb.run(&[
        "plan",
        runbook.to_str().unwrap(),
        "--params-file",
        params.to_str().unwrap(),
        "--refresh",
        "--sim",
        "no-such-dir",
    ]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("there is no simulator in no-such-dir"), "{}", ran.stderr);
    assert!(ran.stderr.contains("drctl run ... --sim SEED"), "{}", ran.stderr);
}

/// With `--sim SEED`, the seeded world is on disk before the run starts work: a run killed in
/// its first moments resumes against it.
#[test]
fn a_run_on_the_embedded_simulator_killed_at_once_resumes() {
    let sb = support::Sandbox::new();
    let (child, params) = start_embedded_failover(&sb);
    let endpoints = sb.path().join(".drctl/sim/endpoints.json");
    let until = Instant::now() + Duration::from_secs(30);
    while !endpoints.exists() {
        assert!(Instant::now() < until, "the simulator never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    let run = kill_run(child);
    resume_ok(&sb, &run, &params);
    assert_eq!(sb.status(&run)["state"], "succeeded");
}

/// Starts the example's failover on the embedded simulator in `sb`; gives the process and the
/// parameter flags a resume gives again.
fn start_embedded_failover(sb: &support::Sandbox) -> (std::process::Child, Vec<String>) {
    let rb = failover_support::repo_file("runbooks/oci-functions-failover.yaml").display().to_string();
    let seed = failover_support::inventory_path().display().to_string();
    let params = vec![
        "--params-file".to_owned(),
        failover_support::repo_file("examples/orders-api/params.yaml").display().to_string(),
        "--param".to_owned(),
        format!("inventory_file={seed}"),
    ];
    let mut args = vec!["run", rb.as_str()];
    args.extend(params.iter().map(String::as_str));
    args.extend(["--sim", seed.as_str(), "--yes", "-q"]);
    let child = sb.command(&args).stdout(std::process::Stdio::piped()).spawn().expect("drctl");
    (child, params)
}

/// Kills the run `child` drives; gives the run's id.
fn kill_run(mut child: std::process::Child) -> String {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("run ")).unwrap().to_owned()
}

/// Resumes `run` with the parameter flags it started with; it must succeed.
fn resume_ok(sb: &support::Sandbox, run: &str, params: &[String]) {
    let mut args = vec!["resume", run];
    args.extend(params.iter().map(String::as_str));
    args.extend(["--yes", "--break-lock"]);
    let resumed = sb.run(&args);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
}

/// The embedded simulator answers a change only once its state file holds it: a run killed
/// right after its journal recorded a create finds that resource at its resume, under the
/// same id (not a second one, nor a run that says succeeded over a world that lost it).
#[test]
fn a_run_on_the_embedded_simulator_killed_after_creates_finds_them_at_resume() {
    let sb = support::Sandbox::new();
    let (child, params) = start_embedded_failover(&sb);
    let runs = sb.path().join(".drctl/runs");
    let created =
        |journal: &str| journal.lines().filter(|l| l.contains("\"t\":\"done\"") && l.contains("ocid1.")).count();
    let until = Instant::now() + Duration::from_secs(60);
    let journal = loop {
        let text = std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("journal.log")).ok())
            .unwrap_or_default();
        // Past the inventory: the destination's creates have begun.
        if created(&text) > 4 {
            break text;
        }
        assert!(Instant::now() < until, "no creates recorded:\n{text}");
        std::thread::sleep(Duration::from_millis(1));
    };
    let run = kill_run(child);
    let state = std::fs::read_to_string(sb.path().join(".drctl/sim/state.json")).unwrap();
    let ids: Vec<String> = journal
        .lines()
        .filter(|l| l.contains("\"t\":\"done\""))
        .flat_map(|l| {
            l.split('"').filter(|w| w.starts_with("ocid1.") && !w.contains("..")).map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    assert!(!ids.is_empty(), "{journal}");
    for id in &ids {
        assert!(state.contains(&format!("\"{id}\"")), "the journal holds {id}, which the simulator lost");
    }
    resume_ok(&sb, &run, &params);
}

/// Three drill tasks whose creates went through but which never finished (each timed out
/// waiting for its VCN): no `done` record names what they created. Cleanup looks for each by
/// name and removes those the drill tagged, one of them with a tag read from a secret map (not
/// kept, and not needed to find it); the one named by a secret it cannot look for, and says so.
#[test]
fn cleanup_finds_what_unfinished_drill_tasks_created() {
    let w = World::start(&[]);
    w.fault(DEST, &["latency", "GET /20160918/vcns/*", "3s"]);
    let runbook = r#"version: 1
name: unfinished-creates
params:
  hidden: { type: string, secret: true, default: secret-vcn-name }
  owners: { type: map, secret: true, default: { orders: secret-owner } }
defaults:
  retry: { attempts: 1 }
  timeout: 1s
tasks:
  named:
    uses: oci.core.vcn
    with: { region: us-phoenix-1, compartmentId: ocid1.compartment.oc1..orders, displayName: halfway-vcn, cidrBlocks: [10.9.0.0/16] }
  hidden:
    uses: oci.core.vcn
    with: { region: us-phoenix-1, compartmentId: ocid1.compartment.oc1..orders, displayName: "${{ params.hidden }}", cidrBlocks: [10.8.0.0/16] }
  owned:
    uses: oci.core.vcn
    with: { region: us-phoenix-1, compartmentId: ocid1.compartment.oc1..orders, displayName: owned-vcn, cidrBlocks: [10.7.0.0/16], freeformTags: { owner: "${{ params.owners['orders'] }}" } }
  refused:
    uses: oci.core.vcn
    on_failure: continue
    with: { region: us-phoenix-1, compartmentId: ocid1.compartment.oc1..orders, displayName: refused-vcn, cidrBlocks: [not-a-cidr] }
"#;
    w.sb.write("unfinished.yaml", runbook);
    let ran = w.drctl(&["run", "unfinished.yaml", "--drill", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    let run = ran.run_id();
    let tagged = |dump: &Value, name: &str| -> Vec<String> {
        dump["core.vcn"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["displayName"] == name && v["freeformTags"]["drctl-drill-run"] == run.as_str())
            .map(|v| v["lifecycleState"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let before = w.dump(DEST);
    assert_eq!(tagged(&before, "halfway-vcn").len(), 1, "the create went through: {}", before["core.vcn"]);
    w.fault(DEST, &["clear"]);

    let plan = w.drctl(&["cleanup", &run, "--dry-run"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains(
            "delete VCN `halfway-vcn` in us-phoenix-1 if the drill created it (oci.core.vcn named is failed: it may \
             have created it before it stopped)"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!(
            "keep (oci.core.vcn hidden): it is failed and may have created its resource, but what names it is kept \
             masked: look for one tagged drctl-drill-run={run}"
        )),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("delete VCN `owned-vcn` in us-phoenix-1 if the drill created it"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("secret-vcn-name") && !plan.stdout.contains("secret-owner"), "{}", plan.stdout);
    // A reader that goes away (`| head -1`) ends the output, not the command.
    let mut closed = w
        .command(&["cleanup", &run, "--dry-run"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(closed.stdout.take());
    let out = closed.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));

    let clean = w.drctl(&["cleanup", &run, "--yes"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.contains("deleted       named VCN `halfway-vcn` in us-phoenix-1"), "{}", clean.stdout);
    assert!(clean.stdout.contains("deleted       owned VCN `owned-vcn` in us-phoenix-1"), "{}", clean.stdout);
    let after = w.dump(DEST);
    for name in ["halfway-vcn", "owned-vcn"] {
        let left = tagged(&after, name);
        assert!(left.iter().all(|s| s == "TERMINATING" || s == "TERMINATED"), "{name}: {left:?}");
    }

    // Run again, it touches nothing: what the first one removed is recorded.
    let again = w.drctl(&["cleanup", &run, "--yes"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("done earlier  named VCN `halfway-vcn` in us-phoenix-1"), "{}", again.stdout);
    // What no cleanup found is looked for again: a create in flight then may have ended since.
    for out in [&clean.stdout, &again.stdout] {
        let line = out.lines().find(|l| l.contains("refused VCN `refused-vcn`")).unwrap_or_else(|| panic!("{out}"));
        assert!(line.starts_with("already gone") && line.contains("none found"), "{line}");
    }
}

/// A real failover right after a drill takes over what the drill made, functions included.
/// The drill's cleanup then keeps the images those functions run, though the drill copied them.
#[test]
fn cleanup_of_a_drill_keeps_the_images_a_later_failover_runs() {
    let w = World::start(&[]);
    let drill = w.failover_ok(&["--drill"]);
    w.failover_ok(&[]);
    let cleanup = w.drctl(&["cleanup", &drill, "--yes"]);
    assert_eq!(cleanup.code, 0, "{}\n{}", cleanup.stdout, cleanup.stderr);
    assert!(!cleanup.stdout.contains("deleted "), "{}", cleanup.stdout);
    assert!(cleanup.stdout.contains("which was built on it, stays (it is not this drill's)"), "{}", cleanup.stdout);
    // Each image names the function that runs it.
    for key in ["orders/notify-order", "orders/validate-order"] {
        let line = cleanup
            .stdout
            .lines()
            .find(|l| l.starts_with("kept") && l.contains(&format!("images[{key}]")))
            .expect("the image's line");
        assert!(line.contains(&format!("functions[{key}], which was built on it")), "{line}");
    }
    assert_destination_complete(&w, &w.dump(DEST));
}

/// A drill task whose create went through but whose attempt was cut off, resumed: the resumed
/// attempt finds the resource already there, tagged with this drill, and reports no change.
/// Cleanup still removes it: the tag says this run made it.
#[test]
fn cleanup_removes_what_a_resumed_drill_found_already_made_by_itself() {
    let w = World::start(&[]);
    w.fault(DEST, &["latency", "GET /20160918/vcns/*", "3s"]);
    let runbook = r#"version: 1
name: resumed-drill
defaults:
  retry: { attempts: 1 }
  timeout: 1s
tasks:
  net:
    uses: oci.core.vcn
    with: { region: us-phoenix-1, compartmentId: ocid1.compartment.oc1..orders, displayName: resumed-vcn, cidrBlocks: [10.7.0.0/16] }
"#;
    w.sb.write("resumed.yaml", runbook);
    let ran = w.drctl(&["run", "resumed.yaml", "--drill", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    let run = ran.run_id();
    w.fault(DEST, &["clear"]);
    let resumed = w.drctl(&["resume", &run, "--progress", "plain"]);
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    assert_eq!(w.done_outputs(&run)["net"]["operation"], "none");

    let clean = w.drctl(&["cleanup", &run, "--yes"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.contains("deleted"), "{}", clean.stdout);
    let left: Vec<Value> = w.dump(DEST)["core.vcn"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["displayName"] == "resumed-vcn" && v["lifecycleState"] == "AVAILABLE")
        .cloned()
        .collect();
    assert!(left.is_empty(), "{left:?}\n{}", clean.stdout);
}

/// A create whose work request ends FAILED leaves a FAILED resource holding the name. The
/// attempt tries to delete it (here that fails too: every work request fails), and says to.
/// Once it is deleted, the resume's create, sent with the same retry token, gets the first
/// attempt's answer back, sees that the resource it names is gone, and creates afresh under a
/// new token instead of replaying the failure for ever.
#[test]
fn a_create_whose_work_request_failed_succeeds_on_resume() {
    let w = World::start(&[]);
    w.fault(DEST, &["fail-work-requests", "1.0"]);
    let runbook = r#"version: 1
name: failed-work-request
defaults:
  retry: { attempts: 1 }
tasks:
  logs:
    uses: oci.logging.log_group
    on_failure: pause
    with: { region: us-phoenix-1, compartmentId: ocid1.compartment.oc1..orders, displayName: wr-logs }
"#;
    w.sb.write("wr.yaml", runbook);
    let ran = w.drctl(&["run", "wr.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("create failed: work request"), "{}", ran.stderr);
    assert!(ran.stderr.contains("the next attempt deletes it and creates it afresh"), "{}", ran.stderr);
    let run = ran.run_id();
    w.fault(DEST, &["clear"]);
    let groups = |w: &World| -> Vec<(String, String)> {
        w.dump(DEST)["logging.loggroup"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["displayName"] == "wr-logs")
            .map(|g| {
                (
                    g["id"].as_str().unwrap_or_default().to_owned(),
                    g["lifecycleState"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let delete_the_failed_one = |w: &World| {
        let failed: Vec<_> = groups(w).into_iter().filter(|(_, s)| s == "FAILED").collect();
        assert_eq!(failed.len(), 1, "{failed:?}");
        let path = format!("/20200531/logGroups/{}", failed[0].0);
        let deleted = w.drctl(&["oci", "request", "DELETE", "logging", &path, "--region", DEST]);
        assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    };
    delete_the_failed_one(&w);
    // A second attempt fails the same way: its create, under a token derived from the first
    // answer, is the one a third attempt gets back, and must see through too.
    w.fault(DEST, &["fail-work-requests", "1.0"]);
    let again = w.drctl(&["resume", &run, "--progress", "plain"]);
    assert_eq!(again.code, 3, "{}\n{}", again.stdout, again.stderr);
    w.fault(DEST, &["clear"]);
    delete_the_failed_one(&w);

    let resumed = w.drctl(&["resume", &run, "--progress", "plain"]);
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    let log = w.sb.read(&format!(".drctl/runs/{run}/logs/logs.log"));
    assert!(log.contains("which is gone since; creating it again"), "{log}");
    let now = groups(&w);
    let active: Vec<_> = now.iter().filter(|(_, s)| s == "ACTIVE").collect();
    assert_eq!(active.len(), 1, "{now:?}");
    assert_eq!(w.done_outputs(&run)["logs"]["id"], active[0].0.as_str());
}

/// A FAILED resource of the name a task creates serves nothing: a failover deletes it and
/// creates the resource afresh, in the same attempt. A drill does so only for one it made
/// itself; one from before the drill is left, and the error gives the command that deletes it.
#[test]
fn a_failed_resource_found_by_name_is_replaced_except_by_a_drill_that_did_not_make_it() {
    let w = World::start(&[]);
    let runbook = |name: &str| {
        format!(
            "version: 1\nname: failed-found\ndefaults:\n  retry: {{ attempts: 1 }}\ntasks:\n  logs:\n    uses: \
             oci.logging.log_group\n    with: {{ region: us-phoenix-1, compartmentId: ocid1.compartment.oc1..orders, \
             displayName: {name} }}\n"
        )
    };
    let states = |w: &World, name: &str| -> Vec<String> {
        w.dump(DEST)["logging.loggroup"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["displayName"] == name)
            .map(|g| g["lifecycleState"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // Every work request fails: the create leaves a FAILED group, and deleting it fails too.
    w.fault(DEST, &["fail-work-requests", "1.0"]);
    w.sb.write("real.yaml", &runbook("failed-real"));
    w.sb.write("before.yaml", &runbook("failed-before"));
    let real = w.drctl(&["run", "real.yaml", "--progress", "plain"]);
    assert_eq!(real.code, 1, "{}", real.stderr);
    let before = w.drctl(&["run", "before.yaml", "--progress", "plain"]);
    assert_eq!(before.code, 1, "{}", before.stderr);
    assert_eq!(states(&w, "failed-real"), ["FAILED"]);
    w.fault(DEST, &["clear"]);

    let resumed = w.drctl(&["resume", &real.run_id(), "--progress", "plain"]);
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    let log = w.sb.read(&format!(".drctl/runs/{}/logs/logs.log", real.run_id()));
    assert!(log.contains("is FAILED; deleting it and creating it afresh"), "{log}");
    let mut now = states(&w, "failed-real");
    now.retain(|s| s != "DELETED");
    assert_eq!(now, ["ACTIVE"]);

    // The drill did not make `failed-before` (an earlier run did, untagged): it is not the
    // drill's to delete.
    let drill = w.drctl(&["run", "before.yaml", "--drill", "--progress", "plain"]);
    assert_eq!(drill.code, 1, "{}", drill.stderr);
    assert!(drill.stderr.contains("failed before this drill began, so the drill leaves it alone"), "{}", drill.stderr);
    assert!(drill.stderr.contains("drctl oci request DELETE logging /20200531/logGroups/ocid1."), "{}", drill.stderr);
    assert_eq!(states(&w, "failed-before"), ["FAILED"]);
}

/// Two VCNs of one name in the source compartment (OCI allows it): the destination's lookups
/// go by name, so a failover could recreate only one. The capture says so at once, with both
/// ids and the fix, instead of a failover failing mid-run on the second.
#[test]
fn a_capture_refuses_two_resources_of_one_name_in_one_place() {
    let w = World::start(&[]);
    let body = json!({ "compartmentId": "ocid1.compartment.oc1..orders", "displayName": "orders-vcn", "cidrBlocks": ["10.62.0.0/16"] });
    w.sb.write("vcn.json", &body.to_string());
    let made = w.drctl(&["oci", "request", "POST", "core", "/20160918/vcns", "--region", SOURCE, "--body", "vcn.json"]);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let ran = w.drctl(&["inventory", "--region", SOURCE, "--compartment", "ocid1.compartment.oc1..orders"]);
    assert_ne!(ran.code, 0, "{}", ran.stdout);
    assert!(ran.stderr.contains("2 resources share the name `orders-vcn` in one place (ocid1.vcn."), "{}", ran.stderr);
    assert!(ran.stderr.contains("rename all but one in the source"), "{}", ran.stderr);
}

/// An inventory of a compartment that does not exist is not retried: the 404 says the
/// compartment id (or the permission) is wrong, and asking again cannot change that.
#[test]
fn an_inventory_of_an_unknown_compartment_fails_at_once() {
    let w = World::start(&[]);
    let runbook = r#"version: 1
name: no-such-compartment
defaults:
  retry: { attempts: 4, delay: 2s }
tasks:
  inventory:
    uses: oci.inventory
    with: { region: us-ashburn-1, compartment_id: ocid1.compartment.oc1..nope }
"#;
    w.sb.write("inv.yaml", runbook);
    let ran = w.drctl(&["run", "inv.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("404"), "{}", ran.stderr);
    assert_eq!(w.sb.task_states(&ran.run_id())["inventory"], ("failed".to_owned(), 1));
}
