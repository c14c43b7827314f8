/**
 * TLS (wss://) on every kind of connection: client and worker to the
 * scheduler, worker and client to a worker's peer server; mutual TLS; clear
 * errors when one side speaks TLS and the other does not, or a certificate
 * does not verify; the token handshake and the limits on strangers still
 * hold inside TLS.
 */
import test from 'ava'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import path from 'node:path'
import WebSocket from 'ws'
import { Client, createTestCertificates, LocalCluster, Scheduler, Worker, type TestCertificates } from '../ts/index'
import { encode, PROTOCOL_VERSION } from '../ts/protocol'
import { freePort, runCli, startCli } from './helpers/cli'
import { RawConnection } from './helpers/raw'

/** Directories the tests made certificates in: removed when they are done. */
const made: string[] = []
const dir = (name: string) => {
  const d = mkdtempSync(path.join(tmpdir(), `skein-tls-${name}-`))
  made.push(d)
  return d
}
test.after.always(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

let certs: TestCertificates
/** Another CA and a certificate it signed: valid TLS, but not this cluster's. */
let strangers: TestCertificates

test.before(async () => {
  ;[certs, strangers] = await Promise.all([createTestCertificates(dir('cluster'), { hosts: ['127.0.0.1', 'localhost'] }), createTestCertificates(dir('strangers'), { hosts: ['127.0.0.1'] })])
})

const serverTls = () => ({ cert: certs.cert, key: certs.key, ca: certs.ca })

/** GET `url` over https trusting `ca`: the status and body, or the error's code. */
function httpsGet(url: string, options: https.RequestOptions): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    https
      .get(url, options, (res) => {
        let body = ''
        res.on('data', (chunk: Buffer) => (body += chunk.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', (err: Error & { code?: string }) => resolve({ error: err.code ?? err.message }))
  })
}

/** The HTTP status a plain `ws` socket with these TLS options is refused with (or 101 if it opened). */
function upgradeStatus(address: string, options: WebSocket.ClientOptions): Promise<number> {
  const socket = new WebSocket(address, { perMessageDeflate: false, ...options })
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.terminate()
      resolve(101)
    })
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      socket.terminate()
    })
    socket.once('error', (err) => {
      if (!/closed before the connection/.test(err.message)) reject(err)
    })
  })
}

