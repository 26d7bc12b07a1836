//! The typed converge actions (`oci.<service>.<resource>`) and `oci.functions.invoke` against
//! the in-process OCI simulator: through the actions API (the registry `drctl run` uses) and
//! through the `drctl` binary with small runbooks.

mod sim_support;
mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use drctl::actions::oci::OciSettings;
use drctl::actions::{builtin_with, ActionContext, ActionError, ActionRegistry, Change, FieldDiff, NullLog, Outputs};
use drctl::oci::{OciRequest, Service};
use reqwest::Method;
use serde_json::{json, Value};
use sim_support::TestSim;
use support::Sandbox;
use tokio_util::sync::CancellationToken;

const IAD: &str = "us-ashburn-1";
const PHX: &str = "us-phoenix-1";

/// A simulator and the action registry pointed at it.
struct Env {
    sim: TestSim,
    actions: ActionRegistry,
}

impl Env {
    async fn start() -> Env {
        let sim = TestSim::start(|_| {}).await;
        push_function_image(&sim).await;
        let actions = builtin_with(settings(&sim, sim.endpoints_file()));
        Env { sim, actions }
    }

    fn tenancy(&self) -> String {
        self.sim.identity.tenancy.clone()
    }

    async fn run(&self, action: &str, with: Value) -> Result<Outputs, ActionError> {
        self.run_ctx(action, with, &ctx(action)).await
    }

    async fn run_ctx(&self, action: &str, with: Value, ctx: &ActionContext) -> Result<Outputs, ActionError> {
        let a = self.actions.get(action).unwrap_or_else(|| panic!("{action} is not registered"));
        a.run(ctx, with).await
    }

    async fn refresh(&self, action: &str, with: Value) -> Result<drctl::actions::Refreshed, ActionError> {
        let a = self.actions.get(action).unwrap();
        let ctx = ctx(action);
        a.refresh(&ctx, with).expect("converge actions support refresh").await
    }

    /// Runs a create, then the same again: the first creates, the second changes nothing, and
    /// exactly one resource of that name exists.
    async fn create_then_noop(&self, action: &str, with: Value) -> Outputs {
        let first = self.run(action, with.clone()).await.unwrap_or_else(|e| panic!("{action}: {e}"));
        assert_eq!((first["operation"].as_str(), first["changed"].as_bool()), (Some("create"), Some(true)), "{action}");
        let again = self.run(action, with.clone()).await.unwrap_or_else(|e| panic!("{action} again: {e}"));
        assert_eq!((again["operation"].as_str(), again["changed"].as_bool()), (Some("none"), Some(false)), "{action}");
        assert_eq!(first["id"], again["id"], "{action}");
        assert_eq!(first["region"], json!(with["region"]), "{action}");
        let refreshed = self.refresh(action, with).await.unwrap();
        assert_eq!(refreshed.change, Change::NoChange, "{action}");
        again
    }

    async fn get(&self, service: Service, region: &str, path: &str) -> Value {
        self.sim.client().send_json(OciRequest::new(Method::GET, service, region, path)).await.unwrap()
    }

    // Building blocks: each converges one resource and returns its outputs.

    async fn vcn(&self, region: &str, name: &str) -> Outputs {
        let with = json!({"region": region, "compartmentId": self.tenancy(), "displayName": name,
                          "cidrBlocks": ["10.0.0.0/16"], "dnsLabel": "orders"});
        self.run("oci.core.vcn", with).await.unwrap()
    }

    async fn subnet(&self, region: &str, vcn: &Outputs) -> Outputs {
        let with = json!({"region": region, "compartmentId": self.tenancy(), "displayName": "app",
                          "vcnId": vcn["id"], "cidrBlock": "10.0.1.0/24"});
        self.run("oci.core.subnet", with).await.unwrap()
    }

    fn app_with(&self, region: &str, subnet: &Outputs) -> Value {
        json!({"region": region, "compartmentId": self.tenancy(), "displayName": "orders",
               "subnetIds": [subnet["id"]], "config": {"STAGE": "dr"}})
    }

    fn function_with(&self, region: &str, app: &Outputs) -> Value {
        json!({"region": region, "displayName": "validate-order", "applicationId": app["id"],
               "image": function_image(&self.sim, region), "memoryInMBs": 256,
               "timeoutInSeconds": 30, "config": {"DB_URL": "db.phx"}})
    }

    /// VCN, subnet, application and function in `region`.
    async fn function_stack(&self, region: &str) -> (Outputs, Outputs, Outputs) {
        let vcn = self.vcn(region, "orders-vcn").await;
        let subnet = self.subnet(region, &vcn).await;
        let app = self.run("oci.functions.application", self.app_with(region, &subnet)).await.unwrap();
        let function = self.run("oci.functions.function", self.function_with(region, &app)).await.unwrap();
        (subnet, app, function)
    }
}

/// The function image every test function runs, as the region's OCIR names it.
fn function_image(sim: &TestSim, region: &str) -> String {
    let host = drctl::oci::ocir_host(region).unwrap();
    format!("{host}/{}/orders/validate-order:1.0.0", sim.identity.namespace)
}

