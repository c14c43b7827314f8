import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import {
  checkOptions,
  checkTlsAddress,
  decode,
  encode,
  InvalidOptionsError,
  KeyRef,
  keyTooLong,
  MAX_KEY_BYTES,
  partyCredentials,
  SkeinError,
  partyTls,
  type ClientToScheduler,
  type Credentials,
  type OptionKind,
  type TaskStream,
  type ResolvedTls,
  type RunResult,
  type TlsOptions,
} from '../protocol'
import {
  DEPENDENCY,
  InvalidTaskError,
  ShippedFunction,
  Task,
  buildTask,
  callTemplate,
  functionHandle,
  type CallTemplate,
  type FunctionHandle,
  orderGraph,
  type Arg,
  type Args,
  type Fn,
  type ModuleFunction,
  type ResultOf,
  type TaskOptions,
} from '../graph'
import { AsCompleted } from './as-completed'
import { futuresIn, rebuild, withFutures, type Gathered } from './gather-structure'
import { UnplaceableWatch, type Needs, type UnplaceableWarning } from './unplaceable'
import { NewTasks } from './new-tasks'
import { wait, type DoneAndNotDone, type WaitOptions } from './wait'
import { SchedulerConnection, type Reply, type SchedulerEvent } from './connection'
import { CancelledError, ConnectionClosedError, NoWorkersError } from './errors'
import { failureError } from './failures'
import { deliver, Fetcher } from './fetcher'
import { Future, type FutureOwner } from './future'
import { whileWaiting } from './in-task'
import { BatchStream, type SubmitStream } from './batch-stream'
import { abandon, GraphStream, STREAM_THRESHOLD, type StreamSink, type Wanted } from './graph-stream'
import type { Gathering, KeyState } from './key-state'
import { KeyTable } from './key-table'
import { PeerPool, type WorkerDescription } from './peers'
import { scatterValues, type ScatterOptions } from './scatter'
import { Progress, PROGRESS_OPTIONS, type ProgressOptions } from './progress'
import { transitionsOf, type Transition } from './story'
import { createLogger, isLogOption, LOG_OPTION_EXPECTED, type LogOption, type LogRecord } from '../log'
import { ForwardedOutput } from './task-output'
import { runPayload, runResults, type RunOptions } from './run'
import { checkReplicateOptions, keysOf, type ReplicateOptions } from './replicate'
import type { RunError } from './errors'
import { performanceReport, type PerformanceReportOptions } from './performance-report'

const REPORT_OPTIONS: Record<keyof PerformanceReportOptions, OptionKind> = { title: 'string' }

export interface ClientOptions {
  /** Shown in the scheduler's logs; default `client-<host>-<pid>`. */
  name?: string
  /** Milliseconds to wait for the scheduler's welcome; default 10,000. */
  timeout?: number
  /**
   * When the scheduler at the address runs in this same process (a LocalCluster, or a Scheduler
   * this program started), talk to it directly instead of over TCP: same protocol, no system
   * calls. Default `true`; `false` always uses a WebSocket.
   */
  inProcess?: boolean
  /**
   * The cluster's token (see the scheduler's `token`). Default: for a scheduler this process
   * started, its token; else the SKEIN_TOKEN environment variable, else SKEIN_TOKEN_FILE; else none,
   * which only an insecure scheduler accepts.
   */
  token?: string
  /** Read the token from this file instead. */
  tokenFile?: string
  /**
   * TLS, for a wss:// scheduler and its workers: `ca` to verify their certificates against
   * (default: the system's CAs), and `cert` + `key` for servers that require client certificates
   * (mutual TLS). Default: for a scheduler this process started, its settings; else none.
   */
  tls?: TlsOptions
  /**
   * Have the lines tasks print (console.log...) on every worker sent to this client, as
   * `forwardLogs()` does. Default false.
   */
  forwardLogs?: boolean
  /**
   * Where forwarded task lines go when nothing listens to the client's 'log' event: a function
   * receiving `(msg, record)`, settings `{ level, destination, format }`, a pino logger, or false.
   * Default: stderr at SKEIN_LOG_LEVEL, else info.
   */
  log?: LogOption
}

/** Options of `submitWith`: key, purity and placement of the one task. */
export type SubmitOptions = TaskOptions

/** Options of `map`, applied to every task (a key per task makes no sense, so there is none). */
export type MapOptions = Omit<TaskOptions, 'key'>

/** The futures of a tuple of tasks. */
export type FuturesOf<T extends readonly Task[]> = { -readonly [K in keyof T]: T[K] extends Task<infer R> ? Future<R> : never }

/** The values of a tuple of futures. */
export type ValuesOf<T extends readonly Future[]> = { -readonly [K in keyof T]: T[K] extends Future<infer R> ? R : never }

const DEFAULT_TIMEOUT_MS = 10_000

/** A first guess of a map task's size in the graph: the graph grows past it if need be. */
const MAP_TASK_BYTES = 64

const invalidOptions = (message: string) => new InvalidOptionsError(message)

const CLIENT_OPTIONS: Record<keyof ClientOptions, OptionKind> = {
  name: 'string',
  timeout: 'number',
  inProcess: 'boolean',
  token: 'string',
  tokenFile: 'string',
  tls: 'object',
  forwardLogs: 'boolean',
  log: { test: isLogOption, expected: LOG_OPTION_EXPECTED },
}

