//! JUnit XML for CI schedulers: one `<testsuite>` per phase, one `<testcase>` per task
//! instance (failed and cancelled instances carry a `<failure>`, skipped and unfinished ones a
//! `<skipped>`), times in seconds; plus a suite `drctl objectives` with one `rto` case that fails
//! when the measured RTO is over the objective, when the runbook sets one.
//!
//! quick-xml writes and escapes every element; [`xml_safe`] also drops the control characters
//! XML 1.0 cannot carry at all (a shell's colour codes in an error, say).

use std::borrow::Cow;
use std::io;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::model::{InstanceReport, PhaseReport, Report};
use super::{duration, rto_verdict, timestamp, timestamp_seconds, ReportError};

/// Name of the extra suite holding the RTO check.
pub const OBJECTIVES_SUITE: &str = "drctl objectives";

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> Result<String, ReportError> {
    write(report).map_err(|e| ReportError::Render { format: "junit", reason: e.to_string() })
}

fn write(report: &Report) -> io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let cases = report.run.counts.total + usize::from(report.rto.objective_ms.is_some());
    let failures =
        report.run.counts.failed + report.run.counts.cancelled + usize::from(report.rto.met() == Some(false));
    let skipped = report.run.counts.skipped + report.run.counts.unfinished;
    let mut suites = w
        .create_element("testsuites")
        .with_attribute(("name", xml_safe(&report.run.runbook).as_ref()))
        .with_attribute(("tests", cases.to_string().as_str()))
        .with_attribute(("failures", failures.to_string().as_str()))
        .with_attribute(("errors", "0"))
        .with_attribute(("skipped", skipped.to_string().as_str()))
        .with_attribute(("time", seconds(report.rto.wall_ms).as_str()));
    if let Some(start) = report.rto.started_at {
        suites = suites.with_attribute(("timestamp", timestamp_seconds(start).as_str()));
    }
    suites.write_inner_content(|w| {
        for phase in &report.phases {
            suite(w, report, phase)?;
        }
        objectives(w, report)
    })?;
    String::from_utf8(w.into_inner()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn suite(w: &mut Writer<Vec<u8>>, report: &Report, phase: &PhaseReport) -> io::Result<()> {
    let c = &phase.counts;
    let mut el = w
        .create_element("testsuite")
        .with_attribute(("name", xml_safe(&phase.name).as_ref()))
        .with_attribute(("tests", c.total.to_string().as_str()))
        .with_attribute(("failures", (c.failed + c.cancelled).to_string().as_str()))
        .with_attribute(("errors", "0"))
        .with_attribute(("skipped", (c.skipped + c.unfinished).to_string().as_str()))
        .with_attribute(("time", seconds(phase.wall_ms.unwrap_or(0)).as_str()));
    if let Some(start) = phase.first_start {
        el = el.with_attribute(("timestamp", timestamp_seconds(start).as_str()));
    }
    el.write_inner_content(|w| {
        for inst in &phase.instances {
            case(w, report, inst)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn case(w: &mut Writer<Vec<u8>>, report: &Report, inst: &InstanceReport) -> io::Result<()> {
    let classname = format!("{}.{}", report.run.runbook, inst.phase);
    let el = w
        .create_element("testcase")
        .with_attribute(("name", xml_safe(&inst.id).as_ref()))
        .with_attribute(("classname", xml_safe(&classname).as_ref()))
        .with_attribute(("time", seconds(inst.duration_ms.unwrap_or(0)).as_str()));
    el.write_inner_content(|w| {
        match inst.state.as_str() {
            "succeeded" => {}
            "failed" | "cancelled" => {
                let error = inst.error.as_deref().unwrap_or(&inst.state);
                w.create_element("failure")
                    .with_attribute(("message", xml_safe(first_line(error)).as_ref()))
                    .with_attribute(("type", inst.state.as_str()))
                    .write_text_content(BytesText::new(&xml_safe(&attempt_text(inst, error))))?;
            }
            "skipped" => {
                let reason = inst.reason.as_deref().unwrap_or("skipped");
                w.create_element("skipped").with_attribute(("message", xml_safe(reason).as_ref())).write_empty()?;
            }
            other => {
                let message = format!("not finished: {other}");
                w.create_element("skipped").with_attribute(("message", message.as_str())).write_empty()?;
            }
        }
        if inst.attempts > 0 || inst.approval {
            w.create_element("system-out").write_text_content(BytesText::new(&xml_safe(&system_out(inst))))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The suite with the RTO check, when the runbook sets an objective.
fn objectives(w: &mut Writer<Vec<u8>>, report: &Report) -> io::Result<()> {
    let rto = &report.rto;
    let Some(objective) = rto.objective_ms else { return Ok(()) };
    let missed = rto.met() == Some(false);
    let mut el = w
        .create_element("testsuite")
        .with_attribute(("name", OBJECTIVES_SUITE))
        .with_attribute(("tests", "1"))
        .with_attribute(("failures", if missed { "1" } else { "0" }))
        .with_attribute(("errors", "0"))
        .with_attribute(("skipped", "0"))
        .with_attribute(("time", seconds(rto.wall_ms).as_str()));
    if let Some(start) = rto.started_at {
        el = el.with_attribute(("timestamp", timestamp_seconds(start).as_str()));
    }
    el.write_inner_content(|w| {
        w.create_element("properties").write_inner_content(|w| {
            let props = [
                ("run_id", report.run.run_id.clone()),
                ("drill", report.run.drill.to_string()),
                ("state", report.run.state.clone()),
                ("rto_objective_ms", objective.to_string()),
                ("rto_measured_ms", rto.wall_ms.to_string()),
                ("excluding_operator_waits_ms", rto.excluding_operator_waits_ms.to_string()),
                ("operator_wait_ms", rto.operator_wait_ms.to_string()),
            ];
            for (name, value) in props {
                w.create_element("property")
                    .with_attribute(("name", name))
                    .with_attribute(("value", xml_safe(&value).as_ref()))
                    .write_empty()?;
            }
            Ok(())
        })?;
        let classname = format!("{}.objectives", report.run.runbook);
        w.create_element("testcase")
            .with_attribute(("name", "rto"))
            .with_attribute(("classname", xml_safe(&classname).as_ref()))
            .with_attribute(("time", seconds(rto.wall_ms).as_str()))
            .write_inner_content(|w| {
                if missed {
                    w.create_element("failure")
                        .with_attribute(("message", rto_verdict(rto).as_str()))
                        .with_attribute(("type", "rto"))
                        .write_text_content(BytesText::new(&format!(
                            "{}; excluding operator waits {}",
                            rto_verdict(rto),
                            duration(rto.excluding_operator_waits_ms)
                        )))?;
                }
                Ok(())
            })?;
        Ok(())
    })?;
    Ok(())
}

/// The failure text: the final error, then each attempt's.
fn attempt_text(inst: &InstanceReport, error: &str) -> String {
    let mut text = error.to_owned();
    for a in inst.attempt_log.iter().filter(|a| a.error.is_some()) {
        text.push_str(&format!(
            "\nattempt {} ({}): {}",
            a.attempt,
            a.class.as_deref().unwrap_or("error"),
            a.error.as_deref().unwrap_or_default()
        ));
    }
    text
}

/// What the case's standard output shows: each attempt with its times.
fn system_out(inst: &InstanceReport) -> String {
    let mut lines = vec![format!("action {}, phase {}", inst.action, inst.phase)];
    let last = inst.attempt_log.len().saturating_sub(1);
    for (n, a) in inst.attempt_log.iter().enumerate() {
        let took = a.duration_ms.map_or("cut off".to_owned(), duration);
        let outcome = match &a.error {
            Some(e) => format!("failed: {e}"),
            // A second Ctrl-C ends the running attempt without an error of its own.
            None if a.cancelled || (n == last && inst.state == "cancelled") => "cancelled".to_owned(),
            None if a.end.is_some() => "ok".to_owned(),
            None => "did not finish".to_owned(),
        };
        lines.push(format!("attempt {} at {} ({took}): {outcome}", a.attempt, timestamp(a.start)));
    }
    if inst.approval {
        if let Some(start) = inst.start {
            lines.push(format!("approval waited from {}", timestamp(start)));
        }
    }
    lines.join("\n")
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `text` without the characters XML 1.0 forbids (C0 controls other than tab, newline and
/// carriage return, lone surrogates cannot occur in a `str`, U+FFFE and U+FFFF), each replaced
/// by U+FFFD so the reader sees something was there.
pub fn xml_safe(text: &str) -> Cow<'_, str> {
    let bad = |c: char| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}';
    if text.chars().any(bad) {
        Cow::Owned(text.chars().map(|c| if bad(c) { '\u{FFFD}' } else { c }).collect())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced_and_times_are_seconds() {
        assert_eq!(xml_safe("a\u{1b}[31mb\tc"), "a\u{FFFD}[31mb\tc");
        assert_eq!(seconds(1_234), "1.234");
        assert_eq!(seconds(5), "0.005");
    }
}
