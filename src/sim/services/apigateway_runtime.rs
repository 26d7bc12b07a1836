//! The data plane of simulated API gateways: a request whose `Host` is a gateway's
//! hostname is matched against the ACTIVE deployments of that gateway (path prefix, route
//! path with `{param}` and trailing `{name*}` wildcards, methods) and answered by the route's
//! backend: ORACLE_FUNCTIONS_BACKEND gives the function's invoke echo, STOCK_RESPONSE_BACKEND
//! its canned status, body and headers. CORS preflights follow the deployment's (or the
//! route's) CORS policy. Gateway traffic is not OCI-signed; instead the deployment's
//! request policies apply (JWT authentication, rate limiting: `apigateway_policies`).
//! HTTP_BACKEND is answered 502: the simulator makes no outbound calls.

use std::collections::BTreeMap;

use axum::http::request::Parts;
use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};

use super::apigateway_policies::{self as policies, Refusal};
use crate::sim::call::{empty, json};
use crate::sim::context::RegionCtx;
use crate::sim::store::Resource;

/// Serves `parts` if `host` names a gateway of this region; `None` means "not gateway
/// traffic, continue as an API call".
pub fn serve(ctx: &RegionCtx, host: &str, parts: &Parts, body: &[u8]) -> Option<Response> {
    let hostname = host.split(':').next().unwrap_or(host);
    if !hostname.contains(".apigateway.") {
        return None;
    }
    let (gateway, deployments) = {
        let store = ctx.sim.store();
        let gateway = store
            .of_kind(&ctx.region, "apigateway.gateway")
            .find(|g| g.str_field("hostname") == Some(hostname) && g.state() == "ACTIVE")?
            .clone();
        let deployments: Vec<Resource> = store
            .of_kind(&ctx.region, "apigateway.deployment")
            .filter(|d| d.str_field("gatewayId") == Some(gateway.id.as_str()) && d.state() == "ACTIVE")
            .cloned()
            .collect();
        (gateway, deployments)
    };
    let path = parts.uri.path();
    let not_found = || json(404, &json!({"code": 404, "message": "Not Found"}), &[]);
    let Some((deployment, rest)) = deployments.iter().find_map(|d| {
        let prefix = d.str_field("pathPrefix")?.trim_end_matches('/');
        let rest = path.strip_prefix(prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some((d, if rest.is_empty() { "/" } else { rest }))
    }) else {
        return Some(not_found());
    };
    let spec = deployment.body.get("specification").cloned().unwrap_or(Value::Null);
    let routes = spec.get("routes").and_then(Value::as_array).cloned().unwrap_or_default();
    let matched: Vec<(&Value, BTreeMap<String, String>)> =
        routes.iter().filter_map(|r| Some((r, match_path(r.get("path")?.as_str()?, rest)?))).collect();
    if matched.is_empty() {
        return Some(not_found());
    }
    let origin = parts.headers.get("origin").and_then(|v| v.to_str().ok()).map(str::to_string);
    let preflight = parts.method == Method::OPTIONS && parts.headers.contains_key("access-control-request-method");
    let method = if preflight {
        parts.headers.get("access-control-request-method").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    } else {
        parts.method.to_string()
    };
    let Some((route, params)) = matched.iter().find(|(r, _)| allows(r, &method)) else {
        return Some(json(405, &json!({"code": 405, "message": "Method Not Allowed"}), &[]));
    };
    let cors = route
        .get("requestPolicies")
        .and_then(|p| p.get("cors"))
        .or_else(|| spec.get("requestPolicies").and_then(|p| p.get("cors")))
        .cloned();
    if preflight {
        return Some(preflight_response(cors.as_ref(), origin.as_deref(), &method));
    }
    let policies = spec.get("requestPolicies").cloned().unwrap_or(Value::Null);
    let client = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    let anonymous_route =
        route.pointer("/requestPolicies/authorization/type").and_then(Value::as_str) == Some("ANONYMOUS");
    let checked = policies::rate_limit(&deployment.id, &policies, &client).and_then(|()| {
        if anonymous_route {
            Ok(())
        } else {
            policies::authenticate(&policies, parts)
        }
    });
    match checked {
        Ok(()) => {}
        Err(Refusal::TooManyRequests) => {
            return Some(json(
                429,
                &json!({"code": 429, "message": "Too Many Requests"}),
                &[("retry-after", "1".into())],
            ))
        }
        Err(Refusal::Unauthorized(why)) => {
            let challenge = ("www-authenticate", "Bearer".to_owned());
            return Some(json(401, &json!({"code": 401, "message": format!("Unauthorized: {why}")}), &[challenge]));
        }
    }
    let mut response = backend_response(ctx, &gateway, route, params, parts, body);
    if let (Some(cors), Some(origin)) = (cors.as_ref(), origin.as_deref()) {
        if origin_allowed(cors, origin) {
            if let Ok(v) = origin.parse() {
                response.headers_mut().insert("access-control-allow-origin", v);
            }
        }
    }
    Some(response)
}

/// Matches a route path (`/users/{id}`, `/files/{path*}`) against a request path.
pub fn match_path(pattern: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let pat: Vec<&str> = pattern.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let got: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let mut params = BTreeMap::new();
    for (i, p) in pat.iter().enumerate() {
        if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix("*}")) {
            params.insert(name.to_string(), got.get(i..).map(|g| g.join("/")).unwrap_or_default());
            return Some(params);
        }
        let g = got.get(i)?;
        match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => {
                params.insert(name.to_string(), g.to_string());
            }
            None if p == g => {}
            None => return None,
        }
    }
    (pat.len() == got.len()).then_some(params)
}