/** Options of `publishDataset`. */
export interface PublishOptions {
  /** Replace a dataset published under the same name (default false: that is an error). */
  override?: boolean
}

const PUBLISH_OPTIONS: Record<keyof PublishOptions, OptionKind> = { override: 'boolean' }

const SCATTER_OPTIONS: Record<keyof ScatterOptions, OptionKind> = {
  workers: 'strings',
  hash: 'boolean',
  timeout: 'number',
  broadcast: 'boolean',
}

const RUN_OPTIONS: Record<keyof RunOptions, OptionKind> = {
  args: { test: Array.isArray, expected: 'an array' },
  workers: 'strings',
  onError: 'string',
  timeoutMs: 'number',
  context: 'boolean',
}

const REPLICATE_OPTIONS: Record<keyof ReplicateOptions, OptionKind> = { n: 'number', workers: 'strings' }

type WorkerWaiter = { count: number; resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout }

/**
 * A connection to a skein scheduler: submit work, get futures back.
 *
 * ```ts
 * const client = await Client.connect(cluster.address)
 * const total = client.submit((...v: number[]) => v.reduce((a, b) => a + b, 0), ...client.map(inc, [1, 2, 3]))
 * console.log(await total)
 * await client.close()
 * ```
 */
/** Shared [worker] arrays: most keys have one holder, and holder lists are replaced, never changed in place. */
const singleHolders: number[][] = []
function oneHolder(worker: number): number[] {
  return (singleHolders[worker] ??= [worker])
}

export class Client implements FutureOwner {
  private connection: SchedulerConnection | null = null
  private readonly peers: PeerPool
  private readonly keys = new KeyTable((keys, tasks) =>
    this.post(() => {
      if (keys.length > 0) this.connection?.send(['release', keys])
      if (tasks !== null) this.connection?.send(['release-tasks', tasks])
    }),
  )
  private readonly fetcher: Fetcher
  /**
   * A graph being sent as a sequence of submits (see GraphStream). While one is, every
   * other message that names keys waits in `queued`, in order: a later submit may
   * depend on a key the stream has not sent yet, and a release must not overtake
   * the submit of its key.
   */
  private streaming: SubmitStream | null = null
  private queued: (() => void)[] = []
  private sink: StreamSink | null = null
  private sinkConnection: SchedulerConnection | null = null
  /** Hashes of shipped functions already registered on this connection. */
  private readonly registered = new Set<string>()
  /** 'cancelled' replies still expected per key: they confirm our own cancel, not a new event. */
  private readonly cancelAcks = new Map<string, number>()
  private workerWaiters: WorkerWaiter[] = []
  private closedError: ConnectionClosedError | null = null
  /** Rotates scatter placement across calls. */
  private scatterCursor = 0
  private readonly events = new EventEmitter()
  private placementCheckQueued = false
  private readonly unplaceable = new UnplaceableWatch((warning) => this.warnUnplaceable(warning))
  private forwarded: ForwardedOutput | undefined

  private constructor(credentials: Credentials, tls: ResolvedTls | null) {
    this.peers = new PeerPool(credentials, tls)
    this.fetcher = new Fetcher(this.peers, (state) => this.post(() => this.connection?.send(['want', [state.key]])))
  }

  /** Connects to the scheduler at `address` (a `ws://host:port` or `wss://host:port` URL). */
  static async connect(address: string, options: ClientOptions = {}): Promise<Client> {
    checkOptions('Client.connect', options, CLIENT_OPTIONS, invalidOptions)
    const credentials = partyCredentials(options, address, 'Client.connect')
    const tls = partyTls(options.tls, address, 'Client.connect')
    checkTlsAddress(address, tls, 'Client.connect')
    const client = new Client(credentials, tls)
    client.forwarded = new ForwardedOutput(createLogger(options.log, 'Client.connect'), client.events)
    client.connection = await SchedulerConnection.open(
      address,
      options.name ?? `client-${hostname()}-${process.pid}`,
      credentials,
      tls,
      options.timeout ?? DEFAULT_TIMEOUT_MS,
      options.inProcess ?? true,
      (event) => client.receive(event),
      (error) => client.shutdown(error),
    )
    if (options.forwardLogs) client.forwardLogs()
    return client
  }

  /**
   * From now on (`on`, the default) or no longer, the lines tasks print with console.log and its
   * kin, on every worker, come to this client (Dask's forward_logging): each is a record with
   * the worker's name and the task's key, emitted as a 'log' event, or written through the
   * client's `log` when nothing listens. Bounded: each worker sends at most 1000 lines per
   * 100 ms, and the scheduler at most 5000 a second to each client; a record says how many were left out.
   */
  forwardLogs(on = true): void {
    this.post(() => this.connection?.send(['forward-logs', on]))
  }

  /** Runs `fn(...args)` on a worker. A Future or Task among the arguments (also inside arrays and objects) is a dependency. */
  submit<F extends Fn>(fn: F | ModuleFunction<F>, ...args: Args<F>): Future<ResultOf<F>> {
    return this.submitTasks([buildTask(fn, args, undefined)])[0] as Future<ResultOf<F>>
  }

