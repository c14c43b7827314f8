/**
 * A fresh process holding only a LocalCluster (the scheduler and its workers' supervisor), for
 * noop-map-1m's scheduler memory: nothing that ran before in the benchmark process can lend it
 * freed heap. IPC: sends { address, token, rss } when ready; on 'stop' sends { peak } and exits.
 */
import { LocalCluster } from 'skein'
import { RssSampler } from './noop-map'
import { CLUSTER } from './runner'

async function main(): Promise<void> {
  const cluster = await LocalCluster.start({ workerExecArgv: [], ...CLUSTER })
  const sampler = new RssSampler()
  process.send!({ address: cluster.address, token: cluster.scheduler.token, rss: process.memoryUsage.rss() })
  process.once('message', async () => {
    const peak = sampler.stop()
    await cluster.close()
    process.send!({ peak }, () => process.disconnect())
  })
}

main().catch((err: Error) => {
  process.send!({ error: err.message }, () => process.exit(1))
})
