import test from 'ava'
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { Client } from '../ts/client'

const cli = path.join(__dirname, '..', 'dist', 'cluster', 'cli.js')

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
    server.once('error', reject)
  })
}

interface Started {
  child: ChildProcess
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Runs `skein <args>` and resolves once it logs a line matching `ready`. */
function start(args: string[], ready: RegExp): Promise<Started> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'pipe'] })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return new Promise((resolve, reject) => {
    let err = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString()
      if (ready.test(err)) resolve({ child, exited })
    })
    void exited.then(({ code }) => reject(new Error(`skein ${args.join(' ')} exited with ${code} before it was ready:\n${err}`)))
  })
}

test('skein scheduler and two skein workers on loopback run a graph and shut down cleanly', async (t) => {
  const port = await freePort()
  const address = `ws://127.0.0.1:${port}`
  const scheduler = await start(['scheduler', '--port', String(port), '--host', '127.0.0.1'], /listening on ws:\/\/127\.0\.0\.1:\d+/)
  const workers = await Promise.all([
    start(['worker', address, '--slots', '2', '--name', 'w1'], /'w1' .*ready/),
    start(['worker', address, '--slots', '2', '--name', 'w2', '--host', '127.0.0.1'], /'w2' .*ready/),
  ])
  try {
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { workers: number }
    t.is(health.workers, 2)
    const client = await Client.connect(address)
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
