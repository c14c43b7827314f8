export { Worker, type WorkerOptions } from './worker'
export { runWorkerProcess } from './process'