fn allows(route: &Value, method: &str) -> bool {
    match route.get("methods").and_then(Value::as_array) {
        None => true,
        Some(ms) => ms.iter().filter_map(Value::as_str).any(|m| m == "ANY" || m.eq_ignore_ascii_case(method)),
    }
}

fn origin_allowed(cors: &Value, origin: &str) -> bool {
    cors.get("allowedOrigins")
        .and_then(Value::as_array)
        .is_some_and(|os| os.iter().filter_map(Value::as_str).any(|o| o == "*" || o == origin))
}

fn preflight_response(cors: Option<&Value>, origin: Option<&str>, method: &str) -> Response {
    let (Some(cors), Some(origin)) = (cors, origin) else {
        return json(403, &json!({"code": 403, "message": "CORS preflight rejected: no CORS policy"}), &[]);
    };
    let list = |field: &str| -> Vec<String> {
        cors.get(field)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let methods = list("allowedMethods");
    let method_ok = methods.iter().any(|m| m == "*" || m.eq_ignore_ascii_case(method));
    if !origin_allowed(cors, origin) || !method_ok {
        return json(403, &json!({"code": 403, "message": "CORS preflight rejected"}), &[]);
    }
    let mut headers =
        vec![("access-control-allow-origin", origin.to_string()), ("access-control-allow-methods", methods.join(","))];
    let allowed_headers = list("allowedHeaders");
    if !allowed_headers.is_empty() {
        headers.push(("access-control-allow-headers", allowed_headers.join(",")));
    }
    if let Some(age) = cors.get("maxAgeInSeconds").and_then(Value::as_u64) {
        headers.push(("access-control-max-age", age.to_string()));
    }
    if cors.get("isAllowCredentialsEnabled").and_then(Value::as_bool) == Some(true) {
        headers.push(("access-control-allow-credentials", "true".into()));
    }
    empty(204, &headers)
}

fn backend_response(
    ctx: &RegionCtx,
    gateway: &Resource,
    route: &Value,
    params: &BTreeMap<String, String>,
    parts: &Parts,
    body: &[u8],
) -> Response {
    let backend = route.get("backend").cloned().unwrap_or(Value::Null);
    match backend.get("type").and_then(Value::as_str) {
        Some("STOCK_RESPONSE_BACKEND") => {
            let status =
                backend.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).unwrap_or(200);
            let headers: Vec<(String, String)> = backend
                .get("headers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|h| {
                    Some((h.get("name")?.as_str()?.to_ascii_lowercase(), h.get("value")?.as_str()?.to_string()))
                })
                .collect();
            let text = backend.get("body").and_then(Value::as_str).unwrap_or("").to_string();
            let mut response = Response::new(axum::body::Body::from(text));
            *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK);
            for (k, v) in headers {
                if let (Ok(name), Ok(value)) = (axum::http::HeaderName::try_from(k), v.parse()) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Some("ORACLE_FUNCTIONS_BACKEND") => {
            let id = backend.get("functionId").and_then(Value::as_str).unwrap_or_default();
            let function = ctx.sim.store().visible(&ctx.region, id).filter(|f| f.state() == "ACTIVE").cloned();
            let Some(function) = function else {
                return json(502, &json!({"code": 502, "message": "Bad Gateway: function unavailable"}), &[]);
            };
            let text = String::from_utf8_lossy(body).into_owned();
            let echo = json!({
                "functionId": function.id,
                "displayName": function.str_field("displayName"),
                "region": ctx.region,
                "image": function.str_field("image"),
                "gatewayId": gateway.id,
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "pathParams": params,
                "request": serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
            });
            json(200, &echo, &[])
        }
        _ => json(502, &json!({"code": 502, "message": "Bad Gateway: HTTP_BACKEND is not simulated"}), &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_paths_match_with_params_and_wildcards() {
        let p = match_path("/users/{id}", "/users/42").unwrap();
        assert_eq!(p["id"], "42");
        assert!(match_path("/users/{id}", "/users/42/x").is_none());
        assert_eq!(match_path("/files/{rest*}", "/files/a/b").unwrap()["rest"], "a/b");
        assert!(match_path("/", "/").unwrap().is_empty());
    }
}
