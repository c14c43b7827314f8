//! The outbox: instructions batched per worker and per client, with dirty lists so that
//! taking them costs O(output), not O(workers + clients).

use crate::ids::{ClientId, TaskId, WorkerId};
use crate::spec::Failure;
use std::sync::Arc;

/// Run `task` (payload and dependencies via the accessors); report back with `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compute {
    pub task: TaskId,
    pub run: u64,
}

/// What one worker should do. Workers apply `free` before `compute`, and `steal` last.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerBatch {
    /// In priority order.
    pub compute: Vec<Compute>,
    /// Drop this data / abandon this task if not started.
    pub free: Vec<TaskId>,
    /// Steal requests (task, run): if the task has not started, drop it and answer
    /// `steal_response(.., stolen: true)`; otherwise keep it and answer `false`.
    pub steal: Vec<(TaskId, u64)>,
}

/// What one client should hear.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientBatch {
    /// Key is in memory (who_has via the accessor).
    pub memory: Vec<TaskId>,
    /// (key, the key whose failure caused it, failure).
    pub erred: Vec<(TaskId, TaskId, Arc<Failure>)>,
    pub cancelled: Vec<TaskId>,
    /// Keys that had erred and were taken back by a client's retry: forget their failure and
    /// wait for the new run (Dask's `task-retried`). Said before the batch's other news.
    pub retried: Vec<TaskId>,
}

/// Everything produced since the last `take_instructions`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Instructions {
    /// Only workers with something to do.
    pub workers: Vec<(WorkerId, WorkerBatch)>,
    /// Only clients with something to hear.
    pub clients: Vec<(ClientId, ClientBatch)>,
    /// Removed by `tick()` (heartbeat timeout): the shell closes them.
    pub removed_workers: Vec<WorkerId>,
}

impl Instructions {
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty() && self.clients.is_empty() && self.removed_workers.is_empty()
    }
}

#[derive(Default)]
pub(crate) struct Outbox {
    pub workers: Vec<WorkerBatch>,
    worker_dirty: Vec<bool>,
    pub dirty_workers: Vec<WorkerId>,
    pub clients: Vec<ClientBatch>,
    client_dirty: Vec<bool>,
    pub dirty_clients: Vec<ClientId>,
    pub removed_workers: Vec<WorkerId>,
    /// Emptied buffers handed back through `Scheduler::recycle`, reused for new batches.
    compute_pool: Vec<Vec<Compute>>,
    task_pool: Vec<Vec<TaskId>>,
}

const POOL_MAX: usize = 4096;
const POOLED_CAPACITY_MAX: usize = 1 << 16;

impl Outbox {
    pub fn add_worker(&mut self) {
        self.workers.push(WorkerBatch::default());
        self.worker_dirty.push(false);
    }

    pub fn add_client(&mut self) {
        self.clients.push(ClientBatch::default());
        self.client_dirty.push(false);
    }

    #[inline]
    fn worker(&mut self, w: WorkerId) -> &mut WorkerBatch {
        if !self.worker_dirty[w.ix()] {
            self.worker_dirty[w.ix()] = true;
            self.dirty_workers.push(w);
        }
        &mut self.workers[w.ix()]
    }

    #[inline]
    fn client(&mut self, c: ClientId) -> &mut ClientBatch {
        if !self.client_dirty[c.ix()] {
            self.client_dirty[c.ix()] = true;
            self.dirty_clients.push(c);
        }
        &mut self.clients[c.ix()]
    }

    #[inline]
    pub fn compute(&mut self, w: WorkerId, task: TaskId, run: u64) {
        if self.workers[w.ix()].compute.capacity() == 0 {
            if let Some(v) = self.compute_pool.pop() {
                self.workers[w.ix()].compute = v;
            }
        }
        self.worker(w).compute.push(Compute { task, run });
    }

    #[inline]
    pub fn free(&mut self, w: WorkerId, t: TaskId) {
        if self.workers[w.ix()].free.capacity() == 0 {
            if let Some(v) = self.task_pool.pop() {
                self.workers[w.ix()].free = v;
            }
        }
        self.worker(w).free.push(t);
    }

    #[inline]
    pub fn memory(&mut self, c: ClientId, t: TaskId) {
        if self.clients[c.ix()].memory.capacity() == 0 {
            if let Some(v) = self.task_pool.pop() {
                self.clients[c.ix()].memory = v;
            }
        }
        self.client(c).memory.push(t);
    }

