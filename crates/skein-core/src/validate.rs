//! `validate()`: every invariant of the state, checked from scratch. Each error names the
//! key (or worker/client) and the broken invariant.

use crate::ids::{ClientId, TaskId, WorkerId, NO_WORKER};
use crate::scheduler::Scheduler;
use crate::state::TaskState;
use crate::task::{
    FLAG_EXECUTING, FLAG_HELD, FLAG_IN_QUEUE, FLAG_LONG_RUNNING, FLAG_MANY_HOLDERS, FLAG_STEALING,
};

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

impl Scheduler {
    /// Checks every invariant; `Err` names the key and the broken invariant.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_tasks()?;
        self.validate_workers()?;
        self.validate_clients()?;
        self.validate_sets()?;
        self.validate_steals()?;
        self.validate_groups()?;
        self.validate_prefix_states()?;
        Ok(())
    }

    /// The per-prefix counters count the live tasks of each prefix in each state.
    fn validate_prefix_states(&self) -> Result<(), String> {
        let mut counts = vec![[0u64; TaskState::COUNT]; self.prefix_states.len()];
        for task in &self.tasks.slots {
            if task.state == TaskState::Forgotten {
                continue;
            }
            let c = counts.get_mut(task.prefix as usize).ok_or(format!(
                "key {:?}: prefix {} has no counters",
                task.key(),
                task.prefix
            ))?;
            c[task.state as usize] += 1;
        }
        for (p, c) in counts.iter().enumerate() {
            let kept = self.prefix_states.get(p as u32);
            check!(
                c[..TaskState::Forgotten as usize] == kept[..TaskState::Forgotten as usize],
                "prefix {p}: counters say {:?} live tasks per state but {:?} are",
                &kept[..TaskState::Forgotten as usize],
                &c[..TaskState::Forgotten as usize]
            );
        }
        Ok(())
    }

    /// Each group counts the live computed tasks of its prefix.
    fn validate_groups(&self) -> Result<(), String> {
        let mut live = vec![0u32; self.groups.len()];
        for task in &self.tasks.slots {
            if task.state == TaskState::Forgotten || task.scattered() {
                continue;
            }
            let n = live.get_mut(task.prefix as usize).ok_or(format!(
                "key {:?}: prefix {} has no group",
                task.key(),
                task.prefix
            ))?;
            *n += 1;
        }
        for (p, &n) in live.iter().enumerate() {
            check!(
                n == self.groups.live(p as u32),
                "group of prefix {p}: counts {} live tasks but {n} are",
                self.groups.live(p as u32)
            );
        }
        Ok(())
    }

    fn validate_tasks(&self) -> Result<(), String> {
        use TaskState::*;
        let mut by_state = [0usize; TaskState::COUNT];
        let mut live = 0;
        let mut many = 0;
        let mut recycling = vec![0u8; self.tasks.slots.len()];
        for t in self.tasks.recycling() {
            let r = recycling
                .get_mut(t.ix())
                .ok_or(format!("recycling unknown slot {}", t.0))?;
            *r += 1;
        }
        for (i, task) in self.tasks.slots.iter().enumerate() {
            let t = TaskId(i as u32);
            by_state[task.state as usize] += 1;
            if task.state == Forgotten {
                let waits_for_queue = task.flags & FLAG_IN_QUEUE != 0;
                check!(
                    recycling[i] == u8::from(!waits_for_queue),
                    "key {:?}: forgotten slot {i} is queued for reuse {} times",
                    task.key(),
                    recycling[i]
                );
                continue;
            }
            check!(
                recycling[i] == 0,
                "key {:?}: live slot {i} is queued for reuse",
                task.key()
            );
            live += 1;
            let key = task.key();
            check!(
                task.flags & FLAG_EXECUTING == 0 || task.state == Processing,
                "key {key:?}: marked executing while {}",
                task.state.name()
            );
            check!(
                task.flags & FLAG_LONG_RUNNING == 0 || task.state == Processing,
                "key {key:?}: marked long-running while {}",
                task.state.name()
            );
            check!(
                self.tasks.find(key) == Some(t),
                "key {key:?}: not found under its key in the index"
            );
            // dependency / dependent symmetry
            for (k, &d) in task.deps().iter().enumerate() {
                let dep = self
                    .tasks
                    .slots
                    .get(d.ix())
                    .ok_or(format!("key {key:?}: dependency id {} out of range", d.0))?;
                check!(
                    dep.state != Forgotten,
                    "key {key:?}: dependency {:?} is forgotten",
                    dep.key()
                );
                let p = task.dep_pos(k) as usize;
                check!(
                    dep.dependents.get(p) == Some(&(t, k as u32)),
                    "key {key:?}: dependency {:?} does not list it as dependent at position {p}",
                    dep.key()
                );
            }
            let mut waiters = 0;
            for (p, &(m, j)) in task.dependents.iter().enumerate() {
                let dt = &self.tasks[m];
                check!(
                    dt.state != Forgotten,
                    "key {key:?}: dependent {:?} is forgotten",
                    dt.key()
                );
                check!(
                    dt.deps().get(j as usize) == Some(&t) && dt.dep_pos(j as usize) as usize == p,
                    "key {key:?}: dependent {:?} does not list it as dependency {j}",
                    dt.key()
                );
                if dt.state.needs_inputs() {
                    waiters += 1;
                }
            }
            check!(
                task.waiters == waiters,
                "key {key:?}: waiters {} but {waiters} dependents need it",
                task.waiters
            );
            let not_in_memory = task
                .deps()
                .iter()
                .filter(|&&d| self.tasks[d].state != Memory)
                .count() as u32;
            // states consistent with fields
            match task.state {
                Released => {
                    check!(
                        !task.needed(),
                        "key {key:?}: released but needed (wanted or waited on)"
                    );
                    check!(
                        !task.dependents.is_empty(),
                        "key {key:?}: released, unneeded, no dependents, not forgotten"
                    );
                }
                Waiting => {
                    check!(
                        task.waiting_on == not_in_memory,
                        "key {key:?}: waiting on {} but {not_in_memory} inputs are not in memory",
                        task.waiting_on
                    );
                    check!(
                        task.waiting_on > 0,
                        "key {key:?}: waiting with every input in memory"
                    );
                }
                Queued => {
                    check!(
                        task.flags & FLAG_IN_QUEUE != 0,
                        "key {key:?}: queued but not in the queue"
                    );
                    check!(
                        task.unrestricted(),
                        "key {key:?}: queued but restricted to some workers"
                    );
                    // Whether it is still root-ish is not checked: that changes with the
                    // cluster and the group, and a queued task stays queued (as in Dask).
                    check!(
                        not_in_memory == 0,
                        "key {key:?}: queued with inputs not in memory"
                    );
                }
                NoWorker => {
                    check!(
                        self.no_worker.get(task.set_pos as usize) == Some(&t),
                        "key {key:?}: no-worker but not in the no-worker set"
                    );
                    check!(
                        not_in_memory == 0,
                        "key {key:?}: no-worker with inputs not in memory"
                    );
                }
                Processing => {
                    check!(
                        task.worker.0 != NO_WORKER,
                        "key {key:?}: processing on no worker"
                    );
                    let wk = self
                        .workers
                        .list
                        .get(task.worker.ix())
                        .ok_or(format!("key {key:?}: processing on unknown worker"))?;
                    check!(
                        wk.alive,
                        "key {key:?}: processing on removed worker {:?}",
                        wk.name
                    );
                    let list = if task.flags & FLAG_LONG_RUNNING != 0 {
                        &wk.long_running
                    } else {
                        &wk.processing
                    };
                    check!(
                        list.get(task.set_pos as usize) == Some(&t),
                        "key {key:?}: not in worker {:?}'s processing set (or long-running list)",
                        wk.name
                    );
                    check!(
                        not_in_memory == 0,
                        "key {key:?}: processing with inputs not in memory"
                    );
                }
                Memory => {
                    check!(task.has_holders(), "key {key:?}: in memory with no holder");
                }
                Erred => {
                    check!(
                        task.failure().is_some(),
                        "key {key:?}: erred without a failure"
                    );
                    check!(
                        task.want_count > 0 || !task.dependents.is_empty(),
                        "key {key:?}: erred, unwanted, no dependents, not forgotten"
                    );
                }
                Forgotten => {}
            }
            if task.state != Processing && task.flags & FLAG_HELD == 0 {
                check!(
                    task.worker.0 == NO_WORKER,
                    "key {key:?}: {} but assigned to worker {}",
                    task.state.name(),
                    task.worker.0
                );
            }
            if task.flags & FLAG_MANY_HOLDERS != 0 {
                many += 1;
                check!(
                    task.flags & FLAG_HELD == 0,
                    "key {key:?}: holders both inline and in the side map"
                );
                check!(
                    self.tasks.who_has(t).len() >= 2,
                    "key {key:?}: side map holds fewer than two holders"
                );
            }
            if task.state != Memory {
                check!(
                    !task.has_holders(),
                    "key {key:?}: {} but has holders",
                    task.state.name()
                );
            } else {
                check!(task.needed(), "key {key:?}: in memory but nobody needs it");
            }
            if task.state != Erred {
                check!(
                    task.failure().is_none(),
                    "key {key:?}: {} but carries a failure",
                    task.state.name()
                );
            }
            for (i, &w) in self.tasks.who_has(t).iter().enumerate() {
                let wk = self
                    .workers
                    .list
                    .get(w.ix())
                    .ok_or(format!("key {key:?}: held by unknown worker {}", w.0))?;
                check!(
                    wk.alive,
                    "key {key:?}: held by removed worker {:?}",
                    wk.name
                );
                check!(
                    wk.has_what.get(self.tasks.holder_pos(t, i) as usize) == Some(&t),
                    "key {key:?}: held by {:?} but not in its has_what",
                    wk.name
                );
                // A copy reported twice (replicate, scatter) must not make a second holder.
                check!(
                    self.tasks.holder_index(t, w) == Some(i),
                    "key {key:?}: held by {:?} more than once",
                    wk.name
                );
            }
        }
        check!(
            many == self.tasks.many_holders_len(),
            "side map holds {} tasks but {many} are flagged",
            self.tasks.many_holders_len()
        );
        check!(
            live == self.tasks.indexed_len(),
            "index holds {} keys but {live} tasks are live",
            self.tasks.indexed_len()
        );
        for s in [
            Released, Waiting, Queued, NoWorker, Processing, Memory, Erred,
        ] {
            check!(
                by_state[s as usize] == self.by_state[s as usize],
                "state {}: counter says {} but {} tasks are in it",
                s.name(),
                self.by_state[s as usize],
                by_state[s as usize]
            );
        }
        Ok(())
    }

    fn validate_workers(&self) -> Result<(), String> {
        let mut alive = 0;
        let mut long_running = 0;
        for (i, wk) in self.workers.list.iter().enumerate() {
            let w = WorkerId(i as u32);
            let name = &wk.name;
            if !wk.alive {
                check!(
                    wk.processing.is_empty(),
                    "worker {name:?}: removed but still processing"
                );
                check!(
                    wk.has_what.is_empty(),
                    "worker {name:?}: removed but still holds data"
                );
                check!(
                    wk.long_running.is_empty(),
                    "worker {name:?}: removed but still has long-running tasks"
                );
                continue;
            }
            alive += 1;
            check!(
                self.workers.by_name.get(name) == Some(&w),
                "worker {name:?}: not indexed by name"
            );
            let mut occupancy = 0u64;
            for (p, &t) in wk.processing.iter().enumerate() {
                let task = &self.tasks[t];
                check!(
                    task.state == TaskState::Processing
                        && task.worker == w
                        && task.set_pos as usize == p,
                    "key {:?}: in worker {name:?}'s processing set but {} elsewhere",
                    task.key(),
                    task.state.name()
                );
                check!(
                    task.flags & FLAG_LONG_RUNNING == 0,
                    "key {:?}: in worker {name:?}'s processing set but marked long-running",
                    task.key()
                );
                occupancy += task.estimate_us as u64;
            }
            for (p, &t) in wk.long_running.iter().enumerate() {
                let task = &self.tasks[t];
                check!(
                    task.state == TaskState::Processing
                        && task.worker == w
                        && task.set_pos as usize == p
                        && task.flags & FLAG_LONG_RUNNING != 0
                        && task.flags & FLAG_EXECUTING != 0
                        && task.flags & FLAG_STEALING == 0
                        && task.estimate_us == 0,
                    "key {:?}: in worker {name:?}'s long-running list but {} elsewhere, or not marked seceded and executing, or being stolen",
                    task.key(),
                    task.state.name()
                );
            }
            long_running += wk.long_running.len();
            check!(
                occupancy == wk.occupancy_us,
                "worker {name:?}: occupancy {} µs but its processing tasks sum to {occupancy} µs",
                wk.occupancy_us
            );
            for (p, &t) in wk.has_what.iter().enumerate() {
                let task = &self.tasks[t];
                let i = self.tasks.holder_index(t, w);
                check!(
                    task.state == TaskState::Memory
                        && i.is_some_and(|i| self.tasks.holder_pos(t, i) as usize == p),
                    "key {:?}: in worker {name:?}'s has_what but who_has disagrees",
                    task.key()
                );
            }
            if wk.paused {
                continue;
            }
            let level = self.workers.room.level_of(wk);
            check!(
                wk.level == level && self.workers.room.at(level, wk.level_pos) == Some(w),
                "worker {name:?}: room index out of date (level {} vs {level})",
                wk.level
            );
        }
        check!(
            alive == self.workers.alive,
            "live worker count {} but {alive} live",
            self.workers.alive
        );
        check!(
            long_running == self.workers.long_running,
            "long-running count {} but the workers list {long_running}",
            self.workers.long_running
        );
        let open = self.workers.list.iter().filter(|wk| wk.open()).count();
        check!(
            self.workers.room.len() == open,
            "room index holds {} workers, {open} live and not paused",
            self.workers.room.len()
        );
        check!(
            self.workers.room.min_level_consistent(),
            "room index: least-loaded level is stale"
        );
        Ok(())
    }

    fn validate_clients(&self) -> Result<(), String> {
        let mut counts = vec![0u32; self.tasks.slots.len()];
        for (i, cl) in self.clients.list.iter().enumerate() {
            let c = ClientId(i as u32);
            if !cl.alive {
                check!(
                    cl.wants.is_empty(),
                    "client {i}: removed but still wants keys"
                );
                check!(
                    !self.clients.live.contains(&c),
                    "client {i}: removed but listed live"
                );
                continue;
            }
            check!(
                self.clients.live.contains(&c),
                "client {i}: live but not listed"
            );
            check!(
                cl.wants.len() == cl.wants.to_sorted_vec().len(),
                "client {i}: want count out of date"
            );
            for t in cl.wants.to_sorted_vec() {
                let task = self
                    .tasks
                    .slots
                    .get(t.ix())
                    .ok_or(format!("client {i}: wants unknown task {}", t.0))?;
                check!(
                    task.state != TaskState::Forgotten,
                    "client {i}: wants forgotten key {:?}",
                    task.key()
                );
                counts[t.ix()] += 1;
            }
        }
        for (i, task) in self.tasks.slots.iter().enumerate() {
            if task.state != TaskState::Forgotten {
                check!(
                    task.want_count == counts[i],
                    "key {:?}: want count {} but {} clients want it",
                    task.key(),
                    task.want_count,
                    counts[i]
                );
            }
        }
        Ok(())
    }

    fn validate_sets(&self) -> Result<(), String> {
        for (p, &t) in self.no_worker.iter().enumerate() {
            let task = &self.tasks[t];
            check!(
                task.state == TaskState::NoWorker && task.set_pos as usize == p,
                "key {:?}: in the no-worker set but {}",
                task.key(),
                task.state.name()
            );
        }
        let mut entries = vec![0u32; self.tasks.slots.len()];
        for t in self.queue.iter() {
            let e = entries
                .get_mut(t.ix())
                .ok_or(format!("queue entry for unknown slot {}", t.0))?;
            *e += 1;
        }
        for (i, task) in self.tasks.slots.iter().enumerate() {
            let flagged = task.flags & FLAG_IN_QUEUE != 0;
            check!(
                entries[i] == u32::from(flagged),
                "key {:?}: {} queue entries but flagged {}",
                task.key(),
                entries[i],
                flagged
            );
        }
        check!(self.recs.is_empty(), "recommendations left unapplied");
        check!(self.pending_failure.is_none(), "a failure was left pending");
        Ok(())
    }
}
