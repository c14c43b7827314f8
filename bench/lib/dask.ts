/**
 * The Dask side of the compare: a virtual environment under bench/.venv with
 * the pinned dask[distributed] (made on first use), and one Python process
 * per workload that prints its result as JSON.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { SideResult } from './measure'

const BENCH = path.join(__dirname, '..')
const REQUIREMENTS = path.join(BENCH, 'dask', 'requirements.txt')

export function venvDir(): string {
  return process.env.SKEIN_BENCH_VENV ?? path.join(BENCH, '.venv')
}

function venvPython(dir: string): string {
  return process.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python')
}

/** The system Python that makes the venv, or null when there is none. */
export function findPython(preferred?: string): string | null {
  for (const candidate of preferred ? [preferred] : ['python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' })
    if (probe.status === 0 && probe.stdout.trim() === '3') return candidate
  }
  return null
}

function run(command: string, args: string[], log: (line: string) => void): Promise<void> {
  log(`$ ${command} ${args.join(' ')}`)
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] })
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))))
  })
}

/**
 * The venv's python, creating the venv and installing the pinned
 * requirements when it is missing or was made from other requirements
 * (a copy of requirements.txt in the venv records what it holds).
 */
export async function ensureVenv(systemPython: string, log: (line: string) => void): Promise<string> {
  const dir = venvDir()
  const python = venvPython(dir)
  const stamp = path.join(dir, 'skein-requirements.txt')
  const wanted = fs.readFileSync(REQUIREMENTS, 'utf8')
  if (fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return python
  log(`setting up the Dask environment in ${path.relative(process.cwd(), dir) || dir} (once)`)
  if (!fs.existsSync(python)) await run(systemPython, ['-m', 'venv', dir], log)
  await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], log)
  fs.writeFileSync(stamp, wanted)
  return python
}

export interface DaskRun {
  workload: string
  size: number
  runs: number
  warmupSize: number
  /** Kill the Python process after this long (default 20 minutes). */
  timeoutMs?: number
}

/** Runs bench/dask/run.py for one workload; its stderr (progress) goes to `log`. Never throws: failures come back as `error`. */
export function runDask(python: string, job: DaskRun, log: (line: string) => void): Promise<SideResult & { versions?: Record<string, string> }> {
  const args = [
    path.join(BENCH, 'dask', 'run.py'),
    '--workload', job.workload,
    '--size', String(job.size),
    '--runs', String(job.runs),
    '--warmup-size', String(job.warmupSize),
  ]
  const failed = (error: string) => ({ workload: job.workload, size: job.size, tasks: 0, warmup: null, runs: [], once: null, stats: {}, error })
  return new Promise((resolve) => {
    const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } })
    let stdout = ''
    let pending = ''
    const other: string[] = []
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => {
      pending += d
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        // Progress lines go on; the rest (Dask's warnings, tracebacks at cluster shutdown) only when the workload fails.
        if (line.startsWith('  dask ')) log(line)
        else if (line.trim()) other.push(line)
      }
    })
    const timeoutMs = job.timeoutMs ?? 20 * 60_000
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      resolve(failed(`cannot start ${python}: ${err.message}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (pending.trim()) other.push(pending)
      const last = stdout.trim().split('\n').at(-1) ?? ''
      let result: SideResult
      try {
        result = JSON.parse(last)
      } catch {
        result = failed(signal === 'SIGKILL' ? `timed out after ${timeoutMs / 60_000} min` : `exited (${signal ?? code}) without a JSON result`)
      }
      if (result.error) for (const line of other.slice(-40)) log(`  dask stderr: ${line}`)
      resolve(result)
    })
  })
}
