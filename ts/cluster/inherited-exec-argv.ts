/**
 * Node flags a worker process takes over from the process that starts it:
 * the ones that decide how the user's modules are found, loaded and
 * transformed, so that a `.ts` module function imports on a worker as it does
 * in a program run under `tsx` (`--import tsx`, `--require ts-node/register`,
 * `--loader`, `--experimental-strip-types`...).
 *
 * Everything else stays with the parent: debugger ports (`--inspect*` would
 * clash: the second process cannot bind the port), profilers and reports
 * (`--prof`, `--cpu-prof`, `--heap-prof`, `--diagnostic-dir`: they describe
 * the parent's run), modes of the parent (`--test`, `--watch`, `--eval`,
 * `--check`), memory and GC flags sized for the parent (`--max-old-space-size`,
 * `--expose-gc`), `--env-file` (workers inherit the environment already) and
 * `--disallow-code-generation-from-strings` (workers compile shipped functions).
 * The permission model (`--experimental-permission`, `--allow-*`) is not
 * inherited either: a worker needs to read modules, listen for peers and
 * start execution threads, which a policy written for the parent rarely grants.
 */
const INHERITED = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C', '--enable-source-maps', '--preserve-symlinks'])

// `--experimental-*` flags are language and loader features the user's code may need, except these.
const NOT_INHERITED_EXPERIMENTAL = /^--(?:no-)?experimental-(?:test|sea|permission|policy|watch|report)/

/** The subset of `execArgv` (default: this process's) a worker process should start with. */
export function inheritedExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = []
  let keepingValue = false
  for (const arg of execArgv) {
    // execArgv holds only Node's options, so a word that is no option is the value of the one before it.
    if (!arg.startsWith('-')) {
      if (keepingValue) kept.push(arg)
      keepingValue = false
      continue
    }
    const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg
    keepingValue = isInherited(name)
    if (keepingValue) kept.push(arg)
  }
  return kept
}

function isInherited(name: string): boolean {
  if (INHERITED.has(name)) return true
  return /^--(?:no-)?experimental-/.test(name) && !NOT_INHERITED_EXPERIMENTAL.test(name)
}
