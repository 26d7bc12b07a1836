//! The calls a converge action makes for one resource kind, with the endpoint, region and
//! path rules of its descriptor applied: list (every page), get (with etag), create with the
//! task's retry token, update and delete with `if-match`, and the waits for work requests and
//! lifecycle states.
//!
//! It decides nothing about what to change; `engine.rs` does. Reads go to the task's region;
//! writes of identity resources go to the tenancy's home region, and KMS key calls to the
//! vault's management endpoint.

use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::kinds::{Placement, ResourceKind};
use crate::oci::{
    wait_for_state, wait_for_work_request, work_request_get, ClientError, OciClient, OciRequest, OciResponse,
    PollPolicy, Service, WaitError, WorkRequest,
};

/// A resource as last read.
#[derive(Debug, Clone)]
pub struct Current {
    pub body: Value,
    pub etag: Option<String>,
}

impl Current {
    pub fn id(&self) -> &str {
        self.body.get("id").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn state(&self) -> &str {
        self.body.get("lifecycleState").and_then(Value::as_str).unwrap_or_default()
    }
}

/// How often converge actions poll: a quick first look (the simulator and many OCI
/// operations settle in a second), then a quarter of the time waited, up to the SDK
/// waiter's 30 s (`PollPolicy::next_interval`).
pub fn poll_policy() -> PollPolicy {
    PollPolicy {
        interval: Duration::from_millis(250),
        max_interval: Duration::from_secs(30),
        timeout: Duration::from_secs(1800),
    }
}

/// One kind's API in one region.
pub struct ResourceApi<'a> {
    pub client: &'a OciClient,
    pub kind: &'static ResourceKind,
    /// Where reads go.
    pub region: String,
    /// Where writes go (the home region for identity resources).
    pub write_region: String,
    /// The vault's management endpoint, for keys.
    pub endpoint: Option<Url>,
    /// The parent's OCID where it is part of the path.
    pub path_parent: Option<String>,
    pub cancel: CancellationToken,
}

impl<'a> ResourceApi<'a> {
    fn request(&self, method: Method, region: &str, path: String) -> OciRequest {
        let mut req = OciRequest::new(method, self.kind.service, region, path).cancel_on(self.cancel.clone());
        if let Some(url) = &self.endpoint {
            req = req.endpoint(url.clone());
        }
        req
    }

    pub fn collection(&self) -> String {
        self.kind.collection_path(self.path_parent.as_deref())
    }

    pub fn item_path(&self, id: &str) -> String {
        format!("{}/{id}", self.collection())
    }

    /// A GET of the resource, in the read region or (after a write) the write region.
    pub fn get_request(&self, id: &str, after_write: bool) -> OciRequest {
        let region = if after_write { &self.write_region } else { &self.region };
        self.request(Method::GET, region, self.item_path(id))
    }

    /// Every item of the list with `query`.
    pub async fn list(&self, query: &[(&str, &str)]) -> Result<Vec<Value>, ClientError> {
        let mut req = self.request(Method::GET, &self.region, self.collection());
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        self.client.list_all(req).await
    }

