//! The HTML report: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
//! with the RTO verdict, a timeline of the run — one bar per task instance, grouped by phase,
//! coloured by state, each with a hover title — and tables of phases, tasks, approvals and
//! failures.
//!
//! Every piece of journal text goes through [`esc`] before it reaches the page.

use std::fmt::Write;

use quick_xml::escape::escape;

use super::junit::xml_safe;
use super::model::{InstanceReport, Report};
use super::{duration, rto_verdict, timestamp};

const WIDTH: u64 = 1100;
const LABEL: u64 = 300;
const CHART: u64 = WIDTH - LABEL - 30;
const ROW: u64 = 20;
const HEADER: u64 = 24;
const AXIS: u64 = 28;

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1140px; color: #1f2328; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; white-space: pre-wrap; }
.verdict { padding: 8px 12px; border-radius: 6px; font-weight: 600; }
.verdict.met { background: #dafbe1; }
.verdict.exceeded { background: #ffebe9; }
.verdict.none { background: #f6f8fa; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2328; }
svg text.phase { font-weight: 600; }
svg text.tick { fill: #57606a; font-size: 11px; }
svg line.grid { stroke: #eaeef2; }
svg rect.band { fill: #f6f8fa; }
.bar.succeeded, .key.succeeded { fill: #2e9d4f; background: #2e9d4f; }
.bar.failed, .key.failed { fill: #d9453b; background: #d9453b; }
.bar.cancelled, .key.cancelled { fill: #b06d00; background: #b06d00; }
.bar.skipped, .key.skipped { fill: #9aa0a6; background: #9aa0a6; }
.bar.running, .key.running { fill: #2f6fd6; background: #2f6fd6; }
.bar.pending, .key.pending { fill: #d0d7de; background: #d0d7de; }
.bar.awaiting-approval, .key.awaiting-approval { fill: #e0a400; background: #e0a400; }
.bar.approval { fill-opacity: 0.55; }
rect.try { fill: #d9453b; fill-opacity: 0.45; }
.key { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: -1px; }
"#;

/// Renders the report as one HTML page.
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let run = &report.run;
    let kind = if run.drill { "Drill" } else { "Run" };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{kind} report: {} ({})</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&run.runbook),
        esc(&run.run_id)
    );
    let _ = writeln!(out, "<h1>{kind} report: {}</h1>", esc(&run.runbook));
    summary(&mut out, report);
    timeline(&mut out, report);
    phases(&mut out, report);
    tasks(&mut out, report);
    approvals(&mut out, report);
    failures(&mut out, report);
    out.push_str("</body>\n</html>\n");
    out
}

fn summary(out: &mut String, report: &Report) {
    let run = &report.run;
    let rto = &report.rto;
    let class = match rto.met() {
        Some(false) => "exceeded",
        Some(true) => "met",
        None => "none",
    };
    let _ = writeln!(out, "<p class=\"verdict {class}\">{}</p>", esc(&rto_verdict(rto)));
    let _ = writeln!(out, "<table>");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(out, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    };
    row("Run", format!("{}{}", esc(&run.run_id), if run.drill { " (drill)" } else { "" }));
    row("State", esc(&run.state));
    row("Started by", esc(&run.started_by));
    if let Some(s) = rto.started_at {
        row("Started", timestamp(s));
    }
    if let Some(e) = rto.ended_at {
        row("Ended", timestamp(e));
    }
    row("Measured RTO (wall time)", duration(rto.wall_ms));
    row("Excluding operator waits", duration(rto.excluding_operator_waits_ms));
    row(
        "Operator waits",
        format!(
            "{} ({} between segments, {} approvals alone)",
            duration(rto.operator_wait_ms),
            duration(rto.between_segments_ms),
            duration(rto.approval_wait_ms)
        ),
    );
    row("RTO objective", rto.objective_ms.map_or("none set".to_owned(), duration));
    let c = &run.counts;
    row(
        "Tasks",
        format!(
            "{} total: {} succeeded, {} failed, {} skipped, {} cancelled, {} unfinished",
            c.total, c.succeeded, c.failed, c.skipped, c.cancelled, c.unfinished
        ),
    );
    let _ = writeln!(out, "</table>");
    if let Some(problem) = &report.runbook_problem {
        let _ = writeln!(
            out,
            "<p>The runbook kept with the run could not be loaded; phases and actions are unknown:</p><pre>{}</pre>",
            esc(problem)
        );
    }
}

/// The SVG timeline: a header row per phase, then one bar per instance.
fn timeline(out: &mut String, report: &Report) {
    let starts = report.instances().filter_map(|i| i.start).chain(report.rto.started_at);
    let ends = report.instances().filter_map(|i| i.end).chain(report.rto.ended_at);
    let t0 = starts.min().unwrap_or(0);
    let t1 = ends.max().unwrap_or(t0).max(t0 + 1);
    let span = t1 - t0;
    let x = |t: u64| LABEL + (t.saturating_sub(t0).min(span)) * CHART / span;
    let rows: u64 = report.phases.iter().map(|p| p.instances.len() as u64).sum();
    let height = AXIS + report.phases.len() as u64 * HEADER + rows * ROW + 10;
    let _ = writeln!(out, "<h2>Timeline</h2>");
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"task timeline\">"
    );
    for n in 0..=4u64 {
        let t = t0 + span * n / 4;
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{0}\" y1=\"{AXIS}\" x2=\"{0}\" y2=\"{height}\"/><text class=\"tick\" x=\"{0}\" y=\"16\" text-anchor=\"middle\">+{1}</text>",
            x(t),
            duration(t - t0)
        );
    }
    let mut y = AXIS;
    for phase in &report.phases {
        let wall = phase.wall_ms.map(|w| format!(" — {}", duration(w))).unwrap_or_default();
        if let (Some(s), Some(e)) = (phase.first_start, phase.last_end) {
            let _ = writeln!(
                out,
                "<rect class=\"band\" x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{}\"/>",
                x(s),
                (x(e) - x(s)).max(1),
                HEADER + phase.instances.len() as u64 * ROW
            );
        }
        let _ =
            writeln!(out, "<text class=\"phase\" x=\"4\" y=\"{}\">{}{}</text>", y + 16, esc(&phase.name), esc(&wall));
        y += HEADER;
        for inst in &phase.instances {
            bar(out, inst, y, &x);
            y += ROW;
        }
    }
    let _ = writeln!(out, "</svg>");
    let _ = write!(out, "<p>");
    for state in ["succeeded", "failed", "cancelled", "skipped", "running", "awaiting approval", "pending"] {
        let _ = write!(out, "<span class=\"key {}\"></span>{state}", class_of(state));
    }
    let _ = writeln!(out, "</p>");
}

fn bar(out: &mut String, inst: &InstanceReport, y: u64, x: &dyn Fn(u64) -> u64) {
    let label: String = inst.id.chars().take(44).collect();
    let _ = writeln!(out, "<text x=\"14\" y=\"{}\">{}</text>", y + 14, esc(&label));
    let (from, to) = match (inst.start, inst.end) {
        (Some(s), Some(e)) => (x(s), x(e)),
        (Some(s), None) => (x(s), x(u64::MAX)),
        (None, Some(e)) => (x(e), x(e)),
        (None, None) => (LABEL, LABEL),
    };
    let approval = if inst.approval { " approval" } else { "" };
    let _ = writeln!(
        out,
        "<rect class=\"bar {}{approval}\" x=\"{from}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\"><title>{}</title></rect>",
        class_of(&inst.state),
        y + 3,
        (to.saturating_sub(from)).max(2),
        ROW - 6,
        esc(&hover(inst))
    );
    for a in inst.attempt_log.iter().filter(|a| a.error.is_some()) {
        let (s, e) = (x(a.start), x(a.end.unwrap_or(a.start)));
        let _ = writeln!(
            out,
            "<rect class=\"try\" x=\"{s}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
            y + 3,
            (e.saturating_sub(s)).max(1),
            ROW - 6,
            esc(&format!("{} attempt {} failed: {}", inst.id, a.attempt, a.error.as_deref().unwrap_or_default()))
        );
    }
}

/// The hover title of a bar: what, when, how long, how many attempts, and why it failed.
fn hover(inst: &InstanceReport) -> String {
    let mut text = format!("{} ({}, {}) — {}", inst.id, inst.action, inst.phase, inst.state);
    if let Some(s) = inst.start {
        text.push_str(&format!("\nstart {}", timestamp(s)));
    }
    if let Some(e) = inst.end {
        text.push_str(&format!("\nend {}", timestamp(e)));
    }
    if let Some(d) = inst.duration_ms {
        text.push_str(&format!("\nduration {}", duration(d)));
    }
    if inst.attempts > 0 {
        text.push_str(&format!("\nattempts {} (retries {})", inst.attempts, inst.retries));
    }
    let calls: u32 = inst.attempt_log.iter().map(|a| a.call_retries).sum();
    if calls > 0 {
        text.push_str(&format!("\nservice calls retried {calls}"));
    }
    if let Some(e) = inst.error.as_deref().or(inst.reason.as_deref()) {
        text.push_str(&format!("\n{e}"));
    }
    text
}

fn phases(out: &mut String, report: &Report) {
    let _ = writeln!(out, "<h2>Phases</h2>\n<table>\n<tr><th>Phase</th><th>First start</th><th>Last end</th><th>Wall time</th><th>Tasks</th><th>Failed</th></tr>");
    for p in &report.phases {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&p.name),
            opt_time(p.first_start),
            opt_time(p.last_end),
            p.wall_ms.map_or("—".to_owned(), duration),
            p.counts.total,
            p.counts.failed + p.counts.cancelled
        );
    }
    let _ = writeln!(out, "</table>");
}

fn tasks(out: &mut String, report: &Report) {
    let _ = writeln!(out, "<h2>Tasks</h2>\n<table>\n<tr><th>Task</th><th>Phase</th><th>Action</th><th>State</th><th>Start</th><th>Duration</th><th>Attempts</th><th>Retries</th></tr>");
    for i in report.instances() {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&i.id),
            esc(&i.phase),
            esc(&i.action),
            esc(&i.state),
            opt_time(i.start),
            i.duration_ms.map_or("—".to_owned(), duration),
            i.attempts,
            i.retries
        );
    }
    let _ = writeln!(out, "</table>");
}

fn approvals(out: &mut String, report: &Report) {
    if report.approvals.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>Approvals</h2>\n<table>\n<tr><th>Task</th><th>Decision</th><th>By</th><th>Host</th><th>When</th><th>Waited</th><th>Reason</th></tr>");
    for a in &report.approvals {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&a.task),
            esc(&a.decision),
            esc(&a.user),
            esc(&a.host),
            timestamp(a.at),
            a.waited_ms.map_or("—".to_owned(), duration),
            esc(&a.reason)
        );
    }
    let _ = writeln!(out, "</table>");
}

fn failures(out: &mut String, report: &Report) {
    if report.failures.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>Failures</h2>");
    for f in &report.failures {
        let _ = writeln!(
            out,
            "<h3>{} ({}, phase {})</h3>\n<pre>{}</pre>",
            esc(&f.task),
            esc(&f.state),
            esc(&f.phase),
            esc(&f.error)
        );
    }
}

fn opt_time(at: Option<u64>) -> String {
    at.map_or("—".to_owned(), timestamp)
}

/// A state as a CSS class name.
fn class_of(state: &str) -> String {
    state.replace(' ', "-")
}

/// Text made safe for HTML content and attribute values.
fn esc(text: &str) -> String {
    escape(xml_safe(text).as_ref()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(esc("<script>\"x\" & 'y'\u{7}"), "&lt;script&gt;&quot;x&quot; &amp; &apos;y&apos;\u{FFFD}");
    }
}
