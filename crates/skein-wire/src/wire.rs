//! MessagePack layouts of what crosses the binding (arrays, not maps: the
//! shell builds them positionally and they stay compact).
//!
//! Graph (submitGraph): `[task, ...]`, each task
//!   `[key, prefix, payload: bin, deps: [key], priority: int, restrictions: [name] | nil, resources: {name: number} | nil]`,
//!   with an 8th field `retries: uint` when the task has any (runs again after it raised),
//!   and a 9th `allowOtherWorkers: bool` (restrictions are a preference) when it is true
//!   (a key, the task's or a dependency's, is at most `MAX_KEY_BYTES` of UTF-8: `SKEIN_KEY_TOO_LONG`)
//!
//! Worker events (workerEvents): `[event, ...]`, each one of
//!   `[0, task, run, nbytes, duration]`   finished
//!   `[0, task, run, nbytes, duration, value: bin]`   finished, with the (small) encoded result inline
//!   `[1, task, run, payload: bin]`       erred
//!   `[2, task, run, dep, holder]`        missing data (with a 6th field, the error met: `reason`)
//!   `[3, task]`                          data lost
//!   `[4, task, run, stolen: bool]`       answer to a steal request: true = dropped unstarted, false = kept (started)
//!   `[5, task, run]`                     the task is executing (handed to an execution thread), not merely queued
//!   `[6, task, run]`                     the task ended its execution thread (the worker lives on)
//!   `[7, task, run]`                     the task seceded from its slot: it waits for tasks it submitted (long-running)
//! A run id is 64-bit and never reused. JS numbers hold it exactly up to 2^53, and msgpackr
//! writes a number of 2^32 or more as a float64: a run may come as an integer or as a
//! whole float64 up to 2^53 - 1.
//!
//! Messages (takeMessages): what the scheduler wants done, as ready-to-send
//! protocol messages, so the shell forwards bytes instead of decoding and
//! re-encoding every task: `[workers, clients, removedWorkers]`
//!   workers: `[[worker, free: bin | nil, compute: bin | nil, steal: bin | nil]]` (send in that order)
//!   clients: `[[client, memory: bin | nil, erred: bin | nil, cancelled: bin | nil]]`, with a 5th
//!     `retried: bin` when a retry took keys back (send it first: it comes before the rest)
//!   removedWorkers: `[worker]`
//! Each bin is one encoded message (nil when it would be empty):
//!   `["free", [key]]`
//!   `["compute", [[task, run, key, payload: bin, deps: [[key, nbytes, [holder], task]], priority: [user, generation, order]]]]`
//!     (priority: run higher `user` first, then lower `generation`, then lower `order`), with a
//!     7th field `true` when no task depends on it (only clients read its result: the worker may
//!     report it later, with others, while its thread keeps running tasks)
//!   `["steal", [[task, run, key]]]` (answer each with worker event 4)
//!   `["memory", [task, nbytes, holderCount, holder..., task, ...]]` (flat: task ids, not keys),
//!     or `["memory", flat, [task, value: bin, task, value, ...]]` when some of those results came inline
//!   `["erred", [[key, causeKey, failure]]]`
//!     failure: `[0, payload: bin]` raised | `[1, key, [workerName], [cause]]` killed workers | `[2, key]` lost
//!       | `[3, input, [workerName]]` an input that could not be fetched (one name per failed try),
//!         with a 4th field, the last error a worker met, when it said
//!     cause (per worker): 0 died (connection closed), 1 stopped answering (heartbeat timeout),
//!     2 the task ended its execution thread
//!   `["cancelled", [key]]`
//!   `["task-retried", [key]]` (erred keys taken back by a client's retry: they run again)

use crate::error::{malformed, Result};
use crate::inline_values::InlineValues;
use crate::reader::Reader;
use skein_core::{Compute, Failure, Instructions, Scheduler, TaskId, TaskSpec, WorkerId};

