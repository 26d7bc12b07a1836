//! The run directory: `<state-dir>/runs/<run-id>/` with the runbook as run, its metadata, the
//! journal and the task logs.

use crate::runbook::checked::param_env_var;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::record::{Actor, Millis};
use super::{CheckpointError, Journal};

/// What a run was started with. Secret parameters are stored as `***`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMeta {
    pub run_id: String,
    pub runbook_name: String,
    /// Absolute path of the runbook file the run was started from.
    pub runbook_path: String,
    pub runbook_sha256: String,
    pub params: Map<String, Value>,
    /// Names of secret parameters, which must be supplied again on resume.
    pub secret_params: Vec<String>,
    pub created_at: Millis,
    pub actor: Actor,
    #[serde(default)]
    pub drill: bool,
    #[serde(default)]
    pub parallelism: Option<usize>,
    #[serde(default)]
    pub rto_ms: Option<u64>,
    pub drctl_version: String,
    /// The directory of the simulator a `--sim` run talks to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim: Option<String>,
    /// The `--params-file` the run started with: secrets are not stored, so a resume needs it
    /// again, and the commands drctl prints say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_file: Option<String>,
    /// Parameters given with `--param`, over the params file: the commands drctl prints with
    /// `--params-file` give them again, or the file's values would differ from the run's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flag_params: Vec<String>,
    /// The directory the run was started in: commands run there (or in their `dir` under it)
    /// on every segment, wherever `resume`, `approve` or `retry` is typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<String>,
    /// The OCI settings a run that is not `--sim` started with, for the commands after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci: Option<OciTarget>,
}

/// The OCI config file, profile and endpoints file a run started with (absolute paths), and
/// the tenancy of that profile when the runbook has OCI tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenancy: Option<String>,
}

/// A run's directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub id: String,
    pub path: PathBuf,
    /// Files written by [`RunDir::create`] and not yet synced: the journal writer syncs them
    /// before it writes its first record.
    unsynced: Vec<PathBuf>,
}

/// Refuses a state directory that a file stands in the way of (it or one of its parents).
pub fn check_state_dir(state_dir: &Path) -> Result<(), CheckpointError> {
    match state_dir.ancestors().find(|p| !p.as_os_str().is_empty() && p.exists() && !p.is_dir()) {
        Some(file) => Err(CheckpointError::StateDir {
            dir: state_dir.to_owned(),
            why: format!("{} is a file, not a directory", file.display()),
        }),
        None => Ok(()),
    }
}

/// Why runs cannot be kept under `state_dir`: a file in the way, or the system's reason.
fn state_dir_error(state_dir: &Path, e: &std::io::Error) -> CheckpointError {
    check_state_dir(state_dir)
        .err()
        .unwrap_or_else(|| CheckpointError::StateDir { dir: state_dir.to_owned(), why: e.to_string() })
}

/// A new run id: UTC date and time plus four random hex digits, sortable and easy to type.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    let compact: String = stamp.chars().filter(|c| c.is_ascii_digit()).collect();
    let (date, time) = compact.split_at(compact.len().min(8));
    format!("{date}-{time}-{:04x}", rand::random::<u16>())
}

impl RunDir {
    /// ` --state-dir D` for commands printed for the operator, empty for the default `.drctl`.
    pub fn state_dir_flag(&self) -> String {
        match self.path.parent().and_then(Path::parent) {
            // Absolute: the command may be typed in another directory, or another terminal.
            Some(dir) if dir != Path::new(".drctl") => {
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
                format!(" --state-dir {}", crate::ui::shell_word(&dir.display().to_string()))
            }
            _ => String::new(),
        }
    }

    /// What a command printed for a person to continue this run needs after the run id: the
    /// state directory when it is not the default, and the params file the run started with
    /// when that file gave it secrets (they are not stored).
    pub fn resume_flags(&self) -> String {
        let mut flags = self.state_dir_flag();
        if let Ok(meta) = self.meta() {
            let gave_secrets = meta
                .secret_params
                .iter()
                .any(|name| meta.params.get(name).and_then(serde_json::Value::as_str) == Some(crate::ui::redact::MASK));
            if let Some(file) = meta.params_file.as_deref().filter(|_| gave_secrets) {
                flags.push_str(&format!(" --params-file {}", crate::ui::shell_word(file)));
                for name in meta.flag_params.iter().filter(|n| !meta.secret_params.contains(n)) {
                    let Some(value) = meta.params.get(name) else { continue };
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    flags.push_str(&format!(" -p {}", crate::ui::shell_word(&format!("{name}={text}"))));
                }
            }
        }
        flags
    }

