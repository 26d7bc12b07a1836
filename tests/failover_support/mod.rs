//! A seeded `drctl sim` running as its own process, and the real `drctl` driving
//! `runbooks/oci-functions-failover.yaml` against it, for the failover scenarios of
//! `tests/failover.rs`. What the destination should hold is derived from
//! `examples/orders-api/inventory.yaml`, never written out by hand.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use crate::support::{Ran, Sandbox};

pub const SOURCE: &str = "us-ashburn-1";
pub const DEST: &str = "us-phoenix-1";

/// Each converge task of the runbook, the inventory list it iterates, the simulator kind it
/// writes (as `drctl sim dump` names it) and the field that names a resource.
pub const CONVERGE: &[(&str, &str, &str, &str)] = &[
    ("vcns", "vcns", "core.vcn", "displayName"),
    ("service-gateways", "service_gateways", "core.servicegateway", "displayName"),
    ("route-tables", "route_tables", "core.routetable", "displayName"),
    ("security-lists", "security_lists", "core.securitylist", "displayName"),
    ("nsgs", "nsgs", "core.networksecuritygroup", "displayName"),
    ("subnets", "subnets", "core.subnet", "displayName"),
    ("dynamic-groups", "dynamic_groups", "identity.dynamicgroup", "name"),
    ("policies", "policies", "identity.policy", "name"),
    ("vaults", "vaults", "kms.vault", "displayName"),
    ("keys", "keys", "kms.key", "displayName"),
    ("secrets", "secrets", "vault.secret", "secretName"),
    ("repositories", "repositories", "artifacts.containerrepository", "displayName"),
    ("log-groups", "log_groups", "logging.loggroup", "displayName"),
    ("applications", "applications", "functions.application", "displayName"),
    ("logs", "logs", "logging.log", "displayName"),
    ("functions", "functions", "functions.function", "displayName"),
    ("gateways", "gateways", "apigateway.gateway", "displayName"),
    ("deployments", "deployments", "apigateway.deployment", "displayName"),
    ("alarms", "alarms", "monitoring.alarm", "displayName"),
    ("events-rules", "events_rules", "events.rule", "displayName"),
    ("connectors", "connectors", "sch.serviceconnector", "displayName"),
    ("schedules", "schedules", "resourcescheduler.schedule", "displayName"),
];

pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn inventory_path() -> PathBuf {
    repo_file("examples/orders-api/inventory.yaml")
}

/// The example inventory as JSON.
pub fn inventory() -> Value {
    serde_json::to_value(drctl::inventory::load(&inventory_path()).unwrap()).unwrap()
}

