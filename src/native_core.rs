use std::collections::HashMap;

use napi::bindgen_prelude::{Buffer, Float64Array, Uint32Array};
use napi_derive::napi;
use skein_core::{
    ClientId, Config, PrefixProgress, Scheduler, SchedulerStats, StateCounts, TaskId, TaskState,
    WorkerId, WorkerSpec,
};

use skein_wire::{
    apply_worker_events, catch_panic, decode_graph, encode_messages, InlineValues, WireError,
};

use crate::error::{core_error, invalid_option, malformed, wire_error, ErrorCode, Result};
use crate::event_log::{record, EventLog};

/// Options for the native core; every field is optional and has the core's default.
#[napi(object)]
#[derive(Default)]
pub struct NativeCoreOptions {
    /// A task errs after this many workers died while running it (default 3).
    pub allowed_failures: Option<u32>,
    /// Seconds of queued work each worker slot is given (default 0.005).
    pub saturation_horizon: Option<f64>,
    /// Cap on queued tasks per slot (default 1000).
    pub max_tasks_per_slot: Option<u32>,
    /// Estimated seconds for a task prefix never seen before (default 0.0005).
    pub default_task_duration: Option<f64>,
    /// Bytes per second assumed for moving data between workers.
    pub bandwidth: Option<f64>,
    /// Seconds of silence after which tick() removes a worker (default 30).
    pub heartbeat_timeout: Option<f64>,
    /// Check every invariant after every event (slow; for tests).
    pub validate: Option<bool>,
    /// Move queued tasks from saturated workers to idle ones on tick() (default true).
    pub work_stealing: Option<bool>,
    /// Tasks estimated shorter than this many seconds are never stolen (default 0.005).
    pub steal_min_duration: Option<f64>,
    /// Seconds a worker may hold tasks while running none and reporting nothing before tick()
    /// removes it (default 300; 0 turns the check off).
    pub stall_timeout: Option<f64>,
    /// Record every event into this file (created or emptied), for `skein replay`; `closeEventLog()`
    /// writes the rest. Default: no log.
    pub event_log: Option<String>,
}

impl NativeCoreOptions {
    fn to_config(&self) -> Result<Config> {
        let hash_seed = getrandom::u64().map_err(|e| {
            napi::Error::new(
                ErrorCode("SKEIN_NO_RANDOMNESS"),
                format!("no random seed for the key tables from the operating system: {e}"),
            )
        })?;
        let base = Config {
            hash_seed,
            validate: false,
            ..Config::default()
        };
        Ok(self.overlay(base))
    }

    /// `config` with the options given here in place of its values (a replay's what-if).
    pub(crate) fn overlay(&self, config: Config) -> Config {
        let (o, d) = (self, config);
        Config {
            allowed_failures: o.allowed_failures.unwrap_or(d.allowed_failures),
            saturation_horizon: o.saturation_horizon.unwrap_or(d.saturation_horizon),
            max_tasks_per_slot: o.max_tasks_per_slot.unwrap_or(d.max_tasks_per_slot),
            default_task_duration: o.default_task_duration.unwrap_or(d.default_task_duration),
            bandwidth: o.bandwidth.unwrap_or(d.bandwidth),
            heartbeat_timeout: o.heartbeat_timeout.unwrap_or(d.heartbeat_timeout),
            validate: o.validate.unwrap_or(d.validate),
            work_stealing: o.work_stealing.unwrap_or(d.work_stealing),
            steal_min_duration: o.steal_min_duration.unwrap_or(d.steal_min_duration),
            stall_timeout: o.stall_timeout.unwrap_or(d.stall_timeout),
            ..d
        }
    }
}

/// The largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Counts of tasks per state and of workers and clients.
#[napi(object)]
pub struct CoreCounts {
    pub released: u32,
    pub waiting: u32,
    pub queued: u32,
    pub no_worker: u32,
    pub processing: u32,
    pub memory: u32,
    pub erred: u32,
    pub workers: u32,
    pub clients: u32,
}

