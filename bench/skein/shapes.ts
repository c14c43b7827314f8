import type { LocalClusterOptions } from 'skein'
import type { Workload } from './workload'

/**
 * The two ways skein gives a workload 2 slots: 2 processes x 1 slot (the suite's shape, the one
 * Dask is compared with) and 1 process x 2 slots (what `LocalCluster.start()` gives on 2 cores).
 */
export const SHAPES = {
  '2x1': { workers: 2, slotsPerWorker: 1 },
  '1x2': { workers: 1, slotsPerWorker: 2 },
} as const satisfies Record<string, LocalClusterOptions>

export type Shape = keyof typeof SHAPES

/**
 * The fields of workload `name` that depend on its shape: its name in the shape (the plain name
 * for 2x1, `name-1x2` for the other), its peers' name (Dask runs the 2x1 shape only, and the 1x2
 * rows show that run), and its cluster.
 */
export function inShape(name: string, shape: Shape): Pick<Workload, 'name' | 'peer' | 'dask' | 'cluster'> {
  return { name: shape === '2x1' ? name : `${name}-${shape}`, peer: name, dask: shape === '2x1', cluster: () => SHAPES[shape] }
}
