use skein_core::CoreError;
use skein_wire::WireError;

/// The `code` of a JS error thrown by the binding: a stable string such as
/// `SKEIN_DUPLICATE_KEY`, so callers branch on it instead of on messages.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.0
    }
}

// Named `Result` on purpose: napi-derive recognises a fallible export by that name and throws the error with its code.
pub type Result<T> = std::result::Result<T, napi::Error<ErrorCode>>;

pub const MALFORMED_FRAME: ErrorCode = ErrorCode("SKEIN_MALFORMED_FRAME");

pub fn core_error(err: CoreError) -> napi::Error<ErrorCode> {
    napi::Error::new(ErrorCode(err.code()), err.to_string())
}

pub fn malformed(what: impl std::fmt::Display) -> napi::Error<ErrorCode> {
    napi::Error::new(MALFORMED_FRAME, format!("malformed frame: {what}"))
}

/// An option of the NativeCore constructor out of its range.
pub fn invalid_option(what: impl std::fmt::Display) -> napi::Error<ErrorCode> {
    napi::Error::new(ErrorCode("SKEIN_INVALID_OPTION"), what.to_string())
}

pub fn wire_error(err: WireError) -> napi::Error<ErrorCode> {
    napi::Error::new(ErrorCode(err.code()), err.to_string())
}
