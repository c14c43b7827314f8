import test from 'ava'
import { createHash } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import {
  GraphWriter,
  InvalidTaskError,
  KeyRef,
  MODULE,
  SHIPPED,
  decodeTaskPayload,
  moduleFunction,
  orderGraph,
  task,
  taskWith,
} from '../ts/graph'
import { decode } from '../ts/protocol'
import type { Task } from '../ts/graph'

/** The native graph layout of `tasks`, as the client writes it into a 'submit'. */
function graphBytes(tasks: readonly Task[]): Buffer {
  const writer = new GraphWriter(256)
  for (const t of tasks) writer.add(t)
  return writer.finish()
}

const inc = (x: number) => x + 1
const add = (a: number, b: number) => a + b

test('same function and arguments give the same key; name prefixes it', (t) => {
  const a = task(inc, 1)
  const b = task(inc, 1)
  t.is(a.key, b.key)
  t.regex(a.key, /^inc-[0-9a-f]{16}$/)
  t.not(task(inc, 2).key, a.key)
  t.not(task((x: number) => x + 2, 1).key, a.key)
})

test('pure: false gives every call its own key; key: names it', (t) => {
  const a = taskWith({ pure: false }, inc, 1)
  const b = taskWith({ pure: false }, inc, 1)
  t.not(a.key, b.key)
  t.is(taskWith({ key: 'mine' }, inc, 1).key, 'mine')
})

test('dependencies are found by type inside arrays and objects, not by string', (t) => {
  const one = task(inc, 1)
  const two = task(inc, 2)
  const sum = task((o: { xs: number[]; y: number; label: string }) => o, { xs: [one, 5], y: two as unknown as number, label: one.key })
  t.deepEqual(sum.dependencies, [one.key, two.key])
  t.deepEqual(sum.upstream, [one, two])
  const { args } = decodeTaskPayload(sum.payload)
  const arg = args[0] as { xs: unknown[]; y: unknown; label: unknown }
  t.true(arg.xs[0] instanceof KeyRef)
  t.is((arg.xs[0] as KeyRef).key, one.key)
  t.is(arg.xs[1], 5)
  t.true(arg.y instanceof KeyRef)
  t.is(arg.label, one.key, 'a string equal to a key stays a string')
})

test('flat arguments (a reduction): each dependency once, in order of first appearance, duplicates and KeyRefs included; nested ones agree', (t) => {
  const parts = Array.from({ length: 30 }, (_, i) => task(inc, i))
  const sum = (...xs: unknown[]) => xs.length
  // Past 16 distinct keys, repeats of early and late ones, a bare KeyRef, and plain values among them.
  const flatArgs = [...parts.slice(0, 20), parts[3], 7, new KeyRef('elsewhere'), ...parts.slice(18), parts[0], 'x', new KeyRef('elsewhere'), null]
  const flat = task(sum, ...flatArgs)
  const expected = [...parts.slice(0, 20).map((p) => p.key), 'elsewhere', ...parts.slice(20).map((p) => p.key)]
  t.deepEqual(flat.dependencies, expected)
  t.deepEqual(flat.upstream, parts)
  const nested = task((xs: unknown[]) => xs.length, flatArgs)
  t.deepEqual(nested.dependencies, expected, 'the same arguments one level down (the general walk) give the same dependencies')
  t.deepEqual(nested.upstream, parts)
  const { args } = decodeTaskPayload(flat.payload)
  t.deepEqual(args, (decodeTaskPayload(nested.payload).args[0] as unknown[]))
  t.true(args[0] instanceof KeyRef && args[0].key === parts[0].key)
  t.is(args[21], 7)
  t.throws(() => task(sum, parts[0], () => 1), { instanceOf: InvalidTaskError, message: /argument args\[1\] is a function/ })
})

test('a string equal to a key is not a dependency', (t) => {
  const one = task(inc, 1)
  const echo = task((s: string) => s, one.key)
  t.deepEqual(echo.dependencies, [])
  t.is(decodeTaskPayload(echo.payload).args[0], one.key)
})

test('arguments are not copied when nothing is replaced', (t) => {
  const data = { a: [1, 2, 3] }
  const x = task((d: typeof data) => d, data)
  t.is(x.args[0], data)
})

