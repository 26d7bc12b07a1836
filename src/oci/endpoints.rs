//! Where each OCI service lives: public host templates and API base paths per service,
//! OCIR registry hosts, and the overrides that point the same code at a local simulator.
//!
//! Precedence, highest first: a single-call override URL, the region's entry in the
//! endpoints file (`DRCTL_ENDPOINTS`), the public template. An override URL with a path
//! other than `/` is used as the base as given (like `oci --endpoint`, which includes the
//! version path); otherwise the service's base path is appended. This module only computes
//! URLs; it never performs I/O other than reading the endpoints file it is given.

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::Url;

use super::error::EndpointError;
use super::regions::{find_region, REGIONS};
pub use super::service::{Service, SERVICES};

/// Environment variable naming the endpoints file.
pub const ENDPOINTS_ENV: &str = "DRCTL_ENDPOINTS";

/// A resolved service endpoint: the base URL including the API version path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub service: Service,
    pub region: String,
    /// Scheme, host, port and base path, without a trailing slash (`https://h/20160918`).
    pub base: Url,
}

impl Endpoint {
    /// The public endpoint of `service` in `region` (id or key).
    pub fn public(service: Service, region: &str) -> Result<Endpoint, EndpointError> {
        let r = find_region(region).ok_or_else(|| unknown_region(region))?;
        let host = service.host_template().replace("{region}", r.id).replace("{domain}", r.domain());
        let base = parse_url(&format!("https://{host}"), "")?;
        Ok(Endpoint { service, region: r.id.to_string(), base: with_base_path(base, service.base_path()) })
    }

    /// An endpoint at an override URL (see the module docs for the base-path rule).
    pub fn at(service: Service, region: &str, url: &Url) -> Endpoint {
        let base = if url.path().is_empty() || url.path() == "/" {
            with_base_path(url.clone(), service.base_path())
        } else {
            let mut u = url.clone();
            let trimmed = u.path().trim_end_matches('/').to_string();
            u.set_path(&trimmed);
            u
        };
        Endpoint { service, region: region.to_string(), base }
    }

    /// The URL of an operation. `path` is relative to the base path (`/vcns`) or starts
    /// with its own version segment (`/20160918/vcns`), in which case it replaces the
    /// base's version segment instead of being appended after it.
    pub fn url_for(&self, path: &str) -> Result<Url, EndpointError> {
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        let mut prefix = self.base.path().trim_end_matches('/').to_string();
        if starts_with_version(&path) {
            if let Some((head, last)) = prefix.rsplit_once('/') {
                if is_version(last) {
                    prefix = head.to_string();
                }
            }
        }
        let origin = self.base.origin().ascii_serialization();
        parse_url(&format!("{origin}{prefix}{path}"), "")
    }
}

/// Per-region override base URLs, from an endpoints file or built in code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    regions: BTreeMap<String, Url>,
}

impl Endpoints {
    /// No overrides: every service resolves to its public endpoint.
    pub fn public() -> Self {
        Endpoints::default()
    }

    /// Reads the file named by `DRCTL_ENDPOINTS`, or no overrides when it is unset.
    pub fn from_env() -> Result<Self, EndpointError> {
        match std::env::var(ENDPOINTS_ENV) {
            Ok(path) if !path.is_empty() => Self::from_file(Path::new(&path)),
            _ => Ok(Self::public()),
        }
    }

    /// Reads an endpoints file: JSON `{"<region>": "<base URL>", ...}`, each region once.
    pub fn from_file(path: &Path) -> Result<Self, EndpointError> {
        let text =
            crate::input::read_text(path).map_err(|source| EndpointError::Read { path: path.to_path_buf(), source })?;
        let Pairs(pairs) =
            serde_json::from_str(&text).map_err(|source| EndpointError::Parse { path: path.to_path_buf(), source })?;
        let mut out = Endpoints::default();
        let mut named: BTreeMap<String, String> = BTreeMap::new();
        for (region, url) in pairs {
            // `iad` and `us-ashburn-1` are one region, as are a key written twice.
            if let Some(first) = named.insert(canonical_region(&region), region.clone()) {
                let twice = format!("region {} twice (as `{first}` and `{region}`)", canonical_region(&region));
                return Err(EndpointError::Duplicate { path: path.to_path_buf(), twice });
            }
            let context = format!(" for region {region} in {}", path.display());
            out = out.with_region(&region, parse_url(&url, &context)?);
        }
        Ok(out)
    }