test('a TLS cluster runs a graph whose data moves between two worker processes, every connection wss://', async (t) => {
  const cluster = await LocalCluster.start({ workers: 2, tls: serverTls(), log: () => {} })
  try {
    t.regex(cluster.address, /^wss:\/\/127\.0\.0\.1:\d+$/)
    // The cluster's own client needs no options: it uses its scheduler's CA for the workers' peer servers.
    const local = await Client.connect(cluster.address)
    const remote = await Client.connect(cluster.address, { inProcess: false, tls: { ca: certs.ca } })
    try {
      t.true(local.workers.length === 2 && local.workers.every((w) => /^wss:\/\//.test(w.address)), JSON.stringify(local.workers))
      const [a, b] = local.workers.map((w) => w.name).sort()
      for (const client of [local, remote]) {
        // Bigger than the 1 KiB that rides inline with the scheduler's notices: it crosses between the workers' peer servers.
        const [data] = await client.scatter([{ payload: 'x'.repeat(4000), n: 41 }], { workers: [a] })
        const pid = (d: { payload: string; n: number }, _tag: string) => ({ n: d.n + 1, pid: process.pid, payload: d.payload })
        const onA = client.submitWith({ restrictions: [a] }, pid, data, 'a')
        const onB = client.submitWith({ restrictions: [b] }, pid, data, 'b')
        const [fromA, fromB] = await client.gather([onA, onB])
        t.is(fromA.n, 42)
        t.is(fromB.n, 42)
        t.is(fromB.payload.length, 4000)
        t.not(fromA.pid, fromB.pid, 'the tasks ran in different worker processes, so the data crossed from a to b')
        const sum = client.submit((...v: number[]) => v.reduce((x, y) => x + y, 0), ...client.map((i: number) => i * 2, [1, 2, 3, 4]))
        t.is(await sum, 20)
      }
      const health = await httpsGet(`${cluster.address.replace('wss:', 'https:')}/health`, { ca: readFileSync(certs.ca) })
      t.like(health, { status: 200 })
      t.like(JSON.parse((health as { body: string }).body), { workers: 2, clients: 2 })
    } finally {
      await local.close()
      await remote.close()
    }
  } finally {
    await cluster.close()
  }
})

test('a plain party at a TLS port, or a TLS party at a plain port, is refused with an error that says so', async (t) => {
  const log: string[] = []
  const secure = await new Scheduler({ tls: serverTls(), log: (line) => log.push(line) }).listen()
  const plain = await new Scheduler({ log: () => {} }).listen()
  try {
    const insecureAddress = secure.address.replace('wss:', 'ws:')
    const token = secure.token!
    const refused = await t.throwsAsync(Client.connect(insecureAddress, { token, inProcess: false, timeout: 5000 }), { code: 'SKEIN_TLS' })
    t.regex(refused!.message, /refused the connection \(HTTP 400\): this port speaks TLS: connect with wss:\/\//)
    await t.throwsAsync(Worker.start({ scheduler: insecureAddress, token, log: () => {} }), { code: 'SKEIN_TLS', message: /this port speaks TLS/ })
    // Over http, /health answers the same way.
    const health = await fetch(`${insecureAddress.replace('ws:', 'http:')}/health`)
    t.is(health.status, 400)

    const confused = await t.throwsAsync(Client.connect(plain.address.replace('ws:', 'wss:'), { token: plain.token!, inProcess: false, tls: { ca: certs.ca }, timeout: 5000 }), { code: 'SKEIN_TLS' })
    t.regex(confused!.message, /does not speak TLS \([A-Z_]+\): connect to ws:\/\//)

    // TLS settings with a ws:// address would send everything in plain text: refused before connecting.
    await t.throwsAsync(Client.connect(plain.address, { tls: { ca: certs.ca } }), { code: 'SKEIN_INVALID_OPTIONS', message: /not a wss:\/\/ address/ })
    await t.throwsAsync(Worker.start({ scheduler: plain.address, tls: serverTls(), log: () => {} }), { code: 'SKEIN_INVALID_OPTIONS', message: /not a wss:\/\/ address/ })
    // A worker that reaches a TLS scheduler must serve its own data over TLS too.
    // (Worker.start itself requires tls.cert and tls.key with tls; a raw worker shows the scheduler's own check.)
    const clearPeer = await RawConnection.authenticated(secure.address, 'worker', token, { ca: readFileSync(certs.ca) })
    clearPeer.send(['hello-worker', 'clear', 1, 'ws://127.0.0.1:1', null])
    const refusal = await clearPeer.next((m) => m[0] === 'error')
    t.is(refusal[2], 'SKEIN_HANDSHAKE')
    t.regex(refusal[3] as string, /serves its data at ws:\/\/.* without it: give the worker tls\.cert and tls\.key/)
    await clearPeer.whenClosed()
    t.is(secure.health().clients, 0)
    t.is(secure.health().workers, 0)
  } finally {
    await secure.close()
    await plain.close()
  }
})

test("a party that cannot verify the scheduler's certificate is refused, naming the TLS reason", async (t) => {
  const secure = await new Scheduler({ tls: serverTls(), log: () => {} }).listen()
  const elsewhere = await createTestCertificates(dir('elsewhere'), { hosts: ['not-this-host.invalid'] })
  const misnamed = await new Scheduler({ tls: { cert: elsewhere.cert, key: elsewhere.key }, log: () => {} }).listen()
  try {
    const token = secure.token!
    const wrongCa = await t.throwsAsync(Client.connect(secure.address, { token, inProcess: false, tls: { ca: strangers.ca } }), { code: 'SKEIN_TLS' })
    t.regex(wrongCa!.message, /its TLS certificate does not verify against this side's CA .*\([A-Z_]{6,}: /)
    // No CA given: the system's CAs, which did not sign a self-made CA either.
    await t.throwsAsync(Client.connect(secure.address, { token, inProcess: false, tls: {} }), { code: 'SKEIN_TLS', message: /does not verify/ })
    await t.throwsAsync(Worker.start({ scheduler: secure.address, token, tls: { cert: strangers.cert, key: strangers.key, ca: strangers.ca }, log: () => {} }), {
      code: 'SKEIN_TLS',
      message: /does not verify/,
    })
    const wrongHost = await t.throwsAsync(Client.connect(misnamed.address, { token: misnamed.token!, inProcess: false, tls: { ca: elsewhere.ca } }), { code: 'SKEIN_TLS' })
    t.regex(wrongHost!.message, /is not for this host name \(ERR_TLS_CERT_ALTNAME_INVALID/)
    t.is(secure.health().clients, 0)
  } finally {
    await secure.close()
    await misnamed.close()
  }
})

test('mutual TLS: parties without a certificate signed by the CA are refused at the scheduler and at the peer servers; with one they work', async (t) => {
  const log: string[] = []
  const cluster = await LocalCluster.start({ workers: 2, tls: { ...serverTls(), requireClientCert: true }, log: () => {}, scheduler: { log: (line) => log.push(line) } })
  try {
    const token = cluster.scheduler.token!
    const anonymous = await t.throwsAsync(Client.connect(cluster.address, { token, inProcess: false, tls: { ca: certs.ca } }), { code: 'SKEIN_TLS' })
    t.regex(anonymous!.message, /requires a client certificate \(mutual TLS\) and none was presented/)
    const stranger = await t.throwsAsync(Client.connect(cluster.address, { token, inProcess: false, tls: { ca: certs.ca, cert: strangers.cert, key: strangers.key } }), { code: 'SKEIN_TLS' })
    t.regex(stranger!.message, /does not accept the client certificate \([A-Z_]+\)/)
    await t.throwsAsync(Worker.start({ scheduler: cluster.address, token, tls: { cert: strangers.cert, key: strangers.key, ca: certs.ca }, log: () => {} }), {
      code: 'SKEIN_TLS',
      message: /does not accept the client certificate/,
    })
    t.true(log.some((line) => /refused a connection from .*none was presented/.test(line)), log.join(' | '))
    t.is(cluster.scheduler.health().workers, 2, 'no worker without a good certificate joined')

    const client = await Client.connect(cluster.address, { token, inProcess: false, tls: { ca: certs.ca, cert: certs.cert, key: certs.key } })
    try {
      const [a, b] = client.workers.map((w) => w.name).sort()
      const [data] = await client.scatter(['y'.repeat(3000)], { workers: [a] })
      const length = client.submitWith({ restrictions: [b] }, (s: string) => s.length, data)
      t.is(await length, 3000)
      // A worker's peer server asks for the certificate too, before its token handshake.
      const peer = client.workers[0].address
      t.is(await upgradeStatus(peer, { ca: readFileSync(certs.ca) }), 403)
      t.is(await upgradeStatus(peer, { ca: readFileSync(certs.ca), cert: readFileSync(strangers.cert), key: readFileSync(strangers.key) }), 403)
      t.is(await upgradeStatus(peer, { ca: readFileSync(certs.ca), cert: readFileSync(certs.cert), key: readFileSync(certs.key) }), 101)
      t.like(await httpsGet(`${cluster.address.replace('wss:', 'https:')}/health`, { ca: readFileSync(certs.ca) }), { status: 403 })
    } finally {
      await client.close()
    }
  } finally {
    await cluster.close()
  }
})

test('inside TLS the token is still required, and before it a connection may send little and must be quick', async (t) => {
  const log: string[] = []
  const scheduler = await new Scheduler({ tls: serverTls(), helloTimeoutMs: 1500, log: (line) => log.push(line) }).listen()
  const ca = readFileSync(certs.ca)
  const open = () =>
    new Promise<RawConnection>((resolve, reject) => {
      const socket = new WebSocket(scheduler.address, { ca, perMessageDeflate: false })
      socket.once('open', () => resolve(new RawConnection(socket)))
      socket.once('error', reject)
    })
  try {
    await t.throwsAsync(Client.connect(scheduler.address, { token: 'not-the-cluster-token-0123456789', inProcess: false, tls: { ca: certs.ca } }), { code: 'SKEIN_AUTH_FAILED' })
    // The budget counts what the TLS socket decrypted: a 1 MiB frame is cut off before it is buffered.
    const big = await open()
    await big.next((m) => m[0] === 'challenge')
    big.sendRaw(encode([['auth', PROTOCOL_VERSION, 'client', randomBytes(32), randomBytes(1 << 20), []]]))
    await big.whenClosed()
    const silent = await open()
    await silent.whenClosed()
    t.true(log.some((line) => /sent more than 65536 bytes before authenticating/.test(line)), log.join(' | '))
    t.true(log.some((line) => /did not finish its handshake within 1500 ms/.test(line)), log.join(' | '))
    const client = await Client.connect(scheduler.address, { token: scheduler.token!, inProcess: false, tls: { ca: certs.ca } })
    t.is(client.workers.length, 0)
    await client.close()
  } finally {
    await scheduler.close()
  }
})

test('tls options are checked: unknown fields, missing or unreadable files, a key that is not the certificate’s; PEM works inline', async (t) => {
  const invalid = { code: 'SKEIN_INVALID_OPTIONS' }
  t.throws(() => new Scheduler({ tls: { ...serverTls(), cipher: 'x' } as never }), { ...invalid, message: /unknown 'tls' option 'cipher'/ })
  t.throws(() => new Scheduler({ tls: { cert: certs.cert } }), { ...invalid, message: /'tls.cert' and 'tls.key' are required/ })
  t.throws(() => new Scheduler({ tls: { cert: certs.cert, key: '/nonexistent/key.pem' } }), { ...invalid, message: /cannot read 'tls.key' from \/nonexistent\/key.pem/ })
  t.throws(() => new Scheduler({ tls: { cert: certs.cert, key: strangers.key } }), { ...invalid, message: /cannot be used/ })
  t.throws(() => new Scheduler({ tls: { cert: certs.cert, key: certs.key, requireClientCert: true } }), { ...invalid, message: /requireClientCert' needs 'tls.ca'/ })
  t.throws(() => new Scheduler({ tls: 'yes' as never }), { ...invalid, message: /'tls' must be an object/ })
  await t.throwsAsync(Client.connect('wss://127.0.0.1:1', { tls: { ca: certs.ca, requireClientCert: true } }), { ...invalid, message: /requireClientCert' is for servers/ })
  await t.throwsAsync(Client.connect('wss://127.0.0.1:1', { tls: { ca: certs.ca, cert: certs.cert } }), { ...invalid, message: /give both 'tls.cert' and 'tls.key'/ })
  await t.throwsAsync(LocalCluster.start({ workers: 1, tls: { cert: readFileSync(certs.cert), key: certs.key, ca: certs.ca } }), { ...invalid, message: /'tls.cert' must be a file path/ })

  const scheduler = await new Scheduler({ tls: { cert: readFileSync(certs.cert, 'utf8'), key: readFileSync(certs.key) }, log: () => {} }).listen()
  try {
    const client = await Client.connect(scheduler.address, { token: scheduler.token!, inProcess: false, tls: { ca: readFileSync(certs.ca) } })
    t.is(client.workers.length, 0)
    await client.close()
  } finally {
    await scheduler.close()
  }
})

test('skein certs, then skein scheduler, skein worker and a client with TLS flags run a task', async (t) => {
  const out = dir('cli')
  const made = await runCli(['certs', out, '--hosts', '127.0.0.1,localhost'])
  t.is(made.code, 0, made.stderr)
  for (const key of ['ca-key.pem', 'key.pem']) t.is(statSync(path.join(out, key)).mode & 0o777, 0o600, `${key} is readable by its owner only`)
  t.regex((await runCli(['certs', out])).stderr, /already exist/)
  const files = { cert: path.join(out, 'cert.pem'), key: path.join(out, 'key.pem'), ca: path.join(out, 'ca.pem') }
  const flags = ['--tls-cert', files.cert, '--tls-key', files.key, '--tls-ca', files.ca]
  const port = await freePort()
  const address = `wss://127.0.0.1:${port}`
  const tokenFile = path.join(out, 'token')
  const scheduler = await startCli(['scheduler', '--port', String(port), '--token-file', tokenFile, ...flags, '--tls-require-client-cert'], /token written/)
  const started = [scheduler]
  try {
    t.regex(scheduler.banner, new RegExp(`listening on wss://127\\.0\\.0\\.1:${port} \\(health: https://`))
    t.regex(scheduler.banner, /mutual TLS/)
    const worker = await startCli(['worker', address, '--name', 'tls-w', '--token-file', tokenFile, ...flags], /"component":"tls-w".*ready: /)
    started.push(worker)
    t.regex(worker.banner, /peer server wss:\/\/127\.0\.0\.1:\d+/)
    const client = await Client.connect(address, { tokenFile, tls: files })
    try {
      t.is(await client.submit((x: number) => x * 2, 21), 42)
    } finally {
      await client.close()
    }
    const stranger = await runCli(['worker', address, '--name', 'no-cert', '--token-file', tokenFile, '--tls-ca', files.ca])
    t.is(stranger.code, 2)
    t.regex(stranger.stderr, /'tls.cert' and 'tls.key' are required/)
  } finally {
    for (const p of started) {
      p.child.kill('SIGTERM')
      await p.exited
    }
  }
})
