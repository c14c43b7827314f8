//! The N-API binding: converts between Node values and skein-core events and
//! instructions, and nothing else. Hot events cross in batches (one call per
//! incoming frame, MessagePack bytes in) and instructions leave in one buffer
//! per flush (MessagePack bytes out); `crates/skein-wire` holds the layouts
//! and their decoding and encoding, free of N-API.

mod error;
mod native_core;

pub use native_core::NativeCore;
