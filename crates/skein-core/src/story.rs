//! The bounded per-task transition log behind `Scheduler::story`.

use crate::state::TaskState;
use smallvec::SmallVec;

/// The event that caused a transition.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum Stimulus {
    SubmitGraph,
    WantKeys,
    ReleaseKeys,
    CancelKeys,
    RemoveClient,
    Scatter,
    AddWorker,
    RemoveWorker,
    TaskFinished,
    TaskErred,
    MissingData,
    DataLost,
    Tick,
    /// A victim answered a steal request.
    StealResponse,
    /// A task ended the execution thread it ran on.
    ExecutorDied,
    /// A worker paused (memory) or resumed.
    WorkerPaused,
    /// A client asked for copies of data on more (or fewer) workers.
    Replicate,
    /// A worker reports a copy it fetched for `replicate`.
    ReplicaAdded,
    /// A processing task seceded from its slot (it waits for tasks it submitted): it stays
    /// processing, recorded as processing -> processing.
    LongRunning,
    /// A client asked for erred keys to run again.
    Retry,
}

impl Stimulus {
    pub fn name(self) -> &'static str {
        match self {
            Stimulus::SubmitGraph => "submit-graph",
            Stimulus::WantKeys => "want-keys",
            Stimulus::ReleaseKeys => "release-keys",
            Stimulus::CancelKeys => "cancel-keys",
            Stimulus::RemoveClient => "remove-client",
            Stimulus::Scatter => "scatter",
            Stimulus::AddWorker => "add-worker",
            Stimulus::RemoveWorker => "remove-worker",
            Stimulus::TaskFinished => "task-finished",
            Stimulus::TaskErred => "task-erred",
            Stimulus::MissingData => "missing-data",
            Stimulus::ExecutorDied => "executor-died",
            Stimulus::WorkerPaused => "worker-paused",
            Stimulus::LongRunning => "long-running",
            Stimulus::DataLost => "data-lost",
            Stimulus::Tick => "tick",
            Stimulus::StealResponse => "steal-response",
            Stimulus::Replicate => "replicate",
            Stimulus::ReplicaAdded => "replica-added",
            Stimulus::Retry => "retry",
        }
    }
}

/// One state change of one task. Three bytes, so a task's usual life fits inline.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TransitionRecord {
    pub from: TaskState,
    pub to: TaskState,
    pub stimulus: Stimulus,
}

/// The last `story_len` transitions of one task; the usual five stay inline (no allocation).
#[derive(Clone, Debug, Default)]
pub(crate) struct Story {
    records: SmallVec<[TransitionRecord; 5]>,
}

impl Story {
    #[inline]
    pub(crate) fn record(&mut self, rec: TransitionRecord, limit: usize) {
        if limit == 0 {
            return;
        }
        if self.records.len() >= limit {
            let excess = self.records.len() + 1 - limit;
            self.records.drain(..excess);
        }
        self.records.push(rec);
    }

    pub(crate) fn records(&self) -> &[TransitionRecord] {
        &self.records
    }
}
