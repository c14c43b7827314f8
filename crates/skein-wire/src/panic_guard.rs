//! The last line before Node: a panic must not unwind out of the binding (Rust aborts the
//! process when a panic reaches an `extern "C"` frame, and with it every client's work).
//! The core never panics on input it did not produce itself, so a panic is a bug in it;
//! the caller gets a `CorePanic` error instead, and the binding refuses that core from then
//! on, since the event that panicked may have left its state half changed.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Result, WireError};

/// Runs `f`; a panic inside becomes `WireError::CorePanic` with the panic's message.
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R> {
    // Unwind safety: after a panic the caller must drop or refuse what `f` touched (the
    // binding poisons its core), so no broken state is observed.
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|payload| WireError::CorePanic(panic_message(payload.as_ref())))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_core_panic_error_with_its_message() {
        let err = catch_panic::<()>(|| panic!("invariant broken: {}", 42)).unwrap_err();
        assert_eq!(err, WireError::CorePanic("invariant broken: 42".into()));
        assert_eq!(err.code(), "SKEIN_CORE_PANIC");
        assert!(err.to_string().contains("invariant broken: 42"), "{err}");
        let err = catch_panic::<()>(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(
            err,
            WireError::CorePanic("a panic without a message".into())
        );
        let err = catch_panic::<()>(|| panic!("static")).unwrap_err();
        assert_eq!(err, WireError::CorePanic("static".into()));
    }

    #[test]
    fn results_and_errors_pass_through_untouched() {
        assert_eq!(catch_panic(|| 3), Ok(3));
        let malformed: Result<()> = Err(WireError::Malformed("x".into()));
        assert_eq!(catch_panic(|| malformed.clone()), Ok(malformed));
    }

    #[test]
    fn a_runtime_panic_is_caught_too() {
        let empty: Vec<u8> = Vec::new();
        let err = catch_panic(|| empty[std::hint::black_box(3)]).unwrap_err();
        assert!(
            matches!(err, WireError::CorePanic(ref m) if m.contains("index out of bounds")),
            "{err}"
        );
    }
}
