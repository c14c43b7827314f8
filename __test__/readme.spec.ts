import test from 'ava'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = path.join(__dirname, '..')
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')

/** The ```ts blocks of one README section, in order. */
function tsBlocks(heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`)
  if (start < 0) throw new Error(`README has no section "${heading}"`)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
}

// The examples import 'skein': a file inside the package resolves that to this package (self-reference).
async function runExample(name: string, source: string): Promise<string> {
  const dir = path.join(root, '.readme-test')
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `${name}.mts`)
  fs.writeFileSync(file, source)
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 60_000 })
  return stdout
}

test('the README example runs as written', async (t) => {
  const [example] = tsBlocks('Example')
  const out = await runExample('example', example)
  t.is(out.trim(), '9 [ 2, 3, 4 ]')
})

test('the client API tour in the README runs as written', async (t) => {
  const [tour] = tsBlocks('The client API')
  const out = await runExample('client-api', tour)
  t.regex(out, /\[ 1, 4, 9, 16 \]/)
  t.regex(out, /^8$/m)
  t.regex(out, /SKEIN_TASK_FAILED/)
  t.regex(out, /^retried 42$/m)
  t.regex(out, /^35$/m)
})

test('the waiting example in the README runs as written', async (t) => {
  const [, waiting] = tsBlocks('The client API')
  const out = await runExample('client-waiting', waiting)
  t.is(out.trim(), ['1 1', 'SKEIN_TIMEOUT', 'TimeoutError', '{ total: 10, pair: [ 1, 3 ] }', 'done 1', 'done 4'].join('\n'))
})

test('the datasets example in the README runs as written', async (t) => {
  const [, , datasets] = tsBlocks('The client API')
  const out = await runExample('client-datasets', datasets)
  t.is(out.trim(), ["[ 'tables' ]", '{ table: [ 3, 1, 2 ], sorted: [ 1, 2, 3 ] }'].join('\n'))
})

test('the run, replicate and whoHas example in the README runs as written', async (t) => {
  const [, , , everywhere] = tsBlocks('The client API')
  const out = await runExample('client-run-replicate', everywhere)
  t.is(
    out.trim(),
    ["{ 'local-0': 2, 'local-1': 2, 'local-2': 2 }", "{ 'local-1': 'LOCAL-1' }", 'ok SKEIN_RUN_FAILED', '2', "[ 'local-0', 'local-1', 'local-2' ]"].join('\n'),
  )
})

test('the tasks-that-submit-tasks example in the README runs as written', async (t) => {
  const [example] = tsBlocks('Tasks that submit tasks')
  const out = await runExample('tasks-submit-tasks', example)
  t.is(out.trim(), '55')
})

test('the embedding example in the README runs as written', async (t) => {
  const [embedding] = tsBlocks('Embedding the scheduler, and the CLI')
  // port 8786 may be taken on a shared machine; the example is the same with a free port
  await t.notThrowsAsync(runExample('embedding', embedding.replace('port: 8786', 'port: 0')))
})

test('the observability example in the README runs as written and prints what the README says', async (t) => {
  const [example] = tsBlocks('Dashboard and Observability')
  const out = await runExample('observability', example)
  const section = readme.slice(readme.indexOf('\n## Dashboard and Observability\n'))
  const printed = /prints\n\n```\n([\s\S]*?)```/.exec(section)![1]
  t.is(out.trim(), printed.trim())
})

test('the logging example in the README runs as written', async (t) => {
  const example = tsBlocks('Dashboard and Observability').find((block) => block.includes('forwardLogs'))!
  const out = await runExample('logging', example)
  t.is(out.trim(), ['5', 'info from local-0 [shout-hello]: shouting hello', 'warn from local-0 [shout-hello]: HELLO!', "[ 'warn local-0: HELLO!' ]"].join('\n'))
})

test('the event log example in the README runs as written and prints what the README says', async (t) => {
  const section = readme.slice(readme.indexOf('\n### Event log and replay\n'))
  const example = /```ts\n([\s\S]*?)```/.exec(section)![1]
  const out = await runExample('event-log', example)
  const printed = /prints\n\n```\n([\s\S]*?)```/.exec(section)![1]
  t.is(out.trim(), printed.trim())
})

test('the performance report example in the README runs as written and writes its file', async (t) => {
  const [, report] = tsBlocks('Dashboard and Observability')
  const file = path.join(os.tmpdir(), 'skein-report.html')
  fs.rmSync(file, { force: true })
  const out = await runExample('performance-report', report)
  t.is(out.trim(), '2646700')
  t.regex(fs.readFileSync(file, 'utf8'), /<script id="skein-report" type="application\/json">/)
})
