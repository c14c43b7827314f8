import path from 'node:path'
import Piscina from 'piscina'
import { errorText, measure, type MeasurePlan, type SideResult } from '../lib/measure'
import { PISCINA_WORKLOADS } from './workloads'

/** piscina's pool in every measurement: 2 threads, as skein and Dask get 2 slots; everything else piscina's defaults. */
export const POOL_THREADS = 2

export const PISCINA_SHAPE = `new Piscina({ minThreads: ${POOL_THREADS}, maxThreads: ${POOL_THREADS} })`

export interface PiscinaJob {
  /** The workload's name on the skein side's `peer`: cpu-1ms, cpu-100ms, latency, noop-map-100k. */
  workload: string
  size: number
  tasks: number
}

/** Runs one workload on a fresh pool: `once`, warm-up, timed runs. Never throws: failures come back as `error`. */
export async function runPiscina(job: PiscinaJob, plan: MeasurePlan): Promise<SideResult> {
  const result: SideResult = { workload: job.workload, size: job.size, tasks: job.tasks, shape: PISCINA_SHAPE, warmup: null, runs: [], once: null, stats: {} }
  const workload = PISCINA_WORKLOADS[job.workload]
  if (!workload) return { ...result, error: `no piscina side for ${job.workload}` }
  const pool = new Piscina({ filename: path.join(__dirname, 'worker.cjs'), minThreads: POOL_THREADS, maxThreads: POOL_THREADS })
  try {
    const once = workload.once
    Object.assign(
      result,
      await measure(`piscina ${job.workload}`, { once: once && (() => once(job.size)), run: (run) => workload.run(pool, job.size, run) }, plan),
    )
  } catch (err) {
    result.error = errorText(err)
    plan.log(`  piscina ${job.workload} FAILED: ${result.error}`)
  } finally {
    await pool.destroy()
  }
  return result
}

/** The installed piscina's version, for the report. */
export function piscinaVersion(): string {
  return Piscina.version
}
