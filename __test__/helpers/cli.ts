/** Running the `skein` command in tests: a free port, and a process started until it logs that it is ready. */
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'

export const cli = path.join(__dirname, '..', '..', 'dist', 'cluster', 'cli.js')

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
    server.once('error', reject)
  })
}

export interface Started {
  child: ChildProcess
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** What it wrote to stderr until it was ready. */
  banner: string
}

/** Runs `skein <args>` and resolves once it logs a line matching `ready`; rejects with its stderr if it exits first. */
export function startCli(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<Started> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'pipe'], env })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return new Promise((resolve, reject) => {
    let err = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString()
      if (ready.test(err)) resolve({ child, exited, banner: err })
    })
    void exited.then(({ code }) => reject(new Error(`skein ${args.join(' ')} exited with ${code} before it was ready:\n${err}`)))
  })
}

/** Runs `skein <args>` to its end; resolves with its exit code and stderr. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })))
}

export interface Watched {
  child: ChildProcess
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Everything it wrote to stderr so far. */
  stderr(): string
  /** Resolves once its stderr (from the start) matches `pattern`; rejects with its stderr if it exits first. */
  waitFor(pattern: RegExp): Promise<string>
  /** SIGKILL unless it has exited. */
  kill(): void
}

/** Runs `skein <args>` and keeps watching its stderr, for tests that follow a process through several phases. */
export function watchCli(args: string[], env: NodeJS.ProcessEnv = process.env): Watched {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'pipe'], env })
  let err = ''
  const waiters = new Set<() => void>()
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString()
    for (const w of [...waiters]) w()
  })
  // 'close', not 'exit': stderr has been read to its end by then.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })))
  return {
    child,
    exited,
    stderr: () => err,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(err)) return
          waiters.delete(check)
          resolve(err)
        }
        waiters.add(check)
        check()
        void exited.then(({ code, signal }) => {
          if (!waiters.has(check)) return
          waiters.delete(check)
          reject(new Error(`skein ${args.join(' ')} exited (${signal ?? code}) before its stderr matched ${pattern}:\n${err}`))
        })
      })
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}
