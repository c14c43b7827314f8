import type { ReplaySummary } from '../scheduler'

/** Seconds as '1h 02m 03.4s' / '2m 03.4s' / '3.42s'. */
function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(2)}s`
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = (seconds % 60).toFixed(1).padStart(4, '0')
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m ${s}s` : `${m}m ${s}s`
}

/** What `skein replay` prints: the summary, the verdict on the digests, and the story of a key if asked. */
export function formatReplay(path: string, r: ReplaySummary, storyKey: string | undefined): string {
  const lines = [
    `event log ${path}: ${r.bytes} bytes`,
    `  events:    ${r.events} (${r.methods.map((m) => `${m.method} ${m.count}`).join(', ')})${r.refused > 0 ? `, ${r.refused} refused by the core as when recorded` : ''}`,
    `  tasks:     ${r.tasks}`,
    `  workers:   ${r.workers} joined`,
    `  clients:   ${r.clients} connected`,
    `  duration:  ${duration(r.durationSeconds)} of scheduler clock covered`,
    `  digests:   ${r.digestsMatched} of ${r.batches} message batches matched`,
  ]
  if (r.panicked != null && r.recordedPanic != null && r.diverged == null) lines.push(`  the core panicked after ${r.events} events, as it did when recorded: ${r.panicked}`)
  const m = r.mismatch
  if (r.diverged != null) {
    lines.push(`DIVERGED: ${r.diverged}${r.panicked != null ? ` (${r.panicked})` : ''}`)
  } else if (m != null) {
    lines.push(
      `MISMATCH: message batch ${r.batches} (record ${m.record}, byte offset ${m.offset}, after ${m.events} events) differs from the recording:`,
      `  recorded ${m.expectedBytes} bytes, digest ${m.expectedDigest}; replayed ${m.actualBytes} bytes, digest ${m.actualDigest}`,
    )
  } else {
    lines.push('replay identical: every batch of messages matched its recorded digest')
  }
  if (storyKey !== undefined) {
    lines.push(`story of ${JSON.stringify(storyKey)}${r.story.length === 0 ? ': the key never appeared' : ':'}`)
    for (const e of r.story) {
      const at = e.now == null ? '' : ` t=${duration(e.now - (r.firstNow ?? e.now))}`
      lines.push(`  #${e.record}${at} ${e.method}: ${e.from} -> ${e.to} (${e.stimulus})`)
    }
  }
  return lines.join('\n')
}
