//! `registry.copy`: copies a container image between registries (every platform, by digest).
//!
//! `source` and `destination` are image references (`host/repo:tag`), or maps
//! `{ region, repository, tag }` whose registry host comes from the OCI endpoint table, so a
//! runbook can copy from `${{ params.source_region }}` to `${{ params.dest_region }}`; against
//! the simulator the same runbook reaches its local registries. Credentials: `source_credentials`
//! / `destination_credentials` as `user:password` (mark them secret), else the environment or the
//! docker config file.
//!
//! Outputs: `image` (where the bytes went), `reference` (the destination as functions name it:
//! the region's OCIR host for the map form), `digest`, `source_digest`, `existed` (the
//! destination held the image's manifest before, under some tag or none: the copy wrote no
//! manifest), `tag_written` (the copy put the destination tag on the image) with `tag_before`
//! (the digest that tag named before, or null), `children_written` (the digests of an index's
//! manifests the copy wrote), and transfer counts. A source
//! pinned by `digest` that the destination already serves under its tag is not read at all.

use std::str::FromStr;

use serde_json::{Map, Value};

use super::oci::OciSettings;
use super::{Action, ActionContext, ActionError, BoxFuture, Change, ErrorClass, InputProblem, Outputs, Refreshed};
use crate::oci::Endpoints;
use crate::registry::{
    copy_image, preview_copy, resolve_credentials, CopyOptions, CopyRequest, Credentials, DockerConfig, ImageRef,
};

const KEYS: &[&str] = &["source", "destination", "source_credentials", "destination_credentials", "jobs"];

pub struct RegistryCopy {
    settings: OciSettings,
}

impl RegistryCopy {
    pub fn new(settings: OciSettings) -> Self {
        Self { settings }
    }

    fn endpoints(&self) -> Result<Endpoints, ActionError> {
        self.settings.endpoints().map_err(|e| ActionError::input(e.to_string()))
    }

    /// An image reference, whether its registry speaks plain HTTP, and the name functions and
    /// people use for it: for `{ region, repository, tag }` the region's OCIR host
    /// (`phx.ocir.io/...`) even when the endpoint table sends the bytes elsewhere.
    fn image(
        &self,
        value: &Value,
        default_tag: Option<&str>,
        what: &str,
    ) -> Result<(ImageRef, bool, String), ActionError> {
        match value {
            Value::String(s) => {
                let (text, plain) = without_scheme(s);
                let image = ImageRef::from_str(text).map_err(|e| ActionError::input(format!("{what}: {e}")))?;
                Ok((image, plain, text.to_owned()))
            }
            Value::Object(map) => {
                let region = map
                    .get("region")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ActionError::input(format!("{what}: missing `region`")))?;
                let repository = map
                    .get("repository")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ActionError::input(format!("{what}: missing `repository`")))?;
                let url =
                    self.endpoints()?.registry_url(region).map_err(|e| ActionError::input(format!("{what}: {e}")))?;
                let host = match url.authority() {
                    "" => return Err(ActionError::input(format!("{what}: registry URL {url} has no host"))),
                    host => host.to_owned(),
                };
                // An empty tag or digest (an inventory that recorded none) is as if not given.
                let tag = map.get("tag").and_then(Value::as_str).filter(|t| !t.is_empty()).or(default_tag);
                let digest = map.get("digest").and_then(Value::as_str).filter(|d| !d.is_empty());
                let text = match (digest, tag) {
                    (Some(d), _) => format!("{host}/{repository}@{d}"),
                    (None, Some(t)) => format!("{host}/{repository}:{t}"),
                    (None, None) => format!("{host}/{repository}"),
                };
                let image = ImageRef::from_str(&text).map_err(|e| ActionError::input(format!("{what}: {e}")))?;
                let ocir = crate::oci::ocir_host(region).unwrap_or(host);
                let canonical = match (digest, tag) {
                    (_, Some(t)) => format!("{ocir}/{repository}:{t}"),
                    (Some(d), None) => format!("{ocir}/{repository}@{d}"),
                    (None, None) => format!("{ocir}/{repository}"),
                };
                Ok((image, url.scheme() == "http", canonical))
            }
            _ => Err(ActionError::input(format!("{what} must be an image reference or {{ region, repository, tag }}"))),
        }
    }
}

/// The keys of the `{ region, repository, tag, digest }` form.
const IMAGE_KEYS: &[&str] = &["region", "repository", "tag", "digest"];

/// A reference written with `http://` before the host names a registry that speaks plain
/// HTTP (a local one); `https://` is the default said out loud. The reference without it.
fn without_scheme(text: &str) -> (&str, bool) {
    match text.strip_prefix("http://") {
        Some(rest) => (rest, true),
        None => (text.strip_prefix("https://").unwrap_or(text), false),
    }
}

fn literal(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.contains("${{"))
}

