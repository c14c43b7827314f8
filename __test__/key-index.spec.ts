import test from 'ava'
import { KeyIndex } from '../ts/client/key-index'

class Item {
  constructor(readonly key: string) {}
}

/** A small deterministic generator, so a failure replays. */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

test('KeyIndex agrees with a Map under random adds, lookups and deletes (growth, shrinking, probe runs)', (t) => {
  const rnd = random(7)
  const index = new KeyIndex<Item>()
  const model = new Map<string, Item>()
  // Few distinct keys at first (long probe runs after deletes), then many (growth), then deletes (shrinking).
  const phases = [
    { ops: 50_000, keys: 3_000, pAdd: 0.5 },
    { ops: 100_000, keys: 60_000, pAdd: 0.8 },
    { ops: 150_000, keys: 60_000, pAdd: 0.1 },
  ]
  let mismatches = 0
  for (const { ops, keys, pAdd } of phases) {
    for (let op = 0; op < ops; op++) {
      const key = `task-${Math.floor(rnd() * keys).toString(16)}`
      if (rnd() < pAdd) {
        if (!model.has(key)) {
          const item = new Item(key)
          model.set(key, item)
          index.add(item)
        }
      } else if (index.delete(key) !== model.delete(key)) mismatches++
      const probe = `task-${Math.floor(rnd() * keys).toString(16)}`
      if (index.get(probe) !== model.get(probe)) mismatches++
    }
    t.is(index.size, model.size)
  }
  t.is(mismatches, 0)
  for (const [key, item] of model) if (index.get(key) !== item) mismatches++
  t.is(mismatches, 0, 'every key of the model is found, as the same item')
  const values = index.values()
  t.is(values.length, model.size)
  t.true(values.every((item) => model.get(item.key) === item), 'values() are exactly the items held')
  for (const key of [...model.keys()]) t.true(index.delete(key) || false, key)
  t.is(index.size, 0)
  t.is(index.get('task-1'), undefined)
  t.false(index.delete('task-1'))
})

test('KeyIndex tells apart keys that differ anywhere, of any length, and the empty key', (t) => {
  const index = new KeyIndex<Item>()
  const keys = ['', 'a', 'ab', 'ba', 'x'.repeat(1000), 'x'.repeat(999) + 'y', 'ключ', '🔑', 'inc-0123456789abcdef', 'inc-0123456789abcdeg']
  for (const key of keys) index.add(new Item(key))
  for (const key of keys) t.is(index.get(key)?.key, key)
  t.is(index.get('c'), undefined)
  t.true(index.has('🔑'))
})
