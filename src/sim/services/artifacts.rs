//! Artifacts (`/20160918/container/repositories`): container registry repositories,
//! created AVAILABLE. A name is unique in the whole region, across compartments: it is the
//! registry path `<namespace>/<name>`, which can lead to one repository only. Images live in
//! the region's registry (`sim::registry`), which keeps the counts up to date.

use axum::Router;
use serde_json::{json, Map, Value};

use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{self, Kind, ListShape, Prepare, AVAILABLE, BASE};

pub static REPOSITORY: Kind = Kind {
    name: "artifacts.containerrepository",
    ocid_type: "containerrepo",
    lifecycle: AVAILABLE,
    list: ListShape::Counted { totals: Some(repository_totals) },
    prepare: prepare_repository,
    ..BASE
};

/// ContainerRepositoryCollection's totals, over every repository the list matched.
fn repository_totals(items: &[Value]) -> Map<String, Value> {
    let sum = |field: &str| items.iter().filter_map(|r| r.get(field).and_then(Value::as_u64)).sum::<u64>();
    let mut totals = Map::new();
    totals.insert("repositoryCount".into(), json!(items.len()));
    for field in ["imageCount", "layerCount", "layersSizeInBytes"] {
        totals.insert(field.into(), json!(sum(field)));
    }
    totals
}

fn prepare_repository(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    if p.existing.is_none() {
        p.require("displayName")?;
        unique_in_region(p)?;
    }
    p.default("isPublic", json!(false));
    p.default("isImmutable", json!(false));
    for field in ["imageCount", "layerCount", "layersSizeInBytes", "billableSizeInGBs"] {
        p.default(field, json!(0));
    }
    p.default("namespace", json!(p.sim.settings.namespace));
    Ok(())
}

/// 409 when a live repository of the region (any compartment) already has the name.
fn unique_in_region(p: &Prepare<'_>) -> Result<(), ApiError> {
    let Some(name) = p.str("displayName") else { return Ok(()) };
    let clash = p
        .store
        .of_kind(p.region, REPOSITORY.name)
        .find(|r| r.id != p.id && r.gone_at_ms.is_none() && r.str_field("displayName") == Some(name.as_str()));
    match clash {
        Some(r) => Err(ApiError::conflict(format!(
            "A container repository named `{name}` already exists in this region (compartment {}).",
            r.str_field("compartmentId").unwrap_or_default()
        ))),
        None => Ok(()),
    }
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    resource::routes(router, &REPOSITORY, &["/20160918/container/repositories"])
}
