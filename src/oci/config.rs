//! Reading credentials from `~/.oci/config` the way Oracle's CLI and SDK do.
//!
//! Owns which file and profile are chosen (explicit argument, then `OCI_CONFIG_FILE` /
//! `OCI_CLI_PROFILE`, then `~/.oci/config` and `DEFAULT`), `[DEFAULT]` inheritance, `~`
//! expansion, the required keys per authentication kind, and the warnings an operator should
//! see (key readable by others, fingerprint mismatch). It returns warnings instead of
//! printing them, and never puts a pass phrase, key or token into an error or `Debug`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::ini::{self, IniValue};
use super::key::{fingerprint, load_private_key_file};
use super::secret::Secret;
use super::signer::RequestSigner;

/// Environment variable naming the config file (as the SDK reads it).
pub const CONFIG_FILE_ENV: &str = "OCI_CONFIG_FILE";
/// Environment variable naming the profile (as the CLI reads it).
pub const PROFILE_ENV: &str = "OCI_CLI_PROFILE";
/// Environment variable choosing the authentication kind (`api_key` or `security_token`).
pub const AUTH_ENV: &str = "OCI_CLI_AUTH";
/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "DEFAULT";

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `keyId = <tenancy>/<user>/<fingerprint>`.
    ApiKey,
    /// `keyId = ST$<token>` from `security_token_file` (`oci session authenticate`).
    SecurityToken,
}

impl AuthKind {
    /// Parses the CLI's `--auth` / `OCI_CLI_AUTH` spelling.
    pub fn parse(value: &str) -> Option<AuthKind> {
        match value {
            "api_key" => Some(AuthKind::ApiKey),
            "security_token" => Some(AuthKind::SecurityToken),
            _ => None,
        }
    }
}

/// Which config file, profile and authentication kind to use; `None` means "as the CLI
/// would choose" (environment, then defaults).
#[derive(Debug, Clone, Default)]
pub struct ConfigSelection {
    pub file: Option<PathBuf>,
    pub profile: Option<String>,
    pub auth: Option<AuthKind>,
}

/// One profile of the config file with `[DEFAULT]` merged in.
#[derive(Debug, Clone)]
pub struct OciConfig {
    pub path: PathBuf,
    pub profile: String,
    pub user: Option<String>,
    pub fingerprint: Option<String>,
    pub tenancy: String,
    pub region: String,
    pub key_file: PathBuf,
    pub pass_phrase: Option<Secret>,
    pub security_token_file: Option<PathBuf>,
    /// Line of each key in the file, for error messages.
    lines: HashMap<String, usize>,
}

/// Something the operator should fix but that does not stop the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarning {
    KeyFilePermissions { path: PathBuf, mode: u32 },
    FingerprintMismatch { config: PathBuf, line: usize, configured: String, actual: String },
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigWarning::KeyFilePermissions { path, mode } => write!(
                f,
                "key file {} is readable by group or others (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode,
                path.display()
            ),
            ConfigWarning::FingerprintMismatch {
                config,
                line,
                configured,
                actual,
            } => write!(
                f,
                "{}:{}: fingerprint {} does not match the key's fingerprint {}; OCI will answer 401 NotAuthenticated unless the uploaded API key is the one in key_file",
                config.display(),
                line,
                configured,
                actual
            ),
        }
    }
}

/// A ready signer with the profile it came from and any warnings.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub config: OciConfig,
    pub auth: AuthKind,
    pub signer: RequestSigner,
    pub warnings: Vec<ConfigWarning>,
}

/// Loads the selected profile and builds its signer.
pub fn load_credentials(selection: &ConfigSelection) -> Result<Credentials, ConfigError> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let config = load_config(selection.file.as_deref(), selection.profile.as_deref())?;
    let chosen = match (selection.auth, env(AUTH_ENV)) {
        (Some(auth), _) => Some(auth),
        (None, Some(value)) => {
            Some(AuthKind::parse(&value).ok_or(ConfigError::UnknownAuth { variable: AUTH_ENV, value })?)
        }
        (None, None) => None,
    };
    let auth = chosen.unwrap_or_else(|| config.default_auth());
    let (signer, warnings) = config.load_signer(auth, chosen.is_some())?;
    Ok(Credentials { config, auth, signer, warnings })
}

/// Reads one profile: `path` overrides `OCI_CONFIG_FILE` overrides `~/.oci/config`;
/// `profile` overrides `OCI_CLI_PROFILE` overrides `DEFAULT`.
pub fn load_config(path: Option<&Path>, profile: Option<&str>) -> Result<OciConfig, ConfigError> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let path = resolve_config_path(path, env)?;
    let profile = resolve_profile(profile, env);
    let text = crate::input::read_text(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
    parse_config(&text, &path, &profile)
}

