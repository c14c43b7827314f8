import type { Auth, Authenticated, Challenge } from './handshake'

/**
 * Every message is a tuple whose first element names it. A frame on the wire
 * is a MessagePack array of messages: whatever one side produced in one
 * event-loop turn. Hot-path messages carry ids and positional fields, not
 * repeated strings.
 */

/** Native graph layout: [key, prefix, payload, deps, priority, restrictions, resources]. */
export type WireTask = [
  key: string,
  prefix: string,
  payload: Uint8Array,
  dependencies: string[],
  priority: number,
  restrictions: string[] | null,
  resources: Record<string, number> | null,
]

/** [key, nbytes, holders (worker ids)] */
export type KeyLocation = [key: string, nbytes: number, holders: number[]]

/** How each worker was lost while it ran a task: see DeathCause. */
export const enum WireDeathCause {
  /** Its connection closed (the process exited or was killed). */
  Died = 0,
  /** It stopped heartbeating for longer than the heartbeat timeout. */
  Unresponsive = 1,
  /** The task ended the execution thread it ran on; the worker lived on. */
  ExecutorDied = 2,
}

/** Why a key erred: raised by the task, killed too many workers (causes[i] says how workers[i] went), or lost scattered data. */
export type WireFailure =
  | [kind: 0, payload: Uint8Array]
  | [kind: 1, key: string, workers: string[], causes: WireDeathCause[]]
  | [kind: 2, key: string]
  /**
   * `key`'s task could not get its input `input` from its holders (`workers`, one per failed try),
   * recomputed in between; `reason`: the last error a worker met, when it said.
   */
  | [kind: 3, input: string, workers: string[]]
  | [kind: 3, input: string, workers: string[], reason: string]

/** A dependency of a task to compute: where to fetch it, and its task id for missing-data reports. */
export type DependencyLocation = [key: string, nbytes: number, holders: number[], task: number]

/** Run order: higher `user` first, then lower `generation`, then lower `order`. */
export type WirePriority = [user: number, generation: number, order: number]

/**
 * [task id, run id, key, payload, dependencies, priority], and `true` when no task depends on it
 * (only clients read its result: the worker may report it a little later, with others).
 */
export type WireCompute =
  | [task: number, run: number, key: string, payload: Uint8Array, deps: DependencyLocation[], priority: WirePriority]
  | [task: number, run: number, key: string, payload: Uint8Array, deps: DependencyLocation[], priority: WirePriority, sink: true]

/** [id, name, peer address, resources it declared (null: none)] */
export type WorkerInfo = [id: number, name: string, address: string, resources: Record<string, number> | null]

// ---------------------------------------------------------------- handshake
// Every connection starts with the server's challenge and the party's auth (see handshake.ts);
// a client or worker then says hello.
export type HelloClient = ['hello-client', name: string]
export type HelloWorker = ['hello-worker', name: string, slots: number, address: string, resources: Record<string, number> | null]
/** Reply to either hello: the id the scheduler gave this party. */
export type Welcome = ['welcome', id: number]

// ---------------------------------------------------------------- client -> scheduler
/**
 * graph: the native graph layout, MessagePack-encoded (passed to the core as is).
 * wanted: the keys the client wants, or (the client's fast path) their indices in the graph;
 * with indices the 'done' reply carries their task ids, which 'memory' messages then name.
 * That reply may wait (up to 5 ms) to travel with the next message to the client; it always
 * arrives before any message that names those ids.
 */