/// Longest reason a worker may give for data it could not fetch (its error message).
const MAX_REASON_BYTES: usize = 1000;
/// Most runs again a task may ask for after it raised (the client checks the same bound).
const MAX_RETRIES: u32 = 1000;
/// Fewest bytes of one encoded task: `[fixstr, fixstr, bin8 0, [], fixint, nil, nil]`.
const MIN_TASK_BYTES: usize = 9;
/// Fewest bytes of one resource: a fixstr name and a fixint amount.
const MIN_RESOURCE_BYTES: usize = 2;
/// Fewest bytes of one worker event: `[3, task]`.
const MIN_EVENT_BYTES: usize = 3;

pub fn decode_graph(bytes: &[u8]) -> Result<Vec<TaskSpec>> {
    let mut r = Reader::new(bytes);
    let n = r.array_len("graph")?;
    let mut tasks = Vec::with_capacity(r.capacity_for(n, MIN_TASK_BYTES));
    for _ in 0..n {
        let fields = r.array_len("task")?;
        if !(7..=9).contains(&fields) {
            return Err(malformed(format!(
                "task: expected 7 to 9 fields, found {fields}"
            )));
        }
        let key = r.key("task key")?.to_owned();
        let prefix = r.str("task prefix")?.to_owned();
        let payload: Box<[u8]> = r.bin("task payload")?.into();
        let dependencies = r.owned_keys("task dependencies")?;
        let priority = r.i32("task priority")?;
        let restrictions = if r.nil() {
            None
        } else {
            Some(r.owned_strs("task restrictions")?)
        };
        let resources = decode_resources(&mut r)?;
        let retries = if fields >= 8 {
            let n = r.u32("task retries")?;
            if n > MAX_RETRIES {
                return Err(malformed(format!(
                    "task retries: {n} is more than {MAX_RETRIES}"
                )));
            }
            n
        } else {
            0
        };
        let allow_other_workers = fields == 9 && r.bool("task allowOtherWorkers")?;
        tasks.push(TaskSpec {
            key,
            prefix,
            payload,
            dependencies,
            priority,
            restrictions,
            resources,
            retries,
            allow_other_workers,
        });
    }
    r.expect_end("graph")?;
    Ok(tasks)
}

