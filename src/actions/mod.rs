//! The action interface: every task kind (`shell`, `http`, `oci.*`, `registry.copy`, ...)
//! implements [`Action`] and is registered in one [`ActionRegistry`].
//!
//! The scheduler only knows this trait. An action receives its inputs already resolved (every
//! `${{ }}` expression evaluated), a cancellation token, an idempotency key that stays the same
//! across retries and resumes, and a context for its log. It returns outputs or a classified
//! [`ActionError`]; whether an error is retried is decided by the task's retry policy from that
//! classification, never by the action itself.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

mod approval;
mod assert;
mod error;
pub(crate) mod http;
mod inventory;
mod launcher;
pub use launcher::close as stop_launching;
pub use launcher::note_interrupt;
mod processes;
pub use processes::processes_with_env;
pub mod oci;
mod program;
mod registry;
mod registry_copy;
mod shell;
mod sleep;
mod wait_until;

pub use error::{ActionError, ErrorClass};
pub use registry::ActionRegistry;

/// Outputs of one task instance, readable by later tasks as `${{ tasks.ID.outputs.NAME }}`.
pub type Outputs = Map<String, Value>;

/// A boxed future, so that actions can be stored as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where an action writes what a person may want to read later (the task log).
pub trait TaskLog: Send + Sync {
    /// Appends a line (or several, separated by newlines) to the task's log. Secrets are
    /// masked before the text is stored.
    fn line(&self, line: &str);

    /// A line the operator should see as it happens (a fallback taken, a degraded answer):
    /// in the task's log, and on the run's progress as a notice naming the task.
    fn warn(&self, line: &str) {
        self.line(line);
    }

    /// Records that the attempt started a process group, so that a resume after a crash of
    /// drctl can wait for that orphan to end before deciding anything about the task.
    /// `started` is the leader's start time when the caller knows it (see
    /// [`crate::checkpoint::record::boot_ticks`]).
    fn spawned(&self, pid: u32, started: Option<u64>) {
        let _ = (pid, started);
    }

    /// The attempt's outputs, given before the action logs what it printed: the values of the
    /// task's `secret_outputs` are masked from then on, in this log and everywhere else.
    fn outputs(&self, outputs: &Outputs) {
        let _ = outputs;
    }

    /// Whether what a command prints may go to the log as it comes, so that the log can be
    /// followed while the attempt runs. A task with `secret_outputs` holds it until its
    /// outputs are known: the command may print a secret output's value before writing it.
    fn streams(&self) -> bool {
        false
    }
}

/// A log that drops everything; for probes and tests.
pub struct NullLog;

impl TaskLog for NullLog {
    fn line(&self, _line: &str) {}
}

/// Everything an action may know about the task instance it runs for.
pub struct ActionContext {
    /// Task id as written in the runbook.
    pub task_id: String,
    /// The `for_each` key of this instance, when the task fans out.
    pub instance_key: Option<String>,
    /// sha256 of run id, task id and instance key, hex: the same on every attempt and resume.
    /// Actions that create things pass it on (for example as OCI's `opc-retry-token`).
    pub idempotency_key: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When the engine started this attempt (made its `start` record). An action that waits
    /// for a duration, like `sleep`, counts from here.
    pub started: std::time::Instant,
    /// Cancelled on a second Ctrl-C or when the attempt's timeout expires.
    pub cancel: CancellationToken,
    /// The task's log.
    pub log: Arc<dyn TaskLog>,
    /// Directory for scratch files of this attempt (owned by the run directory).
    pub scratch_dir: PathBuf,
    /// Whether the run is a drill (resources created should be tagged with the run id).
    pub drill: bool,
    /// The directory the run's commands run in, `None` for drctl's own (see `RunMeta`).
    pub work_dir: Option<PathBuf>,
    /// The run id.
    pub run_id: String,
    /// How much waits for this task: the longest chain of tasks that cannot start before it
    /// ends (its bottom level). Commands of more urgent tasks are started first.
    pub urgency: u32,
    /// Set by cleanup runs: `ensure: absent` deletes only resources tagged with this drill
    /// run id (freeform tag `drctl-drill-run`) and keeps every other one.
    pub only_tagged: Option<String>,
}

/// What a task would change, found by reading the current state (`drctl plan --refresh`).
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    pub change: Change,
    /// The outputs as far as they are known before the run (e.g. the id of an existing
    /// resource).
    pub outputs: Outputs,
}

/// The change a task would make.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Create,
    Update(Vec<FieldDiff>),
    NoChange,
    Delete,
    /// Nothing exists and nothing is wanted.
    Absent,
}

/// One field that differs between the current and the desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    /// Dotted path, e.g. `memoryInMBs` or `config.DB_URL`.
    pub path: String,
    pub current: Value,
    pub desired: Value,
}