/// The config file to read, given an explicit path and an environment lookup.
pub fn resolve_config_path(
    explicit: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<PathBuf, ConfigError> {
    match explicit {
        Some(p) => expand_tilde(&p.to_string_lossy(), &env),
        None => match env(CONFIG_FILE_ENV) {
            Some(p) => expand_tilde(&p, &env),
            None => expand_tilde("~/.oci/config", &env),
        },
    }
}

/// The profile to use, given an explicit name and an environment lookup.
pub fn resolve_profile(explicit: Option<&str>, env: impl Fn(&str) -> Option<String>) -> String {
    explicit.map(str::to_string).or_else(|| env(PROFILE_ENV)).unwrap_or_else(|| DEFAULT_PROFILE.to_string())
}

/// Parses config text and extracts `profile`; `path` is used for `~` context and errors.
pub fn parse_config(text: &str, path: &Path, profile: &str) -> Result<OciConfig, ConfigError> {
    let file = ini::parse(text, path)?;
    let mut merged: HashMap<String, IniValue> = HashMap::new();
    if let Some(default) = file.section(DEFAULT_PROFILE) {
        merged.extend(default.entries.clone());
    }
    match file.section(profile) {
        Some(section) => merged.extend(section.entries.clone()),
        None if profile == DEFAULT_PROFILE && !merged.is_empty() => {}
        None => {
            let names: Vec<&str> = file.sections.iter().map(|s| s.name.as_str()).collect();
            return Err(ConfigError::ProfileNotFound {
                path: path.to_path_buf(),
                profile: profile.to_string(),
                available: if names.is_empty() { "none".into() } else { names.join(", ") },
            });
        }
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let get = |k: &str| merged.get(k).map(|v| v.value.clone()).filter(|v| !v.is_empty());
    let require = |key: &'static str, hint: &'static str| {
        get(key).ok_or_else(|| ConfigError::MissingKey {
            path: path.to_path_buf(),
            profile: profile.to_string(),
            key,
            hint,
        })
    };
    let tenancy = require("tenancy", " (the tenancy OCID from the console's Tenancy page)")?;
    let region = require("region", " (a region id such as us-ashburn-1)")?;
    let key_file = require("key_file", " (the path of the private API signing key)")?;
    let config = OciConfig {
        path: path.to_path_buf(),
        profile: profile.to_string(),
        user: get("user"),
        fingerprint: get("fingerprint"),
        tenancy,
        region,
        key_file: expand_tilde(&key_file, &env)?,
        pass_phrase: get("pass_phrase").map(Secret::new),
        security_token_file: get("security_token_file").map(|p| expand_tilde(&p, &env)).transpose()?,
        lines: merged.iter().map(|(k, v)| (k.clone(), v.line)).collect(),
    };
    config.check_ocid("tenancy", Some(&config.tenancy))?;
    config.check_ocid("user", config.user.as_ref())?;
    if let Some(fp) = &config.fingerprint {
        if !is_fingerprint(fp) {
            return Err(
                config.malformed("fingerprint", "expected 16 colon-separated lower-case hex pairs, e.g. 12:34:...:ef")
            );
        }
    }
    Ok(config)
}

impl OciConfig {
    /// The kind the profile implies: a session token when `security_token_file` is set.
    pub fn default_auth(&self) -> AuthKind {
        if self.security_token_file.is_some() {
            AuthKind::SecurityToken
        } else {
            AuthKind::ApiKey
        }
    }

    /// The line a key was set on (0 when it was not set in the file).
    pub fn line_of(&self, key: &str) -> usize {
        self.lines.get(key).copied().unwrap_or(0)
    }

    /// Loads the key (and token) and builds the signer for `auth`, with warnings.
    /// `chosen`: the kind was asked for (`OCI_CLI_AUTH`), not inferred from the profile.
    pub fn load_signer(
        &self,
        auth: AuthKind,
        chosen: bool,
    ) -> Result<(RequestSigner, Vec<ConfigWarning>), ConfigError> {
        let mut warnings = Vec::new();
        if let Some(mode) = group_or_other_mode(&self.key_file) {
            warnings.push(ConfigWarning::KeyFilePermissions { path: self.key_file.clone(), mode });
        }
        let key = load_private_key_file(&self.key_file, self.pass_phrase.as_ref())
            .map_err(|source| ConfigError::Key { path: self.path.clone(), line: self.line_of("key_file"), source })?;
        let signer = match auth {
            AuthKind::ApiKey => {
                let hint = if chosen {
                    " (the user OCID)"
                } else {
                    " (the user OCID), or sign with a session token: `security_token_file=...` from `oci session \
                     authenticate`"
                };
                let user = self.required("user", hint)?;
                let fp = self.required("fingerprint", " (shown next to the API key in the console)")?;
                let actual = fingerprint(&key.to_public_key());
                if actual != fp {
                    warnings.push(ConfigWarning::FingerprintMismatch {
                        config: self.path.clone(),
                        line: self.line_of("fingerprint"),
                        configured: fp.clone(),
                        actual,
                    });
                }
                RequestSigner::api_key(&self.tenancy, &user, &fp, key)
            }
            AuthKind::SecurityToken => {
                let token_path = self.security_token_file.clone().ok_or_else(|| ConfigError::MissingKey {
                    path: self.path.clone(),
                    profile: self.profile.clone(),
                    key: "security_token_file",
                    hint: " (written by `oci session authenticate`)",
                })?;
                let token = std::fs::read_to_string(&token_path).map_err(|source| ConfigError::Token {
                    path: self.path.clone(),
                    line: self.line_of("security_token_file"),
                    token_path: token_path.clone(),
                    source,
                })?;
                let unusable = |reason: String| ConfigError::TokenUnusable {
                    path: self.path.clone(),
                    line: self.line_of("security_token_file"),
                    token_path: token_path.clone(),
                    reason,
                };
                let token = token.trim();
                if token.is_empty() {
                    return Err(unusable("is empty".into()));
                }
                if let Some(expired) = token_expiry(token).filter(|at| *at <= std::time::SystemTime::now()) {
                    return Err(unusable(format!("expired at {}", humantime::format_rfc3339_seconds(expired))));
                }
                RequestSigner::session_token(token, key)
            }
        };
        Ok((signer, warnings))
    }

    fn required(&self, key: &'static str, hint: &'static str) -> Result<String, ConfigError> {
        let value = match key {
            "user" => self.user.clone(),
            _ => self.fingerprint.clone(),
        };
        value.ok_or_else(|| ConfigError::MissingKey {
            path: self.path.clone(),
            profile: self.profile.clone(),
            key,
            hint,
        })
    }

    fn malformed(&self, key: &str, reason: &str) -> ConfigError {
        ConfigError::Malformed {
            path: self.path.clone(),
            line: self.line_of(key),
            profile: self.profile.clone(),
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }

    fn check_ocid(&self, key: &str, value: Option<&String>) -> Result<(), ConfigError> {
        match value {
            Some(v) if !is_ocid(v) => Err(self.malformed(key, "expected an OCID such as ocid1.tenancy.oc1..aaaa…")),
            _ => Ok(()),
        }
    }
}

/// The SDK's OCID shape: at least five `.`/`:`-separated parts of `[0-9A-Za-z_-]`.
fn is_ocid(v: &str) -> bool {
    let parts: Vec<&str> = v.split(['.', ':']).collect();
    parts.len() >= 5
        && !parts[0].is_empty()
        && parts.last().is_some_and(|p| !p.is_empty())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

fn is_fingerprint(v: &str) -> bool {
    let pairs: Vec<&str> = v.split(':').collect();
    pairs.len() == 16
        && pairs.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

/// Expands a leading `~` or `~/` with `HOME`, like Python's `os.path.expanduser`.
fn expand_tilde(value: &str, env: &impl Fn(&str) -> Option<String>) -> Result<PathBuf, ConfigError> {
    if value == "~" || value.starts_with("~/") {
        let home = env("HOME").ok_or_else(|| ConfigError::NoHome { value: value.to_string() })?;
        return Ok(PathBuf::from(home).join(value.trim_start_matches('~').trim_start_matches('/')));
    }
    Ok(PathBuf::from(value))
}

/// The permission bits when group or others may read or write the file.
#[cfg(unix)]
fn group_or_other_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn group_or_other_mode(_path: &Path) -> Option<u32> {
    None
}

/// When a session token (a JWT) expires: its payload's `exp`, in seconds since the epoch, as
/// Oracle's SDK reads it. `None` when the token does not say (it is then sent as it is).
fn token_expiry(token: &str) -> Option<std::time::SystemTime> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let exp = serde_json::from_slice::<serde_json::Value>(&bytes).ok()?.get("exp")?.as_u64()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(exp))
}
