//! `drctl run --sim`: the run talks to a simulator served from inside the drctl process.
//!
//! The simulator lives in a directory (default `<state dir>/sim`): its key pair and OCI
//! config, and its state file, which is saved as it changes and loaded at the next start. So a
//! run interrupted by Ctrl-C or a crash resumes against the same simulated regions, and
//! `drctl resume` starts it again by itself (the run's meta names the directory). Only the
//! endpoint table and the OCI config differ from a run against OCI: every action, client and
//! signature is the production one.

use std::path::{Path, PathBuf};

use crate::actions::oci::OciSettings;
use crate::sim::cli::{launch, ServeArgs};

use super::{CliError, OciArgs};

use crate::sim::setup::{PORT_BASE, STATE};

/// A simulator serving for the length of one drive.
pub struct EmbeddedSim {
    serving: Serving,
    pub dir: PathBuf,
    pub settings: OciSettings,
}

/// The simulator's own thread and runtime. The engine drives a run from one thread (see
/// `main`); the simulator answers from its own, as it would from its own process, so neither
/// waits for the other's work.
struct Serving {
    stop: tokio::sync::oneshot::Sender<()>,
    stopped: tokio::sync::oneshot::Receiver<()>,
}

/// What the caller learns of a simulator that started.
struct Started {
    /// Each region's base URL, by region.
    endpoints: Vec<(String, String)>,
    seeded: Option<crate::sim::seed::SeedReport>,
}

