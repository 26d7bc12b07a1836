//! `drctl image copy`: argument definitions and the printed summary. Credentials are resolved
//! here (flag, then environment, then docker config) and handed to the library; this module
//! never prints them and its argument struct has no `Debug` that could.

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::copy::{copy_image, held_at_destination, plan_copy, CopyOptions, CopyReport, CopyRequest};
use super::credentials::{resolve_credentials, Credentials, DockerConfig};
use super::error::RegistryError;
use super::plan::{BlobAction, CopyPlan};
use super::reference::ImageRef;
use super::UploadMode;

/// Copy an image (all platforms) between registries, by digest.
#[derive(clap::Args)]
pub struct ImageCopyArgs {
    /// Source image: `host[:port]/repo/path:tag` or `host[:port]/repo/path@sha256:…`.
    pub source: ImageRef,
    /// Destination image: `host[:port]/repo/path[:tag]` (default tag `latest`).
    pub destination: ImageRef,
    /// Use http:// instead of https:// for both registries.
    #[arg(long)]
    pub plain_http: bool,
    /// Use http:// for the source registry alone (a local mirror feeding an HTTPS registry).
    #[arg(long)]
    pub src_plain_http: bool,
    /// Use http:// for the destination registry alone.
    #[arg(long)]
    pub dest_plain_http: bool,
    /// Source credentials `USER:PASSWORD` (default: DRCTL_REGISTRY_USER/PASSWORD, then docker config).
    #[arg(long, value_name = "USER:PASSWORD", env = "DRCTL_SRC_CREDS", hide_env_values = true)]
    pub src_creds: Option<Credentials>,
    /// Destination credentials `USER:PASSWORD` (same fallbacks as --src-creds).
    #[arg(long, value_name = "USER:PASSWORD", env = "DRCTL_DEST_CREDS", hide_env_values = true)]
    pub dest_creds: Option<Credentials>,
    /// Docker config file to read `auths` from (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json).
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
    /// Blobs transferred in parallel.
    #[arg(long, short = 'j', default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Retries per request and per blob after a transient failure.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Abandon and retry a blob transfer that moves no byte for this long (e.g. `60s`, `2m`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = stall_timeout)]
    pub stall_timeout: std::time::Duration,
    /// How blob bytes are uploaded.
    #[arg(long, value_enum, default_value_t = UploadMode::Monolithic)]
    pub upload_mode: UploadMode,
    /// Only show what would be copied.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report (or plan) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A stall timeout: a duration of at least a second (a shorter one abandons every transfer).
fn stall_timeout(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| format!("{e} (write it like `60s` or `2m`)"))?;
    if d < std::time::Duration::from_secs(1) {
        return Err("must be at least 1s: a shorter one abandons every transfer before its first bytes".into());
    }
    Ok(d)
}

impl ImageCopyArgs {
    /// Resolves credentials and builds the library request.
    pub fn into_request(self) -> Result<CopyRequest, RegistryError> {
        let docker = DockerConfig::load_from(self.authfile.as_deref())?;
        let plain_http_hosts =
            super::copy::plain_sides((self.src_plain_http, &self.source), (self.dest_plain_http, &self.destination));
        Ok(CopyRequest {
            source_credentials: resolve_credentials(&self.source.registry, self.src_creds, &docker),
            destination_credentials: resolve_credentials(&self.destination.registry, self.dest_creds, &docker),
            source: self.source,
            destination: self.destination,
            options: CopyOptions {
                plain_http: self.plain_http,
                plain_http_hosts,
                concurrency: usize::from(self.jobs),
                retries: self.retries,
                upload_mode: self.upload_mode,
                stall_timeout: self.stall_timeout,
            },
        })
    }
}