impl From<StateCounts> for CoreCounts {
    fn from(c: StateCounts) -> Self {
        CoreCounts {
            released: c.released as u32,
            waiting: c.waiting as u32,
            queued: c.queued as u32,
            no_worker: c.no_worker as u32,
            processing: c.processing as u32,
            memory: c.memory as u32,
            erred: c.erred as u32,
            workers: c.workers as u32,
            clients: c.clients as u32,
        }
    }
}

/// A worker's processing tasks: those holding a slot, and those seceded from one.
#[napi(object)]
pub struct WorkerTasks {
    pub processing: u32,
    pub long_running: u32,
}

/// Totals since the core started: recovery from worker loss and work stealing.
#[napi(object)]
pub struct CoreStats {
    /// Compute instructions issued.
    pub computes: f64,
    pub workers_removed: f64,
    pub heartbeat_timeouts: f64,
    /// Tasks that were processing on a worker when it was removed.
    pub rescheduled: f64,
    /// Results still needed whose last holder was removed (recomputed).
    pub lost_results: f64,
    pub steal_requests: f64,
    pub stolen: f64,
    pub steal_refused: f64,
    /// Execution threads a task ended while its worker lived on.
    pub executors_died: f64,
    /// Timer ticks so late that the scheduler itself had stalled (no worker was blamed for it).
    pub stalls: f64,
    /// Workers removed for sitting on their tasks (see the `stallTimeout` option).
    pub stalled_workers: f64,
    /// State changes of tasks.
    pub transitions: f64,
}

impl From<SchedulerStats> for CoreStats {
    fn from(s: SchedulerStats) -> Self {
        CoreStats {
            computes: s.computes as f64,
            workers_removed: s.workers_removed as f64,
            heartbeat_timeouts: s.heartbeat_timeouts as f64,
            rescheduled: s.rescheduled as f64,
            lost_results: s.lost_results as f64,
            steal_requests: s.steal_requests as f64,
            stolen: s.stolen as f64,
            steal_refused: s.steal_refused as f64,
            executors_died: s.executors_died as f64,
            stalls: s.stalls as f64,
            stalled_workers: s.stalled_workers as f64,
            transitions: s.transitions as f64,
        }
    }
}

/// A copy `replicate` decided on: `worker` fetches `key` from one of `holders`.
#[napi(object)]
pub struct ReplicaCopyOrder {
    pub worker: u32,
    pub key: String,
    pub holders: Vec<u32>,
}

/// What `replicate` decided: copies to make, and how many extra copies it had freed.
#[napi(object)]
pub struct ReplicationOrders {
    pub copies: Vec<ReplicaCopyOrder>,
    pub dropped: u32,
}

/// One prefix's tasks: live ones per state, and all forgotten since start (for the dashboard).
#[napi(object)]
pub struct PrefixTotals {
    pub prefix: String,
    pub released: f64,
    pub waiting: f64,
    pub queued: f64,
    pub no_worker: f64,
    pub processing: f64,
    pub memory: f64,
    pub erred: f64,
    pub forgotten: f64,
}

impl From<PrefixProgress> for PrefixTotals {
    fn from(p: PrefixProgress) -> Self {
        let n = |s: TaskState| p.by_state[s as usize] as f64;
        PrefixTotals {
            released: n(TaskState::Released),
            waiting: n(TaskState::Waiting),
            queued: n(TaskState::Queued),
            no_worker: n(TaskState::NoWorker),
            processing: n(TaskState::Processing),
            memory: n(TaskState::Memory),
            erred: n(TaskState::Erred),
            forgotten: n(TaskState::Forgotten),
            prefix: p.prefix,
        }
    }
}

/// One entry of a key's story: a transition and the event that caused it.
#[napi(object)]
pub struct StoryEntry {
    pub from: String,
    pub to: String,
    pub stimulus: String,
}

