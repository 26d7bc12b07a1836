//! OCI Distribution API client used to copy container images between registries.
