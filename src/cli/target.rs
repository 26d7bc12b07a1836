//! The OCI target of a run that is not `--sim`: the config file, profile and endpoints it
//! started with, recorded in its metadata, and the tenancy they led to. `resume`, the operator
//! commands and `cleanup` use them when not told otherwise, so the commands drctl prints work
//! as printed, and refuse settings that lead to another tenancy: the run's resources are there.

use std::path::{Path, PathBuf};

use super::{CliError, OciArgs};
use crate::checkpoint::{OciTarget, RunMeta};
use crate::runbook::checked::Runbook;

/// Whether any task of the runbook talks to OCI through the profile.
fn uses_oci(runbook: &Runbook) -> bool {
    runbook.tasks.iter().any(|t| t.uses.starts_with("oci."))
}

/// `path` as an absolute path, for the run's record (relative ones would change meaning with
/// the directory a later command is typed in).
fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string()
}

/// What a run started with `given` records.
pub fn record(runbook: &Runbook, given: &OciArgs) -> OciTarget {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let config_file = crate::oci::config::resolve_config_path(given.config_file.as_deref(), env).ok();
    let profile = crate::oci::config::resolve_profile(given.profile.as_deref(), env);
    let tenancy = uses_oci(runbook)
        .then(|| crate::oci::load_config(config_file.as_deref(), Some(&profile)).ok())
        .flatten()
        .map(|c| c.tenancy);
    OciTarget {
        config_file: config_file.as_deref().map(absolute),
        profile: Some(profile),
        endpoints: given.endpoints.as_deref().map(absolute),
        tenancy,
    }
}

/// `--endpoints` as given on the command line: a `DRCTL_ENDPOINTS` left in the shell does not
/// move a run that recorded where it goes.
fn explicit_endpoints(given: &OciArgs) -> Option<PathBuf> {
    let from_env = std::env::var_os("DRCTL_ENDPOINTS").filter(|v| !v.is_empty()).map(PathBuf::from);
    given.endpoints.clone().filter(|e| from_env.as_ref() != Some(e))
}

/// The settings a later command on the run uses: each one given on the command line, else the
/// run's own (which come before `OCI_CONFIG_FILE`, `OCI_CLI_PROFILE` and `DRCTL_ENDPOINTS`). A
/// run with `--sim` keeps its simulator unless `--endpoints` names another.
pub fn for_run(meta: &RunMeta, given: &OciArgs) -> OciArgs {
    if meta.sim.is_some() {
        return OciArgs { endpoints: explicit_endpoints(given), ..given.clone() };
    }
    let Some(target) = &meta.oci else { return given.clone() };
    OciArgs {
        config_file: given.config_file.clone().or_else(|| target.config_file.as_ref().map(PathBuf::from)),
        profile: given.profile.clone().or_else(|| target.profile.clone()),
        endpoints: explicit_endpoints(given).or_else(|| target.endpoints.as_ref().map(PathBuf::from)),
    }
}

/// The run's recorded settings with those given on the command line in their place, once
/// they passed [`check`]: the commands drctl prints later (which carry no OCI flags) then go
/// where this one went. `None` when nothing changed.
pub fn updated(meta: &RunMeta, given: &OciArgs) -> Option<OciTarget> {
    let target = meta.oci.as_ref()?;
    let mut new = target.clone();
    if let Some(file) = &given.config_file {
        new.config_file = Some(absolute(file));
    }
    if let Some(profile) = &given.profile {
        new.profile = Some(profile.clone());
    }
    if let Some(endpoints) = explicit_endpoints(given) {
        new.endpoints = Some(absolute(&endpoints));
    }
    (new != *target).then_some(new)
}

/// Refuses settings whose profile belongs to another tenancy than the run's. A config that
/// does not read is left to the run's own check, which says what to fix.
pub fn check(meta: &RunMeta, runbook: &Runbook, settings: &OciArgs) -> Result<(), CliError> {
    let Some(target) = &meta.oci else { return Ok(()) };
    let Some(want) = target.tenancy.as_deref().filter(|_| uses_oci(runbook)) else { return Ok(()) };
    let Ok(config) = crate::oci::load_config(settings.config_file.as_deref(), settings.profile.as_deref()) else {
        return Ok(());
    };
    if config.tenancy == want {
        return Ok(());
    }
    let recorded = format!(
        "{} [{}]",
        target.config_file.as_deref().unwrap_or("~/.oci/config"),
        target.profile.as_deref().unwrap_or("DEFAULT")
    );
    let own = settings.config_file.as_deref().map(|f| f.display().to_string()) == target.config_file
        && settings.profile == target.profile;
    if own {
        return Err(CliError::usage_help(
            format!(
                "run {} works in tenancy {want}, but its own OCI settings, {recorded}, now name tenancy {} \
                 ({}:{}): the run's resources are in its own tenancy",
                meta.run_id,
                config.tenancy,
                config.path.display(),
                config.line_of("tenancy")
            ),
            format!("restore that profile, or give --config-file and --profile of tenancy {want}"),
        ));
    }
    Err(CliError::usage_help(
        format!(
            "run {} works in tenancy {want}, but {}:{} (profile [{}]) is for tenancy {}: the run's resources are in \
             its own tenancy",
            meta.run_id,
            config.path.display(),
            config.line_of("tenancy"),
            config.profile,
            config.tenancy
        ),
        format!(
            "leave out --config-file and --profile to use the run's own, {recorded} (the run's settings come before \
             OCI_CONFIG_FILE and OCI_CLI_PROFILE), or give a profile of tenancy {want}; for another tenancy, start a \
             new run"
        ),
    ))
}
