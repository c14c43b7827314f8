export { Worker, type WorkerOptions } from './worker'
export { runWorkerProcess, tlsFromArgs } from './process'
export { MemoryOptionsError, parseBytes, resolveMemory, machineMemory, DEFAULT_FRACTIONS, type MemoryFractions, type MemorySettings } from './memory-options'
