//! `drctl oci request METHOD SERVICE PATH`: one signed OCI call for an operator.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::Value;

use super::{CliError, Exit, OciArgs};
use crate::oci::{ClientError, OciRequest, Service};

#[derive(Subcommand, Debug)]
pub enum OciCommand {
    /// Send one signed request and print the JSON response.
    Request(RequestArgs),
}

#[derive(Args, Debug)]
pub struct RequestArgs {
    /// GET, POST, PUT, PATCH, DELETE or HEAD.
    pub method: String,
    /// The service: functions, core, identity, kms, vaults, secrets, apigateway, events, sch,
    /// logging, artifacts, monitoring, objectstorage, limits, resourcescheduler, ...
    pub service: String,
    /// Path with API version and query, e.g. `/20160918/vcns?compartmentId=ocid1...`.
    pub path: String,
    /// Region id or key (default: the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// A JSON file to send as the body.
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
    /// Base URL for this call only (scheme, host and port), e.g. a simulator's.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
}

pub async fn oci(command: OciCommand, oci: &OciArgs, quiet: bool) -> Result<Exit, CliError> {
    let OciCommand::Request(args) = command;
    let (client, home) = crate::actions::oci::build_client(&oci.settings()).map_err(|e| {
        // Only a config that is not there calls for setting one up; the other errors say
        // their own fix.
        if e.no_config() {
            CliError::usage_help(
                e.to_string(),
                "set up ~/.oci/config (or --config-file/--profile); `drctl sim init DIR` writes one for the simulator",
            )
        } else {
            CliError::usage(e.to_string())
        }
    })?;
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| CliError::usage(format!("`{}` is not an HTTP method", args.method)))?;
    let service = Service::parse(&args.service).map_err(|e| CliError::usage(e.to_string()))?;
    let region = match &args.region {
        Some(region) => region.clone(),
        // With `--endpoint`, the region only names the request.
        None if args.endpoint.is_some() => home.region.clone(),
        None => {
            home.usable().map_err(|e| CliError::usage_help(e.to_owned(), "fix it there, or give --region"))?.to_owned()
        }
    };
    let (path, query) = match args.path.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (args.path.clone(), None),
    };
    // An invoke runs the function's code: a retry could run it twice, so there is none, as
    // in Oracle's SDK and the `oci.functions.invoke` action.
    let invoke = method == Method::POST && path.trim_end_matches('/').ends_with("/actions/invoke");
    let mut request = OciRequest::new(method, service, region, path);
    if invoke {
        request = request.retry_policy(crate::oci::RetryPolicy::none());
    }
    if let Some(query) = query {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            request = request.query(k.into_owned(), v.into_owned());
        }
    }
    if let Some(file) = &args.body {
        let text = crate::input::read_text(file)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
        let body: Value =
            serde_json::from_str(&text).map_err(|e| CliError::usage(format!("{} is not JSON: {e}", file.display())))?;
        request = request.json(&body).map_err(|e| CliError::usage(e.to_string()))?;
    }
    if let Some(url) = &args.endpoint {
        let url = reqwest::Url::parse(url).map_err(|e| CliError::usage(format!("--endpoint {url}: {e}")))?;
        request = request.endpoint(url);
    }
    // Without -q, each retry is said as it happens: a call may wait minutes on a region that
    // throttles or does not answer.
    let tally = if quiet { crate::call_retries::Tally::default() } else { crate::call_retries::Tally::announcing() };
    match tally.scope(client.send(request)).await {
        Ok(response) => {
            match response.json::<Value>() {
                Ok(Value::Null) => {}
                Ok(json) => crate::outln!("{}", serde_json::to_string_pretty(&json).unwrap_or_default()),
                // Not JSON (an object's content, a text answer): written as it came.
                Err(_) => {
                    use std::io::Write as _;
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&response.body).and_then(|()| out.flush());
                }
            }
            crate::errln!("{} (opc-request-id {})", response.status, response.request_id);
            Ok(Exit::Success)
        }
        // A request drctl cannot even make (a method OCI does not sign, a region with no
        // endpoint) is a usage error, like a bad service name.
        Err(e @ (ClientError::Sign { .. } | ClientError::Endpoint(_))) => Err(CliError::usage(e.to_string())),
        // The error's text already carries the service's code, the opc-request-id and help.
        Err(e) => Err(CliError::failed(e.to_string())),
    }
}
