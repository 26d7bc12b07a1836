//! `drctl sim ...`: the command-line surface of the simulator. `drctl sim --dir DIR`
//! serves until SIGINT/SIGTERM; `init` prepares DIR; `fault` changes faults of a running
//! simulator and `dump` prints its resources, both through the admin listener named in
//! `DIR/admin.json`. Parsing and orchestration only; the work happens in the other modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::context::{Settings, Sim};
use super::errors::SimError;
use super::faults::{FaultCommand, OutageMode};
use super::setup::{self, SimIdentity};
use super::{admin, faults, server, state};

/// Regions served when no `--region` is given.
pub const DEFAULT_REGIONS: [&str; 3] = ["us-ashburn-1", "us-phoenix-1", "eu-frankfurt-1"];

/// `drctl sim`: run the OCI simulator, or manage one.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    #[command(subcommand)]
    pub command: Option<SimCommand>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Options of `drctl sim --dir DIR` (serve).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Directory made by `drctl sim init` (keys, config); endpoints.json and admin.json are written there.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Region to serve (repeatable); default us-ashburn-1, us-phoenix-1, eu-frankfurt-1.
    #[arg(long = "region")]
    pub regions: Vec<String>,
    /// First port; region i listens on port-base + i. 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    pub port_base: u16,
    /// Time a create or delete takes (CREATING→ACTIVE, work requests), e.g. 50ms, 2s.
    #[arg(long, default_value = "50ms", value_parser = humantime::parse_duration)]
    pub latency: Duration,
    /// YAML file of faults per region to start with.
    #[arg(long)]
    pub faults: Option<PathBuf>,
    /// State file: loaded at start, saved on change and at shutdown.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Override a service limit, NAME=N (e.g. functions-per-application=5); repeatable.
    #[arg(long = "limit", value_parser = parse_limit)]
    pub limits: Vec<(String, u64)>,
    /// The tenancy's home region (identity writes are accepted only there).
    #[arg(long, default_value = "us-ashburn-1")]
    pub home_region: String,
    /// Port of the admin listener (0 = any).
    #[arg(long, default_value_t = 0)]
    pub admin_port: u16,
    /// Require these basic credentials on the registry (`/v2/`), USER:PASSWORD.
    #[arg(long, value_name = "USER:PASSWORD", value_parser = parse_user_password)]
    pub registry_auth: Option<(String, String)>,
    /// Inventory file (drctl inventory format) whose resources and function images are
    /// created ACTIVE in its source region at start; the tenancy namespace becomes its namespace.
    #[arg(long, value_name = "INVENTORY.yaml")]
    pub seed: Option<PathBuf>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SimCommand {
    /// Create DIR with an API key pair, an OCI config file and sim.json.
    Init {
        dir: PathBuf,
        #[arg(long, default_value = "us-ashburn-1")]
        home_region: String,
    },
    /// Change the faults of a region of a running simulator.
    Fault {
        #[arg(long)]
        dir: PathBuf,
        region: String,
        #[command(subcommand)]
        action: FaultAction,
    },
    /// Print every resource of a running simulator as JSON.
    Dump {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Subcommand)]
pub enum FaultAction {
    /// Take the region down (refuse connections or answer 503) or bring it back.
    Outage {
        state: OnOff,
        #[arg(long, value_enum, default_value = "refuse")]
        mode: OutageMode,
    },
    /// Answer this fraction of requests with 429 TooManyRequests.
    Throttle {
        #[arg(value_parser = parse_rate)]
        rate: f64,
    },
    /// Answer this fraction of requests with 500 InternalServerError.
    Errors {
        #[arg(value_parser = parse_rate)]
        rate: f64,
    },
    /// Delay operations matching `METHOD /path` (`*` wildcards) by a duration or range (100ms..300ms).
    Latency { op: String, delay: String },
    /// Make this fraction of new work requests end FAILED.
    FailWorkRequests {
        #[arg(value_parser = parse_rate)]
        rate: f64,
    },
    /// Remove every fault of the region.
    Clear,
}

/// A fraction of requests: a number from 0 to 1.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("`{text}` is not a rate: give a number from 0 to 1, such as 0.2")),
    }
}

fn parse_user_password(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((u, p)) if !u.is_empty() && !p.is_empty() => Ok((u.to_string(), p.to_string())),
        _ => Err("expected USER:PASSWORD".into()),
    }
}