/// Kind → sorted names of every resource the inventory holds, as the destination should
/// hold them after a failover (one each).
pub fn expected_resources() -> BTreeMap<String, Vec<String>> {
    let inv = inventory();
    CONVERGE
        .iter()
        .map(|(_, list, kind, field)| {
            let mut names: Vec<String> = inv[list]
                .as_array()
                .map(|items| items.iter().map(|i| i["spec"][field].as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            names.sort();
            (kind.to_string(), names)
        })
        .collect()
}

/// Kind → sorted names of the live resources of a region's dump, for every kind a converge
/// task writes. A name listed twice means a duplicate.
pub fn resources_by_name(dump: &Value) -> BTreeMap<String, Vec<String>> {
    // What OCI makes with every VCN (its default route table and security list) is no task's.
    let defaults: Vec<&str> = dump["core.vcn"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|v| ["defaultRouteTableId", "defaultSecurityListId"].map(|f| v[f].as_str().unwrap_or_default()))
        .collect();
    CONVERGE
        .iter()
        .map(|(_, _, kind, field)| {
            let mut names: Vec<String> = dump[kind]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter(|r| !matches!(r["lifecycleState"].as_str(), Some("DELETED" | "DELETING")))
                        .filter(|r| !defaults.contains(&r["id"].as_str().unwrap_or_default()))
                        .map(|r| r[field].as_str().unwrap_or("<unnamed>").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            (kind.to_string(), names)
        })
        .collect()
}

/// Instance ids (`task[key]`) of every converge task, from the inventory.
pub fn converge_instances() -> Vec<String> {
    let inv = inventory();
    let mut ids = Vec::new();
    for (task, list, _, _) in CONVERGE {
        for item in inv[list].as_array().into_iter().flatten() {
            ids.push(format!("{task}[{}]", item["key"].as_str().unwrap()));
        }
    }
    ids.sort();
    ids
}

/// Every task instance a failover of the inventory runs.
pub fn all_instances() -> Vec<String> {
    let inv = inventory();
    let mut ids = converge_instances();
    ids.push("distinct-regions".into());
    ids.push("inventory".into());
    ids.push("approve-cutover".into());
    let per = |task: &str, list: &str, ids: &mut Vec<String>| {
        for item in inv[list].as_array().into_iter().flatten() {
            ids.push(format!("{task}[{}]", item["key"].as_str().unwrap()));
        }
    };
    per("images", "functions", &mut ids);
    per("invoke-functions", "functions", &mut ids);
    per("read-secrets", "secrets", &mut ids);
    per("check-logs", "logs", &mut ids);
    per("check-alarms", "alarms", &mut ids);
    // One route check per route of every deployment, keyed "<deployment> <METHOD> <path>".
    for d in inv["deployments"].as_array().into_iter().flatten() {
        for route in d["spec"]["specification"]["routes"].as_array().into_iter().flatten() {
            for method in route["methods"].as_array().into_iter().flatten() {
                ids.push(format!(
                    "gateway-routes[{} {} {}]",
                    d["key"].as_str().unwrap(),
                    method.as_str().unwrap(),
                    route["path"].as_str().unwrap()
                ));
            }
        }
    }
    ids.sort();
    ids
}

/// The login the simulator's registries want (user, password).
pub const REGISTRY_LOGIN: (&str, &str) = ("drctlsim/e2e", "an-auth-token");

/// A seeded simulator process in a sandbox, stopped when dropped.
pub struct World {
    pub sb: Sandbox,
    sim: Child,
}

impl World {
    /// `drctl sim init sim`, then `drctl sim --dir sim --seed <inventory> --state sim/state.json`
    /// plus `extra`, waiting for its endpoints file. Its registries want a login, as OCIR's do
    /// ([`REGISTRY_LOGIN`]), which drctl finds in its environment.
    pub fn start(extra: &[&str]) -> World {
        let sb = Sandbox::new();
        let init = sb.run(&["sim", "init", "sim"]);
        assert_eq!(init.code, 0, "{}", init.stderr);
        let seed = inventory_path();
        let login = format!("{}:{}", REGISTRY_LOGIN.0, REGISTRY_LOGIN.1);
        let mut args = vec!["sim", "--dir", "sim", "--seed", seed.to_str().unwrap(), "--state", "sim/state.json"];
        args.extend_from_slice(&["--registry-auth", &login]);
        args.extend_from_slice(extra);
        let log = std::fs::File::create(sb.path().join("sim.log")).unwrap();
        let sim = sb.command(&args).stdout(Stdio::null()).stderr(log).spawn().unwrap();
        let mut world = World { sb, sim };
        let endpoints = world.sb.path().join("sim/endpoints.json");
        let started = Instant::now();
        while !endpoints.exists() {
            if let Ok(Some(status)) = world.sim.try_wait() {
                panic!("simulator exited with {status}: {}", world.sb.read("sim.log"));
            }
            assert!(started.elapsed() < Duration::from_secs(30), "endpoints.json never appeared");
            std::thread::sleep(Duration::from_millis(25));
        }
        world
    }

    pub fn path(&self) -> &Path {
        self.sb.path()
    }

    /// `drctl --config-file sim/config --endpoints sim/endpoints.json ARGS`, logged in to the
    /// simulator's registries through the environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut all = vec!["--config-file", "sim/config", "--endpoints", "sim/endpoints.json"];
        all.extend_from_slice(args);
        let mut command = self.sb.command(&all);
        command.env("DRCTL_REGISTRY_USER", REGISTRY_LOGIN.0).env("DRCTL_REGISTRY_PASSWORD", REGISTRY_LOGIN.1);
        command
    }

    pub fn drctl(&self, args: &[&str]) -> Ran {
        let out = self.command(args).output().unwrap();
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The arguments of `drctl run` for the failover, before `extra`.
    pub fn run_args(extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "run".into(),
            repo_file("runbooks/oci-functions-failover.yaml").display().to_string(),
            "--params-file".into(),
            repo_file("examples/orders-api/params.yaml").display().to_string(),
            "--param".into(),
            format!("inventory_file={}", inventory_path().display()),
            "--yes".into(),
            "--progress".into(),
            "plain".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// `drctl run` of the failover, to its end.
    pub fn failover(&self, extra: &[&str]) -> Ran {
        let args = Self::run_args(extra);
        self.drctl(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The failover that must succeed: its run id.
    pub fn failover_ok(&self, extra: &[&str]) -> String {
        let ran = self.failover(extra);
        assert_eq!(ran.code, 0, "run failed:\n{}\n{}", ran.stdout, ran.stderr);
        let run = ran.run_id();
        self.assert_all_succeeded(&run);
        run
    }

    /// Every instance of the run succeeded, and they are exactly the failover's instances.
    pub fn assert_all_succeeded(&self, run: &str) {
        let states = self.sb.task_states(run);
        let ids: Vec<String> = states.keys().cloned().collect();
        assert_eq!(ids, all_instances());
        let not_ok: Vec<_> = states.iter().filter(|(_, (s, _))| s != "succeeded").collect();
        assert!(not_ok.is_empty(), "instances that did not succeed: {not_ok:?}");
        assert_eq!(self.sb.status(run)["state"], "succeeded");
    }

    /// `drctl sim dump --dir sim --region REGION`: that region's object.
    pub fn dump(&self, region: &str) -> Value {
        let ran = self.sb.run(&["sim", "dump", "--dir", "sim", "--region", region]);
        assert_eq!(ran.code, 0, "dump: {}", ran.stderr);
        let mut all: Value = serde_json::from_str(&ran.stdout).unwrap();
        all[region].take()
    }

    /// `drctl sim fault --dir sim REGION ARGS...`.
    pub fn fault(&self, region: &str, args: &[&str]) {
        let mut all = vec!["sim", "fault", "--dir", "sim", region];
        all.extend_from_slice(args);
        let ran = self.sb.run(&all);
        assert_eq!(ran.code, 0, "fault {args:?}: {}", ran.stderr);
    }

    /// The outputs of every instance's last `done` record in the run's journal, by
    /// instance id (`task` or `task[key]`).
    pub fn done_outputs(&self, run: &str) -> BTreeMap<String, Value> {
        let journal = self.sb.read(&format!(".drctl/runs/{run}/journal.log"));
        let mut out = BTreeMap::new();
        for line in journal.lines() {
            // Each line is `<crc32 hex> <json>`.
            let Some((_, json)) = line.split_once(' ') else { continue };
            let Ok(record) = serde_json::from_str::<Value>(json) else { continue };
            if record["t"] != "done" {
                continue;
            }
            let task = record["task"].as_str().unwrap();
            let id = match record["key"].as_str() {
                Some(key) => format!("{task}[{key}]"),
                None => task.to_owned(),
            };
            out.insert(id, record["outputs"].clone());
        }
        out
    }

    /// `operation` of every converge instance of the run.
    pub fn operations(&self, run: &str) -> BTreeMap<String, String> {
        let outputs = self.done_outputs(run);
        converge_instances()
            .into_iter()
            .map(|id| {
                let op = outputs.get(&id).and_then(|o| o["operation"].as_str()).unwrap_or("<missing>").to_owned();
                (id, op)
            })
            .collect()
    }

    /// The region's registry as `(repository, tag, digest)`.
    pub fn images(&self, dump: &Value) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for repo in dump["registry"]["repositories"].as_array().into_iter().flatten() {
            for (tag, digest) in repo["tags"].as_object().into_iter().flatten() {
                out.push((repo["name"].as_str().unwrap().to_owned(), tag.clone(), digest.as_str().unwrap().to_owned()));
            }
        }
        out.sort();
        out
    }

    /// The simulator's registry address (`127.0.0.1:PORT`) for a region.
    pub fn registry_host(&self, region: &str) -> String {
        let map: Value = serde_json::from_str(&self.sb.read("sim/endpoints.json")).unwrap();
        map[region].as_str().unwrap().trim_start_matches("http://").trim_end_matches('/').to_owned()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.sim.kill();
        let _ = self.sim.wait();
    }
}

/// `(repository, tag, digest)` of every function image the inventory records.
pub fn expected_images() -> Vec<(String, String, String)> {
    let inv = inventory();
    let mut out: Vec<_> = inv["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let i = &f["image"];
            (
                i["repository"].as_str().unwrap().to_owned(),
                i["tag"].as_str().unwrap().to_owned(),
                i["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}