/// What `validate` can tell of an image input written without expressions: a reference that
/// does not parse, a map with a key it does not take or without `region` and `repository`,
/// a digest that is not one.
fn check_image(key: &str, value: &Value) -> Vec<InputProblem> {
    let form = format!("write `{key}: host/repository:tag` or `{key}: {{ region, repository, tag }}`");
    match value {
        Value::String(_) => {
            let Some(text) = literal(value) else { return Vec::new() };
            match ImageRef::from_str(without_scheme(text).0) {
                Ok(_) => Vec::new(),
                Err(e) => vec![InputProblem::new(key, format!("{key}: {e}"))
                    .with_help(format!("{form}; put `http://` before the host of a registry that speaks plain HTTP"))],
            }
        }
        Value::Object(map) => {
            let mut problems: Vec<InputProblem> = super::unknown_keys(map, IMAGE_KEYS)
                .into_iter()
                .map(|p| {
                    InputProblem::new(key, format!("{key}: {}", p.message))
                        .with_help(p.help.unwrap_or_default())
                        .at_inner(p.key)
                })
                .collect();
            for required in ["region", "repository"] {
                if !map.contains_key(required) {
                    problems
                        .push(InputProblem::new(key, format!("{key}: missing `{required}`")).with_help(form.clone()));
                }
            }
            // Null, like empty text, is as if not given.
            for (field, inner) in map.iter().filter(|(k, _)| IMAGE_KEYS.contains(&k.as_str())) {
                if !inner.is_string() && !inner.is_null() {
                    problems.push(
                        InputProblem::new(
                            key,
                            format!("{key}.{field} must be a string, not {}", crate::runbook::expr::type_name(inner)),
                        )
                        .with_help(format!("quote the value: `{field}: \"...\"`"))
                        .at_inner(field.clone()),
                    );
                }
            }
            if let Some(digest) = map.get("digest").and_then(literal).filter(|d| !d.is_empty()) {
                if let Err(e) = crate::registry::Digest::parse(digest) {
                    problems.push(
                        InputProblem::new(key, format!("{key}.digest: {e}"))
                            .with_help("write `sha256:` and 64 lower-case hex digits, or leave `digest` out")
                            .at_inner("digest"),
                    );
                }
            }
            problems
        }
        Value::Null => vec![InputProblem::new(key, format!("`{key}` has no value")).with_help(form)],
        other => vec![InputProblem::new(
            key,
            format!(
                "{key} must be an image reference or {{ region, repository, tag }}, not {}",
                crate::runbook::expr::type_name(other)
            ),
        )
        .with_help(form)],
    }
}

fn credentials(with: &Value, key: &str, host: &str, docker: &DockerConfig) -> Result<Option<Credentials>, ActionError> {
    let explicit = match with.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(text) => Some(Credentials::from_str(text).map_err(|e| ActionError::input(format!("{key}: {e}")))?),
        None => None,
    };
    Ok(resolve_credentials(host, explicit, docker))
}

impl Action for RegistryCopy {
    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = super::unknown_keys(with, KEYS);
        for key in ["source", "destination"] {
            match with.get(key) {
                None => {
                    problems.push(InputProblem::new("", format!("missing input `{key}`")).with_help(format!(
                        "give `{key}: host/repository:tag` or `{key}: {{ region, repository, tag }}`"
                    )))
                }
                Some(value) => problems.extend(check_image(key, value)),
            }
        }
        problems
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let (request, reference, plain_http) = self.request(&with)?;
            let cancel = ctx.cancel.clone();
            let report = on_own_task("image copy", move || copy_image(request, cancel)).await?;
            ctx.log.line(&format!(
                "copied {} -> {}: {} blobs copied, {} skipped, {} mounted, {} bytes",
                report.source,
                report.destination,
                report.blobs_copied,
                report.blobs_skipped,
                report.blobs_mounted,
                report.bytes_moved
            ));
            let mut outputs = Outputs::new();
            outputs.insert("image".into(), Value::String(report.destination.clone()));
            outputs.insert("reference".into(), Value::String(reference));
            outputs.insert("source_digest".into(), Value::String(report.source_digest.to_string()));
            outputs.insert("digest".into(), Value::String(report.destination_digest.clone()));
            outputs.insert("bytes_moved".into(), Value::from(report.bytes_moved));
            outputs.insert("blobs_copied".into(), Value::from(report.blobs_copied));
            outputs.insert("blobs_skipped".into(), Value::from(report.blobs_skipped));
            outputs.insert("blobs_mounted".into(), Value::from(report.blobs_mounted));
            // Whether the destination had the image before: `drctl cleanup` of a drill deletes
            // only what the copy wrote, and must know how to reach the registry again.
            outputs.insert("existed".into(), Value::Bool(report.existed));
            outputs.insert("tag_written".into(), Value::Bool(report.tag_written));
            outputs.insert("tag_before".into(), report.tag_before.clone().map_or(Value::Null, Value::String));
            // The platform manifests of an index that the copy wrote: cleanup deletes them after
            // the index (deleting an index leaves its children).
            let children: Vec<Value> = report
                .manifests
                .iter()
                .rev()
                .skip(1)
                .filter(|m| m.pushed)
                .map(|m| Value::String(m.digest.to_string()))
                .collect();
            outputs.insert("children_written".into(), Value::Array(children));
            outputs.insert("plain_http".into(), Value::Bool(plain_http));
            Ok(outputs)
        })
    }

    /// Asks the registries what a copy would move: nothing when the destination serves the
    /// image's digest under the tag. A source pinned by digest is not read (as in the copy
    /// itself), so a preview works while the source region is down. The outputs a function
    /// needs (`reference`, `digest`) are known either way, so `plan --refresh` can preview
    /// the functions that use this image.
    fn refresh<'a>(
        &'a self,
        ctx: &'a ActionContext,
        with: Value,
    ) -> Option<BoxFuture<'a, Result<Refreshed, ActionError>>> {
        Some(Box::pin(async move {
            let (request, reference, plain_http) = self.request(&with)?;
            let destination = request.destination.to_string();
            let cancel = ctx.cancel.clone();
            let preview =
                on_own_task("image copy preview", move || async move { preview_copy(&request, cancel).await }).await?;
            let mut outputs = Outputs::new();
            outputs.insert("image".into(), Value::String(destination));
            outputs.insert("reference".into(), Value::String(reference));
            outputs.insert("source_digest".into(), Value::String(preview.digest.to_string()));
            // Manifests are pushed with the source's exact bytes, so the digest carries over.
            outputs.insert("digest".into(), Value::String(preview.digest.to_string()));
            outputs.insert("existed".into(), Value::Bool(preview.present));
            outputs.insert("plain_http".into(), Value::Bool(plain_http));
            let change = if preview.present { Change::NoChange } else { Change::Create };
            Ok(Refreshed { change, outputs })
        }))
    }
}

