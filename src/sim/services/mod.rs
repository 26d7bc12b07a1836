//! One file per simulated OCI service. Each declares its resource kinds for the generic
//! engine (`resource.rs`) and adds the operations that do not fit it; [`routes`] mounts
//! them all on one router, since every service of a region shares one base URL.

pub mod apigateway;
pub mod apigateway_policies;
pub mod apigateway_runtime;
pub mod artifacts;
pub mod container_images;
pub mod core;
pub mod events;
pub mod functions;
pub mod identity;
pub mod key_versions;
pub mod limits;
pub mod logging;
pub mod monitoring;
pub mod objectstorage;
pub mod sch;
pub mod scheduler;
pub mod secret_bundles;
pub mod secret_versions;
pub mod vault;

use axum::Router;

use super::context::RegionCtx;
use super::resource::Kind;

/// Every service's routes plus the work request endpoints.
pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    let router = functions::routes(router);
    let router = core::routes(router);
    let router = identity::routes(router);
    let router = artifacts::routes(router);
    let router = container_images::routes(router);
    let router = vault::routes(router);
    let router = key_versions::routes(router);
    let router = secret_bundles::routes(router);
    let router = logging::routes(router);
    let router = monitoring::routes(router);
    let router = apigateway::routes(router);
    let router = events::routes(router);
    let router = sch::routes(router);
    let router = scheduler::routes(router);
    let router = objectstorage::routes(router);
    let router = limits::routes(router);
    let router = crate::sim::registry::routes(router);
    super::work_requests::routes(router)
}

/// Every generic kind, for dumps.
pub fn kinds() -> Vec<&'static Kind> {
    vec![
        &functions::APPLICATION,
        &functions::FUNCTION,
        &core::VCN,
        &core::SUBNET,
        &core::ROUTE_TABLE,
        &core::SECURITY_LIST,
        &core::NSG,
        &core::SERVICE_GATEWAY,
        &core::NAT_GATEWAY,
        &core::INTERNET_GATEWAY,
        &core::DHCP_OPTIONS,
        &identity::COMPARTMENT,
        &identity::POLICY,
        &identity::DYNAMIC_GROUP,
        &artifacts::REPOSITORY,
        &vault::VAULT,
        &vault::KEY,
        &vault::SECRET,
        &logging::LOG_GROUP,
        &logging::LOG,
        &monitoring::ALARM,
        &apigateway::GATEWAY,
        &apigateway::DEPLOYMENT,
        &events::RULE,
        &sch::CONNECTOR,
        &scheduler::SCHEDULE,
    ]
}