    /// Adds or replaces the override of one region (id or key).
    pub fn with_region(mut self, region: &str, url: Url) -> Self {
        self.regions.insert(canonical_region(region), url);
        self
    }

    /// The override base URL of a region, if any.
    pub fn region_override(&self, region: &str) -> Option<&Url> {
        self.regions.get(&canonical_region(region))
    }

    /// Resolves `service` in `region`: `call_override` first, then the region's override,
    /// then the public endpoint. Unknown regions are allowed only when overridden.
    pub fn resolve(
        &self,
        service: Service,
        region: &str,
        call_override: Option<&Url>,
    ) -> Result<Endpoint, EndpointError> {
        let region_id = canonical_region(region);
        if let Some(url) = call_override.or_else(|| self.regions.get(&region_id)) {
            return Ok(Endpoint::at(service, &region_id, url));
        }
        Endpoint::public(service, region)
    }

    /// The base URL of the container registry (OCIR) of a region: the region's override
    /// origin when there is one, else `https://` + [`ocir_host`].
    pub fn registry_url(&self, region: &str) -> Result<Url, EndpointError> {
        if let Some(url) = self.region_override(region) {
            return parse_url(&url.origin().ascii_serialization(), "");
        }
        parse_url(&format!("https://{}", ocir_host(region)?), "")
    }
}

/// The OCIR host of a region: `<key>.ocir.io` in the commercial realm (oc1), and
/// `ocir.<region>.oci.<realm domain>` in the other realms.
pub fn ocir_host(region: &str) -> Result<String, EndpointError> {
    let r = find_region(region).ok_or_else(|| unknown_region(region))?;
    Ok(if r.realm == "oc1" { format!("{}.ocir.io", r.key) } else { format!("ocir.{}.oci.{}", r.id, r.domain()) })
}

/// Region id for a known id or key; other names are kept (lower-cased) for overrides.
pub fn canonical_region(region: &str) -> String {
    find_region(region).map(|r| r.id.to_string()).unwrap_or_else(|| region.trim().to_ascii_lowercase())
}

fn unknown_region(region: &str) -> EndpointError {
    let best = REGIONS.iter().map(|r| (strsim::levenshtein(region, r.id), r.id)).min();
    let suggestion = match best {
        Some((d, id)) if d <= 3 => format!(" (did you mean {id}?)"),
        _ => String::new(),
    };
    EndpointError::UnknownRegion { region: region.to_string(), suggestion }
}

fn with_base_path(mut url: Url, base_path: &str) -> Url {
    url.set_path(base_path.trim_end_matches('/'));
    url
}

fn is_version(segment: &str) -> bool {
    segment.len() == 8 && segment.bytes().all(|b| b.is_ascii_digit())
}

fn starts_with_version(path: &str) -> bool {
    path.trim_start_matches('/').split(['/', '?']).next().is_some_and(is_version)
}

fn parse_url(value: &str, context: &str) -> Result<Url, EndpointError> {
    let bad = |reason: String| EndpointError::BadUrl { value: value.to_string(), context: context.to_string(), reason };
    let url = Url::parse(value).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("expected http:// or https:// with a host".into()));
    }
    Ok(url)
}

