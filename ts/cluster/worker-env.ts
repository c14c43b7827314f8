/**
 * The environment of a LocalCluster's worker process: the parent's, with the cluster's token
 * in place of the parent's token file, and glibc told to give freed memory back to the system
 * at once (as for the processes of `skein worker --nworkers`).
 *
 * Without that, glibc raises its threshold for serving large allocations from the heap after the
 * first large free, and keeps what those free: measured on the 4x-memory-limit graph of
 * __test__/memory.spec.ts, worker processes stayed at 350-475 MiB once every value had been
 * spilled and freed, and 140-210 MiB with it. Dask's nanny sets the same for its workers
 * (`distributed.nanny.pre-spawn-environ`). A value the user set is kept.
 */
export function workerProcessEnv(token: string | null): NodeJS.ProcessEnv {
  const env = mallocTrimmed({ ...process.env })
  delete env.SKEIN_TOKEN_FILE
  if (token === null) delete env.SKEIN_TOKEN
  else env.SKEIN_TOKEN = token
  return env
}

/** `env` with glibc's trim threshold set (see above), unless it is set already. */
export function mallocTrimmed(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  env.MALLOC_TRIM_THRESHOLD_ ??= String(64 * 1024)
  return env
}
