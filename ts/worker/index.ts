export { Worker, type WorkerOptions } from './worker'
export { runWorkerProcess, tlsFromArgs } from './process'
