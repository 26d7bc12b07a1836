//! Actions that call OCI, and the one client they share.
//!
//! The client is built on first use, so a runbook without OCI tasks needs no OCI config.
//! Which config file, profile and endpoints it uses comes from [`OciSettings`] (the CLI's
//! `--config-file`, `--profile`, `--endpoints` or their environment variables); against the
//! simulator only the endpoints differ.

pub mod converge;
mod invoke;
mod request;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::{ActionError, ErrorClass};
use crate::oci::{ClientError, ConfigSelection, Endpoints, OciClient, RetryPolicy};

pub use converge::ConvergeAction;
pub use invoke::FunctionInvokeAction;
pub use request::OciRequestAction;

/// Where OCI credentials and endpoints come from.
#[derive(Debug, Clone, Default)]
pub struct OciSettings {
    pub config_file: Option<PathBuf>,
    pub profile: Option<String>,
    /// An endpoints file (`{"<region>": "<base URL>"}`); `None` reads `DRCTL_ENDPOINTS`.
    pub endpoints_file: Option<PathBuf>,
    /// The calls' retry policy; `None` is Oracle's default strategy.
    pub retry: Option<RetryPolicy>,
    /// How requests are signed; `None` as the CLI chooses (`OCI_CLI_AUTH`, else the profile).
    /// The embedded simulator's config is an API key's, whatever the shell says for real OCI.
    pub auth: Option<crate::oci::AuthKind>,
    /// The docker config file registry credentials are read from when a task gives none and
    /// the environment has none; `None`: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`. The embedded simulator names its own, which holds the login to
    /// its registries.
    pub docker_config: Option<PathBuf>,
}

impl OciSettings {
    /// The endpoint table: the endpoints file if one was named, else `DRCTL_ENDPOINTS`, else
    /// OCI's public endpoints.
    pub fn endpoints(&self) -> Result<Endpoints, crate::oci::EndpointError> {
        match &self.endpoints_file {
            Some(path) => Endpoints::from_file(path),
            None => Endpoints::from_env(),
        }
    }
}

/// The profile's `region`: where a request that names no region goes.
#[derive(Debug, Clone)]
pub struct HomeRegion {
    pub region: String,
    /// Why requests cannot go there (no endpoint is known for it), naming the config line.
    problem: Option<String>,
}

impl HomeRegion {
    fn new(config: &crate::oci::OciConfig, endpoints: &Endpoints) -> Self {
        let region = config.region.clone();
        let problem = endpoints.resolve(crate::oci::Service::Identity, &region, None).err().map(|e| {
            let place = match config.line_of("region") {
                0 => config.path.display().to_string(),
                line => format!("{}:{line}", config.path.display()),
            };
            format!("{place}: the `region` of profile [{}], where requests that name no region go: {e}", config.profile)
        });
        Self { region, problem }
    }

    /// The region, or why requests cannot go there.
    pub fn usable(&self) -> Result<&str, &str> {
        match &self.problem {
            Some(problem) => Err(problem),
            None => Ok(&self.region),
        }
    }
}

/// The lazily built client shared by every OCI action of a run.
pub struct OciEnvironment {
    settings: OciSettings,
    client: OnceCell<Result<(OciClient, HomeRegion), String>>,
}

impl OciEnvironment {
    pub fn new(settings: OciSettings) -> Arc<Self> {
        Arc::new(Self { settings, client: OnceCell::new() })
    }

    /// The client and the profile's home region.
    pub async fn client(&self) -> Result<(&OciClient, &HomeRegion), ActionError> {
        let built = self.client.get_or_init(|| async { build_client(&self.settings).map_err(|e| e.to_string()) }).await;
        match built {
            Ok((client, home)) => Ok((client, home)),
            Err(e) => Err(ActionError::input(e.clone())),
        }
    }
}

/// Why no client could be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] crate::oci::ConfigError),
    #[error(transparent)]
    Endpoints(#[from] crate::oci::EndpointError),
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl SetupError {
    /// There is no config to read (no file, or no such profile in it), rather than one that
    /// is wrong: what to do is to set one up.
    pub fn no_config(&self) -> bool {
        use crate::oci::ConfigError;
        matches!(self, SetupError::Config(ConfigError::Read { .. } | ConfigError::ProfileNotFound { .. }))
    }
}

/// Builds a client from the settings; warnings about the config go to the log.
pub fn build_client(settings: &OciSettings) -> Result<(OciClient, HomeRegion), SetupError> {
    let selection =
        ConfigSelection { file: settings.config_file.clone(), profile: settings.profile.clone(), auth: settings.auth };
    let credentials = crate::oci::load_credentials(&selection)?;
    for warning in &credentials.warnings {
        tracing::warn!(%warning, "OCI config");
    }
    let endpoints = settings.endpoints()?;
    let home = HomeRegion::new(&credentials.config, &endpoints);
    let mut builder = OciClient::builder(credentials.signer).endpoints(endpoints);
    if let Some(policy) = &settings.retry {
        builder = builder.retry_policy(policy.clone());
    }
    let client = builder.build()?;
    Ok((client, home))
}

/// An OCI client error as an action error: the service's code, message, opc-request-id and
/// help, classed by HTTP status so `retry_on: [http:5xx]` works.
pub fn action_error(err: ClientError) -> ActionError {
    match &err {
        ClientError::Api(api) => {
            let help = api.help().map(|h| format!(" — {h}")).unwrap_or_default();
            let mut e = ActionError::new(ErrorClass::HttpStatus(api.status), format!("{}{help}", api.line()));
            e.retryable = api.is_retryable();
            e
        }
        ClientError::Transport { .. } => ActionError::new(ErrorClass::Network, err.to_string()),
        ClientError::Cancelled { .. } => ActionError::fatal(ErrorClass::Other, err.to_string()),
        _ => ActionError::input(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::OciError;

    #[test]
    fn an_api_error_gives_its_help_once() {
        let body = br#"{"code": "TooManyRequests", "message": "slow down"}"#;
        let api = OciError::from_response(429, body, Some("req-1".into()), "POST", "https://functions/x");
        let e = action_error(ClientError::Api(Box::new(api)));
        assert_eq!(e.message.matches("OCI is throttling this tenancy").count(), 1, "{}", e.message);
        assert!(!e.message.contains('\n'), "{}", e.message);
    }
}
