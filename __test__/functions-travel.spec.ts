import test from 'ava'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { TaskError, moduleFunction, type Client } from '../ts/index'
import { inheritedExecArgv } from '../ts/cluster/inherited-exec-argv'
import { sharedCluster } from './helpers/shared-cluster'

// Functions written in TypeScript and modern JavaScript, shipped as the source their compiler made.
const shared = sharedCluster(test, { workers: 1 })
const connect = () => shared.connect()

const fixtures = path.join(__dirname, 'fixtures')
const downlevelSource = fs.readFileSync(path.join(fixtures, 'downlevel-tasks.ts'), 'utf8')

type Exports = Record<string, (...args: any[]) => unknown>

/** The module's exports, loaded here as the compiler wrote them, its own helpers at the top. */
function loadCommonJs(code: string): Exports {
  const module = { exports: {} as Exports }
  new Function('exports', 'require', 'module', code)(module.exports, require, module)
  return module.exports
}

const downlevelArgs: Record<string, unknown[]> = {
  sumSlowly: [[1, 2, 3]],
  reshape: [{ id: 21, tags: ['a', 'b', 'c'], extra: true }],
  fibonacci: [10],
  collect: [3],
  shapes: [3],
  tagged: ['skein'],
}

/** Runs every export here (the compiler's helpers) and on a worker (skein's), and compares. */
async function runsLikeHere(t: import('ava').ExecutionContext, client: Client, exported: Exports, helpersExpected: RegExp) {
  t.deepEqual(Object.keys(exported).sort(), Object.keys(downlevelArgs).sort())
  const shipped = Object.values(exported).map(String).join('\n')
  t.regex(shipped, helpersExpected, 'the compiled functions call helpers the worker has to provide')
  for (const [name, fn] of Object.entries(exported)) {
    const args = downlevelArgs[name]
    const here = await fn(...args)
    t.deepEqual(await client.submit(fn, ...args), here, `${name} gives on a worker what it gives here`)
  }
}

