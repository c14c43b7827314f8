//! The transition table: one function per (from, to) pair, dispatched by a `match` the
//! compiler checks for completeness (no wildcard), and the loop that applies
//! recommendations until none remain.
//!
//! Transitions do no IO: they change fields (through `bookkeeping`), append instructions to
//! the outbox and push recommendations. A recommendation is re-checked when applied: if the
//! task moved on in between, a pair with no transition is simply dropped, and the transitions
//! to `Released`/`Forgotten` re-check that nobody needs the task.

use crate::ids::TaskId;
use crate::placement;
use crate::scheduler::Scheduler;
use crate::state::TaskState;
use crate::story::Stimulus;
use crate::task::FLAG_IN_QUEUE;

/// A recommendation: go to this state, or "settle" (decide from the task's situation when
/// applied whether it should be pursued, released or forgotten).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rec {
    To(TaskState),
    Settle,
}

impl Scheduler {
    #[inline]
    pub(crate) fn recommend(&mut self, t: TaskId, to: TaskState) {
        self.recs.push((t, Rec::To(to)));
    }

    #[inline]
    pub(crate) fn recommend_settle(&mut self, t: TaskId) {
        self.recs.push((t, Rec::Settle));
    }

    /// Applies recommendations (depth first) until none remain.
    pub(crate) fn run_recommendations(&mut self) {
        while let Some((t, rec)) = self.recs.pop() {
            let to = match rec {
                Rec::To(s) => s,
                Rec::Settle => match self.settle_target(t) {
                    Some(s) => s,
                    None => continue,
                },
            };
            self.apply(t, to);
        }
    }

    /// What a task should do given who needs it now.
    fn settle_target(&self, t: TaskId) -> Option<TaskState> {
        use TaskState::*;
        let task = &self.tasks[t];
        let needed = task.needed();
        let orphan = task.dependents.is_empty();
        match task.state {
            Released if needed => Some(Waiting),
            Released if orphan => Some(Forgotten),
            Released => None,
            Waiting | Queued | NoWorker | Processing => (!needed).then_some(Released),
            Memory if !task.has_holders() && needed => {
                Some(if task.scattered() { Erred } else { Released })
            }
            Memory if needed => None,
            Memory => Some(if orphan { Forgotten } else { Released }),
            Erred => (task.want_count == 0 && orphan).then_some(Forgotten),
            Forgotten => None,
        }
    }

    /// Applies one transition of `t` to `to`, if there is one from its current state.
    pub(crate) fn apply(&mut self, t: TaskId, to: TaskState) {
        use TaskState::*;
        let from = self.tasks[t].state;
        match (from, to) {
            (Released, Waiting) => self.transition_released_waiting(t),
            (Released, Memory) => self.transition_released_memory(t),
            (Released, Forgotten) => self.transition_released_forgotten(t),
            (Waiting, Queued) => self.transition_waiting_queued(t),
            (Waiting, Processing) => self.transition_waiting_processing(t),
            (Waiting, NoWorker) => self.transition_waiting_no_worker(t),
            (Waiting, Released) => self.transition_waiting_released(t),
            (Waiting, Erred) => self.transition_waiting_erred(t),
            (Queued, Processing) => self.transition_queued_processing(t),
            (Queued, Released) => self.transition_queued_released(t),
            (Queued, Waiting) => self.transition_queued_waiting(t),
            (Queued, Erred) => self.transition_queued_erred(t),
            (NoWorker, Processing) => self.transition_no_worker_processing(t),
            (NoWorker, Waiting) => self.transition_no_worker_waiting(t),
            (NoWorker, Released) => self.transition_no_worker_released(t),
            (NoWorker, Erred) => self.transition_no_worker_erred(t),
            (Processing, Memory) => self.transition_processing_memory(t),
            (Processing, Waiting) => self.transition_processing_waiting(t),
            (Processing, Released) => self.transition_processing_released(t),
            (Processing, Erred) => self.transition_processing_erred(t),
            (Memory, Released) => self.transition_memory_released(t),
            (Memory, Forgotten) => self.transition_memory_forgotten(t),
            (Memory, Erred) => self.transition_memory_erred(t),
            (Erred, Forgotten) => self.transition_erred_forgotten(t),
            (Erred, Released) => self.transition_erred_released(t),
            // No transition: a stale recommendation (the task moved on since it was made).
            (Released, Released | Queued | NoWorker | Processing | Erred)
            | (Waiting, Waiting | Memory | Forgotten)
            | (Queued, Queued | NoWorker | Memory | Forgotten)
            | (NoWorker, Queued | NoWorker | Memory | Forgotten)
            | (Processing, Queued | NoWorker | Processing | Forgotten)
            | (Memory, Waiting | Queued | NoWorker | Processing | Memory)
            | (Erred, Waiting | Queued | NoWorker | Processing | Memory | Erred)
            | (
                Forgotten,
                Released | Waiting | Queued | NoWorker | Processing | Memory | Erred | Forgotten,
            ) => {}
        }
    }

