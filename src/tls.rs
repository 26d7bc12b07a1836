//! The certificate authorities drctl's HTTPS clients trust: the built-in (Mozilla) roots, the
//! system's bundle (where an organisation installs its own CA, for a registry mirror or a
//! TLS-inspecting proxy), and the bundle `SSL_CERT_FILE` names, as OpenSSL-based tools
//! (curl, the OCI CLI) read it.

use std::sync::OnceLock;

/// System bundles, the first found of which is read: Debian and Ubuntu, RHEL and Fedora,
/// Alpine and macOS.
const SYSTEM_BUNDLES: &[&str] =
    &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// `builder` trusting the extra authorities as well.
pub fn trusting(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    extra_roots().iter().cloned().fold(builder, reqwest::ClientBuilder::add_root_certificate)
}

fn extra_roots() -> &'static [reqwest::Certificate] {
    static ROOTS: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = Vec::new();
        if let Some(system) = SYSTEM_BUNDLES.iter().find(|p| std::path::Path::new(p).is_file()) {
            let read = read_bundle(system);
            if read.is_empty() {
                crate::errln!(
                    "warning: the system's CA bundle {system} holds no PEM certificate that can be read: only the \
                     built-in roots are trusted"
                );
            }
            roots.extend(read);
        }
        if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
            let path = std::path::PathBuf::from(file);
            let read = read_bundle(&path);
            if read.is_empty() {
                crate::errln!("warning: SSL_CERT_FILE={} holds no PEM certificate that can be read", path.display());
            }
            roots.extend(read);
        }
        roots
    })
}

fn read_bundle(path: impl AsRef<std::path::Path>) -> Vec<reqwest::Certificate> {
    std::fs::read(path).ok().and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok()).unwrap_or_default()
}
