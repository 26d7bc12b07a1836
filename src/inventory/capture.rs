//! Captures the inventory of one compartment of one region through the signed OCI client:
//! lists every kind of contract C3 (following parents: functions of applications, logs of
//! log groups, keys on each vault's endpoint, rules of each NSG, dynamic groups that the
//! captured policies name), reads each resource in full, names it by a key, normalises it
//! into a spec and rewrites references between captured resources into `@{kind:key}`.
//!
//! It only reads (GET and list calls); it never writes to OCI. The result is sorted and
//! deterministic for a given state of the region, apart from `captured_at`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use reqwest::{Method, Url};
use serde_json::{json, Value};

use super::error::InventoryError;
use super::model::{ImageInfo, Inventory, Item, Source, LISTS, VERSION};
use super::normalize::{self, Context};
use super::refs::rewrite;
use super::sources::{ListSource, Scope, GONE_STATES, SOURCES};
use crate::oci::{ocir_host, OciClient, OciRequest, Service};

/// One resource as read, before it becomes an [`Item`].
struct Raw {
    key: String,
    body: Value,
    /// Key of the parent (application of a function, vault of a key or secret).
    parent: Option<String>,
    rules: Vec<Value>,
}

fn id_of(v: &Value) -> &str {
    v.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// The name a resource goes by: `displayName`, `name` or `secretName`, else its id.
fn name_of(b: &Value) -> &str {
    ["displayName", "name", "secretName"].iter().find_map(|f| b.get(*f).and_then(Value::as_str)).unwrap_or(id_of(b))
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or_default()
}

struct Reader<'a> {
    client: &'a OciClient,
    region: &'a str,
}

impl Reader<'_> {
    fn request(&self, service: Service, path: &str, endpoint: Option<&Url>) -> OciRequest {
        let req = OciRequest::new(Method::GET, service, self.region, path);
        match endpoint {
            Some(url) => req.endpoint(url.clone()),
            None => req,
        }
    }

    async fn list(
        &self,
        what: &str,
        service: Service,
        path: &str,
        query: &[(&str, &str)],
        endpoint: Option<&Url>,
    ) -> Result<Vec<Value>, InventoryError> {
        let mut req = self.request(service, path, endpoint);
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        let items = self
            .client
            .list_all(req)
            .await
            .map_err(|source| InventoryError::Capture { what: format!("{what} in {}", self.region), source })?;
        Ok(items.into_iter().filter(|i| !GONE_STATES.contains(&str_of(i, "lifecycleState"))).collect())
    }

    async fn get(
        &self,
        what: &str,
        service: Service,
        path: &str,
        endpoint: Option<&Url>,
    ) -> Result<Value, InventoryError> {
        self.client
            .send_json(self.request(service, path, endpoint))
            .await
            .map_err(|source| InventoryError::Capture { what: format!("{what} in {}", self.region), source })
    }
}

/// The tenancy of an API-key signer, if it is one.
fn tenancy_of(client: &OciClient) -> Option<String> {
    client.signer().tenancy().map(str::to_string)
}

/// Captures `compartment` of `region`.
pub async fn capture(client: &OciClient, region: &str, compartment: &str) -> Result<Inventory, InventoryError> {
    let reader = Reader { client, region };
    let namespace = reader.get("the tenancy namespace", Service::ObjectStorage, "/n/", None).await?;
    let namespace = namespace.as_str().unwrap_or_default().to_string();
    let mut raw: BTreeMap<&'static str, Vec<Raw>> = BTreeMap::new();
    for source in SOURCES {
        let items = read_list(&reader, &source, compartment, &raw).await?;
        same_names(source.list, &items)?;
        raw.insert(source.list, items);
    }
    keep_named_dynamic_groups(&mut raw, compartment);
    // Recorded by id (`iad` is written `us-ashburn-1`), as a failover names it.
    Ok(assemble(raw, &crate::oci::canonical_region(region), compartment, namespace))
}