    /// What the commands printed with [`RunDir::resume_flags`] still need: the run's secret
    /// parameters that no flag carries (given by `--param` or the environment; never stored),
    /// as a line saying how to give them. `None` when nothing is missing.
    pub fn secrets_to_pass(&self) -> Option<String> {
        let meta = self.meta().ok()?;
        // With a params file, the printed commands pass it again: what it held comes with it.
        let given: Vec<&String> = meta
            .secret_params
            .iter()
            .filter(|name| meta.params.get(*name).and_then(serde_json::Value::as_str) == Some(crate::ui::redact::MASK))
            .filter(|name| meta.params_file.is_none() || meta.flag_params.contains(name))
            .collect();
        if given.is_empty() {
            return None;
        }
        let names: Vec<String> = given.iter().map(|n| format!("`{n}`")).collect();
        let flags: Vec<String> =
            given.iter().map(|n| format!("-p {}", crate::ui::shell_word(&format!("{n}=...")))).collect();
        Some(format!(
            "  these commands need the run's secret parameter{} {} again (not stored with the run): export {} \
             first, or add {}",
            if given.len() == 1 { "" } else { "s" },
            names.join(", "),
            given.iter().map(|n| format!("{}=...", param_env_var(n))).collect::<Vec<_>>().join(" "),
            flags.join(" "),
        ))
    }

    fn runs_dir(state_dir: &Path) -> PathBuf {
        state_dir.join("runs")
    }

    /// Creates the directory of a new run and writes the runbook text and metadata.
    ///
    /// They are made durable by the journal writer before the journal's first record, which
    /// is before anything relies on them (the first task with effects waits for its `start`
    /// record), so the syncs do not hold up the run's start. A crash before then leaves a
    /// journal with no records: the run had done nothing that needs resuming.
    pub fn create(state_dir: &Path, meta: &RunMeta, runbook_text: &str) -> Result<RunDir, CheckpointError> {
        let path = Self::runs_dir(state_dir).join(&meta.run_id);
        std::fs::create_dir_all(&path).map_err(|e| state_dir_error(state_dir, &e))?;
        let runbook = path.join("runbook.yaml");
        write_replacing(&runbook, runbook_text.as_bytes())?;
        let json = serde_json::to_vec_pretty(meta).map_err(|e| CheckpointError::Write(e.to_string()))?;
        let meta_path = path.join("meta.json");
        write_replacing(&meta_path, &json)?;
        // The run's own directory, and the directories its entry is in (`runs/`, and the state
        // directory, which this run may have created): a run directory whose entry is lost
        // with a power cut takes its journal with it.
        let runs = Self::runs_dir(state_dir);
        let unsynced = vec![runbook, meta_path, path.clone(), runs, state_dir.to_owned()];
        Ok(RunDir { id: meta.run_id.clone(), path, unsynced })
    }

    /// Opens an existing run by id (or unique id prefix).
    pub fn open(state_dir: &Path, id: &str) -> Result<RunDir, CheckpointError> {
        let runs = Self::runs_dir(state_dir);
        let exact = runs.join(id);
        if !id.is_empty() && !id.contains('/') && is_run(&exact) {
            return Ok(RunDir { id: id.to_owned(), path: exact, unsynced: Vec::new() });
        }
        let matches: Vec<String> =
            list_ids(&runs).into_iter().filter(|r| r.starts_with(id) && !id.is_empty()).collect();
        match matches.as_slice() {
            [one] => Ok(RunDir { id: one.clone(), path: runs.join(one), unsynced: Vec::new() }),
            [] => Err(CheckpointError::NoSuchRun { id: id.to_owned(), state_dir: state_dir.to_owned() }),
            _ => Err(CheckpointError::AmbiguousRun {
                id: id.to_owned(),
                state_dir: state_dir.to_owned(),
                matches: matches.clone(),
            }),
        }
    }

    /// Every run in the state directory, oldest first. Ids name the second a run began; runs
    /// begun in the same second are ordered by the moment their metadata records.
    pub fn list(state_dir: &Path) -> Vec<RunDir> {
        let runs = Self::runs_dir(state_dir);
        let mut dirs: Vec<(RunDir, Option<Millis>)> = list_ids(&runs)
            .into_iter()
            .map(|id| RunDir { path: runs.join(&id), id, unsynced: Vec::new() })
            .map(|dir| {
                let created = dir.meta().ok().map(|m| m.created_at);
                (dir, created)
            })
            .collect();
        let second = |id: &str| id.get(..15).map(str::to_owned).unwrap_or_default();
        dirs.sort_by(|(a, a_at), (b, b_at)| (second(&a.id), a_at, &a.id).cmp(&(second(&b.id), b_at, &b.id)));
        dirs.into_iter().map(|(dir, _)| dir).collect()
    }

