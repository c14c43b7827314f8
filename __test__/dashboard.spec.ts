/**
 * The dashboard (served by the scheduler on a port of its own) and performance reports, driven
 * in Debian's headless Chromium by playwright-core; the checks that need no browser (the token,
 * the feed's content, the report's data, options) run everywhere.
 */
import test, { type ExecutionContext } from 'ava'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WebSocket } from 'ws'
import { Client, Scheduler, SchedulerOptionsError, Worker } from '../ts/index'
import type { DashboardUpdate, ReportData } from '../ts/dashboard'

/** Where Chromium may be: CHROMIUM_PATH, else Debian's package, else the usual names. */
function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => p !== undefined && p !== '')
  return candidates.find((p) => fs.existsSync(p)) ?? null
}

const chromiumPath = findChromium()
const NO_CHROMIUM = 'no Chromium found (apt-get install chromium, or set CHROMIUM_PATH): the browser tests are skipped'
if (chromiumPath === null) console.log(`dashboard.spec: ${NO_CHROMIUM}`)
/** A test that drives the browser, skipped (with the reason in its title) when there is none. */
const browserTest: (title: string, run: (t: ExecutionContext) => Promise<void>) => void =
  chromiumPath === null ? (title) => test.skip(`${title} (skipped: ${NO_CHROMIUM})`, () => {}) : (title, run) => test.serial(title, run)

async function launch() {
  const { chromium } = await import('playwright-core')
  // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox'] })
}

/** A scheduler with a token and its dashboard on a free port, and two named workers of one slot. */
async function cluster(names = ['dash-a', 'dash-b']) {
  const scheduler = await new Scheduler({ dashboardAddress: ':0' }).listen()
  const workers = await Promise.all(names.map((name) => Worker.start({ scheduler: scheduler.address, name, slots: 1, log: () => {} })))
  const client = await Client.connect(scheduler.address)
  return {
    scheduler,
    client,
    link: scheduler.dashboardLink!,
    async [Symbol.asyncDispose]() {
      await client.close()
      await Promise.all(workers.map((w) => w.close()))
      await scheduler.close()
    },
  }
}

function busy(ms: number): number {
  const until = Date.now() + ms
  while (Date.now() < until);
  return ms
}

function failing(x: number): number {
  if (x === 3) throw new Error('three is not allowed')
  return x
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

browserTest('the dashboard shows both workers by name, progress bars that move and complete, task-stream bars, and a key story reached by search', async (t) => {
  await using c = await cluster()
  const browser = await launch()
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(`${c.link}?token=${encodeURIComponent(c.scheduler.token!)}`)
  // The token left the address bar at once (a cookie stands for it).
  t.false(page.url().includes('token'))
  await page.locator('#connection', { hasText: 'live' }).waitFor()
  await page.locator('.worker-row[data-worker="dash-a"]').waitFor()
  await page.locator('.worker-row[data-worker="dash-b"]').waitFor()

  // Distinct arguments: equal ones would be one task (same key).
  const futures = c.client.map(busy, Array.from({ length: 60 }, (_, i) => 20 + i / 1000))
  const seen: [number, number][] = []
  const done = c.client.gather(futures)
  let finished = false
  void done.then(() => (finished = true))
  const screenshot = process.env.SKEIN_DASHBOARD_SCREENSHOT
  let shot = false
  while (!finished || seen.at(-1)?.[0] !== seen.at(-1)?.[1]) {
    const row = page.locator('.prefix-row[data-prefix="busy"]')
    if ((await row.count()) === 1) seen.push([Number(await row.getAttribute('data-completed')), Number(await row.getAttribute('data-total'))])
    if (screenshot !== undefined && !shot && (seen.at(-1)?.[0] ?? 0) > 25) {
      shot = true
      await page.screenshot({ path: screenshot })
    }
    if (finished && seen.length > 0 && seen.at(-1)![0] === seen.at(-1)![1]) break
    await sleep(50)
  }
  await done
  const completed = seen.map(([n]) => n)
  t.log(`progress of 'busy' as seen: ${completed.join(' ')}`)
  t.true(
    completed.some((n) => n > 0 && n < 60),
    'the bar was seen part way',
  )
  t.deepEqual(seen.at(-1), [60, 60])
  t.true(
    completed.every((n, i) => i === 0 || n >= completed[i - 1]),
    'it only moves forward',
  )
  await page.waitForFunction("Number(document.querySelector('#task-stream')?.getAttribute('data-bars')) >= 60")
  t.true(Number(await page.locator('[data-chart="task-stream"]').getAttribute('data-rows')) >= 60, 'the chart drew the bars')

  // A key's story, from the search box.
  const key = futures[0].key
  await page.fill('input[name="key"]', key)
  await page.click('button[type="submit"]')
  await page.locator(`#story[data-key="${key}"]`).waitFor()
  t.is(await page.locator('[data-state]').getAttribute('data-state'), 'memory')
  const stimuli = await page.locator('.transition td:nth-child(4)').allTextContents()
  t.true(stimuli.includes('task-finished'), stimuli.join(', '))
  t.deepEqual(errors, [])
})

browserTest('a token-protected dashboard refuses a browser without the token, and serves it with', async (t) => {
  await using c = await cluster(['dash-c'])
  const browser = await launch()
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const refused = await page.goto(c.link)
  t.is(refused?.status(), 401)
  t.regex(await page.locator('body').innerText(), /needs the cluster's token/)
  t.false((await page.content()).includes(c.scheduler.token!))
  const wrong = await page.goto(`${c.link}?token=not-the-token-at-all`)
  t.is(wrong?.status(), 401)
  const served = await page.goto(`${c.link}?token=${encodeURIComponent(c.scheduler.token!)}`)
  t.is(served?.status(), 200)
  await page.locator('.worker-row[data-worker="dash-c"]').waitFor()
  t.false((await page.content()).includes(c.scheduler.token!), 'the token is in no page')
  const cookies = await page.context().cookies()
  t.is(cookies.length, 1)
  t.true(cookies[0].httpOnly)
  t.not(cookies[0].value, c.scheduler.token)
})

browserTest('a performance report is one self-contained file that shows the task stream, time per prefix and the workers', async (t) => {
  await using c = await cluster()
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skein-report-')), 'report.html')
  t.teardown(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }))
  const result = await c.client.performanceReport(file, async () => c.client.gather(c.client.map(busy, Array.from({ length: 12 }, (_, i) => 5 + i))))
  t.is(result.length, 12)
  const browser = await launch()
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  // No network: everything it shows is in the file.
  await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()))
  await page.goto(`file://${file}`)
  await page.waitForFunction(`Number(document.querySelector('[data-chart="task-stream"]')?.getAttribute('data-rows')) === 12`)
  t.is(await page.locator('#timings tr[data-prefix="busy"]').getAttribute('data-runs'), '12')
  t.is(await page.locator('#worker-use tr[data-worker]').count(), 2)
})

