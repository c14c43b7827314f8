/** Where the worker writes its one-line notices. */
export type Log = (line: string) => void

export function stderrLog(prefix: string): Log {
  return (line) => {
    process.stderr.write(`skein worker ${prefix}: ${line}\n`)
  }
}
