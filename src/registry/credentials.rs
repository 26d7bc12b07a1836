//! Registry credentials and where they come from: explicit values (flags, runbook fields),
//! the `DRCTL_REGISTRY_USER` / `DRCTL_REGISTRY_PASSWORD` environment variables, or the docker
//! config file's `auths` entries. Passwords and tokens live in [`Secret`], whose `Debug` prints
//! a placeholder and which has no `Display`, so they cannot reach logs or error messages.
//! This module never writes credentials anywhere and never runs credential helpers.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;

use super::error::RegistryError;

/// Environment variable holding the user name for both source and destination.
pub const ENV_USER: &str = "DRCTL_REGISTRY_USER";
/// Environment variable holding the password or auth token for both source and destination.
pub const ENV_PASSWORD: &str = "DRCTL_REGISTRY_PASSWORD";

/// A string that must not be shown: a password, an auth token or a bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value, for building an `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A user name and password (for OCIR: `<namespace>/<user>` and an auth token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials { username: username.into(), password: Secret::new(password) }
    }

    /// Both `DRCTL_REGISTRY_USER` and `DRCTL_REGISTRY_PASSWORD` set and non-empty.
    pub fn from_env() -> Option<Credentials> {
        let user = std::env::var(ENV_USER).ok().filter(|u| !u.is_empty())?;
        let pass = std::env::var(ENV_PASSWORD).ok().filter(|p| !p.is_empty())?;
        Some(Credentials::new(user, pass))
    }

    /// The `Authorization: Basic …` value.
    pub(crate) fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password.expose());
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    }
}

/// `USER:PASSWORD`, split at the first colon (OCIR user names contain `/` but not `:`).
impl FromStr for Credentials {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((u, p)) if !u.is_empty() && !p.is_empty() => Ok(Credentials::new(u, p)),
            _ => Err(RegistryError::Credentials { path: None, reason: "expected USER:PASSWORD".to_string() }),
        }
    }
}

/// The `auths` section of a docker `config.json`, keyed by normalised registry host.
#[derive(Clone, Debug, Default)]
pub struct DockerConfig {
    auths: HashMap<String, Credentials>,
    /// Named on purpose (an option, a setting), not found in the default place: its entries
    /// come before the environment's credentials.
    named: bool,
}

#[derive(serde::Deserialize)]
struct RawConfig {
    #[serde(default)]
    auths: HashMap<String, RawAuth>,
}

#[derive(serde::Deserialize)]
struct RawAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
            return Some(PathBuf::from(dir).join("config.json"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))
    }

    /// Loads `path`, or the default config without one.
    pub fn load_from(path: Option<&Path>) -> Result<DockerConfig, RegistryError> {
        match path {
            Some(path) => DockerConfig::load(path),
            None => DockerConfig::load_default(),
        }
    }

    /// Loads the default config; a missing file is an empty config, a broken one an error.
    pub fn load_default() -> Result<DockerConfig, RegistryError> {
        match DockerConfig::default_path() {
            Some(p) if p.exists() => Ok(DockerConfig { named: false, ..DockerConfig::load(&p)? }),
            _ => Ok(DockerConfig::default()),
        }
    }

    /// Loads the config at `path`, named on purpose.
    pub fn load(path: &Path) -> Result<DockerConfig, RegistryError> {
        let err = |reason: String| RegistryError::Credentials { path: Some(path.to_path_buf()), reason };
        let text = crate::input::read_text(path).map_err(|e| err(e.to_string()))?;
        let parsed = DockerConfig::parse(&text).map_err(|e| match e {
            RegistryError::Credentials { reason, .. } => err(reason),
            other => other,
        })?;
        Ok(DockerConfig { named: true, ..parsed })
    }

    pub fn parse(text: &str) -> Result<DockerConfig, RegistryError> {
        let err = |reason: String| RegistryError::Credentials { path: None, reason };
        // serde_json's message names line and column, never the value.
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut auths = HashMap::new();
        for (key, entry) in raw.auths {
            let creds = match (entry.auth, entry.username, entry.password) {
                (Some(b64), _, _) if !b64.is_empty() => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map_err(|_| err(format!("auths[{key}].auth is not base64")))?;
                    let text = String::from_utf8(bytes).map_err(|_| err(format!("auths[{key}].auth is not UTF-8")))?;
                    text.parse::<Credentials>().map_err(|_| err(format!("auths[{key}].auth is not user:password")))?
                }
                (_, Some(u), Some(p)) => Credentials::new(u, p),
                // Identity tokens and credential helpers are not supported; skip the entry.
                _ => continue,
            };
            auths.insert(normalise_host(&key), creds);
        }
        Ok(DockerConfig { auths, named: false })
    }

    /// Credentials stored for `host` (`host:port`), if any.
    pub fn lookup(&self, host: &str) -> Option<&Credentials> {
        self.auths.get(&host.to_ascii_lowercase())
    }
}

