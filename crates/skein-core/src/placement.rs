//! Worker choice. Each decision looks at a handful of candidates (holders of the task's
//! inputs, the least loaded worker, named or resource-declaring workers), never at every
//! worker, so its cost does not grow with the cluster.

use crate::config::Config;
use crate::ids::{TaskId, WorkerId};
use crate::prefix::HELD_BACK;
use crate::task::TaskTable;
use crate::worker::WorkerTable;

/// The worker for a ready queued root or root-ish task: the least loaded one, if it has
/// room, wherever the task's inputs are (as Dask: a root-ish task's few shared inputs end
/// up on every worker anyway, and moving them beats flooding their holder). Room is
/// fewer than `slots * tasks_per_slot` tasks processing; for a prefix held back (unknown or
/// long duration, `prefix::HELD_BACK`) fewer than `root_cap(slots)`.
#[inline]
pub(crate) fn root_worker(workers: &WorkerTable, tasks_per_slot: u32) -> Option<WorkerId> {
    let w = workers.room.least_loaded()?;
    let wk = &workers.list[w.ix()];
    let room = if tasks_per_slot == HELD_BACK {
        // The least loaded by level (processing / slots, floored) is not always the one with
        // the fewest tasks; when it is full, so is the buffer of this round: no worker goes
        // without `slots` tasks, some go without their one extra until a task finishes.
        wk.processing.len() < root_cap(wk.slots)
    } else {
        wk.level < tasks_per_slot
    };
    room.then_some(w)
}

/// Tasks a worker may have processing before it gets another held-back root task:
/// its slots and a tenth more, rounded up (slots + 1 up to 10 slots), as Dask's
/// `worker-saturation` of 1.1.
#[inline]
pub(crate) fn root_cap(slots: u32) -> usize {
    let slots = slots.max(1) as usize;
    slots + slots.div_ceil(10)
}

/// Best live worker for `t`, or `None` if no live worker may run it.
///
/// Cost = bytes of inputs that would have to move / bandwidth + occupancy per slot.
/// Candidates: with restrictions, the named workers; with resources, the workers declaring
/// the first one; otherwise the holders of the inputs plus the least loaded worker.
pub(crate) fn decide_worker(
    tasks: &TaskTable,
    workers: &mut WorkerTable,
    t: TaskId,
    config: &Config,
) -> Option<WorkerId> {
    let task = &tasks[t];
    let epoch = workers.next_epoch();
    let mut candidates = std::mem::take(&mut workers.candidates);
    candidates.clear();

    // Bytes of t's inputs already on each holder.
    let mut total_bytes: u64 = 0;
    for &d in task.deps() {
        let dep = &tasks[d];
        total_bytes = total_bytes.saturating_add(dep.nbytes);
        for &w in tasks.who_has(d) {
            let wk = &mut workers.list[w.ix()];
            if wk.mark != epoch {
                wk.mark = epoch;
                wk.mark_bytes = 0;
                candidates.push(w);
            }
            wk.mark_bytes = wk.mark_bytes.saturating_add(dep.nbytes);
        }
    }

    let needs = task.resources();
    let restricted = task.restrictions();
    let holder_count = candidates.len();
    if let Some(names) = restricted {
        candidates.clear();
        for name in names {
            if let Some(&w) = workers.by_name.get(name) {
                candidates.push(w);
            }
        }
    } else if let Some(&(r, _)) = needs.first() {
        candidates.retain(|&w| workers.list[w.ix()].satisfies(needs));
        if let Some(list) = workers.with_resource.get(r as usize) {
            candidates.extend_from_slice(list);
        }
    } else if let Some(w) = workers.room.least_loaded() {
        if holder_count == 0 || workers.list[w.ix()].mark != epoch {
            candidates.push(w);
        }
    }

    let mut best: Option<(f64, usize, WorkerId)> = None;
    for &w in &candidates {
        let wk = &workers.list[w.ix()];
        if !wk.open() || !wk.satisfies(needs) {
            continue;
        }
        let held = if wk.mark == epoch { wk.mark_bytes } else { 0 };
        let moved = total_bytes.saturating_sub(held) as f64;
        let cost = moved / config.bandwidth.max(f64::MIN_POSITIVE) + wk.occupancy_per_slot();
        let key = (cost, wk.processing.len(), w);
        let better = match &best {
            None => true,
            Some(b) => key.0 < b.0 || (key.0 == b.0 && (key.1, key.2) < (b.1, b.2)),
        };
        if better {
            best = Some(key);
        }
    }
    workers.candidates = candidates;
    best.map(|b| b.2)
}
