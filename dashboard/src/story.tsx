import type { StoryReply } from '../../ts/dashboard/types'

/** A key's story: its state and its last transitions, as the scheduler's core recorded them. */
export function Story({ story }: { story: StoryReply['story'] | null }) {
  if (story === null) return <section class="wide">looking the key up...</section>
  return (
    <section class="wide" id="story" data-key={story.key}>
      <h2>
        Story of <code>{story.key}</code>
      </h2>
      {story.state === null ? (
        <p class="muted">The scheduler does not know this key (never submitted, or forgotten since).</p>
      ) : (
        <p>
          state: <strong data-state={story.state}>{story.state}</strong>
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>from</th>
            <th>to</th>
            <th>stimulus</th>
          </tr>
        </thead>
        <tbody>
          {story.transitions.map(([from, to, stimulus], i) => (
            <tr key={i} class="transition">
              <td>{i + 1}</td>
              <td>{from}</td>
              <td>{to}</td>
              <td>{stimulus}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
