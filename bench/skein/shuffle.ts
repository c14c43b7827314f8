import { task, type Task } from 'skein'
import { inShape, type Shape } from './shapes'
import type { Workload } from './workload'
import { WrongResult, expectEqual, rangeSum, runBase } from './workload'

/** Elements per input piece: each input holds PIECE * n numbers, so each of its n pieces holds PIECE. */
const PIECE = 10

const make = (i: number, n: number, piece: number, base: number) => Array.from({ length: n * piece }, (_, k) => base + i * n * piece + k)
const split = (part: number[], j: number, n: number) => part.filter((x) => x % n === j)
const concat = (...pieces: number[][]) => ([] as number[]).concat(...pieces)

/**
 * All to all: n inputs, each split into n pieces (by value mod n), and n
 * outputs, output j concatenating piece j of every input: n + n*n + n tasks.
 */
function shuffle(shape: Shape): Workload {
  return {
    ...inShape('shuffle-100x100', shape),
    description: `n inputs of ${PIECE}n numbers, each split into n pieces (one task per piece), n outputs each concatenating one piece of every input: n + n^2 + n tasks${shape === '2x1' ? '' : ', on 1 process x 2 slots'} (size = n)`,
    sizes: { full: 100, quick: 32, smoke: 5 },
    tasks: (n) => n * n + 2 * n,
    piscina: false,
    async run({ client, run }, n) {
      // Keep base a multiple of n so that value mod n names the output it belongs to.
      const base = runBase(run) - (runBase(run) % n)
      const start = performance.now()
      const inputs = Array.from({ length: n }, (_, i) => task(make, i, n, PIECE, base))
      const outputs: Task<number[]>[] = []
      for (let j = 0; j < n; j++) outputs.push(task(concat, ...inputs.map((input) => task(split, input, j, n))))
      const futures = client.compute(outputs)
      const values = await client.gather(futures)
      const wallMs = performance.now() - start
      let total = 0
      values.forEach((out, j) => {
        expectEqual(`output ${j} length`, out.length, n * PIECE)
        for (const x of out) {
          if (x % n !== j) throw new WrongResult(`output ${j} holds ${x}, which belongs to output ${x % n}`)
          total += x
        }
      })
      expectEqual('shuffle total', total, rangeSum(base, n * n * PIECE))
      for (const f of futures) f.release()
      return { wallMs, tasksPerSec: (n * n + 2 * n) / (wallMs / 1000) }
    },
  }
}

export const shuffleWorkload = shuffle('2x1')
/** The same on the default shape of a 2-core LocalCluster (no transfers between processes; compared with the same Dask run). */
export const shuffleOneProcessWorkload = shuffle('1x2')
