//! Identity (`/20160918`): compartments, policies and dynamic groups. They are
//! tenancy-level: OCIDs without a region, writes accepted only in the home region (403
//! NotAllowed elsewhere, as OCI answers), reads served by every region. Also the
//! read-only region, subscription and availability-domain listings clients ask for.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::sim::call::{respond, Call};
use crate::sim::context::{RegionCtx, Sim};
use crate::sim::errors::ApiError;
use crate::sim::ocid::region_key;
use crate::sim::resource::{self, unique_in_compartment, Kind, ListShape, Prepare, WorkRequestSpec, BASE, IMMEDIATE};
use crate::sim::sorting;
use crate::sim::store::{Resource, Store};

const V: &str = "/20160918";

pub static COMPARTMENT: Kind = Kind {
    name: "identity.compartment",
    ocid_type: "compartment",
    global: true,
    prepare: prepare_compartment,
    sort_keys: sorting::UPPER_NAME,
    // OCI deletes a compartment asynchronously: 202 with a work request to wait on.
    work_requests: Some(WorkRequestSpec {
        entity_type: "compartment",
        create_op: None,
        update_op: None,
        delete_op: Some("DELETE_COMPARTMENT"),
    }),
    before_delete: Some(compartment_is_empty),
    builtin: Some(root_compartment),
    ..BASE
};
pub static POLICY: Kind = Kind {
    name: "identity.policy",
    ocid_type: "policy",
    global: true,
    lifecycle: IMMEDIATE,
    prepare: prepare_policy,
    sort_keys: sorting::UPPER_NAME,
    ..BASE
};
pub static DYNAMIC_GROUP: Kind = Kind {
    name: "identity.dynamicgroup",
    ocid_type: "dynamicgroup",
    global: true,
    lifecycle: IMMEDIATE,
    prepare: prepare_dynamic_group,
    sort_keys: sorting::UPPER_NAME,
    ..BASE
};

/// The tenancy read as a compartment (`GetCompartment` with the tenancy's OCID): the root
/// compartment, ACTIVE, its own parent, named after the tenancy (the simulator's tenancy
/// has no name of its own, so its Object Storage namespace stands for it).
fn root_compartment(sim: &Sim, id: &str) -> Option<Value> {
    let tenancy = &sim.settings.tenancy;
    (id == tenancy).then(|| {
        json!({
            "id": tenancy,
            "compartmentId": tenancy,
            "name": sim.settings.namespace,
            "description": format!("The root compartment of tenancy {}", sim.settings.namespace),
            "timeCreated": "2016-09-18T00:00:00.000Z",
            "lifecycleState": "ACTIVE",
            "inactiveStatus": null,
            "isAccessible": true,
            "freeformTags": {},
            "definedTags": {},
        })
    })
}

/// A compartment goes only when nothing lives in it any more, in any region: no resource
/// and no child compartment (OCI's 409). The newest one is named (a VCN rather than the
/// defaults that came with it).
fn compartment_is_empty(store: &Store, compartment: &Resource) -> Result<(), ApiError> {
    let inside: Vec<&Resource> = store
        .resources
        .values()
        .filter(|r| r.gone_at_ms.is_none() && r.id != compartment.id)
        .filter(|r| r.str_field("compartmentId") == Some(compartment.id.as_str()))
        .collect();
    match inside.iter().max_by_key(|r| r.seq) {
        Some(r) => Err(ApiError::conflict(format!(
            "Compartment {} is not empty: {} resource(s) live in it, among them {} {} ({}); delete or move them \
             first.",
            compartment.id,
            inside.len(),
            r.kind,
            r.id,
            r.region
        ))),
        None => Ok(()),
    }
}

fn named(p: &mut Prepare<'_>, kind: &str) -> Result<(), ApiError> {
    if p.existing.is_none() {
        p.require("name")?;
        p.require("description")?;
        unique_in_compartment(p, kind, "name")?;
    }
    p.default("inactiveStatus", Value::Null);
    Ok(())
}

fn prepare_compartment(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    named(p, COMPARTMENT.name)?;
    p.default("isAccessible", json!(true));
    Ok(())
}

fn prepare_policy(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    named(p, POLICY.name)?;
    let statements =
        p.body.get("statements").and_then(Value::as_array).ok_or_else(|| ApiError::missing("statements"))?;
    if statements.is_empty() || statements.iter().any(|s| s.as_str().is_none_or(|s| s.trim().len() <= 5)) {
        return Err(ApiError::invalid("statements must be a non-empty list of policy statements."));
    }
    // Every statement of the policy language begins with its verb.
    const VERBS: [&str; 5] = ["allow", "define", "endorse", "admit", "deny"];
    for statement in statements.iter().filter_map(Value::as_str) {
        let verb = statement.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        if !VERBS.contains(&verb.as_str()) {
            return Err(ApiError::invalid(format!(
                "Invalid policy statement `{statement}`: a statement begins with Allow, Define, Endorse, Admit or Deny."
            )));
        }
    }
    Ok(())
}

fn prepare_dynamic_group(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    named(p, DYNAMIC_GROUP.name)?;
    if p.existing.is_none() {
        p.require("matchingRule")?;
        // Dynamic groups belong to the tenancy (the root compartment), as groups do.
        let compartment = p.require("compartmentId")?;
        if compartment != p.sim.settings.tenancy {
            return Err(ApiError::invalid(format!(
                "compartmentId {compartment}: a dynamic group is made in the tenancy ({}), not in a compartment.",
                p.sim.settings.tenancy
            )));
        }
    }
    Ok(())
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    let mut router = router;
    for (kind, path) in [(&COMPARTMENT, "compartments"), (&POLICY, "policies"), (&DYNAMIC_GROUP, "dynamicGroups")] {
        router = resource::routes(router, kind, &[&format!("{V}/{path}")]);
    }
    router
        .route(
            &format!("{V}/regions"),
            get(|ctx: State<RegionCtx>, call: Call| async move {
                let items: Vec<Value> = ctx
                    .sim
                    .settings
                    .regions
                    .iter()
                    .map(|r| json!({"key": region_key(r).to_ascii_uppercase(), "name": r}))
                    .collect();
                respond(resource::list_response(ListShape::Array, &items, &call))
            }),
        )
        .route(
            &format!("{V}/tenancies/{{tenancyId}}/regionSubscriptions"),
            get(|ctx: State<RegionCtx>, call: Call| async move {
                let home = ctx.sim.settings.home_region.clone();
                let items: Vec<Value> = ctx
                    .sim
                    .settings
                    .regions
                    .iter()
                    .map(|r| {
                        json!({"regionKey": region_key(r).to_ascii_uppercase(), "regionName": r,
                               "status": "READY", "isHomeRegion": *r == home})
                    })
                    .collect();
                respond(resource::list_response(ListShape::Array, &items, &call))
            }),
        )
        .route(
            &format!("{V}/availabilityDomains"),
            get(|ctx: State<RegionCtx>, call: Call| async move {
                let compartment = call.query_value("compartmentId").unwrap_or_default().to_string();
                let upper = ctx.region.to_ascii_uppercase();
                let items: Vec<Value> = (1..=3)
                    .map(|i| {
                        json!({"name": format!("Sim:{upper}-AD-{i}"), "compartmentId": compartment,
                               "id": format!("ocid1.availabilitydomain.oc1..sim{}{i}", region_key(&ctx.region))})
                    })
                    .collect();
                respond(resource::list_response(ListShape::Array, &items, &call))
            }),
        )
}
