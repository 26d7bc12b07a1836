//! The graph as Graphviz DOT or Mermaid text, grouped by phase.

use std::fmt::Write;

use crate::runbook::Runbook;

fn phases(runbook: &Runbook) -> Vec<(Option<&str>, Vec<usize>)> {
    let mut groups: Vec<(Option<&str>, Vec<usize>)> =
        runbook.phases.iter().map(|p| (Some(p.as_str()), Vec::new())).collect();
    let mut loose = Vec::new();
    for (i, task) in runbook.tasks.iter().enumerate() {
        match task.phase.as_deref().and_then(|p| groups.iter().position(|(name, _)| *name == Some(p))) {
            Some(g) => groups[g].1.push(i),
            None => loose.push(i),
        }
    }
    if !loose.is_empty() {
        groups.push((None, loose));
    }
    groups.retain(|(_, tasks)| !tasks.is_empty());
    groups
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz DOT, one cluster per phase; dashed edges come from expression references.
pub fn to_dot(runbook: &Runbook) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&runbook.name));
    let _ = writeln!(out, "  rankdir=LR;\n  node [shape=box, style=rounded];");
    for (n, (phase, tasks)) in phases(runbook).into_iter().enumerate() {
        let indent = if phase.is_some() { "    " } else { "  " };
        if let Some(p) = phase {
            let _ = writeln!(out, "  subgraph cluster_{n} {{\n    label={};", quote(p));
        }
        for t in tasks {
            let task = &runbook.tasks[t];
            let _ =
                writeln!(out, "{indent}{} [label={}];", quote(&task.id), quote(&format!("{}\n{}", task.id, task.uses)));
        }
        if phase.is_some() {
            let _ = writeln!(out, "  }}");
        }
    }
    for task in &runbook.tasks {
        for dep in &task.deps {
            let style = if dep.implicit { " [style=dashed]" } else { "" };
            let _ = writeln!(out, "  {} -> {}{style};", quote(&runbook.tasks[dep.task].id), quote(&task.id));
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart, one subgraph per phase.
pub fn to_mermaid(runbook: &Runbook) -> String {
    let node = |i: usize| format!("t{i}");
    let mut out = String::from("flowchart LR\n");
    for (n, (phase, tasks)) in phases(runbook).into_iter().enumerate() {
        let indent = if phase.is_some() { "    " } else { "  " };
        if let Some(p) = phase {
            // A generated id (a phase may be named `end`, or hold spaces) and the name as label.
            let _ = writeln!(out, "  subgraph phase_{n} [\"{}\"]", p.replace('"', "#quot;"));
        }
        for t in tasks {
            let task = &runbook.tasks[t];
            let _ = writeln!(
                out,
                "{indent}{}[\"{}<br/><small>{}</small>\"]",
                node(t),
                task.id.replace('"', "#quot;"),
                task.uses
            );
        }
        if phase.is_some() {
            let _ = writeln!(out, "  end");
        }
    }
    for (i, task) in runbook.tasks.iter().enumerate() {
        for dep in &task.deps {
            let arrow = if dep.implicit { "-.->" } else { "-->" };
            let _ = writeln!(out, "  {} {arrow} {}", node(dep.task), node(i));
        }
    }
    out
}
