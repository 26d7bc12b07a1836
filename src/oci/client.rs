//! The OCI REST client: resolves the endpoint, signs every attempt, retries by the policy,
//! limits concurrency per region and turns error responses into [`OciError`].
//!
//! One `OciClient` is shared by every OCI action of a run. It never logs headers or bodies
//! (they may hold secrets), only method, URL, status, attempt and opc-request-id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::{HeaderValue, ACCEPT, USER_AGENT};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::api_error::{ClientError, OciError};
use super::endpoints::Endpoints;
use super::request::{OciRequest, OciResponse};
use super::retry::{parse_retry_after, Failure, RetryPolicy};
use super::signer::{RequestSigner, SignOptions};

/// Default number of requests in flight per region.
pub const DEFAULT_REGION_CONCURRENCY: usize = 16;

/// Builds an [`OciClient`].
#[derive(Debug)]
pub struct ClientBuilder {
    signer: RequestSigner,
    endpoints: Endpoints,
    retry: RetryPolicy,
    region_concurrency: usize,
    connect_timeout: Duration,
    read_timeout: Duration,
    cancel: CancellationToken,
}

impl ClientBuilder {
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Requests in flight per region (at least 1).
    pub fn region_concurrency(mut self, permits: usize) -> Self {
        self.region_concurrency = permits.max(1);
        self
    }

    /// Per-attempt timeouts (the SDK uses 10 s to connect and 60 s to read).
    pub fn timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.connect_timeout = connect;
        self.read_timeout = read;
        self
    }

    /// Cancelling `token` abandons every call of this client.
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    pub fn build(self) -> Result<OciClient, ClientError> {
        let http = crate::tls::trusting(reqwest::Client::builder())
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            // A redirect would be sent unsigned for the new URL; OCI APIs do not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ClientError::Build)?;
        Ok(OciClient {
            http,
            signer: Arc::new(self.signer),
            endpoints: self.endpoints,
            retry: self.retry,
            region_concurrency: self.region_concurrency,
            limits: Mutex::new(HashMap::new()),
            cancel: self.cancel,
        })
    }
}

/// A signing, retrying OCI REST client.
#[derive(Debug)]
pub struct OciClient {
    http: reqwest::Client,
    signer: Arc<RequestSigner>,
    endpoints: Endpoints,
    retry: RetryPolicy,
    region_concurrency: usize,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    cancel: CancellationToken,
}

/// What one attempt produced.
enum Attempt {
    Done(OciResponse),
    Failed { error: ClientError, retry_after: Option<Duration> },
}

