// Allocation by function on a process's main thread, garbage included (V8's sampling heap
// profiler keeping objects collected by either GC), between two moments of its life:
//   WARGS="--require ./bench/profile/alloc.cjs" ALLOC_FROM=2500 ALLOC_TO=6000 node bench/profile/threadcpu.mjs . btree 30
// writes /tmp/alloc-<pid>.txt per worker process: MB and share per allocating function (a builtin
// such as Map.prototype.set is named with its caller).
const wt = require('node:worker_threads')
const inspector = require('node:inspector')
const fs = require('node:fs')
if (wt.isMainThread) {
  const session = new inspector.Session()
  session.connect()
  session.post('HeapProfiler.enable')
  const from = Number(process.env.ALLOC_FROM ?? 2500)
  const to = Number(process.env.ALLOC_TO ?? 6000)
  setTimeout(() => {
    session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (err) => {
      if (err) console.error('alloc.cjs: sampling did not start:', err.message)
    })
  }, from).unref()
  setTimeout(() => {
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (err) return console.error('alloc.cjs:', err.message)
      const bytes = new Map()
      const walk = (node, parent) => {
        const f = node.callFrame
        const name = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
        const label = !f.url && parent ? `${name} <- ${parent}` : name
        bytes.set(label, (bytes.get(label) ?? 0) + node.selfSize)
        for (const child of node.children) walk(child, `${f.functionName || '(anon)'} ${f.url.split('/').slice(-1)[0]}:${f.lineNumber + 1}`)
      }
      walk(result.profile.head)
      const total = [...bytes.values()].reduce((a, b) => a + b, 0)
      const lines = [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([l, b]) => `${(b / 1e6).toFixed(1).padStart(8)} MB ${((100 * b) / total).toFixed(1).padStart(5)}%  ${l}`)
      fs.writeFileSync(`/tmp/alloc-${process.pid}.txt`, `total ${(total / 1e6).toFixed(1)} MB from ${from} to ${to} ms\n${lines.join('\n')}\n`)
    })
  }, to).unref()
}