export type Submit = ['submit', request: number, graph: Uint8Array, wanted: string[] | Uint32Array]
export type Want = ['want', keys: string[]]
export type Release = ['release', keys: string[]]
/** Release by task id (from the submits' 'done' replies): no key crosses the wire again. */
export type ReleaseTasks = ['release-tasks', tasks: Uint32Array]
export type Cancel = ['cancel', keys: string[]]
/** Data the client already placed on workers: [key, worker id, nbytes]. */
export type Scattered = ['scattered', request: number, entries: [key: string, worker: number, nbytes: number][]]
/** Source of a shipped function, registered before the tasks that use it. */
export type RegisterFunction = ['fn', hash: string, source: string, name: string]
export type Heartbeat = ['heartbeat']
/**
 * Publishes a dataset: `keys` are held by the scheduler until it is unpublished, whoever
 * submitted them; `value` is the published structure, encoded with KeyRefs where the futures
 * were (the scheduler keeps it as bytes, never decodes it).
 */
export type PublishDataset = ['publish', request: number, name: string, keys: string[], value: Uint8Array, override: boolean]
export type UnpublishDataset = ['unpublish', request: number, name: string]
/** Answered with 'dataset' (the client then wants the keys) or an error (SKEIN_NO_SUCH_DATASET). */
export type GetDataset = ['get-dataset', request: number, name: string]
export type ListDatasets = ['list-datasets', request: number]
/** The scheduler holds these keys until each is done (in memory or erred), then lets them go. */
export type FireAndForget = ['fire-and-forget', keys: string[]]
/** Asks for `key`'s last transitions (its story in the core); answered with 'story'. */
export type StoryRequest = ['story', request: number, key: string]
/**
 * Client -> scheduler: send me (true) or stop sending me (false) the lines tasks print.
 * Scheduler -> worker: send (true) or stop sending (false) the lines your tasks print; a worker
 * sends none until told, and the scheduler tells it while any client wants them.
 */
export type ForwardLogs = ['forward-logs', on: boolean]

/**
 * Runs a function once on each worker (Dask's Client.run): `payload` is a task payload (function
 * reference + arguments, never decoded by the scheduler); `workers`: names, or null for every
 * live worker; `context`: the function gets a WorkerContext after its arguments; `timeoutMs`: 0
 * for no limit. Answered with 'run-results' (or an error).
 */
export type RunRequest = ['run', request: number, payload: Uint8Array, workers: string[] | null, context: boolean, timeoutMs: number]
/**
 * Copies data in memory to more workers (Dask's replicate): each key held by `n` of `workers`
 * (null: every live worker; n null: all of them); extra copies there are freed. Answered with
 * 'done' once every copy is made, or an error naming those that could not be.
 */
export type ReplicateRequest = ['replicate', request: number, keys: string[], n: number | null, workers: string[] | null]
/** Which workers hold each key; answered with 'who-has'. */
export type WhoHasRequest = ['who-has', request: number, keys: string[]]
/**
 * Asks for the runs that ended at or after `since` (ms since the epoch, the scheduler's clock; at
 * most MAX_TASK_STREAM_RUNS, the latest), and sets whether the scheduler records runs for this
 * client from now on (it records only while a client or dashboard page asks it to). Answered
 * with 'task-stream'.
 */
export type TaskStreamRequest = ['task-stream', request: number, since: number, record: boolean]
/**
 * Erred keys run again, with the erred inputs that made them err (Dask's `retry`); answered
 * with 'retried', naming every key taken back from erred (keys that did not err are passed over).
 */
export type Retry = ['retry', request: number, keys: string[]]

// ---------------------------------------------------------------- scheduler -> client
/** taskIds: for a submit whose wanted keys were given as indices, the task id of each, in order. */
export type Done = ['done', request: number] | ['done', request: number, taskIds: Uint32Array]
/**
 * Flat, by task id (from the submit's 'done'): [task, nbytes, holderCount, ...holders, task, ...].
 * `values`, when present: [task, encoded value, ...] for results small enough to come inline.
 */
