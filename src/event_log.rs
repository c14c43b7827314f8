//! Recording every event that enters a NativeCore, for `skein replay` (src/replay.rs). The
//! format lives in `skein_wire::event_log`; this module names the recorded methods, encodes
//! their Node-side arguments, and writes blocks to the file.
//!
//! Recording a new mutating method costs two lines: one in `recorded_events!` below (its
//! tag, which never changes once released, and its arguments as the method takes them) and
//! `record!(self, Name, arg, ...)` as the method's first line. __test__/event-log.spec.ts
//! fails when a `&mut self` method of NativeCore has neither.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;

use napi::bindgen_prelude::{Buffer, Uint32Array};
use skein_core::Config;
use skein_wire::event_log::{
    header, put_bool, put_bytes, put_f64, put_str, put_varint, ArgReader, BlockBuffer,
    EventLogError, MAX_BLOCK_BYTES, PANIC_TAG,
};

use crate::error::ErrorCode;
use crate::native_core::NativeCore;

/// Buffered records are written once they pass this many bytes (and at every tick).
const FLUSH_BYTES: usize = 1 << 20;

/// An argument of a recorded method: how it is written to the log and read back.
pub(crate) trait Arg: Sized + 'static {
    fn put(&self, out: &mut Vec<u8>);
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError>;
}

impl Arg for u32 {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, u64::from(*self));
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        r.u32("a u32 argument")
    }
}

impl Arg for f64 {
    fn put(&self, out: &mut Vec<u8>) {
        put_f64(out, *self);
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        r.f64("an f64 argument")
    }
}

impl Arg for bool {
    fn put(&self, out: &mut Vec<u8>) {
        put_bool(out, *self);
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        r.bool("a bool argument")
    }
}

impl Arg for String {
    fn put(&self, out: &mut Vec<u8>) {
        put_str(out, self);
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        r.str("a string argument").map(str::to_owned)
    }
}

impl Arg for Buffer {
    fn put(&self, out: &mut Vec<u8>) {
        put_bytes(out, self);
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        r.bytes("a buffer argument")
            .map(|b| Buffer::from(b.to_vec()))
    }
}

impl Arg for Vec<String> {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, self.len() as u64);
        for s in self {
            put_str(out, s);
        }
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        let n = r.count(1, "a string list's length")?;
        (0..n).map(|_| String::take(r)).collect()
    }
}

impl Arg for Uint32Array {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, self.len() as u64);
        for &v in self.iter() {
            put_varint(out, u64::from(v));
        }
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        let n = r.count(1, "a u32 array's length")?;
        let v = (0..n)
            .map(|_| u32::take(r))
            .collect::<Result<Vec<u32>, _>>()?;
        Ok(v.into())
    }
}

impl Arg for Option<u32> {
    fn put(&self, out: &mut Vec<u8>) {
        put_optional(self.as_ref(), out);
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        take_optional(r)
    }
}

impl Arg for Option<Vec<String>> {
    fn put(&self, out: &mut Vec<u8>) {
        put_optional(self.as_ref(), out);
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        take_optional(r)
    }
}

fn put_optional<T: Arg>(value: Option<&T>, out: &mut Vec<u8>) {
    put_bool(out, value.is_some());
    if let Some(v) = value {
        v.put(out);
    }
}

fn take_optional<T: Arg>(r: &mut ArgReader<'_>) -> Result<Option<T>, EventLogError> {
    if r.bool("whether an optional argument is given")? {
        T::take(r).map(Some)
    } else {
        Ok(None)
    }
}

impl Arg for Option<HashMap<String, f64>> {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            None => put_bool(out, false),
            Some(map) => {
                put_bool(out, true);
                put_varint(out, map.len() as u64);
                let mut pairs: Vec<_> = map.iter().collect();
                pairs.sort_by(|a, b| a.0.cmp(b.0));
                for (k, v) in pairs {
                    put_str(out, k);
                    put_f64(out, *v);
                }
            }
        }
    }
    fn take(r: &mut ArgReader<'_>) -> Result<Self, EventLogError> {
        if !r.bool("whether a map is given")? {
            return Ok(None);
        }
        let n = r.count(9, "a map's length")?;
        let mut map = HashMap::with_capacity(n);
        for _ in 0..n {
            let k = String::take(r)?;
            map.insert(k, f64::take(r)?);
        }
        Ok(Some(map))
    }
}

/// What one replayed event did: whether the core refused it (as it then refused the
/// original), and its `now` argument if it has one.
pub(crate) struct Replayed {
    pub refused: bool,
    pub now: Option<f64>,
}

/// The arguments named `now` are the clock the shell passed in.
fn now_of(name: &str, value: &dyn std::any::Any) -> Option<f64> {
    if name == "now" {
        value.downcast_ref::<f64>().copied()
    } else {
        None
    }
}

macro_rules! recorded_events {
    ($($tag:literal $name:ident => $method:ident($($arg:ident: $ty:ty),*);)*) => {
        /// A recorded method of NativeCore; the discriminant is its tag in the log.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum Event {
            $($name = $tag,)*
        }

        impl Event {
            pub(crate) fn from_tag(tag: u8) -> Option<Event> {
                match tag {
                    $($tag => Some(Event::$name),)*
                    _ => None,
                }
            }

            pub(crate) fn method(self) -> &'static str {
                match self {
                    $(Event::$name => stringify!($method),)*
                }
            }
        }

        /// Calls on `core` the method `event` names, with the arguments read from `args`.
        pub(crate) fn apply(
            core: &mut NativeCore,
            event: Event,
            args: &mut ArgReader<'_>,
        ) -> Result<Replayed, EventLogError> {
            match event {
                $(Event::$name => {
                    $(let $arg = <$ty as Arg>::take(args)?;)*
                    args.end(stringify!($method))?;
                    #[allow(unused_mut)]
                    let mut now = None;
                    $(now = now.or(now_of(stringify!($arg), &$arg));)*
                    let refused = core.$method($($arg),*).is_err();
                    Ok(Replayed { refused, now })
                })*
            }
        }
    };
}

