//! `skein replay`: feeds a recorded event log to a fresh core, method by method, and checks
//! that every batch of messages it sends out has the digest the log recorded.

use std::fs::File;
use std::io::BufReader;

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Status, Task};
use napi_derive::napi;
use skein_wire::event_log::{digest, EventLogError, EventLogReader, DIGEST_TAG, PANIC_TAG};
use skein_wire::{catch_panic, WireError};

use crate::error::{wire_error, ErrorCode, Result};
use crate::event_log::{apply, Event};
use crate::native_core::{NativeCore, NativeCoreOptions};

/// Transitions kept per task while replaying for a story: all of them, in practice.
const REPLAY_STORY_LEN: usize = 1 << 16;

#[napi(object)]
pub struct ReplayOptions {
    /// Collect the transitions of this key over the whole run.
    pub story: Option<String>,
    /// Replay with these core options in place of the recorded ones (what if stealing had been
    /// off?): the first batch that comes out different is the mismatch. `eventLog` is ignored.
    pub core: Option<NativeCoreOptions>,
}

/// The first batch of messages whose digest differs from the log's.
#[napi(object)]
pub struct ReplayMismatch {
    /// Index of the digest record among all records (events and digests), from 0.
    pub record: f64,
    /// Events replayed before it.
    pub events: f64,
    /// Byte offset of the digest record in the file.
    pub offset: f64,
    pub expected_bytes: f64,
    pub actual_bytes: f64,
    pub expected_digest: String,
    pub actual_digest: String,
}

/// One transition of the story key, with the event that caused it.
#[napi(object)]
pub struct ReplayStoryEntry {
    /// Index of the event among all records, from 0.
    pub record: f64,
    /// The core method the event called.
    pub method: String,
    /// The latest clock (`now`, seconds) seen in the log up to that event.
    pub now: Option<f64>,
    pub from: String,
    pub to: String,
    pub stimulus: String,
}

#[napi(object)]
pub struct ReplayMethodCount {
    pub method: String,
    pub count: f64,
}

#[napi(object)]
pub struct ReplaySummary {
    /// Bytes of the log.
    pub bytes: f64,
    /// Events fed to the core (digest records not counted).
    pub events: f64,
    /// Events per method, in tag order.
    pub methods: Vec<ReplayMethodCount>,
    /// Events the core refused (with an error, as it refused them when they were recorded).
    pub refused: f64,
    /// Batches of messages compared, and how many had the recorded digest.
    pub batches: f64,
    pub digests_matched: f64,
    pub mismatch: Option<ReplayMismatch>,
    /// The core panicked on replay: its message.
    pub panicked: Option<String>,
    /// The core panicked when recorded (the log's last record says so): its message.
    pub recorded_panic: Option<String>,
    /// The replay went otherwise than the recording in a way digests do not tell: one of the
    /// two cores panicked and the other did not.
    pub diverged: Option<String>,
    /// Tasks the core held, summed over the run: live at the end plus forgotten.
    pub tasks: f64,
    pub workers: f64,
    pub clients: f64,
    /// The first and last clock (`now`, seconds) the log holds, and the time between.
    pub first_now: Option<f64>,
    pub last_now: Option<f64>,
    pub duration_seconds: f64,
    pub story: Vec<ReplayStoryEntry>,
}

fn log_error(path: &str, err: EventLogError) -> napi::Error<ErrorCode> {
    napi::Error::new(ErrorCode(err.code()), format!("{path}: {err}"))
}

/// Replays the event log at `path` on a fresh core, off the JS thread; resolves with what
/// happened, with the first mismatching batch if any. Rejects if the log cannot be read,
/// with a message that starts with its code (`SKEIN_EVENT_LOG_CORRUPT: ...`) and names the
/// byte offset: ts/scheduler/replay.ts turns it into an EventLogError.
#[napi(ts_return_type = "Promise<ReplaySummary>")]
pub fn replay_event_log(path: String, options: Option<ReplayOptions>) -> AsyncTask<ReplayTask> {
    let (story, core) = options.map_or((None, None), |o| (o.story, o.core));
    AsyncTask::new(ReplayTask { path, story, core })
}

