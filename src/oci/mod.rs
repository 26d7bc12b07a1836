//! OCI REST client: request signing, configuration, endpoints, retries and errors.
