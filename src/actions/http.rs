//! `http`: one HTTP request, with expectations on the answer.
//!
//! `oci_region` names the OCI region a URL belongs to (an API gateway's endpoint, say): when
//! the endpoint table overrides that region, as it does for the simulator, a request to an OCI
//! data-plane host (`*.oci.customer-oci.com`, `*.oraclecloud.com`) goes to the override's
//! address with the original `Host` header, so one runbook reaches a gateway in OCI and in the
//! simulator alike.
//!
//! Outputs: `status`, `headers` (lower-case names), `json` (when the body is JSON) and `body`
//! (text, up to 64 KiB). A status outside `expect.status` is an error classed by the status, so
//! `retry_on: [http:5xx]` works; 4xx other than 408 and 429 are not retried by default.

use std::time::Duration;

use serde_json::{Map, Value};

use super::oci::OciSettings;
use super::{Action, ActionContext, ActionError, BoxFuture, ErrorClass, InputProblem, Outputs};
use crate::runbook::expr::{loose_eq, parse_expr};

pub(crate) const KEYS: &[&str] =
    &["method", "url", "headers", "query", "json", "body", "expect", "timeout", "oci_region", "follow_redirects"];
/// Domains of OCI-hosted data planes that an endpoint override may stand in for.
const OCI_DATA_PLANE_DOMAINS: &[&str] = &[".oci.customer-oci.com", ".oraclecloud.com"];
const EXPECT_KEYS: &[&str] = &["status", "json", "body_contains"];
const BODY_LIMIT: usize = 64 * 1024;

pub struct Http {
    clients: Clients,
    oci: Option<OciSettings>,
}

/// HTTP clients for requests that follow redirects (the default) and for those that see the
/// redirect itself (`follow_redirects: false`, to expect a 301 or 302). Each is built when
/// first used: most commands that register the actions (validate, plan) never send a request,
/// and building one reads the trusted certificates.
#[derive(Default)]
pub(crate) struct Clients {
    follow: std::sync::OnceLock<Result<reqwest::Client, String>>,
    stay: std::sync::OnceLock<Result<reqwest::Client, String>>,
}

impl Clients {
    pub(crate) fn new() -> Clients {
        Clients::default()
    }

    /// The client, or why it could not be built (a default client would drop the trusted
    /// certificates and the redirect policy the request asked for).
    fn get(&self, follow_redirects: bool) -> Result<&reqwest::Client, ActionError> {
        let cell = if follow_redirects { &self.follow } else { &self.stay };
        let built = cell.get_or_init(|| {
            let policy =
                if follow_redirects { reqwest::redirect::Policy::default() } else { reqwest::redirect::Policy::none() };
            crate::tls::trusting(reqwest::Client::builder())
                .user_agent(concat!("drctl/", env!("CARGO_PKG_VERSION")))
                .redirect(policy)
                .build()
                .map_err(|e| e.to_string())
        });
        built
            .as_ref()
            .map_err(|why| ActionError::fatal(ErrorClass::Other, format!("cannot make an HTTP client: {why}")))
    }
}

impl Http {
    pub fn new() -> Self {
        Self { clients: Clients::new(), oci: None }
    }

    /// An `http` action whose `oci_region` input follows the given endpoint table.
    pub fn with_oci(settings: OciSettings) -> Self {
        Self { oci: Some(settings), ..Self::new() }
    }
}

