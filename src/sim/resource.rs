//! The generic resource engine: one [`Kind`] describes a resource type (OCID type,
//! lifecycle state names, whether creates are asynchronous with work requests, list shape,
//! validation and referential checks), and [`routes`] serves create, get, list, update
//! and delete for it with OCI's semantics: etags and `if-match`, list filters and paging,
//! CREATING→ACTIVE and DELETING→DELETED after the configured latency, limits, and
//! home-region-only writes for tenancy-level resources.
//!
//! Service files declare kinds and add the operations that do not fit this shape.
//! Nothing here knows a particular service.

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::call::{empty, json, respond, Call};
use super::context::{RegionCtx, Sim};
use super::errors::ApiError;
use super::ocid::{new_etag, new_ocid, region_key};
use super::pagination;
use super::sorting::{self, SortKey};
use super::store::{now_ms, rfc3339, Resource, Store, Transition, DELETED_VISIBLE_MS};
use super::work_requests;

/// Lifecycle state names of a kind (they differ between services).
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle {
    /// `None`: created directly in the active state.
    pub creating: Option<&'static str>,
    pub active: &'static str,
    pub deleting: &'static str,
    pub deleted: &'static str,
    pub failed: &'static str,
}

/// Functions, API Gateway, Events, Logging, SCH, Vault...
pub const STANDARD: Lifecycle = Lifecycle {
    creating: Some("CREATING"),
    active: "ACTIVE",
    deleting: "DELETING",
    deleted: "DELETED",
    failed: "FAILED",
};
/// Core networking.
pub const CORE: Lifecycle = Lifecycle {
    creating: Some("PROVISIONING"),
    active: "AVAILABLE",
    deleting: "TERMINATING",
    deleted: "TERMINATED",
    failed: "TERMINATED",
};
/// Created directly ACTIVE (identity, alarms).
pub const IMMEDIATE: Lifecycle = Lifecycle { creating: None, ..STANDARD };
/// Container repositories.
pub const AVAILABLE: Lifecycle =
    Lifecycle { creating: None, active: "AVAILABLE", deleting: "DELETING", deleted: "DELETED", failed: "DELETED" };

/// Work-request metadata of an asynchronous kind: the operation type of each operation
/// that answers with a work request (`None`: that one does not, as a compartment's create
/// does not while its delete does).
#[derive(Debug, Clone, Copy)]
pub struct WorkRequestSpec {
    pub entity_type: &'static str,
    pub create_op: Option<&'static str>,
    pub update_op: Option<&'static str>,
    pub delete_op: Option<&'static str>,
}

impl WorkRequestSpec {
    /// (entity type, operation type) of a kind's operation picked by `op`, when it has a
    /// work request.
    fn of(kind: &Kind, op: fn(&WorkRequestSpec) -> Option<&'static str>) -> Option<(&'static str, &'static str)> {
        kind.work_requests.and_then(|spec| op(&spec).map(|name| (spec.entity_type, name)))
    }
}

/// How list operations return items.
#[derive(Debug, Clone, Copy)]
pub enum ListShape {
    /// A bare JSON array (`list[...]` in the SDK).
    Array,
    /// A collection object `{"items": [...]}`.
    Items,
    /// A collection object that also counts what later pages hold (`remainingItemsCount`)
    /// and, with `totals`, fields summed over every matching item, not only this page's (the
    /// Artifacts collections).
    Counted { totals: Option<Totals> },
}

/// Fields a collection sums over every item a list matched.
pub type Totals = fn(&[Value]) -> Map<String, Value>;

/// A per-scope count limit: at most `default` resources sharing the value of `scope_field`
/// (overridable with `--limit name=N`).
#[derive(Debug, Clone, Copy)]
pub struct LimitSpec {
    pub service: &'static str,
    pub name: &'static str,
    pub scope_field: &'static str,
    pub default: u64,
}

/// What a kind's `prepare` sees: the merged body to validate and complete.
pub struct Prepare<'a> {
    pub sim: &'a Sim,
    pub store: &'a Store,
    pub region: &'a str,
    pub id: &'a str,
    pub body: &'a mut Map<String, Value>,
    /// The resource before the change, on updates.
    pub existing: Option<&'a Resource>,
}

