//! The encodings of event arguments: varints, f64, bools, byte strings. The writers append
//! to a record's payload; `ArgReader` reads them back from one record, bounds-checked, each
//! error naming its byte offset in the file.

use super::error::{malformed, EventLogError};

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_bool(out: &mut Vec<u8>, v: bool) {
    out.push(u8::from(v));
}

pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

/// The payload of one record, read front to back.
pub struct ArgReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The file offset of `bytes[0]`.
    base: u64,
}

impl<'a> ArgReader<'a> {
    pub fn new(bytes: &'a [u8], base: u64) -> Self {
        ArgReader {
            bytes,
            pos: 0,
            base,
        }
    }

    /// The file offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn error(&self, what: impl Into<String>) -> EventLogError {
        malformed(self.offset(), what)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], EventLogError> {
        if n > self.remaining() {
            return Err(self.error(format!(
                "{what} needs {n} bytes, the record has {} left",
                self.remaining()
            )));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn varint(&mut self, what: &str) -> Result<u64, EventLogError> {
        let start = self.offset();
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.take(1, what)?[0];
            if i == 9 && b > 1 {
                break;
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(malformed(
            start,
            format!("{what}: a varint longer than 64 bits"),
        ))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, EventLogError> {
        let start = self.offset();
        let v = self.varint(what)?;
        u32::try_from(v).map_err(|_| malformed(start, format!("{what}: {v} does not fit 32 bits")))
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, EventLogError> {
        Ok(self.take(1, what)?[0])
    }

    pub fn f64(&mut self, what: &str) -> Result<f64, EventLogError> {
        let b = self.take(8, what)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn u64_le(&mut self, what: &str) -> Result<u64, EventLogError> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn bool(&mut self, what: &str) -> Result<bool, EventLogError> {
        let start = self.offset();
        match self.take(1, what)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(malformed(start, format!("{what}: {b} is not a boolean"))),
        }
    }

    pub fn bytes(&mut self, what: &str) -> Result<&'a [u8], EventLogError> {
        let n = self.varint(what)?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        self.take(n, what)
    }

    pub fn str(&mut self, what: &str) -> Result<&'a str, EventLogError> {
        let start = self.offset();
        let b = self.bytes(what)?;
        std::str::from_utf8(b).map_err(|_| malformed(start, format!("{what}: invalid UTF-8")))
    }

    /// A count of items at least `min_bytes` each: refused if the record cannot hold them,
    /// so a damaged count never reserves more than the record's size.
    pub fn count(&mut self, min_bytes: usize, what: &str) -> Result<usize, EventLogError> {
        let start = self.offset();
        let n = self.varint(what)?;
        let fits = (self.remaining() / min_bytes.max(1)) as u64;
        if n > fits {
            return Err(malformed(
                start,
                format!(
                    "{what}: {n} items cannot fit the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        Ok(n as usize)
    }

    /// Refuses bytes left over: the record held more than its event's arguments.
    pub fn end(&self, what: &str) -> Result<(), EventLogError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.error(format!(
                "{what}: {} bytes left after its arguments",
                self.remaining()
            )))
        }
    }
}
