/**
 * Keeps its slot busy in a synchronous loop for `ms`: [token, start, end] on the
 * wall clock that workers and the benchmark share (see wallClockMs).
 * Self-contained: skein ships its source to workers.
 */
export const spinFor = (ms: number, token: number): [number, number, number] => {
  const start = performance.timeOrigin + performance.now()
  let now = start
  while (now - start < ms) now = performance.timeOrigin + performance.now()
  return [token, start, now]
}
