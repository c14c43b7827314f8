import test from 'ava'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Client } from '../ts/client'
import { generateToken } from '../ts/protocol'
import { Scheduler } from '../ts/scheduler'
import { SchedulerUnreachableError, Worker } from '../ts/worker'
import { freePort, watchCli, type Watched } from './helpers/cli'

/** A token file made before any scheduler runs (a scheduler given --token-file reads it). */
function tokenFile(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'skein-reconnect-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'token')
  writeFileSync(file, `${generateToken()}\n`, { mode: 0o600 })
  return file
}

function cleanup(t: { teardown(fn: () => void): void }, processes: Watched[]): void {
  t.teardown(() => {
    for (const p of processes) p.kill()
  })
}

async function workersOf(port: number): Promise<number> {
  const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { workers: number }
  return health.workers
}

async function double(address: string, token: string, x: number): Promise<number> {
  const client = await Client.connect(address, { tokenFile: token, inProcess: false })
  try {
    return await client.submit((v: number) => v * 2, x)
  } finally {
    await client.close()
  }
}

test('a worker started before its scheduler joins it once the scheduler appears', async (t) => {
  const port = await freePort()
  const address = `ws://127.0.0.1:${port}`
  const token = tokenFile(t)
  const processes: Watched[] = []
  cleanup(t, processes)
  const worker = watchCli(['worker', address, '--name', 'early', '--token-file', token, '--death-timeout', '30s'])
  processes.push(worker)
  // It keeps trying: still running while nothing listens.
  await new Promise((resolve) => setTimeout(resolve, 800))
  t.is(worker.child.exitCode, null, worker.stderr())
  const scheduler = watchCli(['scheduler', '--port', String(port), '--token-file', token])
  processes.push(scheduler)
  await scheduler.waitFor(/listening on/)
  await worker.waitFor(/"component":"early".*ready: /)
  t.is(await workersOf(port), 1)
  t.is(await double(address, token, 21), 42)
})

