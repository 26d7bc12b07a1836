//! OpenSSL's legacy ("traditional") PEM encryption: `Proc-Type: 4,ENCRYPTED` with a
//! `DEK-Info` header, key derived by `EVP_BytesToKey(MD5, 1 round, salt = IV[..8])`.
//!
//! Older `openssl genrsa -aes128` and `oci setup config` with a pass phrase write keys this
//! way, and no maintained pure-Rust crate decrypts them. This module only turns such a PEM
//! into PKCS#1 DER; it never sees or returns the pass phrase in an error.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::{Digest, Md5};

/// True when the PEM carries legacy encryption headers.
pub fn is_encrypted(pem: &str) -> bool {
    pem.lines().any(|l| l.trim().eq_ignore_ascii_case("Proc-Type: 4,ENCRYPTED"))
}

/// Decrypts a legacy-encrypted `RSA PRIVATE KEY` PEM into PKCS#1 DER. The error is a short
/// description for the caller to wrap with the file name.
pub fn decrypt(pem: &str, pass: &[u8]) -> Result<Vec<u8>, String> {
    let mut dek = None;
    let mut body = String::new();
    for line in pem.lines().map(str::trim) {
        if line.starts_with("-----") || line.is_empty() || line.starts_with("Proc-Type:") {
            continue;
        }
        if let Some(value) = line.strip_prefix("DEK-Info:") {
            dek = Some(value.trim().to_string());
            continue;
        }
        body.push_str(line);
    }
    let dek = dek.ok_or("encrypted PEM without DEK-Info header")?;
    let (cipher, iv_hex) = dek.split_once(',').ok_or("DEK-Info header without an IV")?;
    let iv = decode_hex(iv_hex.trim()).ok_or("DEK-Info IV is not hex")?;
    let mut data = BASE64.decode(body.as_bytes()).map_err(|_| "PEM body is not base64".to_string())?;
    let key_len = match cipher.to_ascii_uppercase().as_str() {
        "AES-128-CBC" => 16,
        "AES-192-CBC" => 24,
        "AES-256-CBC" => 32,
        "DES-EDE3-CBC" => 24,
        other => return Err(format!("cipher {other}")),
    };
    if iv.len() < 8 {
        return Err("DEK-Info IV is too short".into());
    }
    let key = bytes_to_key(pass, &iv[..8], key_len);
    let bad = |_| format!("{cipher} did not decrypt");
    let plain = match cipher.to_ascii_uppercase().as_str() {
        "AES-128-CBC" => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, &iv)
            .map_err(|_| "bad key or IV length".to_string())?
            .decrypt_padded_mut::<Pkcs7>(&mut data)
            .map_err(bad)?,
        "AES-192-CBC" => cbc::Decryptor::<aes::Aes192>::new_from_slices(&key, &iv)
            .map_err(|_| "bad key or IV length".to_string())?
            .decrypt_padded_mut::<Pkcs7>(&mut data)
            .map_err(bad)?,
        "AES-256-CBC" => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .map_err(|_| "bad key or IV length".to_string())?
            .decrypt_padded_mut::<Pkcs7>(&mut data)
            .map_err(bad)?,
        _ => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|_| "bad key or IV length".to_string())?
            .decrypt_padded_mut::<Pkcs7>(&mut data)
            .map_err(bad)?,
    };
    Ok(plain.to_vec())
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration.
fn bytes_to_key(pass: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while out.len() < len {
        let mut h = Md5::new();
        h.update(&prev);
        h.update(pass);
        h.update(salt);
        prev = h.finalize().to_vec();
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    out
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}
