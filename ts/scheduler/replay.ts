import { checkOptions, InvalidOptionsError } from '../protocol'
import { EventLogError } from './errors'
import { replayEventLog as nativeReplay, type NativeCoreOptions } from './native'
import { CORE_OPTIONS } from './options'

export interface ReplayOptions {
  /** Also collect every transition of this key over the whole run. */
  story?: string
  /**
   * Replay with these core options in place of the recorded ones, to see where the run would have
   * gone otherwise (`{ workStealing: false }`): the first batch of messages that comes out
   * different is the `mismatch`, and the replay stops there.
   */
  core?: Omit<NativeCoreOptions, 'eventLog'>
}

/** What `replayEventLog` found (see native/index.d.ts for each field). */
export type ReplaySummary = import('../../native/index').ReplaySummary
export type ReplayMismatch = import('../../native/index').ReplayMismatch
export type ReplayStoryEntry = import('../../native/index').ReplayStoryEntry

/**
 * Runs the events recorded in the event log at `path` (the `eventLog` scheduler option) through
 * a fresh scheduling core, off the JS thread, and compares every batch of messages it sends
 * with the recorded digest. Resolves with the summary: the replay was identical when it has
 * neither `mismatch` (the first batch that differs) nor `diverged` (one core panicked and the
 * other did not). Rejects with EventLogError (naming the byte offset) if the log cannot be read.
 */
export async function replayEventLog(path: string, options: ReplayOptions = {}): Promise<ReplaySummary> {
  const fail = (m: string) => new InvalidOptionsError(m)
  checkOptions('replayEventLog', options, { story: 'string', core: 'object' }, fail)
  if (options.core !== undefined) {
    const { eventLog: _, ...known } = CORE_OPTIONS
    checkOptions('replayEventLog', options.core, known, fail, 'core.')
  }
  if (typeof path !== 'string') throw new InvalidOptionsError(`replayEventLog: the path must be a string, not ${typeof path}`)
  try {
    return await nativeReplay(path, { story: options.story, core: options.core })
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
