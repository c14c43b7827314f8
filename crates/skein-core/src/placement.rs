//! Worker choice. Each decision looks at a handful of candidates (holders of the task's
//! inputs, the least loaded worker, named or resource-declaring workers), never at every
//! worker, so its cost does not grow with the cluster.

use crate::config::Config;
use crate::ids::{TaskId, WorkerId};
use crate::prefix::HELD_BACK;
use crate::task::{Task, TaskTable};
use crate::worker::{Worker, WorkerTable};

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

/// Seconds a task's inputs take to reach a worker besides their bytes (a request to each
/// holder and its answer); the same price work stealing puts on a move.
pub(crate) const FETCH_LATENCY: f64 = 0.001;

/// Best live worker for `t`, or `None` if no live worker may run it. `estimate_us` is the
/// task's duration estimate.
///
/// As Dask's `decide_worker`: a task with inputs goes to a worker already holding some of
/// them, the one where it is estimated to start soonest: occupancy per slot, plus the time
/// to bring the inputs it lacks (bytes / bandwidth, and `FETCH_LATENCY` if any). The wider
/// pool (the least loaded worker; with restrictions, every named worker; with resources,
/// every worker declaring the first one) is looked at only when no holder may run it, or
/// when every holder is saturated (no free slot) and the task is long enough to be worth
/// moving (`steal_min_duration`, the bar work stealing uses): then the start-time estimate
/// decides whether moving the inputs pays. So a flood of fast tasks stays with its data
/// instead of pulling it across for a slot freed microseconds earlier.
///
/// Loose restrictions (`allowOtherWorkers`) are none when no named worker is open and
/// declares the task's resources (which still hold).
pub(crate) fn decide_worker(
    tasks: &TaskTable,
    workers: &mut WorkerTable,
    t: TaskId,
    estimate_us: u32,
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
    let names = allowed_names(task, workers);
    let mut best = Best::new(total_bytes, epoch, config.bandwidth);
    let mut all_full = true;
    for &w in &candidates {
        let wk = &workers.list[w.ix()];
        if !wk.open() || !wk.satisfies(needs) {
            continue;
        }
        if names.is_some_and(|names| !names.iter().any(|n| **n == *wk.name)) {
            continue;
        }
        all_full &= wk.processing.len() >= wk.slots as usize;
        best.consider(w, wk);
    }
    let worth_moving = f64::from(estimate_us) * 1e-6 >= config.steal_min_duration;
    if best.pick.is_none() || (all_full && worth_moving) {
        if let Some(names) = names {
            for name in names {
                if let Some(&w) = workers.by_name.get(name) {
                    let wk = &workers.list[w.ix()];
                    if wk.open() && wk.satisfies(needs) {
                        best.consider(w, wk);
                    }
                }
            }
        } else if let Some(&(r, _)) = needs.first() {
            for &w in workers
                .with_resource
                .get(r as usize)
                .map_or(&[][..], |l| &l[..])
            {
                let wk = &workers.list[w.ix()];
                if wk.open() && wk.satisfies(needs) {
                    best.consider(w, wk);
                }
            }
        } else if let Some(w) = workers.room.least_loaded() {
            let wk = &workers.list[w.ix()];
            if wk.open() {
                best.consider(w, wk);
            }
        }
    }
    workers.candidates = candidates;
    best.pick.map(|(_, _, w)| w)
}

/// The worker names `task` is held to now: its restrictions, unless they are loose and no
/// named worker is open and declares its resources.
#[inline]
pub(crate) fn allowed_names<'a>(task: &'a Task, workers: &WorkerTable) -> Option<&'a [Box<str>]> {
    task.restrictions().filter(|names| {
        !task.loose_restrictions()
            || names
                .iter()
                .any(|n| named_fits(workers, n, task.resources()))
    })
}

/// Whether worker `name` is connected, open and declares `needs`.
fn named_fits(workers: &WorkerTable, name: &str, needs: &[(u32, f64)]) -> bool {
    workers.by_name.get(name).is_some_and(|&w| {
        let wk = &workers.list[w.ix()];
        wk.open() && wk.satisfies(needs)
    })
}

/// The candidate with the earliest estimated start, ties to the fewest processing tasks,
/// then the lowest id.
struct Best {
    total_bytes: u64,
    epoch: u32,
    bandwidth: f64,
    pick: Option<(f64, usize, WorkerId)>,
}

impl Best {
    fn new(total_bytes: u64, epoch: u32, bandwidth: f64) -> Self {
        Best {
            total_bytes,
            epoch,
            bandwidth: bandwidth.max(f64::MIN_POSITIVE),
            pick: None,
        }
    }

    #[inline]
    fn consider(&mut self, w: WorkerId, wk: &Worker) {
        let held = if wk.mark == self.epoch {
            wk.mark_bytes
        } else {
            0
        };
        let moved = self.total_bytes.saturating_sub(held);
        let fetch = if moved > 0 {
            moved as f64 / self.bandwidth + FETCH_LATENCY
        } else {
            0.0
        };
        let key = (wk.occupancy_per_slot() + fetch, wk.processing.len(), w);
        let better = match &self.pick {
            None => true,
            Some(b) => key.0 < b.0 || (key.0 == b.0 && (key.1, key.2) < (b.1, b.2)),
        };
        if better {
            self.pick = Some(key);
        }
    }
}
