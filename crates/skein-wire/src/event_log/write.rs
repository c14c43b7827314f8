//! Building a log: the header, and blocks of records. The caller writes the bytes where it
//! likes (the binding: to a file, a block at a time).

use skein_core::Config;
use xxhash_rust::xxh3::xxh3_64;

use super::args::put_varint;
use super::{config, DIGEST_TAG, MAGIC, VERSION};

/// The digest of one batch of outgoing messages.
pub fn digest(messages: &[u8]) -> u64 {
    xxh3_64(messages)
}

/// The start of a log: magic, version and the block holding `config`.
pub fn header(config: &Config) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    frame(&mut out, &config::encode(config));
    out
}

fn frame(out: &mut Vec<u8>, content: &[u8]) {
    // A block is at most MAX_BLOCK_BYTES: the binding flushes long before.
    out.extend_from_slice(&(content.len() as u32).to_le_bytes());
    out.extend_from_slice(&xxh3_64(content).to_le_bytes());
    out.extend_from_slice(content);
}

/// Records not yet written, as the content of the next block.
#[derive(Default)]
pub struct BlockBuffer {
    content: Vec<u8>,
    records: u64,
}

/// Room left before a payload for its length: a varint of up to 2^35 - 1.
const LENGTH_ROOM: usize = 5;

impl BlockBuffer {
    /// Appends a record of `tag` whose payload `args` writes.
    pub fn record(&mut self, tag: u8, args: impl FnOnce(&mut Vec<u8>)) {
        self.content.push(tag);
        let at = self.content.len();
        self.content.extend_from_slice(&[0; LENGTH_ROOM]);
        args(&mut self.content);
        let payload = self.content.len() - at - LENGTH_ROOM;
        let mut length = Vec::with_capacity(LENGTH_ROOM);
        put_varint(&mut length, payload as u64);
        // Move the payload back over the room its length does not use.
        self.content
            .copy_within(at + LENGTH_ROOM.., at + length.len());
        self.content[at..at + length.len()].copy_from_slice(&length);
        self.content.truncate(at + length.len() + payload);
        self.records += 1;
    }

    /// Appends the digest record of one `take_messages` (None: it returned nothing).
    pub fn digest(&mut self, messages: Option<&[u8]>) {
        self.record(DIGEST_TAG, |out| match messages {
            None => put_varint(out, 0),
            Some(m) => {
                put_varint(out, m.len() as u64);
                out.extend_from_slice(&digest(m).to_le_bytes());
            }
        });
    }

    /// Bytes of content buffered.
    pub fn len(&self) -> usize {
        self.content.len()
    }

    pub fn is_empty(&self) -> bool {
        self.content.is_empty()
    }

    /// Records appended since this buffer was made.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The buffered records as one framed block, appended to `out`; the buffer is emptied.
    pub fn take_block(&mut self, out: &mut Vec<u8>) {
        if !self.content.is_empty() {
            frame(out, &self.content);
            self.content.clear();
        }
    }
}
