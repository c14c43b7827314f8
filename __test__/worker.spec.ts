/**
 * One real Worker against a fake scheduler and a fake peer, so each test says
 * exactly what the worker is told and sees exactly what it reports and fetches.
 */
import test from 'ava'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { MODULE, SHIPPED, encodeTaskPayload, type FunctionRef } from '../ts/graph/payload'
import { functionHash } from '../ts/graph/hash'
import { Channel, KeyRef, WorkerEventKind, decode, encode, type DependencyLocation, type WireCompute, type WirePriority } from '../ts/protocol'
import { Worker } from '../ts/worker'
import { acceptHandshake, RawConnection } from './helpers/raw'
import { sleep } from './helpers/processes'

type Message = unknown[]
type Event = unknown[]

const fixtures = path.join(__dirname, 'fixtures', 'resilience.mjs')
const add: FunctionRef = [MODULE, fixtures, 'add']
const nap: FunctionRef = [MODULE, fixtures, 'nap']

const WORKER_ID = 7
const PEER_ID = 8
/** A holder id no worker has. */
const NOBODY = 99

async function listen(): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  return wss
}

const addressOf = (wss: WebSocketServer) => `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`

/** Speaks the scheduler's side to one worker: welcomes it and collects its task events. */
class FakeScheduler {
  private channel: Channel<Message, Message> | null = null
  private readonly events: Event[] = []
  /** [Executing, task, run] reports. */
  readonly executing: Event[] = []
  private waiters: { match: (e: Event) => boolean; resolve: (e: Event) => void }[] = []
  /** What 'fn?' is answered with, by the hash asked for: [source, name]. */
  readonly sources = new Map<string, [source: string, name: string]>()

  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (socket: WebSocket) => {
      acceptHandshake(socket, 'worker', (channel, m) => this.receive(channel, m))
    })
  }

  static async start(): Promise<FakeScheduler> {
    return new FakeScheduler(await listen())
  }

  get address(): string {
    return addressOf(this.wss)
  }

  send(...messages: Message[]): void {
    for (const m of messages) this.channel!.send(m)
  }

  /** The first event (reported or to come) that matches. */
  event(match: (e: Event) => boolean, timeoutMs = 10_000): Promise<Event> {
    const i = this.events.findIndex(match)
    if (i !== -1) return Promise.resolve(this.events.splice(i, 1)[0])
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.events)}`)), timeoutMs)
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) })
    })
  }

  /** Every event reported for `task` so far. */
  eventsFor(task: number): Event[] {
    return this.events.filter((e) => e[1] === task)
  }

  close(): void {
    for (const socket of this.wss.clients) socket.terminate()
    this.wss.close()
  }

  private receive(channel: Channel<Message, Message>, m: Message): void {
    if (m[0] === 'hello-worker') {
      this.channel = channel
      channel.send(['welcome', WORKER_ID])
    } else if (m[0] === 'fn?') {
      const hash = m[1] as string
      const known = this.sources.get(hash)
      if (known) channel.send(['fn', hash, ...known])
      else channel.send(['error', -1, 'SKEIN_UNKNOWN_FUNCTION', `no source for ${hash}`])
    } else if (m[0] === 'events') {
      for (const e of decode(m[1] as Uint8Array) as Event[]) {
        // Which tasks are executing is timing, not outcome: kept apart.
        if (e[0] === WorkerEventKind.Executing) {
          this.executing.push(e)
          continue
        }
        const i = this.waiters.findIndex((w) => w.match(e))
        if (i === -1) this.events.push(e)
        else this.waiters.splice(i, 1)[0].resolve(e)
      }
    }
  }
}

/** A peer worker's server holding some keys; it can hold its answers back until told, and send values in chunks. */
class FakePeer {
  readonly requested: string[] = []
  /** Values longer than this are announced by size and sent in chunks of this many bytes. */
  chunkBytes = Infinity
  /** Sizes to announce for keys instead of their values (and then send nothing). */
  readonly announce = new Map<string, number>()
  private gate: Promise<void> = Promise.resolve()
  private openGate: () => void = () => {}

  private constructor(
    private readonly wss: WebSocketServer,
    private readonly data: Map<string, Uint8Array>,
  ) {
    wss.on('connection', (socket: WebSocket) => {
      acceptHandshake(socket, 'peer', (channel, m) => void this.serve(channel, m))
    })
  }

  static async start(data: Record<string, unknown>): Promise<FakePeer> {
    return new FakePeer(await listen(), new Map(Object.entries(data).map(([k, v]) => [k, encode(v)])))
  }

  get address(): string {
    return addressOf(this.wss)
  }

  holdAnswers(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve))
  }

  answer(): void {
    this.openGate()
  }

  close(): void {
    for (const socket of this.wss.clients) socket.terminate()
    this.wss.close()
  }

  private async serve(channel: Channel<Message, Message>, m: Message): Promise<void> {
    if (m[0] !== 'get') return
    const keys = m[2] as string[]
    this.requested.push(...keys)
    await this.gate
    const values = keys.map((k) => this.announce.get(k) ?? this.data.get(k) ?? null)
    channel.send(['data', m[1], values.map((v) => (v instanceof Uint8Array && v.byteLength > this.chunkBytes ? v.byteLength : v))])
    values.forEach((v, i) => {
      if (!(v instanceof Uint8Array) || v.byteLength <= this.chunkBytes) return
      for (let offset = 0; offset < v.byteLength; offset += this.chunkBytes) channel.send(['chunk', m[1], i, offset, v.subarray(offset, offset + this.chunkBytes)])
    })
  }
}

interface Setup {
  scheduler: FakeScheduler
  peer: FakePeer
  worker: Worker
  /** What the worker's own server answers to 'get' for these keys (decoded, or null). */
  holds(keys: string[]): Promise<unknown[]>
  close(): Promise<void>
}

async function setup(peerData: Record<string, unknown>, options: { memoryLimit?: number; slots?: number; log?: (line: string) => void } = {}): Promise<Setup> {
  const scheduler = await FakeScheduler.start()
  const peer = await FakePeer.start(peerData)
  const worker = await Worker.start({ scheduler: scheduler.address, log: () => {}, ...options })
  scheduler.send(['workers', [[WORKER_ID, 'worker', worker.address], [PEER_ID, 'peer', peer.address]]])
  const conn = await RawConnection.authenticated(worker.address, 'peer', null)
  let request = 0
  return {
    scheduler,
    peer,
    worker,
    async holds(keys) {
      const id = ++request
      conn.send(['get', id, keys])
      const reply = await conn.next((m) => m[0] === 'data' && m[1] === id)
      return (reply[2] as (Uint8Array | null)[]).map((v) => (v === null ? null : decode(v)))
    },
    async close() {
      conn.close()
      await worker.close()
      scheduler.close()
      peer.close()
    },
  }
}

function compute(task: number, run: number, key: string, fn: FunctionRef, args: unknown[], deps: DependencyLocation[] = [], priority: WirePriority = [0, 0, task]): WireCompute {
  return [task, run, key, encodeTaskPayload(fn, args), deps, priority]
}

const finished = (task: number, run: number) => (e: Event) => e[0] === WorkerEventKind.Finished && e[1] === task && e[2] === run
const valueOf = (e: Event) => decode(e[5] as Uint8Array)

test('a fetched input is used, then dropped; the result is held until freed', async (t) => {
  const s = await setup({ c: 41 })
  try {
    s.scheduler.send(['compute', [compute(1, 1, 'sum', add, [new KeyRef('c'), 1], [['c', 3, [PEER_ID], 2]])]])
    t.is(valueOf(await s.scheduler.event(finished(1, 1))), 42)
    t.deepEqual(s.peer.requested, ['c'])
    t.deepEqual(await s.holds(['sum', 'c']), [42, null], 'the copy of c went once its only task was done')
    s.scheduler.send(['free', ['sum']])
    await sleep(50)
    t.deepEqual(await s.holds(['sum']), [null])
  } finally {
    await s.close()
  }
})

test('an input sent in chunks is put together in order; one announced larger than the memory limit is refused, not allocated, and reported missing', async (t) => {
  const lines: string[] = []
  const s = await setup({ text: 'chunks '.repeat(10) }, { memoryLimit: 1e9, log: (line) => lines.push(line) })
  try {
    s.peer.chunkBytes = 16
    s.scheduler.send(['compute', [compute(1, 1, 'joined', add, [new KeyRef('text'), '!'], [['text', 73, [PEER_ID], 2]])]])
    t.is(valueOf(await s.scheduler.event(finished(1, 1))), `${'chunks '.repeat(10)}!`)
    s.peer.announce.set('huge', 2 ** 40)
    s.scheduler.send(['compute', [compute(3, 1, 'needs-huge', add, [new KeyRef('huge'), 1], [['huge', 2 ** 40, [PEER_ID], 4]])]])
    t.deepEqual(await s.scheduler.event((e) => e[0] === WorkerEventKind.MissingData), [
      WorkerEventKind.MissingData,
      3,
      1,
      4,
      PEER_ID,
      'the value of huge is 1099511627776 bytes; this side accepts values of at most 1000000000 bytes',
    ])
    t.true(lines.some((l) => /the value of huge is 1099511627776 bytes; this side accepts values of at most 1000000000 bytes \(this worker's memory limit\)/.test(l)), lines.join('\n'))
  } finally {
    await s.close()
  }
})

test('an input no holder can give: the task is reported missing and dropped, and its other inputs are not fetched', async (t) => {
  const s = await setup({ c: 1 })
  try {
    const deps: DependencyLocation[] = [
      ['gone', 3, [NOBODY], 2],
      ['c', 3, [PEER_ID], 3],
    ]
    s.scheduler.send(['compute', [compute(1, 1, 'needs-gone', add, [new KeyRef('gone'), new KeyRef('c')], deps)]])
    t.deepEqual(await s.scheduler.event((e) => e[0] === WorkerEventKind.MissingData), [WorkerEventKind.MissingData, 1, 1, 2, NOBODY])
    // The worker still computes what it is given afterwards.
    s.scheduler.send(['compute', [compute(4, 1, 'after', add, [1, 2])]])
    t.is(valueOf(await s.scheduler.event(finished(4, 1))), 3)
    await sleep(50)
    t.deepEqual(s.scheduler.eventsFor(1), [], 'nothing more about the dropped task')
    t.deepEqual(s.peer.requested, [], 'no fetch for a task already given up')
    t.deepEqual(await s.holds(['needs-gone', 'c']), [null, null])
  } finally {
    await s.close()
  }
})

test('a new run of a key replaces the waiting one, a freed waiting task says nothing, and their late input is not kept', async (t) => {
  const s = await setup({ c: 10 })
  try {
    s.peer.holdAnswers()
    const c: DependencyLocation = ['c', 3, [PEER_ID], 9]
    s.scheduler.send(['compute', [compute(1, 1, 'k', add, [new KeyRef('c'), 1], [c]), compute(2, 1, 'freed', add, [new KeyRef('c'), 2], [c])]])
    while (s.peer.requested.length === 0) await sleep(5)
    s.scheduler.send(['free', ['freed']], ['compute', [compute(1, 2, 'k', add, [2, 3])]])
    t.is(valueOf(await s.scheduler.event(finished(1, 2))), 5)
    s.peer.answer()
    await sleep(100)
    s.scheduler.send(['compute', [compute(3, 1, 'sentinel', add, [0, 0])]])
    await s.scheduler.event(finished(3, 1))
    t.deepEqual(s.scheduler.eventsFor(1), [], 'the first run of k never reports')
    t.deepEqual(s.scheduler.eventsFor(2), [], 'the freed task never reports')
    t.deepEqual(await s.holds(['k', 'c', 'freed']), [5, null, null])
  } finally {
    await s.close()
  }
})

test('an async task freed while it runs reports nothing and leaves nothing; a later run of its key does', async (t) => {
  const s = await setup({})
  try {
    s.scheduler.send(['compute', [compute(1, 1, 'slow', nap, [100, 'first'])]])
    await sleep(30)
    s.scheduler.send(['free', ['slow']])
    await sleep(150)
    t.deepEqual(s.scheduler.eventsFor(1), [])
    t.deepEqual(await s.holds(['slow']), [null])
    s.scheduler.send(['compute', [compute(1, 2, 'slow', nap, [1, 'second'])]])
    t.is(valueOf(await s.scheduler.event(finished(1, 2))), 'second')
    t.deepEqual(await s.holds(['slow']), ['second'])
  } finally {
    await s.close()
  }
})

test("ready tasks run in the scheduler's priority order, not in the order they came", async (t) => {
  const s = await setup({})
  try {
    s.scheduler.send([
      'compute',
      [
        compute(1, 1, 'late-in-graph', add, [1, 0], [], [0, 2, 9]),
        compute(2, 1, 'early-in-graph', add, [2, 0], [], [0, 2, 1]),
        compute(3, 1, 'older-graph', add, [3, 0], [], [0, 1, 50]),
        compute(4, 1, 'urgent', add, [4, 0], [], [5, 7, 7]),
      ],
    ])
    const order: number[] = []
    for (let i = 0; i < 4; i++) order.push((await s.scheduler.event((e) => e[0] === WorkerEventKind.Finished))[1] as number)
    t.deepEqual(order, [4, 3, 2, 1])
  } finally {
    await s.close()
  }
})

test('a payload with a bad timeoutMs errs that task with a clear message; the worker goes on', async (t) => {
  const s = await setup({})
  try {
    const bad: WireCompute = [1, 1, 'bad-timeout', encodeTaskPayload(add, [1, 2], { timeoutMs: 'soon' as unknown as number }), [], [0, 0, 1]]
    s.scheduler.send(['compute', [bad, compute(2, 1, 'after', add, [2, 3])]])
    const erred = await s.scheduler.event((e) => e[0] === WorkerEventKind.Erred && e[1] === 1)
    t.regex((decode(erred[3] as Uint8Array) as { message: string }).message, /timeoutMs option must be a positive number of milliseconds, not soon/)
    t.is(valueOf(await s.scheduler.event(finished(2, 1))), 5)
  } finally {
    await s.close()
  }
})

test('a shipped source that does not hash to the hash asked for errs its tasks with SKEIN_FUNCTION_HASH_MISMATCH, unrun; the worker goes on', async (t) => {
  const s = await setup({})
  try {
    const honest = '(x) => x + 1'
    const hash = functionHash(honest)
    s.scheduler.sources.set(hash, ['(x) => -1', 'inc'])
    const inc: FunctionRef = [SHIPPED, hash, 'inc']
    s.scheduler.send(['compute', [compute(1, 1, 'inc-a', inc, [1])]])
    const erred = await s.scheduler.event((e) => e[0] === WorkerEventKind.Erred && e[1] === 1)
    const failure = decode(erred[3] as Uint8Array) as { name: string; message: string; code?: string }
    t.like(failure, { name: 'FunctionHashMismatchError', code: 'SKEIN_FUNCTION_HASH_MISMATCH' })
    t.true(failure.message.includes(hash) && failure.message.includes('inc'), failure.message)
    // A later task of that hash fails the same way without the source being run; other functions run.
    s.scheduler.send(['compute', [compute(2, 1, 'inc-b', inc, [2]), compute(3, 1, 'sum', add, [2, 3])]])
    const again = await s.scheduler.event((e) => e[0] === WorkerEventKind.Erred && e[1] === 2)
    t.like(decode(again[3] as Uint8Array), { code: 'SKEIN_FUNCTION_HASH_MISMATCH' })
    t.is(valueOf(await s.scheduler.event(finished(3, 1))), 5)
  } finally {
    await s.close()
  }
})

test('a long task is reported executing while the other slot keeps sending outcomes (its report rides with theirs)', async (t) => {
  const s = await setup({}, { slots: 2 })
  try {
    const spinFn: FunctionRef = [MODULE, fixtures, 'spin']
    // Both threads import the module first (a slow first outcome would leave room for a report of
    // its own) and learn that these tasks take ~10 ms (so each thread is handed one at a time).
    s.scheduler.send(['compute', [compute(2, 1, 'warm-a', spinFn, ['', 0, 10]), compute(3, 1, 'warm-b', spinFn, ['', 0, 10])]])
    await Promise.all([s.scheduler.event(finished(2, 1)), s.scheduler.event(finished(3, 1))])
    s.scheduler.executing.length = 0
    // The long task takes one slot; short synchronous ones keep the other reporting outcomes every
    // ~10 ms from the start, so the executing report never waits on a quiet spell of its own.
    const shorts = Array.from({ length: 30 }, (_, i) => compute(10 + i, 1, `short-${i}`, spinFn, ['', i, 10]))
    s.scheduler.send(['compute', [compute(1, 1, 'long', spinFn, ['', 0, 1000]), ...shorts]])
    await s.scheduler.event(finished(39, 1))
    // Reported by the time the last short one ended, whether or not it has ended itself by then
    // (on a loaded machine the short ones may take longer): outcomes kept coming all along, so
    // only a report riding with theirs can have said it.
    t.true(
      s.scheduler.executing.some((e) => e[1] === 1 && e[2] === 1),
      `the long task was reported executing; executing reports: ${JSON.stringify(s.scheduler.executing)}`,
    )
    t.is(valueOf(await s.scheduler.event(finished(1, 1))), 0)
  } finally {
    await s.close()
  }
})
