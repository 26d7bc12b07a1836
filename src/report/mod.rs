//! Run reports: what a drill or recovery did, how long each phase and task took, the measured
//! RTO against the objective, retries, approvals with who and when, and failures with their
//! errors; rendered as Markdown, JUnit XML (for CI schedulers), a self-contained HTML page
//! with a timeline, or JSON.
//!
//! Data flow: [`build`] reads a run directory into a [`Report`] ([`model`]), measuring time
//! with [`timing`]; [`markdown`], [`junit`] and [`html`] render it. Reports only read the run
//! directory; they never write to it or to the journal, and they show only text the journal
//! already holds (secrets masked there), never parameter values or task outputs.

mod build;
pub mod html;
mod intervals;
pub mod junit;
pub mod markdown;
pub mod model;
mod timing;

use std::time::{Duration, UNIX_EPOCH};

pub use build::build;
pub use model::{Report, RtoMeasure};

use crate::checkpoint::record::Millis;

/// Errors of building or rendering a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    #[error("could not render the {format} report: {reason}")]
    Render { format: &'static str, reason: String },
}

/// A duration as people read it (`850ms`, `12.3s`, `4m05s`).
pub fn duration(ms: u64) -> String {
    crate::runbook::duration::format_duration(Duration::from_millis(ms))
}

/// The last millisecond RFC 3339 can write (the end of year 9999). A journal edited by hand
/// may hold later times; they are shown as this one rather than fail the report.
const LAST_WRITABLE: Millis = 253_402_300_799_999;

/// A point in time, RFC 3339 in UTC with milliseconds.
pub fn timestamp(at: Millis) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(at.min(LAST_WRITABLE))).to_string()
}

/// A point in time, RFC 3339 in UTC to the second.
pub fn timestamp_utc_seconds(at: Millis) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(at.min(LAST_WRITABLE))).to_string()
}

/// A point in time, RFC 3339 in UTC to the second (JUnit's `timestamp` has no zone or fraction).
pub fn timestamp_seconds(at: Millis) -> String {
    timestamp_utc_seconds(at).trim_end_matches('Z').to_owned()
}

/// One line saying whether the run met its objective.
pub fn rto_verdict(rto: &RtoMeasure) -> String {
    match (rto.objective_ms, rto.exceeded) {
        (Some(objective), Some(false)) if !rto.finished => format!(
            "RTO not met: the recovery did not complete ({} spent against an objective of {})",
            duration(rto.wall_ms),
            duration(objective)
        ),
        (Some(objective), Some(true)) => format!(
            "RTO exceeded: measured {} against an objective of {} ({} over)",
            duration(rto.wall_ms),
            duration(objective),
            duration(rto.wall_ms - objective)
        ),
        (Some(objective), _) => {
            format!("RTO met: measured {} against an objective of {}", duration(rto.wall_ms), duration(objective))
        }
        (None, _) => format!("measured {}; the runbook sets no RTO objective", duration(rto.wall_ms)),
    }
}
