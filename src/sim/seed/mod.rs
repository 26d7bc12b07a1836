//! Seeding (contract C4): creates an inventory's resources ACTIVE in its source region —
//! the compartment with the inventory's id first, then every list in dependency order,
//! each spec's `@{kind:key}` resolved to the ids just made — and pushes one image per
//! function built from `<inventory dir>/functions/<function name>/` (see `image.rs`).
//! Secrets get the placeholder value `seeded-<name>`; an inventory never holds values.
//!
//! Creates go through the same code as the API (`resource::create_body`), so every spec is
//! checked as a client's would be; only the wait for ACTIVE is skipped.

pub mod image;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::call::Call;
use super::context::{RegionCtx, Sim};
use super::errors::ApiError;
use super::ocid::new_etag;
use super::registry::access::{ensure_repository, refresh_counts};
use super::registry::state::{sha256_digest, Bytes64, StoredManifest};
use super::resource::{create_body, Kind};
use super::services::{
    apigateway, artifacts, core, events, functions, identity, logging, monitoring, sch, scheduler, vault,
};
use super::store::{now_ms, rfc3339, Resource};
use crate::inventory::refs::{resolve, Ids};
use crate::inventory::{Inventory, InventoryError, Item, LISTS};

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("the inventory's region {region} is not served by this simulator (serving {served})")]
    Region { region: String, served: String },
    #[error("the inventory's namespace is {wanted} but the simulator's is {actual}; start it with --seed so it takes the inventory's")]
    Namespace { wanted: String, actual: String },
    #[error("{at}: the simulator refused the create: {status} {code}: {message}")]
    Refused { at: String, status: u16, code: String, message: String },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot build the image of {dir}: {detail}")]
    Image { dir: PathBuf, detail: String },
    #[error("{at}: the image built from {dir} has digest {built}, but the inventory records {recorded}")]
    ImageDigest { at: String, dir: PathBuf, built: String, recorded: String },
}

/// What seeding did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedReport {
    /// `kind` → `key` → OCID of every resource created.
    pub ids: Ids,
    /// `(repository, tag, digest)` of every image pushed.
    pub images: Vec<(String, String, String)>,
    /// True when the compartment existed already (a state file was loaded): nothing was done.
    pub skipped: bool,
}

impl SeedReport {
    pub fn resources(&self) -> usize {
        self.ids.values().map(|keys| keys.len()).sum()
    }
}

/// Lists in the order they are created: parents and referenced resources first.
const ORDER: [&str; 22] = [
    "vcns",
    "service_gateways",
    "route_tables",
    "security_lists",
    "nsgs",
    "subnets",
    "dynamic_groups",
    "policies",
    "vaults",
    "keys",
    "secrets",
    "log_groups",
    "repositories",
    "applications",
    "functions",
    "logs",
    "alarms",
    "gateways",
    "deployments",
    "events_rules",
    "connectors",
    "schedules",
];

fn kind_of(list: &str) -> Option<&'static Kind> {
    Some(match list {
        "vcns" => &core::VCN,
        "service_gateways" => &core::SERVICE_GATEWAY,
        "route_tables" => &core::ROUTE_TABLE,
        "security_lists" => &core::SECURITY_LIST,
        "nsgs" => &core::NSG,
        "subnets" => &core::SUBNET,
        "dynamic_groups" => &identity::DYNAMIC_GROUP,
        "policies" => &identity::POLICY,
        "vaults" => &vault::VAULT,
        "keys" => &vault::KEY,
        "secrets" => &vault::SECRET,
        "log_groups" => &logging::LOG_GROUP,
        "logs" => &logging::LOG,
        "alarms" => &monitoring::ALARM,
        "repositories" => &artifacts::REPOSITORY,
        "applications" => &functions::APPLICATION,
        "functions" => &functions::FUNCTION,
        "gateways" => &apigateway::GATEWAY,
        "deployments" => &apigateway::DEPLOYMENT,
        "events_rules" => &events::RULE,
        "connectors" => &sch::CONNECTOR,
        "schedules" => &scheduler::SCHEDULE,
        _ => return None,
    })
}

fn refused(at: &str, e: ApiError) -> SeedError {
    SeedError::Refused { at: at.to_string(), status: e.status, code: e.code.to_string(), message: e.message }
}

/// Seeds `sim` with `inventory`; `base_dir` is the inventory file's directory (function
/// sources are under `base_dir/functions/`).
pub fn seed(sim: &Arc<Sim>, inventory: &Inventory, base_dir: &Path) -> Result<SeedReport, SeedError> {
    let region = inventory.source.region.clone();
    if !sim.settings.regions.contains(&region) {
        return Err(SeedError::Region { region, served: sim.settings.regions.join(", ") });
    }
    if inventory.source.namespace != sim.settings.namespace {
        return Err(SeedError::Namespace {
            wanted: inventory.source.namespace.clone(),
            actual: sim.settings.namespace.clone(),
        });
    }
    let ctx = RegionCtx { sim: sim.clone(), region };
    let home = RegionCtx { sim: sim.clone(), region: sim.settings.home_region.clone() };
    if !create_compartment(&ctx, &inventory.source.compartment_id) {
        return Ok(SeedReport { skipped: true, ..SeedReport::default() });
    }
    let mut report = SeedReport::default();
    for list in ORDER {
        let (Some(kind), Some(ref_kind)) = (kind_of(list), LISTS.iter().find(|l| l.list == list).map(|l| l.kind))
        else {
            continue;
        };
        for (i, item) in inventory.list(list).iter().enumerate() {
            let at = format!("{list}[{i}] ({})", item.key);
            if list == "functions" {
                push_function_image(&ctx, inventory, item, base_dir, &at, &mut report)?;
            }
            let body = body_for(list, item, inventory, &ctx, &report.ids, &at)?;
            let target = if kind.global { &home } else { &ctx };
            let (view, _) = create_body(target, kind, body, Map::new()).map_err(|e| refused(&at, e))?;
            let id = view.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            activate(sim, &id, kind);
            if list == "nsgs" && !item.rules.is_empty() {
                add_rules(&ctx, &id, item, &report.ids, &at)?;
            }
            report.ids.entry(ref_kind.to_string()).or_default().insert(item.key.clone(), id);
        }
    }
    Ok(report)
}

