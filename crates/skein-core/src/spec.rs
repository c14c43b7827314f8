//! What callers hand in (task and worker specs) and the failure reasons handed out.

/// The longest key the core accepts, in UTF-8 bytes. A key is stored with its task, indexed,
/// and repeated in every message about the task and its dependents, so without a bound one
/// client could make all of those arbitrarily large.
pub const MAX_KEY_BYTES: usize = 4096;

/// One task of a submitted graph.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskSpec {
    pub key: String,
    /// Groups tasks for duration estimates (the shell passes the function name); "" is valid.
    pub prefix: String,
    /// Opaque: stored and forwarded, never decoded.
    pub payload: Box<[u8]>,
    /// Keys in this graph or already in the scheduler. Order is kept as given.
    pub dependencies: Vec<String>,
    /// User priority; higher runs first.
    pub priority: i32,
    /// Worker names allowed; `None` = any.
    pub restrictions: Option<Vec<String>>,
    /// Only workers declaring at least this much of each resource are eligible.
    pub resources: Vec<(String, f64)>,
    /// Times the task is run again after it raised, before it errs (Dask's `retries`). Worker
    /// deaths while it runs are counted apart (`Config::allowed_failures`).
    pub retries: u32,
    /// With `restrictions`: when no named worker is connected (and not paused), run anywhere
    /// instead of waiting for one (Dask's `allow_other_workers`, loose restrictions). Named
    /// workers are still preferred whenever one is there. Ignored without restrictions.
    pub allow_other_workers: bool,
}

/// A worker joining the cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerSpec {
    pub name: String,
    pub slots: u32,
    pub resources: Vec<(String, f64)>,
}

/// Why a key erred; shared (`Arc`) by every dependent that erred because of it.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The worker's error payload, passed through untouched.
    Raised { payload: Box<[u8]> },
    /// The task was running on these workers when they died (`causes[i]` says how `workers[i]` went).
    KilledWorker {
        key: String,
        workers: Vec<String>,
        causes: Vec<DeathCause>,
    },
    /// Scattered data whose only holder left (cannot be recomputed).
    Lost { key: String },
    /// Input `key` could not be fetched from its holders (`workers`) `Config::allowed_failures`
    /// times in a row, recomputed in between: the dependent errs instead of trying forever.
    /// `reason`: the last error a worker met fetching it, when it said.
    Unfetchable {
        key: String,
        workers: Vec<String>,
        reason: Option<String>,
    },
}

/// How a worker was lost while it ran a task, as the task's `KilledWorker` failure reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeathCause {
    /// Its connection closed (the process exited or was killed).
    Died,
    /// It stopped heartbeating for longer than the heartbeat timeout.
    Unresponsive,
    /// The task ended the execution thread it ran on (exit, out of memory, a crash), and the
    /// worker itself lived on.
    ExecutorDied,
}

/// Why the core removed a live worker (see `Scheduler::removal`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// The shell said it left (`remove_worker`: its connection closed).
    Left,
    /// `tick` removed it: no heartbeat for longer than `Config::heartbeat_timeout`.
    Unresponsive,
    /// `tick` removed it: it held tasks, ran none and reported nothing about any for longer
    /// than `Config::stall_timeout` (it heartbeats, but sits on its work).
    Stalled,
}

impl Removal {
    pub fn name(self) -> &'static str {
        match self {
            Removal::Left => "left",
            Removal::Unresponsive => "unresponsive",
            Removal::Stalled => "stalled",
        }
    }
}

impl DeathCause {
    /// The number that stands for it on the wire.
    pub fn code(self) -> u8 {
        match self {
            DeathCause::Died => 0,
            DeathCause::Unresponsive => 1,
            DeathCause::ExecutorDied => 2,
        }
    }
}
