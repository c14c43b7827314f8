/**
 * `__generator`: runs the state machine tsc makes of a generator (or, through
 * `__awaiter`, an async function) when targeting ES5. The body executes from
 * `context.label` until it returns an instruction; exceptions, try regions and
 * pending completions of finally blocks are tracked here, as tslib does.
 */

// Instructions a generator body returns, numbered as tsc emits them.
const NEXT = 0
const THROW = 1
const RETURN = 2
const BREAK = 3
const YIELD = 4
const YIELD_STAR = 5
const CATCH = 6
const END_FINALLY = 7

type Instruction = [opcode: number, value?: any]

/** A try statement: its first label, its catch and finally labels (either may be missing) and the label after it. */
type TryRegion = [start: number, catchLabel?: number, finallyLabel?: number, end?: number]

interface GeneratorContext {
  label: number
  /** What the generator was resumed with: the value sent, the exception caught, or a throw into the body. */
  sent(): unknown
  trys: TryRegion[]
  /** Completions (return, break, throw) waiting for the finally block now running. */
  ops: Instruction[]
}

/** `label < target`, false when the region has no such label (as JavaScript compares with undefined). */
function before(label: number, target: number | undefined): boolean {
  return target !== undefined && label < target
}

export function generator(thisArg: unknown, body: (context: GeneratorContext) => Instruction): Generator {
  let resumedWith: Instruction | undefined
  let context: GeneratorContext | undefined = {
    label: 0,
    sent() {
      if (!resumedWith) return undefined
      if (resumedWith[0] === THROW) throw resumedWith[1]
      return resumedWith[1]
    },
    trys: [],
    ops: [],
  }
  let started = false
  let executing = false
  let delegate: Iterator<unknown> | undefined

  const step = (instruction: Instruction): IteratorResult<unknown> => {
    if (executing) throw new TypeError('Generator is already executing.')
    let op = instruction
    if (!started) {
      started = true
      // throw() or return() before the first next(): the body never runs.
      if (op[0] !== NEXT) context = undefined
    }
    while (context) {
      executing = true
      try {
        if (delegate) {
          const method = delegateMethod(delegate, op[0])
          if (method) {
            const result = method.call(delegate, op[1])
            if (!result.done) return result
            op = [op[0] === RETURN ? RETURN : NEXT, result.value]
          }
          delegate = undefined
        }
        switch (op[0]) {
          case NEXT:
          case THROW:
            resumedWith = op
            break
          case YIELD:
            context.label++
            return { value: op[1], done: false }
          case YIELD_STAR:
            context.label++
            delegate = op[1]
            op = [NEXT]
            continue
          case END_FINALLY:
            op = context.ops.pop()!
            context.trys.pop()
            continue
          default: {
            // RETURN, BREAK or CATCH (an exception): find where it lands, running finally blocks on the way out.
            const region = context.trys[context.trys.length - 1]
            if (!region && (op[0] === CATCH || op[0] === RETURN)) {
              context = undefined
              continue
            }
            if (op[0] === BREAK && (!region || (op[1] > region[0] && before(op[1], region[3])))) {
              context.label = op[1]
              break
            }
            if (op[0] === CATCH && before(context.label, region[1])) {
              context.label = region[1]!
              resumedWith = op
              break
            }
            if (before(context.label, region[2])) {
              context.label = region[2]!
              context.ops.push(op)
              break
            }
            // Leaving the region from inside its finally block: that completion replaces the pending one.
            if (region[2]) context.ops.pop()
            context.trys.pop()
            continue
          }
        }
        op = body.call(thisArg, context)
      } catch (err) {
        op = [CATCH, err]
        delegate = undefined
      } finally {
        executing = false
        resumedWith = undefined
      }
    }
    if (op[0] === THROW || op[0] === CATCH) throw op[1]
    return { value: op[0] === NEXT ? undefined : op[1], done: true }
  }

  const IteratorBase = (globalThis as { Iterator?: (...args: unknown[]) => unknown }).Iterator
  const made = Object.create(typeof IteratorBase === 'function' ? IteratorBase.prototype : Object.prototype)
  made.next = (value?: unknown) => step([NEXT, value])
  made.throw = (err?: unknown) => step([THROW, err])
  made.return = (value?: unknown) => step([RETURN, value])
  made[Symbol.iterator] = function (this: unknown) {
    return this
  }
  return made
}

/**
 * The delegate's method for a resumption of `yield*`. A delegate without
 * `throw` is closed and the exception goes on into the body (tslib's way).
 */
function delegateMethod(delegate: Iterator<unknown>, opcode: number): ((value: unknown) => IteratorResult<unknown>) | undefined {
  if (opcode === RETURN) return delegate.return
  if (opcode !== THROW) return delegate.next
  if (delegate.throw) return delegate.throw
  const close = delegate.return
  if (close) close.call(delegate)
  return undefined
}