impl Prepare<'_> {
    pub fn str(&self, field: &str) -> Option<String> {
        self.body.get(field).and_then(Value::as_str).map(str::to_string)
    }

    /// A whole-number field: `None` when absent or null; 400 InvalidParameter when it holds
    /// anything else (OCI does not read `"lots"` or `128.5` as a number).
    pub fn whole_number(&self, field: &str) -> Result<Option<u64>, ApiError> {
        match self.body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| ApiError::invalid(format!("{field} must be a whole number, got {v}."))),
        }
    }

    pub fn require(&self, field: &str) -> Result<String, ApiError> {
        match self.body.get(field) {
            // Sent, but not as text: OCI names the field as invalid, not as missing.
            Some(v) if !v.is_null() && !v.is_string() => {
                Err(ApiError::invalid(format!("Invalid value for `{field}`: a string is expected.")))
            }
            _ => self.str(field).filter(|s| !s.is_empty()).ok_or_else(|| ApiError::missing(field)),
        }
    }

    /// Sets `field` only when the client did not.
    pub fn default(&mut self, field: &str, value: Value) {
        self.body.entry(field.to_string()).or_insert(value);
    }

    /// The referenced resource of `kind`, which must exist here and be in an active state.
    pub fn reference(&self, field: &str, kind: &str) -> Result<Resource, ApiError> {
        let id = self.require(field)?;
        require_active(self.store, self.region, &id, kind)
    }
}

/// A referenced resource that must exist in `region` (404) and be active (409).
pub fn require_active(store: &Store, region: &str, id: &str, kind: &str) -> Result<Resource, ApiError> {
    let r = store
        .visible(region, id)
        .filter(|r| r.kind == kind && r.gone_at_ms.is_none())
        .ok_or_else(|| ApiError::not_found(&format!("{kind} {id}")))?;
    if !matches!(r.state(), "ACTIVE" | "AVAILABLE" | "ENABLED") {
        // The state a kind is usable in: a VCN or subnet is AVAILABLE, a key ENABLED.
        let usable = match kind {
            k if k.starts_with("core.") => "AVAILABLE",
            "kms.key" => "ENABLED",
            _ => "ACTIVE",
        };
        return Err(ApiError::incorrect_state(format!("{kind} {id} is {}, not {usable}.", r.state())));
    }
    Ok(r.clone())
}

/// Response headers a create sets (etag, work request id).
pub type Headers = Vec<(&'static str, String)>;

/// A check that may refuse a delete.
pub type DeleteCheck = fn(&Store, &Resource) -> Result<(), ApiError>;

/// One resource type.
pub struct Kind {
    pub name: &'static str,
    pub ocid_type: &'static str,
    /// Tenancy-level (identity): OCID without region, writes only in the home region.
    pub global: bool,
    pub lifecycle: Lifecycle,
    pub work_requests: Option<WorkRequestSpec>,
    pub create_returns_body: bool,
    pub update_returns_body: bool,
    pub list: ListShape,
    pub limit: Option<LimitSpec>,
    /// Validates and completes the body on create and update.
    pub prepare: fn(&mut Prepare<'_>) -> Result<(), ApiError>,
    /// Refuses a delete (for example an application that still has functions).
    pub before_delete: Option<DeleteCheck>,
    /// What a list must be scoped by (OCI answers 400 MissingParameter without it): the query
    /// parameter and the kind it names (`None`: a compartment). `None` for lists that take
    /// no scope.
    pub list_by: Option<(&'static str, Option<&'static str>)>,
    /// Resources that come with one of this kind and go with it (a VCN's default route
    /// table, security list and DHCP options), built from its body.
    pub companions: Option<fn(&Resource) -> Vec<Resource>>,
    /// The `sortBy` values its list operation takes (they differ between services).
    pub sort_keys: &'static [SortKey],
    /// A resource of this kind every tenancy has without creating it (the root
    /// compartment), readable by its id but never stored, listed or changed.
    pub builtin: Option<fn(&Sim, &str) -> Option<Value>>,
}

/// A kind to start from with `..BASE`: synchronous, created ACTIVE, array lists.
pub const BASE: Kind = Kind {
    name: "",
    ocid_type: "",
    global: false,
    lifecycle: STANDARD,
    work_requests: None,
    create_returns_body: true,
    update_returns_body: true,
    list: ListShape::Array,
    limit: None,
    prepare: accept,
    before_delete: None,
    list_by: Some(("compartmentId", None)),
    companions: None,
    sort_keys: sorting::UPPER_DISPLAY_NAME,
    builtin: None,
};

/// A `prepare` that accepts any body.
pub fn accept(_: &mut Prepare<'_>) -> Result<(), ApiError> {
    Ok(())
}

/// Refuses a second live resource of the same kind with the same `field` value in the same
/// compartment (OCI's 409 for duplicate names).
pub fn unique_in_compartment(p: &Prepare<'_>, kind: &str, field: &str) -> Result<(), ApiError> {
    let (Some(value), compartment) = (p.str(field), p.str("compartmentId")) else { return Ok(()) };
    let clash = p.store.of_kind(p.region, kind).any(|r| {
        r.id != p.id
            && r.gone_at_ms.is_none()
            && r.str_field(field) == Some(value.as_str())
            && r.str_field("compartmentId") == compartment.as_deref()
    });
    if clash {
        return Err(ApiError::conflict(format!("A {kind} named `{value}` already exists in this compartment.")));
    }
    Ok(())
}

/// The wire view of a stored body: fields starting with `_` are the simulator's own
/// (secret versions, for example) and never leave it.
pub fn public(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(k, _)| !k.starts_with('_')).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        other => other.clone(),
    }
}

