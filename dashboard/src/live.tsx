import { useEffect, useState } from 'preact/hooks'
import type { DashboardUpdate, PrefixProgressRow, SchedulerRow, StoryReply, WorkerRow } from '../../ts/dashboard/types'
import { barsOf, type Bar } from './lanes'
import { Progress } from './progress'
import { SchedulerPanel } from './scheduler-panel'
import { Story } from './story'
import { TaskStream } from './task-stream'
import { Workers } from './workers'

/** The task stream shows the last minute. */
const WINDOW_MS = 60_000
/** Bars kept in the page at most. */
const MAX_KEPT_BARS = 50_000

interface LiveState {
  connected: boolean
  scheduler: SchedulerRow | null
  prefixes: PrefixProgressRow[]
  workers: WorkerRow[]
  bars: Bar[]
  rates: { at: number; rate: number }[]
  dropped: number
}

const EMPTY: LiveState = { connected: false, scheduler: null, prefixes: [], workers: [], bars: [], rates: [], dropped: 0 }

/** One WebSocket to the scheduler's dashboard port: updates in, story look-ups out. Reconnects after a drop. */
function useFeed(onStory: (story: StoryReply['story']) => void): [LiveState, (key: string) => void] {
  const [state, setState] = useState<LiveState>(EMPTY)
  const [socket, setSocket] = useState<WebSocket | null>(null)
  useEffect(() => {
    let names: string[] = []
    let stopped = false
    let ws: WebSocket
    const open = () => {
      ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`)
      setSocket(ws)
      ws.onopen = () => setState((s) => ({ ...s, connected: true }))
      ws.onclose = () => {
        setState((s) => ({ ...s, connected: false }))
        if (!stopped) setTimeout(open, 1000)
      }
      ws.onmessage = (event) => {
        const message = JSON.parse(String(event.data)) as DashboardUpdate | StoryReply
        if ('story' in message) return onStory(message.story)
        if (message.prefixNames !== null) names = message.prefixNames
        const fresh = barsOf(message.runs, names)
        setState((s) => {
          const horizon = message.now - WINDOW_MS
          let bars = s.bars.filter((b) => b.end >= horizon).concat(fresh)
          if (bars.length > MAX_KEPT_BARS) bars = bars.slice(bars.length - MAX_KEPT_BARS)
          const rates = s.rates.filter((r) => r.at >= horizon).concat({ at: message.now, rate: message.scheduler.tasksPerSecond })
          return { connected: true, scheduler: message.scheduler, prefixes: message.prefixes, workers: message.workers, bars, rates, dropped: s.dropped + message.dropped }
        })
      }
    }
    open()
    return () => {
      stopped = true
      ws.close()
    }
  }, [])
  return [state, (key: string) => socket?.send(JSON.stringify({ story: key }))]
}

/** The live dashboard (/status), or a key's story (/task?key=...). */
export function Live() {
  const key = location.pathname === '/task' ? new URLSearchParams(location.search).get('key') : null
  const [story, setStory] = useState<StoryReply['story'] | null>(null)
  const [state, lookUp] = useFeed(setStory)
  useEffect(() => {
    if (key !== null && state.connected) lookUp(key)
  }, [key, state.connected])
  const names = new Map(state.workers.map((w) => [w.id, w.name]))
  const workerName = (id: number) => names.get(id) ?? `worker ${id}`
  const slots = new Map(state.workers.map((w) => [w.id, w.slots]))
  const workerSlots = (id: number) => slots.get(id) ?? 1
  return (
    <>
      <header>
        <strong>skein</strong>
        <a href="/status">status</a>
        <span class={state.connected ? '' : 'error'} id="connection">
          {state.connected ? 'live' : 'connecting...'}
        </span>
        <form action="/task" method="get">
          <input name="key" placeholder="task key" aria-label="task key" defaultValue={key ?? ''} />
          <button type="submit">story</button>
        </form>
      </header>
      {key !== null ? (
        <main>
          <Story story={story} />
        </main>
      ) : (
        <main>
          <TaskStream bars={state.bars} workerName={workerName} workerSlots={workerSlots} />
          <Progress rows={state.prefixes} />
          {state.scheduler === null ? <section>waiting for the first update</section> : <SchedulerPanel row={state.scheduler} history={state.rates} />}
          <Workers rows={state.workers} />
          {state.dropped > 0 ? <p class="muted">{state.dropped} runs were too many to draw and were left out.</p> : null}
        </main>
      )}
    </>
  )
}