    /// The resource, or `None` when the service answers 404.
    pub async fn get(&self, id: &str, after_write: bool) -> Result<Option<Current>, ClientError> {
        match self.client.send(self.get_request(id, after_write)).await {
            Ok(resp) => Ok(Some(Current { body: resp.json()?, etag: resp.etag().map(str::to_string) })),
            Err(ClientError::Api(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn create(&self, body: &Value, idempotency_key: &str) -> Result<OciResponse, ClientError> {
        let req = self.request(Method::POST, &self.write_region, self.collection()).json(body)?;
        self.client.send(req.idempotency_key(idempotency_key)).await
    }

    pub async fn update(&self, id: &str, body: &Value, etag: Option<&str>) -> Result<OciResponse, ClientError> {
        let mut req = self.request(Method::PUT, &self.write_region, self.item_path(id)).json(body)?;
        if let Some(etag) = etag {
            req = req.if_match(etag);
        }
        self.client.send(req).await
    }

    pub async fn delete(&self, id: &str, etag: Option<&str>) -> Result<OciResponse, ClientError> {
        let mut req = self.request(Method::DELETE, &self.write_region, self.item_path(id));
        if let Some(etag) = etag {
            req = req.if_match(etag);
        }
        self.client.send(req).await
    }

    /// `POST {item}/actions/{action}` with an optional JSON body and `if-match`.
    pub async fn action(
        &self,
        id: &str,
        action: &str,
        body: Option<&Value>,
        etag: Option<&str>,
    ) -> Result<OciResponse, ClientError> {
        let path = format!("{}/actions/{action}", self.item_path(id));
        let mut req = self.request(Method::POST, &self.write_region, path);
        if let Some(body) = body {
            req = req.json(body)?;
        }
        if let Some(etag) = etag {
            req = req.if_match(etag);
        }
        self.client.send(req).await
    }

    /// Waits for the work request a write answered with, if it answered with one.
    pub async fn wait_work_request(&self, response: &OciResponse) -> Result<Option<WorkRequest>, WaitError> {
        let Some(id) = response.work_request_id() else { return Ok(None) };
        let get = work_request_get(self.kind.service, &self.write_region, id).cancel_on(self.cancel.clone());
        wait_for_work_request(self.client, get, &poll_policy()).await.map(Some)
    }

    /// The resource the work request of `response` names (one read, no waiting), if any.
    pub async fn work_request_resource(&self, response: &OciResponse) -> Option<String> {
        let id = response.work_request_id()?;
        let get = work_request_get(self.kind.service, &self.write_region, id).cancel_on(self.cancel.clone());
        let body: Value = self.client.send(get).await.ok()?.json().ok()?;
        crate::oci::WorkRequest { id: id.to_owned(), status: String::new(), body }.created_id()
    }

    /// Waits until the resource is in one of `wanted` (a 404 counts as DELETED).
    pub async fn wait_state(&self, id: &str, wanted: &[&str]) -> Result<Current, WaitError> {
        let got = wait_for_state(self.client, self.get_request(id, true), wanted, &poll_policy()).await?;
        Ok(Current { body: got.body, etag: got.etag })
    }

    /// A GET of another service in the read region (services list, vault, secret bundle).
    pub async fn read_other(&self, service: Service, path: String) -> Result<OciResponse, ClientError> {
        let req = OciRequest::new(Method::GET, service, self.region.clone(), path).cancel_on(self.cancel.clone());
        self.client.send(req).await
    }
}

/// Where the kind's calls go: (write region, endpoint override). Identity writes go to the
/// home region found in the tenancy's region subscriptions; keys go to their vault's
/// management endpoint.
pub async fn placement(
    client: &OciClient,
    kind: &ResourceKind,
    region: &str,
    vault_id: Option<&str>,
    cancel: &CancellationToken,
) -> Result<(String, Option<Url>), PlacementError> {
    match kind.placement {
        Placement::Regional => Ok((region.to_string(), None)),
        Placement::HomeRegionWrites => {
            Ok((home_region(client, region, cancel).await.unwrap_or_else(|| region.to_string()), None))
        }
        Placement::VaultManagementEndpoint => {
            let vault = vault_id.ok_or(PlacementError::NoVault)?;
            let req = OciRequest::new(Method::GET, Service::Kms, region, format!("/20180608/vaults/{vault}"))
                .cancel_on(cancel.clone());
            let body: Value = match client.send(req).await {
                Ok(resp) => resp.json().map_err(PlacementError::Client)?,
                Err(ClientError::Api(e)) if e.status == 404 => return Err(PlacementError::VaultNotFound),
                Err(e) => return Err(PlacementError::Client(e)),
            };
            let endpoint =
                body.get("managementEndpoint").and_then(Value::as_str).ok_or(PlacementError::NoManagementEndpoint)?;
            let url = Url::parse(endpoint).map_err(|_| PlacementError::NoManagementEndpoint)?;
            Ok((region.to_string(), Some(url)))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error("a key needs `vaultId`")]
    NoVault,
    #[error("the vault named by `vaultId` does not exist in this region")]
    VaultNotFound,
    #[error("the vault named by `vaultId` has no usable managementEndpoint")]
    NoManagementEndpoint,
    #[error("reading the vault named by `vaultId`: {0}")]
    Client(ClientError),
}

/// The tenancy's home region, when the signer names the tenancy and the subscriptions say.
async fn home_region(client: &OciClient, region: &str, cancel: &CancellationToken) -> Option<String> {
    let tenancy = client.signer().tenancy()?;
    let req = OciRequest::new(
        Method::GET,
        Service::Identity,
        region,
        format!("/20160918/tenancies/{tenancy}/regionSubscriptions"),
    )
    .cancel_on(cancel.clone());
    let subscriptions = client.list_all(req).await.ok()?;
    subscriptions
        .iter()
        .find(|s| s.get("isHomeRegion").and_then(Value::as_bool) == Some(true))
        .and_then(|s| s.get("regionName").and_then(Value::as_str))
        .map(str::to_string)
}
