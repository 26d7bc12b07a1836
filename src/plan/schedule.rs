//! The estimated duration of a whole run: the task graph played out on the run's parallelism
//! and concurrency groups, with each task's estimate, the way the scheduler would start tasks
//! (the longest remaining chain first). The critical path alone ignores that a `for_each` of
//! twenty items at parallelism 4 runs in five rounds.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use crate::runbook::checked::TaskIdx;
use crate::runbook::Runbook;

/// How many instances a task runs and how long each takes.
#[derive(Debug, Clone, Copy)]
pub struct Work {
    pub instances: usize,
    pub each: Duration,
    /// Whether an instance holds one of the run's slots while it runs. An approval does not:
    /// the scheduler lets it wait for a person without a slot.
    pub slot: bool,
}

/// The makespan of the run when every instance takes its estimate; `priority` is the
/// scheduler's ([`crate::graph::bottom_levels`]).
pub fn makespan(runbook: &Runbook, work: &[Work], priority: &[u32], parallelism: usize) -> Duration {
    let n = runbook.tasks.len();
    let groups: Vec<Option<usize>> = runbook
        .tasks
        .iter()
        .map(|t| t.concurrency.as_ref().and_then(|g| runbook.concurrency.get_index_of(g)))
        .collect();
    let mut group_free: Vec<usize> = runbook.concurrency.values().copied().collect();
    let mut dependents: Vec<Vec<TaskIdx>> = vec![Vec::new(); n];
    let mut waiting_on: Vec<usize> = vec![0; n];
    for (t, task) in runbook.tasks.iter().enumerate() {
        for d in &task.deps {
            dependents[d.task].push(t);
            waiting_on[t] += 1;
        }
    }
    let mut to_start: Vec<usize> = work.iter().map(|w| w.instances).collect();
    let mut to_finish = to_start.clone();
    let mut ready: BinaryHeap<(u32, Reverse<TaskIdx>)> =
        (0..n).filter(|&t| waiting_on[t] == 0 && work[t].slot).map(|t| (priority[t], Reverse(t))).collect();
    // Ready tasks that take no slot: they start as soon as they are ready.
    let mut ready_slotless: Vec<TaskIdx> = (0..n).filter(|&t| waiting_on[t] == 0 && !work[t].slot).collect();
    // (end time in ns, task)
    let mut running: BinaryHeap<Reverse<(u128, TaskIdx)>> = BinaryHeap::new();
    let mut free = parallelism.max(1);
    let mut now: u128 = 0;
    let mut blocked = Vec::new();
    loop {
        for t in ready_slotless.drain(..) {
            // All its instances at once; a `for_each` over no items is done when reached.
            for _ in 0..to_start[t].max(1) {
                running.push(Reverse((now + work[t].each.as_nanos(), t)));
            }
            to_finish[t] = to_start[t].max(1);
            to_start[t] = 0;
        }
        while free > 0 {
            let Some((p, Reverse(t))) = ready.pop() else { break };
            if to_start[t] == 0 {
                // A `for_each` over no items: done as soon as it is reached.
                running.push(Reverse((now, t)));
                to_finish[t] = 1;
                continue;
            }
            if let Some(g) = groups[t] {
                if group_free[g] == 0 {
                    blocked.push((p, Reverse(t)));
                    continue;
                }
                group_free[g] -= 1;
            }
            free -= 1;
            to_start[t] -= 1;
            running.push(Reverse((now + work[t].each.as_nanos(), t)));
            if to_start[t] > 0 {
                ready.push((p, Reverse(t)));
            }
        }
        ready.extend(blocked.drain(..));
        let Some(Reverse((end, t))) = running.pop() else { break };
        now = end;
        if work[t].instances > 0 && work[t].slot {
            free += 1;
            if let Some(g) = groups[t] {
                group_free[g] += 1;
            }
        }
        to_finish[t] -= 1;
        if to_finish[t] == 0 {
            for &d in &dependents[t] {
                waiting_on[d] -= 1;
                if waiting_on[d] == 0 && work[d].slot {
                    ready.push((priority[d], Reverse(d)));
                } else if waiting_on[d] == 0 {
                    ready_slotless.push(d);
                }
            }
        }
    }
    Duration::from_nanos(u64::try_from(now).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::builtin;

    fn runbook(text: &str) -> Runbook {
        crate::runbook::load("rb.yaml", text, &builtin()).expect("valid runbook")
    }

    #[test]
    fn items_beyond_the_parallelism_run_in_rounds_and_groups_cap_their_tasks() {
        let rb = runbook(
            "version: 1\nname: s\nconcurrency: { api: 1 }\ntasks:\n  fan:\n    uses: shell\n    for_each: [a, b, c, d, e, f]\n    with: { run: 'true' }\n  x:\n    uses: shell\n    concurrency: api\n    with: { run: 'true' }\n  y:\n    uses: shell\n    concurrency: api\n    with: { run: 'true' }\n",
        );
        let second = Duration::from_secs(1);
        let work = [
            Work { instances: 6, each: second, slot: true },
            Work { instances: 1, each: 2 * second, slot: true },
            Work { instances: 1, each: 2 * second, slot: true },
        ];
        // Two slots: the six one-second items go first (three rounds), then x and y one after
        // the other (their group allows one at a time).
        assert_eq!(makespan(&rb, &work, &crate::graph::bottom_levels(&rb), 2), Duration::from_secs(7));
        assert_eq!(makespan(&rb, &work, &crate::graph::bottom_levels(&rb), 8), Duration::from_secs(4));
    }

    #[test]
    fn a_chain_takes_the_sum_and_an_empty_for_each_takes_nothing() {
        let rb = runbook(
            "version: 1\nname: c\ntasks:\n  a:\n    uses: shell\n    with: { run: 'true' }\n  b:\n    uses: shell\n    depends_on: [a]\n    for_each: []\n    with: { run: 'true' }\n  c:\n    uses: shell\n    depends_on: [b]\n    with: { run: 'true' }\n",
        );
        let ms = Duration::from_millis;
        let work = [
            Work { instances: 1, each: ms(300), slot: true },
            Work { instances: 0, each: ms(900), slot: true },
            Work { instances: 1, each: ms(200), slot: true },
        ];
        assert_eq!(makespan(&rb, &work, &crate::graph::bottom_levels(&rb), 4), ms(500));
    }

    #[test]
    fn an_approval_waits_without_a_slot() {
        let rb = runbook(
            "version: 1\nname: a\ntasks:\n  gate:\n    uses: approval\n  work:\n    uses: shell\n    for_each: [a, b]\n    with: { run: 'true' }\n  after:\n    uses: shell\n    depends_on: [gate]\n    with: { run: 'true' }\n",
        );
        let s = Duration::from_secs;
        let work = [
            Work { instances: 1, each: s(600), slot: false },
            Work { instances: 2, each: s(60), slot: true },
            Work { instances: 1, each: s(60), slot: true },
        ];
        // One slot: the two items run one after the other while the approval waits; `after`
        // follows the approval. Were the approval to hold the slot, the items would wait 600 s.
        assert_eq!(makespan(&rb, &work, &crate::graph::bottom_levels(&rb), 1), s(660));
        assert_eq!(
            makespan(&rb, &[Work { slot: true, ..work[0] }, work[1], work[2]], &crate::graph::bottom_levels(&rb), 1),
            s(780)
        );
    }
}
