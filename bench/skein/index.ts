export { busyFetchWorkload } from './busy-fetch'
export { cpu100msOneProcessWorkload, cpu100msWorkload, cpu1msOneProcessWorkload, cpu1msWorkload } from './cpu'
export { graphSubmitWorkload } from './graph-submit'
export { incWorkload } from './inc'
export { latencyWorkload } from './latency'
export { longSyncWorkload } from './long-sync'
export { memoryPressureSpillOnlyWorkload, memoryPressureWorkload } from './memory-pressure'
export { noopMap1mWorkload, noopMapWorkload } from './noop-map'
export { CLUSTER, describeCluster, runSkein, type SideResult, type RunPlan } from './runner'
export { shuffleOneProcessWorkload, shuffleWorkload } from './shuffle'
export { treeReduceOneProcessWorkload, treeReduceWorkload } from './tree-reduce'
export { WrongResult, peerName, type Metrics, type Scale, type Workload } from './workload'

import { busyFetchWorkload } from './busy-fetch'
import { cpu100msOneProcessWorkload, cpu100msWorkload, cpu1msOneProcessWorkload, cpu1msWorkload } from './cpu'
import { graphSubmitWorkload } from './graph-submit'
import { incWorkload } from './inc'
import { latencyWorkload } from './latency'
import { longSyncWorkload } from './long-sync'
import { memoryPressureSpillOnlyWorkload, memoryPressureWorkload } from './memory-pressure'
import { noopMap1mWorkload, noopMapWorkload } from './noop-map'
import { shuffleOneProcessWorkload, shuffleWorkload } from './shuffle'
import { treeReduceOneProcessWorkload, treeReduceWorkload } from './tree-reduce'
import type { Workload } from './workload'

/** Every workload, in the order the reports list them. */
export const WORKLOADS: readonly Workload[] = [
  incWorkload,
  noopMapWorkload,
  latencyWorkload,
  treeReduceWorkload,
  treeReduceOneProcessWorkload,
  shuffleWorkload,
  shuffleOneProcessWorkload,
  graphSubmitWorkload,
  noopMap1mWorkload,
  cpu1msWorkload,
  cpu1msOneProcessWorkload,
  cpu100msWorkload,
  cpu100msOneProcessWorkload,
  busyFetchWorkload,
  longSyncWorkload,
  memoryPressureWorkload,
  memoryPressureSpillOnlyWorkload,
]
