//! Artifacts (`/20160918/container/repositories`): container registry repositories,
//! created AVAILABLE, names unique per compartment. Images are not stored; counts stay 0.

use axum::Router;
use serde_json::json;

use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{self, unique_in_compartment, Kind, ListShape, Prepare, AVAILABLE, BASE};

pub static REPOSITORY: Kind = Kind {
    name: "artifacts.containerrepository",
    ocid_type: "containerrepo",
    lifecycle: AVAILABLE,
    list: ListShape::Items,
    prepare: prepare_repository,
    ..BASE
};

fn prepare_repository(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    if p.existing.is_none() {
        p.require("displayName")?;
        unique_in_compartment(p, REPOSITORY.name, "displayName")?;
    }
    p.default("isPublic", json!(false));
    p.default("isImmutable", json!(false));
    for field in ["imageCount", "layerCount", "layersSizeInBytes", "billableSizeInGBs"] {
        p.default(field, json!(0));
    }
    p.default("namespace", json!(p.sim.settings.namespace));
    Ok(())
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    resource::routes(router, &REPOSITORY, &["/20160918/container/repositories"])
}
