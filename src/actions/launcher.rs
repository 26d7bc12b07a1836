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
    reply: oneshot::Sender<Launched>,
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

struct Waiting {
    next: u64,
    requests: BinaryHeap<Request>,
}

static WAITING: Mutex<Waiting> = Mutex::new(Waiting { next: 0, requests: BinaryHeap::new() });
static READY: Condvar = Condvar::new();

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
        waiting.next += 1;
        let seq = Reverse(waiting.next);
        let runtime = tokio::runtime::Handle::current();
        waiting.requests.push(Request { urgency, seq, command, runtime, reply });
    }
    READY.notify_one();
    match answer.await {
        Ok(launched) => launched,
        // Starting it panicked (a defect of drctl's): said as a command that did not start.
        Err(_) => (Command::new(program), Err(std::io::Error::other("drctl failed while starting it")), None),
    }
}

/// A launcher thread: starts waiting commands, most urgent first, for ever.
fn serve() {
    loop {
        let request = {
            let mut waiting = waiting();
            loop {
                if let Some(request) = waiting.requests.pop() {
                    break request;
                }
                waiting = READY.wait(waiting).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        };
        // Whoever asked is gone (its attempt timed out or was cancelled): start nothing.
        if request.reply.is_closed() {
            continue;
        }
        let _runtime = request.runtime.enter();
        // A panic while starting one command (a defect) fails that command, not the thread,
        // which others wait on.
        let Ok(launched) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| start(request.command))) else {
            continue;
        };
        if let Err((_, Ok(child), _)) = request.reply.send(launched) {
            // Gone while it started: the command is stopped with everything it started.
            if let Some(pid) = child.id() {
                super::shell::kill_group(Some(pid));
            }
        }
    }
}

/// Starts `command` on this thread.
fn start(mut command: Command) -> Launched {
    let before = crate::checkpoint::record::boot_ticks();
    let spawned = command.spawn();
    let started = before.filter(|&b| crate::checkpoint::record::boot_ticks() == Some(b));
    (command, spawned, started)
}