    pub fn meta(&self) -> Result<RunMeta, CheckpointError> {
        let path = self.path.join("meta.json");
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                CheckpointError::BadMeta { path: path.clone(), why: "it is missing".into() }
            }
            _ => CheckpointError::io(&path, e),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| CheckpointError::BadMeta { path, why: e.to_string() })
    }

    /// The copy of the runbook the run started with.
    pub fn runbook_path(&self) -> PathBuf {
        self.path.join("runbook.yaml")
    }

    pub fn runbook_text(&self) -> Result<String, CheckpointError> {
        let path = self.runbook_path();
        std::fs::read_to_string(&path).map_err(|e| CheckpointError::io(&path, e))
    }

    /// Writes the runbook copy again (it was lost; the text is the one the run started with).
    pub fn restore_runbook(&self, text: &str) -> Result<(), CheckpointError> {
        write_replacing(&self.runbook_path(), text.as_bytes())
    }

    pub fn journal_path(&self) -> PathBuf {
        self.path.join("journal.log")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.path.join("logs")
    }

    /// Path of the structured (JSON lines) log of the engine.
    pub fn trace_log_path(&self) -> PathBuf {
        self.path.join("drctl.log")
    }

    /// Scratch space for attempts (output files of shell tasks).
    pub fn scratch_dir(&self) -> PathBuf {
        self.path.join("tmp")
    }

    /// Removes the outputs files that attempts left in the scratch directory (see
    /// [`outputs_file`]): every one, or those of the instance with idempotency key `key`. An
    /// attempt that drctl did not see end leaves its file for a resume to read; once that can
    /// no longer happen the file goes, since it may hold a secret output.
    pub fn discard_outputs(&self, key: Option<&str>) {
        let prefix = key.map(|k| format!("{}-", &k[..OUTPUTS_KEY_LEN.min(k.len())]));
        let Ok(entries) = std::fs::read_dir(self.scratch_dir()) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".out") && prefix.as_deref().is_none_or(|p| name.starts_with(p)) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    pub fn open_journal(&self) -> Result<Journal, CheckpointError> {
        // The journal is made first: a scratch directory shows that it was (see `replay`).
        let journal = Journal::open(self.journal_path(), self.log_dir(), self.unsynced.clone())?;
        let scratch = self.scratch_dir();
        {
            use std::os::unix::fs::DirBuilderExt;
            // Running commands write their outputs here, secret ones included.
            use std::os::unix::fs::PermissionsExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&scratch)
                .map_err(|e| CheckpointError::io(&scratch, e))?;
            // One made by an older drctl, or by hand, is tightened too.
            std::fs::set_permissions(&scratch, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| CheckpointError::io(&scratch, e))?;
        }
        Ok(journal)
    }

    /// Replays the run's journal. A run with no journal file yet crashed before it could
    /// write one; but once the scratch directory exists, made just after the journal was, a
    /// missing journal was removed, and what the run did is unknown: that is damage.
    pub fn replay(&self) -> Result<super::Replay, CheckpointError> {
        let path = self.journal_path();
        if !path.exists() && self.scratch_dir().is_dir() {
            return Err(CheckpointError::JournalMissing { path });
        }
        super::replay(&path)
    }

    /// The state of the run: running if a live process holds its lock, else how its last
    /// segment ended. A segment that wrote no end crashed, even before its first record (an
    /// empty or missing journal): that reads as interrupted.
    pub fn state(&self, replay: &super::Replay) -> super::record::RunState {
        if super::RunLock::held(&self.path) {
            return super::record::RunState::Running;
        }
        replay.last_end.unwrap_or(super::record::RunState::Interrupted)
    }

    /// Writes a report or other artefact into the run directory.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, CheckpointError> {
        let path = self.path.join(name);
        write_durable(&path, bytes)?;
        Ok(path)
    }
}

/// Whether `dir` holds a run: its metadata, or, when that was lost, its journal or runbook.
fn is_run(dir: &Path) -> bool {
    ["meta.json", "journal.log", "runbook.yaml"].iter().any(|name| dir.join(name).is_file())
}

fn list_ids(runs: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(runs)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| is_run(&e.path()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Replaces `path` with `bytes` durably: written to a temporary file, synced, renamed.
fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    write_with(path, bytes, true)
}

/// Replaces `path` with `bytes` atomically (a reader sees the old or the new content), without
/// waiting for the disk.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    write_with(path, bytes, false)
}

fn write_with(path: &Path, bytes: &[u8], durable: bool) -> Result<(), CheckpointError> {
    let tmp = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| CheckpointError::io(&tmp, e))?;
    let written = file.write_all(bytes).and_then(|()| if durable { file.sync_all() } else { Ok(()) });
    written.map_err(|e| CheckpointError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| CheckpointError::io(path, e))?;
    // The rename is durable once the directory holding it is synced.
    if durable {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| CheckpointError::io(dir, e))?;
    }
    Ok(())
}

/// How much of an idempotency key names an attempt's outputs file.
const OUTPUTS_KEY_LEN: usize = 16;

/// The file where attempt `attempt` of the instance with idempotency key `key` writes its
/// outputs (`$DRCTL_OUTPUT`), in the run's scratch directory `scratch`.
pub fn outputs_file(scratch: &Path, key: &str, attempt: u32) -> PathBuf {
    scratch.join(format!("{}-{attempt}.out", &key[..OUTPUTS_KEY_LEN.min(key.len())]))
}
