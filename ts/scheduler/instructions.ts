import { decode, type KeyLocation, type WireCompute, type WireFailure } from '../protocol'

/** The native core's instruction batch (layout in src/wire.rs). */
export type WorkerInstructions = [worker: number, compute: WireCompute[], free: string[]]
export type ClientInstructions = [
  client: number,
  memory: KeyLocation[],
  erred: [key: string, causeKey: string, failure: WireFailure][],
  cancelled: string[],
]
export type Instructions = [workers: WorkerInstructions[], clients: ClientInstructions[], removedWorkers: number[]]

export function decodeInstructions(bytes: Buffer): Instructions {
  return decode(bytes) as Instructions
}
