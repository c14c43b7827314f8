import { taskWith } from 'skein'
import { cpuShareSince } from '../lib/cpu-share'
import { CPU_SLOTS, JS_ROUNDS, calibrate, calibrationMetrics, checkCpuResults, cpuRunMetrics, cpuWork, type CpuWorkloadName } from '../lib/cpu-work'
import { inShape, SHAPES, type Shape } from './shapes'
import type { Workload } from './workload'

const SIZES: Record<CpuWorkloadName, Workload['sizes']> = {
  'cpu-1ms': { full: 2000, quick: 200, smoke: 20 },
  'cpu-100ms': { full: 40, quick: 8, smoke: 4 },
}

/**
 * n independent CPU-bound tasks (bench/lib/cpu-work.ts) on 2 slots, every
 * hash checked; wall time against the ideal, the tasks' total CPU / 2. The
 * 2x1 shape is the one Dask and piscina are compared with (as `name`), 1x2 is
 * skein alone (as `name-1x2`, with the same peers in its rows).
 */
function cpuWorkload(name: CpuWorkloadName, shape: Shape): Workload {
  const rounds = JS_ROUNDS[name]
  const cluster = SHAPES[shape]
  return {
    ...inShape(name, shape),
    description: `n tasks of ${rounds.toLocaleString('en-US')} rounds of an integer hash (~${name.slice(4)} of CPU each) on ${cluster.workers} process${cluster.workers > 1 ? 'es' : ''} x ${cluster.slotsPerWorker} slot${cluster.slotsPerWorker > 1 ? 's' : ''}; wall vs total CPU / ${CPU_SLOTS} (size = n)`,
    sizes: SIZES[name],
    tasks: (n) => n,
    piscina: shape === '2x1',
    async once(_ctx, n) {
      return calibrationMetrics(calibrate(rounds, n))
    },
    async run({ client }, n) {
      const calibration = calibrate(rounds, n)
      const share = cpuShareSince()
      const start = performance.now()
      // pure: false gives every run's tasks fresh keys; the seeds (0..n-1) repeat, see calibrate().
      const futures = client.compute(Array.from({ length: n }, (_, seed) => taskWith({ pure: false }, cpuWork, rounds, seed)))
      const results = await client.gather(futures)
      const wallMs = performance.now() - start
      const cpuShare = share()
      const loopMs = checkCpuResults(results, n, calibration)
      for (const f of futures) f.release()
      return cpuRunMetrics(wallMs, loopMs, calibration, cpuShare)
    },
  }
}

export const cpu1msWorkload = cpuWorkload('cpu-1ms', '2x1')
export const cpu1msOneProcessWorkload = cpuWorkload('cpu-1ms', '1x2')
export const cpu100msWorkload = cpuWorkload('cpu-100ms', '2x1')
export const cpu100msOneProcessWorkload = cpuWorkload('cpu-100ms', '1x2')
