import type { StoryTransition } from '../protocol'

/** One transition of a key in the scheduler, e.g. `{ from: 'processing', to: 'memory', stimulus: 'task-finished' }`. */
export interface Transition {
  /** States: released, waiting, queued, no-worker, processing, memory, erred, forgotten. */
  from: string
  to: string
  /** What caused it: submit-graph, task-finished, task-erred, remove-worker, steal-response, ... */
  stimulus: string
}

export function transitionsOf(story: readonly StoryTransition[]): Transition[] {
  return story.map(([from, to, stimulus]) => ({ from, to, stimulus }))
}