fn parse_limit(text: &str) -> Result<(String, u64), String> {
    let (name, n) = text.split_once('=').ok_or_else(|| format!("expected NAME=N, got `{text}`"))?;
    let name = name.trim();
    let known = super::services::limits::names();
    if !known.contains(&name) {
        let hint = crate::runbook::de::did_you_mean(name, known.iter().copied())
            .unwrap_or_else(|| format!("the limits: {}", known.join(", ")));
        return Err(format!("unknown limit `{name}`; {hint}"));
    }
    Ok((name.to_string(), n.trim().parse().map_err(|e| format!("`{n}`: {e}"))?))
}

/// Runs `drctl sim ...`.
pub async fn run_sim(args: SimArgs) -> Result<(), SimError> {
    match args.command {
        Some(SimCommand::Init { dir, home_region }) => {
            // A new key and tenancy would orphan the saved state and every config made for it.
            if dir.join(setup::SIM_JSON).exists() {
                return Err(SimError::Usage(format!(
                    "{} already holds a simulator (its key, tenancy and state); serve it with `drctl sim --dir {}`, \
                     or remove the directory to start afresh",
                    dir.display(),
                    dir.display()
                )));
            }
            let identity = setup::init(&dir, &home_region)?;
            crate::outln!("wrote {}/{{config,{},{},sim.json}}", dir.display(), setup::PRIVATE_KEY, setup::PUBLIC_KEY);
            crate::outln!(
                "tenancy {}\nuser    {}\nfingerprint {}",
                identity.tenancy,
                identity.user,
                identity.fingerprint
            );
            Ok(())
        }
        Some(SimCommand::Fault { dir, region, action }) => {
            let command = match action {
                FaultAction::Outage { state, mode } => FaultCommand::Outage { on: state == OnOff::On, mode },
                FaultAction::Throttle { rate } => FaultCommand::Throttle { rate },
                FaultAction::Errors { rate } => FaultCommand::Errors { rate },
                FaultAction::Latency { op, delay } => FaultCommand::Latency { op, delay },
                FaultAction::FailWorkRequests { rate } => FaultCommand::FailWorkRequests { rate },
                FaultAction::Clear => FaultCommand::Clear,
            };
            let region = served_region(&dir, &region)?;
            let result =
                admin_call(&dir, reqwest::Method::POST, &format!("/faults/{region}"), Some(json!(command))).await?;
            print_json(&result);
            Ok(())
        }
        Some(SimCommand::Dump { dir, region }) => {
            let path = match region {
                Some(r) => format!("/dump?region={}", served_region(&dir, &r)?),
                None => "/dump".into(),
            };
            let result = admin_call(&dir, reqwest::Method::GET, &path, None).await?;
            print_json(&result);
            Ok(())
        }
        None => serve(with_dir_defaults(args.serve)).await,
    }
}

/// What a directory that a `run --sim` served holds, taken unless the options say otherwise:
/// its state file (else the simulator would start empty, and a dump would read as "the
/// failover created nothing") and its ports (else endpoints the run recorded lead nowhere).
fn with_dir_defaults(mut args: ServeArgs) -> ServeArgs {
    let Some(dir) = args.dir.clone() else { return args };
    if args.state.is_none() && dir.join(setup::STATE).exists() {
        args.state = Some(dir.join(setup::STATE));
        crate::outln!("state            {} (found there; --state FILE for another)", dir.join(setup::STATE).display());
    }
    if args.port_base == 0 {
        let saved = std::fs::read_to_string(dir.join(setup::PORT_BASE)).ok();
        if let Some(base) = saved.and_then(|t| t.trim().parse::<u16>().ok()) {
            args.port_base = base;
        }
    }
    args
}

/// The region id a fault or dump names (an id, or a key such as `phx`), checked against the
/// regions the simulator on `dir` serves, as its endpoints file lists them.
fn served_region(dir: &Path, region: &str) -> Result<String, SimError> {
    let region = crate::oci::canonical_region(region);
    let served: Option<BTreeMap<String, Value>> =
        std::fs::read_to_string(dir.join(setup::ENDPOINTS)).ok().and_then(|text| serde_json::from_str(&text).ok());
    if let Some(served) = served.filter(|s| !s.contains_key(&region)) {
        let names: Vec<&str> = served.keys().map(String::as_str).collect();
        return Err(SimError::Usage(format!(
            "the simulator in {} serves no region `{region}`; it serves {}",
            dir.display(),
            names.join(", ")
        )));
    }
    Ok(region)
}

/// Prints a JSON answer; a reader that went away (`| head`) ends the output quietly.
fn print_json(value: &Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if serde_json::to_writer_pretty(&mut out, value).is_ok() {
        let _ = writeln!(out);
    }
}

