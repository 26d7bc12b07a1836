//! The Markdown report: a summary table, the RTO and how it was counted, phases, tasks,
//! retries, approvals and failures, for a game-day write-up or a ticket.
//!
//! Every piece of journal text passes through [`cell`] or [`block`], so a `|` or a newline in an
//! error cannot break a table and a fence in an error cannot end a code block.

use std::fmt::Write;

use super::model::{AttemptReport, Counts, InstanceReport, Report};
use super::{duration, rto_verdict, timestamp};

/// Renders the report as GitHub-flavoured Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    summary(&mut out, report);
    phases(&mut out, report);
    tasks(&mut out, report);
    retries(&mut out, report);
    call_retries(&mut out, report);
    approvals(&mut out, report);
    failures(&mut out, report);
    segments(&mut out, report);
    out
}

fn summary(out: &mut String, report: &Report) {
    let run = &report.run;
    let rto = &report.rto;
    let kind = if run.drill { "Drill" } else { "Run" };
    let _ = writeln!(out, "# {kind} report: {}\n", cell(&run.runbook));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Run | `{}`{} |", cell(&run.run_id), if run.drill { " (drill)" } else { "" });
    let _ = writeln!(out, "| State | {} |", run.state);
    let _ = writeln!(out, "| Started by | {} |", cell(&run.started_by));
    if let Some(start) = rto.started_at {
        let _ = writeln!(out, "| Started | {} |", timestamp(start));
    }
    if let Some(end) = rto.ended_at {
        let _ = writeln!(out, "| Ended | {} |", timestamp(end));
    }
    let _ = writeln!(out, "| Measured RTO (wall time) | {} |", duration(rto.wall_ms));
    let _ = writeln!(out, "| Excluding operator waits | {} |", duration(rto.excluding_operator_waits_ms));
    let objective = match (rto.objective_ms, rto.exceeded) {
        (Some(o), Some(true)) => format!("{} — **exceeded** by {}", duration(o), duration(rto.wall_ms - o)),
        (Some(o), _) if !rto.finished => format!("{} — **not met**: the recovery did not complete", duration(o)),
        (Some(o), _) => format!("{} — met", duration(o)),
        (None, _) => "none set".to_owned(),
    };
    let _ = writeln!(out, "| RTO objective | {objective} |");
    let _ = writeln!(out, "| Tasks | {} |", counts(&run.counts));
    if !rto.finished {
        let _ = writeln!(out, "\nThe run has not succeeded (it is {}): the times cover it so far.", run.state);
    }
    if let Some(problem) = &report.runbook_problem {
        let _ =
            writeln!(out, "\nThe runbook kept with the run could not be loaded, so phases and actions are unknown:");
        block(out, problem);
    }
    let _ = writeln!(out, "\n{}.\n", rto_verdict(rto));
    let _ = writeln!(
        out,
        "The measured RTO runs from the start of the first run segment to the end of the last, \
         pauses included. Operator waits ({}) are the gaps between segments ({}, while the run \
         was paused or stopped) plus the time an approval waited while no task was running ({}).\n",
        duration(rto.operator_wait_ms),
        duration(rto.between_segments_ms),
        duration(rto.approval_wait_ms)
    );
}

fn counts(c: &Counts) -> String {
    let mut parts = vec![format!("{} succeeded", c.succeeded)];
    for (n, what) in
        [(c.failed, "failed"), (c.skipped, "skipped"), (c.cancelled, "cancelled"), (c.unfinished, "unfinished")]
    {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    format!("{} of {}", parts.join(", "), c.total)
}

fn phases(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Phases\n");
    let _ = writeln!(out, "| Phase | First start | Last end | Wall time | Tasks |\n|---|---|---|---|---|");
    for p in &report.phases {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&p.name),
            opt_time(p.first_start),
            opt_time(p.last_end),
            p.wall_ms.map_or("—".to_owned(), duration),
            counts(&p.counts)
        );
    }
    out.push('\n');
}

fn tasks(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Tasks\n");
    let _ = writeln!(
        out,
        "| Task | Phase | Action | State | Start | End | Duration | Attempts | Retries |\n|---|---|---|---|---|---|---|---|---|"
    );
    for i in report.instances() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&i.id),
            cell(&i.phase),
            cell(&i.action),
            state_text(i),
            opt_time(i.start),
            opt_time(i.end),
            i.duration_ms.map_or("—".to_owned(), duration),
            i.attempts,
            i.retries
        );
    }
    out.push('\n');
}

fn state_text(i: &InstanceReport) -> String {
    match (&i.reason, i.checked) {
        (Some(reason), _) => format!("{} ({})", i.state, cell(reason)),
        (None, true) => format!("{} (already done)", i.state),
        (None, false) => i.state.clone(),
    }
}

/// Every attempt before the one that succeeded: failed, cancelled by a second Ctrl-C, or cut
/// off by a crash.
fn earlier(i: &InstanceReport) -> Vec<&AttemptReport> {
    let last = i.attempt_log.iter().map(|a| a.attempt).max().unwrap_or(0);
    i.attempt_log.iter().filter(|a| a.attempt < last || a.error.is_some()).collect()
}