impl OciClient {
    /// A builder with the SDK's defaults: public endpoints, default retry policy.
    pub fn builder(signer: RequestSigner) -> ClientBuilder {
        ClientBuilder {
            signer,
            endpoints: Endpoints::public(),
            retry: RetryPolicy::default(),
            region_concurrency: DEFAULT_REGION_CONCURRENCY,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            cancel: CancellationToken::new(),
        }
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    pub fn signer(&self) -> &RequestSigner {
        &self.signer
    }

    /// The client-wide cancellation token.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Sends `req`, retrying by its policy, and decodes the JSON body.
    pub async fn send_json<T: DeserializeOwned>(&self, req: OciRequest) -> Result<T, ClientError> {
        self.send(req).await?.json()
    }

    /// Sends `req`, retrying by its policy (or the client's). Returns the 2xx response, or
    /// the last error once the error is not retryable or the policy is exhausted.
    pub async fn send(&self, mut req: OciRequest) -> Result<OciResponse, ClientError> {
        let url = req.resolve_url(&self.endpoints)?;
        // A POST may create something: every try of one call carries one retry token, so a
        // try whose answer was lost and is sent again does not create a second one (as
        // Oracle's SDKs do for the operations that take a token; the others ignore it).
        if req.method == Method::POST && req.retry_token.is_none() {
            req.retry_token = Some(new_request_id().to_ascii_lowercase());
        }
        let request_id = req.request_id.clone().unwrap_or_else(new_request_id);
        let policy = req.retry.as_ref().unwrap_or(&self.retry);
        let limit = self.limit_for(&req, &url);
        let start = Instant::now();
        let mut attempt: u32 = 1;
        loop {
            let outcome = tokio::select! {
                biased;
                _ = self.cancelled(&req) => return Err(cancelled(&req.method, &url)),
                outcome = self.attempt(&req, &url, &request_id, attempt, limit.clone()) => outcome,
            };
            let (error, retry_after) = match outcome {
                Attempt::Done(response) => return Ok(response),
                Attempt::Failed { error, retry_after } => (error, retry_after),
            };
            let failure = match &error {
                ClientError::Api(e) => Failure::Status { status: e.status, code: Some(e.code.as_str()) },
                ClientError::Transport { .. } => Failure::Transport,
                _ => return Err(error),
            };
            let delay = {
                let mut rng = rand::rng();
                policy.next_delay(attempt, start.elapsed(), failure, retry_after, &mut rng)
            };
            let Some(delay) = delay else {
                return Err(beyond_budget(error, attempt, policy, retry_after, start.elapsed()));
            };
            // Every retry shows with -v (an unreachable endpoint, throttling, a 5xx) and is
            // counted with the task's attempt.
            crate::call_retries::note(&error.to_string(), Some(delay));
            tracing::info!(
                method = %req.method, url = %url, attempt, delay_ms = delay.as_millis() as u64,
                opc_request_id = %request_id, "retrying OCI request: {error}"
            );
            tokio::select! {
                biased;
                _ = self.cancelled(&req) => return Err(cancelled(&req.method, &url)),
                _ = tokio::time::sleep(delay) => {}
            }
            attempt += 1;
        }
    }

    /// One signed attempt, holding a permit of the region's limit while in flight.
    async fn attempt(
        &self,
        req: &OciRequest,
        url: &Url,
        request_id: &str,
        attempt: u32,
        limit: Arc<Semaphore>,
    ) -> Attempt {
        let _permit: Option<OwnedSemaphorePermit> = limit.acquire_owned().await.ok();
        let method = req.method.clone();
        let mut request = match self.build_request(req, url, request_id) {
            Ok(r) => r,
            Err(error) => return failed(error, None),
        };
        let options = SignOptions { exclude_body_headers: req.excludes_body_headers(url) };
        if let Err(source) = self.signer.sign_request(&mut request, options) {
            return failed(ClientError::Sign { method: method.to_string(), url: url.to_string(), source }, None);
        }
        let transport = |source: reqwest::Error| {
            // The URL is already in the message.
            let source = source.without_url();
            ClientError::Transport {
                method: method.to_string(),
                url: url.to_string(),
                request_id: request_id.to_string(),
                attempts: attempt,
                source,
            }
        };
        let response = match self.http.execute(request).await {
            Ok(r) => r,
            Err(e) if e.is_builder() => return failed(ClientError::Build(e), None),
            Err(e) => return failed(transport(e), None),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return failed(transport(e), None),
        };
        let returned_id = headers.get("opc-request-id").and_then(|v| v.to_str().ok()).unwrap_or(request_id).to_string();
        tracing::debug!(
            method = %method, url = %url, attempt, status = status.as_u16(),
            opc_request_id = %returned_id, "OCI response"
        );
        if status.is_success() {
            return Attempt::Done(OciResponse {
                method,
                url: url.clone(),
                status,
                headers,
                body,
                request_id: returned_id,
                attempts: attempt,
            });
        }
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut error =
            OciError::from_response(status.as_u16(), &body, Some(returned_id), method.as_str(), url.as_str());
        error.attempts = attempt;
        failed(ClientError::Api(Box::new(error)), retry_after)
    }

    fn build_request(&self, req: &OciRequest, url: &Url, request_id: &str) -> Result<reqwest::Request, ClientError> {
        let mut builder = self
            .http
            .request(req.method.clone(), url.clone())
            .headers(req.headers.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(concat!("drctl/", env!("CARGO_PKG_VERSION"))))
            .header("opc-request-id", request_id);
        if let Some(token) = &req.retry_token {
            builder = builder.header("opc-retry-token", token.as_str());
        }
        if let Some(etag) = &req.if_match {
            builder = builder.header("if-match", etag.as_str());
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        } else if matches!(req.method, Method::POST | Method::PUT | Method::PATCH) {
            // Send the `content-length: 0` the signature covers.
            builder = builder.body(Vec::<u8>::new());
        }
        builder.build().map_err(ClientError::Build)
    }

    /// The semaphore of the request's region (or host, for URL targets).
    fn limit_for(&self, req: &OciRequest, url: &Url) -> Arc<Semaphore> {
        let key = req.region().map(str::to_string).unwrap_or_else(|| url.host_str().unwrap_or("").to_string());
        // A poisoned lock only means another thread panicked mid-insert; the map is
        // still usable, so recover it rather than propagate the panic.
        let mut limits = self.limits.lock().unwrap_or_else(|p| p.into_inner());
        limits.entry(key).or_insert_with(|| Arc::new(Semaphore::new(self.region_concurrency))).clone()
    }

    /// Resolves when the client's or the request's token is cancelled.
    pub(crate) async fn cancelled(&self, req: &OciRequest) {
        match &req.cancel {
            Some(token) => tokio::select! {
                _ = self.cancel.cancelled() => {}
                _ = token.cancelled() => {}
            },
            None => self.cancel.cancelled().await,
        }
    }
}

fn failed(error: ClientError, retry_after: Option<Duration>) -> Attempt {
    Attempt::Failed { error, retry_after }
}

fn cancelled(method: &Method, url: &Url) -> ClientError {
    ClientError::Cancelled { method: method.to_string(), url: url.to_string() }
}

/// A fresh `opc-request-id`: 32 upper-case hex digits, like the SDK's.
pub fn new_request_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The error of a call given up although it could be retried: the wait the service asked for
/// (`retry-after`) would end past the time a call may take. Says so, rather than leave a 429
/// that reads as if drctl had not waited at all.
fn beyond_budget(
    error: ClientError,
    attempt: u32,
    policy: &RetryPolicy,
    retry_after: Option<Duration>,
    elapsed: Duration,
) -> ClientError {
    match (error, retry_after) {
        (ClientError::Api(mut e), Some(asked))
            if attempt < policy.max_attempts
                && e.is_retryable()
                && elapsed.checked_add(asked).is_none_or(|end| end > policy.total_timeout) =>
        {
            e.message.push_str(&format!(
                " (gave up: the service asked for a {} s wait (retry-after), past the {} s a call may take)",
                asked.as_secs(),
                policy.total_timeout.as_secs()
            ));
            ClientError::Api(e)
        }
        (error, _) => error,
    }
}
