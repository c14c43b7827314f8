import type { KeyState } from './key-state'
import type { WorkerDescription } from './peers'

/** What a restricted task needs of a worker. */
export interface Needs {
  restrictions: readonly string[] | null
  resources: Readonly<Record<string, number>> | null
  /** The restrictions are a preference: with no named worker that fits, any worker may run it. */
  allowOtherWorkers: boolean
}

/** A task that no connected worker can run, and why (`Client`'s 'unplaceable' warning). */
export interface UnplaceableWarning {
  key: string
  reason: string
}

/**
 * Tasks with restrictions or resources that no connected worker satisfies wait in the
 * scheduler's no-worker state until a worker that can run them joins, which may be never: the
 * client says so (once per task, again if it becomes unplaceable again) instead of leaving a
 * silent hang. Only this client's pending restricted tasks are watched, checked when they are
 * submitted and whenever the workers change.
 */
export class UnplaceableWatch {
  private readonly watched = new Map<KeyState, Needs>()

  constructor(private readonly warn: (warning: UnplaceableWarning) => void) {}

  watch(state: KeyState, needs: Needs): void {
    if (needs.restrictions === null && needs.resources === null) return
    this.watched.set(state, needs)
    state.onSettled(() => this.watched.delete(state))
  }

  /** Checks the watched tasks against `workers` (no worker at all is not a restriction's fault: not warned). */
  check(workers: readonly WorkerDescription[]): void {
    if (workers.length === 0) return
    for (const [state, needs] of this.watched) {
      if (state.status !== 'pending' || !state.attached) {
        this.watched.delete(state)
        continue
      }
      const reason = unmet(needs, workers)
      if (reason === null) state.unplaceable = null
      else if (state.unplaceable === null) {
        state.unplaceable = reason
        this.warn({ key: state.key, reason })
      }
    }
  }
}

/** Why no worker of `workers` can run a task with `needs`, or null if one can. */
function unmet(needs: Needs, workers: readonly WorkerDescription[]): string | null {
  let named = needs.restrictions === null ? workers : workers.filter((w) => needs.restrictions!.includes(w.name))
  // As the scheduler: loose restrictions give way when no named worker is connected that fits.
  if (needs.allowOtherWorkers && !named.some((w) => fits(needs.resources, w))) named = workers
  if (named.length === 0) {
    return `it may only run on worker(s) ${needs.restrictions!.map((n) => `'${n}'`).join(', ')}, and none of the ${workers.length} connected has that name`
  }
  const resources = needs.resources
  if (resources === null) return null
  if (named.some((w) => fits(resources, w))) return null
  const wanted = Object.entries(resources)
    .map(([r, amount]) => `${r}=${amount}`)
    .join(', ')
  const offered = named.map((w) => `${w.name} (${Object.keys(w.resources).length === 0 ? 'none' : Object.entries(w.resources).map(([r, a]) => `${r}=${a}`).join(', ')})`)
  return `it needs resources ${wanted}, which no connected worker${needs.restrictions === null ? '' : ' it may run on'} declares: ${offered.slice(0, 5).join('; ')}${offered.length > 5 ? '; ...' : ''}`
}

function fits(resources: Readonly<Record<string, number>> | null, w: WorkerDescription): boolean {
  return resources === null || Object.entries(resources).every(([r, amount]) => (w.resources[r] ?? 0) >= amount)
}