async fn read_list(
    reader: &Reader<'_>,
    source: &ListSource,
    compartment: &str,
    earlier: &BTreeMap<&'static str, Vec<Raw>>,
) -> Result<Vec<Raw>, InventoryError> {
    let what = source.list;
    let mut out = Vec::new();
    match source.scope {
        Scope::Compartment | Scope::Tenancy => {
            let scope = match source.scope {
                Scope::Tenancy => match tenancy_of(reader.client) {
                    Some(t) => t,
                    None => return Ok(out),
                },
                _ => compartment.to_string(),
            };
            for summary in
                reader.list(what, source.service, source.collection, &[("compartmentId", &scope)], None).await?
            {
                let path = format!("{}/{}", source.collection, id_of(&summary));
                let body = reader.get(what, source.service, &path, None).await?;
                out.push(Raw { key: String::new(), body, parent: None, rules: Vec::new() });
            }
        }
        Scope::Parent { parent, param } => {
            for p in earlier.get(parent).into_iter().flatten() {
                let pid = id_of(&p.body);
                for summary in reader.list(what, source.service, source.collection, &[(param, pid)], None).await? {
                    let path = format!("{}/{}", source.collection, id_of(&summary));
                    let body = reader.get(what, source.service, &path, None).await?;
                    out.push(Raw { key: String::new(), body, parent: Some(p.key.clone()), rules: Vec::new() });
                }
            }
        }
        Scope::LogGroup => {
            for g in earlier.get("log_groups").into_iter().flatten() {
                let base = format!("/logGroups/{}/logs", id_of(&g.body));
                for summary in reader.list(what, source.service, &base, &[], None).await? {
                    let body = reader.get(what, source.service, &format!("{base}/{}", id_of(&summary)), None).await?;
                    out.push(Raw { key: String::new(), body, parent: Some(g.key.clone()), rules: Vec::new() });
                }
            }
        }
        Scope::VaultEndpoint => {
            for v in earlier.get("vaults").into_iter().flatten() {
                let endpoint =
                    Url::parse(str_of(&v.body, "managementEndpoint")).map_err(|e| InventoryError::Shape {
                        what: format!("keys of vault {}", id_of(&v.body)),
                        detail: format!("managementEndpoint is not a URL: {e}"),
                    })?;
                let vault_id = id_of(&v.body);
                let query = [("compartmentId", compartment)];
                for summary in reader.list(what, source.service, source.collection, &query, Some(&endpoint)).await? {
                    if summary.get("vaultId").and_then(Value::as_str).is_some_and(|id| id != vault_id) {
                        continue;
                    }
                    let path = format!("{}/{}", source.collection, id_of(&summary));
                    let body = reader.get(what, source.service, &path, Some(&endpoint)).await?;
                    out.push(Raw { key: String::new(), body, parent: Some(v.key.clone()), rules: Vec::new() });
                }
            }
        }
    }
    if source.list == "nsgs" {
        for item in &mut out {
            let path = format!("/networkSecurityGroups/{}/securityRules", id_of(&item.body));
            item.rules = reader.list("nsg rules", Service::Core, &path, &[], None).await?;
        }
    }
    if matches!(source.list, "route_tables" | "security_lists") {
        // Every VCN's own default route table and security list come with the VCN.
        let field = if source.list == "route_tables" { "defaultRouteTableId" } else { "defaultSecurityListId" };
        let defaults: BTreeSet<&str> =
            earlier.get("vcns").into_iter().flatten().map(|v| str_of(&v.body, field)).collect();
        out.retain(|r| !defaults.contains(id_of(&r.body)));
    }
    if source.list == "secrets" {
        let vaults: BTreeMap<&str, &str> =
            earlier.get("vaults").into_iter().flatten().map(|v| (id_of(&v.body), v.key.as_str())).collect();
        for s in &mut out {
            s.parent = vaults.get(str_of(&s.body, "vaultId")).map(|k| k.to_string());
        }
    }
    assign_keys(source.list, &mut out);
    Ok(out)
}

