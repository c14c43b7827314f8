/** What piscina's threads run: one argument per task (piscina passes one value), named exports picked by `name`. */
import { cpuWork } from '../lib/cpu-work'

export const cpu = ([rounds, seed]: [number, number]): [number, number] => cpuWork(rounds, seed)

export const inc = (x: number): number => x + 1

export const noop = (i: number): number => i
