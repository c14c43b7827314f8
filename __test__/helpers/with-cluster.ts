import { Client, LocalCluster, type LocalClusterOptions } from '../../ts/index'

/** Runs `body` with a fresh LocalCluster (quiet) and a client of it; both are closed afterwards, whatever happens. */
export async function withCluster<T>(options: LocalClusterOptions, body: (cluster: LocalCluster, client: Client) => Promise<T>): Promise<T> {
  const cluster = await LocalCluster.start({ log: () => {}, ...options })
  try {
    const client = await Client.connect(cluster.address)
    try {
      return await body(cluster, client)
    } finally {
      await client.close()
    }
  } finally {
    await cluster.close()
  }
}