    fn pool_compute(&mut self, mut v: Vec<Compute>) {
        if self.compute_pool.len() < POOL_MAX
            && v.capacity() > 0
            && v.capacity() <= POOLED_CAPACITY_MAX
        {
            v.clear();
            self.compute_pool.push(v);
        }
    }

    fn pool_tasks(&mut self, mut v: Vec<TaskId>) {
        if self.task_pool.len() < POOL_MAX
            && v.capacity() > 0
            && v.capacity() <= POOLED_CAPACITY_MAX
        {
            v.clear();
            self.task_pool.push(v);
        }
    }

    pub fn erred(&mut self, c: ClientId, t: TaskId, cause: TaskId, f: Arc<Failure>) {
        self.client(c).erred.push((t, cause, f));
    }

    pub fn steal(&mut self, w: WorkerId, t: TaskId, run: u64) {
        self.worker(w).steal.push((t, run));
    }

    pub fn cancelled(&mut self, c: ClientId, t: TaskId) {
        self.client(c).cancelled.push(t);
    }

    pub fn retried(&mut self, c: ClientId, t: TaskId) {
        self.client(c).retried.push(t);
    }

    /// A gone worker hears nothing more.
    pub fn drop_worker(&mut self, w: WorkerId) {
        self.workers[w.ix()] = WorkerBatch::default();
    }

    /// A gone client hears nothing more.
    pub fn drop_client(&mut self, c: ClientId) {
        self.clients[c.ix()] = ClientBatch::default();
    }

    pub fn take_worker(&mut self, w: WorkerId) -> WorkerBatch {
        self.worker_dirty[w.ix()] = false;
        std::mem::take(&mut self.workers[w.ix()])
    }

    pub fn take_client(&mut self, c: ClientId) -> ClientBatch {
        self.client_dirty[c.ix()] = false;
        std::mem::take(&mut self.clients[c.ix()])
    }
}

impl crate::scheduler::Scheduler {
    /// Everything produced since the last call, batched per worker and per client.
    ///
    /// Ids of tasks forgotten before the previous call are recycled here; ids in the batch
    /// returned now keep resolving (`key()`, `payload()`) until the next call.
    pub fn take_instructions(&mut self) -> Instructions {
        self.tasks.rotate_recycling();
        let mut out = Instructions::default();
        let dirty = std::mem::take(&mut self.outbox.dirty_workers);
        out.workers.reserve(dirty.len());
        for w in dirty {
            let mut batch = self.outbox.take_worker(w);
            // A compute superseded in the same batch (task released, moved or rerun) is dropped.
            let tasks = &self.tasks;
            batch.compute.retain(|c| {
                let t = &tasks[c.task];
                t.state == crate::TaskState::Processing && t.worker == w && t.run == c.run
            });
            batch.compute.sort_by_key(|c| tasks[c.task].priority);
            // A steal answered or made moot (task finished, moved) before delivery is dropped.
            batch
                .steal
                .retain(|&(t, run)| self.stealing.requested(&self.tasks, t, w, run));
            if !(batch.compute.is_empty() && batch.free.is_empty() && batch.steal.is_empty()) {
                out.workers.push((w, batch));
            }
        }
        let dirty = std::mem::take(&mut self.outbox.dirty_clients);
        for c in dirty {
            let batch = self.outbox.take_client(c);
            if !(batch.memory.is_empty()
                && batch.erred.is_empty()
                && batch.cancelled.is_empty()
                && batch.retried.is_empty())
            {
                out.clients.push((c, batch));
            }
        }
        out.removed_workers = std::mem::take(&mut self.outbox.removed_workers);
        self.end_event();
        out
    }

    /// Optional: hands the buffers of a batch the caller is done with back to the core, so
    /// later batches reuse them instead of allocating (worth it with many workers).
    pub fn recycle(&mut self, instructions: Instructions) {
        for (_, b) in instructions.workers {
            self.outbox.pool_compute(b.compute);
            self.outbox.pool_tasks(b.free);
        }
        for (_, b) in instructions.clients {
            self.outbox.pool_tasks(b.memory);
            self.outbox.pool_tasks(b.cancelled);
            self.outbox.pool_tasks(b.retried);
        }
    }
}
