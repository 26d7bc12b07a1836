//! Warnings as a run uses 80% of its recovery time objective, then all of it.

use std::time::Duration;

use super::{fmt, Scheduler};
use crate::checkpoint::record::now_millis;
use crate::checkpoint::Record;

impl Scheduler<'_> {
    /// When the next RTO warning (at 80%, then at 100%) is due, if one is left to give.
    pub(super) fn next_rto_warning(&self) -> Option<tokio::time::Instant> {
        let rto = self.cfg.runbook.rto?;
        let fraction = match self.rto_warned {
            0 => 0.8,
            1 => 1.0,
            _ => return None,
        };
        let due = self.cfg.created_at + (rto.as_millis() as f64 * fraction).ceil() as u64;
        let wait = Duration::from_millis(due.saturating_sub(now_millis()));
        Some(tokio::time::Instant::now() + wait)
    }

    /// Warns, once each, when 80% and then all of the RTO has passed since the run began.
    pub(super) fn check_rto(&mut self) {
        let Some(rto) = self.cfg.runbook.rto else { return };
        let elapsed = Duration::from_millis(now_millis().saturating_sub(self.cfg.created_at));
        let fraction = elapsed.as_secs_f64() / rto.as_secs_f64().max(0.001);
        let level = if fraction >= 1.0 {
            2
        } else if fraction >= 0.8 {
            1
        } else {
            0
        };
        if level > self.rto_warned {
            self.rto_warned = level;
            let text = if level == 2 {
                format!("RTO exceeded: {} elapsed, objective {}", fmt(elapsed), fmt(rto))
            } else {
                format!("80% of the RTO used: {} elapsed, objective {}", fmt(elapsed), fmt(rto))
            };
            self.cfg.observer.notice(&text);
            self.batch.push(&Record::RtoWarning { fraction, elapsed_ms: elapsed.as_millis() as u64, at: now_millis() });
        }
    }
}
