//! What workers report about tasks: finished, erred, missing an input, lost data.
//! Reports that are stale (the task is no longer processing there with that run id) are
//! ignored and return `Ok(false)`; unknown ids are errors.

use crate::error::CoreError;
use crate::ids::{TaskId, WorkerId};
use crate::scheduler::Scheduler;
use crate::spec::{DeathCause, Failure};
use crate::state::TaskState;
use crate::story::Stimulus;
use crate::story::TransitionRecord;
use crate::task::{FLAG_EXECUTING, FLAG_LONG_RUNNING};
use std::sync::Arc;

impl Scheduler {
    fn check_ids(&self, w: WorkerId, t: TaskId) -> Result<(), CoreError> {
        if w.ix() >= self.workers.list.len() {
            return Err(CoreError::UnknownWorker { worker: w.0 });
        }
        if !self.tasks.contains(t) {
            return Err(CoreError::UnknownTask { task: t.0 });
        }
        Ok(())
    }

    /// True if `t` is processing on live worker `w` under run `run`.
    fn is_current_run(&self, w: WorkerId, t: TaskId, run: u64) -> bool {
        let task = &self.tasks[t];
        task.state == TaskState::Processing
            && task.worker == w
            && task.run == run
            && self.workers.list[w.ix()].alive
    }

    /// `t` finished on `w`: it is in memory there, its dependents may become ready, and
    /// inputs nobody needs any more are released.
    pub fn task_finished(
        &mut self,
        w: WorkerId,
        t: TaskId,
        run: u64,
        nbytes: u64,
        duration: f64,
    ) -> Result<bool, CoreError> {
        self.check_ids(w, t)?;
        if !self.is_current_run(w, t, run) {
            return Ok(false);
        }
        self.workers.note_report(w);
        self.stimulus = Stimulus::TaskFinished;
        let prefix = self.tasks[t].prefix;
        self.prefixes.observe(prefix, duration, &self.config);
        self.task_stream.record(w, prefix, duration, false);
        self.tasks[t].nbytes = nbytes;
        // Its inputs got through: failures to fetch them before were not for good.
        for i in 0..self.tasks[t].dep_count() {
            let d = self.tasks[t].dep(i);
            if let Some(extras) = self.tasks[d].extras.as_mut() {
                extras.unfetched_from.clear();
            }
        }
        self.apply(t, TaskState::Memory);
        self.end_event();
        Ok(true)
    }

    /// `t` raised on `w`: it and every dependent still pursued err with the same failure.
    pub fn task_erred(
        &mut self,
        w: WorkerId,
        t: TaskId,
        run: u64,
        payload: Box<[u8]>,
    ) -> Result<bool, CoreError> {
        self.check_ids(w, t)?;
        if !self.is_current_run(w, t, run) {
            return Ok(false);
        }
        self.workers.note_report(w);
        self.stimulus = Stimulus::TaskErred;
        self.task_stream.record(w, self.tasks[t].prefix, 0.0, true);
        if let Some(extras) = self.tasks[t].extras.as_mut().filter(|e| e.retries_left > 0) {
            // A retry: run again (anywhere), as after any other stopped run.
            extras.retries_left -= 1;
            self.apply(t, TaskState::Waiting);
            self.end_event();
            return Ok(true);
        }
        self.pending_failure = Some((t, t, Arc::new(Failure::Raised { payload })));
        self.apply(t, TaskState::Erred);
        self.pending_failure = None;
        self.end_event();
        Ok(true)
    }

    /// `w`, running `t`, could not get `dep` from `holder`: `holder` is dropped from
    /// `who_has(dep)` (and told to free it); with no holder left `dep` is recomputed; `t`
    /// goes back to waiting.
    pub fn missing_data(
        &mut self,
        w: WorkerId,
        t: TaskId,
        run: u64,
        dep: TaskId,
        holder: WorkerId,
    ) -> Result<bool, CoreError> {
        self.missing_data_because(w, t, run, dep, holder, None)
    }

