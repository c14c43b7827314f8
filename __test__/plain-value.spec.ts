import { createHash } from 'node:crypto'
import test from 'ava'
import { decode, encode, KeyRef } from '../ts/protocol'
import { buildTask, callTemplate, GraphWriter, moduleFunction, type TaskOptions } from '../ts/graph'
import { MAX_PLAIN_BYTES, MAX_PLAIN_STRING, NOT_PLAIN, readPlainValue, writePlainValue } from '../ts/graph/plain-value'
import { encodePlainPayload, encodeTaskPayload } from '../ts/graph/payload'

/** The edges of every branch of the codec's number, string and constant encodings. */
const PLAIN: unknown[] = [
  0, 1, 31, 32, 63, 64, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, Number.MAX_SAFE_INTEGER,
  -1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53),
  0.5, -0.5, 1.5, 1e-300, 1e300, Number.MIN_VALUE, Number.EPSILON, NaN, -0, Infinity, -Infinity, Math.PI,
  true, false, null,
  '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(MAX_PLAIN_STRING), '\u007f', 'inc-0123456789abcdef',
]

/** Values the fast path must leave to the codec. */
const UNWRITABLE: unknown[] = ['é', 'x'.repeat(MAX_PLAIN_STRING + 1), 'a\u{1F600}', undefined, 1n, [1], { a: 1 }, new Date(0), Symbol('s'), () => 1]

test('writePlainValue writes exactly what the codec does, and refuses what it does not cover', (t) => {
  const buf = Buffer.alloc(MAX_PLAIN_BYTES + 8)
  for (const value of PLAIN) {
    const end = writePlainValue(buf, 3, value)
    t.true(end > 3, `${String(value)} is plain`)
    t.is(buf.subarray(3, end).toString('hex'), encode(value).toString('hex'), `bytes of ${String(value)}`)
  }
  for (let i = 0; i < 2000; i++) {
    const value = (Math.random() - 0.5) * 2 ** (Math.random() * 70)
    for (const v of [value, Math.round(value)]) {
      const end = writePlainValue(buf, 0, v)
      t.is(buf.subarray(0, end).toString('hex'), encode(v).toString('hex'), `bytes of ${v}`)
    }
  }
  for (const value of UNWRITABLE) t.is(writePlainValue(buf, 0, value), -1, `${String(value)} is not plain`)
})

const inc = (x: number) => x + 1

/** Options whose tasks the template writes, each a different tail or header. */
const TEMPLATE_OPTIONS: (TaskOptions | undefined)[] = [
  undefined,
  {},
  { priority: 5, pure: true },
  { priority: -100000 },
  { restrictions: ['w-1', 'w-2'], allowOtherWorkers: true },
  { resources: { gpu: 1, memory: 2.5 } },
  { retries: 3 },
]

test('a task written from a call template has the bytes and key of the Task buildTask makes', (t) => {
  const lengthy = function aFunctionWithAVeryLongNameThatIsLongerThanThirtyTwoCharacters(x: unknown) {
    return x
  }
  const unicode = { ['naïve']: (x: unknown) => x }['naïve']
  const fns = [inc, lengthy, unicode, moduleFunction('./__test__/fixtures/tasks.mjs', 'inc'), moduleFunction('pkg-' + 'p'.repeat(300), 'x')]
  for (const fn of fns) {
    for (const options of TEMPLATE_OPTIONS) {
      const template = callTemplate(fn, options)
      if (template === null) return t.fail('these options take the template')
      for (const item of PLAIN) {
        const fast = new GraphWriter()
        const key = fast.addCall(template, item)
        const slow = new GraphWriter()
        const task = buildTask(fn, [item], options)
        slow.add(task)
        t.is(key, task.key)
        t.is(task.key, `${fn.name}-${createHash('sha256').update(task.payload).digest('hex').slice(0, 16)}`, 'a key is the name and the sha256 of the payload')
        t.is(fast.finish().toString('hex'), slow.finish().toString('hex'), `${fn.name}(${String(item)}) with ${JSON.stringify(options)}`)
      }
      t.is(new GraphWriter().addCall(template, { not: 'plain' }), null)
    }
  }
})

test('options a template cannot carry leave the tasks to buildTask', (t) => {
  t.is(callTemplate(inc, { pure: false }), null)
  t.is(callTemplate(inc, { timeoutMs: 100 }), null)
  t.throws(() => callTemplate(inc, { priority: 1.5 }), { message: /priority must be a 32-bit integer/ })
  t.throws(() => callTemplate(inc, { colour: 'red' } as TaskOptions), { message: /unknown option 'colour'/ })
})

test('a payload written by hand has the bytes the codec gives [fn, args], for plain values and KeyRefs; others are left to the codec', (t) => {
  const refs = [callTemplate(inc, undefined)!.fn, moduleFunction('./__test__/fixtures/tasks.mjs', 'inc')]
  const argLists: unknown[][] = [
    [],
    [1],
    PLAIN,
    PLAIN.slice(0, 15),
    PLAIN.slice(0, 16),
    [new KeyRef('inc-0123456789abcdef'), 5, new KeyRef('a'.repeat(40)), new KeyRef('k'.repeat(MAX_PLAIN_STRING))],
    Array.from({ length: 300 }, (_, i) => new KeyRef(`combine-${i}`)),
  ]
  for (const fn of refs) {
    for (const args of argLists) {
      const bytes = encodePlainPayload(fn.refBytes, args)
      t.is(bytes?.toString('hex'), encodeTaskPayload(fn.ref, args).toString('hex'), `${args.length} arguments`)
    }
    for (const args of [[[1]], [{ a: 1 }], [new KeyRef('é')], [new KeyRef('k'.repeat(MAX_PLAIN_STRING + 1))], [undefined], [1, 'é']]) {
      t.is(encodePlainPayload(fn.refBytes, args), null)
    }
  }
})

test('readPlainValue decodes what the codec decodes, for one plain value and nothing else', (t) => {
  const values = [...PLAIN, ...Array.from({ length: 2000 }, () => Math.round((Math.random() - 0.5) * 2 ** (Math.random() * 34)))]
  for (const value of values) {
    const bytes = encode(value)
    const read = readPlainValue(bytes)
    if (typeof value === 'string' && value.length >= 32) t.is(read, NOT_PLAIN, 'longer strings are the codec\'s')
    else t.true(Object.is(read, decode(bytes)), `${String(value)}`)
  }
  const others = [Buffer.from([]), Buffer.from([0x01, 0x02]), Buffer.from([0xcc]), Buffer.from([0xca, 0x3f, 0x80, 0, 0]), Buffer.from([0xa2, 0xc3, 0xa9]), encode('é'), encode([1]), encode({ a: 1 }), Buffer.from([0xcf, 0, 0, 0, 0, 0, 0, 0, 1]), encode(1n), encode(undefined)]
  for (const bytes of others) t.is(readPlainValue(bytes), NOT_PLAIN, bytes.toString('hex'))
})
