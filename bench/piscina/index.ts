export { PISCINA_SHAPE, POOL_THREADS, piscinaVersion, runPiscina, type PiscinaJob } from './runner'
export { PISCINA_WORKLOADS } from './workloads'
