//! Finds the paths an expression reads (`params.region`, `tasks.make-app.outputs.id`).
//!
//! Validation uses these to check names before anything runs, and the graph builder uses
//! `tasks.<id>` references as implicit dependency edges. This module only reads the tree; it
//! never resolves a reference against a scope.

use std::fmt;
use std::ops::Range;

use serde_json::Value;

use super::ast::{BinaryOp, Expr, ExprKind};
use super::functions::Function;

/// A path rooted at a top-level name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `params`, `tasks`, `each`, `run`, `env`, ...
    pub root: String,
    /// Member names after the root, up to the first index that is not a literal: `a['x']`
    /// gives `x`, `a[0]` gives `0`, and `a[each.key].b` stops before `[each.key]`.
    pub path: Vec<String>,
    /// Every member or index after the root: its name, or `None` for an index that is not a
    /// literal. `tasks.a.outputs[each.x].id` gives `a`, `outputs`, `None`, `id`.
    pub segments: Vec<Option<String>>,
    /// Byte range of the root and the path (not of anything after it).
    pub range: Range<usize>,
    /// True when the chain stands where a missing value gives a fallback: the first argument
    /// of `default(...)`, or an operand of `||` other than the last.
    pub fallback: bool,
}

impl Reference {
    /// For `tasks.<id>...`, the task id.
    pub fn task_id(&self) -> Option<&str> {
        match self.root.as_str() {
            "tasks" => self.path.first().map(String::as_str),
            _ => None,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.root)?;
        for segment in &self.path {
            write!(f, ".{segment}")?;
        }
        Ok(())
    }
}

/// Every reference in `expr`, ordered by where it starts.
pub(crate) fn references(expr: &Expr) -> Vec<Reference> {
    let mut out = Vec::new();
    walk(expr, &mut out, false);
    out.sort_by_key(|r| r.range.start);
    out
}

/// `fallback`: whether `expr` stands where a missing value gives a fallback (see
/// [`Reference::fallback`]). Only a chain itself can be given one: what a call, a list or an
/// operator computes from a missing value fails before it is done.
fn walk(expr: &Expr, out: &mut Vec<Reference>, fallback: bool) {
    match expr.kind() {
        ExprKind::Literal(_) => {}
        ExprKind::Call { function, args } if function.node == Function::Default && args.len() == 2 => {
            walk(&args[0], out, true);
            walk(&args[1], out, false);
        }
        ExprKind::List(items) | ExprKind::Call { args: items, .. } => {
            items.iter().for_each(|item| walk(item, out, false));
        }
        ExprKind::Unary { operand, .. } => walk(operand, out, false),
        // In `a || b || c`, `a || b` is the left side: both `a` and `b` have a fallback.
        ExprKind::Binary { op: BinaryOp::Or, lhs, rhs } => {
            walk(lhs, out, true);
            walk(rhs, out, fallback);
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            walk(lhs, out, false);
            walk(rhs, out, false);
        }
        ExprKind::Name(_) | ExprKind::Member { .. } | ExprKind::Index { .. } => chain(expr, out, fallback),
    }
}

/// A postfix chain like `tasks.a.outputs[each.x].id`: one reference for its rooted prefix,
/// plus whatever the non-literal indexes (and a non-name base) reference.
fn chain(expr: &Expr, out: &mut Vec<Reference>, fallback: bool) {
    let mut links = Vec::new();
    let mut base = expr;
    while let ExprKind::Member { object, .. } | ExprKind::Index { object, .. } = base.kind() {
        links.push(base);
        base = object;
    }
    links.reverse();

    let ExprKind::Name(root) = base.kind() else {
        walk(base, out, false);
        for link in links {
            if let ExprKind::Index { index, .. } = link.kind() {
                walk(index, out, false);
            }
        }
        return;
    };

    let mut path = Vec::new();
    let mut segments = Vec::with_capacity(links.len());
    let mut end = base.span().end;
    let mut literal = true;
    for link in links {
        let segment = match link.kind() {
            ExprKind::Member { name, .. } => Some(name.node.clone()),
            ExprKind::Index { index, .. } => {
                walk(index, out, false);
                literal_segment(index)
            }
            _ => None,
        };
        segments.push(segment.clone());
        match segment {
            Some(segment) if literal => {
                path.push(segment);
                end = link.span().end;
            }
            _ => literal = false,
        }
    }
    out.push(Reference { root: root.clone(), path, segments, range: base.span().start..end, fallback });
}