/// Fields a client can never set or change.
const IMMUTABLE: [&str; 5] = ["id", "lifecycleState", "timeCreated", "timeUpdated", "compartmentId"];

/// Routes for `kind` at `collection` (and `collection/{id}`), for each path given.
pub fn routes(mut router: Router<RegionCtx>, kind: &'static Kind, collections: &[&str]) -> Router<RegionCtx> {
    for collection in collections {
        router =
            router
                .route(
                    collection,
                    get(move |ctx: axum::extract::State<RegionCtx>, call: Call| async move {
                        respond(list(&ctx, kind, &call))
                    })
                    .post(move |ctx: axum::extract::State<RegionCtx>, call: Call| async move {
                        respond(create(&ctx, kind, &call, Map::new()))
                    }),
                )
                .route(
                    &format!("{collection}/{{id}}"),
                    get(move |ctx: axum::extract::State<RegionCtx>, call: Call| async move {
                        respond(get_one(&ctx, kind, &call, call.param("id")))
                    })
                    .put(move |ctx: axum::extract::State<RegionCtx>, call: Call| async move {
                        respond(update(&ctx, kind, &call, call.param("id")))
                    })
                    .delete(move |ctx: axum::extract::State<RegionCtx>, call: Call| async move {
                        respond(delete(&ctx, kind, &call, call.param("id")))
                    }),
                );
    }
    router
}

/// Whether `compartment` is the tenancy or a known active compartment.
pub fn check_compartment(sim: &Sim, store: &Store, region: &str, compartment: &str) -> Result<(), ApiError> {
    if compartment == sim.settings.tenancy {
        return Ok(());
    }
    require_active(store, region, compartment, "identity.compartment").map(|_| ())
}

fn home_only(ctx: &RegionCtx, kind: &Kind) -> Result<(), ApiError> {
    if kind.global && !ctx.is_home() {
        return Err(ApiError::new(
            403,
            "NotAllowed",
            format!(
                "Please go to your home region {} to execute CREATE, UPDATE and DELETE operations.",
                ctx.sim.settings.home_region
            ),
        ));
    }
    Ok(())
}

/// Creates a resource of `kind` from the request body merged over `preset` fields (for
/// nested paths such as logs under a log group).
pub fn create(
    ctx: &RegionCtx,
    kind: &'static Kind,
    call: &Call,
    preset: Map<String, Value>,
) -> Result<Response, ApiError> {
    let (view, headers) = create_body(ctx, kind, call.json_object()?, preset)?;
    Ok(if kind.create_returns_body { json(200, &view, &headers) } else { empty(202, &headers) })
}

