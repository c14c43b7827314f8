/**
 * A worker's cache of shipped functions' sources. The scheduler knows a shipped function only
 * while a connected client has registered it: a worker that asked in a gap (a client closed, the
 * next not yet connected) must not refuse the function for good — that failed every later task
 * using it on that worker (seen as tests on a shared cluster failing one after another).
 */
import test from 'ava'
import { functionHash } from '../ts/graph/hash'
import { SourceCache, type SourceRefusal, type SourceWaiter } from '../ts/worker/sources'

class Waiter implements SourceWaiter {
  readonly answers: string[] = []
  source(_hash: string, source: string): void {
    this.answers.push(`source ${source}`)
  }
  refused(_hash: string, refusal: SourceRefusal): void {
    this.answers.push(`refused ${refusal.code}`)
  }
}

const source = '(x) => x + 1'
const hash = functionHash(source)

test('a function the scheduler did not know is asked for again by the next task, and then kept', (t) => {
  const asked: string[] = []
  const cache = new SourceCache((h) => asked.push(h))
  const first = new Waiter()
  const second = new Waiter()
  cache.need(hash, first)
  cache.need(hash, second)
  t.deepEqual(asked, [hash], 'one question for both waiters')
  cache.refuseOldest('no connected client registered it')
  t.deepEqual(first.answers, ['refused SKEIN_UNKNOWN_FUNCTION'])
  t.deepEqual(second.answers, ['refused SKEIN_UNKNOWN_FUNCTION'])

  const later = new Waiter()
  cache.need(hash, later)
  t.deepEqual(asked, [hash, hash], 'asked anew')
  cache.define(hash, source, 'inc')
  t.deepEqual(later.answers, [`source ${source}`])

  const again = new Waiter()
  cache.need(hash, again)
  t.deepEqual(again.answers, [`source ${source}`], 'answered from the cache')
  t.is(asked.length, 2)
})

test('a source that does not match its hash stays refused without asking again', (t) => {
  const asked: string[] = []
  const cache = new SourceCache((h) => asked.push(h))
  const first = new Waiter()
  cache.need(hash, first)
  cache.define(hash, '(x) => x + 2', 'inc')
  t.deepEqual(first.answers, ['refused SKEIN_FUNCTION_HASH_MISMATCH'])
  const later = new Waiter()
  cache.need(hash, later)
  t.deepEqual(later.answers, ['refused SKEIN_FUNCTION_HASH_MISMATCH'])
  t.is(asked.length, 1)
})
