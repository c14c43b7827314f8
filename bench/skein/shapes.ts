import type { LocalClusterOptions } from 'skein'

/**
 * The two ways skein gives a workload 2 slots: 2 processes x 1 slot (the suite's shape, the one
 * Dask is compared with) and 1 process x 2 slots (what `LocalCluster.start()` gives on 2 cores).
 */
export const SHAPES = {
  '2x1': { workers: 2, slotsPerWorker: 1 },
  '1x2': { workers: 1, slotsPerWorker: 2 },
} as const satisfies Record<string, LocalClusterOptions>

export type Shape = keyof typeof SHAPES

/** A workload's name in a shape: the plain name for 2x1, `name-1x2` for the other. */
export function shapedName(name: string, shape: Shape): string {
  return shape === '2x1' ? name : `${name}-${shape}`
}
