//! A plan as text for a person.

use std::fmt::Write;
use std::time::Duration;

use serde_json::Value;

use super::Plan;
use crate::runbook::duration::format_duration;

fn ms(ms: u64) -> String {
    format_duration(Duration::from_millis(ms))
}

/// A value as the plan shows it: a text's control characters other than line breaks and tabs
/// (an escape sequence) written as escapes, so that a parameter cannot restyle the terminal.
fn inline(value: &Value) -> String {
    match value {
        Value::String(s) => crate::ui::printable(s).into_owned(),
        other => other.to_string(),
    }
}

/// The plan as aligned text: waves, tasks with their inputs, critical path and RTO.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {} ({}, sha256 {})",
        crate::ui::one_line(&plan.runbook),
        plan.runbook_path,
        &plan.runbook_sha256[..12.min(plan.runbook_sha256.len())]
    );
    if !plan.params.is_empty() {
        // One line: a parameter's line breaks cannot pose as lines of the plan.
        let shown: Vec<String> =
            plan.params.iter().map(|(k, v)| format!("{k}={}", crate::ui::one_line(&inline(v)))).collect();
        let _ = writeln!(out, "Params: {}", shown.join(", "));
    }
    let tasks: usize = plan.waves.iter().map(Vec::len).sum();
    for (n, wave) in plan.waves.iter().enumerate() {
        let _ = writeln!(out, "\nWave {} ({} task{})", n + 1, wave.len(), if wave.len() == 1 { "" } else { "s" });
        for task in wave {
            let phase = task.phase.as_deref().unwrap_or("-");
            let _ = write!(out, "  {} {} {}", crate::ui::pad(&task.id, 28), crate::ui::pad(phase, 14), task.uses);
            if !task.needs.is_empty() {
                let _ = write!(out, "  needs {}", task.needs.join(", "));
            }
            out.push('\n');
            // What a parameter can reach (a condition, a refusal) is shown on one line with its
            // control characters escaped, like the parameters: it cannot pose as plan lines.
            if let Some(c) = &task.condition {
                let _ = writeln!(out, "      if: {}", crate::ui::one_line(c));
            }
            if let Some(f) = &task.for_each {
                let _ = writeln!(out, "      for_each: {}", crate::ui::one_line(&inline(f)));
            }
            if let Some(why) = &task.skipped {
                let _ = writeln!(out, "      skipped: {}", crate::ui::one_line(why));
            }
            for error in &task.errors {
                let _ = writeln!(out, "      ERROR {}", crate::ui::one_line(error));
            }
            if let Value::Object(inputs) = &task.inputs {
                for (k, v) in inputs {
                    // A multi-line value (a script) keeps its lines under the key, indented.
                    let text = inline(v);
                    let mut lines = text.lines();
                    let _ = writeln!(out, "      {k}: {}", lines.next().unwrap_or_default());
                    for line in lines {
                        let _ = writeln!(out, "      {:width$}  {line}", "", width = k.len());
                    }
                }
            }
            let mut settings = Vec::new();
            if task.retry_attempts > 1 {
                settings.push(format!("attempts {}", task.retry_attempts));
            }
            if let Some(t) = task.timeout_ms {
                settings.push(format!("timeout {}", ms(t)));
            }
            if task.on_failure != "abort" {
                settings.push(format!("on_failure {}", task.on_failure));
            }
            if task.estimate_ms > 0 {
                settings.push(format!("est. {}", ms(task.estimate_ms)));
            }
            if !settings.is_empty() {
                let _ = writeln!(out, "      ({})", settings.join(", "));
            }
        }
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "\n{} in {}, parallelism {}",
        plural(tasks, "task"),
        plural(plan.waves.len(), "wave"),
        plan.parallelism
    );
    let _ = writeln!(out, "Critical path: {} (est. {})", plan.critical_path.join(" → "), ms(plan.critical_path_ms));
    // Plans saved before the whole-run estimate existed have only the critical path.
    let estimated = plan.estimated_ms.max(plan.critical_path_ms);
    if estimated > plan.critical_path_ms {
        let _ = writeln!(
            out,
            "Estimated run: {} (parallelism {} and concurrency limits hold tasks back)",
            ms(estimated),
            plan.parallelism
        );
    }
    match plan.rto_ms {
        Some(rto) => {
            let pct = if rto > 0 { estimated as f64 * 100.0 / rto as f64 } else { 0.0 };
            let verdict = if estimated > rto { "  ✖ over the objective" } else { "" };
            let _ = writeln!(out, "RTO: objective {}, estimated {} ({pct:.0}%){verdict}", ms(rto), ms(estimated));
        }
        None => {
            let _ = writeln!(out, "RTO: no objective set");
        }
    }
    if plan.critical_path_ms == 0 {
        let _ = writeln!(out, "  (no estimates yet: set `estimate:` on tasks, or run a drill to measure them)");
    }
    out
}
