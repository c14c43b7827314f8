import fs from 'node:fs'
import path from 'node:path'

/** The package root: the nearest directory above this module with a package.json (works from ts/ under tsx and from dist/). */
export function packageRoot(): string {
  let dir = __dirname
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`cannot find skein's package.json above ${__dirname}`)
    dir = parent
  }
  return dir
}

/** The compiled worker entry; child processes always run plain JS. */
export function workerEntry(): string {
  const entry = path.join(packageRoot(), 'dist', 'worker', 'main.js')
  if (!fs.existsSync(entry)) throw new Error(`the worker entry ${entry} does not exist: build skein first (npm run build:ts)`)
  return entry
}
