/**
 * Authentication, versioned handshakes and the limits on strangers: every
 * kind of connection (client, worker, peer) is refused without the token,
 * with a clear error, while a well-behaved client keeps its round trips.
 */
import test from 'ava'
import { randomBytes } from 'node:crypto'
import net, { type AddressInfo } from 'node:net'
import os from 'node:os'
import WebSocket, { WebSocketServer } from 'ws'
import { Client, LocalCluster, Scheduler, Worker } from '../ts/index'
import { Channel, encode, PROTOCOL_VERSION, type WireTask } from '../ts/protocol'
import { RawClient, RawConnection, shipped, task } from './helpers/raw'
import { peerStub } from './helpers/peer-stub'
import { eventually, sleep } from './helpers/processes'

const WRONG_TOKEN = 'not-the-cluster-token-0123456789'

/** A plain `ws` socket, as an attacker without skein would open one; resolves on open, or with the HTTP status it was refused with. */
function rawSocket(address: string, headers: Record<string, string> = {}): Promise<{ socket: WebSocket } | { status: number }> {
  const socket = new WebSocket(address, { headers, perMessageDeflate: false })
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket }))
    socket.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 })
      socket.terminate()
    })
    socket.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err)
    })
  })
}

/**
 * Opens a WebSocket by hand (raw TCP), sends a binary frame header announcing `announced` bytes
 * and then `sent` bytes of it; resolves 'closed' when the server cuts the connection.
 */
function unfinishedFrame(port: number, announced: number, sent: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let upgraded = false
    socket.on('data', (chunk) => {
      if (upgraded || !chunk.toString('latin1').startsWith('HTTP/1.1 101')) return
      upgraded = true
      const header = Buffer.alloc(14)
      header[0] = 0x82 // final frame, binary
      header[1] = 0x80 | 127 // masked, 64-bit length follows
      header.writeBigUInt64BE(BigInt(announced), 2)
      // A zero mask: the payload goes as is.
      socket.write(header)
      socket.write(Buffer.alloc(sent))
    })
    socket.on('close', () => resolve(upgraded ? 'closed' : 'refused before the upgrade'))
    socket.on('error', () => {})
    socket.setTimeout(20_000, () => reject(new Error('the server kept the unfinished frame open')))
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
  })
}

/** The honest party's round trip, logged (never asserted on: machines are noisy). */
async function roundTrip(t: { log: (...v: unknown[]) => void; is: (a: unknown, b: unknown) => void }, client: Client, what: string): Promise<void> {
  const start = performance.now()
  t.is(await client.submit((a: number, b: number) => a + b, 20, 22), 42)
  t.log(`${what}: honest round trip ${(performance.now() - start).toFixed(2)} ms`)
}