/// Keys are names; a function's is `<application key>/<name>` (contract C3). Names that
/// repeat within a list get their parent's key in front, then a counter.
fn assign_keys(list: &str, items: &mut [Raw]) {
    let name = |b: &Value| name_of(b).to_owned();
    for item in items.iter_mut() {
        item.key = match (&item.parent, list) {
            (Some(app), "functions") => format!("{app}/{}", name(&item.body)),
            _ => name(&item.body),
        };
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for item in items.iter() {
        *counts.entry(item.key.clone()).or_default() += 1;
    }
    for item in items.iter_mut() {
        if counts[&item.key] > 1 {
            if let Some(parent) = &item.parent {
                item.key = format!("{parent}/{}", item.key);
            }
        }
    }
    items.sort_by(|a, b| (&a.key, str_of(&a.body, "timeCreated")).cmp(&(&b.key, str_of(&b.body, "timeCreated"))));
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for item in items.iter_mut() {
        let n = seen.entry(item.key.clone()).or_default();
        *n += 1;
        if *n > 1 {
            item.key = format!("{}#{n}", item.key);
        }
    }
}

/// Refuses resources of one list that share a name in one place (two VCNs `orders-vcn` in the
/// compartment; OCI allows it for most kinds). A failover finds each resource in the
/// destination by that name, so it could recreate only one of them, and would fail mid-run on
/// the other: better said now, with both ids and the fix.
fn same_names(list: &str, items: &[Raw]) -> Result<(), InventoryError> {
    // One place: the same compartment and the same parent (VCN, gateway, application,
    // vault, log group), as the destination's lookups by name are scoped.
    const PARENTS: [&str; 6] = ["compartmentId", "vcnId", "gatewayId", "applicationId", "vaultId", "logGroupId"];
    type Place<'a> = (Vec<&'a str>, Option<&'a str>);
    let mut by_name: BTreeMap<(Place<'_>, &str), Vec<&str>> = BTreeMap::new();
    for item in items {
        let place = (PARENTS.iter().map(|f| str_of(&item.body, f)).collect(), item.parent.as_deref());
        by_name.entry((place, name_of(&item.body))).or_default().push(id_of(&item.body));
    }
    match by_name.into_iter().find(|(_, ids)| ids.len() > 1) {
        None => Ok(()),
        Some(((_, name), ids)) => Err(InventoryError::Shape {
            what: list.replace('_', " "),
            detail: format!(
                "{} resources share the name `{name}` in one place ({}): a failover finds each resource in the \
                 destination by its name, so it cannot recreate them all; rename all but one in the source (or in \
                 a saved capture) and capture again",
                ids.len(),
                ids.join(", ")
            ),
        }),
    }
}

/// Dynamic groups live at the tenancy's root; only those in the compartment or named by
/// a captured policy belong to the workload.
fn keep_named_dynamic_groups(raw: &mut BTreeMap<&'static str, Vec<Raw>>, compartment: &str) {
    let statements: Vec<String> = raw
        .get("policies")
        .into_iter()
        .flatten()
        .flat_map(|p| p.body.get("statements").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|s| s.as_str().map(str::to_ascii_lowercase))
        .collect();
    if let Some(groups) = raw.get_mut("dynamic_groups") {
        groups.retain(|g| {
            let needle = format!("dynamic-group {}", str_of(&g.body, "name").to_ascii_lowercase());
            str_of(&g.body, "compartmentId") == compartment || statements.iter().any(|s| s.contains(&needle))
        });
    }
}

fn assemble(raw: BTreeMap<&'static str, Vec<Raw>>, region: &str, compartment: &str, namespace: String) -> Inventory {
    let kind_of = |list: &'static str| LISTS.iter().find(|l| l.list == list).map(|l| l.kind).unwrap_or(list);
    let mut refs: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (list, items) in &raw {
        for item in items {
            refs.insert(id_of(&item.body).to_string(), (kind_of(list).to_string(), item.key.clone()));
        }
    }
    let ctx = Context {
        vcn_defaults: raw
            .get("vcns")
            .into_iter()
            .flatten()
            .map(|v| {
                let f = |n| str_of(&v.body, n).to_string();
                (f("defaultRouteTableId"), f("defaultSecurityListId"), f("defaultDhcpOptionsId"))
            })
            .collect(),
    };
    let mut inventory = Inventory {
        version: VERSION,
        source: Source { region: region.to_string(), compartment_id: compartment.to_string(), namespace },
        captured_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        ..Inventory::default()
    };
    for (list, items) in raw {
        let converted: Vec<Item> = items.into_iter().map(|r| item(list, r, region, &refs, &ctx)).collect();
        if let Some(target) = inventory.list_mut(list) {
            *target = converted;
        }
    }
    inventory.sort();
    inventory
}

fn item(list: &str, r: Raw, region: &str, refs: &BTreeMap<String, (String, String)>, ctx: &Context) -> Item {
    let spec = normalize::spec(list, &r.body, ctx);
    let spec = rewrite(&Value::Object(spec), refs).as_object().cloned().unwrap_or_default();
    let mut out = Item { key: r.key, spec, ..Item::default() };
    // What OCI returns is real, however close to a known field's name.
    let action = super::model::LISTS.iter().find(|l| l.list == list).map_or("", |l| l.action);
    let fields = crate::actions::oci::converge::fields::misspelling;
    out.unknown_fields = out.spec.keys().filter(|f| fields(action, f).is_some()).cloned().collect();
    for (field, value) in &out.spec {
        for found in crate::actions::oci::converge::fields::nested_misspellings(action, field, value, &[]) {
            if !out.unknown_fields.contains(&found.field) {
                out.unknown_fields.push(found.field);
            }
        }
    }
    match list {
        "functions" => {
            out.application = r.parent;
            out.image = image_info(&r.body, region);
        }
        "keys" | "secrets" => out.vault = r.parent,
        "nsgs" => {
            out.rules = r
                .rules
                .iter()
                .map(|rule| {
                    let mut rule = rule.as_object().cloned().unwrap_or_default();
                    rule.retain(|k, v| !v.is_null() && !matches!(k.as_str(), "id" | "isValid" | "timeCreated"));
                    if rule.get("isStateless") == Some(&json!(false)) {
                        rule.remove("isStateless");
                    }
                    normalize::sort_keys(rewrite(&Value::Object(rule), refs))
                })
                .collect();
            out.rules.sort_by_key(|r| r.to_string());
        }
        _ => {}
    }
    out
}

/// The repository, tag and digest of a function's image on its region's OCIR host.
fn image_info(body: &Value, region: &str) -> Option<ImageInfo> {
    let image = str_of(body, "image");
    let host = ocir_host(region).ok()?;
    let path = image.strip_prefix(&format!("{host}/")).unwrap_or(image);
    let (repository, tag) = path.rsplit_once(':').filter(|(_, t)| !t.contains('/')).unwrap_or((path, "latest"));
    Some(ImageInfo {
        repository: repository.to_string(),
        tag: tag.to_string(),
        digest: str_of(body, "imageDigest").to_string(),
    })
}