export type InMemory = ['memory', entries: number[]] | ['memory', entries: number[], values: (number | Uint8Array)[]]
export type Erred = ['erred', entries: [key: string, causeKey: string, failure: WireFailure][]]
export type Cancelled = ['cancelled', keys: string[]]
/** Full list of live workers, sent on join and leave. */
export type Workers = ['workers', workers: WorkerInfo[]]
/** A published dataset for 'get-dataset': its structure, keys, and their task ids ('memory' messages name those). */
export type Dataset = ['dataset', request: number, value: Uint8Array, keys: string[], ids: Uint32Array]
export type DatasetNames = ['datasets', request: number, names: string[]]
/** One transition of a key: states and the stimulus that moved it, e.g. ['waiting', 'processing', 'task-finished']. */
export type StoryTransition = [from: string, to: string, stimulus: string]
/** A key's transitions, oldest first (bounded: the core keeps the last few per key); empty for an unknown key. */
export type Story = ['story', request: number, transitions: StoryTransition[]]
/** Lines tasks on worker `worker` (its name) printed, as it sent them; `dropped`: lines left out before these (bounds). */
export type ForwardedTaskOutput = ['task-output', worker: string, lines: TaskOutputLine[], dropped: number]
/** What a run function gets after its arguments when the client asks for it (`context: true`). */
export interface WorkerContext {
  /** The worker's name (the key of its result). */
  name: string
  /** The id the scheduler gave it. */
  id: number
  /** Its peer server's address. */
  address: string
  /** The keys whose data it holds (at most 100,000 of them). */
  keys: string[]
}

/** How a worker's run ended: returned (value bytes), raised (encoded RemoteFailure), left before answering, or gave no answer in time (reason). */
export const enum RunOutcome {
  Returned = 0,
  Raised = 1,
  WorkerLost = 2,
  TimedOut = 3,
}
export type RunResult =
  | [worker: string, outcome: RunOutcome.Returned | RunOutcome.Raised, bytes: Uint8Array]
  | [worker: string, outcome: RunOutcome.WorkerLost | RunOutcome.TimedOut, reason: string]
/** The answer to 'run': one result per worker it ran on. */
export type RunResults = ['run-results', request: number, results: RunResult[]]
/** The answer to 'who-has': per key asked, the names of the workers holding it (none for a key not in memory). */
export type WhoHasReply = ['who-has', request: number, holders: string[][]]
/**
 * Runs that ended: `runs` flat, [worker id, prefix id, start ms, end ms, erred (0/1), ...];
 * `prefixes`: prefix names by id; `workers`: [id, name, slots] of the workers they ran on;
 * `dropped`: runs in the window that were not kept; `now`: the scheduler's clock.
 */
export type TaskStream = ['task-stream', request: number, now: number, runs: Float64Array, prefixes: string[], workers: [id: number, name: string, slots: number][], dropped: number]
/** A 'task-stream' reply carries at most this many runs. */
export const MAX_TASK_STREAM_RUNS = 200_000
/** Reply to 'retry': the keys that went back from erred to be computed again. */
export type Retried = ['retried', request: number, keys: string[]]
/** To every client wanting them: these erred keys were taken back by a retry (anyone's) and run again. */
export type TaskRetried = ['task-retried', keys: string[]]
/** A request (or, with request -1, the connection) was refused. */
export type ErrorReply = ['error', request: number, code: string, message: string]

// ---------------------------------------------------------------- worker -> scheduler
/** events: the native worker-events layout, MessagePack-encoded (passed to the core as is). */
export type WorkerEvents = ['events', events: Uint8Array]
export type FunctionRequest = ['fn?', hash: string]
/** Bytes: values held in memory, values spilled to disk, the process's resident memory. */
export interface WorkerMemory {
  managed: number
  spilled: number
  process: number
}
/**
 * Since the worker's previous heartbeat: CPU use of its process (percent of one core); totals:
 * bytes its peer server sent and received; now: tasks on its execution threads and ready ones;
 * `transfers` (when any): the inputs it fetched since, [start ms, end ms (since the epoch, its
 * clock), bytes, ...], at most MAX_HEARTBEAT_TRANSFERS of them.
 */
