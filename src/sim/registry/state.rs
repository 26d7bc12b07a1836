//! What a simulated region's container registry holds: content-addressed blobs shared by
//! every repository of the region, and per repository the blobs linked into it, its
//! manifests (exact bytes and media type) and its tags. Open upload sessions live here too
//! but are not persisted, as a registry forgets them on restart.
//!
//! Plain data with small, pure operations; HTTP lives in `blobs.rs` and `manifests.rs`.
//! Bytes are serialised as base64 so the `--state` file stays JSON text.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// Bytes that serialise as one base64 string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes64(pub Vec<u8>);

impl Serialize for Bytes64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        BASE64.decode(text.as_bytes()).map(Bytes64).map_err(serde::de::Error::custom)
    }
}

/// A manifest as pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredManifest {
    pub media_type: String,
    pub bytes: Bytes64,
    /// When it was first pushed (milliseconds since the epoch), for the Artifacts API's
    /// container images.
    #[serde(default)]
    pub pushed_ms: u64,
}

/// One repository (`<namespace>/<path>`) of a region's registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    /// Digests of blobs pushed or mounted into this repository.
    pub blobs: BTreeSet<String>,
    pub manifests: BTreeMap<String, StoredManifest>,
    /// Tag to manifest digest.
    pub tags: BTreeMap<String, String>,
    /// When each tag last came to name its digest (milliseconds since the epoch).
    #[serde(default)]
    pub tagged_ms: BTreeMap<String, u64>,
}

impl Repository {
    /// Removes a manifest and every tag naming it; false if the repository did not hold it.
    pub fn remove_manifest(&mut self, digest: &str) -> bool {
        self.tags.retain(|_, d| d != digest);
        let tags = &self.tags;
        self.tagged_ms.retain(|t, _| tags.contains_key(t));
        self.manifests.remove(digest).is_some()
    }
}

/// One region's registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionRegistry {
    /// Digest to content, shared by every repository of the region.
    pub blobs: BTreeMap<String, Bytes64>,
    pub repositories: BTreeMap<String, Repository>,
}

/// An open chunked upload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upload {
    pub region: String,
    pub repository: String,
    pub data: Vec<u8>,
}

/// Every region's registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryState {
    pub regions: BTreeMap<String, RegionRegistry>,
    #[serde(skip)]
    pub uploads: BTreeMap<String, Upload>,
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Whether `text` is a digest this registry can verify (`sha256:` and 64 lower-case hex).
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

impl RegistryState {
    pub fn region(&self, region: &str) -> Option<&RegionRegistry> {
        self.regions.get(region)
    }

    pub fn region_mut(&mut self, region: &str) -> &mut RegionRegistry {
        self.regions.entry(region.to_string()).or_default()
    }

    pub fn repository(&self, region: &str, name: &str) -> Option<&Repository> {
        self.regions.get(region)?.repositories.get(name)
    }

    /// The bytes of a blob linked into `name`, if it is.
    pub fn linked_blob(&self, region: &str, name: &str, digest: &str) -> Option<&[u8]> {
        let r = self.regions.get(region)?;
        if !r.repositories.get(name)?.blobs.contains(digest) {
            return None;
        }
        r.blobs.get(digest).map(|b| b.0.as_slice())
    }

    /// Stores `bytes` (already verified to hash to `digest`) and links them into `name`.
    pub fn put_blob(&mut self, region: &str, name: &str, digest: &str, bytes: Vec<u8>) {
        let r = self.region_mut(region);
        r.blobs.entry(digest.to_string()).or_insert(Bytes64(bytes));
        r.repositories.entry(name.to_string()).or_default().blobs.insert(digest.to_string());
    }

    /// Links a blob of `from` into `name`; false when `from` does not hold it.
    pub fn mount(&mut self, region: &str, name: &str, digest: &str, from: &str) -> bool {
        if self.linked_blob(region, from, digest).is_none() {
            return false;
        }
        let r = self.region_mut(region);
        r.repositories.entry(name.to_string()).or_default().blobs.insert(digest.to_string());
        true
    }

    /// The digest a tag or digest reference names in `name`, if the manifest exists.
    pub fn resolve(&self, region: &str, name: &str, reference: &str) -> Option<String> {
        let repo = self.repository(region, name)?;
        let digest = if is_digest(reference) { reference.to_string() } else { repo.tags.get(reference)?.clone() };
        repo.manifests.contains_key(&digest).then_some(digest)
    }

    /// Stores a verified manifest under its digest and, for a tag reference, the tag.
    /// A manifest pushed again keeps its first push time; a tag's time changes only when it
    /// comes to name another digest.
    pub fn put_manifest(&mut self, region: &str, name: &str, reference: &str, digest: &str, stored: StoredManifest) {
        let repo = self.region_mut(region).repositories.entry(name.to_string()).or_default();
        let now = stored.pushed_ms;
        repo.manifests.entry(digest.to_string()).or_insert(stored);
        if !is_digest(reference) && repo.tags.get(reference).map(String::as_str) != Some(digest) {
            repo.tags.insert(reference.to_string(), digest.to_string());
            repo.tagged_ms.insert(reference.to_string(), now);
        }
    }

    /// Bytes of every blob linked into `name` (its layers and configs).
    pub fn linked_size(&self, region: &str, name: &str) -> u64 {
        let Some(r) = self.regions.get(region) else { return 0 };
        let Some(repo) = r.repositories.get(name) else { return 0 };
        repo.blobs.iter().filter_map(|d| r.blobs.get(d)).map(|b| b.0.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_shared_but_linked_per_repository() {
        let mut s = RegistryState::default();
        let d = sha256_digest(b"layer");
        s.put_blob("r", "ns/a", &d, b"layer".to_vec());
        assert_eq!(s.linked_blob("r", "ns/a", &d), Some(&b"layer"[..]));
        assert_eq!(s.linked_blob("r", "ns/b", &d), None);
        assert!(!s.mount("r", "ns/b", &d, "ns/c"));
        assert!(s.mount("r", "ns/b", &d, "ns/a"));
        assert_eq!(s.linked_blob("r", "ns/b", &d), Some(&b"layer"[..]));
        assert_eq!(s.linked_blob("other", "ns/a", &d), None);
        assert_eq!(s.linked_size("r", "ns/b"), 5);
    }

    #[test]
    fn tags_and_digests_resolve_and_state_round_trips() {
        let mut s = RegistryState::default();
        let d = sha256_digest(b"{}");
        let m = StoredManifest { media_type: "x".into(), bytes: Bytes64(b"{}".to_vec()), pushed_ms: 1 };
        s.put_manifest("r", "ns/a", "v1", &d, m);
        assert_eq!(s.resolve("r", "ns/a", "v1"), Some(d.clone()));
        assert_eq!(s.resolve("r", "ns/a", &d), Some(d.clone()));
        assert_eq!(s.resolve("r", "ns/a", "v2"), None);
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"bytes\":\"e30=\""), "{text}");
        assert_eq!(serde_json::from_str::<RegistryState>(&text).unwrap(), s);
        assert!(is_digest(&d));
        assert!(!is_digest("sha256:ABC"));
    }
}
