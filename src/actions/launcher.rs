//! Starting commands off the runtime's thread, the most urgent first.
//!
//! `posix_spawn` holds the thread that calls it until the child has called `exec`: about
//! 0.4 ms on an idle virtual machine, several milliseconds on a busy one. A run drives its
//! tasks from one thread, so a command started there holds up everything else meanwhile, among
//! them noticing that a command on the critical path has ended and starting what follows it.
//! Commands are therefore started by a small pool of launcher threads, which take waiting
//! requests by urgency (a task's bottom level: the longest chain of tasks that waits for it),
//! then in the order they came. Two threads keep two `exec`s in flight, one per core of a
//! small machine, without queueing the critical path's command behind a burst of others.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use tokio::process::{Child, Command};
use tokio::sync::oneshot;

/// Threads that start commands.
const THREADS: usize = 2;

/// A started command: the command back (for error messages), the child, and the boot-clock
/// tick at which it started when the clock read the same before and after the spawn (the
/// process's start time, which then need not be read from `/proc` while it is still in
/// `exec`).
pub type Launched = (Command, std::io::Result<Child>, Option<u64>);

struct Request {
    urgency: u32,
    seq: Reverse<u64>,
    command: Command,
    runtime: tokio::runtime::Handle,
    reply: oneshot::Sender<Unclaimed>,
}

impl PartialEq for Request {
    fn eq(&self, other: &Self) -> bool {
        (self.urgency, self.seq) == (other.urgency, other.seq)
    }
}
impl Eq for Request {}
impl PartialOrd for Request {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Request {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.urgency, self.seq).cmp(&(other.urgency, other.seq))
    }
}

/// A started command on its way to the task that asked for it. Dropped before that task took
/// it (its attempt was cancelled, or the run ended, while the command started), it stops the
/// command with everything the command started: no process of a run outlives the run untracked.
struct Unclaimed(Option<Launched>);

impl Drop for Unclaimed {
    fn drop(&mut self) {
        if let Some((_, Ok(child), _)) = self.0.take() {
            super::shell::kill_group(child.id());
        }
    }
}

struct Waiting {
    next: u64,
    requests: BinaryHeap<Request>,
    /// Commands being started now.
    starting: usize,
    /// Set by [`close`]: nothing more starts.
    closed: bool,
}

static WAITING: Mutex<Waiting> =
    Mutex::new(Waiting { next: 0, requests: BinaryHeap::new(), starting: 0, closed: false });
static READY: Condvar = Condvar::new();
/// Signalled each time a command has been started (or passed over).
static HANDED: Condvar = Condvar::new();

/// Starts the launcher threads on first use; false if none could be started.
fn running() -> bool {
    static STARTED: OnceLock<bool> = OnceLock::new();
    *STARTED.get_or_init(|| {
        (0..THREADS)
            .filter(|i| std::thread::Builder::new().name(format!("drctl-launch-{i}")).spawn(serve).is_ok())
            .count()
            > 0
    })
}

fn waiting() -> std::sync::MutexGuard<'static, Waiting> {
    WAITING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts `command` on a launcher thread and returns once it has started (or failed to).
/// `urgency` orders it among commands waiting to start: higher first.
pub async fn launch(command: Command, urgency: u32) -> Launched {
    if !running() {
        return start(command);
    }
    let (reply, answer) = oneshot::channel();
    let program = command.as_std().get_program().to_owned();
    {
        let mut waiting = waiting();
        if waiting.closed {
            return (command, Err(std::io::Error::other("drctl is ending")), None);
        }
        waiting.next += 1;
        let seq = Reverse(waiting.next);
        let runtime = tokio::runtime::Handle::current();
        waiting.requests.push(Request { urgency, seq, command, runtime, reply });
    }
    READY.notify_one();
    match answer.await.map(|mut unclaimed| unclaimed.0.take()) {
        Ok(Some(launched)) => launched,
        // Starting it panicked (a defect of drctl's), or drctl is ending: said as a command
        // that did not start.
        _ => (Command::new(program), Err(std::io::Error::other("drctl failed while starting it")), None),
    }
}

/// Starts nothing more, and returns once every command being started has been handed over or
/// stopped (at most 5 s). Called as drctl ends, before its runtime shuts down: a command being
/// started meanwhile still gets its pipes registered with the runtime, and is then either
/// stopped at once (its task is gone) or handed over and stopped as the runtime drops its task.
pub fn close() {
    let mut waiting = waiting();
    waiting.closed = true;
    waiting.requests.clear();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while waiting.starting > 0 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        waiting = HANDED.wait_timeout(waiting, left).map_or_else(|poisoned| poisoned.into_inner().0, |(w, _)| w);
    }
}

