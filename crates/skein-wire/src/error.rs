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
}

impl WireError {
    /// A stable code for the JS error's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            WireError::Malformed(_) => "SKEIN_MALFORMED_FRAME",
            WireError::Core(e) => e.code(),
        }
    }
}

pub type Result<T> = std::result::Result<T, WireError>;

pub(crate) fn malformed(what: impl std::fmt::Display) -> WireError {
    WireError::Malformed(what.to_string())
}
