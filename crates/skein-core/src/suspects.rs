//! Which tasks a worker that died was probably running, so only those count a death
//! towards `Config::allowed_failures`.
//!
//! A worker holds many more tasks than it runs at once (the saturation buffer can be a
//! thousand per slot), and blaming all of them for its death lets a few crashes err
//! innocent tasks with `KilledWorker`. A worker runs what it received in order, so the
//! tasks it was handed first (the lowest run ids still processing there) are the ones it
//! was running: as many as it has slots. (Blaming twice as many, to allow for tasks that
//! ran ahead while earlier ones fetched inputs, erred innocent tasks queued right behind a
//! poison task; a task that dies while an earlier one fetches is still caught on the next
//! worker, once the earlier one has finished.)

use crate::ids::{TaskId, WorkerId};
use crate::scheduler::Scheduler;

impl Scheduler {
    /// The tasks processing on `w` that count a death when it goes.
    pub(crate) fn suspects(&self, w: WorkerId) -> Vec<TaskId> {
        let wk = &self.workers.list[w.ix()];
        let mut tasks = wk.processing.clone();
        let k = (wk.slots as usize).max(1);
        if tasks.len() > k {
            tasks.select_nth_unstable_by_key(k - 1, |&t| self.tasks[t].run);
            tasks.truncate(k);
        }
        tasks
    }
}
