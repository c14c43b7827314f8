//! What crosses skein's N-API binding, without N-API: the MessagePack layouts of graphs,
//! worker events and outgoing messages (see `wire.rs`), decoded with bounds checks and
//! encoded in place. The binding (`src/` at the repository root) converts Node values and
//! delegates here, so this code is unit-tested and fuzzed (`fuzz/`) as plain Rust.
#![forbid(unsafe_code)]

mod error;
pub mod event_log;
mod inline_values;
mod panic_guard;
mod reader;
mod wire;

pub use error::{Result, WireError};
pub use inline_values::InlineValues;
pub use panic_guard::catch_panic;
pub use wire::{
    apply_worker_events, decode_graph, decode_worker_events, encode_messages, WorkerEvent,
};

#[cfg(test)]
mod tests;
