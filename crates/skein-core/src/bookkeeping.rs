//! The field updates transitions are made of: state counters and story, the dependency
//! waiter counts, processing sets and occupancy, holders and `has_what`, unlinking a
//! forgotten task, and erring. Transitions call these; nothing else changes task fields.

use crate::ids::{TaskId, WorkerId, NO_WORKER};
use crate::scheduler::Scheduler;
use crate::spec::Failure;
use crate::state::TaskState;
use crate::story::TransitionRecord;
use crate::task::{FLAG_EXECUTING, FLAG_LONG_RUNNING, FLAG_STEALING};
use std::sync::Arc;

impl Scheduler {
    /// Moves `t` to `to`: counters, story, and the waiter counts of its dependencies when it
    /// starts or stops needing their data.
    pub(crate) fn set_state(&mut self, t: TaskId, to: TaskState) {
        let task = &mut self.tasks[t];
        let from = task.state;
        task.state = to;
        task.story.record(
            TransitionRecord {
                from,
                to,
                stimulus: self.stimulus,
            },
            self.config.story_len,
        );
        self.by_state[from as usize] -= 1;
        self.by_state[to as usize] += 1;
        self.prefix_states.moved(self.tasks[t].prefix, from, to);
        self.counters.transitions += 1;
        let (was, now) = (from.needs_inputs(), to.needs_inputs());
        if was != now {
            let n = self.tasks[t].dep_count();
            for i in 0..n {
                let d = self.tasks[t].dep(i);
                let dep = &mut self.tasks[d];
                if now {
                    dep.waiters += 1;
                } else {
                    dep.waiters -= 1;
                    if dep.waiters == 0 && dep.want_count == 0 {
                        self.recommend_settle(d);
                    }
                }
            }
        }
    }

    /// Where a task goes once all its inputs are in memory: root and root-ish tasks to the
    /// scheduler-side queue (see `groups.rs`), the rest to a worker chosen for them.
    #[inline]
    pub(crate) fn ready_target(&self, t: TaskId) -> TaskState {
        let task = &self.tasks[t];
        if task.unrestricted()
            && (task.dep_count() == 0 || self.groups.rootish(task.prefix, self.workers.total_slots))
        {
            TaskState::Queued
        } else {
            TaskState::Processing
        }
    }

    /// Counts inputs not yet in memory, asks for released ones to be computed, and
    /// recommends the next step. `t` is already in `Waiting`.
    pub(crate) fn enter_waiting(&mut self, t: TaskId) {
        let n = self.tasks[t].dep_count();
        let mut waiting_on = 0;
        let mut erred = false;
        for i in 0..n {
            let d = self.tasks[t].dep(i);
            match self.tasks[d].state {
                TaskState::Memory => {}
                TaskState::Erred => erred = true,
                TaskState::Released => {
                    waiting_on += 1;
                    self.recommend(d, TaskState::Waiting);
                }
                TaskState::Waiting
                | TaskState::Queued
                | TaskState::NoWorker
                | TaskState::Processing
                | TaskState::Forgotten => waiting_on += 1,
            }
        }
        self.tasks[t].waiting_on = waiting_on;
        if erred || self.tasks[t].scattered() {
            self.recommend(t, TaskState::Erred);
        } else if waiting_on == 0 {
            let to = self.ready_target(t);
            self.recommend(t, to);
        }
    }

    /// Sends `t` to `w` with a fresh run id.
    pub(crate) fn start_processing(&mut self, t: TaskId, w: WorkerId) {
        let run = self.next_run;
        self.next_run = self.next_run.wrapping_add(1);
        let estimate = self.prefixes.estimate_us(self.tasks[t].prefix);
        let pos = self.workers.push_processing(w, t, estimate);
        let task = &mut self.tasks[t];
        task.run = run;
        task.estimate_us = estimate;
        task.worker = w;
        task.set_pos = pos;
        self.set_state(t, TaskState::Processing);
        self.outbox.compute(w, t, run);
    }

    /// Takes `t` off its worker; tells a live worker to abandon it if `abandon`.
    pub(crate) fn stop_processing(&mut self, t: TaskId, abandon: bool) {
        if self.tasks[t].flags & FLAG_STEALING != 0 {
            self.cancel_steal(t);
        }
        let task = &mut self.tasks[t];
        let seceded = task.flags & FLAG_LONG_RUNNING != 0;
        task.flags &= !(FLAG_EXECUTING | FLAG_LONG_RUNNING);
        let Some(w) = task.processing_worker() else {
            return;
        };
        let (pos, est) = (task.set_pos, task.estimate_us);
        task.worker = WorkerId(NO_WORKER);
        let moved = if seceded {
            self.workers.remove_long_running(w, pos)
        } else {
            self.workers.remove_processing(w, pos, est)
        };
        if let Some(moved) = moved {
            self.tasks[moved].set_pos = pos;
        }
        if abandon && self.workers.list[w.ix()].alive {
            self.outbox.free(w, t);
        }
    }

    /// `t`, processing on `w`, seceded from its slot (it waits for tasks it submitted): it
    /// moves to `w`'s long-running list, its estimate leaves `w`'s occupancy, and it counts as
    /// executing (blamed if `w` dies). A steal in flight for it is dropped: it has started.
    pub(crate) fn secede_processing(&mut self, t: TaskId, w: WorkerId) {
        if self.tasks[t].flags & FLAG_STEALING != 0 {
            self.cancel_steal(t);
        }
        let (pos, est) = (self.tasks[t].set_pos, self.tasks[t].estimate_us);
        let (at, moved) = self.workers.secede(w, pos, est);
        if let Some(moved) = moved {
            self.tasks[moved].set_pos = pos;
        }
        let task = &mut self.tasks[t];
        task.set_pos = at;
        task.estimate_us = 0;
        task.flags |= FLAG_EXECUTING | FLAG_LONG_RUNNING;
    }

