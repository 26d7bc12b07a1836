//! Inventories end to end: the simulator seeded from examples/orders-api/inventory.yaml,
//! `drctl inventory` (the real binary) capturing the seeded region back into the same file,
//! and the `oci.inventory` action falling back to a saved inventory while the region is down.

mod sim_support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use drctl::actions::oci::OciSettings;
use drctl::actions::{ActionContext, TaskLog};
use drctl::inventory::{self, Inventory};
use drctl::sim::faults::{FaultCommand, OutageMode};
use serde_json::{json, Value};
use sim_support::TestSim;
use tokio_util::sync::CancellationToken;

const IAD: &str = "us-ashburn-1";
const COMPARTMENT: &str = "ocid1.compartment.oc1..orders";

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orders-api/inventory.yaml")
}

async fn seeded() -> TestSim {
    TestSim::start(|a| a.seed = Some(example())).await
}

/// Runs the drctl binary against the simulator's config and endpoints.
async fn drctl(sim: &TestSim, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_drctl"))
        .arg("--config-file")
        .arg(sim.path().join("config"))
        .arg("--endpoints")
        .arg(sim.endpoints_file())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_of_the_seeded_region_equals_the_seed_file() {
    let sim = seeded().await;
    let report = sim.launched.seeded.clone().unwrap();
    assert_eq!(report.resources(), 24);
    assert_eq!(report.images.len(), 2);
    let out = sim.path().join("captured.yaml");
    let ran =
        drctl(&sim, &["inventory", "--region", IAD, "--compartment", COMPARTMENT, "-o", out.to_str().unwrap()]).await;
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut captured = inventory::load(&out).unwrap();
    let expected = inventory::load(&example()).unwrap();
    assert_ne!(captured.captured_at, expected.captured_at);
    captured.captured_at = expected.captured_at.clone();
    assert_eq!(captured, expected, "capture:\n{text}");
    // Byte for byte: the same state captures to the same text (apart from captured_at).
    assert_eq!(inventory::render(&captured), inventory::render(&expected));
    // Images are those seeded, with the digests the inventory records.
    let images: Vec<(String, String)> = captured.images().into_iter().map(|(k, i)| (k, i.digest)).collect();
    let seeded: Vec<(String, String)> =
        report.images.iter().map(|(repo, _, d)| (repo.replace("drctlsim/", ""), d.clone())).collect();
    assert_eq!(images, seeded);
    // The secret's value is never captured.
    let value = "seeded-orders-db-password";
    assert!(!text.contains(value) && !text.contains("c2VlZGVkLW9yZGVycy1kYi1wYXNzd29yZA"), "{text}");
    // ... though the simulator holds it.
    let secret_id = &report.ids["secret"]["orders-db-password"];
    let bundle: Value = sim
        .client()
        .send_json(drctl::oci::OciRequest::new(
            reqwest::Method::GET,
            drctl::oci::Service::Secrets,
            IAD,
            format!("/secretbundles/{secret_id}"),
        ))
        .await
        .unwrap();
    assert_eq!(bundle["secretBundleContent"]["content"], json!("c2VlZGVkLW9yZGVycy1kYi1wYXNzd29yZA=="));
    // Printing to standard output gives the same text; a region given by key is written by id.
    let ran = drctl(&sim, &["inventory", "--region", "iad", "--compartment", COMPARTMENT]).await;
    let printed = inventory::parse(&String::from_utf8_lossy(&ran.stdout), Path::new("stdout")).unwrap();
    assert_eq!(Inventory { captured_at: expected.captured_at.clone(), ..printed }, expected);
}

/// A task log that keeps its lines.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl TaskLog for Lines {
    fn line(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_string());
    }
}

