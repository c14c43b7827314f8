import test from 'ava'
import { encode } from '../ts/protocol'
import { GraphWriter, task } from '../ts/graph'
import { encodeSubmit } from '../ts/client/submit-message'

const inc = (x: number) => x + 1

/** A graph of `n` tasks, written as the client writes them. */
function tasksOf(n: number): GraphWriter {
  const writer = new GraphWriter()
  for (let i = 0; i < n; i++) writer.add(task(inc, i))
  return writer
}

test('encodeSubmit makes the bytes the codec makes of the submit message, for every size of header', (t) => {
  for (const n of [0, 1, 2, 3, 40, 1000]) {
    for (const request of [1, 63, 64, 255, 256, 65536, 2 ** 32 - 1]) {
      const wanted = Uint32Array.from({ length: Math.min(n, 300) }, (_, i) => i)
      const graph = tasksOf(n)
      const expected = encode(['submit', request, Buffer.from(tasksOf(n).finish()), wanted]).toString('hex')
      t.is(encodeSubmit(request, graph.tasks(), wanted).toString('hex'), expected, `${n} tasks, request ${request}`)
    }
  }
})

test('encodeSubmit of a slice of a graph: the tasks between two ends, behind their own count', (t) => {
  const whole = tasksOf(10)
  const ends: number[] = []
  const single = new GraphWriter()
  for (let i = 0; i < 10; i++) {
    single.add(task(inc, i))
    ends.push(single.length)
  }
  const slice = { bytes: whole.tasks().bytes, start: ends[2], end: ends[6], count: 4 }
  const part = new GraphWriter()
  for (let i = 3; i < 7; i++) part.add(task(inc, i))
  const wanted = Uint32Array.from([0, 1, 2, 3])
  t.is(encodeSubmit(7, slice, wanted).toString('hex'), encode(['submit', 7, Buffer.from(part.finish()), wanted]).toString('hex'))
})
