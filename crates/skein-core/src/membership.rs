//! Workers joining, leaving, and going silent.

use crate::error::CoreError;
use crate::ids::{TaskId, WorkerId};
use crate::scheduler::Scheduler;
use crate::spec::{DeathCause, Failure, Removal, WorkerSpec};
use crate::state::TaskState;
use crate::story::Stimulus;
use crate::task::FLAG_EXECUTING;
use std::sync::Arc;

impl Scheduler {
    /// A worker joins: queued work and tasks that had no worker are offered to it.
    pub fn add_worker(&mut self, spec: WorkerSpec, now: f64) -> Result<WorkerId, CoreError> {
        if spec.slots == 0 {
            return Err(CoreError::InvalidWorker {
                reason: format!("worker {:?} has 0 slots", spec.name),
            });
        }
        if spec.name.is_empty() {
            return Err(CoreError::InvalidWorker {
                reason: "empty worker name".into(),
            });
        }
        for (r, v) in &spec.resources {
            if !(v.is_finite() && *v >= 0.0) {
                return Err(CoreError::InvalidWorker {
                    reason: format!("worker {:?} declares resource {r:?} = {v}", spec.name),
                });
            }
        }
        if self.workers.by_name.contains_key(spec.name.as_str()) {
            return Err(CoreError::DuplicateWorkerName { name: spec.name });
        }
        self.stimulus = Stimulus::AddWorker;
        let mut resources: Vec<(u32, f64)> = spec
            .resources
            .iter()
            .map(|(name, v)| (self.workers.resource_id(name), *v))
            .collect();
        resources.sort_by_key(|r| r.0);
        resources.dedup_by_key(|r| r.0);
        let w = self
            .workers
            .add(&spec.name, spec.slots, resources.into_boxed_slice(), now);
        self.outbox.add_worker();
        for i in (0..self.no_worker.len()).rev() {
            let t = self.no_worker[i];
            self.recommend(t, TaskState::Processing);
        }
        self.end_event();
        Ok(w)
    }

    /// A worker leaves: its processing tasks are rescheduled (each counts a suspicious death;
    /// at `allowed_failures` the task errs with `KilledWorker`), data only it held is
    /// recomputed. Removing a removed worker is a no-op.
    pub fn remove_worker(&mut self, w: WorkerId, now: f64) -> Result<(), CoreError> {
        let _ = now;
        let Some(wk) = self.workers.list.get(w.ix()) else {
            return Err(CoreError::UnknownWorker { worker: w.0 });
        };
        if !wk.alive {
            return Ok(());
        }
        self.stimulus = Stimulus::RemoveWorker;
        self.retire_worker(w, Removal::Left);
        self.end_event();
        Ok(())
    }

    fn retire_worker(&mut self, w: WorkerId, removal: Removal) {
        self.count_worker_loss(w);
        self.workers.retire(w);
        self.workers.list[w.ix()].removal = Some(removal);
        self.outbox.drop_worker(w);
        // Every task it was running counts a death; those at the limit err now. A worker that
        // sat on its tasks ran none of them: nothing to blame.
        let cause = match removal {
            Removal::Left => Some(DeathCause::Died),
            Removal::Unresponsive => Some(DeathCause::Unresponsive),
            Removal::Stalled => None,
        };
        if let Some(cause) = cause {
            for t in self.suspects(w) {
                self.count_death(t, w, cause);
            }
        }
        // Then its data: what nobody else holds is lost (recomputed if needed), so the
        // rescheduled tasks below already see which inputs are gone.
        while let Some(&t) = self.workers.list[w.ix()].has_what.last() {
            self.remove_holder(t, w);
            if !self.tasks[t].has_holders() {
                self.recommend_settle(t);
            }
        }
        self.run_recommendations();
        while let Some(&t) = self.workers.list[w.ix()].processing.last() {
            self.apply(t, TaskState::Waiting);
        }
        while let Some(&t) = self.workers.list[w.ix()].long_running.last() {
            self.apply(t, TaskState::Waiting);
        }
    }

    pub fn heartbeat(&mut self, w: WorkerId, now: f64) -> Result<(), CoreError> {
        let Some(wk) = self.workers.list.get_mut(w.ix()) else {
            return Err(CoreError::UnknownWorker { worker: w.0 });
        };
        if wk.alive && now > wk.last_seen {
            wk.last_seen = now;
        }
        self.end_event();
        Ok(())
    }

