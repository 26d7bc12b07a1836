//! Arithmetic on sets of time intervals (half-open `[start, end)` in milliseconds), used to
//! tell how much of a run was spent waiting for people rather than working.
//!
//! Sets are kept sorted and disjoint; every function returns such a set and never assumes more
//! of its input than that it is a list of pairs.

use crate::checkpoint::record::Millis;

/// A sorted list of disjoint, non-empty intervals.
pub type Set = Vec<(Millis, Millis)>;

/// The union of any intervals (empty and reversed ones dropped).
pub fn union(mut spans: Vec<(Millis, Millis)>) -> Set {
    spans.retain(|(s, e)| s < e);
    spans.sort_unstable();
    let mut out: Set = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The parts of `a` that are also in `b`.
pub fn intersect(a: &Set, b: &Set) -> Set {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let s = a[i].0.max(b[j].0);
        let e = a[i].1.min(b[j].1);
        if s < e {
            out.push((s, e));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The parts of `a` that are not in `b`.
pub fn subtract(a: &Set, b: &Set) -> Set {
    let mut out = Vec::new();
    for &(s, e) in a {
        let mut cursor = s;
        for &(bs, be) in b.iter().filter(|(bs, be)| *be > s && *bs < e) {
            if bs > cursor {
                out.push((cursor, bs));
            }
            cursor = cursor.max(be);
        }
        if cursor < e {
            out.push((cursor, e));
        }
    }
    out
}

/// Total length.
pub fn total(a: &Set) -> u64 {
    a.iter().map(|(s, e)| e - s).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_merges_overlaps_and_drops_empty_spans() {
        assert_eq!(union(vec![(5, 9), (1, 3), (2, 4), (7, 7), (9, 12), (20, 10)]), vec![(1, 4), (5, 12)]);
    }

    #[test]
    fn intersect_and_subtract_partition_a_set() {
        let a = union(vec![(0, 10), (20, 30)]);
        let b = union(vec![(5, 25)]);
        assert_eq!(intersect(&a, &b), vec![(5, 10), (20, 25)]);
        assert_eq!(subtract(&a, &b), vec![(0, 5), (25, 30)]);
        assert_eq!(total(&intersect(&a, &b)) + total(&subtract(&a, &b)), total(&a));
        assert_eq!(subtract(&a, &union(vec![(2, 3), (4, 6), (0, 1)])), vec![(1, 2), (3, 4), (6, 10), (20, 30)]);
    }
}
