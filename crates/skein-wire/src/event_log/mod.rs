//! The event log: every event that entered a native core, in order, with a digest of each
//! batch of messages it sent out, so that a fresh core fed the same events can be checked to
//! send the same messages (`skein replay`). This module holds the file format, free of IO
//! beyond `std::io::Read`: the binding (src/event_log.rs) records and replays.
//!
//! ```text
//! file    = "SKEINLOG" , version u16 LE , block(config) , block(records)*
//! block   = length u32 LE , XXH3-64 of content u64 LE , content
//! config  = count varint , (name str , kind u8 'u'|'f'|'b' , value varint|f64 LE|u8)*
//! record  = tag u8 , length varint , payload            (records fill a block's content)
//! digest  = tag 0 , payload: bytes varint [, XXH3-64 of the message bytes u64 LE if bytes > 0]
//! panic   = tag 255 , payload: the panic's message str (the core panicked on the event before)
//! ```
//! Varints are unsigned LEB128 (at most 10 bytes); a str is a varint length and UTF-8. Each
//! event's payload is its arguments in order, encoded by the binding (see args.rs).

mod args;
mod config;
mod error;
mod read;
mod write;

#[cfg(test)]
mod tests;

pub use args::{put_bool, put_bytes, put_f64, put_str, put_varint, ArgReader};
pub use error::EventLogError;
pub use read::{EventLogReader, Record};
pub use write::{digest, header, BlockBuffer};

/// The first bytes of every event log.
pub const MAGIC: &[u8; 8] = b"SKEINLOG";
/// The format version this code writes and reads.
pub const VERSION: u16 = 1;
/// The tag of a digest record: the messages one `take_messages` returned.
pub const DIGEST_TAG: u8 = 0;
/// The tag of the record that says the core panicked on the event before it (the last record).
pub const PANIC_TAG: u8 = 255;
/// The longest block a reader accepts: a record holds at most one frame (256 MiB by default)
/// and a block rarely much more, so a longer length is damage, not data.
pub const MAX_BLOCK_BYTES: u32 = 1 << 30;
