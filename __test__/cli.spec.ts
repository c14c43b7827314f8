import test from 'ava'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import path from 'node:path'
import { Client } from '../ts/client'
import { cli, freePort, runCli, startCli as start, watchCli, type Watched } from './helpers/cli'

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
    start(['worker', address, '--slots', '2', '--name', 'w1', '--token-file', tokenFile], /"component":"w1".*ready: /),
    start(['worker', address, '--slots', '2', '--name', 'w2', '--host', '127.0.0.1', '--death-timeout', '500ms'], /"component":"w2".*ready: /, { ...process.env, SKEIN_TOKEN_FILE: tokenFile }),
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
    // One worker stops on SIGTERM; the other gives up (code 3) once its scheduler stayed away for its death timeout.
    workers[0].child.kill('SIGTERM')
    t.deepEqual(await workers[0].exited, { code: 0, signal: null })
    scheduler.child.kill('SIGTERM')
    t.deepEqual(await scheduler.exited, { code: 0, signal: null })
    t.deepEqual(await workers[1].exited, { code: 3, signal: null })
  } finally {
    for (const p of [scheduler, ...workers]) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  }
})

test('skein worker --death-timeout 0 tries once and fails with a clear message when no scheduler listens', async (t) => {
  const port = await freePort()
  const { code, stderr } = await runCli(['worker', `ws://127.0.0.1:${port}`, '--death-timeout', '0'])
  t.is(code, 3)
  t.regex(stderr, new RegExp(`cannot reach the scheduler at ws://127\\.0\\.0\\.1:${port}: tried 1 time\\(s\\)`))
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
      // Refused: code 2, at once (a wrong token is not retried until the death timeout).
      t.is(await new Promise<number | null>((resolve) => child.once('exit', resolve)), 2)
      t.regex(err, name === 'none' ? /requires the cluster's token/ : /wrong token/)
    }
    const worker = await start(['worker', address, '--name', 'ok'], /"component":"ok".*ready: /, { ...env, SKEIN_TOKEN: token })
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

test('--version prints the package version, on the program and on every command', async (t) => {
  const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
  for (const args of [['--version'], ['scheduler', '--version'], ['worker', '--version'], ['certs', '-V']]) {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()))
    t.is(await new Promise<number | null>((resolve) => child.once('close', resolve)), 0, args.join(' '))
    t.is(out.trim(), version, args.join(' '))
  }
})

test('bad --resources, --death-timeout, --nworkers and --log-level are refused with a message naming the bad part', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--resources', 'GPU=2,MEM'], /'MEM' is not NAME=AMOUNT/],
    [['--resources', 'GPU=two'], /'GPU=two': the amount must be a non-negative number/],
    [['--resources', 'GPU=-1'], /'GPU=-1': the amount/],
    [['--resources', 'GPU=1,GPU=2'], /'GPU' is given twice/],
    [['--resources', '2GPU=1'], /'2GPU=1': the name/],
    [['--death-timeout', 'soon'], /expected a duration such as 60, 30s, 500ms or 2m, not 'soon'/],
    [['--nworkers', 'many'], /--nworkers.*expected an integer >= 1/],
    [['--log-level', 'loud'], /--log-level must be one of trace, debug, info, warn, error, fatal, silent, not 'loud'/],
  ]
  for (const [flags, message] of cases) {
    const { code, stderr } = await runCli(['worker', 'ws://127.0.0.1:1', ...flags])
    t.is(code, 1, flags.join(' '))
    t.regex(stderr, message, flags.join(' '))
  }
})

test('skein worker --nworkers 2 runs two supervised worker processes; SIGTERM stops them all', async (t) => {
  const port = await freePort()
  const address = `ws://127.0.0.1:${port}`
  const scheduler = await start(['scheduler', '--port', String(port), '--insecure'], /listening on/)
  const env = { ...process.env }
  delete env.SKEIN_TOKEN
  delete env.SKEIN_TOKEN_FILE
  const workers = await start(['worker', address, '--nworkers', '2', '--name', 'pair', '--resources', 'GPU=1'], /"component":"pair-\d".*ready: [^]*"component":"pair-\d".*ready: /, env)
  try {
    t.regex(workers.banner, /starting 2 worker process\(es\) of 1 slot\(s\) each/)
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { workers: number }
    t.is(health.workers, 2)
    const client = await Client.connect(address, { inProcess: false })
    try {
      // Each process offers GPU=1: two tasks needing one each can run at once, on different workers.
      const where = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(process.pid), ms))
      const pids = await client.gather([client.submitWith({ resources: { GPU: 1 }, pure: false }, where, 300), client.submitWith({ resources: { GPU: 1 }, pure: false }, where, 300)])
      t.is(new Set(pids).size, 2)
    } finally {
      await client.close()
    }
    workers.child.kill('SIGTERM')
    t.deepEqual(await workers.exited, { code: 0, signal: null })
    // The worker processes went with it: the scheduler sees their connections close.
    let left = 2
    for (let i = 0; i < 100 && left > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      left = ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { workers: number }).workers
    }
    t.is(left, 0)
  } finally {
    for (const p of [scheduler, workers]) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL')
  }
})