fn literal_segment(index: &Expr) -> Option<String> {
    match index.kind() {
        ExprKind::Literal(Value::String(s)) => Some(s.clone()),
        ExprKind::Literal(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::expr::parse_expr;

    fn refs(src: &str) -> Vec<(String, Range<usize>)> {
        parse_expr(src).unwrap().references().into_iter().map(|r| (r.to_string(), r.range)).collect()
    }

    #[test]
    fn dynamic_index_stops_the_path_and_adds_its_own_reference() {
        let src = "tasks.make-app.outputs[each.x].id";
        let all = parse_expr(src).unwrap().references();
        assert_eq!(
            all,
            vec![
                Reference {
                    root: "tasks".into(),
                    path: vec!["make-app".into(), "outputs".into()],
                    segments: vec![Some("make-app".into()), Some("outputs".into()), None, Some("id".into())],
                    range: 0..22,
                    fallback: false
                },
                Reference {
                    root: "each".into(),
                    path: vec!["x".into()],
                    segments: vec![Some("x".into())],
                    range: 23..29,
                    fallback: false
                },
            ]
        );
        assert_eq!(&src[0..22], "tasks.make-app.outputs");
        assert_eq!(all[0].task_id(), Some("make-app"));
        assert_eq!(all[1].task_id(), None);
    }

    #[test]
    fn chains_in_a_fallbacks_place_are_marked() {
        let marked = |src: &str| -> Vec<(String, bool)> {
            parse_expr(src).unwrap().references().into_iter().map(|r| (r.to_string(), r.fallback)).collect()
        };
        assert_eq!(
            marked("default(a.x, b) || c.y || d"),
            vec![("a.x".into(), true), ("b".into(), false), ("c.y".into(), true), ("d".into(), false)]
        );
        // Only a chain itself: what a call or an operator computes from it fails first.
        assert_eq!(marked("default(join(a), 'x')"), vec![("a".into(), false)]);
        assert_eq!(marked("!a || b[c]"), vec![("a".into(), false), ("b".into(), false), ("c".into(), false)]);
        assert_eq!(marked("a[b] || 'x'"), vec![("a".into(), true), ("b".into(), false)]);
    }

    #[test]
    fn literal_indexes_extend_the_path() {
        assert_eq!(
            refs("params['dest-region'] == run.items[0].name"),
            vec![("params.dest-region".to_string(), 0..21), ("run.items.0.name".to_string(), 25..42),]
        );
    }

    #[test]
    fn references_inside_calls_lists_and_operators() {
        assert_eq!(
            refs("!contains([a, b.c], format('{0}', d['k'])) || e"),
            vec![
                ("a".to_string(), 11..12),
                ("b.c".to_string(), 14..17),
                ("d.k".to_string(), 34..40),
                ("e".to_string(), 46..47),
            ]
        );
    }

    #[test]
    fn chains_on_non_names_only_report_their_parts() {
        assert_eq!(
            refs("fromJSON(x.json).items[y].id"),
            vec![("x.json".to_string(), 9..15), ("y".to_string(), 23..24)]
        );
        assert_eq!(refs("'literal' == 1"), vec![]);
    }

    #[test]
    fn nested_dynamic_indexes() {
        assert_eq!(
            refs("tasks[each.task].outputs[params.keys[each.i]]"),
            vec![
                ("tasks".to_string(), 0..5),
                ("each.task".to_string(), 6..15),
                ("params.keys".to_string(), 25..36),
                ("each.i".to_string(), 37..43),
            ]
        );
    }
}