test('a KeyRef argument is a dependency without an upstream task', (t) => {
  const x = task(inc, new KeyRef('elsewhere'))
  t.deepEqual(x.dependencies, ['elsewhere'])
  t.deepEqual(x.upstream, [])
})

test('moduleFunction resolves relative specifiers against the cwd', (t) => {
  const f = moduleFunction<(x: number) => number>('./__test__/fixtures/tasks.mjs', 'inc')
  t.is(f.specifier, pathToFileURL(resolve(process.cwd(), '__test__/fixtures/tasks.mjs')).href)
  t.is(moduleFunction('lodash').specifier, 'lodash')
  t.is(moduleFunction('lodash').exportName, 'default')
  const x = task(f, 1)
  t.deepEqual(decodeTaskPayload(x.payload).fn, [MODULE, f.specifier, 'inc'])
  t.regex(x.key, /^inc-/)
})

test('shipped functions carry a 128-bit hash of their source', (t) => {
  const x = task(inc, 1)
  const fn = decodeTaskPayload(x.payload).fn
  t.is(fn[0], SHIPPED)
  t.is(fn[1], createHash('sha256').update(inc.toString()).digest('hex').slice(0, 32))
  t.is(fn[2], 'inc')
  t.is(task((y: number) => y, 1).name, 'anonymous')
})

test('bad arguments and options fail naming what is wrong', (t) => {
  t.throws(() => task((f: () => void) => f, () => {}), { instanceOf: InvalidTaskError, message: /args\[0\] is a function/ })
  t.throws(() => task((o: object) => o, { deep: [1, new (class Point {})()] }), { instanceOf: InvalidTaskError, message: /args\[0\]\.deep\[1\] is an instance of Point/ })
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  t.throws(() => task((o: object) => o, cyclic), { message: /args\[0\]\.self refers back to itself/ })
  t.throws(() => taskWith({ priority: 1.5 }, inc, 1), { message: /priority must be a 32-bit integer/ })
  t.throws(() => taskWith({ resources: { gpu: -1 } }, inc, 1), { message: /resource gpu/ })
  t.throws(() => task(Math.max, 1), { message: /no shippable source/ })
  t.throws(() => task(42 as unknown as () => void), { message: /needs a function/ })
})

test('orderGraph orders dependencies first and skips known keys with their upstream', (t) => {
  const a = task(inc, 1)
  const b = task(inc, a)
  const c = task(add, a, b)
  const all = orderGraph([c], () => false)
  t.deepEqual(all.tasks.map((x) => x.key), [a.key, b.key, c.key])
  t.is(all.functions.length, 2)
  const partial = orderGraph([c], (key) => key === b.key)
  t.deepEqual(partial.tasks.map((x) => x.key), [a.key, c.key])
  const none = orderGraph([c], (key) => key === c.key)
  t.deepEqual(none.tasks, [])
})

test('orderGraph refuses two different tasks with one explicit key', (t) => {
  const a = taskWith({ key: 'k' }, inc, 1)
  const b = taskWith({ key: 'k' }, inc, 2)
  t.throws(() => orderGraph([a, b], () => false), { message: /two different tasks have the key k/ })
})

test('GraphWriter writes the native layout', (t) => {
  const a = taskWith({ priority: 3, restrictions: ['w1'], resources: { gpu: 1 } }, inc, 1)
  const b = task(inc, a)
  const wire = decode(graphBytes([a, b])) as unknown[][]
  t.is(wire.length, 2)
  t.deepEqual(wire[0].slice(0, 2), [a.key, 'inc'])
  t.true(Buffer.isBuffer(wire[0][2]) || wire[0][2] instanceof Uint8Array)
  t.deepEqual(wire[0].slice(3, 6), [[], 3, ['w1']])
  t.deepEqual(wire[0][6], new Map([['gpu', 1]]))
  t.deepEqual(wire[1].slice(3), [[a.key], 0, null, null])
  // The resources must be a MessagePack map (0x81 = fixmap of 1), not a msgpackr record.
  t.true(graphBytes([a]).includes(Buffer.from([0x81, 0xa3, 0x67, 0x70, 0x75])))
})
