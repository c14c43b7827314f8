import test from 'ava'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

test('the packed main package plus its platform package install and run with no Rust toolchain, and type-check for a strict user', async (t) => {
  const script = path.join(__dirname, '..', 'scripts', 'pack-test.js')
  const { stdout } = await run(process.execPath, [script], { timeout: 240_000 })
  t.regex(stdout, /cjs ok object/)
  t.regex(stdout, /esm ok object/)
  t.regex(stdout, /strict tsc ok/)
  t.regex(stdout, /dashboard bundle ok/)
  t.regex(stdout, /alone: this skein package carries no native binary for \S+ and lists no package that does.*install skein-\S+ beside it/)
  t.regex(stdout, /binary from node_modules\/skein-[a-z0-9-]+\/skein\.[a-z0-9-]+\.node/)
})
