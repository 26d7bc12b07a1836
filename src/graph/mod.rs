//! The dependency graph of a runbook: cycles, execution waves, priorities and the critical path.
//!
//! Edges run from a dependency to its dependent. Everything here is pure computation over task
//! indices; it is shared by validation (cycles), plans (waves, critical path), the scheduler
//! (priorities) and `drctl graph` (DOT and Mermaid).

mod render;

use std::time::Duration;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::runbook::checked::{Dep, TaskIdx};
use crate::runbook::Runbook;

pub use render::{to_dot, to_mermaid};

/// Builds the petgraph graph from each task's dependency list; node `i` is task `i`.
pub fn build<D: AsRef<[Dep]>>(deps: &[D]) -> DiGraph<TaskIdx, usize> {
    let mut graph = DiGraph::with_capacity(deps.len(), deps.iter().map(|d| d.as_ref().len()).sum());
    for i in 0..deps.len() {
        graph.add_node(i);
    }
    for (task, list) in deps.iter().enumerate() {
        for (n, dep) in list.as_ref().iter().enumerate() {
            graph.add_edge(NodeIndex::new(dep.task), NodeIndex::new(task), n);
        }
    }
    graph
}

/// One cycle: each step is (task, index into that task's deps of the edge to the next task
/// in the cycle), so every edge can be pointed at in the source.
pub type Cycle = Vec<(TaskIdx, usize)>;

/// Every strongly connected component with a cycle, as one concrete cycle each.
pub fn find_cycles<D: AsRef<[Dep]>>(deps: &[D]) -> Vec<Cycle> {
    // Most runbooks have no cycle: a topological sort proves it without building a graph.
    if topo_sort(deps).len() == deps.len() {
        return Vec::new();
    }
    let graph = build(deps);
    let deps = |t: TaskIdx| deps[t].as_ref();
    let mut cycles = Vec::new();
    for scc in tarjan_scc(&graph) {
        let start = match scc.iter().map(|n| n.index()).min() {
            Some(s) => s,
            None => continue,
        };
        if scc.len() == 1 {
            if let Some(edge) = deps(start).iter().position(|d| d.task == start) {
                cycles.push(vec![(start, edge)]);
            }
            continue;
        }
        let in_scc: std::collections::HashSet<usize> = scc.iter().map(|n| n.index()).collect();
        // Walk backwards along dependencies inside the component until a task repeats.
        let mut path: Vec<(TaskIdx, usize)> = Vec::new();
        let mut seen = std::collections::HashMap::new();
        let mut current = start;
        loop {
            if let Some(&pos) = seen.get(&current) {
                let mut cycle: Cycle = path[pos..].to_vec();
                cycle.reverse();
                cycles.push(rotate_to_min(cycle));
                break;
            }
            seen.insert(current, path.len());
            let Some(edge) = deps(current).iter().position(|d| in_scc.contains(&d.task)) else { break };
            path.push((current, edge));
            current = deps(current)[edge].task;
        }
    }
    cycles
}

fn rotate_to_min(mut cycle: Cycle) -> Cycle {
    if let Some(pos) = cycle.iter().enumerate().min_by_key(|(_, (t, _))| *t).map(|(p, _)| p) {
        cycle.rotate_left(pos);
    }
    cycle
}

/// `downstream[d]`: task `d` depends on `task`, directly or through other tasks.
pub fn downstream(runbook: &Runbook, task: TaskIdx) -> Vec<bool> {
    let deps: Vec<&[Dep]> = runbook.tasks.iter().map(|t| t.deps.as_slice()).collect();
    let graph = build(&deps);
    let mut below = vec![false; deps.len()];
    let mut walk = petgraph::visit::Dfs::new(&graph, NodeIndex::new(task));
    while let Some(node) = walk.next(&graph) {
        below[node.index()] = node.index() != task;
    }
    below
}

/// Tasks in topological order (the runbook must be acyclic, which validation guarantees).
pub fn topo_order(runbook: &Runbook) -> Vec<TaskIdx> {
    let deps: Vec<&[Dep]> = runbook.tasks.iter().map(|t| t.deps.as_slice()).collect();
    topo_sort(&deps)
}