export interface WorkerUsage {
  cpu: number
  sent: number
  received: number
  executing: number
  ready: number
  transfers?: number[]
}
export const MAX_HEARTBEAT_TRANSFERS = 200
/** A worker's heartbeat says how much memory it uses, and (since protocol 4) its usage (a client's carries nothing). */
export type WorkerHeartbeat = ['heartbeat', memory: WorkerMemory] | ['heartbeat', memory: WorkerMemory, usage: WorkerUsage]
/** This worker could not connect to worker `holder`'s peer server at all (the scheduler checks for itself). */
export type Unreachable = ['unreachable', holder: number, reason: string]
/** One line a task printed: when (ms since the epoch), at which level (console.log: info...), the task's key (null: none ran), the text. */
export type TaskOutputLine = [time: number, level: 'debug' | 'info' | 'warn' | 'error', key: string | null, line: string]
/** Lines this worker's tasks printed, sent while the scheduler asks for them ('forward-logs'); `dropped`: lines left out before these. */
export type TaskOutput = ['task-output', lines: TaskOutputLine[], dropped: number]
/** The outcome of 'run' `id` on this worker: its return value or its failure, encoded. */
export type RunDone = ['run-result', id: number, outcome: RunOutcome.Returned | RunOutcome.Raised, bytes: Uint8Array]
/** Copies fetched for 'replicate': per key, null once it is held here, or why it could not be had. */
export type Replicated = ['replicated', entries: [key: string, error: string | null][]]
/** The worker's process memory crossed its pause threshold (true: it starts no new task) or fell back under it (false). */
export type Paused = ['paused', paused: boolean]

// ---------------------------------------------------------------- scheduler -> worker
export type ComputeBatch = ['compute', tasks: WireCompute[]]
export type Free = ['free', keys: string[]]
/**
 * Give these tasks up if they have not started: for each, drop it and answer
 * [StealResponse, task, run, true], or keep it and answer false (running, done or unknown).
 * Sent after the batch's 'free' and 'compute'.
 */
export type Steal = ['steal', tasks: [task: number, run: number, key: string][]]
export type FunctionSource = ['fn', hash: string, source: string, name: string]
/** Run this payload once (see RunRequest) and answer 'run-result' `id`; `timeoutMs` 0: no limit. */
export type RunOnWorker = ['run', id: number, payload: Uint8Array, context: boolean, timeoutMs: number]
/** Fetch each key from one of its holders (worker ids) and keep it; answer 'replicated'. */
export type CopyReplicas = ['replicate', entries: [key: string, holders: number[]][]]

// ---------------------------------------------------------------- peer (worker server) <- worker or client
// Values larger than fit inline (see CHUNK_BYTES in chunks.ts) are announced by their size in
// 'data' and 'put', and their bytes follow in 'chunk' messages, each in a frame of its own.
export type Get = ['get', request: number, keys: string[]]
/**
 * values, per key: its encoded bytes; or its size in bytes, when its bytes follow in chunks;
 * or null when this worker does not hold it.
 */
export type Data = ['data', request: number, values: (Uint8Array | number | null)[]]
/** entries: [key, encoded bytes, or the size of a value whose bytes follow in chunks]. */
export type Put = ['put', request: number, entries: [key: string, value: Uint8Array | number][]]
export type PutDone = ['put-done', request: number, nbytes: number[]]
/**
 * Part of value `index` of the 'data' reply or 'put' `request`, at byte `offset` of it. A value's
 * chunks come in order, one after another, each in a frame of its own; other messages may come between.
 */
export type Chunk = ['chunk', request: number, index: number, offset: number, bytes: Uint8Array]

export type ClientToScheduler =
  | Auth
  | HelloClient
  | Submit
  | Want
  | Release
  | ReleaseTasks
  | Cancel
  | Scattered
  | RegisterFunction
  | Heartbeat
  | PublishDataset
  | UnpublishDataset
  | GetDataset
  | ListDatasets
  | FireAndForget
  | StoryRequest
  | ForwardLogs
  | RunRequest
  | ReplicateRequest
  | WhoHasRequest
  | TaskStreamRequest
  | Retry