/// One kind of task.
pub trait Action: Send + Sync {
    /// Checks the static shape of `with` before anything runs (unknown keys, missing fields).
    /// Values may still contain unresolved expressions (strings holding `${{`), which must be
    /// accepted wherever a string could stand. Returns human-readable problems, each with the
    /// key it concerns.
    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let _ = with;
        Vec::new()
    }

    /// Checks inputs once expressions have given their values, as the task starts: the checks
    /// of [`Action::check_inputs`] that hold for any value, for inputs `validate` could only
    /// see as expressions (a method, a duration from a parameter). None by default: some
    /// static checks tell a literal from an expression (`assert`'s `that`), and do not apply.
    fn check_resolved(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let _ = with;
        Vec::new()
    }

    /// Performs the work once (one attempt).
    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>>;

    /// Inputs holding script text: validation rewrites each `${{ }}` in them into a reference
    /// to an environment variable (`${DRCTL_EXPR_n}`) set to the value, so values never
    /// become code.
    fn script_inputs(&self) -> &'static [&'static str] {
        &[]
    }

    /// An input that holds a shell command, or the inputs of a `shell` task, run by this
    /// action (`wait_until`'s `shell` probe): its `${{ }}` parts reach the command through
    /// environment variables, as in `shell`'s own `run`.
    fn script_probe(&self) -> Option<&'static str> {
        None
    }

    /// Outputs that an attempt cut short by a crash had already produced, read from what it
    /// left behind (`ctx.attempt` is that attempt). Used when a `check` finds the work done,
    /// so that dependents still get the task's outputs. Reading them removes them.
    fn leftover_outputs(&self, _ctx: &ActionContext) -> Outputs {
        Outputs::new()
    }

    /// Whether the action has no effect outside drctl (a wait, an assertion). Such an attempt may
    /// start before its `start` record is on disk: if drctl crashed, running it again changes
    /// nothing, and its own `done` record is still written after its dependencies' ones.
    fn is_pure(&self) -> bool {
        false
    }

    /// The names of every output the action gives, when they are fixed (`http` always gives
    /// `status`, `headers`, `json` and `body`); `None` when they depend on the task (`shell`).
    /// `validate` refuses a reference to an output not in the list.
    fn output_names(&self) -> Option<&'static [&'static str]> {
        None
    }

    /// Whether this action waits for a person (approvals are handled by the engine).
    fn is_approval(&self) -> bool {
        false
    }

    /// Predicts what `run` would change, with read-only calls only. `None`: the action
    /// cannot tell without running.
    fn refresh<'a>(
        &'a self,
        ctx: &'a ActionContext,
        with: Value,
    ) -> Option<BoxFuture<'a, Result<Refreshed, ActionError>>> {
        let _ = (ctx, with);
        None
    }

    /// Whether the action only reads (an inventory load or capture): `plan --refresh` may
    /// run it.
    fn is_read_only(&self) -> bool {
        false
    }

    /// How to remove, found by name, what an attempt with inputs `with` may have created
    /// before it was cut short (a drill's cleanup of a task that never finished): the
    /// resource as messages name it, and the inputs of the removal. `None` when the action
    /// creates nothing it can find again; an error when `with` does not say what to look for.
    fn removal_by_name(&self, with: &Value) -> Option<Result<(String, Value), String>> {
        let _ = with;
        None
    }
}

/// A problem with one input of a task, found before the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// The key under `with` it concerns (empty when it concerns `with` as a whole).
    pub key: String,
    pub message: String,
    pub help: Option<String>,
    /// Where inside that input the problem is, for its place: a key of its map (an `env`
    /// name), or a path of keys and list indices to a key nested deeper. Empty: the input.
    pub inner: Vec<String>,
}

impl InputProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into(), help: None, inner: Vec::new() }
    }

    /// Places the problem at `inner`, a key of the input's map.
    pub fn at_inner(mut self, inner: impl Into<String>) -> Self {
        self.inner = vec![inner.into()];
        self
    }

    /// Places the problem at the end of `path`: keys and list indices inside the input.
    pub fn at_path(mut self, path: Vec<String>) -> Self {
        self.inner = path;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// "did you mean" for an unknown input key.
pub(crate) fn suggest_key(key: &str, known: &[&str]) -> Option<String> {
    crate::runbook::de::did_you_mean(key, known.iter().copied())
}

/// Problems for keys of `with` that an action does not know.
pub(crate) fn unknown_keys(with: &Map<String, Value>, known: &[&str]) -> Vec<InputProblem> {
    with.keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| {
            InputProblem::new(k, format!("unknown input `{k}`"))
                .with_help(suggest_key(k, known).unwrap_or_else(|| format!("inputs: {}", known.join(", "))))
        })
        .collect()
}

/// The registry of built-in actions, with OCI credentials and endpoints from `oci`.
pub fn builtin_with(oci: oci::OciSettings) -> ActionRegistry {
    let mut registry = builtin_without_oci();
    registry.register("registry.copy", Arc::new(registry_copy::RegistryCopy::new(oci.clone())));
    registry.register("http", Arc::new(http::Http::with_oci(oci.clone())));
    registry.register("wait_until", Arc::new(wait_until::WaitUntil::with_oci(oci.clone())));
    let env = oci::OciEnvironment::new(oci);
    registry.register("oci.request", Arc::new(oci::OciRequestAction::new(env.clone())));
    registry.register("oci.functions.invoke", Arc::new(oci::FunctionInvokeAction::new(env.clone())));
    for (name, action) in oci::converge::actions(&env) {
        registry.register(name, action);
    }
    registry.register("oci.inventory", Arc::new(inventory::InventoryAction::new(env)));
    registry
}

/// The registry of built-in actions; OCI actions read the default config when first used.
pub fn builtin() -> ActionRegistry {
    builtin_with(oci::OciSettings::default())
}

fn builtin_without_oci() -> ActionRegistry {
    let mut registry = ActionRegistry::new();
    registry.register("shell", Arc::new(shell::Shell));
    registry.register("sleep", Arc::new(sleep::Sleep));
    registry.register("approval", Arc::new(approval::Approval));
    registry.register("assert", Arc::new(assert::Assert));
    registry.register("http", Arc::new(http::Http::new()));
    registry.register("wait_until", Arc::new(wait_until::WaitUntil::new()));
    registry
}
