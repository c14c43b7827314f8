/**
 * The RunBatch index is a Uint32Array: a task's handle, which grows by one per
 * task a worker hands to its threads, must cross whole past 2^32.
 */
import test from 'ava'
import { encode } from '../ts/protocol'
import { readRunBatch, RunBatchWriter } from '../ts/worker/hand-off'
import { InputCache, InputDirectory } from '../ts/worker/input-cache'

test('handles past 2^32 (up to 2^53 - 1) reach the execution thread exactly, with their keys and payloads', (t) => {
  const handles = [0, 1, 0xffffffff, 2 ** 32, 2 ** 32 + 5, 3 * 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]
  const writer = new RunBatchWriter(new InputDirectory())
  handles.forEach((h, i) => writer.add(h, `task-${i}`, encode([i]), [], []))
  const { batch } = writer.finish()
  const handed = readRunBatch(batch, new InputCache())
  t.deepEqual(
    handed.map((h) => h.id),
    handles,
  )
  t.deepEqual(
    handed.map((h) => h.key),
    handles.map((_, i) => `task-${i}`),
  )
  t.deepEqual(
    handed.map((h) => Buffer.from(h.payload)),
    handles.map((_, i) => encode([i])),
  )
})