/// A launcher thread: starts waiting commands, most urgent first, for ever.
fn serve() {
    loop {
        let request = {
            let mut waiting = waiting();
            loop {
                if let Some(request) = waiting.requests.pop() {
                    waiting.starting += 1;
                    break request;
                }
                waiting = READY.wait(waiting).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        };
        // Whoever asked is gone (its attempt timed out or was cancelled, or drctl is ending):
        // start nothing. A command started as drctl ends finds nobody to take it, and stops.
        if !request.reply.is_closed() {
            let _runtime = request.runtime.enter();
            // A panic while starting one command (a defect) fails that command, not the
            // thread, which others wait on.
            let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| start(request.command)));
            if let Ok(launched) = started {
                // Refused if the asker left meanwhile: the command is then dropped, and stopped.
                let _ = request.reply.send(Unclaimed(Some(launched)));
            }
        }
        waiting().starting -= 1;
        HANDED.notify_all();
    }
}

/// Starts `command` on this thread.
///
/// tokio starts the process first and then registers its pipes with the runtime. When that
/// second step fails (the runtime is shutting down, the kernel refuses), the error comes back
/// with the process already running and no handle on it: it is found by the attempt's key in
/// its environment and stopped, so that a command reported as not started did not start.
///
/// Until it has moved into a process group of its own, a new process is in drctl's group, and
/// a signal sent to that group (a Ctrl-C typed at a terminal) ends it before it runs anything.
/// A process that ended so is started again: a signal meant for drctl fails no command.
fn start(mut command: Command) -> Launched {
    let mut tries = 0;
    loop {
        tries += 1;
        let signals = INTERRUPTS.load(Ordering::SeqCst);
        let before = crate::checkpoint::record::boot_ticks();
        let spawned = command.spawn();
        let started = before.filter(|&b| crate::checkpoint::record::boot_ticks() == Some(b));
        match &spawned {
            Err(_) => super::processes::stop_lost(command.as_std()),
            Ok(child) if tries < PRE_EXEC_TRIES && ended_before_exec(child, signals) => {
                tracing::debug!(
                    pid = child.id(),
                    tries,
                    "a command ended before it ran (a signal to drctl's group); starting it again"
                );
                continue;
            }
            Ok(_) => {}
        }
        return (command, spawned, started);
    }
}

/// How many times a command that ended before `exec` is started.
const PRE_EXEC_TRIES: u32 = 4;

/// Interrupting signals drctl has had (counted by its handlers, see [`note_interrupt`]).
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Counts an interrupting signal drctl has had. Async-signal-safe: called from the handler.
pub fn note_interrupt() {
    INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

/// Whether `child` ended without running its program, killed by a signal to drctl's group.
///
/// The start returns once the process has called `exec` or begun to end. One that is ending
/// becomes a zombie within moments, killed by a signal, and still bears the name of the thread
/// that started it, where one that ran its program bears the program's. Only a start during
/// which drctl had an interrupting signal (`signals` counted before it) waits for those
/// moments; any other costs one system call.
fn ended_before_exec(child: &Child, signals: u64) -> bool {
    let Some(pid) = child.id().and_then(|pid| libc::id_t::try_from(pid).ok()) else { return false };
    let signalled = || INTERRUPTS.load(Ordering::SeqCst) != signals || interrupt_pending();
    let mut waited = std::time::Duration::ZERO;
    loop {
        match ended(pid) {
            Some(true) => break,
            Some(false) => return false,
            None if waited.is_zero() && !signalled() => return false,
            None if waited >= ENDING_WAIT => return false,
            None => {
                std::thread::sleep(ENDING_POLL);
                waited += ENDING_POLL;
            }
        }
    }
    let ours = std::fs::read_to_string("/proc/thread-self/comm");
    let its = std::fs::read_to_string(format!("/proc/{pid}/comm"));
    matches!((ours, its), (Ok(ours), Ok(its)) if ours == its)
}

/// How long a start during a signal waits for its process to end, if the signal ended it.
const ENDING_WAIT: std::time::Duration = std::time::Duration::from_millis(20);
const ENDING_POLL: std::time::Duration = std::time::Duration::from_micros(200);

/// Whether child `pid` has ended: `Some(true)` killed by a signal, `Some(false)` otherwise,
/// `None` while it runs. It is left to be collected by its handle.
fn ended(pid: libc::id_t) -> Option<bool> {
    // SAFETY: `siginfo_t` is plain data, which `waitid` fills for a child of this process.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let asked = libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
        if asked != 0 || info.si_pid() == 0 {
            return None;
        }
        Some(matches!(info.si_code, libc::CLD_KILLED | libc::CLD_DUMPED))
    }
}

/// Whether an interrupting signal is waiting to be handled by drctl.
fn interrupt_pending() -> bool {
    // SAFETY: `sigset_t` is plain data, filled by `sigpending`.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut set) == 0
            && [libc::SIGINT, libc::SIGTERM, libc::SIGHUP].iter().any(|&sig| libc::sigismember(&set, sig) == 1)
    }
}