/** The first update a plain WebSocket client gets from the dashboard (the token as a Bearer header). */
function firstUpdate(link: string, token: string, accept: (u: DashboardUpdate) => boolean = () => true): Promise<DashboardUpdate> {
  const url = new URL(link)
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${url.host}/ws`, { headers: { authorization: `Bearer ${token}` } })
    ws.on('message', (data) => {
      const update = JSON.parse(String(data)) as DashboardUpdate
      if (!accept(update)) return
      ws.close()
      resolve(update)
    })
    ws.on('error', reject)
  })
}

test('the dashboard refuses requests and WebSockets without the token; ?token= sets an HttpOnly cookie (not the token) and leaves the URL', async (t) => {
  await using scheduler = await new Scheduler({ dashboardAddress: ':0' }).listen()
  const link = scheduler.dashboardLink!
  const token = scheduler.token!
  t.regex(link, /^http:\/\/127\.0\.0\.1:\d+\/status$/)
  t.is((await fetch(link)).status, 401)
  t.is((await fetch(`${link}?token=wrong-token-of-some-length`, { redirect: 'manual' })).status, 401)
  const opened = await fetch(`${link}?token=${encodeURIComponent(token)}`, { redirect: 'manual' })
  t.is(opened.status, 303)
  t.is(opened.headers.get('location'), '/status')
  const cookie = opened.headers.get('set-cookie')!
  t.regex(cookie, /HttpOnly/)
  t.regex(cookie, /SameSite=Strict/)
  t.false(cookie.includes(token))
  const page = await fetch(link, { headers: { cookie: cookie.split(';')[0] } })
  t.is(page.status, 200)
  t.false((await page.text()).includes(token))
  t.is((await fetch(new URL('/dashboard.js', link), { headers: { authorization: `Bearer ${token}` } })).status, 200)
  t.is((await fetch(new URL('/dashboard.js', link))).status, 401)
  const url = new URL(link)
  const refusedWs = await new Promise<string>((resolve) => {
    const ws = new WebSocket(`ws://${url.host}/ws`)
    ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)))
    ws.on('open', () => resolve('open'))
  })
  t.is(refusedWs, '401')
  const foreign = await new Promise<string>((resolve) => {
    const ws = new WebSocket(`ws://${url.host}/ws`, { headers: { authorization: `Bearer ${token}`, origin: 'http://evil.example' } })
    ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)))
    ws.on('open', () => resolve('open'))
  })
  t.is(foreign, '403')
})

