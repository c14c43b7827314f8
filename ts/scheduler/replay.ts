import { checkOptions, InvalidOptionsError } from '../protocol'
import { EventLogError } from './errors'
import { replayEventLog as nativeReplay } from './native'

export interface ReplayOptions {
  /** Also collect every transition of this key over the whole run. */
  story?: string
}

/** What `replayEventLog` found (see native/index.d.ts for each field). */
export type ReplaySummary = import('../../native/index').ReplaySummary
export type ReplayMismatch = import('../../native/index').ReplayMismatch
export type ReplayStoryEntry = import('../../native/index').ReplayStoryEntry

/**
 * Runs the events recorded in the event log at `path` (the `eventLog` scheduler option) through
 * a fresh scheduling core, off the JS thread, and compares every batch of messages it sends
 * with the recorded digest. Resolves with the summary: `mismatch` is null when every batch
 * matched. Rejects with EventLogError (naming the byte offset) if the log cannot be read.
 */
export async function replayEventLog(path: string, options: ReplayOptions = {}): Promise<ReplaySummary> {
  checkOptions('replayEventLog', options, { story: 'string' }, (m) => new InvalidOptionsError(m))
  if (typeof path !== 'string') throw new InvalidOptionsError(`replayEventLog: the path must be a string, not ${typeof path}`)
  try {
    return await nativeReplay(path, options.story === undefined ? null : { story: options.story })
  } catch (err) {
    throw eventLogError(err as Error)
  }
}

/** The native rejection's message starts with its code; the offset is the last 'byte offset N' in it. */
function eventLogError(err: Error): Error {
  const m = /^(SKEIN_[A-Z_]+): ([\s\S]*)$/.exec(err.message)
  if (m === null) return err
  const offset = /byte offset (\d+)/.exec(m[2])
  return new EventLogError(m[1], m[2], offset === null ? undefined : Number(offset[1]))
}
