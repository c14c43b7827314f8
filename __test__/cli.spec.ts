import test from 'ava'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Client } from '../ts/client'
import { cli, freePort, startCli as start } from './helpers/cli'

test('skein scheduler and two skein workers on loopback run a graph and shut down cleanly', async (t) => {
  const port = await freePort()
  const address = `ws://127.0.0.1:${port}`
  const tokenDir = mkdtempSync(path.join(tmpdir(), 'skein-cli-'))
  t.teardown(() => rmSync(tokenDir, { recursive: true, force: true }))
  const tokenFile = path.join(tokenDir, 'token')
  const scheduler = await start(['scheduler', '--port', String(port), '--token-file', tokenFile], /listening on ws:\/\/127\.0\.0\.1:\d+[^]*token written/)
  t.regex(scheduler.banner, /loopback only/)
  t.is(statSync(tokenFile).mode & 0o777, 0o600, 'the token file is readable by its owner only')
  const workers = await Promise.all([
    start(['worker', address, '--slots', '2', '--name', 'w1', '--token-file', tokenFile], /'w1' .*ready/),
    start(['worker', address, '--slots', '2', '--name', 'w2', '--host', '127.0.0.1'], /'w2' .*ready/, { ...process.env, SKEIN_TOKEN_FILE: tokenFile }),
  ])
  try {
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { workers: number }
    t.is(health.workers, 2)
    const client = await Client.connect(address, { tokenFile })
    try {
      const inc = (x: number) => x + 1
      const many = client.map(inc, Array.from({ length: 40 }, (_, i) => i))
      const total = client.submit((...v: number[]) => v.reduce((a, b) => a + b, 0), ...many)
      t.is(await total, (40 * 41) / 2)
      t.deepEqual(await client.gather(many.slice(0, 3)), [1, 2, 3])
    } finally {
      await client.close()
    }
    // One worker stops on SIGTERM; the other stops because its scheduler went away.
    workers[0].child.kill('SIGTERM')
    t.deepEqual(await workers[0].exited, { code: 0, signal: null })
    scheduler.child.kill('SIGTERM')
    t.deepEqual(await scheduler.exited, { code: 0, signal: null })
    t.deepEqual(await workers[1].exited, { code: 0, signal: null })
  } finally {
    for (const p of [scheduler, ...workers]) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  }
})

test('skein worker fails with a clear message when no scheduler listens', async (t) => {
  const port = await freePort()
  const child = spawn(process.execPath, [cli, 'worker', `ws://127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.is(code, 1)
  t.regex(err, new RegExp(`cannot reach the scheduler at ws://127\\.0\\.0\\.1:${port}`))
})

test('skein scheduler prints a new token once; a worker needs it to join', async (t) => {
  const port = await freePort()
  const address = `ws://127.0.0.1:${port}`
  const env = { ...process.env }
  delete env.SKEIN_TOKEN
  delete env.SKEIN_TOKEN_FILE
  const scheduler = await start(['scheduler', '--port', String(port)], /workers: SKEIN_TOKEN=\S+/, env)
  try {
    const token = /workers: SKEIN_TOKEN=(\S+)/.exec(scheduler.banner)![1]
    // Without it, or with another, the worker is refused and says why.
    for (const [name, extra] of [['none', {}], ['wrong', { SKEIN_TOKEN: 'x'.repeat(43) }]] as const) {
      const child = spawn(process.execPath, [cli, 'worker', address, '--name', name], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, ...extra } })
      let err = ''
      child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()))
      t.is(await new Promise<number | null>((resolve) => child.once('exit', resolve)), 1)
      t.regex(err, name === 'none' ? /requires the cluster's token/ : /wrong token/)
    }
    const worker = await start(['worker', address, '--name', 'ok'], /'ok' .*ready/, { ...env, SKEIN_TOKEN: token })
    const client = await Client.connect(address, { token, inProcess: false })
    try {
      t.is(await client.submit((x: number) => x * 2, 21), 42)
    } finally {
      await client.close()
    }
    worker.child.kill('SIGTERM')
    await worker.exited
  } finally {
    scheduler.child.kill('SIGKILL')
  }
})