pub struct ReplayTask {
    path: String,
    story: Option<String>,
    core: Option<NativeCoreOptions>,
}

impl Task for ReplayTask {
    type Output = ReplaySummary;
    type JsValue = ReplaySummary;

    fn compute(&mut self) -> napi::Result<ReplaySummary> {
        // A panic in the replay's own code (the core's are caught per call) must not unwind
        // into libuv's thread.
        catch_panic(|| replay(&self.path, self.story.clone(), self.core.as_ref()))
            .unwrap_or_else(|panic: WireError| Err(wire_error(panic)))
            .map_err(|e| {
                napi::Error::new(
                    Status::GenericFailure,
                    format!("{}: {}", e.status.0, e.reason),
                )
            })
    }

    fn resolve(&mut self, _: Env, summary: ReplaySummary) -> napi::Result<ReplaySummary> {
        Ok(summary)
    }
}

fn replay(
    path: &str,
    story_key: Option<String>,
    what_if: Option<&NativeCoreOptions>,
) -> Result<ReplaySummary> {
    let path = path.to_owned();
    let file = File::open(&path).map_err(|e| {
        napi::Error::new(
            ErrorCode("SKEIN_EVENT_LOG_IO"),
            format!("cannot read the event log {path}: {e}"),
        )
    })?;
    let bytes = file.metadata().map(|m| m.len()).ok();
    let mut reader = EventLogReader::open(BufReader::with_capacity(1 << 20, file), bytes)
        .map_err(|e| log_error(&path, e))?;
    let mut config = reader.config().clone();
    if let Some(options) = what_if {
        config = options.overlay(config);
    }
    if story_key.is_some() {
        config.story_len = REPLAY_STORY_LEN;
    }
    let mut core = NativeCore::with_config(config);
    let mut s = ReplaySummary {
        bytes: bytes.unwrap_or(0) as f64,
        events: 0.0,
        methods: Vec::new(),
        refused: 0.0,
        batches: 0.0,
        digests_matched: 0.0,
        mismatch: None,
        panicked: None,
        recorded_panic: None,
        diverged: None,
        tasks: 0.0,
        workers: 0.0,
        clients: 0.0,
        first_now: None,
        last_now: None,
        duration_seconds: 0.0,
        story: Vec::new(),
    };
    let mut per_tag = [0u64; 256];
    let mut story = StoryTracker::default();
    let mut index = 0u64;
    // The record after which the replay's core panicked.
    let mut panicked_at: Option<u64> = None;
    while let Some(record) = reader.next_record().map_err(|e| log_error(&path, e))? {
        let (offset, mut args) = (record.offset, record.args);
        if record.tag == PANIC_TAG {
            let message = args.str("panic message").map_err(|e| log_error(&path, e))?;
            s.recorded_panic = Some(message.to_owned());
            if panicked_at.is_none() {
                // The one call a log does not hold is a takeMessages that panicked.
                let _ = core.take_messages();
                if core_panicked(&core, &mut s) {
                    panicked_at = Some(index);
                }
            }
            if panicked_at.is_none() {
                s.diverged = Some(format!(
                    "the recorded core panicked on the event before record {index} (byte offset {offset}); the replay's did not"
                ));
            }
            break;
        }
        if let Some(at) = panicked_at {
            s.diverged = Some(format!(
                "the replay's core panicked at record {at}; the recorded one went on"
            ));
            break;
        }
        let method = if record.tag == DIGEST_TAG {
            let expected_bytes = args
                .varint("message bytes")
                .map_err(|e| log_error(&path, e))?;
            let expected = if expected_bytes == 0 {
                None
            } else {
                Some(args.u64_le("digest").map_err(|e| log_error(&path, e))?)
            };
            args.end("digest").map_err(|e| log_error(&path, e))?;
            let taken = core.take_messages();
            if core_panicked(&core, &mut s) {
                panicked_at = Some(index);
            }
            let actual = taken.ok().flatten();
            s.batches += 1.0;
            if actual.as_deref().map(digest) == expected {
                s.digests_matched += 1.0;
            } else {
                s.mismatch = Some(ReplayMismatch {
                    record: index as f64,
                    events: s.events,
                    offset: offset as f64,
                    expected_bytes: expected_bytes as f64,
                    actual_bytes: actual.as_ref().map_or(0, |m| m.len()) as f64,
                    expected_digest: expected.map_or("none".into(), |d| format!("{d:016x}")),
                    actual_digest: actual
                        .as_deref()
                        .map_or("none".into(), |m| format!("{:016x}", digest(m))),
                });
                break;
            }
            "take_messages"
        } else {
            let event = Event::from_tag(record.tag).ok_or_else(|| {
                log_error(
                    &path,
                    EventLogError::Malformed {
                        offset,
                        what: format!(
                            "event tag {} is unknown to this skein (is the log from a newer one?)",
                            record.tag
                        ),
                    },
                )
            })?;
            let replayed = apply(&mut core, event, &mut args).map_err(|e| log_error(&path, e))?;
            s.events += 1.0;
            per_tag[record.tag as usize] += 1;
            if replayed.refused {
                s.refused += 1.0;
            }
            if let Some(now) = replayed.now {
                s.first_now = s.first_now.or(Some(now));
                s.last_now = Some(s.last_now.map_or(now, |l: f64| l.max(now)));
            }
            if core_panicked(&core, &mut s) {
                panicked_at = Some(index);
            }
            event.method()
        };
        if let Some(key) = &story_key {
            story.follow(&core, key, index, method, s.last_now, &mut s.story);
        }
        index += 1;
    }
    if let (Some(at), None, None) = (panicked_at, &s.recorded_panic, &s.diverged) {
        s.diverged = Some(format!(
            "the replay's core panicked at record {at}; the recording ends without a panic"
        ));
    }
    for (tag, &count) in per_tag.iter().enumerate() {
        if let (Some(event), true) = (Event::from_tag(tag as u8), count > 0) {
            s.methods.push(ReplayMethodCount {
                method: event.method().into(),
                count: count as f64,
            });
        }
    }
    let count_of = |e: Event| per_tag[e as usize] as f64;
    s.workers = count_of(Event::AddWorker);
    s.clients = count_of(Event::AddClient);
    if s.panicked.is_none() {
        let sched = core.scheduler();
        let c = sched.counts();
        let live =
            c.released + c.waiting + c.queued + c.no_worker + c.processing + c.memory + c.erred;
        s.tasks = (live as u64 + sched.forgotten_total()) as f64;
    }
    s.duration_seconds = match (s.first_now, s.last_now) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    Ok(s)
}

