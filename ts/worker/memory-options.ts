import os from 'node:os'
import { SkeinError } from '../protocol'

/** A memory limit or threshold that cannot be used: wrong type, unknown unit, out of range, unknown name. */
export class MemoryOptionsError extends SkeinError {
  constructor(message: string) {
    super('SKEIN_INVALID_OPTIONS', message)
  }
}

/**
 * The worker's memory thresholds, as fractions of its memory limit; `false` switches one off.
 * Dask's defaults and meanings.
 */
export interface MemoryFractions {
  /** Stored values (managed bytes) past this are spilled to disk, least recently used first (default 0.6). */
  target?: number | false
  /** Process memory (RSS) past this spills more stored values, until it is back under `target` (default 0.7). */
  spill?: number | false
  /** Process memory past this stops new tasks from starting until it drops again (default 0.8). */
  pause?: number | false
  /** Process memory past this ends the worker process with exit code 1; its nanny restarts it (default 0.95). */
  terminate?: number | false
}

/** The memory settings a worker runs with. */
export interface MemorySettings {
  /** Bytes. */
  limit: number
  target: number | false
  spill: number | false
  pause: number | false
  terminate: number | false
}

export const DEFAULT_FRACTIONS: Required<MemoryFractions> = { target: 0.6, spill: 0.7, pause: 0.8, terminate: 0.95 }

const UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
}

/** Memory of this machine, or of the container (cgroup) it runs in when that is less. */
export function machineMemory(): number {
  const total = os.totalmem()
  const constrained = process.constrainedMemory?.() ?? 0
  return constrained > 0 && constrained < total ? constrained : total
}

/**
 * Bytes from a number of bytes or a string such as '2GiB', '512 MB', '1.5e9' (units are
 * case-insensitive; kB, MB, GB, TB are powers of 1000, KiB, MiB, GiB, TiB of 1024).
 * `what` names the option in the error.
 */
export function parseBytes(value: unknown, what: string): number {
  let bytes: number
  if (typeof value === 'number') bytes = value
  else if (typeof value === 'string') {
    const match = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$/i.exec(value)
    const unit = match === null ? undefined : UNITS[match[2].toLowerCase() || 'b']
    if (match === null || unit === undefined) {
      throw new MemoryOptionsError(`${what} must be a number of bytes or a string such as '2GiB' or '512MB', not '${value.slice(0, 40)}'`)
    }
    bytes = Number(match[1]) * unit
  } else throw new MemoryOptionsError(`${what} must be a number of bytes or a string such as '2GiB', not ${describe(value)}`)
  if (!Number.isFinite(bytes) || bytes < 1) throw new MemoryOptionsError(`${what} must be at least 1 byte, not ${String(value).slice(0, 40)}`)
  return Math.floor(bytes)
}

/**
 * The settings from a worker's `memoryLimit` (default `defaultLimit`) and `memory` options;
 * throws MemoryOptionsError for a bad value or an unknown threshold name. `who` prefixes errors.
 */
export function resolveMemory(limit: unknown, fractions: unknown, defaultLimit: number, who: string): MemorySettings {
  const bytes = limit === undefined ? defaultLimit : parseBytes(limit, `${who}: memoryLimit`)
  const settings: MemorySettings = { limit: bytes, ...DEFAULT_FRACTIONS }
  if (fractions === undefined) return settings
  if (typeof fractions !== 'object' || fractions === null || Array.isArray(fractions)) {
    throw new MemoryOptionsError(`${who}: memory must be an object such as { target: 0.6, spill: 0.7, pause: 0.8, terminate: 0.95 }, not ${describe(fractions)}`)
  }
  for (const [name, value] of Object.entries(fractions)) {
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_FRACTIONS, name)) {
      throw new MemoryOptionsError(`${who}: unknown memory option '${name}' (known: ${Object.keys(DEFAULT_FRACTIONS).join(', ')})`)
    }
    if (value === undefined) continue
    if (value !== false && !(typeof value === 'number' && value > 0 && value <= 1)) {
      throw new MemoryOptionsError(`${who}: memory.${name} must be a fraction of the memory limit above 0 and at most 1, or false to switch it off; not ${describe(value)}`)
    }
    settings[name as keyof MemoryFractions] = value as number | false
  }
  return settings
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? `the string '${value.slice(0, 40)}'` : `${typeof value} ${String(value).slice(0, 40)}`
}
