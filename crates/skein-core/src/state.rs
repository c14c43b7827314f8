//! Task states and the per-state counters.

/// Where a task is in its life. See DESIGN.md, "The state machine".
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum TaskState {
    /// Known, not pursued, no data.
    Released = 0,
    /// Needed; some dependencies are not in memory yet.
    Waiting = 1,
    /// Ready root or root-ish task (see `groups.rs`) waiting in the scheduler-side queue for
    /// a worker with room.
    Queued = 2,
    /// Ready, but no live worker satisfies its restrictions/resources.
    NoWorker = 3,
    /// Sent to one worker with a run id.
    Processing = 4,
    /// Result held by at least one worker.
    Memory = 5,
    /// Failed (itself or through a dependency).
    Erred = 6,
    /// Gone; the id's slot will be reused.
    Forgotten = 7,
}

impl TaskState {
    pub(crate) const COUNT: usize = 8;

    /// States in which a task still needs its dependencies' data.
    #[inline]
    pub(crate) fn needs_inputs(self) -> bool {
        matches!(
            self,
            TaskState::Waiting | TaskState::Queued | TaskState::NoWorker | TaskState::Processing
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            TaskState::Released => "released",
            TaskState::Waiting => "waiting",
            TaskState::Queued => "queued",
            TaskState::NoWorker => "no-worker",
            TaskState::Processing => "processing",
            TaskState::Memory => "memory",
            TaskState::Erred => "erred",
            TaskState::Forgotten => "forgotten",
        }
    }
}

/// Tasks per state plus live workers and clients (for health checks and the dashboard).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub released: usize,
    pub waiting: usize,
    pub queued: usize,
    pub no_worker: usize,
    pub processing: usize,
    pub memory: usize,
    pub erred: usize,
    /// Live (not forgotten) tasks.
    pub tasks: usize,
    pub workers: usize,
    pub clients: usize,
}

impl StateCounts {
    pub(crate) fn from_array(
        by_state: &[usize; TaskState::COUNT],
        workers: usize,
        clients: usize,
    ) -> Self {
        StateCounts {
            released: by_state[TaskState::Released as usize],
            waiting: by_state[TaskState::Waiting as usize],
            queued: by_state[TaskState::Queued as usize],
            no_worker: by_state[TaskState::NoWorker as usize],
            processing: by_state[TaskState::Processing as usize],
            memory: by_state[TaskState::Memory as usize],
            erred: by_state[TaskState::Erred as usize],
            tasks: by_state[..TaskState::Forgotten as usize].iter().sum(),
            workers,
            clients,
        }
    }
}