fn decode_resources(r: &mut Reader<'_>) -> Result<Vec<(String, f64)>> {
    if r.nil() {
        return Ok(Vec::new());
    }
    let n = r.map_len("task resources")?;
    let mut out = Vec::with_capacity(r.capacity_for(n, MIN_RESOURCE_BYTES));
    for _ in 0..n {
        let name = r.str("resource name")?.to_owned();
        let amount = r.f64("resource amount")?;
        out.push((name, amount));
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
pub enum WorkerEvent<'a> {
    Finished {
        task: TaskId,
        run: u64,
        nbytes: u64,
        duration: f64,
        value: Option<&'a [u8]>,
    },
    Erred {
        task: TaskId,
        run: u64,
        payload: &'a [u8],
    },
    MissingData {
        task: TaskId,
        run: u64,
        dep: TaskId,
        holder: WorkerId,
        reason: Option<&'a str>,
    },
    DataLost {
        task: TaskId,
    },
    StealResponse {
        task: TaskId,
        run: u64,
        stolen: bool,
    },
    Executing {
        task: TaskId,
        run: u64,
    },
    ExecutorDied {
        task: TaskId,
        run: u64,
    },
    LongRunning {
        task: TaskId,
        run: u64,
    },
}

/// Decodes the whole batch before any of it is applied, so a malformed frame changes nothing.
pub fn decode_worker_events(bytes: &[u8]) -> Result<Vec<WorkerEvent<'_>>> {
    let mut r = Reader::new(bytes);
    let n = r.array_len("worker events")?;
    let mut events = Vec::with_capacity(r.capacity_for(n, MIN_EVENT_BYTES));
    for _ in 0..n {
        let fields = r.array_len("worker event")?;
        let kind = r.u32("worker event kind")?;
        let (event, expected) = match kind {
            0 if fields == 5 || fields == 6 => (
                WorkerEvent::Finished {
                    task: TaskId(r.u32("finished task")?),
                    run: r.run("finished run")?,
                    nbytes: r.u64("finished nbytes")?,
                    duration: r.f64("finished duration")?,
                    value: if fields == 6 {
                        Some(r.bin("finished value")?)
                    } else {
                        None
                    },
                },
                fields,
            ),
            0 => {
                return Err(malformed(format!(
                    "worker event kind 0: expected 5 or 6 fields, found {fields}"
                )))
            }
            1 => (
                WorkerEvent::Erred {
                    task: TaskId(r.u32("erred task")?),
                    run: r.run("erred run")?,
                    payload: r.bin("erred payload")?,
                },
                4,
            ),
            2 if fields == 5 || fields == 6 => (
                WorkerEvent::MissingData {
                    task: TaskId(r.u32("missing-data task")?),
                    run: r.run("missing-data run")?,
                    dep: TaskId(r.u32("missing-data dependency")?),
                    holder: WorkerId(r.u32("missing-data holder")?),
                    reason: if fields == 6 {
                        let reason = r.str("missing-data reason")?;
                        if reason.len() > MAX_REASON_BYTES {
                            return Err(malformed(format!(
                                "missing-data reason: {} bytes, more than {MAX_REASON_BYTES}",
                                reason.len()
                            )));
                        }
                        Some(reason)
                    } else {
                        None
                    },
                },
                fields,
            ),
            2 => {
                return Err(malformed(format!(
                    "worker event kind 2: expected 5 or 6 fields, found {fields}"
                )))
            }
            3 => (
                WorkerEvent::DataLost {
                    task: TaskId(r.u32("data-lost task")?),
                },
                2,
            ),
            4 => (
                WorkerEvent::StealResponse {
                    task: TaskId(r.u32("steal-response task")?),
                    run: r.run("steal-response run")?,
                    stolen: r.bool("steal-response stolen")?,
                },
                4,
            ),
            5 => (
                WorkerEvent::Executing {
                    task: TaskId(r.u32("executing task")?),
                    run: r.run("executing run")?,
                },
                3,
            ),
            6 => (
                WorkerEvent::ExecutorDied {
                    task: TaskId(r.u32("executor-died task")?),
                    run: r.run("executor-died run")?,
                },
                3,
            ),
            7 => (
                WorkerEvent::LongRunning {
                    task: TaskId(r.u32("long-running task")?),
                    run: r.run("long-running run")?,
                },
                3,
            ),
            other => return Err(malformed(format!("worker event kind {other} is unknown"))),
        };
        if fields != expected {
            return Err(malformed(format!(
                "worker event kind {kind}: expected {expected} fields, found {fields}"
            )));
        }
        events.push(event);
    }
    r.expect_end("worker events")?;
    Ok(events)
}

/// Applies one frame of events from worker `w`. A malformed frame is refused whole and
/// changes nothing; events the core refuses (unknown task, ...) are skipped and described in
/// the returned list, so one bad event does not cost the rest of the batch.
pub fn apply_worker_events(
    core: &mut Scheduler,
    inline: &mut InlineValues,
    w: WorkerId,
    bytes: &[u8],
) -> Result<Vec<String>> {
    let mut rejected = Vec::new();
    for event in decode_worker_events(bytes)? {
        let applied = match event {
            WorkerEvent::Finished {
                task,
                run,
                nbytes,
                duration,
                value,
            } => {
                let applied = core.task_finished(w, task, run, nbytes, duration);
                if let (Ok(true), Some(value)) = (&applied, value) {
                    inline.insert(task, value);
                }
                applied
            }
            WorkerEvent::Erred { task, run, payload } => {
                core.task_erred(w, task, run, payload.into())
            }
            WorkerEvent::MissingData {
                task,
                run,
                dep,
                holder,
                reason,
            } => core.missing_data_because(w, task, run, dep, holder, reason),
            WorkerEvent::DataLost { task } => core.data_lost(w, task),
            WorkerEvent::StealResponse { task, run, stolen } => {
                core.steal_response(w, task, run, stolen)
            }
            WorkerEvent::Executing { task, run } => core.task_executing(w, task, run),
            WorkerEvent::ExecutorDied { task, run } => core.executor_died(w, task, run),
            WorkerEvent::LongRunning { task, run } => core.task_long_running(w, task, run),
        };
        if let Err(err) = applied {
            rejected.push(format!("{}: {}", err.code(), err));
        }
    }
    Ok(rejected)
}