/// Calls the admin listener of the simulator running on `dir`.
async fn admin_call(dir: &Path, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, SimError> {
    let admin_file = dir.join(setup::ADMIN);
    let text = std::fs::read_to_string(&admin_file).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => SimError::Usage(format!(
            "no simulator is running on {}: start it with `drctl sim --dir {}` (it writes {})",
            dir.display(),
            dir.display(),
            setup::ADMIN
        )),
        _ => SimError::Read { path: admin_file.clone(), source },
    })?;
    let info: Value =
        serde_json::from_str(&text).map_err(|e| SimError::Parse { path: admin_file.clone(), detail: e.to_string() })?;
    let base = info.get("url").and_then(Value::as_str).unwrap_or_default().to_string();
    let url = format!("{base}{path}");
    let admin_err = |detail: String| SimError::Admin { url: url.clone(), detail };
    let mut req = reqwest::Client::new().request(method, &url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let response = req.send().await.map_err(|e| {
        admin_err(format!(
            "{} (is the simulator still running? start it with `drctl sim --dir {}`)",
            crate::causes::with_causes(&e.without_url()),
            dir.display()
        ))
    })?;
    let status = response.status();
    let value: Value = response.json().await.map_err(|e| admin_err(e.to_string()))?;
    // The listener answered: a refusal is about the request (a bad fault, an unknown region).
    if status.is_client_error() {
        let why = value.get("message").and_then(Value::as_str).map_or_else(|| value.to_string(), str::to_owned);
        return Err(SimError::Usage(why));
    }
    if !status.is_success() {
        return Err(admin_err(format!("{status}: {value}")));
    }
    Ok(value)
}

/// Builds the simulator from serve options (keys from `DIR/sim.json`).
pub fn build(args: &ServeArgs, identity: &SimIdentity) -> Result<Arc<Sim>, SimError> {
    let regions: Vec<String> = if args.regions.is_empty() {
        DEFAULT_REGIONS.iter().map(|r| r.to_string()).collect()
    } else {
        args.regions.clone()
    };
    for r in &regions {
        if crate::oci::regions::find_region(r).is_none() {
            return Err(SimError::UnknownRegion { region: r.clone() });
        }
    }
    if !regions.contains(&args.home_region) {
        return Err(SimError::Usage(format!("the home region {} must be one of the served regions", args.home_region)));
    }
    let settings = Settings {
        regions,
        home_region: args.home_region.clone(),
        latency: args.latency,
        tenancy: identity.tenancy.clone(),
        namespace: identity.namespace.clone(),
        limits: args.limits.iter().cloned().collect::<BTreeMap<_, _>>(),
        registry_auth: args.registry_auth.clone(),
    };
    // A state file that cannot be read is the operator's to fix, like a bad option (exit 2).
    let store = match &args.state {
        Some(path) => state::load(path).map_err(|e| SimError::StateFile { detail: e.to_string(), reading: true })?,
        None => Default::default(),
    };
    let sim = Sim::new(settings, identity.keyring()?, store);
    if let Some(path) = &args.faults {
        for (region, f) in faults::load_file(path)? {
            if !sim.settings.regions.contains(&region) {
                return Err(SimError::Usage(format!(
                    "faults file {}: region `{region}` is not served (served: {}); add --region {region}, or remove \
                     its entry",
                    path.display(),
                    sim.settings.regions.join(", ")
                )));
            }
            sim.faults.set(&region, f)?;
        }
    }
    Ok(sim)
}

/// A simulator serving a directory: listeners, admin listener and state saver running,
/// `endpoints.json` and `admin.json` written.
#[derive(Debug)]
pub struct Launched {
    pub running: server::RunningSim,
    pub admin_url: String,
    /// What `--seed` created, when given.
    pub seeded: Option<super::seed::SeedReport>,
    saver: Option<tokio::task::JoinHandle<()>>,
    /// Held while this simulator serves its directory (see [`ServingLock`]).
    _serving: ServingLock,
}

/// The lock that makes one simulator at a time serve a directory: an `flock` on
/// `DIR/serving.lock`, which the kernel releases when the process ends, however it ends. The
/// file names the holder's pid for the message a second one gets.
#[derive(Debug)]
struct ServingLock {
    _file: std::fs::File,
}

impl ServingLock {
    fn take(dir: &Path) -> Result<ServingLock, SimError> {
        use std::io::{Read, Seek, Write};
        use std::os::fd::AsRawFd;
        let path = dir.join("serving.lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| SimError::Write { path: path.clone(), source })?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "another process".to_owned(),
                pid => format!("pid {pid}"),
            };
            return Err(SimError::Busy { dir: dir.to_path_buf(), holder });
        }
        let written =
            file.set_len(0).and_then(|()| file.rewind()).and_then(|()| writeln!(file, "{}", std::process::id()));
        written.map_err(|source| SimError::Write { path, source })?;
        Ok(ServingLock { _file: file })
    }
}

