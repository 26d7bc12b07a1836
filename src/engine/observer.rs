//! Events the engine reports while it runs, for progress displays and logs.
//!
//! The engine calls these from its scheduling loop; implementations must not block.

use std::time::Duration;

use crate::checkpoint::InstanceId;

/// How an instance ended, as shown to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Succeeded,
    /// Resume's check probe found the work already done.
    AlreadyDone,
    Failed,
    Skipped,
    Cancelled,
}

/// Receives run events.
pub trait Observer: Send + Sync {
    /// The run (or a resumed segment of it) starts; `total` instances are known so far and
    /// `done` of them had finished before this segment began, as the journal shows.
    fn run_started(&self, run_id: &str, total: usize, done: usize, rto: Option<Duration>);
    /// More instances became known (a `for_each` expanded).
    fn total_changed(&self, total: usize);
    fn attempt_started(&self, id: &InstanceId, attempt: u32);
    fn attempt_failed(&self, id: &InstanceId, attempt: u32, error: &str, retry_in: Option<Duration>);
    fn finished(&self, id: &InstanceId, how: Finish, elapsed: Duration, detail: &str);
    /// A warning or notice for the operator (RTO thresholds, in-doubt tasks, pauses).
    fn notice(&self, text: &str);
    /// Stops (true) or restarts (false) drawing while a person is asked something on the
    /// terminal, so progress output neither overwrites the question nor scrolls it away: lines
    /// that come meanwhile are held and shown after the answer.
    fn hold_output(&self, hold: bool) {
        let _ = hold;
    }
}

/// An observer that reports nothing.
pub struct Silent;

impl Observer for Silent {
    fn run_started(&self, _: &str, _: usize, _: usize, _: Option<Duration>) {}
    fn total_changed(&self, _: usize) {}
    fn attempt_started(&self, _: &InstanceId, _: u32) {}
    fn attempt_failed(&self, _: &InstanceId, _: u32, _: &str, _: Option<Duration>) {}
    fn finished(&self, _: &InstanceId, _: Finish, _: Duration, _: &str) {}
    fn notice(&self, _: &str) {}
}
