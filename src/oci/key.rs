//! Loading the API signing key and computing its OCI fingerprint.
//!
//! Accepts the PEM forms `oci setup config` and OpenSSL produce: PKCS#1
//! (`BEGIN RSA PRIVATE KEY`, optionally with legacy `Proc-Type: 4,ENCRYPTED` encryption),
//! PKCS#8 (`BEGIN PRIVATE KEY`) and encrypted PKCS#8 (`BEGIN ENCRYPTED PRIVATE KEY`).
//! It never logs or returns key material or the pass phrase in errors.

use std::path::Path;

use md5::{Digest, Md5};
use pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::{RsaPrivateKey, RsaPublicKey};

use super::error::KeyError;
use super::legacy_pem;
use super::secret::Secret;

/// Reads and decodes a private key file. `pass_phrase` is used only if the key is encrypted.
pub fn load_private_key_file(path: &Path, pass_phrase: Option<&Secret>) -> Result<RsaPrivateKey, KeyError> {
    let text = crate::input::read_text(path).map_err(|source| KeyError::Read { path: path.to_path_buf(), source })?;
    load_private_key_pem(&text, pass_phrase, path)
}

/// The first PEM block of `text` (from its `-----BEGIN` line to the matching `-----END`
/// line), without what surrounds it: the `OCI_API_KEY` label line the OCI Console adds to the
/// keys it makes, or the `Bag Attributes` openssl writes before a key, which Oracle's SDK skips.
fn pem_block(text: &str) -> &str {
    // The first private key's block (`openssl pkcs12 -nodes` writes the certificate first),
    // else the first block, which is then named for what it is.
    let private = text
        .match_indices("-----BEGIN ")
        .map(|(i, _)| i)
        .find(|&i| text[i..].lines().next().is_some_and(|line| line.contains("PRIVATE KEY-----")));
    let Some(start) = private.or_else(|| text.find("-----BEGIN ")) else { return text.trim() };
    let block = &text[start..];
    let label = block["-----BEGIN ".len()..].split("-----").next().unwrap_or_default();
    let end_marker = format!("-----END {label}-----");
    match block.find(&end_marker) {
        Some(end) => &block[..end + end_marker.len()],
        None => block.trim(),
    }
}

/// What kind of key a PKCS#8 block holds, when it is one OCI's API keys cannot be (not RSA).
fn pkcs8_algorithm(pem: &str) -> Option<&'static str> {
    use pkcs8::der::Decode;
    let (_, document) = pkcs8::SecretDocument::from_pem(pem).ok()?;
    let info = pkcs8::PrivateKeyInfo::from_der(document.as_bytes()).ok()?;
    match info.algorithm.oid.to_string().as_str() {
        "1.2.840.10045.2.1" => Some("an EC key"),
        "1.3.101.112" => Some("an Ed25519 key"),
        "1.3.101.113" => Some("an Ed448 key"),
        "1.2.840.10040.4.1" => Some("a DSA key"),
        _ => None,
    }
}

/// Decodes a PEM private key; `origin` names where it came from in errors.
pub fn load_private_key_pem(pem: &str, pass_phrase: Option<&Secret>, origin: &Path) -> Result<RsaPrivateKey, KeyError> {
    let pem = pem_block(pem);
    let path = || origin.to_path_buf();
    let format = |e: &dyn std::fmt::Display| KeyError::Format { path: path(), detail: e.to_string() };
    if pem.contains("PUBLIC KEY-----") && !pem.contains("PRIVATE KEY-----") {
        return Err(KeyError::PublicKey { path: path() });
    }
    if pem.starts_with("-----BEGIN EC PRIVATE KEY-----") {
        return Err(KeyError::NotRsa { path: path(), what: "an EC key", fix: "make an RSA key with `oci setup keys`" });
    }
    if pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
        return Err(KeyError::NotRsa {
            path: path(),
            what: "a key in OpenSSH's format",
            fix: "for an RSA key, convert it in place with `ssh-keygen -p -m PEM -f KEY`",
        });
    }
    if pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let pass = pass_phrase.ok_or_else(|| KeyError::MissingPassPhrase { path: path() })?;
        return RsaPrivateKey::from_pkcs8_encrypted_pem(pem, pass.expose().as_bytes())
            .map_err(|e| KeyError::Decrypt { path: path(), detail: format!("PKCS#8: {e}") });
    }
    if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
        return RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| match pkcs8_algorithm(pem) {
            Some(what) => KeyError::NotRsa { path: path(), what, fix: "make an RSA key with `oci setup keys`" },
            None => format(&e),
        });
    }
    if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        if legacy_pem::is_encrypted(pem) {
            let pass = pass_phrase.ok_or_else(|| KeyError::MissingPassPhrase { path: path() })?;
            let der = legacy_pem::decrypt(pem, pass.expose().as_bytes())
                .map_err(|detail| KeyError::Decrypt { path: path(), detail })?;
            return RsaPrivateKey::from_pkcs1_der(&der).map_err(|e| KeyError::Decrypt {
                path: path(),
                detail: format!("decrypted data is not a PKCS#1 key ({e})"),
            });
        }
        return RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| format(&e));
    }
    Err(KeyError::Format { path: path(), detail: "no recognised PEM header".into() })
}

