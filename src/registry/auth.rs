//! Registry authentication: answers `401 WWW-Authenticate` challenges. `Basic` challenges are
//! met with the host's credentials; `Bearer` challenges with a token fetched from the realm
//! (the distribution token flow), scoped per repository and action. What a host asked for is
//! remembered so later requests carry credentials up front instead of paying a 401 round trip.
//! This module never logs or returns a credential or token in an error.

use std::collections::HashMap;
use std::sync::Mutex;

use super::credentials::{Credentials, Secret};
use super::error::RegistryError;

/// A parsed `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer { realm: String, service: Option<String> },
}

/// Parses `Basic realm=".."` or `Bearer realm="..",service="..",scope="a:b:pull,push"`.
/// Quoted values may contain commas, so this is a small scanner rather than a split.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let realm = params.get("realm")?.clone();
    Some(Challenge::Bearer { realm, service: params.get("service").cloned() })
}

fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
}

/// Where credentials for a registry come from, as messages that ask for them say.
pub(crate) const CREDENTIAL_SOURCES: &str = "--src-creds or --dest-creds, DRCTL_REGISTRY_USER and \
     DRCTL_REGISTRY_PASSWORD, or an `auths` entry for the host in the docker config; in a runbook, \
     `source_credentials` or `destination_credentials`";

/// The token service's answer; registries use either field name.
#[derive(serde::Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
}

/// Per-copy authentication state shared by every request of that copy.
pub(crate) struct Authenticator {
    http: reqwest::Client,
    credentials: HashMap<String, Credentials>,
    schemes: Mutex<HashMap<String, Challenge>>,
    tokens: Mutex<HashMap<(String, String), Secret>>,
}

impl Authenticator {
    pub(crate) fn new(http: reqwest::Client, credentials: HashMap<String, Credentials>) -> Self {
        Authenticator { http, credentials, schemes: Mutex::new(HashMap::new()), tokens: Mutex::new(HashMap::new()) }
    }

    fn scheme(&self, host: &str) -> Option<Challenge> {
        self.schemes.lock().ok()?.get(host).cloned()
    }

    fn cached_token(&self, host: &str, scopes: &[String]) -> Option<Secret> {
        let key = (host.to_string(), scopes.join(" "));
        self.tokens.lock().ok()?.get(&key).cloned()
    }

    /// The `Authorization` value to send up front, if the host has asked for one before.
    pub(crate) async fn header(&self, host: &str, scopes: &[String]) -> Result<Option<Secret>, RegistryError> {
        match self.scheme(host) {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(self.credentials.get(host).map(|c| Secret::new(c.basic_header()))),
            Some(Challenge::Bearer { realm, service }) => {
                if let Some(t) = self.cached_token(host, scopes) {
                    return Ok(Some(t));
                }
                let token = self.fetch_token(host, &realm, service.as_deref(), scopes).await?;
                Ok(Some(token))
            }
        }
    }

    /// Whether credentials were given for `host`.
    pub(crate) fn has_credentials(&self, host: &str) -> bool {
        self.credentials.contains_key(host)
    }

    /// Learns from a 401: records the host's scheme and drops any stale token for `scopes`,
    /// so the next [`Authenticator::header`] call fetches a fresh one. Fails when the challenge
    /// cannot be met (no credentials for Basic, unknown scheme).
    pub(crate) fn learn(
        &self,
        host: &str,
        www_authenticate: Option<&str>,
        scopes: &[String],
    ) -> Result<(), RegistryError> {
        let auth_err = |reason: &str| RegistryError::Auth { registry: host.to_string(), reason: reason.to_string() };
        let challenge = www_authenticate
            .and_then(parse_challenge)
            .ok_or_else(|| auth_err("401 without a Basic or Bearer challenge"))?;
        if challenge == Challenge::Basic && !self.credentials.contains_key(host) {
            return Err(auth_err(&format!(
                "registry requires credentials and none were given for this host; give them ({CREDENTIAL_SOURCES})"
            )));
        }
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&(host.to_string(), scopes.join(" ")));
        }
        if let Ok(mut schemes) = self.schemes.lock() {
            schemes.insert(host.to_string(), challenge);
        }
        Ok(())
    }

    async fn fetch_token(
        &self,
        host: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<Secret, RegistryError> {
        let auth_err = |reason: String| RegistryError::Auth { registry: host.to_string(), reason };
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = service {
            query.push(("service", s));
        }
        for s in scopes {
            query.push(("scope", s));
        }
        let mut req = self.http.get(realm).query(&query).timeout(std::time::Duration::from_secs(60));
        if let Some(c) = self.credentials.get(host) {
            req = req.header(reqwest::header::AUTHORIZATION, c.basic_header());
        }
        let resp = req.send().await.map_err(|e| auth_err(format!("token request to {realm} failed: {e}")))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            let what = if self.credentials.contains_key(host) {
                "the credentials given for this host were refused; check them"
            } else {
                "it gives no token without credentials; give them"
            };
            return Err(auth_err(format!(
                "token service {realm} answered HTTP {status}: {what} ({CREDENTIAL_SOURCES})"
            )));
        }
        if !status.is_success() {
            return Err(auth_err(format!("token service {realm} answered HTTP {status}")));
        }
        let body: TokenResponse =
            resp.json().await.map_err(|_| auth_err(format!("token service {realm} sent no JSON token")))?;
        let token = body
            .token
            .or(body.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| auth_err(format!("token service {realm} sent an empty token")))?;
        let value = Secret::new(format!("Bearer {token}"));
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert((host.to_string(), scopes.join(" ")), value.clone());
        }
        Ok(value)
    }
}

