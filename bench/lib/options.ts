import { InvalidArgumentError, Option } from 'commander'
import { WORKLOADS, type Scale, type Workload } from '../skein'

export function positiveInt(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}

export function workloadList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean)
  for (const name of names) {
    if (!WORKLOADS.some((w) => w.name === name)) {
      throw new InvalidArgumentError(`unknown workload ${name}; one of ${WORKLOADS.map((w) => w.name).join(', ')}`)
    }
  }
  return names
}

/** --quick, --only, --runs: shared by `bench` and `bench:compare`. */
export function commonOptions(): Option[] {
  return [
    new Option('--quick', 'every workload at about a tenth of its size'),
    new Option('--only <workloads>', `comma-separated subset of: ${WORKLOADS.map((w) => w.name).join(', ')}`).argParser(workloadList),
    new Option('--runs <n>', 'timed runs per workload (3 where one run takes over a minute)').argParser(positiveInt).default(5),
  ]
}

/** The workloads asked for (all by default) that run at `scale` (long-sync-60s: full and smoke only). */
export function selected(only: string[] | undefined, scale: Scale): Workload[] {
  return WORKLOADS.filter((w) => (!only || only.includes(w.name)) && w.sizes[scale] !== undefined)
}

export function scaleOf(options: { quick?: boolean; smoke?: boolean }): Scale {
  return options.smoke ? 'smoke' : options.quick ? 'quick' : 'full'
}

/** Workloads named in --only that have no size at `scale` (long-sync-60s at quick), to say so rather than run nothing silently. */
export function notRunAt(only: string[] | undefined, scale: Scale): string[] {
  return (only ?? []).filter((name) => WORKLOADS.find((w) => w.name === name)?.sizes[scale] === undefined)
}