// Tag 0 is the digest record (skein_wire::event_log::DIGEST_TAG). A tag, once released,
// keeps its meaning: new methods take new numbers.
recorded_events! {
    1 AddClient => add_client();
    2 RemoveClient => remove_client(client: u32);
    3 SubmitGraph => submit_graph(client: u32, graph: Buffer, wanted: Vec<String>);
    4 SubmitGraphIndexed => submit_graph_indexed(client: u32, graph: Buffer, wanted: Uint32Array);
    5 WantKeys => want_keys(client: u32, keys: Vec<String>);
    6 WantKeysIndexed => want_keys_indexed(client: u32, keys: Vec<String>);
    7 ReleaseKeys => release_keys(client: u32, keys: Vec<String>);
    8 ReleaseTasks => release_tasks(client: u32, tasks: Uint32Array);
    9 CancelKeys => cancel_keys(client: u32, keys: Vec<String>);
    10 AddScattered => add_scattered(client: u32, key: String, worker: u32, nbytes: f64);
    11 AddWorker => add_worker(name: String, slots: u32, resources: Option<HashMap<String, f64>>, now: f64);
    12 RemoveWorker => remove_worker(worker: u32, now: f64);
    13 Heartbeat => heartbeat(worker: u32, now: f64);
    14 SetPaused => set_paused(worker: u32, paused: bool);
    15 WorkerEvents => worker_events(worker: u32, events: Buffer);
    16 Tick => tick(now: f64);
    17 PanicForTest => panic_for_test(message: String);
    18 Replicate => replicate(keys: Vec<String>, n: Option<u32>, workers: Option<Vec<String>>);
    19 ReplicaAdded => replica_added(worker: u32, key: String);
    20 RecordRuns => record_runs(on: bool);
    21 RetryKeys => retry_keys(client: u32, keys: Vec<String>);
}

/// Appends a record of `$event` with the method's arguments, if this core keeps a log.
macro_rules! record {
    ($core:expr, $event:ident $(, $arg:expr)*) => {
        if let Some(log) = $core.event_log.as_mut() {
            log.record($crate::event_log::Event::$event, |_out| {
                $($crate::event_log::Arg::put(&$arg, _out);)*
            });
        }
    };
}
pub(crate) use record;

/// The log of one NativeCore: records buffered as the next block, written to `file` a block
/// at a time. A failed write ends the recording; `close` reports it.
pub(crate) struct EventLog {
    path: String,
    file: Option<File>,
    block: BlockBuffer,
    framed: Vec<u8>,
    written: u64,
    failure: Option<String>,
}

impl EventLog {
    /// Creates (or empties) the file at `path` and writes the header of a core of `config`.
    pub(crate) fn create(path: &str, config: &Config) -> crate::error::Result<Self> {
        let failed = |e: std::io::Error| {
            napi::Error::new(
                ErrorCode("SKEIN_EVENT_LOG_IO"),
                format!("cannot write the event log {path}: {e}"),
            )
        };
        let mut file = File::create(path).map_err(failed)?;
        let head = header(config);
        file.write_all(&head).map_err(failed)?;
        Ok(EventLog {
            path: path.to_owned(),
            file: Some(file),
            block: BlockBuffer::default(),
            framed: Vec::new(),
            written: head.len() as u64,
            failure: None,
        })
    }

    pub(crate) fn record(&mut self, event: Event, args: impl FnOnce(&mut Vec<u8>)) {
        if self.file.is_none() {
            return;
        }
        self.block.record(event as u8, args);
        self.after_record();
    }

    /// Records the messages one `take_messages` returned, by their digest.
    pub(crate) fn digest(&mut self, messages: Option<&[u8]>) {
        if self.file.is_none() {
            return;
        }
        self.block.digest(messages);
        self.after_record();
    }

    /// Records that the core panicked on the last event, writes the log and stops recording:
    /// a poisoned core refuses every later event, so they would tell nothing.
    pub(crate) fn panicked(&mut self, message: &str) {
        if self.file.is_none() {
            return;
        }
        self.block.record(PANIC_TAG, |out| put_str(out, message));
        self.flush();
        self.file = None;
    }

    fn after_record(&mut self) {
        if self.block.len() > MAX_BLOCK_BYTES as usize {
            self.fail(format!(
                "an event of about {} bytes is larger than a block of the log may be",
                self.block.len()
            ));
        } else if self.block.len() >= FLUSH_BYTES {
            self.flush();
        }
    }

    /// Writes the buffered records as one block.
    pub(crate) fn flush(&mut self) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if self.block.is_empty() {
            return;
        }
        self.framed.clear();
        self.block.take_block(&mut self.framed);
        match file.write_all(&self.framed) {
            Ok(()) => self.written += self.framed.len() as u64,
            Err(e) => self.fail(format!("writing the event log {} failed: {e}", self.path)),
        }
    }

    fn fail(&mut self, why: String) {
        self.failure = Some(why);
        self.file = None;
        self.block = BlockBuffer::default();
    }

    /// Writes what is buffered and closes the file; the bytes written, or why recording stopped.
    pub(crate) fn close(&mut self) -> crate::error::Result<f64> {
        self.flush();
        self.file = None;
        match &self.failure {
            None => Ok(self.written as f64),
            Some(why) => Err(napi::Error::new(
                ErrorCode("SKEIN_EVENT_LOG_IO"),
                why.clone(),
            )),
        }
    }
}
