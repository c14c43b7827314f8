//! The N-API binding: converts between Node values and skein-core events and
//! instructions, and nothing else. Hot events cross in batches (one call per
//! incoming frame, MessagePack bytes in) and instructions leave in one buffer
//! per flush (MessagePack bytes out); `crates/skein-wire` holds the layouts
//! and their decoding and encoding, free of N-API.

mod error;
mod event_log;
mod native_core;
mod replay;

pub use native_core::NativeCore;
pub use replay::replay_event_log;

/// The longest key the scheduler accepts, in UTF-8 bytes: a longer one, in a graph or in a
/// want, release or cancel, throws with code `SKEIN_KEY_TOO_LONG`.
#[napi_derive::napi]
pub const MAX_KEY_BYTES: u32 = skein_core::MAX_KEY_BYTES as u32;