test('a worker rejoins a scheduler restarted on the same port, runs tasks, and exits with code 3 once the scheduler stays away past --death-timeout (10 s: a loaded machine may take seconds to start the scheduler again)', async (t) => {
  const port = await freePort()
  const address = `ws://127.0.0.1:${port}`
  const token = tokenFile(t)
  const processes: Watched[] = []
  cleanup(t, processes)
  const first = watchCli(['scheduler', '--port', String(port), '--token-file', token])
  processes.push(first)
  await first.waitFor(/listening on/)
  const worker = watchCli(['worker', address, '--name', 'w', '--token-file', token, '--death-timeout', '10s'])
  processes.push(worker)
  await worker.waitFor(/"component":"w".*ready: /)
  t.is(await double(address, token, 1), 2)

  first.child.kill('SIGKILL')
  await first.exited
  await worker.waitFor(/lost the scheduler at ws:\/\/127\.0\.0\.1:\d+; waiting up to 10\.0 s/)
  const second = watchCli(['scheduler', '--port', String(port), '--token-file', token])
  processes.push(second)
  await second.waitFor(/listening on/)
  await worker.waitFor(/rejoined the scheduler at ws:\/\/127\.0\.0\.1:\d+ after \d+\.\d s/)
  t.is(await workersOf(port), 1)
  // The new scheduler knows nothing of the old results: computing them again is the only way, and works.
  t.is(await double(address, token, 1), 2)
  t.is(await double(address, token, 5), 10)

  second.child.kill('SIGTERM')
  const { code } = await worker.exited
  t.is(code, 3, worker.stderr())
  t.regex(worker.stderr(), /"component":"w".*"msg":"lost its scheduler and cannot reach the scheduler at ws:\/\/127\.0\.0\.1:\d+: tried \d+ time\(s\) over \d+\.\d s \(the death timeout\)/)
})

test('a worker with nothing to join exits with code 3 after its death timeout, naming the address and how long it tried', async (t) => {
  const port = await freePort()
  const worker = watchCli(['worker', `ws://127.0.0.1:${port}`, '--death-timeout', '1s', '--name', 'lonely'])
  cleanup(t, [worker])
  const { code } = await worker.exited
  t.is(code, 3)
  t.regex(worker.stderr(), new RegExp(`"level":"error".*"component":"lonely".*"msg":"cannot reach the scheduler at ws://127\\.0\\.0\\.1:${port}: tried \\d+ time\\(s\\) over \\d+\\.\\d s \\(the death timeout\\); last error: .*ECONNREFUSED`))
})

test('a worker with a wrong token is not retried: it fails at once with the authentication error (code 2)', async (t) => {
  const port = await freePort()
  const token = tokenFile(t)
  const scheduler = watchCli(['scheduler', '--port', String(port), '--token-file', token])
  const processes = [scheduler]
  cleanup(t, processes)
  await scheduler.waitFor(/listening on/)
  // A death timeout longer than ava's test timeout: only an immediate failure passes.
  const worker = watchCli(['worker', `ws://127.0.0.1:${port}`, '--death-timeout', '10m'], { ...process.env, SKEIN_TOKEN: 'x'.repeat(43), SKEIN_TOKEN_FILE: '' })
  processes.push(worker)
  const { code } = await worker.exited
  t.is(code, 2, worker.stderr())
  t.regex(worker.stderr(), /wrong token/)
  t.notRegex(worker.stderr(), /tried \d+ time/)
})

test('Worker.start({ deathTimeoutMs }) waits for a scheduler that starts listening later, and a worker that loses it says so', async (t) => {
  const port = await freePort()
  const scheduler = new Scheduler({ log: () => {} })
  t.teardown(() => scheduler.close())
  const starting = Worker.start({ scheduler: `ws://127.0.0.1:${port}`, token: scheduler.token!, deathTimeoutMs: 30_000, log: () => {} })
  await new Promise((resolve) => setTimeout(resolve, 500))
  await scheduler.listen({ host: '127.0.0.1', port })
  const worker = await starting
  t.true(worker.id >= 0)
  t.false(worker.lostScheduler)
  await scheduler.close()
  await worker.closed
  t.true(worker.lostScheduler)
})

test('Worker.start rejects with SchedulerUnreachableError once its death timeout passes', async (t) => {
  const port = await freePort()
  const error = await t.throwsAsync(Worker.start({ scheduler: `ws://127.0.0.1:${port}`, deathTimeoutMs: 400, token: generateToken(), log: () => {} }), { instanceOf: SchedulerUnreachableError })
  t.is(error!.code, 'SKEIN_SCHEDULER_UNREACHABLE')
  t.is(error!.address, `ws://127.0.0.1:${port}`)
  t.true(error!.attempts > 1, `${error!.attempts} attempts`)
  t.regex(error!.lastError.message, /ECONNREFUSED/)
  await t.throwsAsync(Worker.start({ scheduler: `ws://127.0.0.1:${port}`, deathTimeoutMs: -1, token: generateToken(), log: () => {} }), { code: 'SKEIN_INVALID_OPTIONS', message: /deathTimeoutMs must be a non-negative number/ })
})

test('a scheduler at its connection cap (HTTP 503) is asked again: the worker joins once there is room', async (t) => {
  const scheduler = new Scheduler({ maxConnections: 1, log: () => {} })
  await scheduler.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => scheduler.close())
  const client = await Client.connect(scheduler.address, { inProcess: false })
  let joined = false
  const starting = Worker.start({ scheduler: scheduler.address, deathTimeoutMs: 30_000, log: () => {} }).then((w) => {
    joined = true
    return w
  })
  await new Promise((resolve) => setTimeout(resolve, 700))
  t.false(joined, 'the only connection allowed is the client')
  await client.close()
  const worker = await starting
  t.true(worker.id >= 0)
  await worker.close()
})