test('without the token no client, worker or raw socket gets in, and nothing runs; with it everything works', async (t) => {
  const log: string[] = []
  const cluster = await LocalCluster.start({ workers: 2, log: () => {}, scheduler: { log: (line) => log.push(line) } })
  try {
    const token = cluster.scheduler.token!
    t.is(typeof token, 'string')
    const honest = await Client.connect(cluster.address)
    await roundTrip(t, honest, 'before')

    // A browser page on another Origin is refused before any WebSocket exists.
    t.deepEqual(await rawSocket(cluster.address, { Origin: 'https://evil.example' }), { status: 403 })

    // A raw socket that skips the handshake and submits at once: refused and closed, the task never seen.
    const sum = shipped('sum', (a: number, b: number) => a + b)
    const evil: WireTask[] = [task('evil-task', sum, [1, 2])]
    const raw = await RawConnection.open(cluster.address)
    raw.send(['hello-client', 'evil'], ['fn', sum.hash, sum.source, sum.name], ['submit', 1, encode(evil), ['evil-task']])
    t.like(await raw.next((m) => m[0] === 'error'), { 2: 'SKEIN_PROTOCOL_VERSION' })
    await raw.whenClosed()

    // One that answers the challenge with a made-up proof, then submits in the same frame.
    const guesser = await RawConnection.open(cluster.address)
    await guesser.next((m) => m[0] === 'challenge')
    guesser.send(['auth', PROTOCOL_VERSION, 'client', randomBytes(32), randomBytes(32), []], ['hello-client', 'guesser'], ['submit', 1, encode(evil), ['evil-task']])
    const refusal = await guesser.next((m) => m[0] === 'error')
    t.like(refusal, { 2: 'SKEIN_AUTH_FAILED' })
    t.regex(refusal[3] as string, /wrong token/)
    await guesser.whenClosed()
    t.is(cluster.scheduler.state('evil-task'), null, 'the scheduler never learned of the task')

    // The public API with a wrong token, or none where one is needed.
    const wrong = await t.throwsAsync(Client.connect(cluster.address, { token: WRONG_TOKEN, inProcess: false }), { code: 'SKEIN_AUTH_FAILED' })
    t.regex(wrong!.message, /wrong token/)
    await t.throwsAsync(RawConnection.authenticated(cluster.address, 'client', null), { code: 'SKEIN_AUTH_FAILED', message: /requires the cluster's token/ })
    await t.throwsAsync(Worker.start({ scheduler: cluster.address, token: WRONG_TOKEN, log: () => {} }), { code: 'SKEIN_AUTH_FAILED' })
    // A stranger worker that skips the handshake.
    const fakeWorker = await RawConnection.open(cluster.address)
    fakeWorker.send(['hello-worker', 'stranger', 4, 'ws://127.0.0.1:1', null])
    await fakeWorker.whenClosed()
    t.is(cluster.scheduler.health().workers, 2, 'no stranger joined as a worker')

    // With the token, through the network too.
    const remote = await Client.connect(cluster.address, { token, inProcess: false })
    await roundTrip(t, remote, 'a second client with the token')
    await remote.close()
    await roundTrip(t, honest, 'after')
    t.true(log.some((line) => /wrong token/.test(line)), 'refusals are logged')
    await honest.close()
  } finally {
    await cluster.close()
  }
})

test("a worker's peer server serves only parties with the token: strangers can neither read nor overwrite results", async (t) => {
  const cluster = await LocalCluster.start({ workers: 1, log: () => {} })
  try {
    const token = cluster.scheduler.token!
    const client = await Client.connect(cluster.address)
    // Large enough to stay on the worker (not inline with the notice).
    const secret = client.submit((n: number) => 's'.repeat(n), 5000)
    await secret
    const [worker] = cluster.scheduler.workers
    const peer = worker[2]

    const stranger = await RawConnection.open(peer)
    await stranger.next((m) => m[0] === 'challenge')
    stranger.send(['get', 1, [secret.key]], ['put', 2, [[secret.key, encode('forged')]]])
    t.like(await stranger.next((m) => m[0] === 'error'), { 2: 'SKEIN_HANDSHAKE' })
    await stranger.whenClosed()
    t.false(stranger.received.some((m) => m[0] === 'data' || m[0] === 'put-done'), 'no data was served or stored')
    await t.throwsAsync(RawConnection.authenticated(peer, 'peer', WRONG_TOKEN), { code: 'SKEIN_AUTH_FAILED' })
    await t.throwsAsync(RawConnection.authenticated(peer, 'peer', null), { code: 'SKEIN_AUTH_FAILED' })

    // The value and what depends on it are untouched.
    t.is((await secret).length, 5000)
    t.is(await client.submit((s: string) => s.slice(0, 3), secret), 'sss')

    // With the token, a peer reads it.
    const friend = await RawConnection.authenticated(peer, 'peer', token)
    friend.send(['get', 7, [secret.key]])
    const data = await friend.next((m) => m[0] === 'data')
    t.true((data[2] as Uint8Array[])[0] instanceof Uint8Array)
    // Even with the token: keys are bounded, and a peer that keeps sending nonsense is cut off.
    friend.send(['put', 8, [['k'.repeat(5000), encode(1)]]])
    t.like(await friend.next((m) => m[0] === 'error' && m[1] === 8), { 2: 'SKEIN_BAD_MESSAGE' })
    friend.send(...Array.from({ length: 20 }, (_, i) => ['nonsense', 100 + i]))
    await friend.whenClosed()
    await client.close()
  } finally {
    await cluster.close()
  }
})

test('a version mismatch gets an error naming both versions, on either side', async (t) => {
  const scheduler = await new Scheduler({ log: () => {} }).listen()
  try {
    const future = await RawConnection.open(scheduler.address)
    await future.next((m) => m[0] === 'challenge')
    future.send(['auth', 99, 'client', randomBytes(32), null, []])
    const reply = await future.next((m) => m[0] === 'error')
    t.is(reply[2], 'SKEIN_PROTOCOL_VERSION')
    t.regex(reply[3] as string, new RegExp(`protocol ${PROTOCOL_VERSION}.*speaks 99`))
    await future.whenClosed()
  } finally {
    await scheduler.close()
  }

  // A server from another version: the client says so instead of a bad-message error.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  wss.on('connection', (socket) => {
    const channel = new Channel<unknown[], unknown[]>(socket, () => {}, () => {})
    channel.send(['challenge', 99, 'none', randomBytes(32), []])
  })
  try {
    const address = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
    const error = await t.throwsAsync(Client.connect(address, { inProcess: false }), { code: 'SKEIN_PROTOCOL_VERSION' })
    t.regex(error!.message, new RegExp(`speaks skein protocol 99, this side speaks ${PROTOCOL_VERSION}`))
  } finally {
    for (const s of wss.clients) s.terminate()
    wss.close()
  }
})