/// Where a request really goes: `url` itself, or, for an OCI data-plane URL of a region the
/// endpoint table overrides, the override's origin plus the path, with the original host to
/// send as `Host`.
pub(crate) fn route(
    url: &str,
    region: Option<&str>,
    oci: Option<&OciSettings>,
) -> Result<(String, Option<String>), ActionError> {
    let (Some(region), Some(oci)) = (region, oci) else { return Ok((url.to_owned(), None)) };
    let parsed = url::Url::parse(url).map_err(|e| ActionError::input(format!("bad url `{url}`: {e}")))?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if !OCI_DATA_PLANE_DOMAINS.iter().any(|d| host.ends_with(d)) {
        return Ok((url.to_owned(), None));
    }
    let endpoints = oci.endpoints().map_err(|e| ActionError::input(e.to_string()))?;
    let Some(base) = endpoints.region_override(region) else { return Ok((url.to_owned(), None)) };
    let mut target = base.clone();
    target.set_path(parsed.path());
    target.set_query(parsed.query());
    Ok((target.to_string(), Some(host)))
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

/// The answer to a request, as outputs (whose `body` is at most [`BODY_LIMIT`] bytes of it),
/// and its whole body as text, for `expect.body_contains` and `until`.
pub(crate) async fn send(
    clients: &Clients,
    with: &Value,
    oci: Option<&OciSettings>,
) -> Result<(Outputs, String), ActionError> {
    let client = clients.get(with.get("follow_redirects").and_then(Value::as_bool) != Some(false))?;
    let method = with.get("method").and_then(Value::as_str).unwrap_or("GET").to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| ActionError::input(format!("bad method `{method}`")))?;
    let url = with.get("url").and_then(Value::as_str).ok_or_else(|| ActionError::input("missing input `url`"))?;
    // A URL that came from an expression is checked once resolved: no retry can fix it.
    if let Some(problem) = url_problem(url) {
        return Err(ActionError::input(problem.message));
    }
    let (target, host) = route(url, with.get("oci_region").and_then(Value::as_str), oci)?;
    let mut request = client.request(method, &target);
    if let Some(host) = host {
        request = request.header(reqwest::header::HOST, host);
    }
    // A value that is null (a parameter given no value) leaves its header or query item out,
    // rather than send the text `null`.
    if let Some(headers) = with.get("headers").and_then(Value::as_object) {
        for (name, value) in headers.iter().filter(|(_, v)| !v.is_null()) {
            request = request.header(name.as_str(), value.as_str().map_or_else(|| value.to_string(), str::to_owned));
        }
    }
    if let Some(query) = with.get("query").and_then(Value::as_object) {
        let pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect();
        request = request.query(&pairs);
    }
    if let Some(json) = with.get("json") {
        request = request.json(json);
    } else if let Some(body) = with.get("body") {
        // An expression may give something other than text; it is not sent as nothing.
        let Value::String(body) = body else {
            return Err(ActionError::input(format!(
                "`body` must be text, but its expression gave {}: send a map or list with `json:` instead",
                crate::runbook::expr::type_name(body)
            )));
        };
        request = request.body(body.clone());
    }
    if let Some(t) = with.get("timeout").and_then(Value::as_str) {
        let d = crate::runbook::duration::parse_duration(t).map_err(ActionError::input)?;
        request = request.timeout(d);
    }
    let response = request.send().await.map_err(|e| {
        let class = if e.is_timeout() { ErrorClass::Timeout } else { ErrorClass::Network };
        let why = crate::causes::with_causes(&e.without_url());
        ActionError::new(class, format!("request to {url} failed: {why}"))
    })?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        // Seconds, or an HTTP date; whole seconds, rounded up, as the output gives them.
        .and_then(|v| crate::oci::retry::parse_retry_after(v, std::time::SystemTime::now()))
        .map(|d| Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0)));
    // A header sent more than once keeps every value: joined with `, ` as HTTP combines them
    // (`Set-Cookie`, which cannot be combined so, with a line break).
    let mut headers: Map<String, Value> = Map::new();
    for (k, v) in response.headers() {
        let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
        match headers.get_mut(k.as_str()) {
            Some(Value::String(seen)) => {
                seen.push_str(if k == reqwest::header::SET_COOKIE { "\n" } else { ", " });
                seen.push_str(&value);
            }
            _ => {
                headers.insert(k.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let bytes = read_answer(response, url).await?;
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    let whole = String::from_utf8_lossy(&bytes).into_owned();
    let cut = whole.len() > BODY_LIMIT;
    let text = cut_between_words(head(&whole, BODY_LIMIT), usize::MAX, cut).to_owned();
    let mut outputs = Outputs::new();
    outputs.insert("status".into(), Value::from(status));
    outputs.insert("headers".into(), Value::Object(headers));
    outputs.insert("json".into(), json.unwrap_or(Value::Null));
    outputs.insert("body".into(), Value::String(text));
    if let Some(delay) = retry_after {
        outputs.insert("retry_after_s".into(), Value::from(delay.as_secs()));
    }
    Ok((outputs, whole))
}

/// The first `bytes` bytes of `text` at most, ending on a whole character.
pub(crate) fn head(text: &str, bytes: usize) -> &str {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// At most `chars` characters of `text`, cut between words: a secret cut in two would show
/// its first part, which masking (done later, by value) no longer recognises. `cut` says that
/// `text` itself was cut short already. Where no delimiter is near the end, the cut stays.
fn cut_between_words(text: &str, chars: usize, cut: bool) -> &str {
    let end = text.char_indices().nth(chars).map_or(text.len(), |(at, _)| at);
    if end == text.len() && !cut {
        return text;
    }
    let head = &text[..end];
    let delimiter = |c: char| c.is_whitespace() || "\"',;<>{}[]()&?=".contains(c);
    match head.rfind(delimiter) {
        Some(at) if head.len() - at <= 1024 => &head[..at],
        _ => head,
    }
}

/// Checks `expect` against a response; the error says what differed.
pub(crate) fn check_expectations(
    url: &str,
    expect: Option<&Value>,
    outputs: &Outputs,
    whole_body: &str,
) -> Result<(), ActionError> {
    // An expectation that came from an expression is checked once resolved: a mistyped one
    // must fail, not pass.
    match expect {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            if let Some(problem) = expect_problems(map).into_iter().next() {
                return Err(ActionError::input(problem.message));
            }
        }
        Some(other) => return Err(ActionError::input(format!("`expect` must be a map, got {other}"))),
    }
    let status = outputs.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
    let expected_status = expect.and_then(|e| e.get("status"));
    if !status_matches(expected_status, status) {
        let shown = expected_status.map_or_else(|| "2xx".to_owned(), |v| v.to_string());
        let body = outputs.get("body").and_then(Value::as_str).unwrap_or_default();
        let snippet = cut_between_words(body.trim(), 300, false);
        let said = if snippet.is_empty() { " (with an empty body)".to_owned() } else { format!(": {snippet}") };
        let mut err = ActionError::new(
            ErrorClass::HttpStatus(status),
            format!("{url} answered {status}, expected {shown}{said}"),
        );
        err.retryable = status >= 500 || status == 408 || status == 429;
        if let Some(s) = outputs.get("retry_after_s").and_then(Value::as_u64) {
            err = err.with_retry_after(Duration::from_secs(s));
        }
        return Err(err);
    }
    if let Some(want) = expect.and_then(|e| e.get("json")).and_then(Value::as_object) {
        let json = outputs.get("json").cloned().unwrap_or(Value::Null);
        // `json` is null both for an answer that is not JSON and for one that is `null`: only
        // the second can meet a JSON expectation (a page of HTML has no `error` field to check).
        let body = outputs.get("body").and_then(Value::as_str).unwrap_or_default();
        if json.is_null() && body.trim() != "null" {
            let what = if body.trim().is_empty() {
                "the answer has no body".to_owned()
            } else {
                format!("the answer is not JSON: {}", cut_between_words(body, 300, false))
            };
            return Err(ActionError::new(
                ErrorClass::Assertion,
                format!("{url}: `expect.json` needs JSON, but {what}"),
            ));
        }
        let scope = serde_json::json!({ "json": json });
        for (path, expected) in want {
            let source = if path.starts_with('[') { format!("json{path}") } else { format!("json.{path}") };
            let expr =
                parse_expr(&source).map_err(|e| ActionError::input(format!("expect.json path `{path}`: {e}")))?;
            let got = expr.eval(&scope).unwrap_or(Value::Null);
            if !loose_eq(&got, expected) {
                return Err(ActionError::new(
                    ErrorClass::Assertion,
                    format!("{url}: `{path}` is {got}, expected {expected}"),
                ));
            }
        }
    }
    if let Some(needle) = expect.and_then(|e| e.get("body_contains")).and_then(Value::as_str) {
        // The whole answer, not the part kept as the `body` output.
        if !whole_body.contains(needle) {
            return Err(ActionError::new(ErrorClass::Assertion, format!("{url}: body does not contain `{needle}`")));
        }
    }
    Ok(())
}

/// Whether `status` is one of `expected`: a number, `"4xx"`, `"404"`, or a list of those;
/// `None` means any 2xx.
pub(crate) fn status_matches(expected: Option<&Value>, status: u16) -> bool {
    match expected {
        None => (200..300).contains(&status),
        Some(spec) => status_patterns(spec).is_some_and(|patterns| patterns.iter().any(|p| p.matches(status))),
    }
}

/// One accepted status of an `expect.status`: an exact status or a class such as `4xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusPattern {
    Exact(u16),
    Class(u16),
}

impl StatusPattern {
    fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Exact(s) => s == status,
            StatusPattern::Class(c) => status / 100 == c,
        }
    }
}