/// [`create`] without HTTP: creates a resource of `kind` from `body` merged over `preset`
/// and returns its wire view (with `id`) and the response headers (etag, work request).
pub fn create_body(
    ctx: &RegionCtx,
    kind: &'static Kind,
    mut body: Map<String, Value>,
    preset: Map<String, Value>,
) -> Result<(Value, Headers), ApiError> {
    home_only(ctx, kind)?;
    body.retain(|k, _| !k.starts_with('_'));
    check_common_types(&body)?;
    body.extend(preset);
    for field in ["id", "lifecycleState", "timeCreated"] {
        body.remove(field);
    }
    let sim = &ctx.sim;
    let mut store = sim.store();
    let key = if kind.global { String::new() } else { region_key(&ctx.region) };
    let id = new_ocid(kind.ocid_type, &key);
    {
        let mut prep = Prepare { sim, store: &store, region: &ctx.region, id: &id, body: &mut body, existing: None };
        (kind.prepare)(&mut prep)?;
    }
    let compartment = body.get("compartmentId").and_then(Value::as_str).unwrap_or_default().to_string();
    if compartment.is_empty() {
        return Err(ApiError::missing("compartmentId"));
    }
    check_compartment(sim, &store, &ctx.region, &compartment)?;
    if let Some(limit) = kind.limit {
        check_limit(sim, &store, &ctx.region, kind, limit, &body)?;
    }
    let now = now_ms();
    let state = kind.lifecycle.creating.unwrap_or(kind.lifecycle.active);
    body.insert("id".into(), json!(id));
    body.insert("lifecycleState".into(), json!(state));
    body.insert("timeCreated".into(), json!(rfc3339(now)));
    body.insert("timeUpdated".into(), json!(rfc3339(now)));
    body.entry("freeformTags").or_insert(json!({}));
    body.entry("definedTags").or_insert(json!({}));
    let etag = new_etag();
    let mut resource = Resource {
        kind: kind.name.into(),
        region: if kind.global { sim.settings.home_region.clone() } else { ctx.region.clone() },
        global: kind.global,
        id: id.clone(),
        etag: etag.clone(),
        seq: 0,
        body: Value::Object(body),
        pending: None,
        gone_at_ms: None,
    };
    let mut headers = vec![("etag", etag)];
    let finish = now + sim.settings.latency_ms();
    let mut fails = false;
    if let Some((entity, op)) = WorkRequestSpec::of(kind, |s| s.create_op) {
        fails = sim.faults.work_request_fails(&ctx.region);
        let wr = work_requests::record(&mut store, ctx, entity, op, "CREATED", &resource, fails);
        headers.push(("opc-work-request-id", wr));
    }
    if kind.lifecycle.creating.is_some() {
        let target = if fails { kind.lifecycle.failed } else { kind.lifecycle.active };
        resource.pending = Some(Transition { at_ms: finish, state: target.into() });
    }
    let view = public(&resource.body);
    for companion in kind.companions.map(|make| make(&resource)).unwrap_or_default() {
        store.insert(companion);
    }
    store.insert(resource);
    drop(store);
    sim.touch();
    Ok((view, headers))
}

/// The fields every resource has, of their types, as OCI checks them before anything else:
/// names are strings, freeform tags map names to strings, defined tags map namespaces to maps.
fn check_common_types(body: &Map<String, Value>) -> Result<(), ApiError> {
    let kind_of = crate::runbook::expr::type_name;
    for field in ["displayName", "name"] {
        if let Some(v) = body.get(field).filter(|v| !v.is_string() && !v.is_null()) {
            return Err(ApiError::invalid(format!("{field} must be a string, not {}.", kind_of(v))));
        }
    }
    match body.get("freeformTags") {
        None | Some(Value::Null) => {}
        Some(Value::Object(tags)) => {
            if let Some((k, v)) = tags.iter().find(|(_, v)| !v.is_string()) {
                return Err(ApiError::invalid(format!("freeformTags.{k} must be a string, not {}.", kind_of(v))));
            }
        }
        Some(v) => {
            return Err(ApiError::invalid(format!("freeformTags must be an object of strings, not {}.", kind_of(v))))
        }
    }
    match body.get("definedTags") {
        None | Some(Value::Null) => {}
        Some(Value::Object(spaces)) => {
            if let Some((k, v)) = spaces.iter().find(|(_, v)| !v.is_object()) {
                return Err(ApiError::invalid(format!(
                    "definedTags.{k} must be an object of tags, not {}.",
                    kind_of(v)
                )));
            }
        }
        Some(v) => {
            return Err(ApiError::invalid(format!(
                "definedTags must be an object of tag namespaces, not {}.",
                kind_of(v)
            )))
        }
    }
    Ok(())
}

