//! Image references: `host[:port]/repo/path:tag` and `host[:port]/repo/path@sha256:…`.
//! Parsing is strict because a reference names what a failover will overwrite; this module
//! never guesses a default registry (there is no implicit docker.io).

use std::fmt;
use std::str::FromStr;

use super::digest::Digest;
use super::error::RegistryError;

/// A parsed image reference. At least one of `tag` and `digest` is set; a reference that names
/// neither gets the tag `latest`, as docker does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// `host` or `host:port`, as it appears in URLs and in the docker config's `auths`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `namespace/app`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl ImageRef {
    /// What to ask the source for: the digest when given (immutable), else the tag.
    pub fn reference(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.as_str(),
            (None, Some(t)) => t,
            (None, None) => "latest",
        }
    }

    /// Same host and port: blobs can be mounted across repositories instead of copied.
    pub fn same_registry(&self, other: &ImageRef) -> bool {
        self.registry.eq_ignore_ascii_case(&other.registry)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for ImageRef {
    type Err = RegistryError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid =
            |reason: &str| RegistryError::InvalidReference { input: input.to_string(), reason: reason.to_string() };
        // skopeo-style transport prefix, accepted so commands can be pasted across.
        let rest = input.strip_prefix("docker://").unwrap_or(input);
        if let Some((scheme, tail)) = rest.split_once("://") {
            return Err(invalid(&format!(
                "a reference has no `{scheme}://`: write `{tail}`; whether a registry speaks plain HTTP is said \
                 apart (`drctl image copy --plain-http`, or --src-plain-http / --dest-plain-http for one side; \
                 `http://` before the host in a runbook)"
            )));
        }
        let (rest, digest) = match rest.split_once('@') {
            Some((name, d)) => (name, Some(Digest::parse(d)?)),
            None => (rest, None),
        };
        let (registry, path) =
            rest.split_once('/').ok_or_else(|| invalid("expected `host[:port]/repository[:tag|@digest]`"))?;
        if !looks_like_host(registry) {
            return Err(invalid("the first component must be a registry host (contain `.` or `:`, or be `localhost`)"));
        }
        // A `:` after the last `/` starts the tag; one before it belongs to nothing valid.
        let last_slash = path.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match path[last_slash..].find(':') {
            Some(i) => (&path[..last_slash + i], Some(&path[last_slash + i + 1..])),
            None => (path, None),
        };
        if !valid_repository(repository) {
            return Err(invalid(
                "repository must be lowercase path components of [a-z0-9] joined by `.`, `_`, `__`, `-` or `/`",
            ));
        }
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(invalid("tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
            }
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, Some(_)) => None,
            (None, None) => Some("latest".to_string()),
        };
        Ok(ImageRef { registry: registry.to_string(), repository: repository.to_string(), tag, digest })
    }
}

fn looks_like_host(s: &str) -> bool {
    !s.is_empty()
        && (s.contains('.') || s.contains(':') || s == "localhost")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

fn valid_repository(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && s.split('/').all(valid_component)
}

/// A path component of the distribution specification: runs of `[a-z0-9]` joined by one
/// separator each, where a separator is `.`, `_`, `__` or any number of `-`.
fn valid_component(comp: &str) -> bool {
    let bytes = comp.as_bytes();
    if !bytes.first().is_some_and(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9'))
        || !bytes.last().is_some_and(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9'))
    {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'a'..=b'z' | b'0'..=b'9' => i += 1,
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            b'.' => i += 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => i += 2,
            b'_' => i += 1,
            _ => return false,
        }
        // A separator is followed by an alphanumeric character.
        if i < bytes.len() && !matches!(bytes[i - 1], b'a'..=b'z' | b'0'..=b'9') && !bytes[i].is_ascii_alphanumeric() {
            return false;
        }
    }
    true
}

fn valid_tag(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && (s.as_bytes()[0].is_ascii_alphanumeric() || s.as_bytes()[0] == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_components_follow_the_distribution_grammar() {
        for ok in ["app", "a-b", "a--b", "a.b", "a_b", "a__b", "ns/app-1/web", "0x"] {
            assert!(valid_repository(ok), "{ok}");
        }
        for bad in ["a___b", "a..b", "a._b", "-a", "a-", "_a", "a/", "A", "a b", "a.-b"] {
            assert!(!valid_repository(bad), "{bad}");
        }
    }

    #[test]
    fn parses_tag_port_and_nested_path() {
        let r: ImageRef = "127.0.0.1:5000/ns/app/web:v1.2".parse().unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "ns/app/web");
        assert_eq!(r.tag.as_deref(), Some("v1.2"));
        assert_eq!(r.digest, None);
        assert_eq!(r.reference(), "v1.2");
        assert_eq!(r.to_string(), "127.0.0.1:5000/ns/app/web:v1.2");
    }

    #[test]
    fn parses_digest_and_defaults_latest() {
        let d = Digest::of(b"x");
        let r: ImageRef = format!("fra.ocir.io/tenancy/app@{d}").parse().unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.reference(), d.as_str());
        let r: ImageRef = "docker://localhost/app".parse().unwrap();
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(r.registry, "localhost");
    }

    #[test]
    fn rejects_bad_references() {
        for bad in
            ["app:v1", "ocir.io/App:v1", "ocir.io/app:", "ocir.io/a//b", "ocir.io/app@sha256:12", "http://h.io/a"]
        {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad} should be rejected");
        }
    }
}