/// The scheduling state machine. Events go in through the methods; what the
/// scheduler wants done comes out of `takeMessages()` as one buffer.
///
/// A panic inside the core (a bug) throws an error with code `SKEIN_CORE_PANIC` instead of
/// aborting Node; the event that panicked may have left the state half changed, so every
/// later call on this core throws `SKEIN_CORE_PANIC` too.
// Every method runs the core through `guarded`/`guarded_read`. napi-rs's `catch_unwind` on
// each method also turns a panic in its own conversions of arguments and results into a
// thrown error (code `GenericFailure`) rather than an abort.
#[napi]
pub struct NativeCore {
    core: Scheduler,
    /// Small results from `finished` events since the last take, for the `memory` messages.
    inline: InlineValues,
    /// Set when a call panicked: the panic's message.
    panicked: Option<String>,
    /// Where every event is recorded, if the options named a file (see event_log.rs).
    pub(crate) event_log: Option<EventLog>,
}

impl NativeCore {
    pub(crate) fn with_config(config: Config) -> Self {
        NativeCore {
            core: Scheduler::new(config),
            inline: InlineValues::default(),
            panicked: None,
            event_log: None,
        }
    }

    /// A core of `options`' config that records into `options.eventLog`, if given.
    fn with_options(options: &NativeCoreOptions, config: Config) -> Result<Self> {
        let event_log = match &options.event_log {
            Some(path) => Some(EventLog::create(path, &config)?),
            None => None,
        };
        Ok(NativeCore {
            event_log,
            ..NativeCore::with_config(config)
        })
    }

    /// The message of the panic that poisoned this core, if one did.
    pub(crate) fn panic_message(&self) -> Option<&str> {
        self.panicked.as_deref()
    }

    /// The scheduler inside, for reads (replay's stories).
    pub(crate) fn scheduler(&self) -> &Scheduler {
        &self.core
    }

    /// Runs `f` on the core and the inline values; a panic poisons this core.
    fn guarded<T>(
        &mut self,
        f: impl FnOnce(&mut Scheduler, &mut InlineValues) -> Result<T>,
    ) -> Result<T> {
        self.refuse_if_poisoned()?;
        let (core, inline) = (&mut self.core, &mut self.inline);
        catch_panic(|| f(core, inline)).unwrap_or_else(|panic| {
            let err = wire_error(panic.clone());
            if let WireError::CorePanic(message) = panic {
                // The log up to the event that panicked is what reproduces the bug.
                if let Some(log) = self.event_log.as_mut() {
                    log.panicked(&message);
                }
                self.panicked = Some(message);
            }
            Err(err)
        })
    }

    /// Runs a read of the core (which cannot change it: no poisoning needed).
    fn guarded_read<T>(&self, f: impl FnOnce(&Scheduler) -> Result<T>) -> Result<T> {
        self.refuse_if_poisoned()?;
        catch_panic(|| f(&self.core)).unwrap_or_else(|panic| Err(wire_error(panic)))
    }

    fn refuse_if_poisoned(&self) -> Result<()> {
        match &self.panicked {
            None => Ok(()),
            Some(message) => Err(wire_error(WireError::CorePanic(format!(
                "an earlier call panicked: {message}"
            )))),
        }
    }
}

