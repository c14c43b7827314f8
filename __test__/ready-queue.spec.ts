/**
 * The worker's ready queue hands tasks out in the scheduler's priority order (ties by arrival),
 * whether they arrive in that order (its first-in first-out run) or not (its heap).
 */
import test from 'ava'
import { ReadyQueue } from '../ts/worker/ready-queue'
import { TaskRecord } from '../ts/worker/task'
import type { KeySlot } from '../ts/worker/keys'
import type { WirePriority } from '../ts/protocol'

function record(id: number, priority: WirePriority): TaskRecord {
  return new TaskRecord(id, 0, `k-${id}`, new Uint8Array(0), [], priority, null as unknown as KeySlot, false)
}

/** Running order: higher user priority, older graph, earlier place, earlier arrival. */
function order(a: { p: WirePriority; arrival: number }, b: { p: WirePriority; arrival: number }): number {
  return b.p[0] - a.p[0] || a.p[1] - b.p[1] || a.p[2] - b.p[2] || a.arrival - b.arrival
}

/** A small deterministic generator (tests must fail the same way every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
}

for (const [name, sortedShare] of [
  ['in order', 1],
  ['mostly in order', 0.9],
  ['in no order', 0],
] as const) {
  test(`pops in priority order, ties by arrival, tasks pushed ${name} and popped in between`, (t) => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = lcg(seed)
      const queue = new ReadyQueue()
      const waiting: { p: WirePriority; arrival: number; id: number }[] = []
      let arrival = 0
      let place = 0
      for (let step = 0; step < 3000; step++) {
        if (random() < 0.6) {
          const inOrder = random() < sortedShare
          const p: WirePriority = inOrder ? [0, 1, place++] : [Math.floor(random() * 3) - 1, Math.floor(random() * 3), Math.floor(random() * 50)]
          const id = arrival
          queue.push(record(id, p))
          waiting.push({ p, arrival: arrival++, id })
        } else {
          waiting.sort(order)
          const expected = waiting.shift()
          const peeked = queue.peek()
          const got = queue.pop()
          if (peeked !== got) return t.fail(`seed ${seed}, step ${step}: peek gave ${peeked?.task}, pop ${got?.task}`)
          if (got?.task !== expected?.id) return t.fail(`seed ${seed}, step ${step}: popped ${got?.task}, expected ${expected?.id}`)
        }
        if (queue.size !== waiting.length) return t.fail(`seed ${seed}, step ${step}: size ${queue.size}, expected ${waiting.length}`)
      }
      waiting.sort(order)
      for (const expected of waiting) if (queue.pop()?.task !== expected.id) return t.fail(`seed ${seed}: drained out of order`)
      t.is(queue.peek(), undefined)
      t.is(queue.pop(), undefined)
    }
    t.pass()
  })
}