test('a party with a token trusts no server that cannot prove it holds the token', async (t) => {
  // A server that asks for a proof and answers with a made-up one of its own.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  const heard: unknown[][] = []
  wss.on('connection', (socket) => {
    const channel: Channel<unknown[], unknown[]> = new Channel<unknown[], unknown[]>(
      socket,
      (m) => {
        heard.push(m)
        if (m[0] === 'auth') channel.send(['authenticated', randomBytes(32)])
      },
      () => {},
    )
    channel.send(['challenge', PROTOCOL_VERSION, 'hmac-sha256', randomBytes(32), []])
  })
  const address = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
  try {
    const error = await t.throwsAsync(Client.connect(address, { token: WRONG_TOKEN, inProcess: false }), { code: 'SKEIN_AUTH_FAILED' })
    t.regex(error!.message, /could not prove it holds the cluster's token/)
    await t.throwsAsync(Worker.start({ scheduler: address, token: WRONG_TOKEN, log: () => {} }), { code: 'SKEIN_AUTH_FAILED' })
    t.deepEqual(
      heard.map((m) => m[0]),
      ['auth', 'auth'],
      'nothing but the answer to the challenge was sent (no hello, no work)',
    )
  } finally {
    for (const s of wss.clients) s.terminate()
    wss.close()
  }
})

test('insecure is explicit, warned about, and refused by a party that holds a token', async (t) => {
  t.throws(() => new Scheduler({ insecure: true, token: 'a'.repeat(32) }), { code: 'SKEIN_INVALID_OPTIONS', message: /contradict/ })
  t.throws(() => new Scheduler({ token: 'short' }), { code: 'SKEIN_INVALID_OPTIONS', message: /at least 16/ })
  const log: string[] = []
  const scheduler = await new Scheduler({ insecure: true, log: (line) => log.push(line) }).listen()
  try {
    t.is(scheduler.token, null)
    t.true(log.some((line) => /WARNING.*without authentication/.test(line)))
    const worker = await Worker.start({ scheduler: scheduler.address, log: () => {} })
    const client = await Client.connect(scheduler.address, { inProcess: false })
    t.is(await client.submit((x: number) => x + 1, 41), 42)
    await t.throwsAsync(Client.connect(scheduler.address, { token: WRONG_TOKEN, inProcess: false }), { code: 'SKEIN_AUTH_FAILED', message: /runs without authentication/ })
    await client.close()
    await worker.close()
  } finally {
    await scheduler.close()
  }
})

test('before authenticating a connection may send little, must be quick, and cannot crowd others out', async (t) => {
  const log: string[] = []
  const scheduler = await new Scheduler({ helloTimeoutMs: 3000, maxPendingConnections: 3, log: (line) => log.push(line) }).listen()
  const worker = await Worker.start({ scheduler: scheduler.address, log: () => {} })
  const client = await Client.connect(scheduler.address)
  try {
    // A big frame before authenticating: cut off (the scheduler counts raw bytes, it does not buffer the frame).
    const big = await RawConnection.open(scheduler.address)
    big.sendRaw(encode([['auth', PROTOCOL_VERSION, 'client', randomBytes(32), randomBytes(1 << 20), []]]))
    await big.whenClosed()
    await roundTrip(t, client, 'after a 1 MiB frame before auth')
    // A frame that announces 200 MiB and never ends (the scheduler used to hold such frames forever).
    const unfinished = await Promise.all([1, 2].map(() => unfinishedFrame(scheduler.port, 200 * 2 ** 20, 100 * 1024)))
    t.deepEqual(unfinished, ['closed', 'closed'])
    await roundTrip(t, client, 'after unfinished 200 MiB frames')

    // Connections that never answer are closed after the hello timeout (long enough here that a loaded
    // machine cannot make it pass before the cap is checked); meanwhile they fill the pending cap.
    const silent = await Promise.all([1, 2, 3].map(() => RawConnection.open(scheduler.address)))
    t.like(await rawSocket(scheduler.address), { status: 503 })
    await roundTrip(t, client, 'with the pending cap full')
    await Promise.all(silent.map((s) => s.whenClosed()))
    const late = await rawSocket(scheduler.address)
    t.true('socket' in late, 'room again once they were closed')
    if ('socket' in late) late.socket.terminate()
    t.true(log.some((line) => /did not finish its handshake within 3000 ms/.test(line)))
    t.true(log.some((line) => /sent more than 65536 bytes before authenticating/.test(line)))
  } finally {
    await client.close()
    await worker.close()
    await scheduler.close()
  }
})

test('strangers cannot flood the log: refusals are rate-limited', async (t) => {
  const log: string[] = []
  const scheduler = await new Scheduler({ log: (line) => log.push(line) }).listen()
  try {
    for (let i = 0; i < 100; i++) {
      const s = await RawConnection.open(scheduler.address)
      s.sendRaw('garbage')
      await s.whenClosed()
    }
    t.true(log.length <= 61, `${log.length} lines for 100 refusals`)
  } finally {
    await scheduler.close()
  }
})

test('after authenticating: a frame of a million non-messages is refused once, long keys are refused, a client that stops reading is cut off', async (t) => {
  const log: string[] = []
  const scheduler = await new Scheduler({ maxSendQueueBytes: 2 ** 20, log: (line) => log.push(line) }).listen()
  const worker = await Worker.start({ scheduler: scheduler.address, slots: 2, log: () => {} })
  const honest = await Client.connect(scheduler.address)
  try {
    const rogue = await RawClient.connect(scheduler.address, scheduler.token)
    rogue.conn.sendRaw(encode(new Array(1_000_000).fill(0)))
    await rogue.conn.next((m) => m[0] === 'error' && m[2] === 'SKEIN_MALFORMED_FRAME')
    await roundTrip(t, honest, 'after a frame of a million non-messages')
    rogue.conn.send(['want', ['k'.repeat(5000)]])
    const long = await rogue.conn.next((m) => m[0] === 'error')
    t.is(long[2], 'SKEIN_KEY_TOO_LONG')
    t.regex(long[3] as string, /5000 bytes.*at most 4096/)
    t.is(rogue.conn.received.filter((m) => m[0] === 'error').length, 0, 'one error for the whole frame, none left over')

    // A client that stops reading while the scheduler has much to tell it.
    const deaf = await RawClient.connect(scheduler.address, scheduler.token)
    const echo = shipped('echo', (s: string) => s)
    deaf.conn.send(['fn', echo.hash, echo.source, echo.name])
    // Results small enough to travel inline with the scheduler's notices: ~14 MB of them.
    const n = 16_000
    const tasks: WireTask[] = Array.from({ length: n }, (_, i) => task(`deaf-${i}`, echo, [`${i}`.padEnd(900, '.')]))
    deaf.conn.send(['submit', 1, encode(tasks), tasks.map((w) => w[0])])
    deaf.conn.channel.flush()
    deaf.conn.socket.pause()
    t.true(await eventually(() => log.some((line) => /stopped reading.*disconnecting it/.test(line)), 30_000), log.join(' | '))
    deaf.conn.socket.resume()
    await deaf.conn.whenClosed()
    await roundTrip(t, honest, 'after a client that stopped reading was cut off')
    rogue.close()
  } finally {
    await honest.close()
    await worker.close()
    await scheduler.close()
  }
})

test('a scheduler serves workers and clients of the token it was given or read from a file', async (t) => {
  const token = 'a-token-chosen-by-the-operator-1234'
  const scheduler = await new Scheduler({ token, log: () => {} }).listen()
  try {
    t.is(scheduler.token, token)
    const worker = await Worker.start({ scheduler: scheduler.address, token, log: () => {} })
    const client = await Client.connect(scheduler.address, { token, inProcess: false })
    t.is(await client.submit((x: number) => x * 3, 14), 42)
    await client.close()
    await worker.close()
  } finally {
    await scheduler.close()
  }
  await sleep(0)
})

test('a worker listens on the interface that reaches its scheduler and advertises that address (IPv4, IPv6), not a wildcard or a host name', async (t) => {
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((e) => e !== undefined && !e.internal && e.family === 'IPv4')?.address
  const cases: [listen: string, dial: string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '[::1]'],
  ]
  if (external !== undefined) cases.push(['0.0.0.0', external])
  else t.log('no non-loopback IPv4 interface here: that case is skipped')
  for (const [listen, dial] of cases) {
    const scheduler = await new Scheduler({ log: () => {} }).listen({ host: listen })
    try {
      const address = `ws://${dial}:${scheduler.port}`
      const worker = await Worker.start({ scheduler: address, token: scheduler.token!, log: () => {} })
      t.regex(worker.address, new RegExp(`^ws://${dial.replace(/[[\]]/g, '\\$&')}:\\d+$`), `scheduler dialled at ${address}`)
      const peer = await RawConnection.authenticated(worker.address, 'peer', scheduler.token)
      peer.close()
      await worker.close()
    } finally {
      await scheduler.close()
    }
  }
})

