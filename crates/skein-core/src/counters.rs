//! Running totals of what the scheduler did about failures and load balance, for health
//! checks and for tests that want to see recovery happen.

use crate::ids::WorkerId;
use crate::scheduler::Scheduler;

/// Totals since the scheduler started (see `Scheduler::stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    /// Compute instructions issued (run ids handed out; wraps at 2^32).
    pub computes: u64,
    /// Workers removed (connection closed, heartbeat timeout, killed).
    pub workers_removed: u64,
    /// Of those, removed by `tick` for missing their heartbeats.
    pub heartbeat_timeouts: u64,
    /// Tasks that were processing on a worker when it was removed (run again elsewhere,
    /// or erred with `KilledWorker`).
    pub rescheduled: u64,
    /// Results still needed whose last holder was removed: recomputed from their inputs
    /// (or, for scattered data, erred with `Lost`).
    pub lost_results: u64,
    pub steal_requests: u64,
    /// Steals the victim confirmed: the task moved to another worker.
    pub stolen: u64,
    /// Steals the victim refused because the task had started.
    pub steal_refused: u64,
    /// Execution threads a task ended (its worker lived on): each counts a death for that task.
    pub executors_died: u64,
    /// Ticks that came so late the scheduler itself must have been stalled (workers were
    /// credited with a heartbeat instead of being removed).
    pub stalls: u64,
    /// Workers removed by `tick` for sitting on their tasks (see `Config::stall_timeout`).
    pub stalled_workers: u64,
    /// State changes of tasks (every transition, as recorded in the stories).
    pub transitions: u64,
}

impl Scheduler {
    /// Counts what removing `w` costs; called before its tasks and data are let go.
    pub(crate) fn count_worker_loss(&mut self, w: WorkerId) {
        let wk = &self.workers.list[w.ix()];
        let lost = wk
            .has_what
            .iter()
            .filter(|&&t| self.tasks.who_has(t).len() == 1 && self.tasks[t].needed())
            .count();
        let c = &mut self.counters;
        c.workers_removed += 1;
        c.rescheduled += (wk.processing.len() + wk.long_running.len()) as u64;
        c.lost_results += lost as u64;
    }

    /// The counters, with `computes` read from the run counter (the core keeps no second count).
    pub fn stats(&self) -> SchedulerStats {
        SchedulerStats {
            computes: self.next_run - self.config.first_run,
            ..self.counters
        }
    }
}
