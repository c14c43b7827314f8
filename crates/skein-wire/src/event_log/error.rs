/// Why an event log cannot be read. Every variant names the byte offset in the file where
/// the reader stopped, so a damaged log can be cut there or inspected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventLogError {
    #[error("not a skein event log: it does not start with SKEINLOG (byte offset 0)")]
    NotAnEventLog,
    #[error("event log format version {version} is not supported: this skein reads version {supported} (byte offset 8)")]
    UnsupportedVersion { version: u16, supported: u16 },
    #[error("event log truncated at byte offset {offset}: {what} needs {needed} bytes, {available} remain")]
    Truncated {
        offset: u64,
        what: &'static str,
        needed: u64,
        available: u64,
    },
    #[error(
        "event log corrupted: the block at byte offset {offset} ({len} bytes) fails its checksum"
    )]
    Corrupted { offset: u64, len: u32 },
    #[error("event log malformed at byte offset {offset}: {what}")]
    Malformed { offset: u64, what: String },
    #[error("event log unreadable at byte offset {offset}: {message}")]
    Io { offset: u64, message: String },
}

impl EventLogError {
    /// Where in the file the reader stopped.
    pub fn offset(&self) -> u64 {
        match self {
            EventLogError::NotAnEventLog => 0,
            EventLogError::UnsupportedVersion { .. } => super::MAGIC.len() as u64,
            EventLogError::Truncated { offset, .. }
            | EventLogError::Corrupted { offset, .. }
            | EventLogError::Malformed { offset, .. }
            | EventLogError::Io { offset, .. } => *offset,
        }
    }

    /// A stable code for the JS error's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            EventLogError::NotAnEventLog => "SKEIN_EVENT_LOG_NOT_A_LOG",
            EventLogError::UnsupportedVersion { .. } => "SKEIN_EVENT_LOG_VERSION",
            EventLogError::Truncated { .. } => "SKEIN_EVENT_LOG_TRUNCATED",
            EventLogError::Corrupted { .. } | EventLogError::Malformed { .. } => {
                "SKEIN_EVENT_LOG_CORRUPT"
            }
            EventLogError::Io { .. } => "SKEIN_EVENT_LOG_IO",
        }
    }
}

pub(crate) fn malformed(offset: u64, what: impl Into<String>) -> EventLogError {
    EventLogError::Malformed {
        offset,
        what: what.into(),
    }
}
