/**
 * The CPU work of cpu-1ms and cpu-100ms: rounds of a 32-bit integer mix
 * (murmur3's finaliser plus the round number) from a seed. Real, deterministic,
 * and the same function on every side: bench/dask/workloads.py has it in
 * Python, and both sides check KNOWN_ANSWER before measuring. Each side runs a
 * fixed number of rounds chosen to take about 1 ms / 100 ms of CPU on the
 * benchmark machine (V8 ~3.5 ns a round, CPython 3.11 ~310 ns), and measures what
 * one task really costs on its own thread (`calibrate`), which gives the
 * ideal wall time: the tasks' total CPU / the slots.
 */
import { WrongResult, expectEqual } from './check'
import type { Metrics } from './measure'
import { median } from './stats'

export type CpuWorkloadName = 'cpu-1ms' | 'cpu-100ms'

/** Rounds per task in JavaScript (skein and piscina). */
export const JS_ROUNDS: Readonly<Record<CpuWorkloadName, number>> = { 'cpu-1ms': 280_000, 'cpu-100ms': 28_000_000 }

/** Both workloads run on 2 slots: 2 processes x 1 slot or 1 process x 2 slots (skein), 2 threads (piscina), 2 processes (Dask). */
export const CPU_SLOTS = 2

/** cpuWork's hash for these arguments, the same in Python. */
export const KNOWN_ANSWER = { rounds: 1000, seed: 12345, hash: 3_916_963_922 } as const

/**
 * `rounds` rounds from `seed`: [the hash, the loop's wall milliseconds].
 * Self-contained (no captured variables): skein ships its source to workers.
 */
export const cpuWork = (rounds: number, seed: number): [number, number] => {
  const started = performance.now()
  let h = seed | 0
  for (let i = 0; i < rounds; i++) {
    h ^= h >>> 16
    h = Math.imul(h, 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
    h = (h + i) | 0
  }
  return [h >>> 0, performance.now() - started]
}

/** The expected hash of seeds 0..n-1 and the CPU one task takes on this thread. */
export interface Calibration {
  rounds: number
  hashes: number[]
  cpuPerTaskMs: number
}

/** By rounds; one covering more seeds serves a smaller run too. */
const calibrations = new Map<number, Calibration>()
/** Untimed tasks first, so V8 has optimised the loop when the clock starts. */
const UNTIMED = 3

/**
 * Runs every task of a workload once on this thread: the expected results
 * (every task is checked exactly; computing them costs as much CPU as the tasks,
 * so it is done once per process and the seeds repeat across runs, with fresh
 * keys each run) and the process CPU time per task. Only this thread computes
 * meanwhile (the benchmark's cluster or pool is idle), so process CPU is its CPU.
 */
export function calibrate(rounds: number, n: number): Calibration {
  const known = calibrations.get(rounds)
  if (known && known.hashes.length >= n) return known
  expectEqual('cpuWork known answer', cpuWork(KNOWN_ANSWER.rounds, KNOWN_ANSWER.seed)[0], KNOWN_ANSWER.hash)
  for (let i = 0; i < UNTIMED; i++) cpuWork(rounds, -1 - i)
  const hashes: number[] = new Array(n)
  const before = process.cpuUsage()
  for (let seed = 0; seed < n; seed++) hashes[seed] = cpuWork(rounds, seed)[0]
  const used = process.cpuUsage(before)
  const calibration = { rounds, hashes, cpuPerTaskMs: (used.user + used.system) / 1000 / n }
  calibrations.set(rounds, calibration)
  return calibration
}

/** The calibration as `once` metrics. */
export function calibrationMetrics(c: Calibration): Metrics {
  return { rounds: c.rounds, calibratedTasks: c.hashes.length, cpuPerTaskMs: c.cpuPerTaskMs }
}

/** Checks the hash of each of the n tasks (seeds 0..n-1) against the calibration; the loop times come back for cpuRunMetrics. */
export function checkCpuResults(results: readonly (readonly [number, number])[], n: number, c: Calibration): number[] {
  expectEqual('cpu result count', results.length, n)
  const loopMs: number[] = new Array(results.length)
  for (let i = 0; i < results.length; i++) {
    const [hash, ms] = results[i]
    if (hash !== c.hashes[i]) throw new WrongResult(`cpu task ${i}: expected hash ${c.hashes[i]}, got ${hash}`)
    loopMs[i] = ms
  }
  return loopMs
}

/**
 * One run's figures: wall, the ideal (total calibrated CPU / slots) and their
 * ratio (the headline); the loops' own times too (median, and wall over their
 * sum / slots), which tell a slow scheduler from tasks that ran slower than
 * calibrated (a loaded or throttled machine); `share` is cpuShareSince()'s
 * figures for the run (cores the machine left idle, cores our processes used).
 */
export function cpuRunMetrics(wallMs: number, loopMs: readonly number[], c: Calibration, share: Metrics, slots = CPU_SLOTS): Metrics {
  const idealMs = (loopMs.length * c.cpuPerTaskMs) / slots
  const loopTotal = loopMs.reduce((a, b) => a + b, 0)
  return {
    wallMs,
    idealMs,
    wallOverIdeal: wallMs / idealMs,
    taskMsMedian: median(loopMs),
    wallOverTaskTime: wallMs / (loopTotal / slots),
    ...share,
  }
}