test('workers that take tasks and never run them are removed after the stall timeout, and the work completes elsewhere', async (t) => {
  const log: string[] = []
  const scheduler = await new Scheduler({ core: { stallTimeout: 1 }, log: (line) => log.push(line) }).listen()
  const client = await Client.connect(scheduler.address)
  // The honest worker joins first and runs a task, so that its threads are up before the sitters join: on a
  // loaded machine a worker whose threads start slowly holds tasks it has not begun for longer than this
  // test's 1 s stall timeout, and an in-process Worker that is removed does not rejoin.
  const worker = await Worker.start({ scheduler: scheduler.address, log: () => {} })
  await roundTrip(t, client, 'before the sitters joined')
  // Twenty workers (they hold the token: a bug, not a stranger) that join, heartbeat and sit on whatever they get.
  const peer = await peerStub(t, scheduler.token)
  const sitters = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const conn = await RawConnection.authenticated(scheduler.address, 'worker', scheduler.token)
      conn.send(['hello-worker', `sitter-${i}`, 1, peer, null])
      await conn.next((m) => m[0] === 'welcome')
      return conn
    }),
  )
  try {
    const start = performance.now()
    const futures = client.map((x: number) => x * 2, Array.from({ length: 50 }, (_, i) => i))
    t.deepEqual(await client.gather(futures), Array.from({ length: 50 }, (_, i) => i * 2))
    t.log(`the 50 tasks completed in ${(performance.now() - start).toFixed(0)} ms beside twenty sitters`)
    const stats = scheduler.stats()
    t.true(stats.stalledWorkers > 0, JSON.stringify(stats))
    t.is(stats.heartbeatTimeouts, 0)
    t.true(log.some((line) => /sitter-\d+.*sits on its work/.test(line)), log.join(' | '))
    await roundTrip(t, client, 'after the sitters were removed')
    await worker.close()
  } finally {
    for (const s of sitters) s.close()
    await client.close()
    await scheduler.close()
  }
})