/// The OCI key fingerprint: MD5 of the DER SubjectPublicKeyInfo, as colon-separated
/// lower-case hex (what the console shows and `openssl md5 -c` prints).
pub fn fingerprint(key: &RsaPublicKey) -> String {
    // Encoding a valid in-memory RSA public key cannot fail; an empty DER would simply
    // give a fingerprint that matches nothing, which surfaces as a mismatch warning.
    let der = key.to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
    Md5::digest(&der).iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn pkcs8_keys_of_other_algorithms_are_named() {
        // Throwaway keys made with `openssl genpkey` for this test.
        let ed25519 = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEILS7MYxtXUsLCLD5toXDuWU0jG6D+NiZaJktMBa3V5+P\n-----END PRIVATE KEY-----\n";
        let ec = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg9eaj5qkaeIuu5BJU\nedxuZ+A5ghWi5RweENArace+hFihRANCAAQEsMLX0/IbUEEOdMr6flgX046+w6SI\neP+aSk0MC+1dl830Gh7e+wkJ4nahSlEdX3Uo70TGlTCkYES1DsDGzmgl\n-----END PRIVATE KEY-----\n";
        for (pem, what) in [(ed25519, "an Ed25519 key"), (ec, "an EC key")] {
            let err = load_private_key_pem(pem, None, Path::new("k.pem")).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        }
    }

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oci").join(name)
    }

    #[test]
    fn every_pem_form_loads_the_same_key() {
        let pass = Secret::new("correct horse");
        let plain = load_private_key_file(&fixture("test_key.pem"), None).unwrap();
        for name in [
            "keys/pkcs8.pem",
            "keys/pkcs8_aes256.pem",
            "keys/pkcs1_aes128.pem",
            "keys/pkcs1_aes256.pem",
            "keys/pkcs1_des3.pem",
            // PBES2 with the PRF of OpenSSL 1.0 and Java, and with 3DES.
            "keys/pkcs8_aes128_sha1.pem",
            "keys/pkcs8_des3.pem",
            // What surrounds the PEM block is skipped, as Oracle's SDK skips it.
            "keys/console_labelled.pem",
            "keys/bag_attributes.pem",
            // `openssl pkcs12 -nodes` writes the certificate before the key.
            "keys/cert_then_key.pem",
        ] {
            let key = load_private_key_file(&fixture(name), Some(&pass)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(key, plain, "{name}");
        }
    }

    #[test]
    fn a_key_that_is_not_rsa_says_what_it_is() {
        let err = load_private_key_file(&fixture("keys/ec.pem"), None).unwrap_err();
        assert!(matches!(err, KeyError::NotRsa { .. }) && err.to_string().contains("an EC key"), "{err}");
    }

    #[test]
    fn encrypted_key_without_pass_phrase_says_so() {
        let err = load_private_key_file(&fixture("keys/pkcs1_aes128.pem"), None).unwrap_err();
        assert!(matches!(err, KeyError::MissingPassPhrase { .. }), "{err}");
        let err = load_private_key_file(&fixture("keys/pkcs8_aes256.pem"), None).unwrap_err();
        assert!(matches!(err, KeyError::MissingPassPhrase { .. }), "{err}");
    }

    #[test]
    fn wrong_pass_phrase_is_a_decrypt_error_without_the_phrase() {
        let wrong = Secret::new("tr0ub4dor");
        for name in ["keys/pkcs1_aes128.pem", "keys/pkcs8_aes256.pem"] {
            let err = load_private_key_file(&fixture(name), Some(&wrong)).unwrap_err();
            assert!(matches!(err, KeyError::Decrypt { .. }), "{err}");
            assert!(!err.to_string().contains("tr0ub4dor"));
        }
    }

    #[test]
    fn public_key_is_rejected_with_a_fix() {
        let err = load_private_key_file(&fixture("keys/public.pem"), None).unwrap_err();
        assert!(matches!(err, KeyError::PublicKey { .. }), "{err}");
    }

    #[test]
    fn fingerprint_matches_openssl() {
        let key = load_private_key_file(&fixture("test_key.pem"), None).unwrap();
        let expected = std::fs::read_to_string(fixture("keys/fingerprint.txt")).unwrap();
        assert_eq!(fingerprint(&key.to_public_key()), expected.trim());
    }
}
