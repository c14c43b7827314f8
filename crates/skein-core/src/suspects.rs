//! Which tasks a worker that died was running, so only those count a death towards
//! `Config::allowed_failures`.
//!
//! A worker holds many more tasks than it runs at once (the saturation buffer can be a
//! thousand per slot), and blaming all of them for its death lets a few crashes err
//! innocent tasks with `KilledWorker`. Workers say which tasks are executing
//! (`task_executing`); those are the suspects. A worker that died before saying so (a task
//! that brought the process down within moments of starting) is judged by the older
//! guess: a worker starts what it received roughly in order, so the tasks it was handed
//! first (the lowest run ids still processing there), as many as it has slots.

use crate::ids::{TaskId, WorkerId};
use crate::scheduler::Scheduler;
use crate::task::FLAG_EXECUTING;

impl Scheduler {
    /// The tasks processing on `w` that count a death when it goes.
    pub(crate) fn suspects(&self, w: WorkerId) -> Vec<TaskId> {
        let wk = &self.workers.list[w.ix()];
        // A seceded task (long-running) is executing there too.
        let executing: Vec<TaskId> = wk
            .processing
            .iter()
            .copied()
            .filter(|&t| self.tasks[t].flags & FLAG_EXECUTING != 0)
            .chain(wk.long_running.iter().copied())
            .collect();
        if !executing.is_empty() {
            return executing;
        }
        let mut tasks = wk.processing.clone();
        let k = (wk.slots as usize).max(1);
        if tasks.len() > k {
            tasks.select_nth_unstable_by_key(k - 1, |&t| self.tasks[t].run);
            tasks.truncate(k);
        }
        tasks
    }
}