/// `repository:<repo>:pull` style scope strings for one request.
pub(crate) fn scope(repository: &str, actions: &str) -> String {
    format!("repository:{repository}:{actions}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_with_commas_in_scope() {
        let h = r#"Bearer realm="https://fra.ocir.io/20180419/docker/token",service="fra.ocir.io",scope="repository:ns/app:pull,push""#;
        assert_eq!(
            parse_challenge(h),
            Some(Challenge::Bearer {
                realm: "https://fra.ocir.io/20180419/docker/token".into(),
                service: Some("fra.ocir.io".into()),
            })
        );
        assert_eq!(parse_challenge(r#"Basic realm="Registry""#), Some(Challenge::Basic));
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
    }

    #[test]
    fn basic_challenge_without_credentials_fails_clearly() {
        let a = Authenticator::new(reqwest::Client::new(), HashMap::new());
        let err = a.learn("r.io", Some("Basic realm=x"), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.io: authentication failed: registry requires credentials and none were given for this host; give them \
             (--src-creds or --dest-creds, DRCTL_REGISTRY_USER and DRCTL_REGISTRY_PASSWORD, or an `auths` entry for \
             the host in the docker config; in a runbook, `source_credentials` or `destination_credentials`)"
        );
    }

    #[tokio::test]
    async fn a_token_service_refusal_says_what_to_do_about_credentials() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let realm = format!("http://{}/token", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 2048];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        let anonymous = Authenticator::new(reqwest::Client::new(), HashMap::new());
        let err = anonymous.fetch_token("r.io", &realm, None, &[]).await.unwrap_err().to_string();
        assert!(err.contains("it gives no token without credentials; give them (--src-creds"), "{err}");
        let creds = HashMap::from([("r.io".to_string(), "alice:bad".parse::<Credentials>().unwrap())]);
        let refused = Authenticator::new(reqwest::Client::new(), creds);
        let err = refused.fetch_token("r.io", &realm, None, &[]).await.unwrap_err().to_string();
        assert!(err.contains("the credentials given for this host were refused; check them"), "{err}");
    }

    /// A one-shot token service on loopback that records the request it got.
    async fn token_server(body: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.ends_with(b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                req.extend_from_slice(&buf[..n]);
            }
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(resp.as_bytes()).await.unwrap();
            String::from_utf8(req).unwrap()
        });
        (format!("http://{addr}/token"), task)
    }

    #[tokio::test]
    async fn bearer_token_is_fetched_with_scopes_and_basic_credentials_then_cached() {
        let (realm, server) = token_server(r#"{"access_token":"tok-123","expires_in":300}"#).await;
        let creds = HashMap::from([("r.io".to_string(), Credentials::new("u", "p"))]);
        let a = Authenticator::new(reqwest::Client::new(), creds);
        let scopes = vec![scope("ns/app", "pull,push"), scope("ns/base", "pull")];
        let challenge = format!(r#"Bearer realm="{realm}",service="r.io",scope="repository:ns/app:pull,push""#);
        a.learn("r.io", Some(&challenge), &scopes).unwrap();
        let header = a.header("r.io", &scopes).await.unwrap().unwrap();
        assert_eq!(header.expose(), "Bearer tok-123");
        let request = server.await.unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with(
                "get /token?service=r.io&scope=repository%3ans%2fapp%3apull%2cpush&scope=repository%3ans%2fbase%3apull http/1.1\r\n"
            ),
            "{request}"
        );
        assert!(request.contains("\r\nauthorization: basic dtpw\r\n"), "{request}");
        // The server is gone: a second fetch would fail, so this must come from the cache.
        let again = a.header("r.io", &scopes).await.unwrap().unwrap();
        assert_eq!(again, header);
        assert_eq!(format!("{again:?}"), "Secret(<redacted>)");
    }
}
