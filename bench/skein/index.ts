export { graphSubmitWorkload } from './graph-submit'
export { incWorkload } from './inc'
export { latencyWorkload } from './latency'
export { noopMap1mWorkload, noopMapWorkload } from './noop-map'
export { runSkein, type SideResult, type RunPlan } from './runner'
export { shuffleWorkload } from './shuffle'
export { treeReduceWorkload } from './tree-reduce'
export { WrongResult, type Metrics, type Scale, type Workload } from './workload'

import { graphSubmitWorkload } from './graph-submit'
import { incWorkload } from './inc'
import { latencyWorkload } from './latency'
import { noopMap1mWorkload, noopMapWorkload } from './noop-map'
import { shuffleWorkload } from './shuffle'
import { treeReduceWorkload } from './tree-reduce'
import type { Workload } from './workload'

/** Every workload, in the order the reports list them. */
export const WORKLOADS: readonly Workload[] = [
  incWorkload,
  noopMapWorkload,
  latencyWorkload,
  treeReduceWorkload,
  shuffleWorkload,
  graphSubmitWorkload,
  noopMap1mWorkload,
]