    /// `missing_data`, with the error the worker met (`reason`, kept for the failure that
    /// ends the tries: the client's TransferError shows it).
    pub fn missing_data_because(
        &mut self,
        w: WorkerId,
        t: TaskId,
        run: u64,
        dep: TaskId,
        holder: WorkerId,
        reason: Option<&str>,
    ) -> Result<bool, CoreError> {
        self.check_ids(w, t)?;
        self.check_ids(holder, dep)?;
        if !self.is_current_run(w, t, run) || !self.tasks[t].deps().contains(&dep) {
            return Ok(false);
        }
        self.workers.note_report(w);
        self.stimulus = Stimulus::MissingData;
        if self.remove_holder(dep, holder) {
            if self.workers.list[holder.ix()].alive {
                self.outbox.free(holder, dep);
            }
            if !self.tasks[dep].has_holders() {
                // Lost: this moves `t` (and any other user of `dep`) back to waiting.
                self.recommend_settle(dep);
                self.run_recommendations();
            }
        }
        if self.is_current_run(w, t, run) {
            self.apply(t, TaskState::Waiting);
        }
        let failed = {
            let extras = self.tasks[dep].extras_mut();
            extras.unfetched_from.push(holder);
            if let Some(reason) = reason {
                extras.unfetched_reason = Some(reason.into());
            }
            extras.unfetched_from.len() >= self.config.allowed_failures as usize
        };
        if failed
            && matches!(
                self.tasks[t].state,
                TaskState::Waiting | TaskState::Processing
            )
        {
            // Fetched, failed, recomputed (or found elsewhere) and failed again, that many
            // times: the transfer itself fails (a value no link carries, an address no one
            // reaches). `t` errs on its own account, naming the input, instead of a loop.
            let key = self.tasks[dep].key().to_string();
            let extras = self.tasks[dep].extras_mut();
            let tried = std::mem::take(&mut extras.unfetched_from);
            let reason = extras.unfetched_reason.take().map(String::from);
            let workers = tried
                .iter()
                .map(|w| self.workers.list[w.ix()].name.to_string())
                .collect();
            let f = Arc::new(Failure::Unfetchable {
                key,
                workers,
                reason,
            });
            self.pending_failure = Some((t, t, f));
            self.apply(t, TaskState::Erred);
            self.pending_failure = None;
        }
        self.end_event();
        Ok(true)
    }

    /// `w` says it is executing run `run` of `t` (started it, not merely holds it queued):
    /// should `w` die now, `t` is one of the tasks blamed.
    pub fn task_executing(&mut self, w: WorkerId, t: TaskId, run: u64) -> Result<bool, CoreError> {
        self.check_ids(w, t)?;
        if !self.is_current_run(w, t, run) {
            return Ok(false);
        }
        self.workers.note_report(w);
        self.tasks[t].flags |= FLAG_EXECUTING;
        self.end_event();
        Ok(true)
    }

    /// `w` says run `run` of `t` seceded from its slot: it waits for tasks it submitted (Dask's
    /// `long-running`). It stays processing on `w`, but no longer counts against `w`'s slots
    /// (load level, occupancy, room for queued root-ish tasks, stealing), so `w` gets other
    /// work meanwhile; it is executing there (blamed if `w` dies). Once per run: a task that
    /// rejoins its slot stays counted as seceded until it ends, as in Dask.
    pub fn task_long_running(
        &mut self,
        w: WorkerId,
        t: TaskId,
        run: u64,
    ) -> Result<bool, CoreError> {
        self.check_ids(w, t)?;
        if !self.is_current_run(w, t, run) || self.tasks[t].flags & FLAG_LONG_RUNNING != 0 {
            return Ok(false);
        }
        self.workers.note_report(w);
        self.stimulus = Stimulus::LongRunning;
        self.secede_processing(t, w);
        self.tasks[t].story.record(
            TransitionRecord {
                from: TaskState::Processing,
                to: TaskState::Processing,
                stimulus: Stimulus::LongRunning,
            },
            self.config.story_len,
        );
        self.end_event();
        Ok(true)
    }

    /// Run `run` of `t` ended the execution thread it ran on, while `w` itself lives on
    /// (the task exited the thread, ran it out of memory or crashed it): one death for `t`
    /// alone. It runs again (elsewhere if the placement says so) or, at
    /// `allowed_failures`, errs with `KilledWorker`.
    pub fn executor_died(&mut self, w: WorkerId, t: TaskId, run: u64) -> Result<bool, CoreError> {
        self.check_ids(w, t)?;
        if !self.is_current_run(w, t, run) {
            return Ok(false);
        }
        self.workers.note_report(w);
        self.stimulus = Stimulus::ExecutorDied;
        self.counters.executors_died += 1;
        self.count_death(t, w, DeathCause::ExecutorDied);
        if self.is_current_run(w, t, run) {
            self.apply(t, TaskState::Waiting);
        }
        self.end_event();
        Ok(true)
    }

    /// `w` no longer holds `t` (evicted or lost). With no holder left, `t` is recomputed if
    /// needed (scattered data errs with `Failure::Lost`).
    pub fn data_lost(&mut self, w: WorkerId, t: TaskId) -> Result<bool, CoreError> {
        self.check_ids(w, t)?;
        if self.tasks[t].state != TaskState::Memory || !self.remove_holder(t, w) {
            return Ok(false);
        }
        self.stimulus = Stimulus::DataLost;
        if !self.tasks[t].has_holders() {
            self.recommend_settle(t);
        }
        self.end_event();
        Ok(true)
    }
}