    /// Periodic: removes workers silent for longer than `heartbeat_timeout`; they are listed
    /// in `Instructions::removed_workers`.
    /// Then one round of work stealing (`stealing.rs`).
    pub fn tick(&mut self, now: f64) {
        self.stimulus = Stimulus::Tick;
        let timeout = self.config.heartbeat_timeout;
        // A tick this late means the scheduler itself was stalled, and heartbeats that came
        // meanwhile are still unread: credit every worker instead of blaming them for it.
        if self
            .last_tick
            .is_some_and(|last| now - last > timeout / 4.0)
        {
            self.counters.stalls += 1;
            for wk in self.workers.list.iter_mut().filter(|wk| wk.alive) {
                wk.last_seen = wk.last_seen.max(now);
                wk.quiet_since = wk.quiet_since.max(now);
            }
        }
        self.last_tick = Some(self.last_tick.map_or(now, |last| last.max(now)));
        let silent: Vec<WorkerId> = self
            .workers
            .list
            .iter()
            .enumerate()
            .filter(|(_, wk)| wk.alive && now - wk.last_seen > timeout)
            .map(|(i, _)| WorkerId(i as u32))
            .collect();
        for w in silent {
            self.counters.heartbeat_timeouts += 1;
            self.retire_worker(w, Removal::Unresponsive);
            self.outbox.removed_workers.push(w);
            self.run_recommendations();
        }
        for w in self.sitting_workers(now) {
            self.counters.stalled_workers += 1;
            self.retire_worker(w, Removal::Stalled);
            self.outbox.removed_workers.push(w);
            self.run_recommendations();
        }
        self.balance();
        self.end_event();
    }
}

impl Scheduler {
    /// Live worker `w` asks for no new tasks (`paused`: its memory is past its pause
    /// threshold) or takes them again. While paused no placement picks it, held-back roots
    /// and ready tasks go elsewhere (or wait), and what it already holds stays; on resume,
    /// tasks that had no worker and queued roots are offered to it.
    pub fn set_paused(&mut self, w: WorkerId, paused: bool) -> Result<(), CoreError> {
        if w.ix() >= self.workers.list.len() {
            return Err(CoreError::UnknownWorker { worker: w.0 });
        }
        self.stimulus = Stimulus::WorkerPaused;
        if self.workers.set_paused(w, paused) {
            self.workers.note_report(w);
            if !paused {
                for i in (0..self.no_worker.len()).rev() {
                    let t = self.no_worker[i];
                    self.recommend(t, TaskState::Processing);
                }
            }
        }
        self.end_event();
        Ok(())
    }

    /// Whether live worker `w` is paused.
    pub fn paused(&self, w: WorkerId) -> bool {
        self.workers.live(w).is_some_and(|wk| wk.paused)
    }

    /// Why `w` was removed (None while it is live, or for an unknown id).
    pub fn removal(&self, w: WorkerId) -> Option<Removal> {
        self.workers.list.get(w.ix()).and_then(|wk| wk.removal)
    }

    /// Live workers that hold processing tasks, execute none, and reported nothing about any
    /// task for longer than `Config::stall_timeout` (see there).
    fn sitting_workers(&mut self, now: f64) -> Vec<WorkerId> {
        let timeout = self.config.stall_timeout;
        // Zero, negative or NaN: the check is off.
        if timeout.is_nan() || timeout <= 0.0 {
            return Vec::new();
        }
        let mut sitting = Vec::new();
        for (i, wk) in self.workers.list.iter_mut().enumerate() {
            if !wk.alive {
                continue;
            }
            // A paused worker holds its tasks on purpose (memory), not because it is stuck.
            if wk.processing.is_empty() || wk.paused || wk.reports != wk.reports_seen {
                wk.reports_seen = wk.reports;
                wk.quiet_since = now;
                continue;
            }
            if now - wk.quiet_since <= timeout {
                continue;
            }
            // Checked only once a worker has been quiet this long: a task that runs for hours
            // says it is executing once, then nothing until it ends.
            if wk
                .processing
                .iter()
                .any(|&t| self.tasks[t].flags & FLAG_EXECUTING != 0)
            {
                wk.quiet_since = now;
                continue;
            }
            sitting.push(WorkerId(i as u32));
        }
        sitting
    }

    /// `t` was running on `w` when `w` (or, with `ExecutorDied`, its execution thread) was
    /// lost: one more death for `t`; at `allowed_failures` it errs with `KilledWorker`.
    pub(crate) fn count_death(&mut self, t: TaskId, w: WorkerId, cause: DeathCause) {
        let task = &mut self.tasks[t];
        task.extras_mut().killed_on.push((w, cause));
        if task.suspicious() < self.config.allowed_failures as usize {
            return;
        }
        let key = task.key().to_string();
        let deaths = task
            .extras
            .as_ref()
            .map(|e| e.killed_on.clone())
            .unwrap_or_default();
        let workers = deaths
            .iter()
            .map(|&(x, _)| self.workers.list[x.ix()].name.to_string())
            .collect();
        let causes = deaths.iter().map(|&(_, c)| c).collect();
        let f = Arc::new(Failure::KilledWorker {
            key,
            workers,
            causes,
        });
        self.pending_failure = Some((t, t, f));
        self.apply(t, TaskState::Erred);
        self.pending_failure = None;
    }
}
