//! The N-API binding: converts between Node values and skein-core events and
//! instructions, and nothing else. Hot events cross in batches (one call per
//! incoming frame, MessagePack bytes in) and instructions leave in one buffer
//! per flush (MessagePack bytes out); see `wire.rs` for the layouts.

mod error;
mod inline_values;
mod native_core;
mod reader;
mod wire;

pub use native_core::NativeCore;
