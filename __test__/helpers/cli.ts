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
