//! Identifiers the simulator hands out: OCIDs shaped like Oracle's
//! (`ocid1.<type>.oc1.<region key>.<unique>`, tenancy-level ones with an empty region),
//! etags, request ids and opaque tokens. Only random text; no state.

use rand::distr::Alphanumeric;
use rand::Rng;

/// `ocid1.<kind>.oc1.<region key>.<60 lower-case alphanumerics>`; `region_key` empty for
/// tenancy-level resources (identity), which gives OCI's `ocid1.<kind>.oc1..<unique>`.
pub fn new_ocid(kind: &str, region_key: &str) -> String {
    format!("ocid1.{kind}.oc1.{region_key}.{}", unique(60))
}

/// A fresh entity tag (hex, like OCI's).
pub fn new_etag() -> String {
    hex(16)
}

/// A fresh `opc-request-id`: 32 upper-case hex digits, the SDK's format.
pub fn new_request_id() -> String {
    hex(16).to_ascii_uppercase()
}

/// Lower-case alphanumeric text of `len` characters.
pub fn unique(len: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(len).map(|c| (c as char).to_ascii_lowercase()).collect()
}

fn hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

/// The region key (`iad`) of a region id, or the id itself for regions drctl does not know.
pub fn region_key(region: &str) -> String {
    crate::oci::regions::find_region(region).map(|r| r.key.to_string()).unwrap_or_else(|| region.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocids_have_oracles_shape() {
        let id = new_ocid("fnapp", "iad");
        let parts: Vec<&str> = id.split('.').collect();
        assert_eq!(&parts[..4], ["ocid1", "fnapp", "oc1", "iad"]);
        assert_eq!(parts[4].len(), 60);
        assert!(new_ocid("tenancy", "").starts_with("ocid1.tenancy.oc1.."));
        assert_eq!(region_key("us-phoenix-1"), "phx");
        assert_eq!(new_request_id().len(), 32);
    }
}
