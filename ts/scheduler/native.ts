// The generated napi-rs loader picks the platform package or a local .node.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const binding = require('../../native/index.js') as typeof import('../../native/index')

export const NativeCore = binding.NativeCore
export type NativeCore = InstanceType<typeof binding.NativeCore>
export type NativeCoreOptions = import('../../native/index').NativeCoreOptions
export type CoreStats = import('../../native/index').CoreStats
/** One prefix's live tasks per state and its forgotten total (counters the core keeps per transition). */
export type PrefixTotals = import('../../native/index').PrefixTotals
export type CoreCounts = import('../../native/index').CoreCounts
/** The longest key the scheduler accepts, in UTF-8 bytes (longer: an error with code SKEIN_KEY_TOO_LONG). */
export const MAX_KEY_BYTES: number = binding.MAX_KEY_BYTES
/** Replays an event log on a fresh core (see replay.ts). */
export const replayEventLog = binding.replayEventLog
