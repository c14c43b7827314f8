//! What callers hand in (task and worker specs) and the failure reasons handed out.

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
    /// The task was running on this many workers when they died.
    KilledWorker { key: String, workers: Vec<String> },
    /// Scattered data whose only holder left (cannot be recomputed).
    Lost { key: String },
}