    // --- from released

    /// Needed now: wait for inputs (asking for released ones to be computed).
    fn transition_released_waiting(&mut self, t: TaskId) {
        if !self.tasks[t].needed() {
            return;
        }
        self.set_state(t, TaskState::Waiting);
        self.enter_waiting(t);
    }

    /// Scattered data arrived (the caller has added the holder).
    fn transition_released_memory(&mut self, t: TaskId) {
        self.set_state(t, TaskState::Memory);
        self.for_each_wanter(t, |out, c| out.memory(c, t));
        self.dependents_input_changed(t, true);
        self.recommend_settle(t);
    }

    fn transition_released_forgotten(&mut self, t: TaskId) {
        let task = &self.tasks[t];
        if task.needed() || !task.dependents.is_empty() {
            return;
        }
        self.forget_task(t);
    }

    // --- from waiting

    fn transition_waiting_queued(&mut self, t: TaskId) {
        if self.tasks[t].waiting_on > 0 {
            return;
        }
        self.set_state(t, TaskState::Queued);
        let task = &mut self.tasks[t];
        if task.flags & FLAG_IN_QUEUE == 0 {
            task.flags |= FLAG_IN_QUEUE;
            self.queue.push(t, &self.tasks);
        }
    }

    fn transition_waiting_processing(&mut self, t: TaskId) {
        if self.tasks[t].waiting_on > 0 {
            return;
        }
        match placement::decide_worker(
            &self.tasks,
            &mut self.workers,
            t,
            self.prefixes.estimate_us(self.tasks[t].prefix),
            &self.config,
        ) {
            Some(w) => self.start_processing(t, w),
            None => self.recommend(t, TaskState::NoWorker),
        }
    }

    fn transition_waiting_no_worker(&mut self, t: TaskId) {
        if self.tasks[t].waiting_on > 0 {
            return;
        }
        self.set_state(t, TaskState::NoWorker);
        self.no_worker_insert(t);
    }

    fn transition_waiting_released(&mut self, t: TaskId) {
        if self.tasks[t].needed() {
            return;
        }
        self.set_state(t, TaskState::Released);
        self.recommend_settle(t);
    }

    fn transition_waiting_erred(&mut self, t: TaskId) {
        self.fail(t);
    }

    // --- from queued

    fn transition_queued_processing(&mut self, t: TaskId) {
        let tps = self.prefixes.tasks_per_slot(self.tasks[t].prefix);
        if let Some(w) = placement::root_worker(&self.workers, tps) {
            self.start_processing(t, w);
        }
    }

    /// The queue entry stays and is skipped when it reaches the head.
    fn transition_queued_released(&mut self, t: TaskId) {
        if self.tasks[t].needed() {
            return;
        }
        self.set_state(t, TaskState::Released);
        self.recommend_settle(t);
    }

    /// A root-ish task's input is gone: it waits for it again. Its queue entry stays (still
    /// flagged), so coming back to the queue pushes no second one.
    fn transition_queued_waiting(&mut self, t: TaskId) {
        if !self.any_dep_in(t, |s| s != TaskState::Memory) {
            return;
        }
        self.set_state(t, TaskState::Waiting);
        self.enter_waiting(t);
    }

    /// A root-ish task's input erred (scattered data lost with its last holder).
    fn transition_queued_erred(&mut self, t: TaskId) {
        if !self.any_dep_in(t, |s| s == TaskState::Erred) {
            return;
        }
        self.fail(t);
    }

    /// Whether a dependency of `t` is in a state `pick` accepts (re-checks a recommendation
    /// to a queued task, whose only causes are its inputs).
    fn any_dep_in(&self, t: TaskId, pick: impl Fn(TaskState) -> bool) -> bool {
        self.tasks[t]
            .deps()
            .iter()
            .any(|&d| pick(self.tasks[d].state))
    }

    // --- from no-worker

    fn transition_no_worker_processing(&mut self, t: TaskId) {
        if let Some(w) = placement::decide_worker(
            &self.tasks,
            &mut self.workers,
            t,
            self.prefixes.estimate_us(self.tasks[t].prefix),
            &self.config,
        ) {
            self.no_worker_remove(t);
            self.start_processing(t, w);
        }
    }

    /// An input it was ready to use is gone.
    fn transition_no_worker_waiting(&mut self, t: TaskId) {
        self.no_worker_remove(t);
        self.set_state(t, TaskState::Waiting);
        self.enter_waiting(t);
    }