impl RegistryCopy {
    /// The copy the task's inputs ask for, the destination as functions name it, and
    /// whether the destination registry speaks plain HTTP.
    fn request(&self, with: &Value) -> Result<(CopyRequest, String, bool), ActionError> {
        let (source, plain_src, _) = self.image(with.get("source").unwrap_or(&Value::Null), None, "source")?;
        let (destination, plain_dst, reference) =
            self.image(with.get("destination").unwrap_or(&Value::Null), source.tag.as_deref(), "destination")?;
        let docker = DockerConfig::load_from(self.settings.docker_config.as_deref())
            .map_err(|e| ActionError::input(e.to_string()))?;
        // Each side as its reference says: an `http://` mirror may feed an HTTPS registry.
        let plain_hosts = crate::registry::plain_sides((plain_src, &source), (plain_dst, &destination));
        let mut options = CopyOptions { plain_http_hosts: plain_hosts, ..CopyOptions::default() };
        if let Some(jobs) = with.get("jobs").and_then(Value::as_u64) {
            options.concurrency = (jobs as usize).max(1);
        }
        let request = CopyRequest {
            source_credentials: credentials(with, "source_credentials", &source.registry, &docker)?,
            destination_credentials: credentials(with, "destination_credentials", &destination.registry, &docker)?,
            source,
            destination,
            options,
        };
        // What cleanup needs to reach the destination again.
        Ok((request, reference, plain_dst))
    }
}

/// The class `retry_on` matches a registry error by: the registry's HTTP status where it
/// answered with one, `network` where no answer came or a transfer broke off, `input` for a
/// reference or credentials that cannot work, and `other` for content that is wrong.
fn error_class(e: &crate::registry::RegistryError) -> ErrorClass {
    use crate::registry::RegistryError as E;
    match e {
        E::Http { status, .. } => ErrorClass::HttpStatus(*status),
        E::UploadFailed { last, .. } => error_class(last),
        E::Transport { .. } | E::Stalled { .. } | E::SourceBroken { .. } => ErrorClass::Network,
        E::InvalidReference { .. } | E::DigestConflict { .. } | E::InvalidDigest { .. } | E::Credentials { .. } => {
            ErrorClass::Input
        }
        _ => ErrorClass::Other,
    }
}

/// Runs a registry operation as its own task: the copy's future holds borrows that the
/// compiler cannot prove `Send` for every lifetime when it is nested in another boxed future,
/// so it gets its own. `what` names it if the task itself fails.
async fn on_own_task<T, F, Fut>(what: &str, work: F) -> Result<T, ActionError>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, crate::registry::RegistryError>>,
{
    let handle = tokio::runtime::Handle::current();
    let tally = crate::call_retries::Tally::current().unwrap_or_default();
    match tokio::task::spawn_blocking(move || handle.block_on(tally.scope(work()))).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            let mut err = ActionError::new(error_class(&e), e.describe());
            err.retryable = e.is_transient();
            Err(err)
        }
        Err(e) => Err(ActionError::new(ErrorClass::Other, format!("{what} stopped: {e}"))),
    }
}