/// `https://fra.ocir.io/v1/` → `fra.ocir.io`: docker writes keys in several shapes.
fn normalise_host(key: &str) -> String {
    let no_scheme = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    no_scheme.split('/').next().unwrap_or(no_scheme).to_ascii_lowercase()
}

/// Picks credentials for one side of a copy: an explicit value wins, then the environment,
/// then the docker config entry for the host; none means anonymous. A docker config named on
/// purpose (`--authfile`, the embedded simulator's login) comes before the environment: it was
/// chosen for this copy, where the environment may hold a login to another registry.
pub fn resolve_credentials(host: &str, explicit: Option<Credentials>, docker: &DockerConfig) -> Option<Credentials> {
    let stored = docker.lookup(host).cloned();
    if docker.named {
        explicit.or(stored).or_else(Credentials::from_env)
    } else {
        explicit.or_else(Credentials::from_env).or(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_password() {
        let c = Credentials::new("ns/user@example.com", "s3cr3t-token");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("ns/user@example.com"));
    }

    #[test]
    fn a_config_named_on_purpose_comes_before_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login.json");
        std::fs::write(&path, r#"{"auths":{"127.0.0.1:5000":{"username":"sim","password":"pw"}}}"#).unwrap();
        let named = DockerConfig::load(&path).unwrap();
        assert!(named.named);
        // Whatever the environment holds, the named file's entry is taken; an explicit value
        // still wins over it.
        assert_eq!(resolve_credentials("127.0.0.1:5000", None, &named), Some(Credentials::new("sim", "pw")));
        let explicit = Some(Credentials::new("me", "mine"));
        assert_eq!(resolve_credentials("127.0.0.1:5000", explicit.clone(), &named), explicit);
        assert!(!DockerConfig::parse("{}").unwrap().named);
    }

    #[test]
    fn parses_docker_config_shapes() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("ns/alice:tok:en");
        let text = format!(
            r#"{{"auths":{{"https://fra.ocir.io/v1/":{{"auth":"{b64}"}},
                "127.0.0.1:5000":{{"username":"bob","password":"pw"}},
                "helper.example":{{}}}},"credsStore":"desktop"}}"#
        );
        let cfg = DockerConfig::parse(&text).unwrap();
        assert_eq!(cfg.lookup("FRA.ocir.io"), Some(&Credentials::new("ns/alice", "tok:en")));
        assert_eq!(cfg.lookup("127.0.0.1:5000"), Some(&Credentials::new("bob", "pw")));
        assert_eq!(cfg.lookup("helper.example"), None);
    }

    #[test]
    fn bad_auth_entry_is_reported_without_its_value() {
        let err = DockerConfig::parse(r#"{"auths":{"x.io":{"auth":"!!notbase64!!"}}}"#).unwrap_err();
        let msg = err.to_string();
        assert_eq!(msg, "credentials: auths[x.io].auth is not base64");
    }

    #[test]
    fn basic_header_encodes_user_and_password() {
        let c = Credentials::new("u", "p");
        assert_eq!(c.basic_header(), "Basic dTpw");
    }
}
