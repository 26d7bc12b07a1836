//! Reading `~/.oci/config` profiles into signers, with the errors and warnings an operator
//! sees.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use drctl::oci::config::{parse_config, resolve_config_path, resolve_profile};
use drctl::oci::{load_credentials, AuthKind, ConfigError, ConfigSelection, ConfigWarning};

const TENANCY: &str = "ocid1.tenancy.oc1..aaaaaaaatenancy";
const USER: &str = "ocid1.user.oc1..aaaaaaaauser";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oci").join(name)
}

fn real_fingerprint() -> String {
    std::fs::read_to_string(fixture("keys/fingerprint.txt")).unwrap().trim().to_string()
}

/// Writes `key` (a fixture) with mode 600 and a config file into a temp dir.
fn setup(key: &str, config: impl FnOnce(&Path) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.pem");
    std::fs::copy(fixture(key), &key_path).unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = dir.path().join("config");
    std::fs::write(&cfg, config(&key_path)).unwrap();
    (dir, cfg)
}

fn select(cfg: &Path, profile: &str) -> ConfigSelection {
    ConfigSelection { file: Some(cfg.to_path_buf()), profile: Some(profile.into()), auth: None }
}

#[test]
fn profile_inherits_default_and_builds_an_api_key_signer() {
    let fp = real_fingerprint();
    let (_dir, cfg) = setup("test_key.pem", |key| {
        format!("[DEFAULT]\ntenancy={TENANCY}\nregion=us-ashburn-1\nkey_file={}\n\n[dr]\nuser={USER}\nfingerprint={fp}\nregion=us-phoenix-1\n", key.display())
    });
    let creds = load_credentials(&select(&cfg, "dr")).unwrap();
    assert_eq!(creds.config.region, "us-phoenix-1");
    assert_eq!(creds.auth, AuthKind::ApiKey);
    assert_eq!(creds.signer.key_id(), format!("{TENANCY}/{USER}/{fp}"));
    assert_eq!(creds.warnings, []);
}

#[test]
fn encrypted_keys_use_the_pass_phrase_and_debug_hides_it() {
    let fp = real_fingerprint();
    for key in ["keys/pkcs1_aes256.pem", "keys/pkcs8_aes256.pem"] {
        let (_dir, cfg) = setup(key, |k| {
            format!("[DEFAULT]\nuser={USER}\nfingerprint={fp}\ntenancy={TENANCY}\nregion=eu-frankfurt-1\nkey_file={}\npass_phrase=correct horse\n", k.display())
        });
        let creds = load_credentials(&select(&cfg, "DEFAULT")).unwrap();
        let debug = format!("{creds:?}");
        assert!(!debug.contains("correct horse"), "{debug}");
        assert!(!debug.contains("BEGIN"), "{debug}");
    }
}

#[test]
fn missing_tenancy_names_file_profile_and_fix() {
    let (_dir, cfg) =
        setup("test_key.pem", |k| format!("[prod]\nuser={USER}\nregion=us-ashburn-1\nkey_file={}\n", k.display()));
    let err = load_credentials(&select(&cfg, "prod")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: profile [prod] has no `tenancy`; add `tenancy=...` to [prod] or to [DEFAULT] (the tenancy OCID from the console's Tenancy page)",
            cfg.display()
        )
    );
}

#[test]
fn unknown_profile_lists_the_present_ones() {
    let (_dir, cfg) = setup("test_key.pem", |_| "[DEFAULT]\nregion=x\n[a]\n[b]\n".into());
    let err = load_credentials(&select(&cfg, "c")).unwrap_err();
    assert!(matches!(&err, ConfigError::ProfileNotFound { available, .. } if available == "DEFAULT, a, b"), "{err}");
}

#[test]
fn malformed_fingerprint_points_at_its_line() {
    let (_dir, cfg) = setup("test_key.pem", |k| {
        format!(
            "[DEFAULT]\ntenancy={TENANCY}\nuser={USER}\nregion=us-ashburn-1\nfingerprint=AB:CD\nkey_file={}\n",
            k.display()
        )
    });
    let err = load_credentials(&select(&cfg, "DEFAULT")).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!("{}:5: `fingerprint` in profile [DEFAULT] is malformed", cfg.display())),
        "{err}"
    );
}