/// Runs `drctl image copy`: copies (or plans, with `--dry-run`) and prints the outcome.
/// Ctrl-C, SIGTERM and SIGHUP cancel in-flight transfers (the copy ends with
/// [`RegistryError::Cancelled`]; run again, it copies only what is missing).
pub async fn run_image_copy(args: ImageCopyArgs, quiet: bool) -> Result<(), RegistryError> {
    use tokio::signal::unix::{signal, SignalKind};
    let (dry_run, json) = (args.dry_run, args.json);
    let req = args.into_request()?;
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    let mut streams: Vec<_> = [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()]
        .into_iter()
        .filter_map(|kind| signal(kind).ok())
        .collect();
    let watcher = tokio::spawn(async move {
        if !streams.is_empty() {
            futures::future::select_all(streams.iter_mut().map(|s| Box::pin(s.recv()))).await;
            on_signal.cancel();
        }
    });
    let result = if dry_run {
        // As the copy itself: a pinned source the destination holds is not read (it may be down).
        match held_at_destination(&req, cancel.clone()).await {
            Ok(Some(tag_written)) => {
                print_held(&req, tag_written, json);
                Ok(())
            }
            Ok(None) => plan_copy(&req, cancel).await.map(|p| print_plan(&p, json)),
            Err(e) => Err(e),
        }
    } else {
        // `-q`: a copy that succeeds says nothing (unless its JSON report was asked for).
        copy_image(req, cancel).await.map(|r| {
            if json || !quiet {
                print_report(&r, json)
            }
        })
    };
    watcher.abort();
    result
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn print_report(r: &CopyReport, json: bool) {
    if json {
        crate::outln!("{}", to_json(r));
        return;
    }
    let secs = r.elapsed.as_secs_f64();
    let pushed = r.manifests.iter().filter(|m| m.pushed).count();
    crate::outln!("Copied {} -> {}", r.source, r.destination);
    crate::outln!("  digest     {}", r.source_digest);
    crate::outln!(
        "  manifests  {} ({pushed} pushed, {} already present)",
        r.manifests.len(),
        r.manifests.len() - pushed
    );
    crate::outln!("  blobs      {} copied, {} skipped, {} mounted", r.blobs_copied, r.blobs_skipped, r.blobs_mounted);
    let rate = if secs > 0.0 { mib(r.bytes_moved) / secs } else { 0.0 };
    if r.upload_retries > 0 {
        crate::outln!("  retries    {} interrupted blob uploads resumed or restarted", r.upload_retries);
    }
    crate::outln!("  moved      {:.1} MiB in {secs:.2} s ({rate:.0} MiB/s)", mib(r.bytes_moved));
}

fn print_held(req: &CopyRequest, tag_written: bool, json: bool) {
    let digest = req.source.digest.as_ref().map(|d| d.to_string()).unwrap_or_default();
    if json {
        let held = serde_json::json!({
            "source": req.source.to_string(),
            "destination": req.destination.to_string(),
            "source_digest": digest,
            "held_at_destination": true,
            "tag_written": tag_written,
        });
        crate::outln!("{}", to_json(&held));
        return;
    }
    crate::outln!("Plan: {} -> {} ({digest})", req.source, req.destination);
    crate::outln!("  the destination holds {digest}: nothing is read from the source");
    match (&req.destination.tag, tag_written) {
        (Some(tag), true) => crate::outln!("  tag {tag} would be put on it"),
        (Some(tag), false) => crate::outln!("  tag {tag} names it already: nothing to do"),
        (None, _) => crate::outln!("  nothing to do"),
    }
}

fn print_plan(p: &CopyPlan, json: bool) {
    if json {
        crate::outln!("{}", to_json(p));
        return;
    }
    crate::outln!("Plan: {} -> {} ({})", p.source, p.destination, p.source_digest);
    for m in &p.manifests {
        let state = if m.present { "present" } else { "push" };
        let platform = m.platform.as_deref().unwrap_or("-");
        crate::outln!("  manifest {} {platform:<16} {state}", m.digest);
    }
    for b in &p.blobs {
        let action = match &b.action {
            BlobAction::Skip => "present".to_string(),
            BlobAction::Copy => "copy".to_string(),
            BlobAction::Mount { from } => format!("mount from {from}"),
            BlobAction::Foreign => "foreign (not copied)".to_string(),
        };
        crate::outln!("  blob     {} {:>10.1} MiB  {action}", b.digest, mib(b.size));
    }
    crate::outln!("  to copy: {:.1} MiB", mib(p.bytes_to_copy));
}