fn check_limit(
    sim: &Sim,
    store: &Store,
    region: &str,
    kind: &Kind,
    limit: LimitSpec,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let max = sim.settings.limits.get(limit.name).copied().unwrap_or(limit.default);
    let scope = body.get(limit.scope_field).and_then(Value::as_str).unwrap_or_default();
    let used = store
        .of_kind(region, kind.name)
        .filter(|r| r.str_field(limit.scope_field) == Some(scope))
        .filter(|r| r.gone_at_ms.is_none() && r.state() != kind.lifecycle.deleting)
        .count() as u64;
    if used >= max {
        return Err(ApiError::limit_exceeded(format!(
            "The limit {} of service {} ({max}) is reached for {} {scope}.",
            limit.name, limit.service, limit.scope_field
        )));
    }
    Ok(())
}

/// The resource if it is visible, of `kind`, and not yet forgotten.
pub fn find(store: &Store, region: &str, kind: &Kind, id: &str) -> Result<Resource, ApiError> {
    store
        .visible(region, id)
        .filter(|r| r.kind == kind.name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&format!("{} {id}", kind.name)))
}

pub fn get_one(ctx: &RegionCtx, kind: &Kind, _call: &Call, id: &str) -> Result<Response, ApiError> {
    if let Some(body) = kind.builtin.and_then(|make| make(&ctx.sim, id)) {
        return Ok(json(200, &body, &[("etag", builtin_etag(id))]));
    }
    let r = find(&ctx.sim.store(), &ctx.region, kind, id)?;
    Ok(json(200, &public(&r.body), &[("etag", r.etag)]))
}

/// A stable etag for a built-in resource, which never changes.
fn builtin_etag(id: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::hash::hex(&Sha256::digest(id.as_bytes()))[..32].to_string()
}

pub fn list(ctx: &RegionCtx, kind: &Kind, call: &Call) -> Result<Response, ApiError> {
    let store = ctx.sim.store();
    let given = |name: &str| call.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    // As OCI: a list without its scope is refused, and one scoped by something that does not
    // exist (a mistyped OCID) is a 404, not an empty list that would read as "nothing there".
    if let Some((param, parent)) = kind.list_by {
        let Some(scope) = given(param) else { return Err(ApiError::missing(param)) };
        match parent {
            None => check_compartment(&ctx.sim, &store, &ctx.region, scope)?,
            Some(parent) => {
                store
                    .visible(&ctx.region, scope)
                    .filter(|r| r.kind == parent && r.gone_at_ms.is_none())
                    .ok_or_else(|| ApiError::not_found(&format!("{parent} {scope}")))?;
            }
        }
    } else if let Some(compartment) = given("compartmentId") {
        check_compartment(&ctx.sim, &store, &ctx.region, compartment)?;
    } else if let Some(one_of) = super::filters::scope_one_of(kind.name) {
        if !one_of.iter().any(|p| given(p).is_some()) {
            return Err(ApiError::new(
                400,
                "MissingParameter",
                format!("Missing required parameter: give one of {}.", one_of.join(", ")),
            ));
        }
    }
    if let Some(state) = given("lifecycleState") {
        let states = super::states::of(kind.name);
        if !states.is_empty() && !states.contains(&state) {
            return Err(ApiError::invalid(format!("lifecycleState `{state}` is not one of {}.", states.join(", "))));
        }
    }
    let mut items = filtered(&store, &ctx.region, kind, &call.query);
    drop(store);
    sorting::sort(&mut items, &call.query, kind.sort_keys)?;
    list_response(kind.list, &items, call)
}

/// Resources of `kind` passing every filter of the query (see [`super::filters`]); deleted
/// ones only when `lifecycleState` asks for them.
pub fn filtered(store: &Store, region: &str, kind: &Kind, query: &[(String, String)]) -> Vec<Value> {
    let wants_state = query.iter().any(|(k, _)| k == "lifecycleState");
    let filters = super::filters::Filters::new(store, region, kind.name, query);
    store
        .of_kind(region, kind.name)
        .filter(|r| wants_state || r.state() != kind.lifecycle.deleted)
        .filter(|r| filters.pass(&r.body))
        .map(|r| public(&r.body))
        .collect()
}

/// A page of `items` in the list shape, with `opc-next-page` when more remain.
pub fn list_response(shape: ListShape, items: &[Value], call: &Call) -> Result<Response, ApiError> {
    let (page, next, remaining) = pagination::page(items, call.query_value("limit"), call.query_value("page"))?;
    let headers: Vec<(&str, String)> = next.map(|n| vec![("opc-next-page", n)]).unwrap_or_default();
    let body = match shape {
        ListShape::Array => Value::Array(page),
        ListShape::Items => json!({ "items": page }),
        ListShape::Counted { totals } => {
            let mut body = totals.map(|f| f(items)).unwrap_or_default();
            body.insert("items".into(), Value::Array(page));
            body.insert("remainingItemsCount".into(), json!(remaining));
            Value::Object(body)
        }
    };
    Ok(json(200, &body, &headers))
}