  /** Like `submit`, with options: `client.submitWith({ key: 'total', priority: 10 }, sum, a, b)`. */
  submitWith<F extends Fn>(options: SubmitOptions, fn: F | ModuleFunction<F>, ...args: Args<F>): Future<ResultOf<F>> {
    return this.submitTasks([buildTask(fn, args, options)])[0] as Future<ResultOf<F>>
  }

  /** Runs `fn(item)` for every item, all sent as one graph. Returns one future per item, in order. */
  map<F extends Fn>(fn: F | ModuleFunction<F>, items: Iterable<Arg<Parameters<F>[0]>>, options?: MapOptions): Future<ResultOf<F>>[] {
    if (options !== undefined && 'key' in options) {
      throw new InvalidTaskError('map: option key is not allowed (every task needs its own key); use submitWith for a named task')
    }
    const list: readonly unknown[] = Array.isArray(items) ? items : Array.from(items)
    const tasks = new NewTasks(list.length, MAP_TASK_BYTES)
    // Plain items (numbers, short strings...) are written straight into the graph; others become Tasks.
    let template: CallTemplate | null | undefined
    let built: Task | null = null
    for (let i = 0; i < list.length; i++) {
      const item = list[i]
      if (template !== null && isPlainType(item)) {
        template ??= callTemplate(fn, options)
        if (template !== null && tasks.addCall(template, item)) continue
      }
      const task = buildTask(fn, [item], options)
      // An item holding a Task: the whole map is a graph to walk.
      if (!isIndependent(task)) return this.submitTasks(list.map((x) => buildTask(fn, [x], options))) as Future<ResultOf<F>>[]
      tasks.add(task)
      built ??= task
    }
    // Every task of a map has the same function and options.
    const shared: SharedByAll | null = template ?? built
    if (shared === null) {
      this.open()
      return []
    }
    return this.submitNew(tasks, null, shared) as Future<ResultOf<F>>[]
  }

  /** Submits a graph of tasks built with `task()`; returns a future per task given (not for the tasks upstream of them). */
  compute<T>(task: Task<T>): Future<T>
  compute<const T extends readonly Task[]>(tasks: T): FuturesOf<T>
  compute(tasks: Task | readonly Task[]): Future | Future[] {
    if (tasks instanceof Task) return this.submitTasks([tasks])[0]
    if (!Array.isArray(tasks)) throw new InvalidTaskError('compute: expected a Task or an array of Tasks (build them with task())')
    tasks.forEach((t, i) => {
      if (!(t instanceof Task)) throw new InvalidTaskError(`compute: element ${i} is not a Task (build tasks with task())`)
    })
    return this.submitTasks(tasks)
  }

  /**
   * Dask's name for starting a graph and keeping its results on the cluster: the same as
   * `compute`, which already returns futures without gathering.
   */
  persist<T>(task: Task<T>): Future<T>
  persist<const T extends readonly Task[]>(tasks: T): FuturesOf<T>
  persist(tasks: Task | readonly Task[]): Future | Future[] {
    return tasks instanceof Task ? this.compute(tasks) : this.compute(tasks)
  }

  /**
   * The value of a future, or of every future inside an array, plain object, Map or Set (at any
   * depth), in the same shape: `await client.gather({ a: fa, parts: [f1, f2] })`. Rejects with the
   * first error.
   */
  gather<T>(future: Future<T>): Promise<T>
  gather<const T extends readonly Future[]>(futures: T): Promise<ValuesOf<T>>
  gather<const T>(structure: T): Promise<Gathered<T>>
  gather(structure: unknown): Promise<unknown> {
    if (structure instanceof Future) return structure.result()
    if (Array.isArray(structure) && structure.every((f) => f instanceof Future)) return this.gatherList(structure as Future[])
    const futures = futuresIn(structure)
    return this.gatherList(futures).then((values) => rebuild(structure, values))
  }

  private gatherList(futures: readonly Future[]): Promise<unknown[]> {
    return whileWaiting(new Promise((resolve, reject) => new Gather(futures, resolve, reject, this.fetcher)))
  }

  /**
   * Waits for futures without fetching their values or throwing their errors; see `wait`:
   * `const { done, notDone } = await client.wait(futures, { returnWhen: 'FIRST_COMPLETED', timeout: 5000 })`.
   */
  wait<T>(futures: Iterable<Future<T>>, options?: WaitOptions): Promise<DoneAndNotDone<T>> {
    return wait(futures, options)
  }

  /**
   * Places each value on a worker (round-robin, or on the named `workers`)
   * and returns a future per value. Equal values share a key unless
   * `hash: false`.
   */
  async scatter<T>(values: readonly T[], options: ScatterOptions = {}): Promise<Future<T>[]> {
    checkOptions('scatter', options, SCATTER_OPTIONS, invalidOptions)
    const connection = this.open()
    await this.waitForWorkers(1, options.timeout ?? DEFAULT_TIMEOUT_MS)
    const start = this.scatterCursor
    this.scatterCursor += values.length
    const states = await scatterValues(values, options, start, {
      keys: this.keys,
      peers: this.peers,
      connection,
      hold: (state) => this.future(state),
    })
    return states as Future<T>[]
  }

