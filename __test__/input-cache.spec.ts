/**
 * The I/O thread's InputDirectory and a thread's InputCache must agree on what
 * the thread keeps, whatever the order of uses, forgets and budget evictions:
 * a random model run through the real batch writer and reader.
 */
import test from 'ava'
import { encode } from '../ts/protocol'
import { HandedTask, readRunBatch, RunBatchWriter, type HeldBytes } from '../ts/worker/hand-off'
import { InputCache, InputDirectory } from '../ts/worker/input-cache'

/** A tiny deterministic generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function held(value: unknown, refs: number): HeldBytes {
  const bytes = encode(value)
  return { memory: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength, refs }
}

test('the thread always has what the I/O thread says it keeps, and values are the latest sent', (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const next = random(seed)
    const directory = new InputDirectory()
    const cache = new InputCache()
    /** What the worker holds now: key -> [version, refs]. */
    const store = new Map<string, number>()
    let version = 0
    for (let round = 0; round < 60; round++) {
      // Some keys are freed (and maybe stored again later under a new version).
      for (const key of [...store.keys()]) {
        if (next() < 0.15) {
          store.delete(key)
          directory.forget(key)
        }
      }
      const writer = new RunBatchWriter(directory)
      const expected: unknown[][] = []
      const deferrable: boolean[] = []
      const tasks = 1 + Math.floor(next() * 6)
      for (let i = 0; i < tasks; i++) {
        const deps: [string][] = []
        const inputs: HeldBytes[] = []
        const values: unknown[] = []
        const n = Math.floor(next() * 4)
        for (let j = 0; j < n; j++) {
          const key = `k${Math.floor(next() * 12)}`
          if (deps.some(([k]) => k === key)) continue
          if (!store.has(key)) store.set(key, ++version)
          const value = [key, store.get(key)]
          deps.push([key])
          inputs.push(held(value, next() < 0.6 ? 3 : 1))
          values.push(value)
        }
        // The flag shares its index entry with the dependency count: both must come through.
        deferrable.push(next() < 0.5)
        writer.add(i, `task-${round}-${i}`, encode([0]), deps, inputs, deferrable[i])
        expected.push(values)
      }
      const { batch } = writer.finish()
      const handed = readRunBatch(batch, cache, HandedTask)
      t.deepEqual(
        handed.map((h) => h.depValues),
        expected,
        `seed ${seed}, round ${round}`,
      )
      t.deepEqual(
        handed.map((h) => h.deferrable),
        deferrable,
      )
    }
  }
})