pub fn update(ctx: &RegionCtx, kind: &'static Kind, call: &Call, id: &str) -> Result<Response, ApiError> {
    home_only(ctx, kind)?;
    let changes = call.json_object()?;
    check_common_types(&changes)?;
    let sim = &ctx.sim;
    let mut store = sim.store();
    let existing = find(&store, &ctx.region, kind, id)?;
    call.check_if_match(&existing.etag)?;
    if existing.state() != kind.lifecycle.active && existing.state() != "INACTIVE" {
        return Err(ApiError::incorrect_state(format!(
            "{} {id} is {}; it cannot be updated now.",
            kind.name,
            existing.state()
        )));
    }
    let mut body = existing.body.as_object().cloned().unwrap_or_default();
    for (k, v) in changes {
        if !IMMUTABLE.contains(&k.as_str()) && !k.starts_with('_') {
            body.insert(k, v);
        }
    }
    {
        let mut prep =
            Prepare { sim, store: &store, region: &ctx.region, id, body: &mut body, existing: Some(&existing) };
        (kind.prepare)(&mut prep)?;
    }
    body.insert("timeUpdated".into(), json!(rfc3339(now_ms())));
    let etag = new_etag();
    let mut headers = vec![("etag", etag.clone())];
    let mut updated = existing.clone();
    updated.body = Value::Object(body);
    updated.etag = etag;
    let mut view = public(&updated.body);
    if let Some((entity, op)) = WorkRequestSpec::of(kind, |s| s.update_op) {
        // An update with a work request is done when its work request is: the resource is
        // UPDATING until then where its kind has that state, and a failed work request leaves
        // it as it was. What was asked is answered either way.
        let fails = sim.faults.work_request_fails(&ctx.region);
        let wr = work_requests::record(&mut store, ctx, entity, op, "UPDATED", &updated, fails);
        headers.push(("opc-work-request-id", wr));
        if fails {
            let etag = std::mem::take(&mut updated.etag);
            updated = existing.clone();
            updated.etag = etag;
        }
        if crate::sim::states::of(kind.name).contains(&"UPDATING") {
            let settled = existing.state().to_owned();
            updated.set_state("UPDATING");
            updated.pending = Some(Transition { at_ms: now_ms() + sim.settings.latency_ms(), state: settled });
            if let Some(body) = view.as_object_mut() {
                body.insert("lifecycleState".into(), json!("UPDATING"));
            }
        }
    }
    store.resources.insert(id.to_string(), updated);
    drop(store);
    sim.touch();
    Ok(if kind.update_returns_body { json(200, &view, &headers) } else { empty(202, &headers) })
}

pub fn delete(ctx: &RegionCtx, kind: &'static Kind, call: &Call, id: &str) -> Result<Response, ApiError> {
    home_only(ctx, kind)?;
    let sim = &ctx.sim;
    let mut store = sim.store();
    let existing = find(&store, &ctx.region, kind, id)?;
    call.check_if_match(&existing.etag)?;
    let lc = kind.lifecycle;
    if existing.state() == lc.deleted || existing.state() == lc.deleting {
        return Err(ApiError::not_found(&format!("{} {id}", kind.name)));
    }
    if let Some(check) = kind.before_delete {
        check(&store, &existing)?;
    }
    let now = now_ms();
    let finish = now + sim.settings.latency_ms();
    let mut headers = Vec::new();
    let mut fails = false;
    if let Some((entity, op)) = WorkRequestSpec::of(kind, |s| s.delete_op) {
        fails = sim.faults.work_request_fails(&ctx.region);
        let wr = work_requests::record(&mut store, ctx, entity, op, "DELETED", &existing, fails);
        headers.push(("opc-work-request-id", wr));
    }
    if let Some(r) = store.resources.get_mut(id) {
        // A failed deletion leaves the resource as it was (ACTIVE, or FAILED after a failed create).
        let before = r.state().to_owned();
        r.set_state(lc.deleting);
        r.etag = new_etag();
        if fails {
            r.pending = Some(Transition { at_ms: finish, state: before });
        } else {
            r.pending = Some(Transition { at_ms: finish, state: lc.deleted.into() });
            r.gone_at_ms = Some(finish + DELETED_VISIBLE_MS);
        }
    }
    // What came with the resource goes with it.
    let companions = if fails { Vec::new() } else { kind.companions.map(|make| make(&existing)).unwrap_or_default() };
    for companion in companions {
        if let Some(c) = store.resources.get_mut(&companion.id) {
            c.set_state(lc.deleting);
            c.etag = new_etag();
            c.pending = Some(Transition { at_ms: finish, state: lc.deleted.into() });
            c.gone_at_ms = Some(finish + DELETED_VISIBLE_MS);
        }
    }
    drop(store);
    sim.touch();
    let accepted = WorkRequestSpec::of(kind, |s| s.delete_op).is_some();
    Ok(empty(if accepted { 202 } else { 204 }, &headers))
}

