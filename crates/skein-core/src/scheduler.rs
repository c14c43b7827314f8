//! The `Scheduler` struct, its constructor, read accessors and the end-of-event step.

use crate::client::ClientTable;
use crate::config::Config;
use crate::counters::SchedulerStats;
use crate::groups::Groups;
use crate::ids::{ClientId, KeyHasher, TaskId, WorkerId};
use crate::instructions::Outbox;
use crate::prefix::Prefixes;
use crate::prefix_states::PrefixStates;
use crate::queue::ReadyQueue;
use crate::spec::Failure;
use crate::state::{StateCounts, TaskState};
use crate::stealing::Stealing;
use crate::story::{Stimulus, TransitionRecord};
use crate::task::TaskTable;
use crate::task_stream::TaskStream;
use crate::transitions::Rec;
use crate::worker::WorkerTable;
use std::sync::Arc;

/// The scheduling state machine. Events in through methods, instructions out through
/// [`Scheduler::take_instructions`].
pub struct Scheduler {
    pub(crate) config: Config,
    pub(crate) tasks: TaskTable,
    pub(crate) workers: WorkerTable,
    pub(crate) clients: ClientTable,
    pub(crate) prefixes: Prefixes,
    /// Task groups and the counts the root-ish rule reads (`groups.rs`).
    pub(crate) groups: Groups,
    pub(crate) queue: ReadyQueue,
    /// Ready tasks no live worker can take; each stores its position (`Task::set_pos`).
    pub(crate) no_worker: Vec<TaskId>,
    pub(crate) outbox: Outbox,
    /// Pending recommendations (a stack: depth-first, like Dask's popitem).
    pub(crate) recs: Vec<(TaskId, Rec)>,
    pub(crate) stimulus: Stimulus,
    /// 64-bit counters: at a billion a second they would wrap after 584 years.
    pub(crate) next_run: u64,
    pub(crate) generation: u64,
    /// Failure to attach when `task` next errs: (task, cause, failure).
    pub(crate) pending_failure: Option<(TaskId, TaskId, Arc<Failure>)>,
    pub(crate) by_state: [usize; TaskState::COUNT],
    /// Steal requests in flight (see `stealing.rs`).
    pub(crate) stealing: Stealing,
    /// `computes` stays 0 here: `stats()` reads it from the run counter.
    pub(crate) counters: SchedulerStats,
    /// `now` of the last `tick`, to notice when the scheduler itself was stalled.
    pub(crate) last_tick: Option<f64>,
    /// Tasks per prefix and state (`prefix_states.rs`).
    pub(crate) prefix_states: PrefixStates,
    /// Ended runs, while the shell records them (`task_stream.rs`).
    pub(crate) task_stream: TaskStream,
    /// Tasks a `retry_keys` took back from erred, handed to its caller.
    pub(crate) retried: Vec<TaskId>,
}

