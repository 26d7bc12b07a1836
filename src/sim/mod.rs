//! `drctl sim`: an OCI control-plane simulator that Oracle's own SDK and CLI accept.
//!
//! One listener per region serves every simulated service under one base URL, with OCI's
//! wire behaviour: signed requests (checked with `crate::oci::verify`), `opc-request-id`,
//! OCI error bodies, retry tokens, etags and `if-match`, paging, work requests, lifecycle
//! states that advance with time, referential checks, limits and home-region identity.
//! Faults (outages, throttling, errors, latency, failing work requests) can be injected
//! for drills. Production modules never import this tree; it reaches them only over HTTP
//! through the endpoints file.
//!
//! Layout: `server` (listeners, middleware), `auth`, `faults`, `store` and `context`
//! (state), `resource` (the generic CRUD engine), `work_requests`, `pagination`, `sorting`,
//! `services/` (one file per OCI service), `registry/` (the region's OCIR, Distribution API), `admin`, `state` (persistence), `setup`
//! (`sim init`), `seed` (creating an inventory's resources and images), `cli`.

pub mod admin;
pub mod auth;
pub mod call;
pub mod cli;
pub mod context;
pub mod errors;
pub mod faults;
pub mod filters;
pub mod ocid;
pub mod pagination;
pub mod registry;
pub mod resource;
pub mod retry_tokens;
pub mod seed;
pub mod server;
pub mod services;
pub mod setup;
pub mod sorting;
pub mod state;
pub mod states;
pub mod store;
pub mod work_requests;

pub use cli::{run_sim, SimArgs, SimCommand};
pub use context::{Settings, Sim};
pub use errors::{ApiError, SimError};
pub use server::{start, RunningSim};