#[napi]
impl NativeCore {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: Option<NativeCoreOptions>) -> Result<Self> {
        let options = options.unwrap_or_default();
        let config = options.to_config()?;
        NativeCore::with_options(&options, config)
    }

    /// Like the constructor, with run ids counting up from `firstRunId` (a whole number up
    /// to 2^53 - 1) instead of 0: tests cross 2^32 with it.
    #[napi(factory, catch_unwind)]
    pub fn with_first_run_id(
        options: Option<NativeCoreOptions>,
        first_run_id: f64,
    ) -> Result<Self> {
        if !((0.0..=MAX_SAFE_INTEGER).contains(&first_run_id) && first_run_id.fract() == 0.0) {
            return Err(invalid_option(format!(
                "firstRunId {first_run_id} is not a whole number from 0 to 2^53 - 1"
            )));
        }
        let options = options.unwrap_or_default();
        let config = Config {
            first_run: first_run_id as u64,
            ..options.to_config()?
        };
        NativeCore::with_options(&options, config)
    }

    #[napi(catch_unwind)]
    pub fn add_client(&mut self) -> Result<u32> {
        record!(self, AddClient);
        self.guarded(|core, _| Ok(core.add_client().0))
    }

    #[napi(catch_unwind)]
    pub fn remove_client(&mut self, client: u32) -> Result<()> {
        record!(self, RemoveClient, client);
        self.guarded(|core, _| core.remove_client(ClientId(client)).map_err(core_error))
    }

    /// Adds the tasks of `graph` (see crates/skein-wire/src/wire.rs) and makes `client` want
    /// the keys in `wanted`. Returns the number of tasks in the graph. Throws (with `code`)
    /// and changes nothing on a bad graph.
    #[napi(catch_unwind)]
    pub fn submit_graph(&mut self, client: u32, graph: Buffer, wanted: Vec<String>) -> Result<u32> {
        record!(self, SubmitGraph, client, graph, wanted);
        self.guarded(|core, _| {
            let tasks = decode_graph(&graph).map_err(wire_error)?;
            let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
            let ids = core
                .submit_graph(ClientId(client), tasks, &wanted)
                .map_err(core_error)?;
            Ok(ids.len() as u32)
        })
    }

    /// Like `submitGraph`, with the wanted keys named by their index in `graph` (no key strings
    /// cross twice). Returns the task id of each wanted key, in order: the ids `memory` messages carry.
    #[napi(catch_unwind)]
    pub fn submit_graph_indexed(
        &mut self,
        client: u32,
        graph: Buffer,
        wanted: Uint32Array,
    ) -> Result<Uint32Array> {
        record!(self, SubmitGraphIndexed, client, graph, wanted);
        self.guarded(|core, _| {
            let tasks = decode_graph(&graph).map_err(wire_error)?;
            if let Some(&i) = wanted.iter().find(|&&i| i as usize >= tasks.len()) {
                return Err(malformed(format!(
                    "wanted index {i} is not in the graph of {} tasks",
                    tasks.len()
                )));
            }
            let ids = core
                .submit_graph_indexed(ClientId(client), tasks, &wanted)
                .map_err(core_error)?;
            Ok(wanted
                .iter()
                .map(|&i| ids[i as usize].0)
                .collect::<Vec<u32>>()
                .into())
        })
    }

    #[napi(catch_unwind)]
    pub fn want_keys(&mut self, client: u32, keys: Vec<String>) -> Result<()> {
        record!(self, WantKeys, client, keys);
        self.guarded(|core, _| {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            core.want_keys(ClientId(client), &keys).map_err(core_error)
        })
    }

    /// Like `want_keys`, and returns the task id of each key (as a submit's indexed reply
    /// does), for a client that learns of the keys from the scheduler (a published dataset):
    /// the 'memory' messages it then gets name those ids.
    #[napi(catch_unwind)]
    pub fn want_keys_indexed(&mut self, client: u32, keys: Vec<String>) -> Result<Uint32Array> {
        record!(self, WantKeysIndexed, client, keys);
        self.guarded(|core, _| {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            core.want_keys(ClientId(client), &keys)
                .map_err(core_error)?;
            Ok(keys
                .iter()
                .map(|k| core.task_id(k).map_or(u32::MAX, |t| t.0))
                .collect::<Vec<u32>>()
                .into())
        })
    }

    #[napi(catch_unwind)]
    pub fn release_keys(&mut self, client: u32, keys: Vec<String>) -> Result<()> {
        record!(self, ReleaseKeys, client, keys);
        self.guarded(|core, _| {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            core.release_keys(ClientId(client), &keys)
                .map_err(core_error)
        })
    }

    /// Like `release_keys`, with the keys named by the task ids the client got in its
    /// submits' replies. An id the client does not want (anymore) is ignored, as an unknown
    /// key is: only a wanted id is looked up, so a recycled slot is never released by mistake.
    #[napi(catch_unwind)]
    pub fn release_tasks(&mut self, client: u32, tasks: Uint32Array) -> Result<()> {
        record!(self, ReleaseTasks, client, tasks);
        self.guarded(|core, _| {
            let tasks: Vec<TaskId> = tasks.iter().map(|&t| TaskId(t)).collect();
            core.release_tasks(ClientId(client), &tasks)
                .map_err(core_error)
        })
    }

    #[napi(catch_unwind)]
    pub fn cancel_keys(&mut self, client: u32, keys: Vec<String>) -> Result<()> {
        record!(self, CancelKeys, client, keys);
        self.guarded(|core, _| {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            core.cancel_keys(ClientId(client), &keys)
                .map_err(core_error)
        })
    }

    /// Erred keys run again (Dask's `retry`), with the erred inputs that caused them; returns
    /// every key taken back from erred (the client waits on those anew).
    #[napi(catch_unwind)]
    pub fn retry_keys(&mut self, client: u32, keys: Vec<String>) -> Result<Vec<String>> {
        record!(self, RetryKeys, client, keys);
        self.guarded(|core, _| {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let retried = core
                .retry_keys(ClientId(client), &keys)
                .map_err(core_error)?;
            Ok(retried.iter().map(|&t| core.key(t).to_owned()).collect())
        })
    }

    /// Records data a client placed on `worker` itself (scatter).
    #[napi(catch_unwind)]
    pub fn add_scattered(
        &mut self,
        client: u32,
        key: String,
        worker: u32,
        nbytes: f64,
    ) -> Result<()> {
        record!(self, AddScattered, client, key, worker, nbytes);
        self.guarded(|core, _| {
            core.add_scattered(
                ClientId(client),
                &key,
                WorkerId(worker),
                nbytes.max(0.0) as u64,
            )
            .map(|_| ())
            .map_err(core_error)
        })
    }

    #[napi(catch_unwind)]
    pub fn add_worker(
        &mut self,
        name: String,
        slots: u32,
        resources: Option<HashMap<String, f64>>,
        now: f64,
    ) -> Result<u32> {
        record!(self, AddWorker, name, slots, resources, now);
        self.guarded(|core, _| {
            // By name: the order a HashMap iterates in is random, and replay must see the same.
            let mut resources: Vec<(String, f64)> =
                resources.unwrap_or_default().into_iter().collect();
            resources.sort_by(|a, b| a.0.cmp(&b.0));
            let spec = WorkerSpec {
                name,
                slots,
                resources,
            };
            core.add_worker(spec, now).map(|w| w.0).map_err(core_error)
        })
    }

    #[napi(catch_unwind)]
    pub fn remove_worker(&mut self, worker: u32, now: f64) -> Result<()> {
        record!(self, RemoveWorker, worker, now);
        self.guarded(|core, _| {
            core.remove_worker(WorkerId(worker), now)
                .map_err(core_error)
        })
    }

    #[napi(catch_unwind)]
    pub fn heartbeat(&mut self, worker: u32, now: f64) -> Result<()> {
        record!(self, Heartbeat, worker, now);
        self.guarded(|core, _| core.heartbeat(WorkerId(worker), now).map_err(core_error))
    }

    /// `worker` asks for no new tasks (its memory is past its pause threshold), or takes them
    /// again: no placement picks a paused worker; queued roots and waiting tasks go to it on resume.
    #[napi(catch_unwind)]
    pub fn set_paused(&mut self, worker: u32, paused: bool) -> Result<()> {
        record!(self, SetPaused, worker, paused);
        self.guarded(|core, _| {
            core.set_paused(WorkerId(worker), paused)
                .map_err(core_error)
        })
    }

    /// Applies one frame of events from `worker`. A malformed frame throws and
    /// changes nothing; events naming unknown tasks are skipped and described in
    /// the returned list, so one bad event does not cost the rest of the batch.
    #[napi(catch_unwind)]
    pub fn worker_events(&mut self, worker: u32, events: Buffer) -> Result<Vec<String>> {
        record!(self, WorkerEvents, worker, events);
        self.guarded(|core, inline| {
            apply_worker_events(core, inline, WorkerId(worker), &events).map_err(wire_error)
        })
    }

    #[napi(catch_unwind)]
    pub fn tick(&mut self, now: f64) -> Result<()> {
        record!(self, Tick, now);
        let ticked = self.guarded(|core, _| {
            core.tick(now);
            Ok(())
        });
        // At most one tick's events are lost if the process dies.
        if let Some(log) = self.event_log.as_mut() {
            log.flush();
        }
        ticked
    }

    /// Everything the scheduler wants done since the last call, as ready-to-send messages
    /// per worker and client (see crates/skein-wire/src/wire.rs), or null if nothing.
    #[napi(catch_unwind)]
    pub fn take_messages(&mut self) -> Result<Option<Buffer>> {
        let messages = self.guarded(|core, inline| {
            let ins = core.take_instructions();
            let messages = if ins.is_empty() {
                None
            } else {
                Some(encode_messages(core, &ins, inline))
            };
            inline.clear();
            Ok(messages)
        })?;
        if let Some(log) = self.event_log.as_mut() {
            log.digest(messages.as_deref());
        }
        Ok(messages.map(Buffer::from))
    }

    /// Writes the rest of the event log (see the `eventLog` option) and closes it; returns the
    /// bytes it holds. Throws `SKEIN_EVENT_LOG_IO` if a write failed (recording stopped
    /// there); null if this core keeps no log. Events after this are not recorded.
    #[napi(catch_unwind)]
    pub fn close_event_log(&mut self) -> Result<Option<f64>> {
        self.event_log.as_mut().map(EventLog::close).transpose()
    }

    /// Test hook: panics inside the guard, as a bug in the core would. The call throws
    /// `SKEIN_CORE_PANIC` with `message`, and so does every later call on this core.
    #[napi(catch_unwind)]
    pub fn panic_for_test(&mut self, message: String) -> Result<()> {
        record!(self, PanicForTest, message);
        self.guarded(|_, _| panic!("{message}"))
    }

    /// Why the core removed `worker`: 'left', 'unresponsive' (no heartbeat) or 'stalled' (sat
    /// on its tasks); null while it is live.
    #[napi(catch_unwind)]
    pub fn removal(&self, worker: u32) -> Result<Option<String>> {
        self.guarded_read(|core| Ok(core.removal(WorkerId(worker)).map(|r| r.name().to_string())))
    }

    /// The state of `key`, or null if the scheduler does not know it.
    #[napi(catch_unwind)]
    pub fn state(&self, key: String) -> Result<Option<String>> {
        self.guarded_read(|core| {
            Ok(core
                .task_id(&key)
                .map(|t: TaskId| format!("{:?}", core.state(t)).to_lowercase()))
        })
    }

    #[napi(catch_unwind)]
    pub fn story(&self, key: String) -> Result<Vec<StoryEntry>> {
        self.guarded_read(|core| {
            Ok(core
                .story(&key)
                .into_iter()
                .map(|r| StoryEntry {
                    from: format!("{:?}", r.from),
                    to: format!("{:?}", r.to),
                    stimulus: format!("{:?}", r.stimulus),
                })
                .collect())
        })
    }

    #[napi(catch_unwind)]
    pub fn counts(&self) -> Result<CoreCounts> {
        self.guarded_read(|core| Ok(core.counts().into()))
    }

    /// Tasks processing that seceded from their worker's slot (they wait for tasks they
    /// submitted): not counted against any worker's slots.
    #[napi(catch_unwind)]
    pub fn long_running(&self) -> Result<u32> {
        self.guarded_read(|core| Ok(core.long_running_total() as u32))
    }

    /// Tasks processing on `worker` that hold a slot, and those that seceded from it
    /// (zeros for an unknown or removed worker).
    #[napi(catch_unwind)]
    pub fn worker_tasks(&self, worker: u32) -> Result<WorkerTasks> {
        self.guarded_read(|core| {
            let w = WorkerId(worker);
            Ok(WorkerTasks {
                processing: core.processing_count(w) as u32,
                long_running: core.long_running_count(w) as u32,
            })
        })
    }

    /// Every prefix that ever had a task (in the order first seen, so a prefix's index is its
    /// id in `takeRuns`), with its live tasks per state and its forgotten total. Reads
    /// counters kept per transition: no walk over the tasks.
    #[napi(catch_unwind)]
    pub fn prefix_totals(&self) -> Result<Vec<PrefixTotals>> {
        self.guarded_read(|core| Ok(core.prefix_progress().into_iter().map(Into::into).collect()))
    }

    /// Starts or stops recording the runs that end (for the dashboard's task stream).
    #[napi(catch_unwind)]
    pub fn record_runs(&mut self, on: bool) -> Result<()> {
        record!(self, RecordRuns, on);
        self.guarded(|core, _| {
            core.record_runs(on);
            Ok(())
        })
    }

    /// The runs that ended since the last call, or null if none: `[dropped, worker, prefix id,
    /// seconds, erred (0/1), worker, ...]`, where `dropped` counts runs not kept (more than
    /// 65 536 between two calls).
    #[napi(catch_unwind)]
    pub fn take_runs(&mut self) -> Result<Option<Float64Array>> {
        self.guarded(|core, _| {
            let (runs, dropped) = core.take_runs();
            if runs.is_empty() && dropped == 0 {
                return Ok(None);
            }
            let mut flat = Vec::with_capacity(1 + runs.len() * 4);
            flat.push(dropped as f64);
            for r in runs {
                flat.extend([
                    r.worker.0 as f64,
                    r.prefix as f64,
                    r.duration,
                    f64::from(u8::from(r.erred)),
                ]);
            }
            Ok(Some(flat.into()))
        })
    }

    /// Totals of recovery and stealing work since the core started.
    #[napi(catch_unwind)]
    pub fn stats(&self) -> Result<CoreStats> {
        self.guarded_read(|core| Ok(core.stats().into()))
    }

    /// Copies of `keys` so that each is held by `n` workers of `workers` (default: all live
    /// workers, or all of `workers`); extra copies there are freed. Throws (code
    /// SKEIN_UNKNOWN_KEY, SKEIN_INVALID_REPLICATION) and changes nothing on a bad request.
    #[napi(catch_unwind)]
    pub fn replicate(
        &mut self,
        keys: Vec<String>,
        n: Option<u32>,
        workers: Option<Vec<String>>,
    ) -> Result<ReplicationOrders> {
        record!(self, Replicate, keys, n, workers);
        self.guarded(|core, _| {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let names: Option<Vec<&str>> = workers
                .as_ref()
                .map(|w| w.iter().map(String::as_str).collect());
            let plan = core
                .replicate(&keys, n, names.as_deref())
                .map_err(core_error)?;
            let copies = plan
                .copies
                .iter()
                .map(|c| ReplicaCopyOrder {
                    worker: c.worker.0,
                    key: core.key(c.task).to_string(),
                    holders: core.who_has(c.task).iter().map(|w| w.0).collect(),
                })
                .collect();
            Ok(ReplicationOrders {
                copies,
                dropped: plan.dropped as u32,
            })
        })
    }

    /// `worker` holds a copy of `key` it fetched for `replicate`; false when the copy is of
    /// no use (the caller tells the worker to free it).
    #[napi(catch_unwind)]
    pub fn replica_added(&mut self, worker: u32, key: String) -> Result<bool> {
        record!(self, ReplicaAdded, worker, key);
        self.guarded(|core, _| {
            core.replica_added(WorkerId(worker), &key)
                .map_err(core_error)
        })
    }

    /// The workers holding each key (empty for a key not in memory or unknown).
    #[napi(catch_unwind)]
    pub fn who_has(&self, keys: Vec<String>) -> Result<Vec<Vec<u32>>> {
        self.guarded_read(|core| {
            Ok(keys
                .iter()
                .map(|key| match core.task_id(key) {
                    Some(t) if core.state(t) == TaskState::Memory => {
                        core.who_has(t).iter().map(|w| w.0).collect()
                    }
                    _ => Vec::new(),
                })
                .collect())
        })
    }

    /// Throws naming the broken invariant, if any (code `SKEIN_INVARIANT_BROKEN`).
    #[napi(catch_unwind)]
    pub fn validate(&self) -> Result<()> {
        self.guarded_read(|core| {
            core.validate()
                .map_err(|msg| napi::Error::new(ErrorCode("SKEIN_INVARIANT_BROKEN"), msg))
        })
    }
}