/// Writing into a Vec cannot fail; this keeps the encoder free of error plumbing.
struct Out(Vec<u8>);

impl Out {
    fn array(&mut self, n: usize) {
        rmp::encode::write_array_len(&mut self.0, n as u32).expect("Vec write");
    }
    fn uint(&mut self, v: u64) {
        rmp::encode::write_uint(&mut self.0, v).expect("Vec write");
    }
    fn int(&mut self, v: i64) {
        rmp::encode::write_sint(&mut self.0, v).expect("Vec write");
    }
    fn str(&mut self, s: &str) {
        rmp::encode::write_str(&mut self.0, s).expect("Vec write");
    }
    fn bin(&mut self, b: &[u8]) {
        rmp::encode::write_bin(&mut self.0, b).expect("Vec write");
    }
    fn nil(&mut self) {
        rmp::encode::write_nil(&mut self.0).expect("Vec write");
    }
    fn bool(&mut self, v: bool) {
        rmp::encode::write_bool(&mut self.0, v).expect("Vec write");
    }
    /// Starts a bin32 whose length is patched by `end_bin`: a message is written in place, not copied.
    fn begin_bin(&mut self) -> usize {
        self.0.push(0xc6);
        self.0.extend_from_slice(&[0; 4]);
        self.0.len()
    }
    fn end_bin(&mut self, start: usize) {
        let len = (self.0.len() - start) as u32;
        self.0[start - 4..start].copy_from_slice(&len.to_be_bytes());
    }
    /// A ready-to-send `[name, body]` message as a bin, or nil when there is nothing to say.
    fn message(&mut self, name: &str, empty: bool, body: impl FnOnce(&mut Out)) {
        self.message_of(name, 2, empty, body);
    }
    /// Like `message`, for a message of `len` elements (its name included).
    fn message_of(&mut self, name: &str, len: usize, empty: bool, body: impl FnOnce(&mut Out)) {
        if empty {
            self.nil();
            return;
        }
        let bin = self.begin_bin();
        self.array(len);
        self.str(name);
        body(self);
        self.end_bin(bin);
    }
    /// `["memory", flat]`, or `["memory", flat, [task, value, ...]]` when values came inline.
    fn memory_message(&mut self, core: &Scheduler, memory: &[TaskId], inline: &InlineValues) {
        let with_values = if inline.is_empty() {
            0
        } else {
            memory.iter().filter(|&&t| inline.get(t).is_some()).count()
        };
        let len = if with_values > 0 { 3 } else { 2 };
        self.message_of("memory", len, memory.is_empty(), |o| {
            let flat: usize = memory.iter().map(|&t| 3 + core.who_has(t).len()).sum();
            o.array(flat);
            for &t in memory {
                let holders = core.who_has(t);
                o.uint(u64::from(t.0));
                o.uint(core.nbytes(t));
                o.uint(holders.len() as u64);
                for w in holders {
                    o.uint(u64::from(w.0));
                }
            }
            if with_values > 0 {
                o.array(2 * with_values);
                for &t in memory {
                    if let Some(value) = inline.get(t) {
                        o.uint(u64::from(t.0));
                        o.bin(value);
                    }
                }
            }
        });
    }
    fn holders(&mut self, holders: &[WorkerId]) {
        self.array(holders.len());
        for w in holders {
            self.uint(u64::from(w.0));
        }
    }
}