impl Launched {
    /// Stops the listeners, then lets the state saver write its final snapshot.
    pub async fn stop(self) {
        self.running.shutdown().await;
        if let Some(task) = self.saver {
            let _ = task.await;
        }
    }
}

/// Starts everything `drctl sim --dir DIR` runs, without waiting for a signal (tests use
/// this to run the real thing in-process).
pub async fn launch(args: &ServeArgs) -> Result<Launched, SimError> {
    let dir = args
        .dir
        .clone()
        .ok_or_else(|| SimError::Usage("`drctl sim` needs --dir DIR (made by `drctl sim init DIR`)".into()))?;
    let mut identity = SimIdentity::read(&dir)?;
    let serving = ServingLock::take(&dir)?;
    let inventory = match &args.seed {
        Some(path) => {
            let inventory = crate::inventory::load(path)
                .map_err(|e| SimError::Seed { path: path.clone(), detail: e.to_string() })?;
            // The seeded tenancy's namespace is the captured one, so image names stay valid;
            // it is kept in sim.json so later starts from the state file agree.
            if identity.namespace != inventory.source.namespace {
                identity.namespace = inventory.source.namespace.clone();
                state::write_json_atomic(&dir.join(setup::SIM_JSON), &identity)?;
            }
            Some((path, inventory))
        }
        None => None,
    };
    let sim = build(args, &identity)?;
    let running = server::start(sim.clone(), args.port_base).await?;
    let seeded = match &inventory {
        Some((path, inventory)) => {
            let base = path.parent().unwrap_or_else(|| Path::new("."));
            let report = super::seed::seed(&sim, inventory, base)
                .map_err(|e| SimError::Seed { path: path.to_path_buf(), detail: e.to_string() });
            match report {
                Ok(r) => Some(r),
                Err(e) => {
                    running.shutdown().await;
                    return Err(e);
                }
            }
        }
        None => None,
    };
    // The state is on disk before anyone is told the simulator serves: a run killed in its
    // first moments resumes against the same (seeded) world, and a state file that cannot be
    // written is found now, not after a drill whose world it then lost.
    if let Some(path) = &args.state {
        let written = state::write_json_atomic(path, &*sim.store());
        if let Err(e) = written {
            running.shutdown().await;
            return Err(SimError::StateFile { detail: e.to_string(), reading: false });
        }
    }
    let shutdown = running.shutdown_token();
    let admin_url = admin::start(sim.clone(), args.admin_port, shutdown.clone()).await?;
    let saver = args.state.clone().map(|path| {
        sim.keep_saved();
        tokio::spawn(state::saver(sim.clone(), path, shutdown.clone()))
    });
    state::write_json_atomic(&dir.join(setup::ADMIN), &json!({ "url": admin_url }))?;
    // Written last: its appearance tells waiting clients that every listener accepts.
    state::write_json_atomic(&dir.join(setup::ENDPOINTS), &running.endpoints)?;
    Ok(Launched { running, admin_url, seeded, saver, _serving: serving })
}

impl ServeArgs {
    /// Defaults for serving `dir` (what `drctl sim --dir DIR` uses).
    pub fn for_dir(dir: &Path) -> ServeArgs {
        ServeArgs {
            dir: Some(dir.to_path_buf()),
            regions: Vec::new(),
            port_base: 0,
            latency: Duration::from_millis(50),
            faults: None,
            state: None,
            limits: Vec::new(),
            home_region: "us-ashburn-1".into(),
            admin_port: 0,
            registry_auth: None,
            seed: None,
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), SimError> {
    let launched = launch(&args).await?;
    for (region, base) in &launched.running.endpoints {
        crate::outln!("{region:<16} {base}");
    }
    crate::outln!("admin            {}", launched.admin_url);
    if let Some(report) = &launched.seeded {
        if report.skipped {
            crate::outln!("seed             skipped: the inventory's compartment exists already (state file)");
        } else {
            crate::outln!("seed             {} resources, {} images", report.resources(), report.images.len());
        }
    }
    let token = launched.running.shutdown_token();
    wait_for_signal(&token).await;
    launched.stop().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM (or when `token` is cancelled elsewhere).
async fn wait_for_signal(token: &CancellationToken) {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
        _ = token.cancelled() => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_rate_is_a_number_from_0_to_1() {
        assert_eq!(super::parse_rate("0.2"), Ok(0.2));
        assert_eq!(super::parse_rate("1"), Ok(1.0));
        for bad in ["NaN", "inf", "-0.1", "1.5", "lots"] {
            assert!(super::parse_rate(bad).unwrap_err().contains("give a number from 0 to 1"), "{bad}");
        }
    }
}