/// The entries of a JSON object in the order written, a key given twice included (a map would
/// keep only the last).
struct Pairs(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of region to base URL")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    pairs.push(entry);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_given_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.json");
        for text in [
            r#"{"us-ashburn-1": "http://a:1", "us-ashburn-1": "http://b:2"}"#,
            r#"{"iad": "http://a:1", "us-ashburn-1": "http://b:2"}"#,
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Endpoints::from_file(&path).unwrap_err().to_string();
            assert!(err.contains("names region us-ashburn-1 twice"), "{err}");
        }
        std::fs::write(&path, r#"{"iad": "http://a:1", "phx": "http://b:2"}"#).unwrap();
        assert!(Endpoints::from_file(&path).is_ok());
    }

    #[test]
    fn public_endpoints_follow_the_sdk_templates() {
        let cases = [
            (Service::Functions, "us-ashburn-1", "https://functions.us-ashburn-1.oci.oraclecloud.com/20181201"),
            (Service::Core, "phx", "https://iaas.us-phoenix-1.oraclecloud.com/20160918"),
            (Service::Kms, "eu-frankfurt-1", "https://kms.eu-frankfurt-1.oraclecloud.com/"),
            (Service::Secrets, "uk-london-1", "https://secrets.vaults.uk-london-1.oci.oraclecloud.com/20190301"),
            (Service::Monitoring, "us-langley-1", "https://telemetry.us-langley-1.oraclegovcloud.com/20180401"),
            (
                Service::ServiceConnectorHub,
                "eu-madrid-2",
                "https://service-connector-hub.eu-madrid-2.oci.oraclecloud.eu/20200909",
            ),
        ];
        for (service, region, want) in cases {
            assert_eq!(Endpoint::public(service, region).unwrap().base.as_str(), want);
        }
    }

    #[test]
    fn operation_paths_with_or_without_version() {
        let e = Endpoint::public(Service::Functions, "us-phoenix-1").unwrap();
        assert_eq!(
            e.url_for("/applications").unwrap().as_str(),
            "https://functions.us-phoenix-1.oci.oraclecloud.com/20181201/applications"
        );
        assert_eq!(
            e.url_for("/20260325/applications").unwrap().as_str(),
            "https://functions.us-phoenix-1.oci.oraclecloud.com/20260325/applications"
        );
        let kms = Endpoint::public(Service::Kms, "us-phoenix-1").unwrap();
        assert_eq!(
            kms.url_for("/20180608/vaults").unwrap().as_str(),
            "https://kms.us-phoenix-1.oraclecloud.com/20180608/vaults"
        );
    }

    #[test]
    fn overrides_take_precedence_and_keep_the_base_path_rule() {
        let sim = Url::parse("http://127.0.0.1:8100").unwrap();
        let eps = Endpoints::public().with_region("iad", sim);
        let e = eps.resolve(Service::Core, "us-ashburn-1", None).unwrap();
        assert_eq!(e.url_for("/vcns").unwrap().as_str(), "http://127.0.0.1:8100/20160918/vcns");
        let one = Url::parse("http://127.0.0.1:9000/20160918").unwrap();
        let e = eps.resolve(Service::Core, "us-ashburn-1", Some(&one)).unwrap();
        assert_eq!(e.url_for("/vcns").unwrap().as_str(), "http://127.0.0.1:9000/20160918/vcns");
        assert_eq!(e.url_for("/20160918/vcns").unwrap().as_str(), "http://127.0.0.1:9000/20160918/vcns");
        let e = eps.resolve(Service::Core, "us-phoenix-1", None).unwrap();
        assert_eq!(e.base.as_str(), "https://iaas.us-phoenix-1.oraclecloud.com/20160918");
        let sim_region = Endpoints::public().with_region("sim-local-1", Url::parse("http://127.0.0.1:1").unwrap());
        assert!(sim_region.resolve(Service::Core, "sim-local-1", None).is_ok());
    }

    #[test]
    fn unknown_region_suggests_the_nearest() {
        let err = Endpoint::public(Service::Core, "us-ashburn-2x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown OCI region `us-ashburn-2x` (did you mean us-ashburn-2?); use a region id such as us-ashburn-1 or map it in the endpoints file"
        );
    }

    #[test]
    fn ocir_hosts_per_realm() {
        assert_eq!(ocir_host("us-ashburn-1").unwrap(), "iad.ocir.io");
        assert_eq!(ocir_host("fra").unwrap(), "fra.ocir.io");
        assert_eq!(ocir_host("us-langley-1").unwrap(), "ocir.us-langley-1.oci.oraclegovcloud.com");
        assert_eq!(ocir_host("eu-frankfurt-2").unwrap(), "ocir.eu-frankfurt-2.oci.oraclecloud.eu");
    }

    #[test]
    fn service_names_parse() {
        assert_eq!(Service::parse("iaas").unwrap(), Service::Core);
        assert_eq!(Service::parse("service-connector-hub").unwrap(), Service::ServiceConnectorHub);
        assert_eq!(Service::parse("telemetry").unwrap(), Service::Monitoring);
        for s in SERVICES {
            assert_eq!(Service::parse(s.name()).unwrap(), s);
        }
        assert!(Service::parse("nosuch").is_err());
    }
}
