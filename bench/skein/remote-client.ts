/** A client in its own process (for noop-map-1m's scheduler-only RSS): argv = address n base; sends { wallMs } over IPC. */
import { Client } from 'skein'
import { noopMap } from './noop-map'

async function main(): Promise<void> {
  const [address, n, base] = process.argv.slice(2)
  const client = await Client.connect(address)
  try {
    const wallMs = await noopMap(client, Number(n), Number(base))
    process.send!({ wallMs })
  } finally {
    await client.close()
  }
}

main().then(
  () => process.disconnect(),
  (err: Error) => {
    process.send!({ error: err.message }, () => process.exit(1))
  },
)