test('a TypeScript task with inner named functions and an async arrow runs (tsx names them with __name)', async (t) => {
  const client = await connect()
  const wordStats = async (text: string) => {
    function countVowels(word: string) {
      return [...word].filter((c) => 'aeiou'.includes(c)).length
    }
    const lengthOf = async (word: string) => word.length
    const words = text.split(' ')
    const lengths = await Promise.all(words.map(lengthOf))
    return { vowels: words.map(countVowels), lengths }
  }
  t.regex(String(wordStats), /__name\(/, 'this test runs under tsx, which keeps names with __name')
  t.deepEqual(await client.submit(wordStats, 'shipped functions travel'), { vowels: [2, 3, 2], lengths: [7, 9, 6] })
  await client.close()
})

test('code tsc downlevelled to ES5 runs on workers: __awaiter, __generator, spreads, rest, __extends', async (t) => {
  const client = await connect()
  const { outputText } = ts.transpileModule(downlevelSource, {
    compilerOptions: { target: ts.ScriptTarget.ES5, module: ts.ModuleKind.CommonJS, downlevelIteration: true },
  })
  await runsLikeHere(t, client, loadCommonJs(outputText), /__awaiter[\s\S]*__generator|__generator[\s\S]*__awaiter/)
  await client.close()
})

test('code tsc compiled for ES2015 runs on workers: async generators, for await, #private fields', async (t) => {
  const client = await connect()
  const { outputText } = ts.transpileModule(downlevelSource, {
    compilerOptions: { target: ts.ScriptTarget.ES2015, module: ts.ModuleKind.CommonJS },
  })
  await runsLikeHere(t, client, loadCommonJs(outputText), /__asyncGenerator/)
  await client.close()
})

test('code esbuild lowered to ES2015 runs on workers: __async, __asyncGenerator, __objRest, __spreadValues, __privateAdd', async (t) => {
  const client = await connect()
  const lowered = fs.readFileSync(path.join(fixtures, 'downlevel-tasks.esbuild-es2015.cjs'), 'utf8')
  await runsLikeHere(t, client, loadCommonJs(lowered), /__async\(/)
  await client.close()
})

test('a task with `using` declarations runs (lowered to __using and __callDispose where Node lacks them)', async (t) => {
  const client = await connect()
  const disposeInOrder = (names: string[]) => {
    const disposed: string[] = []
    const resource = (name: string) => ({ [Symbol.dispose]: () => disposed.push(name) })
    {
      using first = resource(names[0])
      using second = resource(names[1])
      disposed.push(`${first === second} body`)
    }
    return disposed
  }
  t.deepEqual(await client.submit(disposeInOrder, ['a', 'b']), ['false body', 'b', 'a'])
  await client.close()
})

test('a module function written in TypeScript runs: workers import it through the parent process loader', async (t) => {
  const client = await connect()
  const summarize = moduleFunction<(text: string) => { words: number; digest: string }>('./__test__/fixtures/typed-tasks.ts', 'summarize')
  const digest = createHash('sha256').update('TYPED TASKS TRAVEL').digest('hex').slice(0, 8)
  t.deepEqual(await client.submit(summarize, 'typed tasks travel'), { words: 3, digest })
  await client.close()
})

test('a captured variable named like a global fails with the error of any captured variable', async (t) => {
  const client = await connect()
  const crypto = { randomUUID: () => 'an id of our own' }
  const makeId = () => crypto.randomUUID()
  const offset = 10
  const addOffset = (x: number) => x + offset
  // esbuild renames a local that shadows a global the file also uses free (crypto2): this file must not.
  t.regex(String(makeId), /\bcrypto\.randomUUID\(/, 'the shipped source names the captured variable crypto')
  for (const [fn, name, identifier] of [
    [makeId, 'makeId', 'crypto'],
    [addOffset, 'addOffset', 'offset'],
  ] as const) {
    const err = await t.throwsAsync(client.submit(fn as (x?: number) => unknown, 1), { instanceOf: TaskError })
    t.regex(err!.message, new RegExp(`shipped function '${name}' refers to '${identifier}', which is not defined on the worker`))
    t.regex(err!.message, /module function/)
  }
  await client.close()
})

test('a captured global-named variable fails only where it is used, and the real global still works', async (t) => {
  const client = await connect()
  const performance = { now: () => 0 }
  const timed = (n: number) => {
    if (n < 0) return performance.now()
    const started = globalThis.performance.now()
    return typeof started === 'number' ? n * 2 : -1
  }
  t.is(await client.submit(timed, 4), 8, 'the path that does not touch the captured variable runs')
  const err = await t.throwsAsync(client.submit(timed, -1), { instanceOf: TaskError })
  t.regex(err!.message, /refers to 'performance'/)
  const nested = () => [1, 2].map(() => performance.now())
  await t.throwsAsync(client.submit(nested), { instanceOf: TaskError, message: /refers to 'performance'/ })
  t.is(await client.submit((text: string) => new TextEncoder().encode(text).length, 'héllo'), 6, 'a global, not captured')
  t.is(await client.submit((crypto: string) => crypto.length, 'own parameter'), 13, 'a parameter named like a global')
  await client.close()
})

test('workers inherit the module loader flags, not debugger ports, profilers or parent modes', (t) => {
  t.deepEqual(inheritedExecArgv(['--import', 'tsx', '--inspect-port', '9230', '-r', 'ts-node/register', '--cpu-prof', '--loader=esm-loader']), [
    '--import',
    'tsx',
    '-r',
    'ts-node/register',
    '--loader=esm-loader',
  ])
  t.deepEqual(inheritedExecArgv(['--inspect=9229', '--experimental-vm-modules', '--max-old-space-size=100', '--experimental-test-coverage', '--enable-source-maps', '--expose-gc']), [
    '--experimental-vm-modules',
    '--enable-source-maps',
  ])
  t.deepEqual(inheritedExecArgv(['--eval', 'console.log(1)', '--conditions', 'development', '--test', '--watch']), ['--conditions', 'development'])
})