/// Kahn's algorithm over each task's dependency list. Tasks on or behind a cycle are left out,
/// so the order is complete exactly when the graph is acyclic.
fn topo_sort<D: AsRef<[Dep]>>(deps: &[D]) -> Vec<TaskIdx> {
    let n = deps.len();
    // Dependents in one flat array: task t's are `targets[start[t]..start[t + 1]]`.
    let mut start = vec![0usize; n + 1];
    for list in deps {
        for d in list.as_ref() {
            start[d.task + 1] += 1;
        }
    }
    for t in 0..n {
        start[t + 1] += start[t];
    }
    let mut fill = start.clone();
    let mut targets = vec![0usize; start[n]];
    let mut indegree = vec![0usize; n];
    for (t, list) in deps.iter().enumerate() {
        let list = list.as_ref();
        indegree[t] = list.len();
        for d in list {
            targets[fill[d.task]] = t;
            fill[d.task] += 1;
        }
    }
    let mut order: Vec<TaskIdx> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut head = 0;
    while head < order.len() {
        let t = order[head];
        head += 1;
        for &d in &targets[start[t]..start[t + 1]] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                order.push(d);
            }
        }
    }
    order
}

/// Execution waves: wave k holds the tasks whose longest dependency chain has k tasks.
pub fn waves(runbook: &Runbook) -> Vec<Vec<TaskIdx>> {
    waves_in(runbook, &topo_order(runbook))
}

/// [`waves`] given the runbook's [`topo_order`], for callers that need the order more than once.
pub fn waves_in(runbook: &Runbook, order: &[TaskIdx]) -> Vec<Vec<TaskIdx>> {
    let mut level = vec![0usize; runbook.tasks.len()];
    for &t in order {
        level[t] = runbook.tasks[t].deps.iter().map(|d| level[d.task] + 1).max().unwrap_or(0);
    }
    let depth = level.iter().copied().max().map_or(0, |m| m + 1);
    let mut waves = vec![Vec::new(); depth];
    for (t, l) in level.into_iter().enumerate() {
        waves[l].push(t);
    }
    waves
}

/// For each task, the number of tasks on the longest chain starting at it (itself included).
/// The scheduler starts tasks with longer chains first.
pub fn bottom_levels(runbook: &Runbook) -> Vec<u32> {
    bottom_levels_in(runbook, &topo_order(runbook))
}

/// [`bottom_levels`] given the runbook's [`topo_order`].
pub fn bottom_levels_in(runbook: &Runbook, order: &[TaskIdx]) -> Vec<u32> {
    let mut bottom = vec![1u32; runbook.tasks.len()];
    for &t in order.iter().rev() {
        for d in &runbook.tasks[t].deps {
            bottom[d.task] = bottom[d.task].max(bottom[t] + 1);
        }
    }
    bottom
}

/// The chain of tasks with the largest total estimated duration, and that duration.
pub fn critical_path(runbook: &Runbook, estimate: impl Fn(TaskIdx) -> Duration) -> (Vec<TaskIdx>, Duration) {
    critical_path_in(runbook, &topo_order(runbook), estimate)
}

/// [`critical_path`] given the runbook's [`topo_order`].
pub fn critical_path_in(
    runbook: &Runbook,
    order: &[TaskIdx],
    estimate: impl Fn(TaskIdx) -> Duration,
) -> (Vec<TaskIdx>, Duration) {
    let n = runbook.tasks.len();
    let mut finish = vec![Duration::ZERO; n];
    let mut via: Vec<Option<TaskIdx>> = vec![None; n];
    for &t in order {
        let (start, prev) = runbook.tasks[t]
            .deps
            .iter()
            .map(|d| (finish[d.task], Some(d.task)))
            .max_by_key(|(f, _)| *f)
            .unwrap_or((Duration::ZERO, None));
        finish[t] = start + estimate(t);
        via[t] = prev;
    }
    let Some(end) = (0..n).max_by_key(|&t| (finish[t], std::cmp::Reverse(t))) else {
        return (Vec::new(), Duration::ZERO);
    };
    let mut path = vec![end];
    let mut cur = end;
    while let Some(prev) = via[cur] {
        path.push(prev);
        cur = prev;
    }
    path.reverse();
    (path, finish[end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(task: usize) -> Dep {
        Dep::ordered(task, 0..0)
    }

    #[test]
    fn finds_each_cycle_once() {
        // 0 -> 1 -> 2 -> 0, and 3 depends on itself, 4 is fine.
        let deps = vec![vec![dep(2)], vec![dep(0)], vec![dep(1)], vec![dep(3)], vec![dep(0)]];
        let mut cycles = find_cycles(&deps);
        cycles.sort();
        assert_eq!(cycles, vec![vec![(0, 0), (1, 0), (2, 0)], vec![(3, 0)]]);
    }

    #[test]
    fn acyclic_has_no_cycles() {
        let deps = vec![vec![], vec![dep(0)], vec![dep(0), dep(1)]];
        assert!(find_cycles(&deps).is_empty());
    }
}