/// Reads an `expect.status`: a status (`200` or `"200"`), a class (`"2xx"`), or a non-empty
/// list of those. `None` when it is none of them. The one reading behind both `validate` and
/// the check of a response, so they can never disagree.
fn status_patterns(spec: &Value) -> Option<Vec<StatusPattern>> {
    let one = |v: &Value| match v {
        Value::Number(n) => {
            n.as_u64().filter(|n| (100..=599).contains(n)).and_then(|n| u16::try_from(n).ok()).map(StatusPattern::Exact)
        }
        Value::String(s) => match s.strip_suffix("xx") {
            Some(class) => matches!(class, "1" | "2" | "3" | "4" | "5")
                .then(|| class.parse().ok().map(StatusPattern::Class))
                .flatten(),
            None => s.parse::<u16>().ok().filter(|n| (100..=599).contains(n)).map(StatusPattern::Exact),
        },
        _ => None,
    };
    match spec {
        Value::Array(items) if !items.is_empty() => items.iter().map(one).collect(),
        Value::Array(_) => None,
        other => one(other).map(|p| vec![p]),
    }
}

/// The methods a request may use.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

pub(crate) fn check_request_inputs(with: &Map<String, Value>, known: &[&str]) -> Vec<InputProblem> {
    let mut problems = super::unknown_keys(with, known);
    match with.get("url") {
        None => problems.push(InputProblem::new("", "missing input `url`").with_help("add `url: https://...`")),
        Some(Value::String(_)) => {}
        Some(_) => {
            problems.push(InputProblem::new("url", "`url` must be a string").with_help("write `url: https://...`"))
        }
    }
    match with.get("method") {
        None => {}
        // An expression is checked when it is resolved.
        Some(Value::String(m)) if m.contains("${{") => {}
        Some(Value::String(m)) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {}
        Some(other) => problems.push(
            InputProblem::new("method", format!("`{}` is not an HTTP method", other.as_str().unwrap_or("?")))
                .with_help(format!("use one of: {}", METHODS.join(", "))),
        ),
    }
    if with.contains_key("json") && with.contains_key("body") {
        problems.push(InputProblem::new("body", "give `json` or `body`, not both"));
    }
    match with.get("body") {
        None | Some(Value::String(_)) => {}
        Some(other) => problems.push(
            InputProblem::new("body", format!("`body` must be text, got {}", type_name(other)))
                .with_help("send a map or list as JSON with `json:` instead of `body:`"),
        ),
    }
    if let Some(problem) = with.get("url").and_then(Value::as_str).and_then(url_problem) {
        problems.push(problem);
    }
    for key in ["headers", "query"] {
        match with.get(key) {
            None => {}
            Some(Value::String(t)) if is_expression(t) => {}
            Some(Value::Object(map)) => {
                for (name, value) in map {
                    if key == "headers"
                        && !is_expression(name)
                        && reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                    {
                        problems.push(
                            InputProblem::new(key, format!("`{name}` is not a header name"))
                                .with_help("header names are letters, digits and `-`, such as `X-Request-Id`"),
                        );
                    }
                    if value.is_array() || value.is_object() {
                        problems.push(InputProblem::new(
                            key,
                            format!("`{key}.{name}` must be text, a number or a bool, got {}", type_name(value)),
                        ));
                    }
                    // A header value cannot hold a line break or another control character: the
                    // request could not be sent, whatever the retries.
                    let text = value.as_str().filter(|t| !is_expression(t));
                    if key == "headers" && text.is_some_and(|t| reqwest::header::HeaderValue::from_str(t).is_err()) {
                        problems.push(
                            InputProblem::new(key, format!("`headers.{name}` holds a line break or another control character"))
                                .with_help("a header value is one line of text: remove the character (from the parameter or output it comes from)"),
                        );
                    }
                }
            }
            Some(other) => problems.push(
                InputProblem::new(key, format!("`{key}` must be a map of names to values, got {}", type_name(other)))
                    .with_help(if key == "headers" {
                        "headers: { Authorization: \"Bearer ...\", X-Request-Id: abc }"
                    } else {
                        "query: { limit: 10, page: 2 }"
                    }),
            ),
        }
    }
    match with.get("follow_redirects") {
        None | Some(Value::Bool(_)) => {}
        Some(Value::String(t)) if is_expression(t) => {}
        Some(other) => problems.push(
            InputProblem::new("follow_redirects", format!("`follow_redirects` must be true or false, got {other}"))
                .with_help("write `follow_redirects: false` to see a redirect's own status, such as 302"),
        ),
    }
    match with.get("timeout") {
        Some(Value::String(t)) if !is_expression(t) => {
            match crate::runbook::duration::parse_duration(t) {
                Err(why) => {
                    problems.push(InputProblem::new("timeout", why).with_help("write durations like 500ms, 30s or 5m"))
                }
                // A request given no time at all fails before it is sent.
                Ok(d) if d.is_zero() => problems.push(
                    InputProblem::new("timeout", "`timeout` must be longer than zero")
                        .with_help("leave it out for no timeout of its own (the task's `timeout` still bounds it)"),
                ),
                Ok(_) => {}
            }
        }
        None | Some(Value::String(_)) => {}
        Some(_) => problems.push(
            InputProblem::new("timeout", "`timeout` must be a duration")
                .with_help("write durations like 500ms, 30s or 5m"),
        ),
    }
    match with.get("expect") {
        None => {}
        Some(Value::String(e)) if is_expression(e) => {}
        Some(Value::Object(expect)) => {
            for problem in super::unknown_keys(expect, EXPECT_KEYS) {
                problems.push(InputProblem { key: "expect".into(), ..problem });
            }
            problems.extend(expect_problems(expect));
        }
        Some(_) => problems.push(
            InputProblem::new("expect", "`expect` must be a map")
                .with_help("expect: { status: 200, json: { path: value }, body_contains: text }"),
        ),
    }
    problems
}

