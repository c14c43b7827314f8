/**
 * The piscina side of cpu-1ms, cpu-100ms, latency and noop-map-100k: the
 * same work and the same checks as bench/skein, run by a pool of 2 worker
 * threads in the benchmark process (piscina has no keys; every run's inputs
 * still differ where the skein side's do).
 */
import type Piscina from 'piscina'
import { expectEqual, runBase } from '../lib/check'
import { JS_ROUNDS, calibrate, calibrationMetrics, checkCpuResults, cpuRunMetrics, type CpuWorkloadName } from '../lib/cpu-work'
import { cpuShareSince } from '../lib/cpu-share'
import type { Metrics } from '../lib/measure'
import { percentile } from '../lib/stats'

export interface PiscinaWorkload {
  once?(size: number): Promise<Metrics>
  run(pool: Piscina, size: number, run: number): Promise<Metrics>
}

function cpuWorkload(name: CpuWorkloadName): PiscinaWorkload {
  const rounds = JS_ROUNDS[name]
  return {
    async once(n) {
      return calibrationMetrics(calibrate(rounds, n))
    },
    async run(pool, n) {
      const calibration = calibrate(rounds, n)
      const share = cpuShareSince()
      const start = performance.now()
      const results: [number, number][] = await Promise.all(Array.from({ length: n }, (_, seed) => pool.run([rounds, seed], { name: 'cpu' })))
      const wallMs = performance.now() - start
      const cpuShare = share()
      return cpuRunMetrics(wallMs, checkCpuResults(results, n, calibration), calibration, cpuShare)
    },
  }
}

const latency: PiscinaWorkload = {
  async run(pool, n, run) {
    const base = runBase(run)
    const samples: number[] = new Array(n)
    const start = performance.now()
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      const value = await pool.run(base + i, { name: 'inc' })
      samples[i] = (performance.now() - t0) * 1000
      expectEqual(`round trip ${i}`, value, base + i + 1)
    }
    const wallMs = performance.now() - start
    return { wallMs, medianUs: percentile(samples, 0.5), p99Us: percentile(samples, 0.99) }
  },
}

const noopMap: PiscinaWorkload = {
  async run(pool, n, run) {
    const base = runBase(run)
    const start = performance.now()
    const values: number[] = await Promise.all(Array.from({ length: n }, (_, i) => pool.run(base + i, { name: 'noop' })))
    const wallMs = performance.now() - start
    expectEqual('noop result count', values.length, n)
    for (let i = 0; i < n; i++) if (values[i] !== base + i) expectEqual(`noop task ${i}`, values[i], base + i)
    return { wallMs, tasksPerSec: n / (wallMs / 1000) }
  },
}

/** By the name the skein side's `peer` gives. */
export const PISCINA_WORKLOADS: Readonly<Record<string, PiscinaWorkload>> = {
  'cpu-1ms': cpuWorkload('cpu-1ms'),
  'cpu-100ms': cpuWorkload('cpu-100ms'),
  latency,
  'noop-map-100k': noopMap,
}
