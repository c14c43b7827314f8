//! Why a frame was refused. A refused frame changes nothing.

use skein_core::CoreError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    /// The bytes do not follow the layout; says what was expected where.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The frame decoded, and the core refused what it says.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The core panicked: a bug. The core that panicked must not be used again.
    #[error("the scheduler core panicked (a bug; this core refuses every call from now on): {0}")]
    CorePanic(String),
}

impl WireError {
    /// A stable code for the JS error's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            WireError::Malformed(_) => "SKEIN_MALFORMED_FRAME",
            WireError::Core(e) => e.code(),
            WireError::CorePanic(_) => "SKEIN_CORE_PANIC",
        }
    }
}

pub type Result<T> = std::result::Result<T, WireError>;

pub(crate) fn malformed(what: impl std::fmt::Display) -> WireError {
    WireError::Malformed(what.to_string())
}
