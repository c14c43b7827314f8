// piscina's worker module: Node 20 does not carry tsx's loader into worker threads,
// so each thread registers tsx's require hook before loading the TypeScript tasks.
require('tsx/cjs')
module.exports = require('./tasks.ts')