export type SchedulerToClient =
  | Challenge
  | Authenticated
  | Welcome
  | Done
  | InMemory
  | Erred
  | Cancelled
  | Workers
  | ErrorReply
  | Dataset
  | DatasetNames
  | Story
  | ForwardedTaskOutput
  | RunResults
  | WhoHasReply
  | TaskStream
  | Retried
  | TaskRetried
export type WorkerToScheduler = Auth | HelloWorker | WorkerEvents | FunctionRequest | Heartbeat | WorkerHeartbeat | Paused | Unreachable | TaskOutput | RunDone | Replicated
export type SchedulerToWorker = Challenge | Authenticated | Welcome | ComputeBatch | Free | Steal | FunctionSource | Workers | ErrorReply | ForwardLogs | RunOnWorker | CopyReplicas
export type PeerRequest = Auth | Get | Put | Chunk
export type PeerReply = Challenge | Authenticated | Data | PutDone | Chunk | ErrorReply

/** Native worker-event tuples, encoded into WorkerEvents. */
export const enum WorkerEventKind {
  Finished = 0,
  Erred = 1,
  MissingData = 2,
  DataLost = 3,
  StealResponse = 4,
  /** The task was handed to an execution thread and is running there. */
  Executing = 5,
  /** The task ended the execution thread it ran on (exit, out of memory, crash); the worker lives on. */
  ExecutorDied = 6,
  /**
   * The task seceded from its slot: it waits for tasks it submitted (Dask's 'long-running'). It
   * runs on, but no longer counts against the worker's slots. Sent once per run.
   */
  LongRunning = 7,
}
export type NativeWorkerEvent =
  | [WorkerEventKind.Finished, task: number, run: number, nbytes: number, duration: number]
  | [WorkerEventKind.Finished, task: number, run: number, nbytes: number, duration: number, value: Uint8Array]
  | [WorkerEventKind.Erred, task: number, run: number, payload: Uint8Array]
  | [WorkerEventKind.MissingData, task: number, run: number, dep: number, holder: number]
  | [WorkerEventKind.MissingData, task: number, run: number, dep: number, holder: number, reason: string]
  | [WorkerEventKind.DataLost, task: number]
  | [WorkerEventKind.StealResponse, task: number, run: number, stolen: boolean]
  | [WorkerEventKind.Executing, task: number, run: number]
  | [WorkerEventKind.ExecutorDied, task: number, run: number]
  | [WorkerEventKind.LongRunning, task: number, run: number]

/**
 * A result whose encoding is at most this long rides with the worker's 'finished' event and the
 * scheduler's 'memory' message, so the client has it without asking the worker (one round trip
 * fewer). Larger results stay on the worker until fetched.
 */
export const INLINE_RESULT_MAX_BYTES = 1024

/** A 'task-output' message carries at most this many lines, each of at most MAX_TASK_OUTPUT_LINE_CHARS characters. */
export const MAX_TASK_OUTPUT_LINES = 1000
export const MAX_TASK_OUTPUT_LINE_CHARS = 8300
/** Bytes of one worker's answer to a run (its encoded value or failure); a larger value errs with SKEIN_VALUE_TOO_LARGE. */
export const MAX_RUN_RESULT_BYTES = 16 * 2 ** 20

/** Keys longer than this (UTF-8 bytes) are refused; the native core holds the same bound for graph keys. */
export const MAX_KEY_BYTES = 4096

/** Whether `key` is longer than MAX_KEY_BYTES in UTF-8 (measured only when its length in characters allows it). */
export function keyTooLong(key: string): boolean {
  return key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key) > MAX_KEY_BYTES
}

/**
 * Frames larger than this are refused (the connection is closed with a log line). Values
 * travel in frames of at most about CHUNK_BYTES (chunks.ts); a value's size is bounded by
 * the receiver instead: a worker's memory limit, a client's memory.
 */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024