fn retries(out: &mut String, report: &Report) {
    let retried: Vec<&InstanceReport> =
        report.instances().filter(|i| i.state == "succeeded" && !earlier(i).is_empty()).collect();
    if retried.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Retries\n");
    for i in retried {
        let _ = writeln!(out, "- **{}** succeeded on attempt {}:", cell(&i.id), i.attempts);
        for a in earlier(i) {
            let (class, what) = match (&a.error, a.cancelled) {
                (Some(error), _) => (a.class.as_deref().unwrap_or("error"), error.as_str()),
                (None, true) => ("cancelled", "stopped by a second Ctrl-C"),
                (None, false) => ("interrupted", "cut off when the run stopped"),
            };
            let _ = writeln!(
                out,
                "  - attempt {} ({class}, {}): {}",
                a.attempt,
                a.duration_ms.map_or("cut off".to_owned(), duration),
                cell(what)
            );
        }
    }
    out.push('\n');
}

/// Calls retried by a service client within an attempt: throttling and 5xx answers that cost
/// time without failing the attempt.
fn call_retries(out: &mut String, report: &Report) {
    let retried: Vec<(&InstanceReport, &AttemptReport)> = report
        .instances()
        .flat_map(|i| i.attempt_log.iter().filter(|a| a.call_retries > 0).map(move |a| (i, a)))
        .collect();
    if retried.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Service calls retried
"
    );
    for (i, a) in retried {
        let _ = writeln!(
            out,
            "- **{}** attempt {}: {} {} retried; the last after: {}",
            cell(&i.id),
            a.attempt,
            a.call_retries,
            if a.call_retries == 1 { "call" } else { "calls" },
            cell(a.call_retry_last.as_deref().unwrap_or("?"))
        );
    }
    out.push('\n');
}

fn approvals(out: &mut String, report: &Report) {
    if report.approvals.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Approvals\n");
    let _ = writeln!(out, "| Task | Decision | By | Host | When | Waited | Reason |\n|---|---|---|---|---|---|---|");
    for a in &report.approvals {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&a.task),
            a.decision,
            cell(&a.user),
            cell(&a.host),
            timestamp(a.at),
            a.waited_ms.map_or("—".to_owned(), duration),
            cell(&a.reason)
        );
    }
    out.push('\n');
}

fn failures(out: &mut String, report: &Report) {
    if report.failures.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Failures\n");
    for f in &report.failures {
        let _ = writeln!(out, "### {} ({}, phase {})\n", cell(&f.task), f.state, cell(&f.phase));
        if let Some(at) = f.at {
            // A denied approval, or a task whose inputs were refused, made no attempt.
            match f.attempts_made {
                0 => writeln!(out, "At {}, without an attempt.", timestamp(at)),
                1 => writeln!(out, "At {} after 1 attempt.", timestamp(at)),
                n => writeln!(out, "At {} after {n} attempts.", timestamp(at)),
            }
            .unwrap_or_default();
        }
        block(out, &f.error);
        let earlier: Vec<_> = f.attempts.iter().filter(|a| a.error.as_deref() != Some(f.error.as_str())).collect();
        for a in earlier {
            let _ = writeln!(
                out,
                "- attempt {} ({}): {}",
                a.attempt,
                a.class.as_deref().unwrap_or("error"),
                cell(a.error.as_deref().unwrap_or_default())
            );
        }
        out.push('\n');
    }
}

fn segments(out: &mut String, report: &Report) {
    if report.run.segments.len() < 2 && report.audit.iter().all(|a| a.action == "approve" || a.action == "deny") {
        return;
    }
    let _ = writeln!(out, "## Segments and operator actions\n");
    for s in &report.run.segments {
        let _ = writeln!(
            out,
            "- {} → {}: {} by {}, {}",
            timestamp(s.start),
            timestamp(s.end),
            if s.resumed { "resumed" } else { "started" },
            cell(&s.by),
            s.state.as_deref().unwrap_or("crashed")
        );
    }
    for a in report.audit.iter().filter(|a| a.action != "approve" && a.action != "deny") {
        let task = a.task.as_deref().map(|t| format!(" {}", cell(t))).unwrap_or_default();
        let reason = if a.reason.is_empty() { String::new() } else { format!(": {}", cell(&a.reason)) };
        let _ =
            writeln!(out, "- {} {}{task} by {}@{}{reason}", timestamp(a.at), a.action, cell(&a.user), cell(&a.host));
    }
    out.push('\n');
}

fn opt_time(at: Option<u64>) -> String {
    at.map_or("—".to_owned(), timestamp)
}

/// Text for a table cell or a list item: one line, pipes escaped, Markdown markup inert.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '[' | ']' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c if crate::ui::disguises(c) => out.extend(c.escape_default()),
            _ => out.push(c),
        }
    }
    out
}

/// A fenced code block long enough that no backtick run in `text` can close it.
fn block(out: &mut String, text: &str) {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}text\n{}\n{fence}", crate::ui::printable(text.trim_end()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_tables() {
        assert_eq!(cell("a|b\nc_d*"), r"a\|b c_d\*");
        assert_eq!(cell("\u{1b}[2Jfine"), r"\u{1b}\[2Jfine");
        let mut out = String::new();
        block(&mut out, "\u{1b}[32mOK\nnext");
        assert_eq!(out, "```text\n\\u{1b}[32mOK\nnext\n```\n");
        let mut out = String::new();
        block(&mut out, "x ``` y");
        assert_eq!(out, "````text\nx ``` y\n````\n");
    }
}
