//! Reading a log back: the header, then its records one at a time. Every length is checked
//! against what is left (of the record, the block, the file) before anything is allocated,
//! and every block against its checksum before its records are parsed.

use std::io::{ErrorKind, Read};

use skein_core::Config;
use xxhash_rust::xxh3::xxh3_64;

use super::args::ArgReader;
use super::error::{malformed, EventLogError};
use super::{config, MAGIC, MAX_BLOCK_BYTES, VERSION};

/// One record: its tag and payload, and where it starts in the file.
pub struct Record<'a> {
    pub offset: u64,
    pub tag: u8,
    pub args: ArgReader<'a>,
}

pub struct EventLogReader<R> {
    input: R,
    /// File offset of the next unread byte of `input`.
    pos: u64,
    /// The file's length, when known: lengths past it are truncation, found before reading.
    total: Option<u64>,
    block: Vec<u8>,
    /// File offset of `block[0]`.
    block_base: u64,
    /// Next record in `block`.
    at: usize,
    config: Config,
}

impl<R: Read> EventLogReader<R> {
    /// Reads the header. `total`: the length of the input, if known (a file's).
    pub fn open(input: R, total: Option<u64>) -> Result<Self, EventLogError> {
        let mut r = EventLogReader {
            input,
            pos: 0,
            total,
            block: Vec::new(),
            block_base: 0,
            at: 0,
            config: Config::default(),
        };
        let mut magic = [0u8; 8];
        match r.fill(&mut magic, "the magic") {
            Ok(true) if &magic == MAGIC => {}
            // A cut inside the magic itself is truncation, anything else another kind of file.
            Err(e @ EventLogError::Truncated { available, .. })
                if magic[..available as usize] == MAGIC[..available as usize] =>
            {
                return Err(e)
            }
            Ok(_) | Err(EventLogError::Truncated { .. }) => {
                return Err(EventLogError::NotAnEventLog)
            }
            Err(e) => return Err(e),
        }
        let mut version = [0u8; 2];
        r.fill_exact(&mut version, "the format version")?;
        let version = u16::from_le_bytes(version);
        if version != VERSION {
            return Err(EventLogError::UnsupportedVersion {
                version,
                supported: VERSION,
            });
        }
        if !r.next_block()? {
            return Err(EventLogError::Truncated {
                offset: r.pos,
                what: "the config block",
                needed: 12,
                available: 0,
            });
        }
        let mut args = ArgReader::new(&r.block, r.block_base);
        r.config = config::decode(&mut args)?;
        r.at = r.block.len();
        Ok(r)
    }

    /// The configuration of the core that wrote the log.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The next record, or None at the end of the log.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, EventLogError> {
        while self.at >= self.block.len() {
            if !self.next_block()? {
                return Ok(None);
            }
        }
        let offset = self.block_base + self.at as u64;
        let mut args = ArgReader::new(&self.block[self.at..], offset);
        let tag = args.u8("record tag")?;
        let len = args.varint("record length")?;
        let start = args.offset() - offset;
        if len > args.remaining() as u64 {
            return Err(malformed(
                offset,
                format!(
                    "a record of {len} bytes runs past the end of its block ({} bytes left)",
                    args.remaining()
                ),
            ));
        }
        let start = self.at + start as usize;
        let end = start + len as usize;
        self.at = end;
        Ok(Some(Record {
            offset,
            tag,
            args: ArgReader::new(&self.block[start..end], self.block_base + start as u64),
        }))
    }

    /// Reads the next block into `self.block`; false at a clean end of input.
    fn next_block(&mut self) -> Result<bool, EventLogError> {
        let start = self.pos;
        let mut head = [0u8; 12];
        if !self.fill(&mut head, "a block header")? {
            return Ok(false);
        }
        let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        let sum = u64::from_le_bytes(head[4..].try_into().expect("8 bytes"));
        if len > MAX_BLOCK_BYTES {
            return Err(malformed(
                start,
                format!("a block length of {len} bytes is past the limit of {MAX_BLOCK_BYTES}"),
            ));
        }
        if let Some(total) = self.total {
            let available = total.saturating_sub(self.pos);
            if u64::from(len) > available {
                return Err(EventLogError::Truncated {
                    offset: start,
                    what: "the block",
                    needed: u64::from(len),
                    available,
                });
            }
        }
        self.block.clear();
        self.block.resize(len as usize, 0);
        self.block_base = self.pos;
        let mut block = std::mem::take(&mut self.block);
        let read = self.fill_exact(&mut block, "the block");
        self.block = block;
        read?;
        if xxh3_64(&self.block) != sum {
            return Err(EventLogError::Corrupted { offset: start, len });
        }
        self.at = 0;
        Ok(true)
    }

    /// Fills `buf`; false if the input ended before its first byte, Truncated if within it.
    fn fill(&mut self, buf: &mut [u8], what: &'static str) -> Result<bool, EventLogError> {
        let mut got = 0;
        while got < buf.len() {
            match self.input.read(&mut buf[got..]) {
                Ok(0) if got == 0 => return Ok(false),
                Ok(0) => {
                    return Err(EventLogError::Truncated {
                        offset: self.pos - got as u64,
                        what,
                        needed: buf.len() as u64,
                        available: got as u64,
                    })
                }
                Ok(n) => {
                    got += n;
                    self.pos += n as u64;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(EventLogError::Io {
                        offset: self.pos,
                        message: e.to_string(),
                    })
                }
            }
        }
        Ok(true)
    }

    fn fill_exact(&mut self, buf: &mut [u8], what: &'static str) -> Result<(), EventLogError> {
        let at = self.pos;
        if buf.is_empty() || self.fill(buf, what)? {
            Ok(())
        } else {
            Err(EventLogError::Truncated {
                offset: at,
                what,
                needed: buf.len() as u64,
                available: 0,
            })
        }
    }
}
