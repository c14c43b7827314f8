// Preloaded by hops.mjs into every process and thread of a local cluster: records, with absolute
// microsecond timestamps, each WebSocket frame sent and received (ws) and each message posted and
// received on a MessagePort or a Worker, and writes them to $HOPS_DIR/<pid>-<thread>.json once a
// second and at exit. Threads that skein starts with their own execArgv (the scheduler's) get this
// preload too: Worker is wrapped to add it.
const wt = require('node:worker_threads')
const fs = require('node:fs')
const path = require('node:path')

const dir = process.env.HOPS_DIR
const name = `${process.pid}-${wt.isMainThread ? 'main' : `t${wt.threadId}`}`
const log = []
const record = (kind) => {
  if (log.length >= 2_000_000) return
  log.push(kind, Math.round((performance.timeOrigin + performance.now()) * 1000))
  // Threads the cluster terminates get no exit event: write as the log grows too.
  if (log.length % 2_000 === 0) dump()
}
globalThis.__hops = record
function dump() {
  try {
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(log))
  } catch {}
}
globalThis.__hopsDump = dump
setInterval(dump, 1000).unref()
process.on('exit', dump)

try {
  const ws = require(require.resolve('ws', { paths: [process.cwd()] }))
  const emit = ws.prototype.emit
  ws.prototype.emit = function (event) {
    if (event === 'message') record('wsR')
    return emit.apply(this, arguments)
  }
  const send = ws.prototype.send
  ws.prototype.send = function () {
    record('wsS')
    return send.apply(this, arguments)
  }
} catch {}

function wrap(proto, tag) {
  const on = proto.on
  proto.on = proto.addListener = function (event, listener) {
    if (event === 'message' && typeof listener === 'function') {
      const inner = listener
      listener = function () {
        record(`${tag}R`)
        return inner.apply(this, arguments)
      }
    }
    return on.call(this, event, listener)
  }
  const post = proto.postMessage
  if (post)
    proto.postMessage = function () {
      record(`${tag}S`)
      return post.apply(this, arguments)
    }
}
const { port1 } = new wt.MessageChannel()
wrap(Object.getPrototypeOf(port1), 'port')
port1.close()
wrap(wt.Worker.prototype, 'wkr')

const Plain = wt.Worker
wt.Worker = class extends Plain {
  constructor(file, options = {}) {
    const execArgv = options.execArgv ?? process.execArgv
    super(file, { ...options, execArgv: execArgv.includes(__filename) ? execArgv : [...execArgv, '--require', __filename] })
  }
}