    fn transition_no_worker_released(&mut self, t: TaskId) {
        if self.tasks[t].needed() {
            return;
        }
        self.no_worker_remove(t);
        self.set_state(t, TaskState::Released);
        self.recommend_settle(t);
    }

    fn transition_no_worker_erred(&mut self, t: TaskId) {
        self.no_worker_remove(t);
        self.fail(t);
    }

    // --- from processing

    /// Finished (the caller has stored nbytes): the worker holds the result.
    fn transition_processing_memory(&mut self, t: TaskId) {
        let Some(w) = self.tasks[t].processing_worker() else {
            return;
        };
        self.stop_processing(t, false);
        self.add_holder(t, w);
        self.set_state(t, TaskState::Memory);
        self.for_each_wanter(t, |out, c| out.memory(c, t));
        self.dependents_input_changed(t, true);
        if !self.tasks[t].needed() {
            self.recommend_settle(t);
        }
    }

    /// Rescheduled: its worker died, or an input went missing.
    fn transition_processing_waiting(&mut self, t: TaskId) {
        self.stop_processing(t, true);
        self.set_state(t, TaskState::Waiting);
        self.enter_waiting(t);
    }

    fn transition_processing_released(&mut self, t: TaskId) {
        if self.tasks[t].needed() {
            return;
        }
        self.stop_processing(t, true);
        self.set_state(t, TaskState::Released);
        self.recommend_settle(t);
    }

    fn transition_processing_erred(&mut self, t: TaskId) {
        self.stop_processing(t, true);
        self.fail(t);
    }

    // --- from memory

    /// Either nobody needs the data any more (holders told to free it), or the last holder
    /// lost it (then dependents that were about to use it wait again, and `t` is recomputed
    /// if needed).
    fn transition_memory_released(&mut self, t: TaskId) {
        let task = &self.tasks[t];
        if task.needed() && task.has_holders() {
            return;
        }
        self.free_data(t);
        self.set_state(t, TaskState::Released);
        self.dependents_input_changed(t, false);
        self.recommend_settle(t);
    }

    fn transition_memory_forgotten(&mut self, t: TaskId) {
        let task = &self.tasks[t];
        if task.needed() || !task.dependents.is_empty() {
            return;
        }
        self.free_data(t);
        self.forget_task(t);
    }

    /// Scattered data lost its last holder while needed: it cannot be recomputed.
    fn transition_memory_erred(&mut self, t: TaskId) {
        if self.tasks[t].has_holders() {
            return;
        }
        self.dependents_input_changed(t, false);
        self.fail(t);
    }

    // --- from erred

    /// A client's retry (`retry_keys`), and only that: the failure is forgotten (deaths and
    /// unfetched inputs counted against it too), the task is computed again if needed, and
    /// its erred dependents follow it back (as Dask's erred -> released). Scattered data
    /// cannot be computed again and stays erred.
    fn transition_erred_released(&mut self, t: TaskId) {
        if self.stimulus != Stimulus::Retry || self.tasks[t].scattered() {
            return;
        }
        let extras = self.tasks[t].extras_mut();
        extras.failure = None;
        extras.killed_on.clear();
        extras.unfetched_from.clear();
        extras.unfetched_reason = None;
        self.set_state(t, TaskState::Released);
        self.retried.push(t);
        self.for_each_wanter(t, |out, c| out.retried(c, t));
        let n = self.tasks[t].dependents.len();
        for i in 0..n {
            let (d, _) = self.tasks[t].dependents[i];
            if self.tasks[d].state == TaskState::Erred {
                self.recommend(d, TaskState::Released);
            }
        }
        self.recommend_settle(t);
    }

    fn transition_erred_forgotten(&mut self, t: TaskId) {
        let task = &self.tasks[t];
        if task.want_count > 0 || !task.dependents.is_empty() {
            return;
        }
        self.forget_task(t);
    }

    /// Hands queued root and root-ish tasks, in priority order, to workers with room.
    pub(crate) fn fill_from_queue(&mut self) {
        while let Some(t) = self.queue.peek(&self.tasks) {
            let task = &self.tasks[t];
            if task.state != TaskState::Queued {
                // Left the queue's state since; a forgotten task's slot may now be reused.
                self.queue.pop(&self.tasks);
                self.tasks[t].flags &= !FLAG_IN_QUEUE;
                if self.tasks[t].state == TaskState::Forgotten {
                    self.tasks.recycle_later(t);
                }
                continue;
            }
            let tps = self.prefixes.tasks_per_slot(task.prefix);
            if placement::root_worker(&self.workers, tps).is_none() {
                break;
            }
            self.queue.pop(&self.tasks);
            self.tasks[t].flags &= !FLAG_IN_QUEUE;
            self.apply(t, TaskState::Processing);
        }
    }
}