#[test]
fn warns_on_loose_permissions_and_fingerprint_mismatch() {
    let wrong = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
    let (_dir, cfg) = setup("test_key.pem", |k| {
        format!(
            "[DEFAULT]\ntenancy={TENANCY}\nuser={USER}\nfingerprint={wrong}\nregion=us-ashburn-1\nkey_file={}\n",
            k.display()
        )
    });
    let key = cfg.with_file_name("key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let creds = load_credentials(&select(&cfg, "DEFAULT")).unwrap();
    assert_eq!(
        creds.warnings,
        [
            ConfigWarning::KeyFilePermissions { path: key.clone(), mode: 0o644 },
            ConfigWarning::FingerprintMismatch {
                config: cfg.clone(),
                line: 4,
                configured: wrong.into(),
                actual: real_fingerprint(),
            },
        ]
    );
    assert!(creds.warnings[0].to_string().contains("chmod 600"));
}

#[test]
fn security_token_profile_signs_with_st_key_id() {
    let (dir, cfg) = setup("test_key.pem", |k| {
        format!(
            "[session]\ntenancy={TENANCY}\nregion=us-ashburn-1\nkey_file={}\nsecurity_token_file={}\n",
            k.display(),
            k.with_file_name("token").display()
        )
    });
    std::fs::write(dir.path().join("token"), "tok.en.value\n").unwrap();
    let creds = load_credentials(&select(&cfg, "session")).unwrap();
    assert_eq!(creds.auth, AuthKind::SecurityToken);
    assert_eq!(creds.signer.key_id(), "ST$tok.en.value");
    assert!(!format!("{:?}", creds.signer).contains("tok.en.value"));
}

#[test]
fn missing_key_file_error_points_at_the_key_file_line() {
    let text = format!("[DEFAULT]\ntenancy={TENANCY}\nuser={USER}\nfingerprint={}\nregion=us-ashburn-1\nkey_file=/nonexistent/key.pem\n", real_fingerprint());
    let cfg = parse_config(&text, Path::new("/etc/oci/config"), "DEFAULT").unwrap();
    let err = cfg.load_signer(AuthKind::ApiKey, false).unwrap_err();
    assert!(err.to_string().starts_with("/etc/oci/config:6: cannot read key file /nonexistent/key.pem"), "{err}");
}

#[test]
fn tilde_and_environment_resolution() {
    let env = |k: &str| match k {
        "HOME" => Some("/home/op".to_string()),
        "OCI_CONFIG_FILE" => Some("~/alt/config".to_string()),
        "OCI_CLI_PROFILE" => Some("dr".to_string()),
        _ => None,
    };
    assert_eq!(resolve_config_path(None, env).unwrap(), PathBuf::from("/home/op/alt/config"));
    assert_eq!(resolve_config_path(Some(Path::new("/x/config")), env).unwrap(), PathBuf::from("/x/config"));
    assert_eq!(
        resolve_config_path(None, |k: &str| (k == "HOME").then(|| "/h".to_string())).unwrap(),
        PathBuf::from("/h/.oci/config")
    );
    assert_eq!(resolve_profile(None, env), "dr");
    assert_eq!(resolve_profile(Some("prod"), env), "prod");
    assert_eq!(resolve_profile(None, |_: &str| None), "DEFAULT");
}

#[test]
fn an_empty_or_expired_session_token_is_refused_before_sending() {
    use base64::Engine as _;
    let (dir, cfg) = setup("test_key.pem", |k| {
        format!(
            "[session]\ntenancy={TENANCY}\nregion=us-ashburn-1\nkey_file={}\nsecurity_token_file={}\n",
            k.display(),
            k.with_file_name("token").display()
        )
    });
    let token = dir.path().join("token");
    std::fs::write(&token, "\n").unwrap();
    let err = load_credentials(&select(&cfg, "session")).unwrap_err().to_string();
    assert!(err.contains(":5: the session token in") && err.contains("is empty"), "{err}");
    let encode = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    std::fs::write(&token, format!("{}.{}.sig", encode("{}"), encode(r#"{"exp": 1000000000}"#))).unwrap();
    let err = load_credentials(&select(&cfg, "session")).unwrap_err().to_string();
    assert!(err.contains("expired at 2001-09-09T01:46:40Z") && err.contains("oci session refresh"), "{err}");
    std::fs::write(&token, format!("{}.{}.sig", encode("{}"), encode(r#"{"exp": 4000000000}"#))).unwrap();
    assert!(load_credentials(&select(&cfg, "session")).is_ok());
}