/// `[[task, run, key, payload, deps: [[key, nbytes, [holder], task]], [user, generation, order]]]`,
/// each with a 7th field `true` when no task depends on it.
fn compute_list(out: &mut Out, core: &Scheduler, compute: &[Compute]) {
    out.array(compute.len());
    for c in compute {
        let sink = !core.has_dependents(c.task);
        out.array(if sink { 7 } else { 6 });
        out.uint(u64::from(c.task.0));
        out.uint(c.run);
        out.str(core.key(c.task));
        out.bin(core.payload(c.task));
        let deps = core.dependencies(c.task);
        out.array(deps.len());
        for &dep in deps {
            out.array(4);
            out.str(core.key(dep));
            out.uint(core.nbytes(dep));
            out.holders(core.who_has(dep));
            out.uint(u64::from(dep.0));
        }
        let (user, generation, order) = core.priority(c.task);
        out.array(3);
        out.int(i64::from(user));
        out.uint(generation);
        out.uint(u64::from(order));
        if sink {
            out.bool(true);
        }
    }
}

fn key_list(out: &mut Out, core: &Scheduler, tasks: &[TaskId]) {
    out.array(tasks.len());
    for &t in tasks {
        out.str(core.key(t));
    }
}

pub fn encode_messages(core: &Scheduler, ins: &Instructions, inline: &InlineValues) -> Vec<u8> {
    let mut out = Out(Vec::with_capacity(256));
    out.array(3);
    out.array(ins.workers.len());
    for (worker, batch) in &ins.workers {
        out.array(4);
        out.uint(u64::from(worker.0));
        out.message("free", batch.free.is_empty(), |o| {
            key_list(o, core, &batch.free);
        });
        out.message("compute", batch.compute.is_empty(), |o| {
            compute_list(o, core, &batch.compute);
        });
        out.message("steal", batch.steal.is_empty(), |o| {
            steal_list(o, core, &batch.steal);
        });
    }
    out.array(ins.clients.len());
    for (client, batch) in &ins.clients {
        out.array(if batch.retried.is_empty() { 4 } else { 5 });
        out.uint(u64::from(client.0));
        out.memory_message(core, &batch.memory, inline);
        out.message("erred", batch.erred.is_empty(), |o| {
            o.array(batch.erred.len());
            for (t, cause, failure) in &batch.erred {
                o.array(3);
                o.str(core.key(*t));
                o.str(core.key(*cause));
                encode_failure(o, failure);
            }
        });
        out.message("cancelled", batch.cancelled.is_empty(), |o| {
            key_list(o, core, &batch.cancelled);
        });
        if !batch.retried.is_empty() {
            out.message("task-retried", false, |o| {
                key_list(o, core, &batch.retried);
            });
        }
    }
    out.array(ins.removed_workers.len());
    for w in &ins.removed_workers {
        out.uint(u64::from(w.0));
    }
    out.0
}

/// `[[task, run, key]]`: the victim finds the task by key and checks the run.
fn steal_list(out: &mut Out, core: &Scheduler, steal: &[(TaskId, u64)]) {
    out.array(steal.len());
    for &(t, run) in steal {
        out.array(3);
        out.uint(u64::from(t.0));
        out.uint(run);
        out.str(core.key(t));
    }
}

fn encode_failure(out: &mut Out, failure: &Failure) {
    match failure {
        Failure::Raised { payload } => {
            out.array(2);
            out.uint(0);
            out.bin(payload);
        }
        Failure::KilledWorker {
            key,
            workers,
            causes,
        } => {
            out.array(4);
            out.uint(1);
            out.str(key);
            out.array(workers.len());
            for w in workers {
                out.str(w);
            }
            out.array(causes.len());
            for c in causes {
                out.uint(u64::from(c.code()));
            }
        }
        Failure::Lost { key } => {
            out.array(2);
            out.uint(2);
            out.str(key);
        }
        Failure::Unfetchable {
            key,
            workers,
            reason,
        } => {
            out.array(if reason.is_some() { 4 } else { 3 });
            out.uint(3);
            out.str(key);
            out.array(workers.len());
            for w in workers {
                out.str(w);
            }
            if let Some(reason) = reason {
                out.str(reason);
            }
        }
    }
}
