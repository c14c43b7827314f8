//! Runs that ended (finished or raised), for the dashboard's task stream: recorded only while
//! the shell watches (it turns the record on and drains it after each batch of worker events,
//! stamping the time itself: the core has no clock); a branch per run otherwise.

use crate::ids::WorkerId;
use crate::scheduler::Scheduler;

/// Runs kept between two drains at most; past it they are counted as dropped, not kept.
pub const MAX_PENDING_RUNS: usize = 65_536;

/// One run that ended on a worker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunRecord {
    pub worker: WorkerId,
    /// The task's prefix id (see `Scheduler::prefix_progress` for the names, in id order).
    pub prefix: u32,
    /// Seconds it ran, as the worker measured (0 for a run that raised: workers report none).
    pub duration: f64,
    pub erred: bool,
}

#[derive(Default)]
pub(crate) struct TaskStream {
    on: bool,
    runs: Vec<RunRecord>,
    dropped: u64,
}

impl TaskStream {
    #[inline]
    pub(crate) fn record(&mut self, worker: WorkerId, prefix: u32, duration: f64, erred: bool) {
        if !self.on {
            return;
        }
        if self.runs.len() >= MAX_PENDING_RUNS {
            self.dropped += 1;
            return;
        }
        let duration = if duration.is_finite() && duration >= 0.0 {
            duration
        } else {
            0.0
        };
        self.runs.push(RunRecord {
            worker,
            prefix,
            duration,
            erred,
        });
    }
}

impl Scheduler {
    /// Starts or stops recording ended runs; stopping forgets what was not taken.
    pub fn record_runs(&mut self, on: bool) {
        self.task_stream.on = on;
        if !on {
            self.task_stream.runs = Vec::new();
            self.task_stream.dropped = 0;
        }
    }

    /// The runs recorded since the last call, oldest first, and how many were dropped
    /// (more than `MAX_PENDING_RUNS` between two calls).
    pub fn take_runs(&mut self) -> (Vec<RunRecord>, u64) {
        let dropped = std::mem::take(&mut self.task_stream.dropped);
        (std::mem::take(&mut self.task_stream.runs), dropped)
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{finish, sched, task, worker};
    use crate::TaskState;

    #[test]
    fn ended_runs_are_recorded_only_while_on() {
        let mut s = sched();
        let c = s.add_client();
        let w = worker(&mut s, "w1", 1);
        s.submit_graph(c, vec![task("a-1", &[]), task("b-1", &[])], &["a-1", "b-1"])
            .unwrap();
        finish(&mut s, "a-1");
        assert_eq!(s.take_runs().0, vec![]);
        s.record_runs(true);
        finish(&mut s, "b-1");
        let (runs, dropped) = s.take_runs();
        assert_eq!(dropped, 0);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].worker, w);
        assert!(!runs[0].erred);
        let names: Vec<String> = s.prefix_progress().into_iter().map(|p| p.prefix).collect();
        assert_eq!(names[runs[0].prefix as usize], "b");
        assert_eq!(s.state(s.task_id("b-1").unwrap()), TaskState::Memory);
        assert!(s.take_runs().0.is_empty());
    }
}
