import type { StoryTransition } from '../protocol'
import type { NativeCore } from './native'

/** A 'story' reply carries at most this many transitions (the core keeps 16 per key by default). */
export const MAX_STORY_TRANSITIONS = 256

/** The core's Debug names ('NoWorker', 'SubmitGraph') as the wire spells states and stimuli ('no-worker', 'submit-graph'). */
function kebab(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()
}

/** `key`'s last transitions, oldest first; empty for a key the scheduler does not know. */
export function storyOf(core: NativeCore, key: string): StoryTransition[] {
  const entries = core.story(key)
  const from = Math.max(0, entries.length - MAX_STORY_TRANSITIONS)
  return entries.slice(from).map((e) => [kebab(e.from), kebab(e.to), kebab(e.stimulus)])
}
