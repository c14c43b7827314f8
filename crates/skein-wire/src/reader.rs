//! A bounds-checked MessagePack reader for the event batches the shell sends.
//! Every read names what it expected, so a bad frame yields a clear error.

use crate::error::{malformed, Result};
use rmp::Marker;
use skein_core::{CoreError, MAX_KEY_BYTES};

/// The largest integer a JS number (a float64) holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| malformed(format!("{what}: invalid UTF-8")))
}

pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn marker(&mut self, what: &str) -> Result<Marker> {
        rmp::decode::read_marker(&mut self.buf)
            .map_err(|_| malformed(format!("{what}: unexpected end")))
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(malformed(format!("{what}: truncated")));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn be(&mut self, n: usize, what: &str) -> Result<u64> {
        let bytes = self.take(n, what)?;
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// Room to reserve for `n` declared items of at least `min_bytes` each: no more than the
    /// bytes left could hold, so a frame that declares four billion items and ends after a
    /// few reserves for a few (a frame costs memory in proportion to its size).
    pub fn capacity_for(&self, n: usize, min_bytes: usize) -> usize {
        n.min(self.buf.len() / min_bytes)
    }

    /// Peeks whether the next value is nil, consuming it if so.
    pub fn nil(&mut self) -> bool {
        if self.buf.first() == Some(&0xc0) {
            self.buf = &self.buf[1..];
            true
        } else {
            false
        }
    }

    pub fn bool(&mut self, what: &str) -> Result<bool> {
        match self.marker(what)? {
            Marker::True => Ok(true),
            Marker::False => Ok(false),
            m => Err(malformed(format!(
                "{what}: expected a boolean, found {m:?}"
            ))),
        }
    }

    pub fn array_len(&mut self, what: &str) -> Result<usize> {
        match self.marker(what)? {
            Marker::FixArray(n) => Ok(n as usize),
            Marker::Array16 => Ok(self.be(2, what)? as usize),
            Marker::Array32 => Ok(self.be(4, what)? as usize),
            m => Err(malformed(format!("{what}: expected an array, found {m:?}"))),
        }
    }

    pub fn map_len(&mut self, what: &str) -> Result<usize> {
        match self.marker(what)? {
            Marker::FixMap(n) => Ok(n as usize),
            Marker::Map16 => Ok(self.be(2, what)? as usize),
            Marker::Map32 => Ok(self.be(4, what)? as usize),
            m => Err(malformed(format!("{what}: expected a map, found {m:?}"))),
        }
    }

    pub fn i64(&mut self, what: &str) -> Result<i64> {
        // Kinds, ids, runs and small sizes are most of a frame: a positive fixint, one byte.
        if let Some((&b, rest)) = self.buf.split_first() {
            if b < 0x80 {
                self.buf = rest;
                return Ok(i64::from(b));
            }
        }
        let v = match self.marker(what)? {
            Marker::FixPos(n) => i64::from(n),
            Marker::FixNeg(n) => i64::from(n),
            Marker::U8 => self.be(1, what)? as i64,
            Marker::U16 => self.be(2, what)? as i64,
            Marker::U32 => self.be(4, what)? as i64,
            Marker::U64 => i64::try_from(self.be(8, what)?)
                .map_err(|_| malformed(format!("{what}: integer too large")))?,
            Marker::I8 => self.be(1, what)? as u8 as i8 as i64,
            Marker::I16 => self.be(2, what)? as u16 as i16 as i64,
            Marker::I32 => self.be(4, what)? as u32 as i32 as i64,
            Marker::I64 => self.be(8, what)? as i64,
            Marker::F32 | Marker::F64 => {
                return Err(malformed(format!(
                    "{what}: expected an integer, found a float"
                )))
            }
            m => {
                return Err(malformed(format!(
                    "{what}: expected an integer, found {m:?}"
                )))
            }
        };
        Ok(v)
    }

    pub fn u32(&mut self, what: &str) -> Result<u32> {
        let v = self.i64(what)?;
        u32::try_from(v).map_err(|_| malformed(format!("{what}: {v} is not a u32")))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64> {
        let v = self.i64(what)?;
        u64::try_from(v).map_err(|_| malformed(format!("{what}: {v} is negative")))
    }

    pub fn i32(&mut self, what: &str) -> Result<i32> {
        let v = self.i64(what)?;
        i32::try_from(v).map_err(|_| malformed(format!("{what}: {v} is not an i32")))
    }

    /// A run id: an unsigned integer, or a float64 holding a whole number up to 2^53 - 1
    /// (how msgpackr writes a JS number of 2^32 or more).
    pub fn run(&mut self, what: &str) -> Result<u64> {
        if self.buf.first() != Some(&0xcb) {
            return self.u64(what);
        }
        self.buf = &self.buf[1..];
        let v = f64::from_bits(self.be(8, what)?);
        if (0.0..=MAX_SAFE_INTEGER).contains(&v) && v.fract() == 0.0 {
            Ok(v as u64)
        } else {
            Err(malformed(format!(
                "{what}: {v} is not a whole number from 0 to 2^53 - 1"
            )))
        }
    }

    /// A number that may arrive as an integer or a float.
    pub fn f64(&mut self, what: &str) -> Result<f64> {
        match self.buf.first() {
            Some(0xca) => {
                self.buf = &self.buf[1..];
                Ok(f64::from(f32::from_bits(self.be(4, what)? as u32)))
            }
            Some(0xcb) => {
                self.buf = &self.buf[1..];
                Ok(f64::from_bits(self.be(8, what)?))
            }
            _ => Ok(self.i64(what)? as f64),
        }
    }

    /// A string's bytes, not yet checked to be UTF-8.
    fn str_bytes(&mut self, what: &str) -> Result<&'a [u8]> {
        let len = match self.marker(what)? {
            Marker::FixStr(n) => n as usize,
            Marker::Str8 => self.be(1, what)? as usize,
            Marker::Str16 => self.be(2, what)? as usize,
            Marker::Str32 => self.be(4, what)? as usize,
            m => return Err(malformed(format!("{what}: expected a string, found {m:?}"))),
        };
        self.take(len, what)
    }

    pub fn str(&mut self, what: &str) -> Result<&'a str> {
        let bytes = self.str_bytes(what)?;
        utf8(bytes, what)
    }

    /// A task key: a string of at most `MAX_KEY_BYTES`.
    pub fn key(&mut self, what: &str) -> Result<&'a str> {
        let bytes = self.str_bytes(what)?;
        if bytes.len() > MAX_KEY_BYTES {
            return Err(CoreError::key_too_long(bytes).into());
        }
        utf8(bytes, what)
    }

    pub fn bin(&mut self, what: &str) -> Result<&'a [u8]> {
        let len = match self.marker(what)? {
            Marker::Bin8 => self.be(1, what)? as usize,
            Marker::Bin16 => self.be(2, what)? as usize,
            Marker::Bin32 => self.be(4, what)? as usize,
            m => return Err(malformed(format!("{what}: expected bytes, found {m:?}"))),
        };
        self.take(len, what)
    }

    /// An array of strings, copied out (they outlive the frame).
    pub fn owned_strs(&mut self, what: &str) -> Result<Vec<String>> {
        let n = self.array_len(what)?;
        let mut out = Vec::with_capacity(self.capacity_for(n, 1));
        for _ in 0..n {
            out.push(self.str(what)?.to_owned());
        }
        Ok(out)
    }

    /// An array of task keys, copied out.
    pub fn owned_keys(&mut self, what: &str) -> Result<Vec<String>> {
        let n = self.array_len(what)?;
        let mut out = Vec::with_capacity(self.capacity_for(n, 1));
        for _ in 0..n {
            out.push(self.key(what)?.to_owned());
        }
        Ok(out)
    }

    pub fn expect_end(&self, what: &str) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(malformed(format!(
                "{what}: {} trailing bytes",
                self.buf.len()
            )))
        }
    }
}
