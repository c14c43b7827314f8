import type { TestFn } from 'ava'
import { Client, LocalCluster, type LocalClusterOptions } from '../../ts/index'
import { KeptLog } from './kept-log'

/**
 * One LocalCluster for every test of a file (started before, closed after);
 * each test connects its own client, which waits until all workers joined. The cluster's log
 * records (its workers' and their tasks' lines) are shown only by a test that fails.
 */
export function sharedCluster(test: TestFn, options: LocalClusterOptions & { workers: number }) {
  let cluster: LocalCluster | undefined
  const kept = new KeptLog()
  test.before(async () => {
    cluster = await LocalCluster.start({ log: kept.log, ...options })
  })
  test.afterEach.always((t) => kept.report(t))
  test.after.always(async () => {
    await cluster?.close()
  })
  return {
    get cluster(): LocalCluster {
      if (!cluster) throw new Error('the shared cluster is not started yet')
      return cluster
    },
    async connect(): Promise<Client> {
      const client = await Client.connect(this.cluster.address)
      await client.waitForWorkers(options.workers)
      return client
    },
  }
}
