import { encode, type WireTask } from '../protocol'
import type { Task } from './task'

/** @internal The native graph layout of `tasks`, encoded for the 'submit' message. */
export function encodeGraph(tasks: readonly Task[]): Buffer {
  const wire: WireTask[] = new Array(tasks.length)
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]
    wire[i] = [
      t.key,
      t.name,
      t.payload,
      t.dependencies as string[],
      t.priority,
      t.restrictions as string[] | null,
      // A Map: the codec writes plain objects as msgpackr records, which the native reader does not read.
      (t.resources === null ? null : new Map(Object.entries(t.resources))) as unknown as Record<string, number> | null,
    ]
  }
  return encode(wire)
}