  /** Cancels the tasks of these futures; every future of those keys rejects with CancelledError. */
  cancel(futures: Future | readonly Future[]): void {
    this.cancelStates((futures instanceof Future ? [futures] : futures).map((f) => f.state))
  }

  /**
   * Iterates over the futures as each finishes (or errs, or is cancelled), in that order:
   * `for await (const { future } of client.asCompleted(futures))`.
   */
  asCompleted<T>(futures: Iterable<Future<T>> = []): AsCompleted<T> {
    return new AsCompleted(futures)
  }

  /**
   * Progress of these futures: `for await (const { done, erred, total } of client.progress(futures))`
   * yields counts until every future is done (finished, erred, cancelled or lost), and
   * `await client.progress(futures)` waits for the last one. On a TTY (or with `bar: true`) it also
   * draws a progress bar on stderr.
   */
  progress(futures: Future | Iterable<Future>, options: ProgressOptions = {}): Progress {
    checkOptions('progress', options, PROGRESS_OPTIONS, invalidOptions)
    const list = futures instanceof Future ? [futures] : [...futures]
    for (const f of list) if (!(f instanceof Future)) throw invalidOptions(`progress: expected futures, got ${typeof f}`)
    return new Progress(list, options)
  }

  /**
   * `key`'s last transitions in the scheduler, oldest first: `[{ from: 'waiting', to: 'processing',
   * stimulus: 'submit-graph' }, ...]` (the scheduler keeps the last 16 per key). Empty for a key the
   * scheduler does not know (never submitted, or forgotten).
   */
  async story(key: string | Future): Promise<Transition[]> {
    const name = key instanceof Future ? key.key : key
    if (typeof name !== 'string') throw invalidOptions(`story: expected a key (string) or a future, got ${typeof name}`)
    if (keyTooLong(name)) throw new SkeinError('SKEIN_KEY_TOO_LONG', `story: a key of ${Buffer.byteLength(name)} bytes ('${name.slice(0, 40)}...'): keys are at most ${MAX_KEY_BYTES} bytes`)
    const connection = this.open()
    let transitions: Transition[] = []
    await this.requestInOrder(connection, (request) => ['story', request, name], (reply) => {
      if (reply[0] === 'story') transitions = transitionsOf(reply[2])
    })
    return transitions
  }

  /**
   * Runs `fn(...args)` once on every worker (or on the named `workers`), outside the task
   * graph, on a thread of its own there, and resolves with each worker's value keyed by worker
   * name (Dask's `Client.run`): `await client.run(() => process.pid)`. Async functions are
   * awaited. With `context: true` the function also gets a WorkerContext after its arguments.
   * A failure rejects with a RunError naming the worker, or with `onError: 'return'` is that
   * worker's entry.
   */
  run<F extends Fn>(fn: F | ModuleFunction<F>, options?: RunOptions & { onError?: 'raise' }): Promise<Record<string, Awaited<ReturnType<F>>>>
  run<F extends Fn>(fn: F | ModuleFunction<F>, options: RunOptions & { onError: 'return' }): Promise<Record<string, Awaited<ReturnType<F>> | RunError>>
  async run(fn: Fn | ModuleFunction, options: RunOptions = {}): Promise<Record<string, unknown>> {
    checkOptions('run', options, RUN_OPTIONS, invalidOptions)
    const handle = functionHandle(fn)
    const payload = runPayload(handle, options)
    const connection = this.open()
    if (handle instanceof ShippedFunction) this.registerFunctions(connection, [handle])
    let answers: RunResult[] = []
    await this.requestInOrder(
      connection,
      (request) => ['run', request, payload, options.workers === undefined ? null : [...options.workers], options.context === true, options.timeoutMs ?? 0],
      (reply) => {
        if (reply[0] === 'run-results') answers = reply[2]
      },
    )
    return runResults(answers, options.onError ?? 'raise')
  }

  /**
   * Copies the values of these futures to more workers, so that each is held by `n` of them
   * (default: every worker, or every worker of `workers`), as Dask's `replicate`: tasks then
   * find their inputs nearby, and a value outlives the loss of all but one of its holders.
   * With `n` below the current number of copies (on `workers`, if given), the extra copies are
   * dropped. Waits for the futures to finish first; rejects with their error if one failed,
   * or with SKEIN_REPLICATE_FAILED naming copies that could not be made.
   */
  async replicate(futures: Future | Iterable<Future>, options: ReplicateOptions = {}): Promise<void> {
    checkOptions('replicate', options, REPLICATE_OPTIONS, invalidOptions)
    checkReplicateOptions(options)
    const list = futures instanceof Future ? [futures] : [...futures]
    const keys = await keysOf(list, 'replicate')
    if (keys.length === 0) return
    const connection = this.open()
    await this.requestInOrder(connection, (request) => ['replicate', request, keys, options.n ?? null, options.workers === undefined ? null : [...options.workers]])
  }