impl Scheduler {
    pub fn new(config: Config) -> Self {
        let first_run = config.first_run;
        Scheduler {
            workers: WorkerTable::new(config.max_tasks_per_slot, KeyHasher::new(config.hash_seed)),
            tasks: TaskTable::new(KeyHasher::new(config.hash_seed)),
            prefixes: Prefixes::new(KeyHasher::new(config.hash_seed)),
            groups: Groups::default(),
            config,
            clients: ClientTable::default(),
            queue: ReadyQueue::default(),
            no_worker: Vec::new(),
            outbox: Outbox::default(),
            recs: Vec::new(),
            stimulus: Stimulus::SubmitGraph,
            next_run: first_run,
            generation: 0,
            pending_failure: None,
            last_tick: None,
            by_state: [0; TaskState::COUNT],
            stealing: Stealing::new(),
            counters: SchedulerStats::default(),
            prefix_states: PrefixStates::default(),
            task_stream: TaskStream::default(),
            retried: Vec::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Applies pending recommendations, hands queued work to workers with room, and (when
    /// `Config::validate`) checks every invariant.
    pub(crate) fn end_event(&mut self) {
        loop {
            self.run_recommendations();
            self.fill_from_queue();
            if self.recs.is_empty() {
                break;
            }
        }
        if self.config.validate {
            if let Err(e) = self.validate() {
                panic!(
                    "skein-core invariant broken after {}: {e}",
                    self.stimulus.name()
                );
            }
        }
    }

    // --- read access (out-of-range ids give empty values, never a panic)

    pub fn key(&self, t: TaskId) -> &str {
        self.tasks.slots.get(t.ix()).map_or("", |task| task.key())
    }

    pub fn payload(&self, t: TaskId) -> &[u8] {
        self.tasks
            .slots
            .get(t.ix())
            .map_or(&[], |task| task.payload())
    }

    pub fn dependencies(&self, t: TaskId) -> &[TaskId] {
        self.tasks.slots.get(t.ix()).map_or(&[], |task| task.deps())
    }

    /// Whether any task depends on `t` (false for an unknown id): a task nobody depends on
    /// produces a result only clients read.
    pub fn has_dependents(&self, t: TaskId) -> bool {
        self.tasks
            .slots
            .get(t.ix())
            .is_some_and(|task| !task.dependents.is_empty())
    }

    /// Run order as (user priority: higher first, graph generation, order in graph: lower first).
    pub fn priority(&self, t: TaskId) -> (i32, u64, u32) {
        let p = self.tasks[t].priority;
        (p.user, p.generation, p.order)
    }

    pub fn who_has(&self, t: TaskId) -> &[WorkerId] {
        if self.tasks.contains(t) {
            self.tasks.who_has(t)
        } else {
            &[]
        }
    }

    pub fn nbytes(&self, t: TaskId) -> u64 {
        self.tasks.slots.get(t.ix()).map_or(0, |task| task.nbytes)
    }

    pub fn state(&self, t: TaskId) -> TaskState {
        self.tasks
            .slots
            .get(t.ix())
            .map_or(TaskState::Forgotten, |task| task.state)
    }

    pub fn task_id(&self, key: &str) -> Option<TaskId> {
        self.tasks.find(key)
    }

    pub fn worker_name(&self, w: WorkerId) -> &str {
        self.workers.list.get(w.ix()).map_or("", |wk| &wk.name)
    }

    /// Whether `w` is a live worker.
    pub fn worker_alive(&self, w: WorkerId) -> bool {
        self.workers.live(w).is_some()
    }

    /// Number of tasks processing on `w` that hold a slot (0 for unknown or removed workers).
    pub fn processing_count(&self, w: WorkerId) -> usize {
        self.workers.live(w).map_or(0, |wk| wk.processing.len())
    }

    /// Number of tasks processing on `w` that seceded from their slot (0 for unknown or
    /// removed workers); `processing_count` does not count them.
    pub fn long_running_count(&self, w: WorkerId) -> usize {
        self.workers.live(w).map_or(0, |wk| wk.long_running.len())
    }

    /// Tasks that seceded from their slot, on all workers.
    pub fn long_running_total(&self) -> usize {
        self.workers.long_running
    }

    /// Estimated seconds of work processing on `w`.
    pub fn occupancy(&self, w: WorkerId) -> f64 {
        self.workers
            .live(w)
            .map_or(0.0, |wk| wk.occupancy_us as f64 * 1e-6)
    }

    /// The run id of `t`'s current Compute (meaningful while processing).
    pub fn run_id(&self, t: TaskId) -> u64 {
        self.tasks.slots.get(t.ix()).map_or(0, |task| task.run)
    }

    /// The failure of an erred task: (the key whose failure caused it, failure).
    pub fn failure(&self, t: TaskId) -> Option<(TaskId, Arc<Failure>)> {
        let task = self.tasks.slots.get(t.ix())?;
        if task.state != TaskState::Erred {
            return None;
        }
        task.failure().map(|(c, f)| (*c, f.clone()))
    }

    /// Whether client `c` currently wants `t`.
    pub fn wants(&self, c: ClientId, t: TaskId) -> bool {
        self.clients.live(c).is_some_and(|cl| cl.wants.contains(t))
    }

    /// The last `Config::story_len` transitions of `key` (empty if unknown).
    pub fn story(&self, key: &str) -> Vec<TransitionRecord> {
        self.tasks
            .find(key)
            .map_or_else(Vec::new, |t| self.tasks[t].story.records().to_vec())
    }

    /// Test hook: as if a task of `prefix` had finished in `duration` seconds.
    #[cfg(test)]
    pub(crate) fn observe_duration(&mut self, prefix: &str, duration: f64) {
        let id = self.prefixes.intern(prefix, &self.config);
        self.prefixes.observe(id, duration, &self.config);
    }

    pub fn counts(&self) -> StateCounts {
        StateCounts::from_array(&self.by_state, self.workers.alive, self.clients.live.len())
    }
}