use crate::runbook::expr::type_name;

fn is_expression(text: &str) -> bool {
    text.contains("${{")
}

/// A literal URL that cannot be requested.
fn url_problem(url: &str) -> Option<InputProblem> {
    if is_expression(url) {
        return None;
    }
    let why = match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => return None,
        Ok(u) => format!("`{url}` uses {}; only http and https can be requested", u.scheme()),
        Err(e) => format!("`{url}` is not a URL ({e})"),
    };
    Some(InputProblem::new("url", why).with_help("write `url: https://host/path`"))
}

/// Whether `status` is a status drctl can compare with: a number, `"404"`, `"4xx"`, or a list.
fn status_spec_ok(status: &Value) -> bool {
    // An expression is read when it is resolved, and checked then.
    matches!(status, Value::String(s) if is_expression(s)) || status_patterns(status).is_some()
}

fn expect_problems(expect: &Map<String, Value>) -> Vec<InputProblem> {
    let mut problems = Vec::new();
    if let Some(status) = expect.get("status").filter(|s| !status_spec_ok(s)) {
        problems.push(
            InputProblem::new("expect", format!("`expect.status` {status} is not an HTTP status"))
                .with_help("a status (200), a class (\"2xx\"), or a list of those ([200, 404])"),
        );
    }
    match expect.get("json") {
        None | Some(Value::Object(_)) => {}
        Some(Value::String(s)) if is_expression(s) => {}
        Some(other) => problems.push(
            InputProblem::new("expect", format!("`expect.json` must map JSON paths to values, got {other}"))
                .with_help("expect: { json: { items[0].state: ACTIVE } }"),
        ),
    }
    if let Some(other) = expect.get("body_contains").filter(|b| !b.is_string()) {
        problems.push(InputProblem::new("expect", format!("`expect.body_contains` must be text, got {other}")));
    }
    problems
}

