//! Errors returned to the caller. Each names the key, worker, client or field at fault.

use crate::spec::MAX_KEY_BYTES;

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
    #[error("cannot replicate: {reason}")]
    InvalidReplication { reason: String },
    #[error("key of {len} bytes is longer than the limit of {limit} bytes: {head:?}...", limit = MAX_KEY_BYTES)]
    KeyTooLong {
        len: usize,
        /// The key's first 40 characters.
        head: String,
    },
}

impl CoreError {
    /// Refuses a key of more than `MAX_KEY_BYTES` (given as bytes, which may not be UTF-8
    /// yet when a decoder checks the length first).
    pub fn key_too_long(key: &[u8]) -> CoreError {
        // Enough bytes for 40 characters of up to 4 bytes each.
        let head = String::from_utf8_lossy(&key[..key.len().min(160)]);
        CoreError::KeyTooLong {
            len: key.len(),
            head: head.chars().take(40).collect(),
        }
    }

    /// A key the scheduler does not know: `KeyTooLong` if it never could have.
    pub fn unknown_key(key: &str) -> CoreError {
        CoreError::check_key(key)
            .err()
            .unwrap_or_else(|| CoreError::UnknownKey {
                key: key.to_string(),
            })
    }

    /// `Err(KeyTooLong)` if `key` exceeds `MAX_KEY_BYTES`.
    #[inline]
    pub fn check_key(key: &str) -> Result<(), CoreError> {
        if key.len() > MAX_KEY_BYTES {
            Err(CoreError::key_too_long(key.as_bytes()))
        } else {
            Ok(())
        }
    }

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
            CoreError::KeyTooLong { .. } => "SKEIN_KEY_TOO_LONG",
            CoreError::InvalidReplication { .. } => "SKEIN_INVALID_REPLICATION",
        }
    }
}
