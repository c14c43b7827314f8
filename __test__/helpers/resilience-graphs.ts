import path from 'node:path'
import { moduleFunction, task, type Task } from '../../ts/index'

const fixtures = path.join(__dirname, '..', 'fixtures', 'resilience.mjs')
/** x squared, after `ms` milliseconds. */
export const square = moduleFunction<(x: number, ms: number) => Promise<number>>(fixtures, 'square')
export const add = moduleFunction<(a: number, b: number) => number>(fixtures, 'add')

/** A map of `n` squares (1 ms each), then a binary tree reduction of their sum: 2n - 1 tasks. */
export function mapThenTree(n: number): Task<number> {
  let level: Task<number>[] = Array.from({ length: n }, (_, i) => task(square, i, 1))
  while (level.length > 1) {
    const next: Task<number>[] = []
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? task(add, level[i], level[i + 1]) : level[i])
    level = next
  }
  return level[0]
}