async fn run_inventory(sim: &TestSim, with: Value) -> (Result<drctl::actions::Outputs, String>, Vec<String>) {
    let settings = OciSettings {
        config_file: Some(sim.path().join("config")),
        profile: None,
        endpoints_file: Some(sim.endpoints_file()),
        ..OciSettings::default()
    };
    let registry = drctl::actions::builtin_with(settings);
    let action = registry.get("oci.inventory").unwrap().clone();
    let log = Arc::new(Lines::default());
    let ctx = ActionContext {
        work_dir: None,
        task_id: "inventory".into(),
        instance_key: None,
        idempotency_key: "k".into(),
        attempt: 1,
        started: std::time::Instant::now(),
        cancel: CancellationToken::new(),
        log: log.clone(),
        scratch_dir: sim.path().to_path_buf(),
        drill: false,
        run_id: "r".into(),
        only_tagged: None,
        urgency: 0,
    };
    let problems = action.check_inputs(with.as_object().unwrap());
    assert!(problems.is_empty(), "{problems:?}");
    let result = action.run(&ctx, with).await.map_err(|e| e.to_string());
    let lines = log.0.lock().unwrap().clone();
    (result, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_captures_live_then_falls_back_to_the_saved_inventory_in_an_outage() {
    let sim = seeded().await;
    let saved = sim.path().join("saved.yaml");
    std::fs::copy(example(), &saved).unwrap();
    let with = json!({"region": IAD, "compartment_id": COMPARTMENT, "saved": saved, "timeout": "3s"});

    let (live, lines) = run_inventory(&sim, with.clone()).await;
    let live = live.unwrap();
    assert_eq!(live["from"], "live");
    assert!(lines.is_empty(), "{lines:?}");
    let functions: Vec<&str> =
        live["functions"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(functions, ["orders/notify-order", "orders/validate-order"]);
    assert_eq!(live["images"].as_array().unwrap().len(), 2);
    assert_eq!(live["images"][1]["repository"], "drctlsim/orders/validate-order");
    assert_eq!(live["images"][1]["tag"], "1.0.0");
    assert!(live["images"][1]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(live["vcns"][0]["spec"]["cidrBlocks"], json!(["10.0.0.0/16"]));

    sim.launched.running.sim.faults.apply(IAD, FaultCommand::Outage { on: true, mode: OutageMode::Refuse }).unwrap();
    let (fallback, lines) = run_inventory(&sim, with.clone()).await;
    let fallback = fallback.unwrap();
    assert_eq!(fallback["from"], "saved");
    assert_eq!(fallback["captured_at"], "2026-11-25T20:00:00Z");
    assert_eq!(fallback["functions"], live["functions"]);
    assert_eq!(fallback["images"], live["images"]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("warning: us-ashburn-1 did not answer within 3s; using the saved inventory"),
        "{lines:?}"
    );

    // A saved inventory written by region key (`iad`) stands in for its region just the same.
    let keyed = sim.path().join("keyed.yaml");
    let text = std::fs::read_to_string(example()).unwrap().replace("region: us-ashburn-1", "region: iad");
    assert!(text.contains("region: iad"));
    std::fs::write(&keyed, text).unwrap();
    let mut by_key = with.clone();
    by_key["saved"] = json!(keyed);
    let (fallback, _) = run_inventory(&sim, by_key).await;
    assert_eq!(fallback.unwrap()["from"], "saved");

    // `fallback: fail` reports the outage instead.
    let mut failing = with.clone();
    failing["fallback"] = json!("fail");
    failing["timeout"] = json!("1s");
    let (err, _) = run_inventory(&sim, failing).await;
    assert!(err.unwrap_err().contains("no answer within 1s"));

    // A saved inventory of another compartment is an error, not a stand-in.
    let other = sim.path().join("other.yaml");
    let text = std::fs::read_to_string(example())
        .unwrap()
        .replace("compartment_id: ocid1.compartment.oc1..orders", "compartment_id: ocid1.compartment.oc1..other");
    std::fs::write(&other, text).unwrap();
    let mut mismatched = with.clone();
    mismatched["saved"] = json!(other);
    let (err, _) = run_inventory(&sim, mismatched).await;
    assert_eq!(
        err.unwrap_err(),
        format!("the saved inventory {} is of us-ashburn-1 / ocid1.compartment.oc1..other, not of us-ashburn-1 / {COMPARTMENT}", other.display())
    );
}

async fn seed_error(inventory_dir: &Path, text: &str) -> String {
    std::fs::write(inventory_dir.join("inventory.yaml"), text).unwrap();
    let sim_dir = tempfile::tempdir().unwrap();
    drctl::sim::setup::init(sim_dir.path(), IAD).unwrap();
    let mut args = drctl::sim::cli::ServeArgs::for_dir(sim_dir.path());
    args.seed = Some(inventory_dir.join("inventory.yaml"));
    drctl::sim::cli::launch(&args).await.map(|_| ()).unwrap_err().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_refuses_a_digest_mismatch_and_a_missing_image() {
    let text = std::fs::read_to_string(example()).unwrap();
    let recorded = "sha256:69400cb25166ec64eaac4c679cc207e086901870e6e1a2dc66d5d5b56039c1df";
    let other = format!("sha256:{}", "0".repeat(64));

    let with_sources = tempfile::tempdir().unwrap();
    for name in ["validate-order", "notify-order"] {
        let from = example().parent().unwrap().join("functions").join(name);
        let to = with_sources.path().join("functions").join(name);
        std::fs::create_dir_all(&to).unwrap();
        for file in ["func.py", "func.yaml", "requirements.txt"] {
            std::fs::copy(from.join(file), to.join(file)).unwrap();
        }
    }
    let err = seed_error(with_sources.path(), &text.replace(recorded, &other)).await;
    assert!(
        err.ends_with(&format!(
            "functions[1] (orders/validate-order): the image built from {} has digest {recorded}, but the inventory records {other}",
            with_sources.path().join("functions/validate-order").display()
        )),
        "{err}"
    );

    let without_sources = tempfile::tempdir().unwrap();
    let err = seed_error(without_sources.path(), &text).await;
    assert!(
        err.contains("functions[0] (orders/notify-order): the simulator refused the create: 404 NotAuthorizedOrNotFound: The image iad.ocir.io/drctlsim/orders/notify-order:1.0.0 was not found in the us-ashburn-1 registry"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_names_a_field_of_the_wrong_type() {
    let text = std::fs::read_to_string(example()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = seed_error(dir.path(), &text.replacen("memoryInMBs: 128", "memoryInMBs: lots", 1)).await;
    assert!(
        err.contains("functions[0] (orders/notify-order): the simulator refused the create: 400 InvalidParameter: memoryInMBs must be a whole number, got \"lots\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelled_spec_field_is_refused_and_a_listed_one_survives_a_capture() {
    let text = std::fs::read_to_string(example()).unwrap();
    let misspelled = text.replacen("    timeoutInSeconds: 60\n", "    timeoutInSecs: 60\n", 1);
    assert_ne!(misspelled, text);
    let err = inventory::parse(&misspelled, Path::new("inv.yaml")).unwrap_err().to_string();
    let line = misspelled.lines().position(|l| l == "    timeoutInSecs: 60").unwrap() + 1;
    assert!(
        err.contains(&format!(
            "functions: item `orders/notify-order` (line {line}, column 5): `spec.timeoutInSecs` is not a field of a \
             function; did you mean `timeoutInSeconds`? Correct the name; if OCI has a `timeoutInSecs` field that \
             drctl does not know yet, add `unknown_fields: [timeoutInSecs]` to the item"
        )),
        "{err}"
    );
    // Listed as real, it loads and seeds; a capture lists it again, since OCI returned it.
    let listed = misspelled.replacen(
        "  application: orders\n  image:\n    repository: drctlsim/orders/notify-order",
        "  application: orders\n  unknown_fields: [timeoutInSecs]\n  image:\n    repository: drctlsim/orders/notify-order",
        1,
    );
    assert_ne!(listed, misspelled);
    let dir = tempfile::tempdir().unwrap();
    let from = example().parent().unwrap().to_path_buf();
    for name in ["validate-order", "notify-order"] {
        let to = dir.path().join("functions").join(name);
        std::fs::create_dir_all(&to).unwrap();
        for file in ["func.py", "func.yaml", "requirements.txt"] {
            std::fs::copy(from.join("functions").join(name).join(file), to.join(file)).unwrap();
        }
    }
    let seed = dir.path().join("inventory.yaml");
    std::fs::write(&seed, &listed).unwrap();
    let sim = TestSim::start(|a| a.seed = Some(seed.clone())).await;
    let out = sim.path().join("captured.yaml");
    let ran =
        drctl(&sim, &["inventory", "--region", IAD, "--compartment", COMPARTMENT, "-o", out.to_str().unwrap()]).await;
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    let captured = inventory::load(&out).unwrap();
    let function = captured.functions.iter().find(|f| f.key == "orders/notify-order").unwrap();
    assert_eq!(function.unknown_fields, vec!["timeoutInSecs".to_string()]);
    assert_eq!(function.spec["timeoutInSecs"], json!(60));
    assert!(captured.functions.iter().filter(|f| f.key != "orders/notify-order").all(|f| f.unknown_fields.is_empty()));
}