/// Pushes the test function image to both regions' registries: the simulator, like OCI,
/// refuses a function whose image its region's registry does not hold.
async fn push_function_image(sim: &TestSim) {
    let repository = format!("{}/orders/validate-order", sim.identity.namespace);
    for region in [IAD, PHX] {
        sim_support::push_image(&sim.base(region), &repository, "1.0.0", "validate-order").await;
    }
}

fn settings(sim: &TestSim, endpoints: PathBuf) -> OciSettings {
    OciSettings {
        config_file: Some(sim.path().join("config")),
        profile: None,
        endpoints_file: Some(endpoints),
        ..OciSettings::default()
    }
}

fn ctx(task: &str) -> ActionContext {
    ActionContext {
        work_dir: None,
        task_id: task.to_string(),
        instance_key: None,
        idempotency_key: format!("key-{}", task.replace('.', "-")),
        attempt: 1,
        started: std::time::Instant::now(),
        cancel: CancellationToken::new(),
        log: Arc::new(NullLog),
        scratch_dir: std::env::temp_dir(),
        drill: false,
        run_id: "run-1".into(),
        only_tagged: None,
        urgency: 0,
    }
}

fn names(list: &Value, field: &str) -> Vec<String> {
    let items = list.get("items").unwrap_or(list);
    items.as_array().unwrap().iter().map(|i| i[field].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_kinds_create_once_then_do_nothing() {
    let env = Env::start().await;
    let t = env.tenancy();
    let vcn = env
        .create_then_noop(
            "oci.core.vcn",
            json!({"region": PHX, "compartmentId": t, "displayName": "orders-vcn", "cidrBlocks": ["10.0.0.0/16"]}),
        )
        .await;
    assert_eq!(vcn["lifecycleState"], "AVAILABLE");
    let list = env.get(Service::Core, PHX, &format!("/20160918/vcns?compartmentId={t}")).await;
    assert_eq!(names(&list, "displayName"), vec!["orders-vcn"]);
    let vcn_id = vcn["id"].clone();
    env.create_then_noop(
        "oci.core.subnet",
        json!({"region": PHX, "compartmentId": t, "displayName": "app", "vcnId": vcn_id, "cidrBlock": "10.0.1.0/24"}),
    )
    .await;
    env.create_then_noop(
        "oci.core.route_table",
        json!({"region": PHX, "compartmentId": t, "displayName": "rt", "vcnId": vcn_id, "routeRules": []}),
    )
    .await;
    env.create_then_noop(
        "oci.core.security_list",
        json!({"region": PHX, "compartmentId": t, "displayName": "sl", "vcnId": vcn_id,
               "ingressSecurityRules": [{"protocol": "6", "source": "10.0.0.0/16"}], "egressSecurityRules": []}),
    )
    .await;
    let sg = env
        .create_then_noop(
            "oci.core.service_gateway",
            json!({"region": PHX, "compartmentId": t, "displayName": "sgw", "vcnId": vcn_id, "services": "all"}),
        )
        .await;
    assert_eq!(
        sg["services"],
        json!([{"serviceId": "ocid1.service.oc1.phx.aaaaaaaaallservicesinoraclenetwork",
                "serviceName": "All PHX Services In Oracle Services Network"}])
    );
    let rules = json!([
        {"direction": "INGRESS", "protocol": "6", "source": "10.0.0.0/16", "sourceType": "CIDR_BLOCK"},
        {"direction": "EGRESS", "protocol": "all", "destination": "0.0.0.0/0", "destinationType": "CIDR_BLOCK"},
    ]);
    let nsg_with =
        json!({"region": PHX, "compartmentId": t, "displayName": "fn-nsg", "vcnId": vcn_id, "securityRules": rules});
    let nsg = env.create_then_noop("oci.core.nsg", nsg_with.clone()).await;
    assert_eq!(nsg["securityRules"].as_array().unwrap().len(), 2);
    // One rule replaced: refresh shows it, run removes one and adds one.
    let mut changed = nsg_with.clone();
    changed["securityRules"][1]["destination"] = json!("10.9.0.0/16");
    let refreshed = env.refresh("oci.core.nsg", changed.clone()).await.unwrap();
    let Change::Update(diffs) = refreshed.change else { panic!("expected an update: {:?}", refreshed.change) };
    assert_eq!(diffs.iter().map(|d| d.path.as_str()).collect::<Vec<_>>(), vec!["securityRules"]);
    let out = env.run("oci.core.nsg", changed).await.unwrap();
    assert_eq!(out["operation"], "update");
    let rules_now = env
        .get(
            Service::Core,
            PHX,
            &format!("/20160918/networkSecurityGroups/{}/securityRules", nsg["id"].as_str().unwrap()),
        )
        .await;
    let destinations: Vec<&str> =
        rules_now.as_array().unwrap().iter().filter_map(|r| r["destination"].as_str()).collect();
    assert_eq!(destinations, vec!["10.9.0.0/16"]);
    assert_eq!(rules_now.as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_kinds_read_anywhere_and_write_in_the_home_region() {
    let env = Env::start().await;
    let t = env.tenancy();
    // The task names Phoenix; the simulator's home region is Ashburn and refuses writes
    // elsewhere, so the writes must go to Ashburn.
    env.create_then_noop(
        "oci.identity.dynamic_group",
        json!({"region": PHX, "compartmentId": t, "name": "orders-fns", "description": "functions of orders",
               "matchingRule": format!("ALL {{resource.type = 'fnfunc', resource.compartment.id = '{t}'}}")}),
    )
    .await;
    let policy_with = json!({"region": PHX, "compartmentId": t, "name": "orders-fns-policy", "description": "orders",
                             "statements": ["allow dynamic-group orders-fns to read secret-bundles in tenancy"]});
    let policy = env.create_then_noop("oci.identity.policy", policy_with.clone()).await;
    assert!(policy["id"].as_str().unwrap().starts_with("ocid1.policy.oc1.."));
    let mut more = policy_with.clone();
    more["statements"] = json!([
        "allow dynamic-group orders-fns to read secret-bundles in tenancy",
        "allow dynamic-group orders-fns to use keys in tenancy"
    ]);
    let updated = env.run("oci.identity.policy", more).await.unwrap();
    assert_eq!(
        (updated["operation"].as_str(), updated["statements"].as_array().map(Vec::len)),
        (Some("update"), Some(2))
    );
    let mut absent = policy_with;
    absent["ensure"] = json!("absent");
    assert_eq!(env.run("oci.identity.policy", absent.clone()).await.unwrap()["operation"], "delete");
    assert_eq!(env.run("oci.identity.policy", absent).await.unwrap()["operation"], "absent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_kinds_and_secret_versions_without_showing_the_value() {
    let env = Env::start().await;
    let t = env.tenancy();
    let vault = env
        .create_then_noop(
            "oci.kms.vault",
            json!({"region": PHX, "compartmentId": t, "displayName": "orders-vault", "vaultType": "DEFAULT"}),
        )
        .await;
    let key = env
        .create_then_noop(
            "oci.kms.key",
            json!({"region": PHX, "compartmentId": t, "displayName": "orders-key", "vaultId": vault["id"],
                   "keyShape": {"algorithm": "AES", "length": 32}}),
        )
        .await;
    assert_eq!(key["lifecycleState"], "ENABLED");
    let err = env
        .run_ctx(
            "oci.kms.key",
            json!({"region": PHX, "compartmentId": t, "displayName": "k2", "vaultId": "ocid1.vault.oc1.phx.nosuch",
                   "keyShape": {"algorithm": "AES", "length": 32}}),
            &ctx("key-2"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "oci.kms.key `k2` in us-phoenix-1: the vault named by `vaultId` does not exist in this region: converge the vault first (refs or depends_on)"
    );
    let secret_with = json!({"region": PHX, "compartmentId": t, "secretName": "orders-db-password", "vaultId": vault["id"],
                             "keyId": key["id"], "description": "db", "secretContent": "first-value"});
    let secret = env.create_then_noop("oci.vault.secret", secret_with.clone()).await;
    assert!(!secret.contains_key("secretContent"));
    let mut rotated = secret_with.clone();
    rotated["secretContent"] = json!("second-value");
    let refreshed = env.refresh("oci.vault.secret", rotated.clone()).await.unwrap();
    assert_eq!(
        refreshed.change,
        Change::Update(vec![FieldDiff {
            path: "secretContent".into(),
            current: json!("(secret)"),
            desired: json!("(secret)")
        }])
    );
    let out = env.run("oci.vault.secret", rotated.clone()).await.unwrap();
    assert_eq!((out["operation"].as_str(), out["currentVersionNumber"].as_u64()), (Some("update"), Some(2)));
    assert!(!serde_json::to_string(&out).unwrap().contains("second-value"));
    let bundle =
        env.get(Service::Secrets, PHX, &format!("/20190301/secretbundles/{}", secret["id"].as_str().unwrap())).await;
    assert_eq!(bundle["secretBundleContent"]["content"], "c2Vjb25kLXZhbHVl");
    // The version before is PREVIOUS; nothing is PENDING; a stage OCI does not have is refused.
    let path = format!("/20190301/secretbundles/{}", secret["id"].as_str().unwrap());
    let previous = env.get(Service::Secrets, PHX, &format!("{path}?stage=PREVIOUS")).await;
    assert_eq!((previous["versionNumber"].as_u64(), &previous["stages"]), (Some(1), &json!(["PREVIOUS"])));
    for (stage, status) in [("PENDING", 404), ("BOGUS", 400)] {
        let request = OciRequest::new(Method::GET, Service::Secrets, PHX, format!("{path}?stage={stage}"));
        let err = env.sim.client().send(request).await.expect_err(stage);
        assert!(err.to_string().contains(&status.to_string()), "{stage}: {err}");
    }
    // Content given with stage PENDING waits beside the current version until it is promoted.
    let secret_path = format!("/20180608/secrets/{}", secret["id"].as_str().unwrap());
    let put =
        |body: Value| OciRequest::new(Method::PUT, Service::Vaults, PHX, secret_path.clone()).json(&body).unwrap();
    let staged = json!({"secretContent": {"contentType": "BASE64", "content": "dGhpcmQ=", "stage": "PENDING"}});
    env.sim.client().send(put(staged)).await.unwrap();
    let current = env.get(Service::Secrets, PHX, &path).await;
    assert_eq!((current["versionNumber"].as_u64(), &current["stages"]), (Some(2), &json!(["CURRENT"])));
    let pending = env.get(Service::Secrets, PHX, &format!("{path}?stage=PENDING")).await;
    assert_eq!((pending["versionNumber"].as_u64(), &pending["stages"]), (Some(3), &json!(["PENDING", "LATEST"])));
    assert_eq!(env.run("oci.vault.secret", rotated.clone()).await.unwrap()["operation"], "none");
    env.sim.client().send(put(json!({"currentVersionNumber": 3}))).await.unwrap();
    let promoted = env.get(Service::Secrets, PHX, &path).await;
    assert_eq!((promoted["versionNumber"].as_u64(), &promoted["stages"]), (Some(3), &json!(["CURRENT", "LATEST"])));
    let previous = env.get(Service::Secrets, PHX, &format!("{path}?stage=PREVIOUS")).await;
    assert_eq!(previous["versionNumber"].as_u64(), Some(2));
    let err = env.sim.client().send(put(json!({"currentVersionNumber": 9}))).await.expect_err("no version 9");
    assert!(err.to_string().contains("400"), "{err}");
    // Deletion is scheduled; PENDING_DELETION counts as gone.
    let mut absent = rotated.clone();
    absent["ensure"] = json!("absent");
    let deleted = env.run("oci.vault.secret", absent.clone()).await.unwrap();
    assert_eq!(
        (deleted["operation"].as_str(), deleted["lifecycleState"].as_str()),
        (Some("delete"), Some("PENDING_DELETION"))
    );
    assert_eq!(env.run("oci.vault.secret", absent).await.unwrap()["operation"], "absent");
    // Asking for it again restores it rather than colliding with the name.
    let restored = env.run("oci.vault.secret", rotated).await.unwrap();
    assert_eq!((restored["operation"].as_str(), restored["lifecycleState"].as_str()), (Some("update"), Some("ACTIVE")));

    // A key disabled and then scheduled for deletion: restoring it gives back DISABLED, which
    // the task takes as settled rather than waiting for ENABLED until its timeout.
    let key_path = format!("/20180608/keys/{}", key["id"].as_str().unwrap());
    let action = |name: &str, body: Value| {
        OciRequest::new(Method::POST, Service::Kms, PHX, format!("{key_path}/actions/{name}")).json(&body).unwrap()
    };
    env.sim.client().send(action("disable", json!({}))).await.unwrap();
    for _ in 0..100 {
        if env.get(Service::Kms, PHX, &key_path).await["lifecycleState"] == "DISABLED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    env.sim.client().send(action("scheduleDeletion", json!({}))).await.unwrap();
    let key_with = json!({"region": PHX, "compartmentId": t, "displayName": "orders-key", "vaultId": vault["id"],
                          "keyShape": {"algorithm": "AES", "length": 32}});
    let back = tokio::time::timeout(std::time::Duration::from_secs(10), env.run("oci.kms.key", key_with)).await;
    let back = back.expect("the key task must not wait for ENABLED").unwrap();
    assert_eq!(back["lifecycleState"], "DISABLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_monitoring_and_registry_kinds() {
    let env = Env::start().await;
    let t = env.tenancy();
    let group = env
        .create_then_noop(
            "oci.logging.log_group",
            json!({"region": PHX, "compartmentId": t, "displayName": "orders-logs", "description": "orders"}),
        )
        .await;
    let log = env
        .create_then_noop(
            "oci.logging.log",
            json!({"region": PHX, "displayName": "invoke", "logGroupId": group["id"], "logType": "CUSTOM", "retentionDuration": 30}),
        )
        .await;
    assert_eq!(log["logGroupId"], group["id"]);
    let function_id = "ocid1.fnfunc.oc1.phx.validate";
    let alarm = env
        .create_then_noop(
            "oci.monitoring.alarm",
            json!({"region": PHX, "compartmentId": t, "displayName": "orders-errors", "metricCompartmentId": t,
                   "namespace": "oci_faas", "severity": "CRITICAL", "destinations": [], "isEnabled": true,
                   "query": "FunctionExecutionErrors[1m]{resourceId = \"@{function:orders/validate}\"}.sum() > 0",
                   "refs": {"function": {"orders/validate": {"id": function_id}}}}),
        )
        .await;
    assert_eq!(
        alarm["query"],
        format!("FunctionExecutionErrors[1m]{{resourceId = \"{function_id}\"}}.sum() > 0"),
        "a reference inside a string resolves"
    );
    env.create_then_noop(
        "oci.artifacts.container_repository",
        json!({"region": PHX, "compartmentId": t, "displayName": "orders/notify-order", "isPublic": false}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_gateway_events_connector_and_schedule_kinds_then_invoke() {
    let env = Env::start().await;
    let t = env.tenancy();
    let vcn = env.vcn(PHX, "orders-vcn").await;
    let subnet = env.subnet(PHX, &vcn).await;
    let app = env.create_then_noop("oci.functions.application", env.app_with(PHX, &subnet)).await;
    let function = env.create_then_noop("oci.functions.function", env.function_with(PHX, &app)).await;
    assert_eq!(function["invokeEndpoint"], json!(env.sim.base(PHX)));
    let gateway = env
        .create_then_noop(
            "oci.apigateway.gateway",
            json!({"region": PHX, "compartmentId": t, "displayName": "orders-gw", "endpointType": "PUBLIC", "subnetId": subnet["id"]}),
        )
        .await;
    assert!(gateway["hostname"].as_str().unwrap().ends_with(".apigateway.us-phoenix-1.oci.customer-oci.com"));
    let refs = json!({"function": {"orders/validate-order": function.clone()}, "gateway": {"orders": gateway.clone()}});
    let deployment = env
        .create_then_noop(
            "oci.apigateway.deployment",
            json!({"region": PHX, "compartmentId": t, "displayName": "orders-api", "gatewayId": "@{gateway:orders}",
                   "pathPrefix": "/orders", "refs": refs,
                   "specification": {"routes": [{"path": "/validate", "methods": ["POST"],
                       "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionId": "@{function:orders/validate-order}"}}]}}),
        )
        .await;
    assert_eq!(
        deployment["specification"]["routes"][0]["backend"]["functionId"], function["id"],
        "a nested reference resolves"
    );
    env.create_then_noop(
        "oci.events.rule",
        json!({"region": PHX, "compartmentId": t, "displayName": "orders-uploaded", "isEnabled": true,
               "condition": "{\"eventType\": [\"com.oraclecloud.objectstorage.createobject\"]}",
               "actions": {"actions": [{"actionType": "FAAS", "isEnabled": true, "functionId": "@{function:orders/validate-order}"}]},
               "refs": refs}),
    )
    .await;
    env.create_then_noop(
        "oci.sch.connector",
        json!({"region": PHX, "compartmentId": t, "displayName": "orders-logs-to-fn",
               "source": {"kind": "logging", "logSources": [{"compartmentId": t}]},
               "target": {"kind": "functions", "functionId": function["id"]}}),
    )
    .await;
    env.create_then_noop(
        "oci.scheduler.schedule",
        json!({"region": PHX, "compartmentId": t, "displayName": "nightly-stop", "action": "STOP_RESOURCE",
               "recurrenceType": "CRON", "recurrenceDetails": "0 2 * * *", "resources": [{"id": function["id"]}]}),
    )
    .await;
    // Invoke with expectations, by outputs object and by id.
    let invoked = env
        .run(
            "oci.functions.invoke",
            json!({"region": PHX, "function": function.clone(), "body": {"orderId": 42},
                   "expect": {"status": 200, "json": {"request.orderId": 42, "memoryInMBs": 256}, "contains": "validate-order"}}),
        )
        .await
        .unwrap();
    assert_eq!(invoked["status"], 200);
    assert_eq!(invoked["json"]["functionId"], function["id"]);
    assert_eq!(invoked["json"]["headers"]["content-type"], "application/json");
    assert_eq!(invoked["headers"]["fn-fdk-version"], "fdk-sim/1");
    let failed = env
        .run(
            "oci.functions.invoke",
            json!({"region": PHX, "function_id": function["id"], "body": "plain", "expect": {"json": {"request": "other"}}}),
        )
        .await
        .unwrap_err();
    assert_eq!(failed.class, drctl::actions::ErrorClass::Assertion);
    assert!(failed.message.contains("`request` is \"plain\", expected \"other\""), "{}", failed.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_reported_by_refresh_and_fixed_by_run() {
    let env = Env::start().await;
    let (_, app, function) = env.function_stack(PHX).await;
    let id = function["id"].as_str().unwrap();
    // Someone changes the function behind drctl's back.
    let client = env.sim.client();
    let req = OciRequest::new(Method::PUT, Service::Functions, PHX, format!("/20181201/functions/{id}"))
        .json(&json!({"memoryInMBs": 512, "config": {"DB_URL": "db.elsewhere"}}))
        .unwrap();
    client.send(req).await.unwrap();
    let with = env.function_with(PHX, &app);
    let refreshed = env.refresh("oci.functions.function", with.clone()).await.unwrap();
    assert_eq!(
        refreshed.change,
        Change::Update(vec![
            FieldDiff { path: "memoryInMBs".into(), current: json!(512), desired: json!(256) },
            FieldDiff { path: "config.DB_URL".into(), current: json!("db.elsewhere"), desired: json!("db.phx") },
        ])
    );
    assert_eq!(refreshed.outputs["id"], function["id"]);
    let out = env.run("oci.functions.function", with.clone()).await.unwrap();
    assert_eq!(
        (out["operation"].as_str(), out["changed"].as_bool(), out["memoryInMBs"].as_u64()),
        (Some("update"), Some(true), Some(256))
    );
    assert_eq!(
        env.get(Service::Functions, PHX, &format!("/20181201/functions/{id}")).await["config"],
        json!({"DB_URL": "db.phx"})
    );
    assert_eq!(env.refresh("oci.functions.function", with).await.unwrap().change, Change::NoChange);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_only_differences_say_the_application_must_be_recreated() {
    let env = Env::start().await;
    let (subnet, _, _) = env.function_stack(PHX).await;
    // Another task: its own idempotency key (the same key for another body is refused).
    let other = env
        .run_ctx(
            "oci.core.subnet",
            json!({"region": PHX, "compartmentId": env.tenancy(), "displayName": "app2", "vcnId": subnet["vcnId"], "cidrBlock": "10.0.2.0/24"}),
            &ctx("subnet-2"),
        )
        .await
        .unwrap();
    let mut with = env.app_with(PHX, &subnet);
    with["subnetIds"] = json!([other["id"]]);
    let err = env.run("oci.functions.application", with).await.unwrap_err();
    assert_eq!(err.class, drctl::actions::ErrorClass::Input);
    assert!(!err.retryable);
    assert!(
        err.message.starts_with("oci.functions.application `orders` in us-phoenix-1: `subnetIds` differs"),
        "{}",
        err.message
    );
    assert!(err.message.contains("the application must be recreated"), "{}", err.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ensure_absent_deletes_children_then_parents_and_waits() {
    let env = Env::start().await;
    let (subnet, app, function) = env.function_stack(PHX).await;
    let absent = |mut with: Value| {
        with["ensure"] = json!("absent");
        with
    };
    let out = env.run("oci.functions.function", absent(env.function_with(PHX, &app))).await.unwrap();
    assert_eq!((out["operation"].as_str(), out["lifecycleState"].as_str()), (Some("delete"), Some("DELETED")));
    let path = format!("/20181201/functions/{}", function["id"].as_str().unwrap());
    let state = env.get(Service::Functions, PHX, &path).await;
    assert_eq!(state["lifecycleState"], "DELETED", "the delete was waited for");
    let again = env.run("oci.functions.function", absent(env.function_with(PHX, &app))).await.unwrap();
    assert_eq!((again["operation"].as_str(), again["changed"].as_bool()), (Some("absent"), Some(false)));
    // Recreate, delete without waiting, and ask for it again at once: the run waits for the
    // deleting function to be gone, then creates a new one.
    let recreated = env.run_ctx("oci.functions.function", env.function_with(PHX, &app), &ctx("fn-2")).await.unwrap();
    let mut no_wait = absent(env.function_with(PHX, &app));
    no_wait["wait"] = json!(false);
    let deleting = env.run("oci.functions.function", no_wait).await.unwrap();
    assert_eq!(
        (deleting["operation"].as_str(), deleting["lifecycleState"].as_str()),
        (Some("delete"), Some("DELETING"))
    );
    let third = env.run_ctx("oci.functions.function", env.function_with(PHX, &app), &ctx("fn-3")).await.unwrap();
    assert_eq!(third["operation"], "create");
    assert_ne!(third["id"], recreated["id"]);
    let third_absent =
        env.run_ctx("oci.functions.function", absent(env.function_with(PHX, &app)), &ctx("fn-4")).await.unwrap();
    assert_eq!(third_absent["operation"], "delete");
    // By id, as cleanup does.
    let by_id = json!({"region": PHX, "id": app["id"], "ensure": "absent"});
    assert_eq!(env.run("oci.functions.application", by_id.clone()).await.unwrap()["operation"], "delete");
    let refreshed = env.refresh("oci.functions.application", by_id).await.unwrap();
    assert_eq!(refreshed.change, Change::Absent);
    let out = env.run("oci.core.subnet", json!({"region": PHX, "id": subnet["id"], "ensure": "absent"})).await.unwrap();
    assert_eq!(out["lifecycleState"], "TERMINATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_tags_are_added_ignored_in_comparison_and_gate_cleanup() {
    let env = Env::start().await;
    let t = env.tenancy();
    let with =
        json!({"region": PHX, "compartmentId": t, "displayName": "drill-logs", "freeformTags": {"team": "orders"}});
    let mut drill = ctx("logs");
    drill.drill = true;
    drill.run_id = "drill-42".into();
    let created = env.run_ctx("oci.logging.log_group", with.clone(), &drill).await.unwrap();
    assert_eq!(created["freeformTags"], json!({"team": "orders", "drctl-drill-run": "drill-42"}));
    let again = env.run_ctx("oci.logging.log_group", with.clone(), &drill).await.unwrap();
    assert_eq!(again["operation"], "none", "the drill tag is not a difference");
    let untagged_with = json!({"region": PHX, "compartmentId": t, "displayName": "prod-logs"});
    let untagged = env.run("oci.logging.log_group", untagged_with.clone()).await.unwrap();
    let mut cleanup = ctx("cleanup");
    cleanup.only_tagged = Some("drill-42".into());
    let kept = env
        .run_ctx("oci.logging.log_group", json!({"region": PHX, "id": untagged["id"], "ensure": "absent"}), &cleanup)
        .await
        .unwrap();
    assert_eq!((kept["operation"].as_str(), kept["changed"].as_bool()), (Some("kept"), Some(false)));
    let path = format!("/20200531/logGroups/{}", untagged["id"].as_str().unwrap());
    assert_eq!(env.get(Service::Logging, PHX, &path).await["lifecycleState"], "ACTIVE");
    let removed = env
        .run_ctx("oci.logging.log_group", json!({"region": PHX, "id": created["id"], "ensure": "absent"}), &cleanup)
        .await
        .unwrap();
    assert_eq!(removed["operation"], "delete");

    // A run that is no drill takes a drill's resource over: the drill tag goes, and that
    // drill's cleanup keeps it.
    let other =
        json!({"region": PHX, "compartmentId": t, "displayName": "taken-logs", "freeformTags": {"team": "orders"}});
    let mut drill_again = ctx("taken");
    drill_again.drill = true;
    drill_again.run_id = "drill-42".into();
    env.run_ctx("oci.logging.log_group", other.clone(), &drill_again).await.unwrap();
    let taken = env.run("oci.logging.log_group", other).await.unwrap();
    assert_eq!(taken["operation"], "update");
    assert_eq!(taken["freeformTags"], json!({"team": "orders"}));
    let kept = env
        .run_ctx("oci.logging.log_group", json!({"region": PHX, "id": taken["id"], "ensure": "absent"}), &cleanup)
        .await
        .unwrap();
    assert_eq!(kept["operation"], "kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unresolved_references_are_input_errors_naming_the_keys() {
    let env = Env::start().await;
    let err = env
        .run(
            "oci.core.subnet",
            json!({"region": PHX, "compartmentId": env.tenancy(), "displayName": "app", "cidrBlock": "10.0.1.0/24",
                   "vcnId": "@{vcn:payments-vcn}", "refs": {"vcn": {"orders-vcn": {"id": "ocid1.vcn.oc1.phx.x"}}}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class, drctl::actions::ErrorClass::Input);
    assert_eq!(
        err.message,
        "oci.core.subnet: reference `@{vcn:payments-vcn}` at `vcnId` is not resolved: refs.vcn has `orders-vcn`"
    );
}

/// A TCP relay that forwards everything to `upstream` but swallows the answer to the first
/// request whose head contains `trigger`, then drops that connection: a lost response.
async fn lossy_relay(upstream: String, trigger: &'static str) -> (String, Arc<AtomicBool>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fired = Arc::new(AtomicBool::new(false));
    let seen = fired.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let fired = fired.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let lose = Arc::new(AtomicBool::new(false));
                let lose_up = lose.clone();
                let up = tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        let text = String::from_utf8_lossy(&buf[..n]);
                        if text.contains(trigger) && !fired.swap(true, Ordering::SeqCst) {
                            lose_up.store(true, Ordering::SeqCst);
                        }
                    }
                });
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 || lose.load(Ordering::SeqCst) {
                        break;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                up.abort();
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_is_retried_with_the_same_token_and_creates_once() {
    let env = Env::start().await;
    let upstream = env.sim.base(PHX).trim_start_matches("http://").to_string();
    let (relay, lost) = lossy_relay(upstream, "POST /20160918/vcns").await;
    let endpoints = env.sim.path().join("lossy-endpoints.json");
    std::fs::write(&endpoints, json!({PHX: relay, IAD: env.sim.base(IAD)}).to_string()).unwrap();
    let actions = builtin_with(settings(&env.sim, endpoints));
    let with = json!({"region": PHX, "compartmentId": env.tenancy(), "displayName": "lossy-vcn", "cidrBlocks": ["10.0.0.0/16"]});
    let c = ctx("lossy");
    let out = actions.get("oci.core.vcn").unwrap().run(&c, with.clone()).await.unwrap();
    assert_eq!(out["operation"], "create");
    assert!(lost.load(Ordering::SeqCst), "the relay swallowed the first create's answer");
    // The same task again (a resumed run): same key, still one VCN.
    let again = actions.get("oci.core.vcn").unwrap().run(&c, with).await.unwrap();
    assert_eq!((again["operation"].as_str(), &again["id"]), (Some("none"), &out["id"]));
    let list = env.get(Service::Core, PHX, &format!("/20160918/vcns?compartmentId={}", env.tenancy())).await;
    assert_eq!(names(&list, "displayName"), vec!["lossy-vcn"], "the retried create was replayed, not repeated");
}

// Through the binary.

fn write_runbook(sb: &Sandbox, text: &str) {
    sb.write("rb.yaml", text);
}

async fn drctl(sb: &Sandbox, sim: &TestSim, args: &[&str]) -> support::Ran {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend([
        "--config-file".into(),
        sim.path().join("config").display().to_string(),
        "--endpoints".into(),
        sim.endpoints_file().display().to_string(),
    ]);
    let dir = sb.path().to_path_buf();
    // The simulator serves from this process: run the binary off the runtime's threads.
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(support::drctl_bin())
            .args(&all)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .env_remove("DRCTL_STATE_DIR")
            .output()
            .unwrap();
        support::Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

const STACK: &str = r#"version: 1
name: orders-dr
params:
  region: { type: string, default: us-phoenix-1 }
  compartment: { type: string }
  expect_op: { type: string, default: create }
  image: { type: string }
tasks:
  vcn:
    uses: oci.core.vcn
    with:
      region: "${{ params.region }}"
      compartmentId: "${{ params.compartment }}"
      displayName: orders-vcn
      cidrBlocks: [10.0.0.0/16]
  subnet:
    uses: oci.core.subnet
    with:
      region: "${{ params.region }}"
      refs: { vcn: { orders-vcn: "${{ tasks.vcn.outputs }}" } }
      fields: { compartmentId: "${{ params.compartment }}", vcnId: "@{vcn:orders-vcn}" }
      displayName: app
      cidrBlock: 10.0.1.0/24
  app:
    uses: oci.functions.application
    with:
      region: "${{ params.region }}"
      compartmentId: "${{ params.compartment }}"
      displayName: orders
      subnetIds: ["${{ tasks.subnet.outputs.id }}"]
  fn:
    uses: oci.functions.function
    with:
      region: "${{ params.region }}"
      refs: { application: { orders: "${{ tasks.app.outputs }}" } }
      displayName: validate-order
      applicationId: "@{application:orders}"
      image: "${{ params.image }}"
      memoryInMBs: 256
  smoke:
    uses: oci.functions.invoke
    with:
      region: "${{ params.region }}"
      function: "${{ tasks.fn.outputs }}"
      body: { ping: true }
      expect: { status: 200, json: { "request.ping": true } }
  check:
    uses: assert
    depends_on: [smoke]
    with:
      actual: "${{ tasks.fn.outputs.operation }}"
      expected: "${{ params.expect_op }}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_converges_a_function_stack_and_a_rerun_changes_nothing() {
    let sim = TestSim::start(|_| {}).await;
    let sb = Sandbox::new();
    write_runbook(&sb, STACK);
    let compartment = format!("compartment={}", sim.identity.tenancy);
    push_function_image(&sim).await;
    let image = format!("image={}", function_image(&sim, PHX));
    let first = drctl(&sb, &sim, &["run", "rb.yaml", "-p", &compartment, "-p", &image]).await;
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let second = drctl(&sb, &sim, &["run", "rb.yaml", "-p", &compartment, "-p", &image, "-p", "expect_op=none"]).await;
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let client = sim.client();
    let apps: Value = client
        .send_json(
            OciRequest::new(Method::GET, Service::Functions, PHX, "/20181201/applications")
                .query("compartmentId", &sim.identity.tenancy),
        )
        .await
        .unwrap();
    assert_eq!(names(&apps, "displayName"), vec!["orders"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_with_a_bad_reference_fails_naming_it() {
    let sim = TestSim::start(|_| {}).await;
    let sb = Sandbox::new();
    write_runbook(
        &sb,
        r#"version: 1
name: bad-ref
params:
  compartment: { type: string }
tasks:
  subnet:
    uses: oci.core.subnet
    with:
      region: us-phoenix-1
      compartmentId: "${{ params.compartment }}"
      displayName: app
      cidrBlock: 10.0.1.0/24
      vcnId: "@{vcn:orders}"
"#,
    );
    let compartment = format!("compartment={}", sim.identity.tenancy);
    let ran = drctl(&sb, &sim, &["run", "rb.yaml", "-p", &compartment]).await;
    assert_ne!(ran.code, 0);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(all.contains("reference `@{vcn:orders}` at `vcnId` is not resolved"), "{all}");
    write_runbook(
        &sb,
        "version: 1\nname: x\ntasks:\n  v:\n    uses: oci.core.vcn\n    with: { displayName: a, ensure: maybe }\n",
    );
    let invalid = drctl(&sb, &sim, &["validate", "rb.yaml"]).await;
    assert_ne!(invalid.code, 0);
    assert!(invalid.stderr.contains("missing input `region`"), "{}", invalid.stderr);
    assert!(invalid.stderr.contains("expected `present` or `absent`"), "{}", invalid.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_run_tags_what_it_creates_with_its_run_id() {
    let sim = TestSim::start(|_| {}).await;
    let sb = Sandbox::new();
    write_runbook(&sb, STACK);
    let compartment = format!("compartment={}", sim.identity.tenancy);
    push_function_image(&sim).await;
    let image = format!("image={}", function_image(&sim, PHX));
    let ran = drctl(&sb, &sim, &["run", "rb.yaml", "--drill", "-p", &compartment, "-p", &image]).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let run_id = ran.run_id();
    let client = sim.client();
    let vcns: Value = client
        .send_json(
            OciRequest::new(Method::GET, Service::Core, PHX, "/20160918/vcns")
                .query("compartmentId", &sim.identity.tenancy),
        )
        .await
        .unwrap();
    assert_eq!(vcns[0]["freeformTags"], json!({"drctl-drill-run": run_id}));
}