/// A before-delete check: refuse while children of `child_kind` point at the resource
/// through `field`, other than those in `except` (which go with it).
pub fn refuse_if_children(
    store: &Store,
    r: &Resource,
    child_kind: &str,
    field: &str,
    except: &[&str],
) -> Result<(), ApiError> {
    let live = store
        .of_kind(&r.region, child_kind)
        .filter(|c| c.str_field(field) == Some(r.id.as_str()) && c.gone_at_ms.is_none())
        .filter(|c| !except.contains(&c.id.as_str()))
        .count();
    if live > 0 {
        return Err(ApiError::conflict(format!(
            "{} {} still has {live} {child_kind} resource(s); delete them first.",
            r.kind, r.id
        )));
    }
    Ok(())
}

/// A before-delete check: refuse while a live resource of `user_kind` uses `r`, as `uses`
/// decides from its body (a subnet naming a route table, a route rule targeting a gateway):
/// OCI's 409 Conflict for a resource in use.
pub fn refuse_if_used(
    store: &Store,
    r: &Resource,
    user_kind: &str,
    uses: fn(&Value, &str) -> bool,
) -> Result<(), ApiError> {
    let user =
        store.of_kind(&r.region, user_kind).find(|u| u.gone_at_ms.is_none() && u.id != r.id && uses(&u.body, &r.id));
    match user {
        Some(u) => Err(ApiError::conflict(format!(
            "{} {} is in use by {user_kind} {}; remove it from there first.",
            r.kind, r.id, u.id
        ))),
        None => Ok(()),
    }
}

/// Whether `body[field]` is `id` or a list holding it.
pub fn names(body: &Value, field: &str, id: &str) -> bool {
    match body.get(field) {
        Some(Value::String(s)) => s == id,
        Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(id)),
        _ => false,
    }
}

/// A state change asked by an action (`actions/enable`, `actions/activate`): from one of
/// `from`, the resource goes through `via` (when the service shows one) to `to` once the
/// region's latency has passed. Answers the resource as it is now, with a new etag.
pub fn change_state(
    ctx: &RegionCtx,
    call: &Call,
    kind: &'static Kind,
    from: &[&str],
    via: Option<&str>,
    to: &str,
) -> Result<Response, ApiError> {
    let sim = &ctx.sim;
    let mut store = sim.store();
    let found = find(&store, &ctx.region, kind, call.param("id"))?;
    call.check_if_match(&found.etag)?;
    if !from.contains(&found.state()) {
        return Err(ApiError::incorrect_state(format!(
            "{} {} is {}; this action needs it {}.",
            kind.name,
            found.id,
            found.state(),
            from.join(" or ")
        )));
    }
    let now = now_ms();
    let Some(r) = store.resources.get_mut(&found.id) else {
        return Err(ApiError::not_found(&format!("{} {}", kind.name, found.id)));
    };
    match via {
        Some(via) => {
            r.set_state(via);
            r.pending = Some(Transition { at_ms: now + sim.settings.latency_ms(), state: to.into() });
        }
        None => r.set_state(to),
    }
    if let Some(body) = r.body.as_object_mut() {
        body.insert("timeUpdated".into(), json!(rfc3339(now)));
    }
    r.etag = new_etag();
    let (view, etag) = (public(&r.body), r.etag.clone());
    drop(store);
    sim.touch();
    Ok(json(200, &view, &[("etag", etag)]))
}