test('--log-level: info shows joins and the ready line, warning hides them, error keeps only why a process stopped', async (t) => {
  const port = await freePort()
  const address = `ws://127.0.0.1:${port}`
  const env = { ...process.env }
  delete env.SKEIN_TOKEN
  delete env.SKEIN_TOKEN_FILE
  const processes: Watched[] = []
  t.teardown(() => processes.forEach((p) => p.kill()))
  const workersJoined = async (n: number) => {
    for (let i = 0; i < 200; i++) {
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { workers: number }
      if (health.workers === n) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`never saw ${n} worker(s)`)
  }
  const quiet = watchCli(['scheduler', '--port', String(port), '--insecure', '--log-level', 'warning'], env)
  processes.push(quiet)
  await quiet.waitFor(/listening on/)
  const silent = watchCli(['worker', address, '--name', 'silent', '--log-level', 'warning'], env)
  processes.push(silent)
  await workersJoined(1)
  const loud = watchCli(['worker', address, '--name', 'loud'], env)
  processes.push(loud)
  await loud.waitFor(/"component":"loud".*ready: /)
  await workersJoined(2)
  t.notRegex(quiet.stderr(), /joined/)
  t.is(silent.stderr(), '')
  quiet.child.kill('SIGTERM')
  await quiet.exited
  // At error level, the give-up after the death timeout is still said.
  const alone = watchCli(['worker', address, '--name', 'alone', '--log-level', 'error', '--death-timeout', '0'], env)
  processes.push(alone)
  t.is((await alone.exited).code, 3)
  // JSON records (stderr is a pipe here): one line, at error.
  t.regex(alone.stderr(), /^\{"level":"error","time":\d+,"pid":\d+,"component":"alone",.*"msg":"cannot reach the scheduler/)

  const verbose = watchCli(['scheduler', '--port', String(await freePort()), '--insecure'], env)
  processes.push(verbose)
  const banner = await verbose.waitFor(/listening on ws:\/\/127\.0\.0\.1:(\d+)/)
  const other = `ws://127.0.0.1:${/listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(banner)![1]}`
  processes.push(watchCli(['worker', other, '--name', 'seen'], env))
  t.regex(await verbose.waitFor(/'seen'.* joined/), /worker \d+ 'seen' \(127\.0\.0\.1:\d+\) joined with 1 slot/)
})

test('skein worker --nworkers: worker processes that give up on the scheduler are not restarted, and the command exits with their code', async (t) => {
  const port = await freePort()
  const { code, stderr } = await runCli(['worker', `ws://127.0.0.1:${port}`, '--nworkers', '2', '--name', 'gone', '--death-timeout', '300ms'])
  t.is(code, 3, stderr)
  t.is(stderr.match(/cannot reach the scheduler at/g)?.length, 2, stderr)
  t.regex(stderr, /worker gone-0 \(pid \d+\) exited \(code 3\); not restarting it/)
  t.regex(stderr, /no worker process left; exiting/)
  t.notRegex(stderr, /restarted as pid/)
  // auto: one process per --slots cores.
  const auto = await runCli(['worker', `ws://127.0.0.1:${port}`, '--nworkers', 'auto', '--death-timeout', '0'])
  t.regex(auto.stderr, new RegExp(`starting ${availableParallelism()} worker process\\(es\\) of 1 slot\\(s\\) each`))
  t.is(auto.code, 3)
})

test('skein scheduler serves the dashboard at --dashboard-address and prints where; --no-dashboard serves none; a bad address is refused', async (t) => {
  const dashboardPort = await freePort()
  const scheduler = await start(['scheduler', '--port', String(await freePort()), '--insecure', '--dashboard-address', `:${dashboardPort}`], /listening on[^]*dashboard: \S+/)
  t.teardown(() => scheduler.child.kill())
  const link = /dashboard: (\S+)/.exec(scheduler.banner)![1]
  t.is(link, `http://127.0.0.1:${dashboardPort}/status`)
  const page = await fetch(link)
  t.is(page.status, 200)
  t.regex(await page.text(), /<script src="\/dashboard\.js"><\/script>/)
  scheduler.child.kill('SIGTERM')
  t.deepEqual(await scheduler.exited, { code: 0, signal: null })

  const none = await start(['scheduler', '--port', String(await freePort()), '--insecure', '--no-dashboard'], /listening on/)
  t.teardown(() => none.child.kill())
  t.notRegex(none.banner, /dashboard:/)
  none.child.kill('SIGTERM')
  await none.exited

  const bad = await runCli(['scheduler', '--port', '0', '--insecure', '--dashboard-address', 'here:there'])
  t.is(bad.code, 2)
  t.regex(bad.stderr, /dashboardAddress' must be 'host:port' or ':port'/)
})
