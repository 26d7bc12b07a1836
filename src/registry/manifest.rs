//! Manifest media types and the few manifest fields a copy needs: the blobs an image manifest
//! references and the children an index lists. Manifests are kept as the exact bytes the
//! source served (their digest is over those bytes); this module only reads them and must
//! never re-serialise one for pushing.

use bytes::Bytes;

use super::digest::Digest;

pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The `Accept` header for manifest requests: every type this client can copy. Without the
/// list types a registry may answer a multi-arch tag with one platform's manifest.
pub(crate) const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A manifest as fetched: exact bytes, the media type to push it with, its digest.
#[derive(Clone, Debug)]
pub(crate) struct FetchedManifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Bytes,
}

/// A content descriptor inside a manifest.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub media_type: Option<String>,
    pub digest: Digest,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub urls: Option<Vec<String>>,
}

#[derive(Clone, Debug, serde::Deserialize)]
pub(crate) struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    pub(crate) fn label(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }
}

impl Descriptor {
    /// Foreign (non-distributable) layers live outside the registry, at `urls`; registries
    /// refuse uploads of them, so a copy references them without moving bytes.
    pub(crate) fn is_foreign(&self) -> bool {
        let mt = self.media_type.as_deref().unwrap_or("");
        self.urls.as_ref().is_some_and(|u| !u.is_empty()) && (mt.contains("foreign") || mt.contains("nondistributable"))
    }
}

/// What a manifest points at.
#[derive(Debug)]
pub(crate) enum Contents {
    /// An image: config first, then layers, in manifest order.
    Image { blobs: Vec<Descriptor> },
    /// An index / manifest list: one child manifest per platform (or attestation).
    Index { manifests: Vec<Descriptor> },
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

/// Reads a manifest's media type (header first, then the body's `mediaType`, then its shape)
/// and its references. Errors are plain reasons; the caller adds registry and digest.
pub(crate) fn parse(header_media_type: Option<&str>, bytes: &[u8]) -> Result<(String, Contents), ParseError> {
    let raw: RawManifest = serde_json::from_slice(bytes).map_err(|e| ParseError::Malformed(e.to_string()))?;
    let header = header_media_type.map(|h| h.split(';').next().unwrap_or(h).trim()).filter(|h| is_manifest_type(h));
    let media_type = match (header, raw.media_type.as_deref()) {
        (Some(h), _) => h.to_string(),
        (None, Some(b)) => b.to_string(),
        (None, None) if raw.manifests.is_some() => OCI_INDEX.to_string(),
        (None, None) if raw.config.is_some() => OCI_MANIFEST.to_string(),
        (None, None) => return Err(ParseError::Unsupported("unknown".to_string())),
    };
    if raw.schema_version != Some(2) {
        return Err(ParseError::Unsupported(format!("{media_type} (schemaVersion {:?})", raw.schema_version)));
    }
    match media_type.as_str() {
        DOCKER_MANIFEST_V2 | OCI_MANIFEST => {
            let config = raw.config.ok_or_else(|| ParseError::Malformed("image manifest without config".into()))?;
            let mut blobs = vec![config];
            blobs.extend(raw.layers.unwrap_or_default());
            Ok((media_type, Contents::Image { blobs }))
        }
        DOCKER_MANIFEST_LIST | OCI_INDEX => {
            let manifests = raw.manifests.ok_or_else(|| ParseError::Malformed("index without manifests".into()))?;
            Ok((media_type, Contents::Index { manifests }))
        }
        other => Err(ParseError::Unsupported(other.to_string())),
    }
}

fn is_manifest_type(t: &str) -> bool {
    matches!(t, DOCKER_MANIFEST_V2 | DOCKER_MANIFEST_LIST | OCI_MANIFEST | OCI_INDEX)
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    Malformed(String),
    Unsupported(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> String {
        Digest::of(&[n]).to_string()
    }

    #[test]
    fn image_manifest_lists_config_then_layers() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_V2}",
            "config":{{"mediaType":"c","digest":"{}","size":3}},
            "layers":[{{"mediaType":"l","digest":"{}","size":5}}]}}"#,
            d(1),
            d(2)
        );
        let (mt, contents) = parse(None, body.as_bytes()).unwrap();
        assert_eq!(mt, DOCKER_MANIFEST_V2);
        let Contents::Image { blobs } = contents else { panic!("not an image") };
        assert_eq!(blobs.iter().map(|b| b.size).collect::<Vec<_>>(), vec![3, 5]);
        assert_eq!(blobs[1].digest.to_string(), d(2));
    }

    #[test]
    fn header_type_wins_and_index_children_are_read() {
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":9,
            "platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#,
            d(3)
        );
        let (mt, contents) =
            parse(Some("application/vnd.oci.image.index.v1+json; charset=utf-8"), body.as_bytes()).unwrap();
        assert_eq!(mt, OCI_INDEX);
        let Contents::Index { manifests } = contents else { panic!("not an index") };
        assert_eq!(manifests[0].platform.as_ref().unwrap().label(), "linux/arm64/v8");
    }

    #[test]
    fn malformed_and_schema1_manifests_are_rejected() {
        let err = parse(None, br#"{"schemaVersion":1,"mediaType":"x","config":{}}"#).unwrap_err();
        assert_eq!(err, ParseError::Malformed("missing field `digest` at line 1 column 46".into()));
        let err = parse(None, br#"{"schemaVersion":1,"name":"a"}"#).unwrap_err();
        assert_eq!(err, ParseError::Unsupported("unknown".into()));
    }
}
