import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dynamicImport } from './functions'

const LOADER_FLAGS = new Set(['--import', '--loader', '--experimental-loader'])

/**
 * Makes the module loaders of the worker process (`--import tsx`, inherited
 * from the program that started it) work on this execution thread too.
 *
 * Node 20 runs `--import` preloads in worker threads, but module hooks that
 * the preload registers with `module.register()` apply to the main thread
 * only, and tsx registers nothing off the main thread; a `.ts` module function
 * would then fail to import here. tsx offers `register()` (tsx/esm/api), which
 * does work on a worker thread: call it for a tsx preload. Other loaders are
 * imported again here, which is what a loader that supports threads needs.
 */
export async function registerThreadLoaders(execArgv: readonly string[] = process.execArgv): Promise<string[]> {
  const problems: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]
    const eq = arg.indexOf('=')
    const flag = eq === -1 ? arg : arg.slice(0, eq)
    if (!LOADER_FLAGS.has(flag)) continue
    const specifier = eq === -1 ? execArgv[++i] : arg.slice(eq + 1)
    if (specifier === undefined) continue
    try {
      await registerLoader(specifier)
    } catch (err) {
      problems.push(`module loader '${specifier}' could not be registered on an execution thread: ${(err as Error).message}`)
    }
  }
  return problems
}

async function registerLoader(specifier: string): Promise<void> {
  const from = specifier.startsWith('file:') ? fileURLToPath(specifier) : path.isAbsolute(specifier) ? specifier : path.join(process.cwd(), 'index.js')
  const tsx = specifier === 'tsx' || specifier.startsWith('tsx/') || /[\\/]node_modules[\\/]tsx[\\/]/.test(from)
  if (!tsx) {
    await dynamicImport(specifier)
    return
  }
  // The ES module build of tsx/esm/api (require.resolve would give its CommonJS twin).
  const manifest = createRequire(from).resolve('tsx/package.json')
  const exportsMap = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> }).exports
  const entry = exportsMap?.['./esm/api']?.import?.default
  if (typeof entry !== 'string') throw new Error(`${manifest} exports no ES module 'tsx/esm/api'`)
  const { register } = (await dynamicImport(pathToFileURL(path.join(path.dirname(manifest), entry)).href)) as { register?: () => unknown }
  if (typeof register !== 'function') throw new Error('tsx/esm/api has no register()')
  register()
}