impl Action for Http {
    fn check_resolved(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        self.check_inputs(with)
    }

    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        check_request_inputs(with, KEYS)
    }

    fn output_names(&self) -> Option<&'static [&'static str]> {
        Some(&["status", "headers", "json", "body", "retry_after_s"])
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let url = with.get("url").and_then(Value::as_str).unwrap_or_default().to_owned();
            let (outputs, whole) = tokio::select! {
                r = send(&self.clients, &with, self.oci.as_ref()) => r?,
                () = ctx.cancel.cancelled() => return Err(ActionError::new(ErrorClass::Other, "request cancelled")),
            };
            ctx.log.line(&format!(
                "{} {url} -> {}",
                with.get("method").and_then(Value::as_str).unwrap_or("GET"),
                outputs["status"]
            ));
            // What the task keeps secret is known as secret before any error can quote it (an
            // answer's body, a JSON value that differed).
            ctx.log.outputs(&outputs);
            check_expectations(&url, with.get("expect"), &outputs, &whole)?;
            Ok(outputs)
        })
    }
}

/// The whole answer, at most [`crate::input::MAX_INPUT`] bytes: an endpoint that sends without
/// end fails the attempt, rather than take all the memory there is.
async fn read_answer(mut response: reqwest::Response, url: &str) -> Result<Vec<u8>, ActionError> {
    let limit = usize::try_from(crate::input::MAX_INPUT).unwrap_or(usize::MAX);
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        let class = if e.is_timeout() { ErrorClass::Timeout } else { ErrorClass::Network };
        let why = crate::causes::with_causes(&e.without_url());
        ActionError::new(class, format!("reading the answer from {url} failed: {why}"))
    })? {
        if bytes.len() + chunk.len() > limit {
            return Err(ActionError::fatal(
                ErrorClass::Other,
                format!("the answer from {url} is larger than {} MiB, more than drctl reads", limit / (1024 * 1024)),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_text_ends_between_words() {
        assert_eq!(cut_between_words("token=SUPERSECRET rest", 12, false), "token");
        assert_eq!(cut_between_words("a short body", 300, false), "a short body");
        assert_eq!(cut_between_words("{\"k\":\"SUPERSEC", usize::MAX, true), "{\"k\":");
        assert_eq!(cut_between_words("nodelimiters", 4, false), "node");
    }

    #[test]
    fn status_expectations() {
        assert!(status_matches(None, 204));
        assert!(!status_matches(None, 404));
        assert!(status_matches(Some(&serde_json::json!(404)), 404));
        assert!(status_matches(Some(&serde_json::json!("4xx")), 409));
        assert!(status_matches(Some(&serde_json::json!([200, "3xx"])), 302));
        assert!(!status_matches(Some(&serde_json::json!([200, 201])), 202));
    }

    #[test]
    fn validate_and_the_response_check_read_status_alike() {
        use serde_json::json;
        let refused = [
            json!(99),
            json!(600),
            json!("6xx"),
            json!("0xx"),
            json!("xx"),
            json!("abc"),
            json!([]),
            json!([[200]]),
            json!([200, "abc"]),
            json!(true),
            json!(null),
            json!(-1),
            json!(2.5),
        ];
        for spec in &refused {
            assert!(!status_spec_ok(spec), "{spec} passed validate");
            assert!((100..600).all(|s| !status_matches(Some(spec), s)), "{spec} matched a status");
        }
        let accepted = [(json!(200), 200), (json!("201"), 201), (json!("5xx"), 503), (json!([404, "2xx"]), 204)];
        for (spec, status) in &accepted {
            assert!(status_spec_ok(spec), "{spec} refused by validate");
            assert!(status_matches(Some(spec), *status), "{spec} did not match {status}");
        }
    }

    #[test]
    fn oci_data_plane_urls_follow_the_endpoint_table() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("endpoints.json");
        std::fs::write(&file, r#"{"us-phoenix-1": "http://127.0.0.1:9000"}"#).unwrap();
        let oci = OciSettings { endpoints_file: Some(file), ..OciSettings::default() };
        let gw = "https://abc.apigateway.us-phoenix-1.oci.customer-oci.com/orders/validate?x=1";
        let (url, host) = route(gw, Some("us-phoenix-1"), Some(&oci)).unwrap();
        assert_eq!(url, "http://127.0.0.1:9000/orders/validate?x=1");
        assert_eq!(host.as_deref(), Some("abc.apigateway.us-phoenix-1.oci.customer-oci.com"));
        // Other hosts, and regions without an override, are left alone.
        let (url, host) = route("https://example.com/a", Some("us-phoenix-1"), Some(&oci)).unwrap();
        assert_eq!((url.as_str(), host), ("https://example.com/a", None));
        let other = "https://abc.apigateway.eu-frankfurt-1.oci.customer-oci.com/a";
        assert_eq!(route(other, Some("eu-frankfurt-1"), Some(&oci)).unwrap(), (other.to_owned(), None));
        assert_eq!(route(gw, None, Some(&oci)).unwrap(), (gw.to_owned(), None));
    }
}