fn core_panicked(core: &NativeCore, s: &mut ReplaySummary) -> bool {
    s.panicked = core.panic_message().map(str::to_owned);
    s.panicked.is_some()
}

/// Follows one key's story across the run: the core keeps it while the task lives, and
/// starts a new one when the key is submitted again after being forgotten.
#[derive(Default)]
struct StoryTracker {
    seen: usize,
    /// The key's state after the last event, while the core holds it.
    last_state: Option<&'static str>,
}

impl StoryTracker {
    fn follow(
        &mut self,
        core: &NativeCore,
        key: &str,
        record: u64,
        method: &str,
        now: Option<f64>,
        out: &mut Vec<ReplayStoryEntry>,
    ) {
        let story = core.scheduler().story(key);
        if core.scheduler().task_id(key).is_none() {
            // Forgotten by this event: the core no longer holds its last transitions.
            if let Some(last) = self.last_state.take() {
                out.push(ReplayStoryEntry {
                    record: record as f64,
                    method: method.into(),
                    now,
                    from: last.into(),
                    to: "forgotten".into(),
                    stimulus: method.replace('_', "-"),
                });
            }
            self.seen = 0;
            return;
        }
        if story.len() < self.seen {
            self.seen = 0;
        }
        for r in &story[self.seen..] {
            out.push(ReplayStoryEntry {
                record: record as f64,
                method: method.into(),
                now,
                from: r.from.name().into(),
                to: r.to.name().into(),
                stimulus: r.stimulus.name().into(),
            });
        }
        self.seen = story.len();
        self.last_state = story.last().map(|r| r.to.name());
    }
}
