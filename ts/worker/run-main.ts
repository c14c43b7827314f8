/**
 * Entry of a run thread (dist/worker/run-main.js): runs one Client.run function on a thread of
 * its own, so a function that computes for long never stalls the worker's I/O thread (its
 * heartbeats, peers and tasks), and one that never returns can be stopped with its thread.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { decodeTaskPayload, encodeTaskFailure, type FunctionRef } from '../graph/payload'
import { assertEncodable, encode } from '../protocol'
import { explainFailure, FunctionCache, isFunctionRef } from './functions'
import type { FromRunThread, RunThreadData, ToRunThread } from './run-thread'
import { registerThreadLoaders } from './thread-loaders'

const port = parentPort
if (port === null) throw new Error('run-main.js runs as a worker thread of a skein worker, not on its own')
const post = (m: FromRunThread) => port.postMessage(m)

void registerThreadLoaders().then(async (problems) => {
  for (const line of problems) post({ t: 'log', line })
  const data = workerData as RunThreadData
  let ref: FunctionRef | null = null
  try {
    const payload = decodeTaskPayload(data.payload)
    if (!isFunctionRef(payload.fn)) throw new Error('the run payload names no function')
    ref = payload.fn
    const fn = await load(ref)
    const args = data.context === null ? payload.args : [...payload.args, data.context]
    const value = await fn(...args)
    assertEncodable(value, () => `the value that function '${payload.fn[2]}' returned`)
    const bytes = encode(value)
    if (bytes.byteLength > data.maxValueBytes) {
      throw Object.assign(new Error(`the value that function '${ref[2]}' returned encodes to ${bytes.byteLength} bytes; a run may return at most ${data.maxValueBytes}`), {
        name: 'ValueTooLargeError',
        code: 'SKEIN_VALUE_TOO_LARGE',
      })
    }
    post({ t: 'done', outcome: 0, bytes })
  } catch (err) {
    post({ t: 'done', outcome: 1, bytes: encodeTaskFailure(explainFailure(err, ref)) })
  }
})

/** The function `ref` names: imported, or (shipped) compiled from the source the I/O thread gets from the scheduler. */
function load(ref: FunctionRef): Promise<(...args: unknown[]) => unknown> {
  return new Promise((resolve, reject) => {
    const job: { fn: FunctionRef | null } = { fn: ref }
    const settle = () => {
      const loaded = functions.lookup(ref)
      if (loaded instanceof Error) reject(loaded)
      else if (loaded === undefined) reject(new Error(`function '${ref[2]}' could not be loaded`))
      else resolve(loaded)
    }
    const functions = new FunctionCache<typeof job>({ askSource: (hash) => post({ t: 'fn?', hash }), loaded: settle })
    port!.on('message', (m: ToRunThread) => {
      if (m.t === 'fn') functions.defineShipped(m.hash, m.source, m.name)
      else functions.sourceRefused(m.hash, m.code, m.reason)
    })
    if (functions.lookup(ref) === undefined) functions.load(ref, job)
    else settle()
  })
}
