//! The catalogue of OCI services drctl calls: names, public host templates and API base
//! paths, as Oracle's SDK 2.189.0 defines them. Data and parsing only; turning them into URLs
//! (and applying overrides) is `endpoints.rs`'s job.

use std::fmt;

use super::error::EndpointError;

/// The OCI services drctl calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Functions,
    Core,
    Identity,
    Kms,
    Vaults,
    Secrets,
    ApiGateway,
    Events,
    ServiceConnectorHub,
    Logging,
    Artifacts,
    Dns,
    CertificatesManagement,
    Notification,
    Monitoring,
    ObjectStorage,
    Limits,
    WorkRequests,
    ResourceScheduler,
}

/// Every service, for listings and help text.
pub const SERVICES: [Service; 19] = [
    Service::Functions,
    Service::Core,
    Service::Identity,
    Service::Kms,
    Service::Vaults,
    Service::Secrets,
    Service::ApiGateway,
    Service::Events,
    Service::ServiceConnectorHub,
    Service::Logging,
    Service::Artifacts,
    Service::Dns,
    Service::CertificatesManagement,
    Service::Notification,
    Service::Monitoring,
    Service::ObjectStorage,
    Service::Limits,
    Service::WorkRequests,
    Service::ResourceScheduler,
];

impl Service {
    /// The canonical name used in runbooks and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Service::Functions => "functions",
            Service::Core => "core",
            Service::Identity => "identity",
            Service::Kms => "kms",
            Service::Vaults => "vaults",
            Service::Secrets => "secrets",
            Service::ApiGateway => "apigateway",
            Service::Events => "events",
            Service::ServiceConnectorHub => "sch",
            Service::Logging => "logging",
            Service::Artifacts => "artifacts",
            Service::Dns => "dns",
            Service::CertificatesManagement => "certificatesmanagement",
            Service::Notification => "ons",
            Service::Monitoring => "monitoring",
            Service::ObjectStorage => "objectstorage",
            Service::Limits => "limits",
            Service::WorkRequests => "workrequests",
            Service::ResourceScheduler => "resourcescheduler",
        }
    }

    /// Parses a service name; also accepts the SDK package names and host prefixes
    /// (`iaas`, `vault`, `notification`, `telemetry`, `service-connector-hub`, ...).
    pub fn parse(name: &str) -> Result<Service, EndpointError> {
        let n = name.trim().to_ascii_lowercase().replace(['-', '_'], "");
        let found = match n.as_str() {
            "iaas" | "virtualnetwork" => Some(Service::Core),
            "vault" => Some(Service::Vaults),
            "keymanagement" => Some(Service::Kms),
            "serviceconnectorhub" => Some(Service::ServiceConnectorHub),
            "notification" | "notifications" => Some(Service::Notification),
            "telemetry" => Some(Service::Monitoring),
            "objectstorage" | "os" => Some(Service::ObjectStorage),
            other => SERVICES.iter().copied().find(|s| s.name().replace('-', "") == other),
        };
        found.ok_or_else(|| EndpointError::UnknownService {
            service: name.to_string(),
            known: SERVICES.map(Service::name).join(", "),
        })
    }

    /// Public host template; `{region}` is the region id, `{domain}` the realm domain.
    pub fn host_template(self) -> &'static str {
        match self {
            Service::Functions => "functions.{region}.oci.{domain}",
            Service::Core | Service::WorkRequests => "iaas.{region}.{domain}",
            Service::Identity => "identity.{region}.oci.{domain}",
            Service::Kms => "kms.{region}.{domain}",
            Service::Vaults => "vaults.{region}.oci.{domain}",
            Service::Secrets => "secrets.vaults.{region}.oci.{domain}",
            Service::ApiGateway => "apigateway.{region}.oci.{domain}",
            Service::Events => "events.{region}.oci.{domain}",
            Service::ServiceConnectorHub => "service-connector-hub.{region}.oci.{domain}",
            Service::Logging => "logging.{region}.oci.{domain}",
            Service::Artifacts => "artifacts.{region}.oci.{domain}",
            Service::Dns => "dns.{region}.oci.{domain}",
            Service::CertificatesManagement => "certificatesmanagement.{region}.oci.{domain}",
            Service::Notification => "notification.{region}.{domain}",
            Service::Monitoring => "telemetry.{region}.{domain}",
            Service::ObjectStorage => "objectstorage.{region}.{domain}",
            Service::Limits => "limits.{region}.oci.{domain}",
            Service::ResourceScheduler => "resource-scheduler.{region}.oci.{domain}",
        }
    }

    /// The API version path the SDK puts before every operation path (`/` when the
    /// operation paths carry their own version, as for KMS, Object Storage and Limits).
    ///
    /// Functions uses `/20181201`, the version in Oracle's public API reference; SDK 2.189.0
    /// sends `/20260325`. Paths that start with their own version segment are sent as given
    /// (see [`super::endpoints::Endpoint::url_for`]), so either works.
    pub fn base_path(self) -> &'static str {
        match self {
            Service::Functions => "/20181201",
            Service::Core | Service::Identity | Service::Artifacts | Service::WorkRequests => "/20160918",
            Service::Kms | Service::ObjectStorage | Service::Limits => "/",
            Service::Vaults => "/20180608",
            Service::Secrets => "/20190301",
            Service::ApiGateway => "/20190501",
            Service::Events | Service::Notification => "/20181201",
            Service::ServiceConnectorHub => "/20200909",
            Service::Logging => "/20200531",
            Service::Dns => "/20180115",
            Service::CertificatesManagement => "/20210224",
            Service::Monitoring => "/20180401",
            Service::ResourceScheduler => "/20240430",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