  /**
   * The names of the workers holding each future's value, keyed by key (Dask's `who_has`); a
   * key not in memory (still running, erred, released) has none.
   */
  async whoHas(futures: Future | Iterable<Future>): Promise<Record<string, string[]>> {
    const list = futures instanceof Future ? [futures] : [...futures]
    for (const f of list) if (!(f instanceof Future)) throw invalidOptions(`whoHas: expected futures, got ${typeof f}`)
    const keys = [...new Set(list.map((f) => f.key))]
    const connection = this.open()
    const holders: Record<string, string[]> = {}
    await this.requestInOrder(connection, (request) => ['who-has', request, keys], (reply) => {
      if (reply[0] === 'who-has') keys.forEach((key, i) => (holders[key] = reply[2][i] ?? []))
    })
    return holders
  }

  /**
   * Runs `work` and writes a performance report of what the cluster did meanwhile to `path`: one
   * self-contained HTML file (open it in any browser, no server needed) with the task stream
   * (every run that ended, per worker slot, coloured by task prefix), the time spent per prefix
   * and how busy each worker was; as Dask's `performance_report`. Resolves with what `work`
   * returned; when it throws, the report is still written and the error thrown after.
   */
  async performanceReport<T>(path: string, work: () => T | Promise<T>, options: PerformanceReportOptions = {}): Promise<T> {
    if (typeof path !== 'string' || path.length === 0) throw invalidOptions('performanceReport: expected a file path (a non-empty string)')
    if (typeof work !== 'function') throw invalidOptions(`performanceReport: expected a function to run, got ${typeof work}`)
    checkOptions('performanceReport', options, REPORT_OPTIONS, invalidOptions)
    const fetch = (since: number, record: boolean) => {
      const connection = this.open()
      let reply: TaskStream | undefined
      return this.requestInOrder(connection, (request) => ['task-stream', request, since, record], (r) => {
        if (r[0] === 'task-stream') reply = r
      }).then(() => reply!)
    }
    return performanceReport(fetch, path, work, options)
  }

  /**
   * Runs erred futures' tasks again (Dask's `client.retry`): each erred task, with the erred
   * tasks upstream that made it err, goes back to be computed; erred tasks downstream of those
   * follow. Resolves once the scheduler has taken them back: awaiting the futures then waits
   * for the new runs. Futures that did not err are passed over. A task erred because
   * scattered data was lost stays erred (there is nothing to compute it from).
   */
  async retry(futures: Future | Iterable<Future>): Promise<void> {
    const list = futures instanceof Future ? [futures] : [...futures]
    for (const f of list) if (!(f instanceof Future)) throw invalidOptions(`retry: expected futures, got ${typeof f}`)
    const keys = [...new Set(list.filter((f) => f.status === 'error').map((f) => f.key))]
    if (keys.length === 0) return
    const connection = this.open()
    await this.requestInOrder(connection, (request) => ['retry', request, keys], (reply) => {
      if (reply[0] !== 'retried') return
      for (const key of reply[2]) this.keys.get(key)?.retried()
    })
  }

