//! OCI REST client: request signing, configuration, endpoints, retries and errors.
//!
//! The layers, bottom up: [`signer`] (the HTTP signature, shared with [`verify`] for the
//! simulator), [`key`] and [`config`] (credentials from `~/.oci/config`), [`regions`],
//! [`service`] and [`endpoints`] (where each service lives, and overrides for a local
//! simulator), [`retry`] (which failures are retried and how long to wait), [`request`] and
//! [`client`] (one signed, retried call), then [`paginate`], [`work_request`] and [`waiter`]
//! built on the client.
//! Nothing here knows about runbooks; actions call into it.

pub mod api_error;
pub mod client;
pub mod config;
pub mod conformance;
pub mod endpoints;
pub mod error;
mod ini;
pub mod key;
mod legacy_pem;
pub mod paginate;
pub mod regions;
pub mod request;
pub mod retry;
pub mod secret;
pub mod service;
pub mod signer;
pub mod verify;
pub mod waiter;
pub mod work_request;

pub use api_error::{ClientError, OciError, WaitError};
pub use client::{ClientBuilder, OciClient};
pub use config::{load_config, load_credentials, AuthKind, ConfigSelection, ConfigWarning, Credentials, OciConfig};
pub use endpoints::{canonical_region, ocir_host, Endpoint, Endpoints, Service};
pub use error::{ConfigError, EndpointError, KeyError, SignError};
pub use request::{OciRequest, OciResponse, Target};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use signer::{RequestSigner, SignBody, SignOptions, SignedHeaders};
pub use waiter::{wait_for_state, LifecycleResult, PollPolicy};
pub use work_request::{wait_for_work_request, work_request_get, WorkRequest};
