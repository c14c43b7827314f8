import { decode } from '../protocol'

/** The native core's instructions as ready-to-send messages (takeMessages; layout in src/wire.rs). */
export type WorkerMessages = [worker: number, free: Uint8Array | null, compute: Uint8Array | null, steal: Uint8Array | null]
/** A 5th element, 'task-retried', only after a retry took keys back. */
export type ClientMessages = [client: number, memory: Uint8Array | null, erred: Uint8Array | null, cancelled: Uint8Array | null, retried?: Uint8Array]
export type Messages = [workers: WorkerMessages[], clients: ClientMessages[], removedWorkers: number[]]

/** Each message comes as a view of `bytes`, right after its bin header (Connection.sendEncoded relies on it). */
export function decodeMessages(bytes: Buffer): Messages {
  return decode(bytes) as Messages
}