  /** Resolves once at least `count` workers are connected; rejects with NoWorkersError after `timeoutMs`. */
  waitForWorkers(count = 1, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError)
    if (this.peers.list().length >= count) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.workerWaiters = this.workerWaiters.filter((w) => w !== waiter)
        reject(new NoWorkersError(`${this.peers.list().length} of ${count} workers joined within ${timeoutMs} ms`))
      }, timeoutMs)
      const waiter: WorkerWaiter = { count, resolve, reject, timer }
      this.workerWaiters.push(waiter)
    })
  }

  /** The workers connected to the scheduler, as last reported. */
  get workers(): readonly WorkerDescription[] {
    return this.peers.list()
  }

  /** Closes the connections; futures not yet fetched reject with ConnectionClosedError. */
  async close(): Promise<void> {
    await this.connection?.close()
  }

  /**
   * Publishes `value` (a future, or any structure of them: arrays, plain objects, Maps, Sets)
   * under `name`. The scheduler holds its keys until `unpublishDataset`, whoever submitted them
   * and whether or not that client is still connected; any client can `getDataset(name)`.
   * Rejects with SchedulerError `SKEIN_DATASET_EXISTS` if the name is taken, unless `override`.
   */
  publishDataset(name: string, value: unknown, options: PublishOptions = {}): Promise<void> {
    try {
      checkOptions('publishDataset', options, PUBLISH_OPTIONS, invalidOptions)
      const futures = futuresIn(value)
      const keys = futures.map((f) => f[DEPENDENCY]())
      const encoded = encode(rebuild(value, keys.map((k) => new KeyRef(k))))
      const connection = this.open()
      return this.requestInOrder(connection, (request) => ['publish', request, name, keys, encoded, options.override ?? false])
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The structure published as `name`, with futures of this client for its keys. Rejects with SchedulerError `SKEIN_NO_SUCH_DATASET`. */
  async getDataset<T = unknown>(name: string): Promise<T> {
    const connection = this.open()
    let value: unknown
    await this.requestInOrder(connection, (request) => ['get-dataset', request, name], (reply) => {
      if (reply[0] !== 'dataset') return
      const [, , bytes, keys, ids] = reply
      // Now, before the messages that follow the reply: they may report these keys in memory.
      const byKey = new Map<string, Future>()
      keys.forEach((key, i) => {
        const state = this.keys.get(key) ?? this.keys.create(key)
        if (ids[i] !== 0xffffffff) this.keys.bindId(state, ids[i])
        byKey.set(key, this.future(state))
      })
      value = withFutures(decode(bytes), (key) => byKey.get(key) ?? this.future(this.keys.get(key) ?? this.keys.create(key)))
    })
    return value as T
  }

  /** The names of the published datasets. */
  async listDatasets(): Promise<string[]> {
    const connection = this.open()
    let names: string[] = []
    await this.requestInOrder(connection, (request) => ['list-datasets', request], (reply) => {
      if (reply[0] === 'datasets') names = reply[2]
    })
    return names
  }

  /** Stops holding the keys of dataset `name` for it (they go once nobody else wants them). */
  unpublishDataset(name: string): Promise<void> {
    try {
      const connection = this.open()
      return this.requestInOrder(connection, (request) => ['unpublish', request, name])
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Lets these tasks (futures, or any structure of them) run to the end even when no future of
   * theirs is left anywhere: the scheduler holds them until each is done, then lets them go
   * (Dask's `fire_and_forget`). For work done for its effects.
   */
  fireAndForget(futures: unknown): void {
    const keys = futuresIn(futures).map((f) => f[DEPENDENCY]())
    const connection = this.open()
    this.post(() => connection.send(['fire-and-forget', keys]))
  }

  /** A request sent after what this client sent before it (a graph still streaming included). */
  private requestInOrder(connection: SchedulerConnection, build: (request: number) => ClientToScheduler, onReply?: (reply: Reply) => void): Promise<void> {
    return new Promise((resolve, reject) => this.post(() => connection.request(build, onReply).then(resolve, reject)))
  }

  /**
   * 'unplaceable': a task of this client has restrictions or resources that no connected worker
   * satisfies (it waits, pending, for such a worker to join; `future.unplaceable` says why).
   * With no listener, the warning goes to `process.emitWarning` (stderr).
   */
  on(event: 'unplaceable', listener: (warning: UnplaceableWarning) => void): this
  /** 'log': a line a task printed, forwarded (see `forwardLogs`); with a listener, it is not written to the client's log. */
  on(event: 'log', listener: (record: LogRecord) => void): this
  on(event: 'unplaceable' | 'log', listener: (value: UnplaceableWarning & LogRecord) => void): this {
    this.events.on(event, listener)
    return this
  }

  off(event: 'unplaceable', listener: (warning: UnplaceableWarning) => void): this
  off(event: 'log', listener: (record: LogRecord) => void): this
  off(event: 'unplaceable' | 'log', listener: (value: UnplaceableWarning & LogRecord) => void): this {
    this.events.off(event, listener)
    return this
  }

  private watchPlacement(state: KeyState, needs: Needs): void {
    this.unplaceable.watch(state, needs)
    // After this turn's submits: the check looks at the workers as the client knows them now.
    if (!this.placementCheckQueued) {
      this.placementCheckQueued = true
      queueMicrotask(() => {
        this.placementCheckQueued = false
        this.unplaceable.check(this.peers.list())
      })
    }
  }

  private warnUnplaceable(warning: UnplaceableWarning): void {
    if (this.events.listenerCount('unplaceable') > 0) this.events.emit('unplaceable', warning)
    else process.emitWarning(`skein: task '${warning.key}' waits for a worker that can run it: ${warning.reason}`, { code: 'SKEIN_UNPLACEABLE' })
  }

  /** `await using client = await Client.connect(address)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** @internal */
  resultOf(state: KeyState): Promise<unknown> {
    // `await client.submit(f)` drops the Future at once; the await itself must keep the key until the value is here.
    if (!state.awaited && !state.hasValue && state.error === null && state.attached) {
      this.keys.pin(state)
      state.onResolved = () => this.keys.unpin(state)
    }
    // Inside a task, the task gives up its slot while it waits.
    return whileWaiting(state.awaitResult((s) => this.fetcher.fetch(s)))
  }

  /** @internal */
  cancelStates(states: KeyState[]): void {
    const connection = this.open()
    const keys: string[] = []
    for (const state of states) {
      if (!state.attached) continue
      this.keys.detach(state)
      state.drop(new CancelledError(state.key), 'cancelled')
      this.cancelAcks.set(state.key, (this.cancelAcks.get(state.key) ?? 0) + 1)
      keys.push(state.key)
    }
    if (keys.length > 0) this.post(() => connection.send(['cancel', keys]))
  }

  /** @internal */
  letGo(future: Future, state: KeyState): void {
    this.keys.letGo(future, state)
  }

  private future(state: KeyState): Future {
    const future = new Future(state, this)
    this.keys.hold(future, state)
    return future
  }

  private submitTasks(roots: readonly Task[]): Future[] {
    if (roots.every(isIndependent)) return this.submitIndependent(roots)
    const connection = this.open()
    const order = orderGraph(roots, (key) => this.keys.has(key))
    const created: KeyState[] = []
    const wanted: Wanted[] = []
    const futures: Future[] = new Array(roots.length)
    let sorted = true
    for (let i = 0; i < roots.length; i++) {
      let state = this.keys.get(roots[i].key)
      if (state === undefined) {
        state = this.keys.create(roots[i].key)
        created.push(state)
        if (roots[i].restrictions !== null || roots[i].resources !== null) this.watchPlacement(state, roots[i])
        const position = roots[i].position
        if (wanted.length > 0 && position < wanted[wanted.length - 1].position) sorted = false
        wanted.push({ state, position })
      }
      futures[i] = this.future(state)
    }
    if (!sorted) wanted.sort((a, b) => a.position - b.position)
    this.registerFunctions(connection, order.functions)
    if (order.tasks.length > 0) {
      const stream = new GraphStream(order, wanted, created, this.streamSink(connection))
      this.post(() => this.startStream(stream))
    }
    return futures
  }

  /** Tasks with no Task upstream and derived keys (submit, compute): no graph walk. */
  private submitIndependent(roots: readonly Task[]): Future[] {
    const tasks = new NewTasks(roots.length, roots.length === 0 ? 0 : roots[0].payload.length + 64)
    for (const root of roots) tasks.add(root)
    return this.submitNew(tasks, roots, null)
  }

  /**
   * Submits the tasks of `tasks` whose keys this client does not hold yet, in order (the key
   * table dedupes them, so the graph holds exactly the new ones); a future per task. Function and
   * placement needs come from `roots[i]`, or from `shared` when every task has the same (a map).
   */
  private submitNew(tasks: NewTasks, roots: readonly Task[] | null, shared: SharedByAll | null): Future[] {
    const connection = this.open()
    const n = tasks.count
    const keys = tasks.keys
    const created: KeyState[] = []
    const futures: Future[] = new Array(n)
    // Which tasks go in the graph: made when the first task whose key is held already turns up.
    let kept: Uint8Array | null = null
    let lastFn: unknown = null
    for (let i = 0; i < n; i++) {
      let state = this.keys.get(keys[i])
      if (state === undefined) {
        state = this.keys.create(keys[i])
        created.push(state)
        const needs = roots !== null ? roots[i] : shared!
        if (needs.restrictions !== null || needs.resources !== null) this.watchPlacement(state, needs)
        const fn = needs.fn
        if (fn !== lastFn && fn instanceof ShippedFunction) {
          lastFn = fn
          if (!this.registered.has(fn.hash)) {
            this.registered.add(fn.hash)
            connection.send(['fn', fn.hash, fn.source, fn.name])
          }
        }
        if (kept !== null) kept[i] = 1
      } else if (kept === null) {
        kept = new Uint8Array(n)
        kept.fill(1, 0, i)
      }
      futures[i] = this.future(state)
    }
    if (created.length === 0) return futures
    const { graph, ends } = tasks.graph(kept)
    const sink = this.streamSink(connection)
    if (created.length > STREAM_THRESHOLD) {
      const stream = new BatchStream(graph, ends, created, sink)
      this.post(() => this.startStream(stream))
    } else {
      const indices = new Uint32Array(created.length)
      for (let i = 0; i < indices.length; i++) indices[i] = i
      this.post(() => {
        sink.submit(graph, indices, created).catch((error: Error) => abandon(created, error, sink))
      })
    }
    return futures
  }

  private registerFunctions(connection: SchedulerConnection, functions: readonly ShippedFunction[]): void {
    for (const fn of functions) {
      if (this.registered.has(fn.hash)) continue
      this.registered.add(fn.hash)
      connection.send(['fn', fn.hash, fn.source, fn.name])
    }
  }

  private streamSink(connection: SchedulerConnection): StreamSink {
    if (this.sink !== null && this.sinkConnection === connection) return this.sink
    this.sinkConnection = connection
    return (this.sink = {
      holds: (key) => this.keys.has(key),
      // Wanted keys go as indices into the graph and come back as task ids: no key crosses twice.
      submit: (graph, wanted, states) =>
        connection.request(
          (request) => ['submit', request, graph, wanted],
          (done) => {
            const ids = done[0] === 'done' ? done[2] : undefined
            if (ids !== undefined) for (let i = 0; i < states.length; i++) this.keys.bindId(states[i], ids[i])
          },
        ),
      release: (keys) => {
        if (connection.isOpen) connection.send(['release', keys])
      },
      detach: (state) => this.keys.detach(state),
    })
  }

  /** Runs `action` now, or after the graph being streamed and whatever queued before it. */
  private post(action: () => void): void {
    if (this.streaming === null && this.queued.length === 0) action()
    else this.queued.push(action)
  }

  /** Sends the first submit of `stream` now and the rest one per turn; queued messages follow. */
  private startStream(stream: SubmitStream): void {
    stream.sendChunk()
    if (stream.done) return
    this.streaming = stream
    const step = () => {
      if (this.streaming !== stream) return
      stream.sendChunk()
      if (!stream.done) {
        setImmediate(step)
        return
      }
      this.streaming = null
      this.drain()
    }
    setImmediate(step)
  }

  private drain(): void {
    let i = 0
    while (this.streaming === null && i < this.queued.length) this.queued[i++]()
    this.queued = this.queued.slice(i)
  }

  private receive(event: SchedulerEvent): void {
    switch (event[0]) {
      case 'memory': {
        // Small results come inline: [task id, encoded value] pairs. Taken first, so no fetch starts for them.
        const values = event[2]
        if (values !== undefined) {
          for (let i = 0; i + 1 < values.length; i += 2) {
            const state = this.keys.getById(values[i] as number)
            if (state === undefined || state.hasValue || state.error !== null) continue
            deliver(state, values[i + 1] as Uint8Array, 'the scheduler')
          }
        }
        // Flat: [task id, nbytes, holder count, ...holders] per key.
        const entries = event[1]
        for (let i = 0; i < entries.length; ) {
          const state = this.keys.getById(entries[i])
          const nbytes = entries[i + 1]
          const count = entries[i + 2]
          i += 3 + count
          if (state === undefined) continue
          state.located(nbytes, count === 1 ? oneHolder(entries[i - 1]) : entries.slice(i - count, i))
          if (state.awaited && !state.hasValue && !state.fetching && state.error === null) this.fetcher.fetch(state)
        }
        return
      }
      case 'erred':
        for (const [key, causeKey, failure] of event[1]) {
          const state = this.keys.get(key)
          if (state === undefined) continue
          if (failure[0] === 2) state.drop(failureError(key, causeKey, failure), 'lost')
          else if (!state.hasValue) state.fail(failureError(key, causeKey, failure), 'error')
        }
        return
      case 'cancelled':
        for (const key of event[1]) this.cancelled(key)
        return
      case 'task-retried':
        for (const key of event[1]) this.keys.get(key)?.retried()
        return
      case 'workers':
        this.peers.setWorkers(event[1])
        this.wakeWorkerWaiters()
        this.unplaceable.check(this.peers.list())
        return
      case 'task-output':
        this.forwarded?.receive(event[1], event[2], event[3])
        return
    }
  }

  private cancelled(key: string): void {
    const acks = this.cancelAcks.get(key) ?? 0
    if (acks > 0) {
      if (acks === 1) this.cancelAcks.delete(key)
      else this.cancelAcks.set(key, acks - 1)
      return
    }
    const state = this.keys.get(key)
    if (state === undefined) return
    this.keys.detach(state)
    state.drop(new CancelledError(key), 'cancelled')
  }

  private wakeWorkerWaiters(): void {
    const count = this.peers.list().length
    this.workerWaiters = this.workerWaiters.filter((waiter) => {
      if (count < waiter.count) return true
      clearTimeout(waiter.timer)
      waiter.resolve()
      return false
    })
  }

  private open(): SchedulerConnection {
    if (this.closedError) throw this.closedError
    return this.connection!
  }

  private shutdown(error: ConnectionClosedError): void {
    this.closedError = error
    this.streaming = null
    this.queued = []
    this.keys.close()
    this.peers.closeAll()
    for (const state of this.keys.values()) {
      if (!state.hasValue) state.fail(error, 'error')
    }
    for (const waiter of this.workerWaiters) {
      clearTimeout(waiter.timer)
      waiter.reject(error)
    }
    this.workerWaiters = []
  }
}

/**
 * One gather of many futures: one promise, and each key not yet here points at
 * this object (no promise, closure or pin per key). It keeps the futures
 * alive until it settles, so their keys stay; it rejects with the first error.
 */
class Gather implements Gathering {
  private values: unknown[]
  private remaining: number
  // Never read: holding the futures keeps them (and so their keys) from being collected until this settles.
  private futures: readonly Future[] | null

  constructor(
    futures: readonly Future[],
    private resolve: ((values: unknown[]) => void) | null,
    private readonly reject: (error: unknown) => void,
    fetcher: Fetcher,
  ) {
    const n = futures.length
    this.values = new Array(n)
    this.remaining = n
    this.futures = futures
    for (let i = 0; i < n && this.resolve !== null; i++) {
      const future = futures[i]
      const state = future.state
      if (state.hasValue) {
        this.deliver(i, state.value)
      } else if (future.isReleased || state.error !== null || state.gathering !== null || state.hasPromise) {
        // Rare: the future's own promise (which also reports a released future).
        future.then((value) => this.deliver(i, value), (error) => this.fail(error as Error))
      } else {
        state.gathering = this
        state.gatheringIndex = i
        if (state.status === 'finished' && !state.fetching) fetcher.fetch(state)
      }
    }
    if (n === 0) this.finish()
  }

  deliver(index: number, value: unknown): void {
    if (this.resolve === null) return
    this.values[index] = value
    if (--this.remaining === 0) this.finish()
  }

  fail(error: Error): void {
    if (this.resolve === null) return
    this.resolve = null
    this.futures = null
    this.reject(error)
  }

  private finish(): void {
    const resolve = this.resolve
    if (resolve === null) return
    this.resolve = null
    this.futures = null
    resolve(this.values)
  }
}

/** What every task of a map has in common: its function and placement needs. */
type SharedByAll = Needs & { fn: FunctionHandle }

/** The types of value a map writes straight into its graph (see writePlainValue). */
function isPlainType(item: unknown): boolean {
  const t = typeof item
  return t === 'number' || t === 'string' || t === 'boolean' || item === null
}

function isIndependent(task: Task): boolean {
  return task.upstream.length === 0 && !task.explicitKey
}
