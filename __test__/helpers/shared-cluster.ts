import type { TestFn } from 'ava'
import { Client, LocalCluster, type LocalClusterOptions } from '../../ts/index'

/**
 * One LocalCluster for every test of a file (started before, closed after);
 * each test connects its own client, which waits until all workers joined.
 */
export function sharedCluster(test: TestFn, options: LocalClusterOptions & { workers: number }) {
  let cluster: LocalCluster | undefined
  test.before(async () => {
    cluster = await LocalCluster.start(options)
  })
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
