//! Errors returned to the caller. Each names the key, worker, client or field at fault.

/// Why an event was refused. A refused event changes nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoreError {
    #[error("duplicate key {key:?} in one graph")]
    DuplicateKey { key: String },
    #[error("task {key:?} depends on {dependency:?}, which is neither in the graph nor in the scheduler")]
    UnknownDependency { key: String, dependency: String },
    #[error("dependency cycle through key {key:?}")]
    Cycle { key: String },
    #[error("unknown key {key:?}")]
    UnknownKey { key: String },
    #[error("unknown task id {task}")]
    UnknownTask { task: u32 },
    #[error("unknown worker id {worker}")]
    UnknownWorker { worker: u32 },
    #[error("unknown client id {client}")]
    UnknownClient { client: u32 },
    #[error("a live worker is already named {name:?}")]
    DuplicateWorkerName { name: String },
    #[error("invalid worker: {reason}")]
    InvalidWorker { reason: String },
    #[error("invalid graph at key {key:?}: {reason}")]
    InvalidGraph { key: String, reason: String },
}

impl CoreError {
    /// A stable code for the shell's error classes.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::DuplicateKey { .. } => "SKEIN_DUPLICATE_KEY",
            CoreError::UnknownDependency { .. } => "SKEIN_UNKNOWN_DEPENDENCY",
            CoreError::Cycle { .. } => "SKEIN_CYCLE",
            CoreError::UnknownKey { .. } => "SKEIN_UNKNOWN_KEY",
            CoreError::UnknownTask { .. } => "SKEIN_UNKNOWN_TASK",
            CoreError::UnknownWorker { .. } => "SKEIN_UNKNOWN_WORKER",
            CoreError::UnknownClient { .. } => "SKEIN_UNKNOWN_CLIENT",
            CoreError::DuplicateWorkerName { .. } => "SKEIN_DUPLICATE_WORKER",
            CoreError::InvalidWorker { .. } => "SKEIN_INVALID_WORKER",
            CoreError::InvalidGraph { .. } => "SKEIN_INVALID_GRAPH",
        }
    }
}