test('the feed: workers by name with their usage, progress per prefix with errors, the runs that ended, transfers, and the last minute of them for a page that joins later', async (t) => {
  await using c = await cluster()
  const token = c.scheduler.token!
  // A page open before the work: it gets the runs as they end.
  const runs: number[] = []
  const url = new URL(c.link)
  const ws = new WebSocket(`ws://${url.host}/ws`, { headers: { authorization: `Bearer ${token}` } })
  t.teardown(() => ws.close())
  let last: DashboardUpdate | undefined
  let names: string[] = []
  ws.on('message', (data) => {
    last = JSON.parse(String(data)) as DashboardUpdate
    if (last.prefixNames !== null) names = last.prefixNames
    runs.push(...last.runs)
  })
  await new Promise((resolve) => ws.once('open', resolve))
  const futures = c.client.map(failing, [1, 2, 3, 4])
  await Promise.allSettled(futures.map((f) => f.result()))
  // An input made on dash-a and used on dash-b: dash-b fetches it, and its next heartbeat says so.
  const made = c.client.submitWith({ restrictions: ['dash-a'] }, (n: number) => 'x'.repeat(n), 5000)
  const used = c.client.submitWith({ restrictions: ['dash-b'] }, (s: string) => s.length, made)
  t.is(await used, 5000)
  await sleep(1500) // a heartbeat with the workers' usage, and a few updates
  const update = last!
  t.deepEqual(update.workers.map((w) => w.name).sort(), ['dash-a', 'dash-b'])
  for (const w of update.workers) {
    t.is(w.slots, 1)
    t.true(w.memory.process > 0, 'process memory came with the heartbeat')
    t.true(w.lastSeenMs >= 0)
  }
  const row = update.prefixes.find((p) => p.prefix === 'failing')!
  t.is(row.erred, 1)
  t.is(row.memory, 3)
  t.is(update.scheduler.clients, 1)
  t.is(update.scheduler.workers, 2)
  t.is(runs.length % 5, 0)
  const ended = []
  for (let i = 0; i < runs.length; i += 5) ended.push({ prefix: names[runs[i + 1]], erred: runs[i + 4], start: runs[i + 2], end: runs[i + 3] })
  const fetched = []
  for (let i = 0; i < runs.length; i += 5) if (runs[i + 1] === -1) fetched.push(runs[i])
  t.deepEqual(fetched, [update.workers.find((w) => w.name === 'dash-b')!.id], 'one transfer, on dash-b')
  const mine = ended.filter((r) => r.prefix === 'failing')
  t.is(mine.length, 4)
  t.is(mine.filter((r) => r.erred === 1).length, 1)
  t.true(mine.every((r) => r.start <= r.end))
  // A page that joins later gets the last minute of runs at once, with every prefix name.
  const joined = await firstUpdate(c.link, token)
  t.true(joined.prefixNames!.includes('failing'))
  t.is(joined.runs.length, runs.length)
})

test('performanceReport writes one HTML file with the bundle and the runs of its window inlined, also when the work throws', async (t) => {
  await using c = await cluster(['dash-r'])
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skein-report-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  await c.client.gather(c.client.map(busy, [1, 2])) // before the window: not in the report
  const file = path.join(dir, 'r.html')
  await c.client.performanceReport(file, () => c.client.gather(c.client.map(busy, [3, 4, 5])), { title: 'three runs' })
  const html = fs.readFileSync(file, 'utf8')
  t.false(/<script src=/.test(html), 'nothing to fetch')
  const data = JSON.parse(/<script id="skein-report" type="application\/json">(.*?)<\/script>/s.exec(html)![1]) as ReportData
  t.is(data.title, 'three runs')
  t.is(data.runs.length, 3 * 5)
  t.deepEqual(data.workers.map((w) => w[1]), ['dash-r'])
  t.true(data.end >= data.start)

  const failed = path.join(dir, 'failed.html')
  await t.throwsAsync(
    c.client.performanceReport(failed, async () => {
      await c.client.gather(c.client.map(busy, [6]))
      throw new Error('the work failed')
    }),
    { message: 'the work failed' },
  )
  t.true(fs.existsSync(failed))
  await t.throwsAsync(c.client.performanceReport(path.join(dir, 'x.html'), async () => 1, { colour: 'red' } as never), { code: 'SKEIN_INVALID_OPTIONS' })
})

test('dashboard options: off, a bad address refused at construction, a taken port replaced by a free one (logged)', async (t) => {
  await using off = await new Scheduler({ dashboard: false }).listen()
  t.is(off.dashboardLink, null)
  t.throws(() => new Scheduler({ dashboardAddress: 'nowhere:http' }), { instanceOf: SchedulerOptionsError, message: /dashboardAddress/ })
  await using first = await new Scheduler({ dashboardAddress: '127.0.0.1:0' }).listen()
  const port = Number(new URL(first.dashboardLink!).port)
  const lines: string[] = []
  await using second = await new Scheduler({ dashboardAddress: `:${port}`, log: (l) => lines.push(l) }).listen()
  const other = Number(new URL(second.dashboardLink!).port)
  t.not(other, port)
  t.true(
    lines.some((l) => l.includes(`port ${port} is taken`) && l.includes(String(other))),
    lines.join('\n'),
  )
  const update = await firstUpdate(second.dashboardLink!, second.token!)
  t.is(update.scheduler.workers, 0)
})