/// Creates the inventory's compartment with its own id; false when it exists already.
fn create_compartment(ctx: &RegionCtx, id: &str) -> bool {
    let mut store = ctx.sim.store();
    if store.resources.contains_key(id) {
        return false;
    }
    let name = id.rsplit('.').next().filter(|n| !n.is_empty()).unwrap_or("seeded");
    let now = rfc3339(now_ms());
    store.insert(Resource {
        kind: identity::COMPARTMENT.name.into(),
        region: ctx.sim.settings.home_region.clone(),
        global: true,
        id: id.to_string(),
        etag: new_etag(),
        seq: 0,
        body: json!({
            "id": id, "compartmentId": ctx.sim.settings.tenancy, "name": name,
            "description": "Seeded from an inventory", "lifecycleState": "ACTIVE", "timeCreated": now,
            "timeUpdated": now, "isAccessible": true, "freeformTags": {}, "definedTags": {},
        }),
        pending: None,
        gone_at_ms: None,
    });
    drop(store);
    ctx.sim.touch();
    true
}

/// The create body of an item: its spec with references resolved and the compartment set.
fn body_for(
    list: &str,
    item: &Item,
    inventory: &Inventory,
    ctx: &RegionCtx,
    ids: &Ids,
    at: &str,
) -> Result<Map<String, Value>, SeedError> {
    let mut body = resolve(&Value::Object(item.spec.clone()), ids, at)?.as_object().cloned().unwrap_or_default();
    // Dynamic groups live at the tenancy's root, as OCI requires.
    let compartment = if list == "dynamic_groups" {
        ctx.sim.settings.tenancy.clone()
    } else {
        inventory.source.compartment_id.clone()
    };
    body.insert("compartmentId".into(), json!(compartment));
    match list {
        "service_gateways" if body.get("services") == Some(&json!("all")) => {
            let all = core::services(&ctx.region).into_iter().next().and_then(|s| s.get("id").cloned());
            body.insert("services".into(), json!([{ "serviceId": all }]));
        }
        "secrets" => {
            let name = body.get("secretName").and_then(Value::as_str).unwrap_or(&item.key).to_string();
            let content = BASE64.encode(format!("seeded-{name}"));
            body.insert("secretContent".into(), json!({"contentType": "BASE64", "content": content}));
        }
        _ => {}
    }
    Ok(body)
}

/// Seeded resources are ACTIVE at once; nothing waits for them.
fn activate(sim: &Sim, id: &str, kind: &Kind) {
    let mut store = sim.store();
    if let Some(r) = store.resources.get_mut(id) {
        r.pending = None;
        r.set_state(kind.lifecycle.active);
    }
}

fn add_rules(ctx: &RegionCtx, nsg: &str, item: &Item, ids: &Ids, at: &str) -> Result<(), SeedError> {
    let rules = resolve(&Value::Array(item.rules.clone()), ids, at)?;
    let call = Call {
        params: [("id".to_string(), nsg.to_string())].into_iter().collect(),
        body: serde_json::to_vec(&json!({ "securityRules": rules })).unwrap_or_default().into(),
        ..Call::default()
    };
    core::add_rules(ctx, &call).map(drop).map_err(|e| refused(at, e))
}

/// Builds and pushes the image of a function whose source directory exists.
fn push_function_image(
    ctx: &RegionCtx,
    inventory: &Inventory,
    item: &Item,
    base_dir: &Path,
    at: &str,
    report: &mut SeedReport,
) -> Result<(), SeedError> {
    let dir = base_dir.join("functions").join(item.name());
    let Some(info) = &item.image else { return Ok(()) };
    if !dir.is_dir() {
        return Ok(());
    }
    let built = image::build(&dir)?;
    if !info.digest.is_empty() && info.digest != built.digest {
        return Err(SeedError::ImageDigest {
            at: at.to_string(),
            dir,
            built: built.digest,
            recorded: info.digest.clone(),
        });
    }
    let namespace = &inventory.source.namespace;
    let display = info.repository.strip_prefix(&format!("{namespace}/")).unwrap_or(&info.repository).to_string();
    let mut store = ctx.sim.store();
    ensure_repository(ctx, &mut store, &display);
    for blob in [&built.config, &built.layer] {
        store.registry.put_blob(&ctx.region, &info.repository, &sha256_digest(blob), blob.clone());
    }
    let manifest = StoredManifest {
        media_type: super::registry::manifests::OCI_MANIFEST.into(),
        bytes: Bytes64(built.manifest.clone()),
        pushed_ms: crate::sim::store::now_ms(),
    };
    store.registry.put_manifest(&ctx.region, &info.repository, &info.tag, &built.digest, manifest);
    refresh_counts(ctx, &mut store, &info.repository, &display);
    drop(store);
    ctx.sim.touch();
    report.images.push((info.repository.clone(), info.tag.clone(), built.digest));
    Ok(())
}
