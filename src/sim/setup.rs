//! The simulator's directory (`drctl sim init DIR`): an RSA API key pair, an OCI config
//! file that Oracle's SDK, CLI and drctl all read, and `sim.json` naming the tenancy, user
//! and public key the simulator accepts. Also the file names the running simulator
//! writes there (`endpoints.json`, `admin.json`).

use std::path::{Path, PathBuf};

use pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};

use super::auth::Keyring;
use super::errors::SimError;
use super::ocid::{new_ocid, unique};

pub const PRIVATE_KEY: &str = "sim_api_key.pem";
pub const PUBLIC_KEY: &str = "sim_api_key_public.pem";
pub const CONFIG: &str = "config";
pub const SIM_JSON: &str = "sim.json";
pub const ENDPOINTS: &str = "endpoints.json";
pub const ADMIN: &str = "admin.json";
/// The state file a simulator started by `run --sim` keeps in its directory; `drctl sim --dir`
/// loads it too.
pub const STATE: &str = "state.json";
/// The first port of that simulator, kept so that endpoints a run recorded stay valid.
pub const PORT_BASE: &str = "port-base";

/// `DIR/sim.json`: who the simulated tenancy is and which key it accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimIdentity {
    pub tenancy: String,
    pub user: String,
    pub fingerprint: String,
    pub namespace: String,
    pub public_key_pem: String,
    pub key_file: PathBuf,
}

impl SimIdentity {
    pub fn keyring(&self) -> Result<Keyring, SimError> {
        let key = RsaPublicKey::from_public_key_pem(&self.public_key_pem)
            .map_err(|e| SimError::Key { detail: format!("public key in sim.json: {e}") })?;
        Ok(Keyring::default().with_key(&self.tenancy, &self.user, key))
    }

    pub fn read(dir: &Path) -> Result<SimIdentity, SimError> {
        let path = dir.join(SIM_JSON);
        let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => SimError::Usage(format!(
                "{} holds no simulator (no {SIM_JSON}): set one up with `drctl sim init {}`",
                dir.display(),
                dir.display()
            )),
            _ => SimError::Read { path: path.clone(), source },
        })?;
        serde_json::from_str(&text).map_err(|e| SimError::Parse { path, detail: e.to_string() })
    }
}

/// Creates `dir` with a fresh key pair, `config` (profile DEFAULT) and `sim.json`.
pub fn init(dir: &Path, home_region: &str) -> Result<SimIdentity, SimError> {
    std::fs::create_dir_all(dir).map_err(|source| SimError::Write { path: dir.to_path_buf(), source })?;
    let dir = dir.canonicalize().map_err(|source| SimError::Read { path: dir.to_path_buf(), source })?;
    let key_err = |e: &dyn std::fmt::Display| SimError::Key { detail: e.to_string() };
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| key_err(&e))?;
    let public = private.to_public_key();
    let private_pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|e| key_err(&e))?;
    let public_pem = public.to_public_key_pem(LineEnding::LF).map_err(|e| key_err(&e))?;
    let key_file = dir.join(PRIVATE_KEY);
    write_private(&key_file, private_pem.as_bytes())?;
    write(&dir.join(PUBLIC_KEY), public_pem.as_bytes())?;
    let identity = SimIdentity {
        tenancy: new_ocid("tenancy", ""),
        user: new_ocid("user", ""),
        fingerprint: crate::oci::key::fingerprint(&public),
        namespace: format!("sim{}", unique(10)),
        public_key_pem: public_pem,
        key_file: key_file.clone(),
    };
    let config = format!(
        "[DEFAULT]\nuser={}\nfingerprint={}\ntenancy={}\nregion={home_region}\nkey_file={}\n",
        identity.user,
        identity.fingerprint,
        identity.tenancy,
        key_file.display()
    );
    write_private(&dir.join(CONFIG), config.as_bytes())?;
    super::state::write_json_atomic(&dir.join(SIM_JSON), &identity)?;
    Ok(identity)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    std::fs::write(path, bytes).map_err(|source| SimError::Write { path: path.to_path_buf(), source })
}

/// Writes a file readable by its owner only (the SDK and CLI warn about wider modes).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    write(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|source| SimError::Write { path: path.to_path_buf(), source })?;
    }
    Ok(())
}
