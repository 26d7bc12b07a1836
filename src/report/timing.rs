//! The RTO measurement: wall time of a run and the part of it spent waiting for people.
//!
//! It reads segment, attempt and approval times from the replay only; it never reads the clock,
//! so a report of a finished run is the same whenever it is made.

use super::intervals::{self, Set};
use super::model::{RtoMeasure, SegmentReport};
use crate::checkpoint::record::Millis;
use crate::checkpoint::{InstanceId, Replay, RunState};

/// Segments with an end each: a segment that crashed ends at its last record.
pub fn segments(replay: &Replay) -> Vec<SegmentReport> {
    let marks = record_times(replay);
    let spans = &replay.segment_spans;
    spans
        .iter()
        .enumerate()
        .map(|(n, span)| {
            let end = span.end.unwrap_or_else(|| {
                let limit = spans.get(n + 1).map_or(Millis::MAX, |next| next.start);
                marks.iter().copied().filter(|&t| t >= span.start && t < limit).max().unwrap_or(span.start)
            });
            SegmentReport {
                start: span.start,
                end,
                state: span.state.map(|s| RunState::as_str(s).to_owned()),
                by: format!("{}@{}", span.actor.user, span.actor.host),
                resumed: span.resumed,
            }
        })
        .collect()
}

/// Every time of the run's work the replay knows of, to find where a crashed segment stopped
/// (an operator's later action, such as breaking its lock, is not part of it).
fn record_times(replay: &Replay) -> Vec<Millis> {
    let mut marks: Vec<Millis> = Vec::new();
    for rec in replay.instances.values() {
        marks.extend(rec.end);
        marks.extend(rec.awaiting_since);
        for span in &rec.attempt_spans {
            marks.push(span.start);
            marks.extend(span.end);
        }
    }
    marks.extend(replay.last_at);
    marks
}

/// Measures the run. `is_approval` tells which instances are approvals (their waits are
/// operator time); `objective_ms` is the runbook's RTO.
pub fn measure(
    replay: &Replay,
    segments: &[SegmentReport],
    is_approval: &dyn Fn(&InstanceId) -> bool,
    objective_ms: Option<u64>,
    finished: bool,
) -> RtoMeasure {
    let started_at = segments.first().map(|s| s.start);
    let ended_at = segments.iter().map(|s| s.end).max();
    let wall_ms = match (started_at, ended_at) {
        (Some(s), Some(e)) => e.saturating_sub(s),
        _ => 0,
    };
    let driven: Set = intervals::union(segments.iter().map(|s| (s.start, s.end)).collect());
    let gaps = match (started_at, ended_at) {
        (Some(s), Some(e)) => intervals::subtract(&vec![(s, e)], &driven),
        _ => Vec::new(),
    };
    let segment_end_after = |t: Millis| segments.iter().find(|s| s.start <= t && t <= s.end).map_or(t, |s| s.end);
    let mut busy = Vec::new();
    let mut waits = Vec::new();
    for (id, rec) in &replay.instances {
        if is_approval(id) {
            if let Some(since) = rec.awaiting_since {
                waits.push((since, rec.end.unwrap_or_else(|| ended_at.unwrap_or(since))));
            }
            continue;
        }
        for span in &rec.attempt_spans {
            busy.push((span.start, span.end.unwrap_or_else(|| segment_end_after(span.start))));
        }
    }
    let busy = intervals::union(busy);
    let waits = intervals::union(waits);
    let approval_only = intervals::subtract(&intervals::intersect(&waits, &driven), &busy);
    let between_segments_ms = intervals::total(&gaps);
    let approval_wait_ms = intervals::total(&approval_only);
    let operator_wait_ms = between_segments_ms + approval_wait_ms;
    RtoMeasure {
        objective_ms,
        started_at,
        ended_at,
        wall_ms,
        between_segments_ms,
        approval_wait_ms,
        operator_wait_ms,
        excluding_operator_waits_ms: wall_ms.saturating_sub(operator_wait_ms),
        exceeded: objective_ms.map(|o| wall_ms > o),
        finished,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::checkpoint::record::{encode, Actor, AuditAction, Record};

    fn id(task: &str) -> InstanceId {
        InstanceId { task: task.into(), key: None }
    }

    fn replay(records: &[Record]) -> Replay {
        let mut bytes = Vec::new();
        for r in records {
            encode(r, &mut bytes);
        }
        crate::checkpoint::replay_bytes(std::path::Path::new("j"), &bytes).unwrap()
    }

    fn segment(at: Millis, resumed: bool) -> Record {
        Record::Segment { at, pid: 1, actor: Actor { user: "u".into(), host: "h".into() }, resumed }
    }

    /// Work 0–100 while an approval waits 50–300; paused 300–1000 (approved from outside at
    /// 900); a crashed segment 1000–1200 whose last record is at 1200.
    #[test]
    fn operator_waits_are_pauses_plus_approval_only_time() {
        let r = replay(&[
            segment(0, false),
            Record::Start { id: id("work"), attempt: 1, at: 0 },
            Record::AwaitingApproval { id: id("gate"), message: "go?".into(), at: 50 },
            Record::Done { id: id("work"), outputs: Map::new(), at: 100, checked: false, masked: vec![] },
            Record::SegmentEnd { state: RunState::Paused, at: 300 },
            Record::Audit {
                action: AuditAction::Approve,
                task: Some(id("gate")),
                actor: Actor { user: "op".into(), host: "h".into() },
                reason: "ok".into(),
                at: 900,
            },
            Record::Done { id: id("gate"), outputs: Map::new(), at: 900, checked: false, masked: vec![] },
            segment(1000, true),
            Record::Start { id: id("after"), attempt: 1, at: 1010 },
            Record::AttemptFailed { id: id("after"), attempt: 1, class: "x".into(), error: "e".into(), at: 1200 },
        ]);
        let segs = segments(&r);
        assert_eq!(segs.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(), vec![(0, 300), (1000, 1200)]);
        let m = measure(&r, &segs, &|i| i.task == "gate", Some(1_000), false);
        assert_eq!(
            m,
            RtoMeasure {
                objective_ms: Some(1_000),
                started_at: Some(0),
                ended_at: Some(1200),
                wall_ms: 1200,
                between_segments_ms: 700,
                approval_wait_ms: 200,
                operator_wait_ms: 900,
                excluding_operator_waits_ms: 300,
                exceeded: Some(true),
                finished: false,
            }
        );
    }
}