    pub(crate) fn add_holder(&mut self, t: TaskId, w: WorkerId) {
        if self.tasks.holder_index(t, w).is_some() {
            return;
        }
        let hw = &mut self.workers.list[w.ix()].has_what;
        let pos = hw.len() as u32;
        hw.push(t);
        self.tasks.push_holder(t, w, pos);
    }

    /// Drops `w` from `t`'s holders (no message sent); false if it was not one.
    pub(crate) fn remove_holder(&mut self, t: TaskId, w: WorkerId) -> bool {
        let Some(i) = self.tasks.holder_index(t, w) else {
            return false;
        };
        let (_, pos) = self.tasks.remove_holder_at(t, i);
        let hw = &mut self.workers.list[w.ix()].has_what;
        hw.swap_remove(pos as usize);
        if let Some(&moved) = hw.get(pos as usize) {
            if let Some(j) = self.tasks.holder_index(moved, w) {
                self.tasks.set_holder_pos(moved, j, pos);
            }
        }
        true
    }

    /// Tells every live holder to drop `t`'s data and clears its holders.
    pub(crate) fn free_data(&mut self, t: TaskId) {
        while let Some(&w) = self.tasks.who_has(t).last() {
            self.remove_holder(t, w);
            if self.workers.list[w.ix()].alive {
                self.outbox.free(w, t);
            }
        }
    }

    pub(crate) fn no_worker_insert(&mut self, t: TaskId) {
        self.tasks[t].set_pos = self.no_worker.len() as u32;
        self.no_worker.push(t);
    }

    pub(crate) fn no_worker_remove(&mut self, t: TaskId) {
        let pos = self.tasks[t].set_pos as usize;
        self.no_worker.swap_remove(pos);
        if let Some(&moved) = self.no_worker.get(pos) {
            self.tasks[moved].set_pos = pos as u32;
        }
    }

    /// Removes `t` for good: unlinks it from its dependencies (which may then be forgotten
    /// too), drops its key from the index, and queues its slot for recycling.
    pub(crate) fn forget_task(&mut self, t: TaskId) {
        debug_assert!(self.tasks[t].dependents.is_empty() && !self.tasks[t].has_holders());
        self.set_state(t, TaskState::Forgotten);
        let n = self.tasks[t].dep_count();
        for i in 0..n {
            let d = self.tasks[t].dep(i);
            let p = self.tasks[t].dep_pos(i) as usize;
            let dep = &mut self.tasks[d];
            dep.dependents.swap_remove(p);
            if let Some(&(m, j)) = dep.dependents.get(p) {
                self.tasks[m].set_dep_pos(j as usize, p as u32);
            }
            self.recommend_settle(d);
        }
        self.tasks[t].extras = None;
        if !self.tasks[t].scattered() {
            self.groups.remove_member(self.tasks[t].prefix);
        }
        self.tasks.forget(t);
    }

    /// Errs `t` (already off any worker/set): the failure comes from the event
    /// (`pending_failure`), an erred dependency, or, for lost scattered data, is `Lost`.
    /// Wanters hear it; dependents still pursued err too.
    pub(crate) fn fail(&mut self, t: TaskId) {
        let failure = match self.pending_failure.take() {
            Some((pt, cause, f)) if pt == t => (cause, f),
            other => {
                self.pending_failure = other;
                self.inherited_failure(t)
            }
        };
        self.set_state(t, TaskState::Erred);
        self.tasks[t].extras_mut().failure = Some(failure.clone());
        let (cause, f) = failure;
        self.for_each_wanter(t, |out, c| out.erred(c, t, cause, f.clone()));
        let n = self.tasks[t].dependents.len();
        for i in 0..n {
            let (d, _) = self.tasks[t].dependents[i];
            if self.tasks[d].state.needs_inputs() {
                self.recommend(d, TaskState::Erred);
            }
        }
    }

    fn inherited_failure(&self, t: TaskId) -> (TaskId, Arc<Failure>) {
        let task = &self.tasks[t];
        for &d in task.deps() {
            if let Some((cause, f)) = self.tasks[d]
                .failure()
                .filter(|_| self.tasks[d].state == TaskState::Erred)
            {
                return (*cause, f.clone());
            }
        }
        debug_assert!(task.scattered(), "task {:?} errs with no cause", task.key());
        (
            t,
            Arc::new(Failure::Lost {
                key: task.key().to_string(),
            }),
        )
    }

    /// A dependency of each dependent arrived in memory (`arrived`) or left it.
    pub(crate) fn dependents_input_changed(&mut self, t: TaskId, arrived: bool) {
        let n = self.tasks[t].dependents.len();
        for i in 0..n {
            let (d, _) = self.tasks[t].dependents[i];
            let dt = &mut self.tasks[d];
            match dt.state {
                TaskState::Waiting => {
                    if arrived {
                        dt.waiting_on -= 1;
                        if dt.waiting_on == 0 {
                            let to = self.ready_target(d);
                            self.recommend(d, to);
                        }
                    } else {
                        dt.waiting_on += 1;
                    }
                }
                // Their input is gone: back to waiting for it.
                TaskState::Processing | TaskState::NoWorker | TaskState::Queued if !arrived => {
                    self.recommend(d, TaskState::Waiting);
                }
                _ => {}
            }
        }
    }
}