/// Launches the simulator of `args` on a thread of its own, with a runtime of its own, and
/// waits until it serves (or failed to start).
async fn serve_apart(args: ServeArgs) -> Result<(Started, Serving), crate::sim::SimError> {
    use tokio::sync::oneshot;
    let (ready_tx, ready_rx) = oneshot::channel::<Result<Started, crate::sim::SimError>>();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let (stopped_tx, stopped) = oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("drctl-sim")
        .enable_all()
        .build()
        .map_err(crate::sim::SimError::Thread)?;
    let body = move || {
        runtime.block_on(async move {
            match launch(&args).await {
                Ok(launched) => {
                    let started = Started {
                        endpoints: launched.running.endpoints.clone().into_iter().collect(),
                        seeded: launched.seeded.clone(),
                    };
                    let _ = ready_tx.send(Ok(started));
                    // Serves until told to stop, or until the drive that started it is gone.
                    let _ = stop_rx.await;
                    launched.stop().await;
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        });
        let _ = stopped_tx.send(());
    };
    std::thread::Builder::new().name("drctl-sim".into()).spawn(body).map_err(crate::sim::SimError::Thread)?;
    let started = ready_rx
        .await
        .map_err(|_| crate::sim::SimError::Thread(std::io::Error::other("it ended before it served")))??;
    Ok((started, Serving { stop, stopped }))
}

impl EmbeddedSim {
    /// Starts the simulator of `dir`, creating the directory and its identity on first use.
    /// `seed` (an inventory file) populates the source region of a fresh simulator; a
    /// simulator with saved state keeps it, so a second run sees the first one's work.
    pub async fn start(dir: &Path, seed: Option<&Path>, quiet: bool) -> Result<EmbeddedSim, CliError> {
        let fail = |e: &dyn std::fmt::Display| CliError::failed(format!("simulator in {}: {e}", dir.display()));
        if !dir.join(crate::sim::setup::SIM_JSON).exists() {
            crate::sim::setup::init(dir, "us-ashburn-1").map_err(|e| fail(&e))?;
        }
        let dir = dir.canonicalize().map_err(|e| fail(&e))?;
        let mut args = ServeArgs::for_dir(&dir);
        args.state = Some(dir.join(STATE));
        args.seed = seed.map(Path::to_path_buf);
        // Its registries want a login, as OCIR does: a password of this start's own, which
        // the run finds where it would find an OCIR login, in a docker config (the
        // simulator's, see `registry_login`).
        let login = ("drctl-sim".to_owned(), format!("{:032x}", rand::random::<u128>()));
        args.registry_auth = Some(login.clone());
        // The same ports every time: outputs recorded by a run (a function's invoke endpoint)
        // must still lead somewhere when the run is resumed.
        let ports = dir.join(PORT_BASE);
        let saved = std::fs::read_to_string(&ports).ok().and_then(|t| t.trim().parse::<u16>().ok());
        let mut launched = None;
        for attempt in 0..8 {
            // Below the kernel's range for outgoing connections (32768-60999 on Linux): a port
            // there can be held for a minute by a closed connection of any program, and the
            // directory's ports are kept for good.
            args.port_base = saved.unwrap_or_else(|| rand::random_range(10_000..30_000));
            match serve_apart(args.clone()).await {
                Ok(l) => {
                    launched = Some(l);
                    break;
                }
                Err(crate::sim::SimError::Bind { .. }) if saved.is_none() && attempt < 7 => continue,
                // The directory's ports are taken, by another program (no drctl serves the
                // directory: that would be `Busy`), or for a minute by a closed connection that
                // used one. Not a failed run, but one that cannot start here now (exit 2).
                Err(e @ crate::sim::SimError::Bind { .. }) => {
                    return Err(CliError::usage_help(
                        format!("simulator in {}: {e}", dir.display()),
                        "another program holds the port, or a connection closed a moment ago still does (it frees \
                         it within a minute): try again shortly; `ss -tanp` shows what holds it",
                    ))
                }
                Err(e @ crate::sim::SimError::Busy { .. }) => {
                    return Err(CliError::usage_help(
                        e.to_string(),
                        "another drctl serves this simulator directory (`drctl sim --dir` or a run in progress): \
                         stop it, or point at it with --endpoints DIR/endpoints.json --config-file DIR/config instead \
                         of --sim",
                    ))
                }
                // The state file of a `--sim` run is drctl's own, in the run's simulator directory:
                // no option names it, so the help names the file.
                Err(crate::sim::SimError::StateFile { detail, reading }) => {
                    let need = if reading {
                        "a file this user can read"
                    } else {
                        "a file this user can write, on a disk with room"
                    };
                    return Err(CliError::usage_help(
                        format!("simulator in {}: {detail}", dir.display()),
                        format!(
                            "the simulator keeps its resources in {}, which must be {need}: put that right, then run \
                             the same command again (nothing was recorded)",
                            dir.join(STATE).display()
                        ),
                    ));
                }
                // A seed file that is missing or wrong is bad input, like a bad params file.
                Err(e @ crate::sim::SimError::Seed { .. }) => {
                    return Err(CliError::usage(format!("simulator in {}: {e}", dir.display())))
                }
                Err(e) => return Err(fail(&e)),
            }
        }
        let (started, serving) = launched.ok_or_else(|| fail(&"no free ports"))?;
        if saved.is_none() {
            std::fs::write(&ports, format!("{}\n", args.port_base)).map_err(|e| fail(&e))?;
        }
        if let (Some(report), Some(seed), false) = (&started.seeded, seed, quiet) {
            if report.skipped {
                crate::errln!(
                    "simulator: reusing the state in {} (remove that directory to start from the seed again)",
                    dir.display()
                );
            } else {
                crate::errln!(
                    "simulator: {} serving {}; source seeded from {} ({} resources, {} images)",
                    dir.display(),
                    started.endpoints.iter().map(|(region, _)| region.as_str()).collect::<Vec<_>>().join(", "),
                    seed.display(),
                    report.resources(),
                    report.images.len()
                );
            }
        }
        let docker_config = registry_login(&dir, &started.endpoints, &login).map_err(|e| fail(&e))?;
        let settings = OciSettings {
            config_file: Some(dir.join(crate::sim::setup::CONFIG)),
            profile: None,
            endpoints_file: Some(dir.join(crate::sim::setup::ENDPOINTS)),
            retry: None,
            auth: Some(crate::oci::AuthKind::ApiKey),
            docker_config: Some(docker_config),
        };
        Ok(EmbeddedSim { serving, dir, settings })
    }

    /// The simulator a `--sim` run recorded in its meta, started again for a later command
    /// on that run (resume, cleanup), unless the operator names other endpoints.
    pub async fn of_run(recorded: Option<&str>, oci: &OciArgs) -> Result<Option<EmbeddedSim>, CliError> {
        match recorded {
            Some(dir) if oci.endpoints.is_none() => {
                // Started afresh, an empty simulator would stand in for the one the run changed:
                // refused, naming the directory.
                if !Path::new(dir).join(STATE).exists() {
                    return Err(CliError::usage_help(
                        format!(
                            "the run's simulator in {dir} is gone (no {STATE} there): what the run made in it is lost"
                        ),
                        "restore the directory, or start a new run with --sim (which seeds a new simulator)",
                    ));
                }
                Ok(Some(EmbeddedSim::start(Path::new(dir), None, true).await?))
            }
            _ => Ok(None),
        }
    }

    /// The OCI settings a command uses: the simulator's when one serves, else its own.
    pub fn settings_or(sim: Option<&EmbeddedSim>, oci: &OciArgs) -> OciSettings {
        sim.map_or_else(|| oci.settings(), |s| s.settings.clone())
    }

    /// Stops the listeners and writes the final state.
    pub async fn stop(self) {
        let Serving { stop, stopped } = self.serving;
        let _ = stop.send(());
        let _ = stopped.await;
    }
}

/// Writes the login to the simulator's registries (one per region, at the region's address)
/// as `docker login` would, into a docker config of the simulator's own (readable by its user
/// only); returns its path.
fn registry_login(dir: &Path, endpoints: &[(String, String)], login: &(String, String)) -> std::io::Result<PathBuf> {
    use base64::Engine as _;
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", login.0, login.1));
    let mut auths = serde_json::Map::new();
    for (_, base) in endpoints {
        // The registry's host as references name it: `host:port`, as the run's copies do.
        let url = url::Url::parse(base).map_err(std::io::Error::other)?;
        auths.insert(url.authority().to_owned(), serde_json::json!({ "auth": auth }));
    }
    let path = dir.join(DOCKER_CONFIG);
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
    file.write_all(serde_json::json!({ "auths": auths }).to_string().as_bytes())?;
    Ok(path)
}

/// The simulator's docker config, in its directory.
const DOCKER_CONFIG: &str = "registry-login.json";
